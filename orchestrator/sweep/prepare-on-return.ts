/**
 * A phone lost while it is being prepared at the start of a sweep (pushing the agent, reading its lab
 * state) is waited for like one lost mid-sweep: up to `scheduler.disconnectGraceMs`, then prepared from
 * the start. Only a failure that says retrying cannot help, or no return within the grace, stops it.
 */
import { canReturn } from '../scheduler/returns.ts';
import { TransportError } from '../transport/errors.ts';
import type { Device, DeviceInfo } from '../transport/port.ts';

export interface ReturnWait {
  readonly graceMs: number;
  readonly signal: AbortSignal;
  readonly note: (message: string) => void;
}

export async function prepareAllowingReturns<T>(
  device: Device,
  info: DeviceInfo,
  prepare: (info: DeviceInfo) => Promise<T>,
  wait: ReturnWait,
): Promise<T> {
  const deadlineMs = performance.now() + wait.graceMs;
  let current = info;
  for (;;) {
    try {
      return await prepare(current);
    } catch (error) {
      const transient = error instanceof TransportError && error.transient;
      if (!transient || !canReturn(device) || wait.graceMs <= 0) throw error;
      const remainingMs = deadlineMs - performance.now();
      wait.note(
        `lost while being prepared (${error.message}); waiting up to ${(Math.max(0, remainingMs) / 1000).toFixed(0)} s for it to return`,
      );
      if (remainingMs <= 0 || !(await device.waitUntilReachable(remainingMs, wait.signal))) throw error;
      // It may be another build now: its identity is read again before it is prepared again.
      current = await device.info();
    }
  }
}
