/**
 * A phone that comes back mid-sweep (issue #22), on virtual phones behind Debian's real adb server: the
 * phone's process is killed (its links drop, its /data/local/tmp is emptied, as a reboot does) and started
 * again on the same port, so the adb server lists the same serial again. The sweep must see it back within
 * seconds, prepare it again (identity, agent, lab hygiene) and finish every case exactly once.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_LAB } from '../config/defaults.ts';
import type { LabConfig, PrunelabConfig } from '../config/schema.ts';
import { validateConfig } from '../config/schema.ts';
import type { VirtualPhone } from '../device-agent/virtual/phone.ts';
import { buildAgent } from '../orchestrator/build/agent-build.ts';
import { readRunForReport } from '../orchestrator/report/read-store.ts';
import type { SchedulerEvent } from '../orchestrator/scheduler/events.ts';
import { deviceGaps } from '../orchestrator/store/lab.ts';
import { type OpenedStore, openStore } from '../orchestrator/store/open.ts';
import { findRun } from '../orchestrator/store/runs.ts';
import { runSweep, type SweepSummary } from '../orchestrator/sweep/run-sweep.ts';
import type { Device } from '../orchestrator/transport/port.ts';
import { type AdbLab, startAdbLab } from './adb-lab.ts';

let lab: AdbLab;
let dir: string;
let store: OpenedStore;

// No disturbance re-measures: under shared load they wait for a calm probe for many seconds, and these
// tests are about connections, not timings.
const FAST_LAB: LabConfig = {
  ...DEFAULT_LAB,
  thermal: { thresholdC: 40, pollMs: 100, maxWaitMs: 5_000, batchLimitC: 60 },
  disturbance: { ...DEFAULT_LAB.disturbance, remeasures: 0 },
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prunelab-adb-return-'));
  lab = await startAdbLab([
    { abi: 'x86_64', model: 'Reboot Phone' },
    { abi: 'x86_64', model: 'Steady Phone' },
  ]);
  store = await openStore(join(dir, 'return.db'));
});

after(async () => {
  await store?.close();
  await lab?.stop();
  await rm(dir, { recursive: true, force: true });
});

function phone(index: number): VirtualPhone {
  const found = lab.phones[index];
  assert.ok(found !== undefined);
  return found;
}

function sweepConfig(graceMs: number): PrunelabConfig {
  return validateConfig(
    {
      sweep: {
        schemes: ['dense'],
        batch: { maxCases: 4 },
        measurement: { warmup: 0, minReps: 1, minTimeMs: 0, maxTimeMs: 5 },
      },
      devices: { host: { enabled: false } },
      scheduler: { disconnectGraceMs: graceMs },
      lab: FAST_LAB,
    },
    'test',
  );
}

async function sweep(
  devices: readonly Device[],
  graceMs: number,
  onEvent: (event: SchedulerEvent, events: readonly SchedulerEvent[]) => void,
): Promise<{ summary: SweepSummary; events: SchedulerEvent[] }> {
  const events: SchedulerEvent[] = [];
  const summary = await runSweep(
    {
      db: store.db,
      dbPath: 'return.db',
      devices,
      buildAgent: (abi) =>
        buildAgent(abi, { agentDir: join(import.meta.dirname, '..', 'device-agent'), env: process.env }),
      gitRevision: async () => null,
      hostName: 'test',
      emit: (event) => {
        events.push(event);
        onEvent(event, events);
      },
      stop: new AbortController().signal,
      hardStop: new AbortController().signal,
    },
    { kind: 'new', config: sweepConfig(graceMs) },
  );
  return { summary, events };
}

const notesOf = (events: readonly SchedulerEvent[], deviceId: string): string[] =>
  events.flatMap((e) => (e.type === 'device-note' && e.deviceId === deviceId ? [e.message] : []));

async function measurementsOf(runId: string) {
  return store.db
    .selectFrom('measurements')
    .innerJoin('tasks', 'tasks.id', 'measurements.task_id')
    .select(['tasks.device_id', 'tasks.case_key'])
    .where('tasks.run_id', '=', runId)
    .execute();
}

/** Every planned case measured on every device, none twice. */
async function assertEveryCaseOnce(summary: SweepSummary, deviceCount: number): Promise<void> {
  const rows = await measurementsOf(summary.runId);
  assert.equal(rows.length, summary.plannedCases * deviceCount, 'every case measured');
  assert.equal(new Set(rows.map((r) => `${r.device_id}/${r.case_key}`)).size, rows.length, 'none twice');
}

/** Kills the phone after its `afterCases`-th result, starts it again `downMs` later (with `change`). */
function restartAfter(
  target: VirtualPhone,
  afterCases: number,
  downMs: number,
  change: Parameters<Awaited<ReturnType<AdbLab['kill']>>>[0] = {},
) {
  let upAtMs: Promise<number> | undefined;
  const onEvent = (event: SchedulerEvent, all: readonly SchedulerEvent[]): void => {
    if (upAtMs !== undefined || event.type !== 'case-done' || event.deviceId !== target.serial) return;
    if (all.filter((e) => e.type === 'case-done' && e.deviceId === target.serial).length < afterCases) return;
    upAtMs = (async () => {
      const startAgain = await lab.kill(target);
      await sleep(downMs);
      await startAgain(change);
      return performance.now();
    })();
  };
  return { onEvent, upAtMs: () => upAtMs };
}

test('a phone restarted mid-sweep with an emptied work directory is back within seconds and finishes every case once', async () => {
  const target = phone(0);
  const devices = [
    lab.device(target, '/data/local/tmp/prunelab-return'),
    lab.device(phone(1), '/data/local/tmp/prunelab-return'),
  ];
  const restart = restartAfter(target, 3, 1_500);
  let resumedAtMs: number | undefined;
  const { summary, events } = await sweep(devices, 60_000, (event, all) => {
    restart.onEvent(event, all);
    if (event.type === 'batch-start' && event.deviceId === target.serial && restart.upAtMs() !== undefined)
      resumedAtMs ??= performance.now();
  });
  const upAt = restart.upAtMs();
  assert.ok(upAt !== undefined, 'the phone was restarted');
  const upAtMs = await upAt;
  assert.equal(summary.status, 'done', JSON.stringify(summary.devices));
  await assertEveryCaseOnce(summary, 2);
  const notes = notesOf(events, target.serial);
  assert.ok(
    notes.some((m) => /^lost \(/.test(m)),
    notes.join('\n'),
  );
  assert.ok(
    notes.some((m) => /^back after [\d.]+ s, prepared again in [\d.]+ s .*same build/.test(m)),
    notes.join('\n'),
  );
  assert.ok(resumedAtMs !== undefined);
  // Seconds, not the grace period (it used to wait ~280 s of a 300 s grace). The 5 s target is
  // measured by `npm run bench:adb`; here, with other test files and engineers sharing two cores, one run
  // took 6.3 s, so this bound is looser than the target.
  const secondsToResume = (resumedAtMs - upAtMs) / 1000;
  assert.ok(
    secondsToResume < 20,
    `its next batch started ${secondsToResume.toFixed(1)} s after it was up again:\n${notes.join('\n')}`,
  );
  const gaps = await deviceGaps(store.db, summary.runId);
  assert.equal(gaps.length, 1);
  assert.equal(gaps[0]?.device_id, target.serial);
  assert.ok(gaps[0]?.back_at !== null);
  assert.equal(gaps[0]?.fingerprint_after, gaps[0]?.fingerprint_before);
});

test('a phone that comes back with a different build fingerprint: the change is in the store and the note', async () => {
  const target = phone(0);
  const newBuild = 'prunelab/reboot/reboot:14/PLV2/2:user/release-keys';
  const restart = restartAfter(target, 2, 500, { properties: { 'ro.build.fingerprint': newBuild } });
  const { summary, events } = await sweep(
    [lab.device(target, '/data/local/tmp/prunelab-build')],
    60_000,
    (e, all) => restart.onEvent(e, all),
  );
  assert.equal(summary.status, 'done', JSON.stringify(summary.devices));
  await assertEveryCaseOnce(summary, 1);
  const [gap] = await deviceGaps(store.db, summary.runId);
  assert.equal(gap?.fingerprint_after, newBuild);
  assert.notEqual(gap?.fingerprint_before, newBuild);
  const notes = notesOf(events, target.serial);
  assert.ok(
    notes.some((m) => m.includes(`changed from ${gap?.fingerprint_before} to ${newBuild}`)),
    notes.join('\n'),
  );
  // Measurements after the gap carry the new build (their provenance), those before the old one.
  const builds = await store.db
    .selectFrom('measurements')
    .innerJoin('tasks', 'tasks.id', 'measurements.task_id')
    .select('measurements.build_fingerprint')
    .where('tasks.run_id', '=', summary.runId)
    .execute();
  assert.ok(builds.some((row) => row.build_fingerprint === newBuild));
  assert.ok(builds.some((row) => row.build_fingerprint === gap?.fingerprint_before));
  // The report reads the gap, with both builds, from the store.
  const run = await findRun(store.db, summary.runId);
  assert.ok(run !== undefined);
  const report = await readRunForReport(store.db, run);
  const reported = report.devices.find((d) => d.id === target.serial)?.gaps;
  assert.equal(reported?.length, 1);
  assert.equal(reported?.[0]?.fingerprintAfter, newBuild);
  assert.equal(reported?.[0]?.fingerprintBefore, gap?.fingerprint_before);
});

test('a phone that flaps three times finishes every case once, each gap recorded', async () => {
  const target = phone(1);
  let restarts = 0;
  let restarting: Promise<void> | undefined;
  const { summary, events } = await sweep(
    [lab.device(target, '/data/local/tmp/prunelab-flap')],
    60_000,
    (event, all) => {
      if (restarts >= 3 || restarting !== undefined || event.type !== 'case-done') return;
      if (all.filter((e) => e.type === 'case-done').length < 2 + restarts * 3) return;
      restarts += 1;
      restarting = (async () => {
        const startAgain = await lab.kill(phone(1));
        await sleep(300);
        await startAgain();
        restarting = undefined;
      })();
    },
  );
  assert.equal(restarts, 3);
  assert.equal(summary.status, 'done', JSON.stringify(summary.devices));
  await assertEveryCaseOnce(summary, 1);
  const gaps = await deviceGaps(store.db, summary.runId);
  assert.equal(gaps.length, 3, JSON.stringify(gaps));
  for (const gap of gaps) assert.ok(gap.back_at !== null);
  assert.equal(notesOf(events, target.serial).filter((m) => /^back after/.test(m)).length, 3);
});

test('a phone that never returns: its remaining cases are skipped with the reason after the grace', async () => {
  const target = phone(0);
  let killed: Promise<unknown> | undefined;
  const { summary } = await sweep([lab.device(target, '/data/local/tmp/prunelab-never')], 1_500, (event) => {
    if (killed === undefined && event.type === 'case-done') killed = lab.kill(target);
  });
  assert.ok(killed !== undefined);
  const startAgain = (await killed) as (change?: object) => Promise<VirtualPhone>;
  try {
    assert.equal(summary.status, 'failed');
    const [outcome] = summary.devices;
    assert.equal(outcome?.stoppedKind, 'gone');
    assert.match(
      outcome?.stoppedReason ?? '',
      /did not come back within scheduler\.disconnectGraceMs = 1500 ms/,
    );
    assert.ok(summary.counts.skipped > 0);
    const [gap] = await deviceGaps(store.db, summary.runId);
    assert.equal(gap?.back_at, null);
  } finally {
    await startAgain();
  }
});

test('a phone whose link drops while the agent is pushed at the start is waited for and prepared again', async () => {
  const target = phone(1);
  // The host agent is ~150 KB: the link resets partway through its push.
  target.faults.dropAfterBytes(60_000);
  const { summary, events } = await sweep(
    [lab.device(target, '/data/local/tmp/prunelab-early')],
    60_000,
    () => {},
  );
  assert.equal(summary.status, 'done', JSON.stringify(summary.devices));
  await assertEveryCaseOnce(summary, 1);
  const notes = notesOf(events, target.serial);
  assert.ok(
    notes.some((m) => /^lost while being prepared \(/.test(m)),
    notes.join('\n'),
  );
});
