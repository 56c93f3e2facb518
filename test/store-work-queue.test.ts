/**
 * The work queue of `sweep --enqueue` / `prunelab worker` on both dialects (a real SQLite file, a throwaway
 * PostgreSQL database): claims by target (device id or selector), concurrent claims that never share a batch
 * (SKIP LOCKED on PostgreSQL), takeover after a lease runs out with a higher token, the stale worker's late
 * results and its finish refused, one result per (run, case) across devices, and the primary key refusing a
 * second result even without the code.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { upsertDevice } from '../orchestrator/store/devices.ts';
import { claimDevice, type LeaseFence } from '../orchestrator/store/leases.ts';
import { type OpenedStore, openStore } from '../orchestrator/store/open.ts';
import { createRun } from '../orchestrator/store/runs.ts';
import { commitMeasurement, insertTasks, pendingTasks, type TaskInput } from '../orchestrator/store/tasks.ts';
import {
  type ClaimRequest,
  claimBatch,
  enqueueBatches,
  finishBatch,
  releaseBatch,
  runQueueDone,
  settledCaseKeys,
  waitingTargets,
} from '../orchestrator/store/work-queue.ts';
import { targetsOf } from '../orchestrator/worker/target.ts';
import { createTestDatabase, type TestDatabase } from './support/postgres.ts';
import { IDLE_MEASUREMENT } from './support/queue.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-queue-'));
const databases: TestDatabase[] = [];
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  for (const database of databases) await database.drop();
});

async function freshStore(dialect: 'sqlite' | 'postgres', name: string): Promise<OpenedStore> {
  if (dialect === 'sqlite') return openStore(join(dir, `${name}.db`));
  const database = await createTestDatabase(`queue_${name}`);
  databases.push(database);
  return openStore(database.url);
}

const LEASE_MS = 10_000;
const t0 = new Date('2026-01-01T12:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

const measurement = IDLE_MEASUREMENT;

/** `batches` batches of 2 idle cases each. */
function tasks(batches: number): TaskInput[] {
  return Array.from({ length: batches * 2 }, (_, i) => ({
    caseKey: `k${i}`,
    batchIndex: Math.floor(i / 2),
    seq: i % 2,
    caseJson: {},
    planLine: { op: 'idle' as const, durationUs: 1000 },
  }));
}

const phone = (id: string, model: string) => ({ id, model, abi: 'x86_64', fingerprint: `fp-${model}` });

async function addDevice(store: OpenedStore, id: string, model: string): Promise<void> {
  await upsertDevice(store.db, {
    identity: { id, kind: 'adb', abi: 'x86_64' },
    model,
    buildFingerprint: `fp-${model}`,
    cpuCount: 2,
    workDir: '/data/local/tmp',
    details: {},
  });
}

function request(workerId: string, device: ReturnType<typeof phone>, ms: number): ClaimRequest {
  return {
    targets: targetsOf(device),
    workerId,
    deviceId: device.id,
    host: `host-${workerId}`,
    leaseMs: LEASE_MS,
    now: at(ms),
  };
}

/** The device lease a worker holds while it runs a batch there, with the batch's fence on top. */
async function fenceFor(store: OpenedStore, deviceId: string, ms: number): Promise<LeaseFence> {
  const claim = await claimDevice(
    store.db,
    deviceId,
    { holderId: deviceId, host: 'h', pid: 1, runId: 'r1' },
    { leaseMs: 3_600_000, now: at(ms) },
  );
  assert.ok(claim.claimed);
  return claim.fence;
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  test(`claims by selector, takeover after the lease, late results refused, one result per case (${dialect})`, async () => {
    const store = await freshStore(dialect, 'claims');
    try {
      const { db } = store;
      const pixelA = phone('pixel-a', 'Pixel 7');
      const pixelB = phone('pixel-b', 'Pixel 7');
      const galaxy = phone('galaxy', 'Galaxy S21');
      for (const device of [pixelA, pixelB, galaxy]) await addDevice(store, device.id, device.model);
      await createRun(db, { id: 'r1', configJson: '{}', configHash: 'h', gitRevision: null, host: 'a' });
      assert.equal(await enqueueBatches(db, 'r1', 'model=Pixel 7', tasks(2), at(0)), 2);

      // A phone of another model gets nothing, and the queue says what waits for whom.
      assert.equal(await claimBatch(db, dialect, request('w3', galaxy, 0)), undefined);
      assert.deepEqual(await waitingTargets(db, at(0)), [{ target: 'model=Pixel 7', batches: 2 }]);

      const a = await claimBatch(db, dialect, request('w1', pixelA, 0));
      assert.ok(a !== undefined);
      assert.deepEqual([a.batchIndex, a.fence.token, a.claims], [0, 1, 1]);
      assert.deepEqual(
        a.tasks.map((task) => task.caseKey),
        ['k0', 'k1'],
      );
      const b = await claimBatch(db, dialect, request('w2', pixelB, 100));
      assert.equal(b?.batchIndex, 1, 'the claimed batch is skipped: the next one');
      assert.equal(await claimBatch(db, dialect, request('w2', pixelB, 200)), undefined, 'nothing left');

      // w1 runs batch 0 on pixel-a and commits k0 under its token.
      await insertTasks(db, 'r1', pixelA.id, a.tasks);
      const [a0, a1] = await pendingTasks(db, 'r1', pixelA.id);
      assert.ok(a0 !== undefined && a1 !== undefined);
      const fenceA = { ...(await fenceFor(store, pixelA.id, 0)), batch: a.fence };
      assert.equal(await commitMeasurement(db, a0.id, measurement, at(1_000), fenceA), true);

      // w1 hangs past its lease: pixel-b (same model, another worker) takes batch 0 over with token 2,
      // and runs only what is not settled yet.
      const over = await claimBatch(db, dialect, request('w2', pixelB, LEASE_MS + 1_000));
      assert.ok(over !== undefined);
      assert.deepEqual([over.batchIndex, over.fence.token, over.claims], [0, 2, 2]);
      assert.deepEqual([...(await settledCaseKeys(db, 'r1', ['k0', 'k1']))], ['k0']);
      await insertTasks(db, 'r1', pixelB.id, over.tasks);
      const b1 = (await pendingTasks(db, 'r1', pixelB.id)).find((task) => task.case_key === 'k1');
      const b0 = (await pendingTasks(db, 'r1', pixelB.id)).find((task) => task.case_key === 'k0');
      assert.ok(b1 !== undefined && b0 !== undefined);
      const fenceB = { ...(await fenceFor(store, pixelB.id, LEASE_MS + 1_000)), batch: over.fence };

      // w1 wakes up: its late result for k1 and its finish are refused by the token.
      assert.equal(await commitMeasurement(db, a1.id, measurement, at(LEASE_MS + 2_000), fenceA), false);
      assert.equal(await finishBatch(db, a.fence, at(LEASE_MS + 2_000)), false);
      // w2's result for k1 is stored; a second result for k0 (measured on pixel-a already) is refused even
      // under a valid token: one result per (run, case), whichever device sends it.
      assert.equal(await commitMeasurement(db, b1.id, measurement, at(LEASE_MS + 3_000), fenceB), true);
      assert.equal(await commitMeasurement(db, b0.id, measurement, at(LEASE_MS + 3_000), fenceB), false);
      const results = await db
        .selectFrom('queue_results')
        .select(['case_key', 'device_id', 'token'])
        .orderBy('case_key')
        .execute();
      assert.deepEqual(results, [
        { case_key: 'k0', device_id: 'pixel-a', token: 1 },
        { case_key: 'k1', device_id: 'pixel-b', token: 2 },
      ]);
      const measured = await db
        .selectFrom('measurements')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      assert.equal(Number(measured.n), 2);

      assert.equal(await finishBatch(db, over.fence, at(LEASE_MS + 4_000)), true);
      assert.equal(await runQueueDone(db, 'r1'), false, 'batch 1 is still claimed');
      // Given back (a worker stopped): claimable again, with a higher token.
      assert.ok(b !== undefined);
      assert.equal(await releaseBatch(db, b.fence), true);
      const again = await claimBatch(db, dialect, request('w1', pixelA, LEASE_MS + 5_000));
      assert.deepEqual([again?.batchIndex, again?.fence.token], [1, 2]);
      assert.ok(again !== undefined);
      assert.equal(await finishBatch(db, again.fence, at(LEASE_MS + 6_000)), true);
      assert.equal(await runQueueDone(db, 'r1'), true);

      // The primary key itself refuses a second result for a case, without the code's check.
      await assert.rejects(
        db
          .insertInto('queue_results')
          .values({
            run_id: 'r1',
            case_key: 'k0',
            task_id: b0.id,
            batch_id: over.fence.batchId,
            token: 2,
            device_id: 'pixel-b',
            status: 'done',
            created_at: at(0).toISOString(),
          })
          .execute(),
      );
    } finally {
      await store.close();
    }
  });

  test(`concurrent claims never share a batch (${dialect})`, async () => {
    const store = await freshStore(dialect, 'concurrent');
    try {
      const { db } = store;
      await createRun(db, { id: 'r1', configJson: '{}', configHash: 'h', gitRevision: null, host: 'a' });
      await enqueueBatches(db, 'r1', 'abi=x86_64', tasks(8), at(0));
      const claims = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          claimBatch(db, dialect, request(`w${i}`, phone(`p${i}`, 'M'), 0)),
        ),
      );
      const batches = claims.filter((claim) => claim !== undefined).map((claim) => claim.batchIndex);
      assert.deepEqual(
        [...batches].sort((x, y) => x - y),
        [0, 1, 2, 3, 4, 5, 6, 7],
      );
      assert.equal(claims.filter((claim) => claim === undefined).length, 2);
    } finally {
      await store.close();
    }
  });
}
