/**
 * The benches' common measure of transport overhead: an idle sweep (the agent only sleeps per case, one
 * repetition) through the real scheduler and lab hygiene, timed against the agent's own time for its cases.
 */
import { DEFAULT_LAB } from '../../config/defaults.ts';
import type { LabConfig } from '../../config/schema.ts';
import { prepareIdleRun } from '../../test/adb-lab.ts';
import type { EventSink } from '../scheduler/events.ts';
import { runQueues } from '../scheduler/scheduler.ts';
import type { OpenedStore } from '../store/open.ts';
import type { Device } from '../transport/port.ts';

// The thermal gate reads the phone but never waits here: the virtual phone rests at 25 °C.
export const BENCH_LAB: LabConfig = {
  ...DEFAULT_LAB,
  thermal: { ...DEFAULT_LAB.thermal, thresholdC: 60, batchLimitC: 90 },
};

let runCounter = 0;

/** One idle sweep on the devices at once; returns its wall time and the agent's own time per device. */
export async function idleSweep(
  store: OpenedStore,
  devices: readonly Device[],
  cases: number,
  durationUs: number,
  batchCases: number,
  /** Scheduler events (the restart bench watches them); a lost phone is waited for `disconnectGraceMs`. */
  watch: { readonly emit?: EventSink; readonly disconnectGraceMs?: number } = {},
) {
  runCounter += 1;
  const runId = `bench-${runCounter}`;
  const queues = await prepareIdleRun(store.db, devices, { runId, cases, durationUs, batchCases }, BENCH_LAB);
  const started = performance.now();
  const outcomes = await runQueues(queues, {
    db: store.db,
    runId,
    retries: 0,
    maxConsecutiveFailures: 1,
    caseTimeoutMs: 60_000,
    stop: new AbortController().signal,
    hardStop: new AbortController().signal,
    emit: watch.emit ?? (() => {}),
    ...(watch.disconnectGraceMs === undefined ? {} : { disconnectGraceMs: watch.disconnectGraceMs }),
  });
  const wallMs = performance.now() - started;
  for (const outcome of outcomes) {
    if (outcome.stoppedReason !== undefined || outcome.counts.done !== cases)
      throw new Error(
        `bench sweep incomplete on ${outcome.deviceId}: ${outcome.stoppedReason ?? JSON.stringify(outcome.counts)}`,
      );
  }
  // The agent's own time per case: its sampling span (the idle sleep plus its timer overhead).
  const rows = await store.db
    .selectFrom('measurements')
    .innerJoin('tasks', 'tasks.id', 'measurements.task_id')
    .select(['measurements.sampling_ns', 'measurements.samples_ns_json'])
    .where('tasks.run_id', '=', runId)
    .execute();
  const agentMs =
    rows.reduce((sum, row) => sum + (row.sampling_ns ?? Number(JSON.parse(row.samples_ns_json)[0] ?? 0)), 0) /
    1e6;
  return { wallMs, agentMs, measurements: rows.length };
}
