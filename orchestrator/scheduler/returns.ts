/**
 * A device that was lost mid-run (a transient transport failure): wait for it to come back within the
 * grace, prepare it again (its queue's `prepareAgain`: identity re-read, agent checked and pushed again
 * when missing, lab hygiene redone), and record the gap in the store. A phone that is lost again while
 * being prepared (it flaps) is waited for again, within what is left of the same grace. Only a failure
 * that says retrying cannot help (a full disk, a refused push) ends the wait early: quarantined.
 */
import { recordDeviceGap, skipPendingTasks } from '../store/lab.ts';
import { TransportError } from '../transport/errors.ts';
import type { Device } from '../transport/port.ts';
import type { DeviceQueue, SchedulerOptions } from './queue.ts';

/** A device that can tell when it is back after a disconnect (the adb and Appium transports' can). */
export interface ReturningDevice extends Device {
  waitUntilReachable(timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
}

export function canReturn(device: Device): device is ReturningDevice {
  return typeof (device as Partial<ReturningDevice>).waitUntilReachable === 'function';
}

export type ReturnOutcome =
  | { readonly kind: 'back'; readonly queue: DeviceQueue }
  | { readonly kind: 'stopped' }
  | { readonly kind: 'gone'; readonly reason: string }
  | { readonly kind: 'quarantined'; readonly reason: string };

/** One wait-and-prepare round: back, not back in time, or lost again while being prepared. */
type Round =
  | { readonly kind: 'back'; readonly queue: DeviceQueue; readonly prepareMs: number }
  | { readonly kind: 'not-back' }
  | { readonly kind: 'lost-again'; readonly why: string }
  | { readonly kind: 'refused'; readonly error: TransportError };

async function waitAndPrepare(
  device: ReturningDevice,
  queue: DeviceQueue,
  remainingMs: number,
  signal: AbortSignal,
): Promise<Round> {
  if (!(await device.waitUntilReachable(remainingMs, signal))) return { kind: 'not-back' };
  if (queue.prepareAgain === undefined) return { kind: 'back', queue, prepareMs: 0 };
  const startedMs = performance.now();
  try {
    const prepared = await queue.prepareAgain();
    return { kind: 'back', queue: prepared, prepareMs: performance.now() - startedMs };
  } catch (error) {
    if (!(error instanceof TransportError)) throw error;
    return error.transient ? { kind: 'lost-again', why: error.message } : { kind: 'refused', error };
  }
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** The note for a device back and prepared again: how long it was away, and whether its build changed. */
function backNote(awayMs: number, prepareMs: number, flaps: number, before: string, after: string): string {
  const flapped =
    flaps === 0 ? '' : ` (lost ${flaps} more time${flaps === 1 ? '' : 's'} while being prepared)`;
  const build =
    before === after
      ? 'same build'
      : `its build fingerprint changed from ${before} to ${after}: measurements before and after the gap are not one population`;
  return `back after ${seconds(awayMs)}, prepared again in ${seconds(prepareMs)}${flapped} (identity read, agent checked and pushed when missing, lab hygiene redone; ${build}); resuming its queue`;
}

export async function awaitReturn(
  device: ReturningDevice,
  queue: DeviceQueue,
  why: string,
  options: SchedulerOptions,
  graceMs: number,
): Promise<ReturnOutcome> {
  const { db, runId, emit } = options;
  const now = options.now ?? (() => new Date());
  const deviceId = device.identity.id;
  const anyStop = AbortSignal.any([options.stop, options.hardStop]);
  const lostAt = now();
  const lostMs = performance.now();
  const deadlineMs = lostMs + graceMs;
  const fingerprintBefore = queue.provenance.buildFingerprint;
  const gap = { lostAt, reason: why, flaps: 0, fingerprintBefore };
  emit({
    type: 'device-note',
    deviceId,
    message: `lost (${why}); its unfinished cases are back in its queue; waiting up to ${(graceMs / 1000).toFixed(0)} s for it to return`,
  });
  for (;;) {
    const round = await waitAndPrepare(device, queue, Math.max(0, deadlineMs - performance.now()), anyStop);
    if (round.kind === 'back') {
      const fingerprintAfter = round.queue.provenance.buildFingerprint;
      await recordDeviceGap(db, runId, deviceId, { ...gap, backAt: now(), fingerprintAfter });
      const awayMs = performance.now() - lostMs - round.prepareMs;
      const message = backNote(awayMs, round.prepareMs, gap.flaps, fingerprintBefore, fingerprintAfter);
      emit({ type: 'device-note', deviceId, message });
      return { kind: 'back', queue: round.queue };
    }
    if (anyStop.aborted) return { kind: 'stopped' };
    if (round.kind === 'refused') {
      await recordDeviceGap(db, runId, deviceId, { ...gap, backAt: now(), fingerprintAfter: null });
      return {
        kind: 'quarantined',
        reason: `quarantined: ${deviceId} came back but could not be prepared again: ${round.error.message}`,
      };
    }
    if (round.kind === 'lost-again' && performance.now() < deadlineMs) {
      gap.flaps += 1;
      emit({
        type: 'device-note',
        deviceId,
        message: `lost again while being prepared (${round.why}); still waiting`,
      });
      continue;
    }
    await recordDeviceGap(db, runId, deviceId, { ...gap, backAt: null, fingerprintAfter: null });
    const reason = `device ${deviceId} disconnected (${why}) and did not come back within scheduler.disconnectGraceMs = ${graceMs} ms`;
    const skipped = await skipPendingTasks(db, runId, deviceId, `skipped: ${reason}`, now());
    return { kind: 'gone', reason: `gone: ${reason}; ${skipped} cases skipped` };
  }
}
