/**
 * Reading a run for its report from a real SQLite store written through the store's own functions: a
 * measured case, a retried-then-measured one, a failed one and a skipped one, lab hygiene and a flagged
 * batch. The figures are literals written by the test (no agent runs here), read back as the report sees them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readRunForReport } from '../orchestrator/report/read-store.ts';
import { upsertDevice } from '../orchestrator/store/devices.ts';
import {
  finishBatchRun,
  recordRunDevice,
  skipPendingTasks,
  startBatchRun,
} from '../orchestrator/store/lab.ts';
import { claimDevice } from '../orchestrator/store/leases.ts';
import { openStore } from '../orchestrator/store/open.ts';
import { createRun, findRun } from '../orchestrator/store/runs.ts';
import {
  commitMeasurement,
  insertTasks,
  type MeasurementInput,
  recordFailure,
} from '../orchestrator/store/tasks.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-report-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const conv = {
  op: 'conv' as const,
  cin: 16,
  cout: 16,
  h: 8,
  w: 8,
  k: 3,
  stride: 1,
  pad: 1,
  scheme: 'bcr' as const,
  block: '4x1',
  sparsity: 0.75,
};

function measurement(medianNs: number, temperatureMilliC: number): MeasurementInput {
  const snapshot = {
    timeNs: 1,
    thermalMilliC: { 'cpu-thermal': temperatureMilliC },
    cpuFreqKhz: { cpu4: 2_000_000, cpu5: 1_000_000, cpu0: 500_000 },
  };
  return {
    agent_hash: 'hash-1',
    build_fingerprint: 'fp',
    samples_ns_json: JSON.stringify([medianNs]),
    telemetry_json: JSON.stringify({ before: snapshot, after: snapshot }),
    cpus_json: '[4,5]',
    density: 0.25,
    kept_blocks: 4,
    kept_energy: 0.5,
    kernel: 'bcr-rgs8',
    flops: 1000,
    prepare_ns: 10,
    sampling_ns: 2_000_000,
    n: 1,
    min_ns: medianNs,
    max_ns: medianNs,
    median_ns: medianNs,
    mad_ns: 0,
    p10_ns: medianNs,
    p90_ns: medianNs,
    ci_low_ns: medianNs,
    ci_high_ns: medianNs,
  };
}

test('a run is read with its cases, failures, skips, telemetry, lab state and batches', async () => {
  const store = await openStore(join(dir, 'r.db'));
  try {
    const { db } = store;
    const at = new Date('2026-01-01T00:00:00.000Z');
    await createRun(
      db,
      {
        id: 'r1',
        configJson: '{"sweep":{"models":["resnet18-cifar10"]}}',
        configHash: 'h',
        gitRevision: 'rev',
        host: 'lab',
      },
      at,
    );
    await upsertDevice(
      db,
      {
        identity: { id: 'adb:phone', kind: 'adb', abi: 'arm64-v8a' },
        model: 'Pixel',
        buildFingerprint: 'fp',
        cpuCount: 8,
        workDir: '/data/local/tmp',
        details: {},
      },
      at,
    );
    const tasks = ['measured', 'retried', 'failed', 'skipped'].map((key, seq) => ({
      caseKey: key,
      batchIndex: 0,
      seq,
      caseJson: { layers: [`resnet18-cifar10/layer${seq}`] },
      planLine: { ...conv, cin: 16 * (seq + 1) },
    }));
    await insertTasks(db, 'r1', 'adb:phone', tasks, at);
    const ids = Object.fromEntries(
      (await db.selectFrom('tasks').select(['id', 'case_key']).execute()).map((row) => [
        row.case_key,
        row.id,
      ]),
    ) as Record<string, number>;
    const failure = { stderr: null, exitCode: null, signal: null };
    await commitMeasurement(
      db,
      ids.measured as number,
      { ...measurement(1000, 40_000), probe_before_ns: 100_000, probe_after_ns: 104_000 },
      new Date('2026-01-01T00:00:10.000Z'),
    );
    await recordFailure(
      db,
      ids.retried as number,
      { ...failure, transient: true, reason: 'timeout', message: 'timed out once' },
      'pending',
      true,
      at,
    );
    // The retried case's probe ran 1.5x the measured one's: still disturbed (tolerance 0.1), and counted as
    // measured again once. It is committed under a device lease, so it names its host.
    const lease = await claimDevice(
      db,
      'adb:phone',
      { holderId: 'h', host: 'lab-host-b', pid: 1, runId: 'r1' },
      { leaseMs: 10_000, now: at },
    );
    assert.ok(lease.claimed);
    await commitMeasurement(
      db,
      ids.retried as number,
      { ...measurement(2000, 45_000), probe_before_ns: 150_000, probe_after_ns: 140_000, remeasures: 1 },
      new Date('2026-01-01T00:00:20.000Z'),
      lease.fence,
    );
    await recordFailure(
      db,
      ids.failed as number,
      { ...failure, transient: false, reason: 'agent-error', message: 'block 4x1 does not divide cout=10' },
      'failed',
      true,
      at,
    );
    await skipPendingTasks(db, 'r1', 'adb:phone', 'device lost: disconnected', at);
    await recordRunDevice(
      db,
      'r1',
      'adb:phone',
      { screenOn: false, charging: true, batteryLevel: 90, root: 'su', bigCpus: [4, 5], lab: {} },
      at,
    );
    const batch = await startBatchRun(
      db,
      'r1',
      'adb:phone',
      { batchIndex: 0, cases: 4, thermalWaitMs: 1500, gate: 'cool', temperatureC: 38, telemetry: {} },
      at,
    );
    await finishBatchRun(
      db,
      batch,
      { temperatureC: 46, telemetry: {}, flag: 'cpu4 frequency dropped', requeued: true },
      at,
    );

    const run = await findRun(db, 'r1');
    assert.ok(run !== undefined);
    const report = await readRunForReport(db, run);

    assert.deepEqual(report.run.counts, { pending: 0, running: 0, done: 2, failed: 1, skipped: 1 });
    assert.deepEqual(
      report.cases.map((c) => [c.caseKey, c.medianNs, c.layers[0], c.shapeKey]),
      [
        ['measured', 1000, 'resnet18-cifar10/layer0', 'conv 16->16 k3 s1 p1 @8x8'],
        ['retried', 2000, 'resnet18-cifar10/layer1', 'conv 32->16 k3 s1 p1 @8x8'],
      ],
    );
    const byKey = new Map(report.failures.map((f) => [f.caseKey, f]));
    assert.equal(byKey.size, 3);
    assert.deepEqual([byKey.get('retried')?.status, byKey.get('retried')?.reason], ['retried', 'timeout']);
    assert.deepEqual(
      [byKey.get('failed')?.status, byKey.get('failed')?.message],
      ['failed', 'block 4x1 does not divide cout=10'],
    );
    assert.deepEqual(
      [byKey.get('skipped')?.status, byKey.get('skipped')?.message],
      ['skipped', 'device lost: disconnected'],
    );

    // Hottest zone in °C; mean frequency of the CPUs the case ran on (4 and 5, not 0) in MHz.
    assert.deepEqual(
      report.telemetry.map((t) => [t.temperatureC, t.frequencyMhz]),
      [
        [40, 1500],
        [45, 1500],
      ],
    );
    const [device] = report.devices;
    assert.equal(device?.model, 'Pixel');
    assert.equal(device?.cpuCount, 8);
    assert.deepEqual(device?.agentHashes, ['hash-1']);
    assert.deepEqual(device?.hosts, ['lab-host-b', 'not recorded'], 'the host of each measurement');
    assert.equal(device?.samplingMs, 4);
    assert.equal(device?.thermalWaitMs, 1500);
    assert.equal(device?.remeasuredCases, 1);
    assert.equal(device?.disturbedCases, 1);
    assert.deepEqual(device?.lab, {
      screenOn: false,
      charging: true,
      batteryLevel: 90,
      root: 'su',
      bigCpus: [4, 5],
    });
    assert.equal(device?.firstMeasuredAt, '2026-01-01T00:00:10.000Z');
    assert.deepEqual(
      report.batches.map((b) => [b.thermalWaitMs, b.flag, b.requeued]),
      [[1500, 'cpu4 frequency dropped', true]],
    );
    assert.deepEqual(report.agentBuilds, [
      { hash: 'hash-1', abi: '?', compiler: 'not recorded', flags: 'not recorded' },
    ]);
  } finally {
    await store.close();
  }
});
