/**
 * Device leases on both dialects (a real SQLite file, a throwaway PostgreSQL database): one holder at a time,
 * the holder named to the next claimant, takeover after expiry with a higher fencing token, late results of
 * the old holder refused, and the primary key refusing a second row for a device even without the code.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { upsertDevice } from '../orchestrator/store/devices.ts';
import { claimDevice, type LeaseHolder, releaseLease, renewLease } from '../orchestrator/store/leases.ts';
import { type OpenedStore, openStore } from '../orchestrator/store/open.ts';
import { createRun } from '../orchestrator/store/runs.ts';
import {
  commitMeasurement,
  insertTasks,
  type MeasurementInput,
  pendingTasks,
  recordFailure,
  taskCounts,
} from '../orchestrator/store/tasks.ts';
import { createTestDatabase, type TestDatabase } from './support/postgres.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-leases-'));
const databases: TestDatabase[] = [];
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  for (const database of databases) await database.drop();
});

async function freshStore(dialect: 'sqlite' | 'postgres'): Promise<OpenedStore> {
  if (dialect === 'sqlite') return openStore(join(dir, 'leases.db'));
  const database = await createTestDatabase('leases');
  databases.push(database);
  return openStore(database.url);
}

const DEVICE = 'host:lease-test';
const LEASE_MS = 10_000;
const t0 = new Date('2026-01-01T12:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const holder = (name: string, pid: number): LeaseHolder => ({
  holderId: name,
  host: `host-${name}`,
  pid,
  runId: 'r1',
});

const measurement: MeasurementInput = {
  agent_hash: 'abc',
  build_fingerprint: 'Linux test',
  samples_ns_json: '[1,2,3]',
  telemetry_json: '{}',
  cpus_json: '[0]',
  density: 1,
  kept_blocks: 0,
  kept_energy: 1,
  kernel: 'idle',
  flops: 0,
  n: 3,
  min_ns: 1,
  max_ns: 3,
  median_ns: 2,
  mad_ns: 1,
  p10_ns: 1.2,
  p90_ns: 2.8,
  ci_low_ns: 1,
  ci_high_ns: 3,
};

for (const dialect of ['sqlite', 'postgres'] as const) {
  test(`one holder per device, takeover after expiry, late results fenced off (${dialect})`, async () => {
    const store = await freshStore(dialect);
    try {
      const { db } = store;
      await upsertDevice(db, {
        identity: { id: DEVICE, kind: 'host', abi: 'host' },
        model: 'test CPU',
        buildFingerprint: 'Linux test',
        cpuCount: 2,
        workDir: dir,
        details: {},
      });
      await createRun(db, { id: 'r1', configJson: '{}', configHash: 'h', gitRevision: null, host: 'a' });
      await insertTasks(
        db,
        'r1',
        DEVICE,
        [0, 1, 2].map((i) => ({
          caseKey: `k${i}`,
          batchIndex: 0,
          seq: i,
          caseJson: {},
          planLine: { op: 'idle', durationUs: 1000 },
        })),
      );
      const [t1, t2, t3] = await pendingTasks(db, 'r1', DEVICE);
      assert.ok(t1 && t2 && t3);

      const first = await claimDevice(db, DEVICE, holder('a', 101), { leaseMs: LEASE_MS, now: at(0) });
      assert.ok(first.claimed);
      assert.equal(first.fence.token, 1);
      const second = await claimDevice(db, DEVICE, holder('b', 202), { leaseMs: LEASE_MS, now: at(1000) });
      assert.ok(!second.claimed);
      assert.equal(second.holder.host, 'host-a');
      assert.equal(second.holder.pid, 101);

      // The holder renews; the lease then runs to 15 s, and a claim at 12 s still finds it held.
      assert.equal(await renewLease(db, first.fence, LEASE_MS, at(5000)), true);
      assert.ok(
        !(await claimDevice(db, DEVICE, holder('b', 202), { leaseMs: LEASE_MS, now: at(12_000) })).claimed,
      );
      assert.equal(await commitMeasurement(db, t1.id, measurement, at(12_000), first.fence), true);

      // The holder hangs past its lease: b takes the device with a higher token.
      const takeover = await claimDevice(db, DEVICE, holder('b', 202), {
        leaseMs: LEASE_MS,
        now: at(16_000),
      });
      assert.ok(takeover.claimed);
      assert.equal(takeover.fence.token, 2);
      // a wakes up: its heartbeat fails, its late result and its late failure are refused.
      assert.equal(await renewLease(db, first.fence, LEASE_MS, at(17_000)), false);
      assert.equal(await commitMeasurement(db, t2.id, measurement, at(17_000), first.fence), false);
      const crash = {
        transient: true,
        reason: 'crash',
        message: 'x',
        stderr: null,
        exitCode: 1,
        signal: null,
      };
      await recordFailure(db, t3.id, crash, 'failed', true, at(17_000), first.fence);
      assert.deepEqual(await taskCounts(db, 'r1'), {
        pending: 2,
        running: 0,
        done: 1,
        failed: 0,
        skipped: 0,
      });
      // a's release does not free b's device; b's result counts.
      await releaseLease(db, first.fence);
      assert.ok(
        !(await claimDevice(db, DEVICE, holder('c', 303), { leaseMs: LEASE_MS, now: at(18_000) })).claimed,
      );
      assert.equal(await commitMeasurement(db, t2.id, measurement, at(18_000), takeover.fence), true);
      assert.equal((await db.selectFrom('failures').selectAll().execute()).length, 0);

      // A holder known dead (a killed process of this host) is taken over before its lease runs out.
      const abandoned = await claimDevice(db, DEVICE, holder('c', 303), {
        leaseMs: LEASE_MS,
        now: at(19_000),
        isAbandoned: (row) => row.pid === 202,
      });
      assert.ok(abandoned.claimed);
      assert.equal(abandoned.fence.token, 3);

      // The primary key, not only the code: a second row for the device is refused by the database.
      await assert.rejects(
        db
          .insertInto('device_leases')
          .values({
            device_id: DEVICE,
            token: 9,
            holder_id: 'rogue',
            host: 'x',
            pid: 1,
            run_id: null,
            acquired_at: at(0).toISOString(),
            heartbeat_at: at(0).toISOString(),
            expires_at: at(0).toISOString(),
          })
          .execute(),
      );
    } finally {
      await store.close();
    }
  });
}

test('two claims at the same moment on PostgreSQL: exactly one wins', async () => {
  const store = await freshStore('postgres');
  const other = await openStore(databases.at(-1)?.url ?? '');
  try {
    for (let round = 0; round < 5; round++) {
      const device = `host:race-${round}`;
      const results = await Promise.all([
        claimDevice(store.db, device, holder('a', 1), { leaseMs: LEASE_MS, now: at(0) }),
        claimDevice(other.db, device, holder('b', 2), { leaseMs: LEASE_MS, now: at(0) }),
      ]);
      assert.equal(results.filter((result) => result.claimed).length, 1, `round ${round}`);
    }
  } finally {
    await other.close();
    await store.close();
  }
});
