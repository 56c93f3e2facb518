/**
 * Faults on virtual phones behind Debian's real adb server, through the adb transport, the scheduler and
 * lab hygiene, into a real SQLite store: a connection dropped mid-batch, a hung agent, a hot device, a
 * full disk on push, and a phone gone for good. After each, the store holds exactly the expected
 * measurements, none twice. Idle cases (the agent only sleeps) keep the whole file short.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DEFAULT_LAB } from '../config/defaults.ts';
import type { LabConfig } from '../config/schema.ts';
import { validateConfig } from '../config/schema.ts';
import type { VirtualPhone } from '../device-agent/virtual/phone.ts';
import { buildAgent } from '../orchestrator/build/agent-build.ts';
import type { SchedulerEvent } from '../orchestrator/scheduler/events.ts';
import { runQueues, type SchedulerOptions } from '../orchestrator/scheduler/scheduler.ts';
import { type OpenedStore, openStore } from '../orchestrator/store/open.ts';
import { runSweep } from '../orchestrator/sweep/run-sweep.ts';
import { type AdbLab, prepareIdleRun, startAdbLab } from './adb-lab.ts';

let lab: AdbLab;
let dir: string;
let store: OpenedStore;
const phone = (index: number): VirtualPhone => {
  const found = lab.phones[index];
  assert.ok(found !== undefined);
  return found;
};

const FAST_LAB: LabConfig = {
  ...DEFAULT_LAB,
  thermal: { thresholdC: 40, pollMs: 100, maxWaitMs: 5_000, batchLimitC: 60 },
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prunelab-adb-faults-'));
  lab = await startAdbLab([
    { abi: 'x86_64', model: 'Drop Phone' },
    { abi: 'x86_64', model: 'Hang Phone' },
    // Fast thermal dynamics: a hot phone cools within a second or two.
    {
      abi: 'x86_64',
      model: 'Hot Phone',
      thermal: { restingC: 25, heatingCPerS: 0, coolingTauS: 1 },
      thermalTickMs: 50,
    },
    { abi: 'x86_64', model: 'Full Phone' },
    { abi: 'arm64-v8a', model: 'Gone Phone' },
    { abi: 'x86_64', model: 'Steady Phone' },
  ]);
  store = await openStore(join(dir, 'faults.db'));
});

after(async () => {
  await store?.close();
  await lab?.stop();
  await rm(dir, { recursive: true, force: true });
});

function schedulerOptions(
  runId: string,
  events: SchedulerEvent[],
  extra: Partial<SchedulerOptions> = {},
): SchedulerOptions {
  return {
    db: store.db,
    runId,
    retries: 2,
    maxConsecutiveFailures: 3,
    caseTimeoutMs: 10_000,
    disconnectGraceMs: 15_000,
    stop: new AbortController().signal,
    hardStop: new AbortController().signal,
    emit: (event) => events.push(event),
    ...extra,
  };
}

async function measurements(runId: string) {
  return store.db
    .selectFrom('measurements')
    .innerJoin('tasks', 'tasks.id', 'measurements.task_id')
    .select(['tasks.device_id', 'tasks.case_key', 'tasks.id'])
    .where('tasks.run_id', '=', runId)
    .execute();
}

async function tasks(runId: string) {
  return store.db
    .selectFrom('tasks')
    .selectAll()
    .where('run_id', '=', runId)
    .orderBy('batch_index')
    .orderBy('seq')
    .execute();
}

function assertNoneTwice(rows: readonly { device_id: string; case_key: string }[]): void {
  assert.equal(
    new Set(rows.map((r) => `${r.device_id}/${r.case_key}`)).size,
    rows.length,
    'no case measured twice',
  );
}

test('a connection dropped mid-batch: finished cases stay, the rest run when the phone is back', async () => {
  const runId = 'drop';
  const target = phone(0);
  const device = lab.device(target, '/data/local/tmp/prunelab-drop');
  const queues = await prepareIdleRun(
    store.db,
    [device],
    { runId, cases: 8, durationUs: 100_000, batchCases: 8 },
    FAST_LAB,
  );
  const events: SchedulerEvent[] = [];
  let dropped = false;
  const [outcome] = await runQueues(
    queues,
    schedulerOptions(runId, events, {
      emit: (event) => {
        events.push(event);
        // Pull the cable once, after the second result of the batch.
        if (
          !dropped &&
          event.type === 'case-done' &&
          events.filter((e) => e.type === 'case-done').length === 2
        ) {
          dropped = true;
          target.faults.dropNow();
        }
      },
    }),
  );
  assert.ok(dropped);
  assert.equal(outcome?.stoppedReason, undefined);
  assert.equal(outcome?.counts.done, 8);
  const notes = events.flatMap((e) => (e.type === 'device-note' ? [e.message] : []));
  assert.ok(
    notes.some((m) => /^lost \(/.test(m)),
    notes.join('\n'),
  );
  assert.ok(
    notes.some((m) => /^back after [\d.]+ s, prepared again in [\d.]+ s/.test(m)),
    notes.join('\n'),
  );
  const rows = await measurements(runId);
  assert.equal(rows.length, 8);
  assertNoneTwice(rows);
});

test('a hung agent is killed at the case timeout (on the phone too) and the case is retried', async () => {
  const runId = 'hang';
  const target = phone(1);
  const device = lab.device(target, '/data/local/tmp/prunelab-hang');
  const queues = await prepareIdleRun(
    store.db,
    [device],
    { runId, cases: 4, durationUs: 10_000, batchCases: 4 },
    FAST_LAB,
  );
  target.faults.hangCommands(/prunelab-agent-\w+ run/);
  const events: SchedulerEvent[] = [];
  let groupsAtTimeout: readonly number[] | undefined;
  const [outcome] = await runQueues(
    queues,
    schedulerOptions(runId, events, {
      caseTimeoutMs: 1_500,
      emit: (event) => {
        events.push(event);
        if (event.type === 'case-failed' && event.reason === 'timeout') {
          target.faults.hangCommands(null);
          groupsAtTimeout = target.liveProcessGroups();
        }
      },
    }),
  );
  assert.equal(outcome?.counts.done, 4);
  // The hung command's process group (alive when the timeout was recorded, or already gone) is not left over.
  assert.ok(groupsAtTimeout !== undefined);
  const left = target.liveProcessGroups();
  for (const group of groupsAtTimeout)
    assert.ok(!left.includes(group), `process group ${group} still runs on the phone`);
  const failures = await store.db
    .selectFrom('failures')
    .innerJoin('tasks', 'tasks.id', 'failures.task_id')
    .select(['failures.reason', 'tasks.case_key', 'tasks.attempts'])
    .where('tasks.run_id', '=', runId)
    .execute();
  assert.equal(failures.length, 1);
  assert.equal(failures[0]?.reason, 'timeout');
  assert.equal(failures[0]?.attempts, 1);
  const rows = await measurements(runId);
  assert.equal(rows.length, 4);
  assertNoneTwice(rows);
});

test('a hot phone: the batch waits until it cools, and the wait is recorded; a batch that heats is flagged and re-run once', async () => {
  const runId = 'hot';
  const target = phone(2);
  const device = lab.device(target, '/data/local/tmp/prunelab-hot');
  const hotLab: LabConfig = {
    ...DEFAULT_LAB,
    thermal: { thresholdC: 30, pollMs: 100, maxWaitMs: 1_500, batchLimitC: 40 },
  };
  const queues = await prepareIdleRun(
    store.db,
    [device],
    { runId, cases: 6, durationUs: 50_000, batchCases: 3 },
    hotLab,
  );
  target.faults.setTemperatureC(36);
  const events: SchedulerEvent[] = [];
  let heated = false;
  const [outcome] = await runQueues(
    queues,
    schedulerOptions(runId, events, {
      emit: (event) => {
        events.push(event);
        // During the second batch the phone overheats and throttles (held at 48 °C).
        if (!heated && event.type === 'batch-start' && event.batchIndex === 1) {
          heated = true;
          setTimeout(() => target.faults.setTemperatureC(48, { hold: true }), 20);
        }
      },
    }),
  );
  target.faults.releaseTemperature();
  assert.equal(outcome?.counts.done, 6);
  const batches = await store.db
    .selectFrom('batch_runs')
    .selectAll()
    .where('run_id', '=', runId)
    .orderBy('id')
    .execute();
  const first = batches[0];
  assert.ok(first !== undefined);
  assert.equal(first.gate, 'cool');
  assert.ok(first.thermal_wait_ms >= 300, `waited ${first.thermal_wait_ms} ms to cool from 36 °C`);
  assert.ok((first.temp_before_c ?? 99) <= 30);
  const second = batches.filter((b) => b.batch_index === 1);
  assert.equal(second.length, 2, 'the flagged batch ran twice');
  assert.match(second[0]?.flag ?? '', /kHz|°C/);
  assert.equal(second[0]?.requeued, 1);
  assert.equal(second[1]?.requeued, 0, 'flagged again, kept: re-queued once only');
  assert.equal(second[1]?.gate, 'max-wait');
  const rows = await measurements(runId);
  assert.equal(rows.length, 6);
  assertNoneTwice(rows);
});

test('a full disk on push: the device stops with a clear error, nothing is measured', async () => {
  const target = phone(3);
  const device = lab.device(target, '/data/local/tmp/prunelab-full');
  target.faults.setDiskFull(true);
  try {
    const config = validateConfig(
      {
        sweep: { schemes: ['dense'], measurement: { warmup: 0, minReps: 1, minTimeMs: 0, maxTimeMs: 10 } },
        devices: { host: { enabled: false } },
        lab: FAST_LAB,
      },
      'test',
    );
    const summary = await runSweep(
      {
        db: store.db,
        dbPath: 'faults.db',
        devices: [device],
        buildAgent: (abi) =>
          buildAgent(abi, { agentDir: join(import.meta.dirname, '..', 'device-agent'), env: process.env }),
        gitRevision: async () => null,
        hostName: 'test',
        emit: () => {},
        stop: new AbortController().signal,
        hardStop: new AbortController().signal,
      },
      { kind: 'new', config },
    );
    assert.equal(summary.status, 'failed');
    const [outcome] = summary.devices;
    assert.equal(outcome?.stoppedKind, 'quarantined');
    assert.match(outcome?.stoppedReason ?? '', /no space left on the device/);
    assert.match(outcome?.stoppedReason ?? '', /free space under \/data\/local\/tmp\/prunelab-full/);
    assert.equal(summary.counts.done, 0);
    assert.equal(summary.counts.pending, summary.plannedCases, 'all left pending for --resume');
    assert.equal((await measurements(summary.runId)).length, 0);
  } finally {
    target.faults.setDiskFull(false);
  }
});

test('a phone gone for good: its finished cases stay, the rest are skipped with the reason; the other phone finishes', async () => {
  const runId = 'gone';
  const gone = phone(4);
  const steady = phone(5);
  const devices = [
    lab.device(gone, '/data/local/tmp/prunelab-gone'),
    lab.device(steady, '/data/local/tmp/prunelab-gone'),
  ];
  const queues = await prepareIdleRun(
    store.db,
    devices,
    { runId, cases: 6, durationUs: 150_000, batchCases: 3 },
    FAST_LAB,
  );
  const events: SchedulerEvent[] = [];
  let unplugged = false;
  const outcomes = await runQueues(
    queues,
    schedulerOptions(runId, events, {
      disconnectGraceMs: 1_500,
      emit: (event) => {
        events.push(event);
        if (!unplugged && event.type === 'case-done' && event.deviceId === gone.serial) {
          unplugged = true;
          gone.faults.setOffline(true);
        }
      },
    }),
  );
  const goneOutcome = outcomes.find((o) => o.deviceId === gone.serial);
  const steadyOutcome = outcomes.find((o) => o.deviceId === steady.serial);
  assert.equal(goneOutcome?.stoppedKind, 'gone');
  assert.match(
    goneOutcome?.stoppedReason ?? '',
    /did not come back within scheduler\.disconnectGraceMs = 1500 ms/,
  );
  assert.equal(steadyOutcome?.counts.done, 6);
  const goneTasks = (await tasks(runId)).filter((t) => t.device_id === gone.serial);
  const done = goneTasks.filter((t) => t.status === 'done');
  const skipped = goneTasks.filter((t) => t.status === 'skipped');
  assert.ok(done.length >= 1);
  assert.equal(done.length + skipped.length, 6);
  for (const task of skipped) assert.match(task.last_error ?? '', /^skipped: device .* disconnected/);
  const rows = await measurements(runId);
  assert.equal(rows.length, 6 + done.length, 'the steady phone all, the gone one what it finished');
  assertNoneTwice(rows);
  gone.faults.setOffline(false);
});
