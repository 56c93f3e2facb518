/**
 * One queue per device, all devices at once. A device works through its pending tasks batch by batch (one
 * agent call each, in plan order) until none is left, a stop is requested, or it is stopped for failing:
 * `maxConsecutiveFailures` cases in a row failed for good (after their retries), or the agent cannot be
 * started there. Cases the agent rejects with an error result are properties of the case, not of the
 * device, so they do not count. Whatever is not done stays pending for `sweep --resume`.
 */
import type { StoreDb } from '../store/open.ts';
import { pendingTasks, releaseRunningTasks, type StatusCounts, taskCounts } from '../store/tasks.ts';
import { TransportError } from '../transport/errors.ts';
import type { Device } from '../transport/port.ts';
import { runBatch } from './batch.ts';
import type { EventSink } from './events.ts';
import type { Provenance } from './measurement.ts';

export interface DeviceQueue {
  readonly device: Device;
  /** The agent binary's path on the device (already pushed). */
  readonly agentPath: string;
  readonly provenance: Provenance;
}

export interface SchedulerOptions {
  readonly db: StoreDb;
  readonly runId: string;
  readonly retries: number;
  readonly maxConsecutiveFailures: number;
  readonly caseTimeoutMs: number;
  readonly stop: AbortSignal;
  readonly hardStop: AbortSignal;
  readonly emit: EventSink;
  readonly now?: () => Date;
}

export interface DeviceOutcome {
  readonly deviceId: string;
  readonly counts: StatusCounts;
  /** Why the device stopped early, when it did (not set for a requested stop). */
  readonly stoppedReason?: string;
  readonly interrupted: boolean;
}

export async function runQueues(
  queues: readonly DeviceQueue[],
  options: SchedulerOptions,
): Promise<DeviceOutcome[]> {
  return Promise.all(queues.map((queue) => runDeviceQueue(queue, options)));
}

async function runDeviceQueue(queue: DeviceQueue, options: SchedulerOptions): Promise<DeviceOutcome> {
  const { db, runId, emit } = options;
  const deviceId = queue.device.identity.id;
  await releaseRunningTasks(db, runId, deviceId);
  emit({ type: 'device-start', deviceId, counts: await taskCounts(db, runId, deviceId) });

  const context = {
    db,
    device: queue.device,
    agentPath: queue.agentPath,
    provenance: queue.provenance,
    caseTimeoutMs: options.caseTimeoutMs,
    retries: options.retries,
    stop: options.stop,
    hardStop: options.hardStop,
    emit,
    ...(options.now === undefined ? {} : { now: options.now }),
  };
  let consecutiveFailures = 0;
  // Calls that failed before settling any case (the device refused to run the agent at all).
  let callsWithoutProgress = 0;
  let stoppedReason: string | undefined;
  let interrupted = false;

  while (stoppedReason === undefined) {
    if (options.stop.aborted || options.hardStop.aborted) {
      interrupted = true;
      break;
    }
    const pending = await pendingTasks(db, runId, deviceId);
    const first = pending[0];
    if (first === undefined) break;
    const batch = pending.filter((task) => task.batch_index === first.batch_index);
    let report: Awaited<ReturnType<typeof runBatch>>;
    try {
      report = await runBatch(context, batch);
    } catch (error) {
      if (!(error instanceof TransportError)) throw error;
      stoppedReason = `the agent cannot run on ${deviceId}: ${error.message}`;
      break;
    }
    for (const outcome of report.outcomes) {
      if (outcome === 'ok') consecutiveFailures = 0;
      if (outcome === 'final-failure') consecutiveFailures += 1;
    }
    callsWithoutProgress =
      report.callFailure !== undefined && report.outcomes.length === 0 ? callsWithoutProgress + 1 : 0;
    if (consecutiveFailures >= options.maxConsecutiveFailures) {
      stoppedReason = `${consecutiveFailures} cases in a row failed on ${deviceId} (limit scheduler.maxConsecutiveFailures = ${options.maxConsecutiveFailures}); last: ${report.callFailure?.message ?? 'see the failures table'}`;
    } else if (callsWithoutProgress > options.retries) {
      stoppedReason = `${callsWithoutProgress} agent calls in a row on ${deviceId} failed before running any case; last: ${report.callFailure?.message ?? ''}`;
    }
    if (report.stopped) {
      interrupted = true;
      break;
    }
  }

  if (stoppedReason !== undefined) emit({ type: 'device-stopped', deviceId, reason: stoppedReason });
  const counts = await taskCounts(db, runId, deviceId);
  emit({ type: 'device-done', deviceId, counts });
  return { deviceId, counts, interrupted, ...(stoppedReason === undefined ? {} : { stoppedReason }) };
}
