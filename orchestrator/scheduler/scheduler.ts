/**
 * One queue per device, all devices at once. A device works through its pending tasks batch by batch (one
 * agent call each, in plan order) until none is left, a stop is requested, or it is stopped:
 *
 * - quarantined: `maxConsecutiveFailures` cases in a row failed for good (after their retries), or the
 *   agent cannot be started there. Cases the agent rejects with an error result are properties of the
 *   case, not of the device, so they do not count. Its remaining cases stay pending for `sweep --resume`;
 * - gone: the device disconnected (a transient transport failure) and did not come back within
 *   `disconnectGraceMs`. Cases finished before the drop stay; the rest were put back in its queue by the
 *   batch, and are now marked skipped with the reason. When it comes back in time it is prepared again
 *   (the queue's `prepareAgain`) and work resumes with the new queue (returns.ts).
 *
 * With lab hygiene (queue.hygiene), each batch waits for the device to cool first, runs pinned to the big
 * cluster, and is checked afterwards: a batch whose frequency dropped or that ran too hot is flagged
 * (batch_runs.flag) and, once, measured again.
 *
 * With `disturbance`, on every device (the host too): once a device's queue is empty, the cases whose probe
 * says they shared the core with other work are measured again, up to a limit (disturbance.ts).
 *
 * Each queue first claims its device (device-lease.ts): a device another process is running cases on (a
 * second `sweep --resume`, a nightly) is left alone with `held` and the holder named; only after the claim
 * are the tasks a dead process left `running` put back to pending, and every commit carries the lease's
 * fencing token.
 */
import { finishBatchRun, requeueTasks, startBatchRun } from '../store/lab.ts';
import type { LeaseFence } from '../store/leases.ts';
import { pendingTasks, releaseRunningTasks, type StatusCounts, taskCounts } from '../store/tasks.ts';
import { TransportError } from '../transport/errors.ts';
import { type BatchContext, type BatchReport, runBatch } from './batch.ts';
import { defaultLeasePolicy, heldMessage, holdDevice } from './device-lease.ts';
import { disturbedCases, requeueDisturbed, waitForCalm } from './disturbance.ts';
import type { BatchStartReport } from './hygiene.ts';
import type { DeviceQueue, SchedulerOptions } from './queue.ts';
import { awaitReturn, canReturn } from './returns.ts';

export type { DeviceQueue, SchedulerOptions } from './queue.ts';

export interface DeviceOutcome {
  readonly deviceId: string;
  readonly counts: StatusCounts;
  /** Why the device stopped early, when it did (not set for a requested stop). */
  readonly stoppedReason?: string;
  /**
   * `quarantined` (too many failures, or the agent cannot run), `gone` (disconnected past the grace) or
   * `held` (another process runs cases on it: nothing ran here).
   */
  readonly stoppedKind?: 'quarantined' | 'gone' | 'held';
  readonly interrupted: boolean;
}

export async function runQueues(
  queues: readonly DeviceQueue[],
  options: SchedulerOptions,
): Promise<DeviceOutcome[]> {
  return Promise.all(queues.map((queue) => runHeldQueue(queue, options)));
}

/** Claims the device, runs its queue under the lease, gives it back; or says who holds it. */
async function runHeldQueue(queue: DeviceQueue, options: SchedulerOptions): Promise<DeviceOutcome> {
  const { db, runId, emit } = options;
  const deviceId = queue.device.identity.id;
  const held = await holdDevice(
    db,
    deviceId,
    runId,
    options.lease ?? defaultLeasePolicy(),
    options.now ?? (() => new Date()),
    (message) => emit({ type: 'device-note', deviceId, message }),
  );
  if ('heldBy' in held) {
    const reason = heldMessage(deviceId, held.heldBy);
    emit({ type: 'device-stopped', deviceId, reason });
    const counts = await taskCounts(db, runId, deviceId);
    return { deviceId, counts, interrupted: false, stoppedReason: reason, stoppedKind: 'held' };
  }
  try {
    return await runDeviceQueue(
      queue,
      { ...options, hardStop: AbortSignal.any([options.hardStop, held.lost]) },
      held.fence,
    );
  } finally {
    await held.release();
  }
}

type Lost = { readonly lost: TransportError | string };

/** One device's queue being worked through: what its batches and re-measures need. */
interface QueueRun {
  readonly queue: DeviceQueue;
  readonly options: SchedulerOptions;
  readonly batchContext: BatchContext;
  /** Either stop. */
  readonly anyStop: AbortSignal;
  readonly deviceId: string;
  /** Batches flagged and re-run once already (a second flag keeps them). */
  readonly requeuedBatches: Set<number>;
}

/** One batch with its hygiene; a disconnect anywhere in it comes back as `lost`. */
async function attempt(
  run: QueueRun,
  batch: Awaited<ReturnType<typeof pendingTasks>>,
): Promise<BatchReport | Lost> {
  const { queue, options, batchContext, anyStop, deviceId } = run;
  const { db, runId, emit } = options;
  const now = options.now ?? (() => new Date());
  const hygiene = queue.hygiene;
  const batchIndex = batch[0]?.batch_index ?? 0;
  let start: BatchStartReport | undefined;
  let batchRunId: number | undefined;
  try {
    if (hygiene !== undefined) {
      start = await hygiene.beforeBatch(anyStop);
      if (start.thermalWaitMs >= 1_000 || start.gate === 'max-wait') {
        emit({
          type: 'device-note',
          deviceId,
          message: `waited ${(start.thermalWaitMs / 1000).toFixed(1)} s to cool (${start.gate}, now ${start.temperatureC?.toFixed(1) ?? '?'} °C) before batch ${batchIndex}`,
        });
      }
      batchRunId = await startBatchRun(
        db,
        runId,
        deviceId,
        { batchIndex, cases: batch.length, ...start },
        now(),
      );
    }
    const report = await runBatch(batchContext, batch);
    if (report.callFailure?.reason === 'transport') return { lost: report.callFailure.message };
    if (hygiene !== undefined && start !== undefined && batchRunId !== undefined) {
      const end = await hygiene.afterBatch(start);
      const requeue =
        end.flag !== undefined && options.requeueFlagged !== false && !run.requeuedBatches.has(batchIndex);
      if (end.flag !== undefined) {
        emit({
          type: 'device-note',
          deviceId,
          message: `batch ${batchIndex} flagged: ${end.flag}${requeue ? '; measuring it again' : ' (already re-run once: kept)'}`,
        });
      }
      if (requeue) {
        run.requeuedBatches.add(batchIndex);
        await requeueTasks(
          db,
          batch.map((task) => task.id),
          `re-queued: batch flagged (${end.flag})`,
          now(),
        );
      }
      await finishBatchRun(
        db,
        batchRunId,
        {
          temperatureC: end.temperatureC,
          telemetry: end.telemetry,
          flag: end.flag ?? null,
          requeued: requeue,
        },
        now(),
      );
    }
    return report;
  } catch (error) {
    if (error instanceof TransportError && error.transient) return { lost: error };
    throw error;
  }
}

/** Puts the disturbed cases back in the queue (after a wait for calm); false when there are none. */
async function requeueDisturbedCases(run: QueueRun): Promise<boolean> {
  const { queue, options, anyStop, deviceId } = run;
  const { db, runId, emit } = options;
  const now = options.now ?? (() => new Date());
  const hygiene = queue.hygiene;
  const policy = options.disturbance;
  if (policy === undefined) return false;
  const { fastestNs, cases } = await disturbedCases(db, runId, deviceId, queue.provenance.agentHash, policy);
  if (cases.length === 0 || fastestNs === undefined) return false;
  const calm = await waitForCalm(queue.device, queue.agentPath, fastestNs, policy, {
    ...(hygiene?.cpus === undefined ? {} : { cpus: hygiene.cpus }),
    signal: anyStop,
    timeoutMs: options.caseTimeoutMs,
  });
  // A stop during the wait: back to the loop, which sees it and ends the device's work resumable.
  if (anyStop.aborted) return true;
  emit({
    type: 'remeasure-start',
    deviceId,
    cases: cases.length,
    worstRatio: cases[0]?.ratio ?? 1,
    tolerance: policy.tolerance,
    calmWaitMs: calm.waitedMs,
    calm: calm.calm,
  });
  await requeueDisturbed(db, runId, deviceId, cases, now());
  return true;
}

function batchContext(queue: DeviceQueue, options: SchedulerOptions, fence: LeaseFence): BatchContext {
  return {
    db: options.db,
    device: queue.device,
    agentPath: queue.agentPath,
    provenance: queue.provenance,
    caseTimeoutMs: options.caseTimeoutMs,
    retries: options.retries,
    stop: options.stop,
    hardStop: options.hardStop,
    emit: options.emit,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(queue.hygiene?.cpus === undefined ? {} : { cpus: queue.hygiene.cpus }),
    fence: options.batchFence === undefined ? fence : { ...fence, batch: options.batchFence },
  };
}

async function runDeviceQueue(
  queue: DeviceQueue,
  options: SchedulerOptions,
  fence: LeaseFence,
): Promise<DeviceOutcome> {
  const { db, runId, emit } = options;
  const deviceId = queue.device.identity.id;
  await releaseRunningTasks(db, runId, deviceId);
  emit({ type: 'device-start', deviceId, counts: await taskCounts(db, runId, deviceId) });

  const anyStop = AbortSignal.any([options.stop, options.hardStop]);
  let consecutiveFailures = 0;
  // Calls that failed before settling any case (the device refused to run the agent at all).
  let callsWithoutProgress = 0;
  let stoppedReason: string | undefined;
  let stoppedKind: DeviceOutcome['stoppedKind'];
  let interrupted = false;
  // A device prepared again after a disconnect goes on with a new queue (agent path, provenance, hygiene).
  let run: QueueRun = {
    queue,
    options,
    batchContext: batchContext(queue, options, fence),
    anyStop,
    deviceId,
    requeuedBatches: new Set(),
  };

  while (stoppedReason === undefined) {
    if (options.stop.aborted || options.hardStop.aborted) {
      interrupted = true;
      break;
    }
    const pending = await pendingTasks(db, runId, deviceId);
    const first = pending[0];
    if (first === undefined) {
      // Everything measured once: the disturbed cases go round again, once the disturbance has passed.
      if (await requeueDisturbedCases(run)) continue;
      break;
    }
    const batch = pending.filter((task) => task.batch_index === first.batch_index);
    let report: BatchReport | Lost;
    try {
      report = await attempt(run, batch);
    } catch (error) {
      if (!(error instanceof TransportError)) throw error;
      stoppedReason = `quarantined: the agent cannot run on ${deviceId}: ${error.message}`;
      stoppedKind = 'quarantined';
      break;
    }

    if ('lost' in report) {
      const why = typeof report.lost === 'string' ? report.lost : report.lost.message;
      const device = run.queue.device;
      if (canReturn(device) && (options.disconnectGraceMs ?? 0) > 0) {
        const back = await awaitReturn(device, run.queue, why, options, options.disconnectGraceMs ?? 0);
        if (back.kind === 'back') {
          run = { ...run, queue: back.queue, batchContext: batchContext(back.queue, options, fence) };
          consecutiveFailures = 0;
          callsWithoutProgress = 0;
          continue;
        }
        if (back.kind === 'stopped') {
          interrupted = true;
          break;
        }
        stoppedReason = back.reason;
        stoppedKind = back.kind;
        break;
      }
      // No way to wait for it: count the call like any other that made no progress.
      callsWithoutProgress += 1;
      if (callsWithoutProgress > options.retries) {
        stoppedReason = `quarantined: ${callsWithoutProgress} agent calls in a row on ${deviceId} failed before running any case; last: ${why}`;
        stoppedKind = 'quarantined';
      }
      continue;
    }

    for (const outcome of report.outcomes) {
      if (outcome === 'ok') consecutiveFailures = 0;
      if (outcome === 'final-failure') consecutiveFailures += 1;
    }
    callsWithoutProgress =
      report.callFailure !== undefined && report.outcomes.length === 0 ? callsWithoutProgress + 1 : 0;
    if (consecutiveFailures >= options.maxConsecutiveFailures) {
      stoppedReason = `quarantined: ${consecutiveFailures} cases in a row failed on ${deviceId} (limit scheduler.maxConsecutiveFailures = ${options.maxConsecutiveFailures}); last: ${report.callFailure?.message ?? 'see the failures table'}`;
      stoppedKind = 'quarantined';
    } else if (callsWithoutProgress > options.retries) {
      stoppedReason = `quarantined: ${callsWithoutProgress} agent calls in a row on ${deviceId} failed before running any case; last: ${report.callFailure?.message ?? ''}`;
      stoppedKind = 'quarantined';
    }
    if (report.stopped) {
      interrupted = true;
      break;
    }
  }

  if (stoppedReason !== undefined) emit({ type: 'device-stopped', deviceId, reason: stoppedReason });
  const counts = await taskCounts(db, runId, deviceId);
  emit({ type: 'device-done', deviceId, counts });
  return {
    deviceId,
    counts,
    interrupted,
    ...(stoppedReason === undefined ? {} : { stoppedReason }),
    ...(stoppedKind === undefined ? {} : { stoppedKind }),
  };
}
