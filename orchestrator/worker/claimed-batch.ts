/**
 * One claimed batch on one device, run with the sweep's own parts: the device prepared as a sweep prepares it
 * (agent build and push, lab hygiene: sweep/run-sweep.ts prepareDevice), the batch's cases run by the
 * scheduler under the device's lease, every commit also fenced by the batch's token. While it runs the batch's
 * lease is renewed; a renewal that finds it taken over (this worker was stopped past its lease) kills the
 * agent at once. Afterwards the batch is finished (every case settled), or given back to the queue (a stop,
 * a device lost or held elsewhere) with the device's leftovers skipped.
 */
import type { PrunelabConfig } from '../../config/schema.ts';
import { messageOf } from '../errors.ts';
import type { DeviceLab } from '../lab/device-lab.ts';
import { type DeviceOutcome, type DeviceQueue, runQueues } from '../scheduler/scheduler.ts';
import { retryOnConnectionLoss } from '../store/retry.ts';
import { findRun, setRunStatus } from '../store/runs.ts';
import { insertTasks } from '../store/tasks.ts';
import {
  type ClaimedBatch,
  finishBatch,
  readyBatchTasks,
  releaseBatch,
  renewBatch,
  runQueueDone,
  settledCaseKeys,
  skipBatchLeftovers,
} from '../store/work-queue.ts';
import { prepareDevice, schedulerOptionsOf } from '../sweep/run-sweep.ts';
import { TransportError } from '../transport/errors.ts';
import type { Device, DeviceInfo } from '../transport/port.ts';
import type { WorkerDeps } from './deps.ts';

/** What the device's loop does next: claim again, stop this device (gone, quarantined), or wait a poll. */
export type BatchEnd = 'next' | 'device-stopped' | 'wait';

/** A device prepared for a run (agent pushed, lab set up), kept across that run's batches. */
export interface PreparedRuns {
  readonly queues: Map<string, DeviceQueue>;
  /** Every lab set up, so the worker restores what they changed (a locked governor) when it exits. */
  readonly labs: DeviceLab[];
}

const configs = new Map<string, PrunelabConfig>();

async function runConfig(deps: WorkerDeps, runId: string): Promise<PrunelabConfig> {
  const known = configs.get(runId);
  if (known !== undefined) return known;
  const run = await findRun(deps.db, runId);
  if (run === undefined) throw new Error(`queue_batches names run ${runId}, which the store does not have`);
  const config = JSON.parse(run.config_json) as PrunelabConfig;
  configs.set(runId, config);
  return config;
}

/** Renews the batch's lease every third of it; `lost` aborts when a renewal finds the batch taken over. */
function holdBatch(deps: WorkerDeps, claimed: ClaimedBatch, deviceId: string) {
  const now = deps.now ?? (() => new Date());
  const lost = new AbortController();
  const timer = setInterval(
    () => {
      renewBatch(deps.db, claimed.fence, deps.leaseMs, now())
        .then((held) => {
          if (held || lost.signal.aborted) return;
          deps.emit({
            type: 'device-note',
            deviceId,
            message: `batch ${claimed.batchIndex} of run ${claimed.runId} was taken over by another worker (this one missed its lease): stopping it here; its late results are refused`,
          });
          lost.abort();
        })
        // The store is away for now: the next beat tries again; if the lease runs out meanwhile and another
        // worker takes the batch, this one's commits are refused by the token.
        .catch(() => undefined);
    },
    Math.max(50, Math.floor(deps.leaseMs / 3)),
  );
  timer.unref();
  return { lost: lost.signal, release: () => clearInterval(timer) };
}

async function preparedQueue(
  deps: WorkerDeps,
  device: Device,
  info: DeviceInfo,
  runId: string,
  config: PrunelabConfig,
  prepared: PreparedRuns,
): Promise<DeviceQueue> {
  const known = prepared.queues.get(runId);
  if (known !== undefined) return known;
  const { queue } = await prepareDevice(deps, device, info, runId, config.lab, (lab) =>
    prepared.labs.push(lab),
  );
  prepared.queues.set(runId, queue);
  return queue;
}

/** Runs the batch's unsettled cases on the device; the scheduler's outcome, or why it could not start. */
async function runCases(
  deps: WorkerDeps,
  device: Device,
  info: DeviceInfo,
  claimed: ClaimedBatch,
  prepared: PreparedRuns,
  lost: AbortSignal,
): Promise<DeviceOutcome | { readonly unprepared: string }> {
  const { runId } = claimed;
  const config = await runConfig(deps, runId);
  let queue: DeviceQueue;
  try {
    queue = await preparedQueue(deps, device, info, runId, config, prepared);
  } catch (error) {
    if (!(error instanceof TransportError)) throw error;
    return { unprepared: error.message };
  }
  const { disturbance: _remeasures, ...options } = schedulerOptionsOf(
    { ...deps, lease: { leaseMs: deps.leaseMs, hostName: deps.hostName, pid: deps.pid } },
    config,
    runId,
  );
  // No re-measures of disturbed cases: a batch is a worker's unit of work, and a re-measure would run cases
  // of batches this worker no longer holds. The probes are stored with every measurement all the same.
  const [outcome] = await runQueues([queue], {
    ...options,
    batchFence: claimed.fence,
    hardStop: AbortSignal.any([deps.hardStop, lost]),
  });
  if (outcome === undefined) throw new Error('runQueues returned no outcome for one queue');
  return outcome;
}

/** The batch's end in the store: finished, or given back (its leftovers on this device skipped). */
async function settleBatch(
  deps: WorkerDeps,
  claimed: ClaimedBatch,
  deviceId: string,
  caseKeys: readonly string[],
  why: string,
): Promise<boolean> {
  const now = deps.now ?? (() => new Date());
  const settled = await settledCaseKeys(deps.db, claimed.runId, caseKeys);
  if (settled.size === caseKeys.length) {
    if ((await finishBatch(deps.db, claimed.fence, now())) && (await runQueueDone(deps.db, claimed.runId)))
      await setRunStatus(deps.db, claimed.runId, 'done', now());
    return true;
  }
  await skipBatchLeftovers(deps.db, claimed.runId, deviceId, caseKeys, why, now());
  await releaseBatch(deps.db, claimed.fence);
  return false;
}

export async function runClaimedBatch(
  deps: WorkerDeps,
  device: Device,
  info: DeviceInfo,
  claimed: ClaimedBatch,
  prepared: PreparedRuns,
): Promise<BatchEnd> {
  const now = deps.now ?? (() => new Date());
  const deviceId = device.identity.id;
  const keys = claimed.tasks.map((task) => task.caseKey);
  const settled = await settledCaseKeys(deps.db, claimed.runId, keys);
  const toRun = claimed.tasks.filter((task) => !settled.has(task.caseKey));
  const toRunKeys = toRun.map((task) => task.caseKey);
  deps.emit({
    type: 'device-note',
    deviceId,
    message: `claimed batch ${claimed.batchIndex} of run ${claimed.runId} (${claimed.target}, ${toRun.length} of ${keys.length} cases to run${claimed.claims > 1 ? `, claim ${claimed.claims}: taken over or given back before` : ''})`,
  });
  await insertTasks(deps.db, claimed.runId, deviceId, toRun, now());
  await readyBatchTasks(deps.db, claimed.runId, deviceId, toRunKeys, now());
  const held = holdBatch(deps, claimed, deviceId);
  let outcome: Awaited<ReturnType<typeof runCases>>;
  try {
    outcome = await runCases(deps, device, info, claimed, prepared, held.lost);
  } finally {
    held.release();
  }
  if (held.lost.aborted) {
    // Another worker runs the batch now; what is left here must not run under a later claim.
    await skipBatchLeftovers(deps.db, claimed.runId, deviceId, toRunKeys, 'batch taken over', now());
    prepared.queues.delete(claimed.runId);
    return 'next';
  }
  const why =
    'unprepared' in outcome
      ? `could not prepare ${deviceId}: ${outcome.unprepared}`
      : (outcome.stoppedReason ?? 'the worker was stopped');
  // The results are stored; the batch's end is kept too when the store is away for a while (store/retry.ts).
  const done = await retryOnConnectionLoss(
    () => settleBatch(deps, claimed, deviceId, toRunKeys, `batch given back: ${why}`),
    (error, waitMs) =>
      deps.note(
        `[${deviceId}] the store is away (${messageOf(error)}); settling batch ${claimed.batchIndex} again in ${waitMs} ms\n`,
      ),
  );
  if (!done)
    deps.emit({
      type: 'device-note',
      deviceId,
      message: `batch ${claimed.batchIndex} given back to the queue: ${why}`,
    });
  if ('unprepared' in outcome) return 'device-stopped';
  if (outcome.stoppedKind === 'held') return 'wait';
  if (outcome.stoppedKind !== undefined) {
    prepared.queues.delete(claimed.runId);
    return 'device-stopped';
  }
  return 'next';
}
