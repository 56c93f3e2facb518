/**
 * The restart part of `npm run bench:adb` (issue #22): a virtual phone killed mid-sweep (links dropped,
 * /data/local/tmp emptied, as a reboot does) and started again on the same port after `DOWN_MS`.
 *
 * 1. Resume latency: from the moment the adb server lists the phone as `device` again (polled every
 *    `LIST_POLL_MS` by the bench, on its own client) to the phone's next agent call (`batch-start`), which
 *    comes after it was prepared again (identity, agent pushed again, lab hygiene). Median over 5 restarts.
 * 2. Cost of one restart: wall time of a 2-phone idle sweep with one restart on one phone, against the same
 *    sweep undisturbed; the phone's time away (`DOWN_MS`) is part of it and also given apart.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AdbLab } from '../../test/adb-lab.ts';
import type { SchedulerEvent } from '../scheduler/events.ts';
import { medianOf } from '../stats/index.ts';
import type { OpenedStore } from '../store/open.ts';
import { createAdbServerClient } from '../transport/adb/adbkit-client.ts';
import { idleSweep } from './idle-sweep.ts';

const DOWN_MS = 1_000;
const LIST_POLL_MS = 20;
const GRACE_MS = 60_000;
const CASES = 30;
const CASE_US = 20_000;
const BATCH_CASES = 5;

/** Resolves when the lab's adb server lists `serial` as `device`; the time it saw it first. */
async function listedAgain(lab: AdbLab, serial: string, signal: AbortSignal): Promise<number | undefined> {
  const client = createAdbServerClient({ host: '127.0.0.1', port: lab.port });
  while (!signal.aborted) {
    const entries = await client.listDevices().catch(() => []);
    if (entries.some((entry) => entry.serial === serial && entry.state === 'device'))
      return performance.now();
    await sleep(LIST_POLL_MS);
  }
  return undefined;
}

/** One idle sweep with one restart of `target` after its `afterCases`-th result. */
async function sweepWithRestart(
  lab: AdbLab,
  store: OpenedStore,
  phoneCount: number,
  target: number,
  afterCases: number,
) {
  // Read now: a phone killed and started again is a new VirtualPhone in the lab's list.
  const phones = lab.phones.slice(0, phoneCount);
  const victim = phones[target];
  if (victim === undefined) throw new Error(`bench: no phone ${target}`);
  let restart: Promise<number | undefined> | undefined;
  let resumedMs: number | undefined;
  const watching = new AbortController();
  const emit = (event: SchedulerEvent): void => {
    if (event.deviceId !== victim.serial) return;
    if (event.type === 'batch-start' && restart !== undefined) resumedMs ??= performance.now();
    if (event.type !== 'case-done' || restart !== undefined || --afterCases > 0) return;
    restart = (async () => {
      const startAgain = await lab.kill(victim);
      await sleep(DOWN_MS);
      const listed = listedAgain(lab, victim.serial, watching.signal);
      await startAgain();
      return listed;
    })();
  };
  const devices = phones.map((phone) => lab.device(phone));
  try {
    const run = await idleSweep(store, devices, CASES, CASE_US, BATCH_CASES, {
      emit,
      disconnectGraceMs: GRACE_MS,
    });
    const listedMs = await restart;
    if (listedMs === undefined || resumedMs === undefined)
      throw new Error('bench: the restart did not happen');
    return { wallMs: run.wallMs, resumeMs: resumedMs - listedMs };
  } finally {
    watching.abort();
  }
}

export async function restartBench(lab: AdbLab, store: OpenedStore, quick: boolean) {
  const restarts = quick ? 3 : 5;
  const resumeMs: number[] = [];
  for (let i = 0; i < restarts; i++) resumeMs.push((await sweepWithRestart(lab, store, 1, 0, 7)).resumeMs);
  const undisturbed: number[] = [];
  const disturbed: number[] = [];
  for (let repeat = 0; repeat < (quick ? 1 : 3); repeat++) {
    undisturbed.push(
      (
        await idleSweep(
          store,
          lab.phones.slice(0, 2).map((phone) => lab.device(phone)),
          CASES,
          CASE_US,
          BATCH_CASES,
        )
      ).wallMs,
    );
    disturbed.push((await sweepWithRestart(lab, store, 2, 0, 7)).wallMs);
  }
  const costMs = medianOf(disturbed) - medianOf(undisturbed);
  return {
    downMs: DOWN_MS,
    restarts,
    resumeMsMedian: medianOf(resumeMs),
    resumeMs,
    twoPhones: {
      casesPerPhone: CASES,
      undisturbedWallMs: medianOf(undisturbed),
      oneRestartWallMs: medianOf(disturbed),
      restartCostMs: costMs,
      restartCostBeyondDownMs: costMs - DOWN_MS,
    },
  };
}
