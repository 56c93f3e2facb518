/**
 * The re-measure of disturbed cases against a real SQLite file: which cases count as disturbed (probe against
 * the run's fastest, the tolerance, the limit), where they go in the queue, and which of two measurements of a
 * case is kept (the calmer one; a failed re-measure keeps the earlier one).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  type DisturbancePolicy,
  disturbedCases as disturbedOfRun,
  requeueDisturbed,
} from '../orchestrator/scheduler/disturbance.ts';
import { upsertDevice } from '../orchestrator/store/devices.ts';
import { type OpenedStore, openStore } from '../orchestrator/store/open.ts';
import { createRun } from '../orchestrator/store/runs.ts';
import {
  commitMeasurement,
  insertTasks,
  type MeasurementInput,
  pendingTasks,
  recordFailure,
} from '../orchestrator/store/tasks.ts';
import type { DeviceInfo } from '../orchestrator/transport/port.ts';

/** Only the disturbed cases (the fastest probe they were judged against is checked where it matters). */
async function disturbedCases(
  db: OpenedStore['db'],
  runId: string,
  deviceId: string,
  agentHash: string,
  policy: Pick<DisturbancePolicy, 'tolerance' | 'remeasures'>,
) {
  return (await disturbedOfRun(db, runId, deviceId, agentHash, policy)).cases;
}

const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-disturbance-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const device: DeviceInfo = {
  identity: { id: 'host:test', kind: 'host', abi: 'host' },
  model: 'test CPU',
  buildFingerprint: 'Linux test',
  cpuCount: 2,
  workDir: dir,
  details: {},
};

function measured(medianNs: number, probes: [number, number] | null): MeasurementInput {
  return {
    agent_hash: 'abc',
    build_fingerprint: 'Linux test',
    samples_ns_json: JSON.stringify([medianNs]),
    telemetry_json: '{}',
    cpus_json: '[0]',
    density: 1,
    kept_blocks: 0,
    kept_energy: 1,
    kernel: 'idle',
    flops: 0,
    n: 1,
    min_ns: medianNs,
    max_ns: medianNs,
    median_ns: medianNs,
    mad_ns: 0,
    p10_ns: medianNs,
    p90_ns: medianNs,
    ci_low_ns: medianNs,
    ci_high_ns: medianNs,
    probe_before_ns: probes?.[0] ?? null,
    probe_after_ns: probes?.[1] ?? null,
  };
}

/** A run with `count` idle tasks in batches of two, all pending. */
async function runWithTasks(name: string, count: number): Promise<OpenedStore> {
  const store = await openStore(join(dir, `${name}.db`));
  await upsertDevice(store.db, device);
  await createRun(store.db, { id: 'r1', configJson: '{}', configHash: 'h', gitRevision: null, host: 'test' });
  await insertTasks(
    store.db,
    'r1',
    device.identity.id,
    Array.from({ length: count }, (_, i) => ({
      caseKey: `k${i}`,
      batchIndex: Math.floor(i / 2),
      seq: i % 2,
      caseJson: { i },
      planLine: { op: 'idle', durationUs: 1000 + i },
    })),
  );
  return store;
}

async function measurementOf(store: OpenedStore, caseKey: string) {
  return store.db
    .selectFrom('measurements')
    .innerJoin('tasks', 'tasks.id', 'measurements.task_id')
    .select(['median_ns', 'remeasures', 'tasks.status', 'tasks.batch_index', 'tasks.last_error'])
    .where('tasks.case_key', '=', caseKey)
    .executeTakeFirstOrThrow();
}

test('disturbed: a probe beyond the tolerance over the run fastest, most disturbed first, until the limit', async () => {
  const store = await runWithTasks('select', 5);
  try {
    const tasks = await pendingTasks(store.db, 'r1', device.identity.id);
    // Probes: the fastest of the run is 100 (k1's after-probe); k2 is 1.3x, k3 1.12x, k4 1.08x, k0 has none.
    const probes: ([number, number] | null)[] = [null, [105, 100], [130, 104], [101, 112], [108, 102]];
    for (const [i, task] of tasks.entries()) {
      await commitMeasurement(store.db, task.id, measured(1000 + i, probes[i] ?? null));
    }
    const policy = { tolerance: 0.1, remeasures: 2 };
    const disturbed = await disturbedCases(store.db, 'r1', device.identity.id, 'abc', policy);
    assert.equal((await disturbedOfRun(store.db, 'r1', device.identity.id, 'abc', policy)).fastestNs, 100);
    assert.deepEqual(
      disturbed.map((d) => [d.task.case_key, Number(d.ratio.toFixed(2))]),
      [
        ['k2', 1.3],
        ['k3', 1.12],
      ],
    );
    assert.deepEqual(
      (
        await disturbedCases(store.db, 'r1', device.identity.id, 'abc', { tolerance: 0.05, remeasures: 2 })
      ).map((d) => d.task.case_key),
      ['k2', 'k3', 'k4'],
    );
    assert.deepEqual(
      await disturbedCases(store.db, 'r1', device.identity.id, 'abc', { tolerance: 0.1, remeasures: 0 }),
      [],
    );
    assert.deepEqual(
      await disturbedCases(store.db, 'r1', device.identity.id, 'another-build', policy),
      [],
      "another agent build's cases are not this build's to measure again",
    );

    // Back in the queue after the run's last batch (2), counted; the measurements stay until replaced.
    await requeueDisturbed(store.db, 'r1', device.identity.id, disturbed);
    const again = await pendingTasks(store.db, 'r1', device.identity.id);
    assert.deepEqual(
      again.map((task) => [task.case_key, task.batch_index]),
      [
        ['k2', 3],
        ['k3', 3],
      ],
    );
    const k2 = await measurementOf(store, 'k2');
    assert.equal(k2.remeasures, 1);
    assert.equal(k2.median_ns, 1002);
    assert.match(k2.last_error ?? '', /probe 1\.30x the run's fastest/);

    // k2 comes back calm (probe 101): replaced. k3 comes back worse (probe 150): the earlier one is kept.
    const [k2Task, k3Task] = again;
    assert.ok(k2Task && k3Task);
    assert.equal(await commitMeasurement(store.db, k2Task.id, measured(700, [101, 100])), true);
    assert.equal(await commitMeasurement(store.db, k3Task.id, measured(2000, [150, 140])), true);
    assert.equal((await measurementOf(store, 'k2')).median_ns, 700);
    assert.equal((await measurementOf(store, 'k3')).median_ns, 1003);
    assert.equal((await measurementOf(store, 'k3')).status, 'done');
    // Done again: a second result for a done task is still refused.
    assert.equal(await commitMeasurement(store.db, k2Task.id, measured(1, [1, 1])), false);
    assert.equal((await measurementOf(store, 'k2')).median_ns, 700);

    // k3 is still disturbed (1.12x) and has one re-measure left; after the second, the limit holds.
    const left = await disturbedCases(store.db, 'r1', device.identity.id, 'abc', policy);
    assert.deepEqual(
      left.map((d) => d.task.case_key),
      ['k3'],
    );
    await requeueDisturbed(store.db, 'r1', device.identity.id, left);
    const [k3Again] = await pendingTasks(store.db, 'r1', device.identity.id);
    assert.ok(k3Again);
    assert.equal(k3Again.batch_index, 4);
    await commitMeasurement(store.db, k3Again.id, measured(3000, [160, 160]));
    assert.equal((await measurementOf(store, 'k3')).remeasures, 2);
    assert.deepEqual(await disturbedCases(store.db, 'r1', device.identity.id, 'abc', policy), []);
  } finally {
    await store.close();
  }
});

test('a re-measure that fails leaves the case done with its earlier measurement', async () => {
  const store = await runWithTasks('fail', 2);
  try {
    const [first, second] = await pendingTasks(store.db, 'r1', device.identity.id);
    assert.ok(first && second);
    await commitMeasurement(store.db, first.id, measured(500, [100, 100]));
    await commitMeasurement(store.db, second.id, measured(900, [100, 180]));
    const disturbed = await disturbedCases(store.db, 'r1', device.identity.id, 'abc', {
      tolerance: 0.1,
      remeasures: 1,
    });
    await requeueDisturbed(store.db, 'r1', device.identity.id, disturbed);
    const crash = {
      transient: true,
      reason: 'crash',
      message: 'died',
      stderr: null,
      exitCode: 1,
      signal: null,
    };
    await recordFailure(store.db, second.id, crash, 'pending', true);
    const kept = await measurementOf(store, 'k1');
    assert.equal(kept.status, 'done');
    assert.equal(kept.median_ns, 900);
    assert.match(kept.last_error ?? '', /re-measure failed \(died\); the earlier measurement stands/);
    const failures = await store.db.selectFrom('failures').selectAll().execute();
    assert.equal(failures.length, 1, 'the failure is still on record');
  } finally {
    await store.close();
  }
});
