/**
 * A phone that connects while a sweep runs joins it: Debian's adb server on a test port, one x86_64
 * virtual phone at the start, a second one `adb connect`ed after the first phone's first case. The sweep
 * polls the server through the real discovery (as the CLI does, every devices.adb.pollMs), prepares the
 * newcomer like the others (identity, agent push, lab, task rows) and runs its queue beside the first.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DEFAULT_LAB } from '../config/defaults.ts';
import { validateConfig } from '../config/schema.ts';
import { startVirtualPhone, type VirtualPhone } from '../device-agent/virtual/phone.ts';
import { buildAgent } from '../orchestrator/build/agent-build.ts';
import type { SchedulerEvent } from '../orchestrator/scheduler/events.ts';
import { openStore } from '../orchestrator/store/open.ts';
import { runSweep } from '../orchestrator/sweep/run-sweep.ts';
import { discoverAdbDevices } from '../orchestrator/transport/adb/discovery.ts';
import { type AdbLab, startAdbLab } from './adb-lab.ts';

const WORK_DIR = '/data/local/tmp/prunelab-join';
let lab: AdbLab;
let late: VirtualPhone | undefined;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prunelab-adb-join-'));
  lab = await startAdbLab([{ abi: 'x86_64', model: 'Early Phone' }]);
});

after(async () => {
  await late?.stop();
  await lab?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('a phone connected mid-sweep joins it: all its cases done once, the first phone unaffected', async () => {
  const [early] = lab.phones;
  assert.ok(early !== undefined);
  late = await startVirtualPhone({ abi: 'x86_64', model: 'Late Phone' });
  const newcomer = late;
  // 12 cases in 4 agent calls, ~200 ms each: the first phone works for a few seconds.
  const config = validateConfig(
    {
      sweep: {
        models: ['resnet18-cifar10'],
        schemes: ['dense'],
        threads: [1],
        measurement: { warmup: 0, minReps: 2, minTimeMs: 200, maxTimeMs: 400 },
        batch: { maxCases: 3 },
      },
      devices: { host: { enabled: false } },
      lab: { ...DEFAULT_LAB, thermal: { thresholdC: 40, pollMs: 100, maxWaitMs: 5_000, batchLimitC: 60 } },
    },
    'test',
  );
  const events: SchedulerEvent[] = [];
  let connecting: Promise<unknown> | undefined;
  const store = await openStore(join(dir, 'join.db'));
  try {
    const summary = await runSweep(
      {
        db: store.db,
        dbPath: store.path,
        devices: [lab.device(early, WORK_DIR)],
        buildAgent: (abi) =>
          buildAgent(abi, { agentDir: join(import.meta.dirname, '..', 'device-agent'), env: process.env }),
        gitRevision: async () => null,
        hostName: 'test',
        emit: (event) => {
          events.push(event);
          if (connecting === undefined && event.type === 'case-done' && event.deviceId === early.serial)
            connecting = lab.adb(['connect', newcomer.serial]);
        },
        stop: new AbortController().signal,
        hardStop: new AbortController().signal,
        discover: async () =>
          (
            await discoverAdbDevices({
              servers: [lab.server],
              startServer: false,
              workDir: WORK_DIR,
              pollMs: 100,
              reconnectTcp: false,
            })
          ).devices,
        discoverEveryMs: 100,
      },
      { kind: 'new', config },
    );
    assert.match(((await connecting) as { stdout: string }).stdout, /connected to/);

    assert.equal(summary.status, 'done');
    assert.deepEqual(summary.devices.map((d) => d.deviceId).sort(), [early.serial, newcomer.serial].sort());
    for (const outcome of summary.devices) {
      assert.equal(outcome.stoppedReason, undefined, outcome.deviceId);
      assert.equal(outcome.counts.done, summary.plannedCases, outcome.deviceId);
    }
    const joinedAt = events.findIndex(
      (e) => e.type === 'device-note' && e.deviceId === newcomer.serial && e.message === 'joined the run',
    );
    const earlyDoneAt = events.findIndex((e) => e.type === 'device-done' && e.deviceId === early.serial);
    assert.ok(joinedAt >= 0 && joinedAt < earlyDoneAt, 'the newcomer joined while the first phone worked');

    const rows = await store.db
      .selectFrom('measurements')
      .innerJoin('tasks', 'tasks.id', 'measurements.task_id')
      .select(['tasks.device_id', 'tasks.case_key'])
      .where('tasks.run_id', '=', summary.runId)
      .execute();
    assert.equal(rows.length, 2 * summary.plannedCases);
    assert.equal(new Set(rows.map((r) => `${r.device_id}/${r.case_key}`)).size, rows.length, 'none twice');
    const devices = await store.db.selectFrom('run_devices').select('device_id').execute();
    assert.deepEqual(devices.map((d) => d.device_id).sort(), [early.serial, newcomer.serial].sort());
  } finally {
    await store.close();
  }
});
