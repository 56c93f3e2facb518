/**
 * One device of a worker: while the device is here and no stop was asked, claim the oldest batch whose target
 * it matches and run it (claimed-batch.ts); when there is none, wait a poll and ask again. A store that is
 * away (a server restarting) is waited out the same way. The loop ends when the device leaves the host's
 * list, is stopped (gone past the scheduler's grace, quarantined), or the worker stops.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../errors.ts';
import { isConnectionLoss } from '../store/retry.ts';
import { claimBatch } from '../store/work-queue.ts';
import type { WorkerDevice } from '../store/workers.ts';
import type { Device, DeviceInfo } from '../transport/port.ts';
import { type PreparedRuns, runClaimedBatch } from './claimed-batch.ts';
import type { WorkerDeps } from './deps.ts';
import { targetsOf } from './target.ts';

export interface DeviceLoopState {
  readonly workerId: string;
  /** False once the device left the host's list (the worker's discovery sets it). */
  present(): boolean;
  /** The device found nothing to claim: the worker says once what is waiting, and for whom. */
  idle(deviceId: string): void;
  busy(deviceId: string): void;
}

export function workerDevice(info: DeviceInfo): WorkerDevice {
  return {
    id: info.identity.id,
    model: info.model,
    abi: info.identity.abi,
    fingerprint: info.buildFingerprint,
  };
}

export async function deviceLoop(
  deps: WorkerDeps,
  state: DeviceLoopState,
  device: Device,
  info: DeviceInfo,
  prepared: PreparedRuns,
): Promise<void> {
  const now = deps.now ?? (() => new Date());
  const deviceId = device.identity.id;
  const targets = targetsOf(workerDevice(info));
  const anyStop = AbortSignal.any([deps.stop, deps.hardStop]);
  const pause = () => sleep(deps.pollMs, undefined, { signal: anyStop }).catch(() => undefined);
  while (!anyStop.aborted && state.present()) {
    let claimed: Awaited<ReturnType<typeof claimBatch>>;
    try {
      claimed = await claimBatch(deps.db, deps.dialect, {
        targets,
        workerId: state.workerId,
        deviceId,
        host: deps.hostName,
        leaseMs: deps.leaseMs,
        now: now(),
      });
    } catch (error) {
      if (!isConnectionLoss(error)) throw error;
      deps.note(`[${deviceId}] the store is away (${messageOf(error)}); asking again in ${deps.pollMs} ms\n`);
      await pause();
      continue;
    }
    if (claimed === undefined) {
      state.idle(deviceId);
      await pause();
      continue;
    }
    state.busy(deviceId);
    const end = await runClaimedBatch(deps, device, info, claimed, prepared);
    if (end === 'device-stopped') return;
    if (end === 'wait') await pause();
  }
}
