/**
 * The lab's state for `prunelab status`, from what the store holds (read-status.ts). Pure: records and a
 * clock in, a summary out. A lease past its expiry is a holder that is gone (killed, hung or cut off): its
 * device is free for the next claim.
 */
import type { LeaseRow } from '../store/leases.ts';
import type { RunStatus, TaskStatus } from '../store/schema.ts';
import type { DeviceRecord, QueueRecord, RunRecord, StatusRecords, WorkerRecord } from './read-status.ts';

/** An enqueued run's queue: the cases settled (one result each) of all its batches, and time left. */
export interface QueueProgress extends QueueRecord {
  /** settled / cases, 0..1. */
  readonly fractionDone: number;
  /** Time left at the pace the run's cases settled so far (with at least two); null otherwise. */
  readonly etaMs: number | null;
}

export interface WorkerState {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly devices: WorkerRecord['devices'];
  readonly heartbeatAt: string;
  readonly heartbeatAgeMs: number;
  /** `alive`: heartbeat within its lease; `gone`: none for longer (killed, hung, cut off); `stopped`: ended cleanly. */
  readonly state: 'alive' | 'gone' | 'stopped';
}

export interface RunProgress {
  readonly id: string;
  readonly status: RunStatus;
  readonly host: string;
  readonly createdAt: string;
  readonly tasks: number;
  readonly counts: Readonly<Record<TaskStatus, number>>;
  /** done / tasks, 0..1 (1 for a run without tasks). */
  readonly fractionDone: number;
  /**
   * Time left at the run's pace so far (measurements per ms between its first and last), for a running
   * run with at least two measurements; null otherwise.
   */
  readonly etaMs: number | null;
  /** Only for a run of `sweep --enqueue`: its work queue (the tasks above are per device, this is per case). */
  readonly queue: QueueProgress | null;
}

export interface LeaseState {
  readonly deviceId: string;
  readonly host: string;
  readonly pid: number;
  readonly runId: string | null;
  readonly token: number;
  readonly heartbeatAt: string;
  readonly expiresAt: string;
  /** `live`: the holder renewed it in time; `expired`: the holder is gone or hung, the device is free. */
  readonly state: 'live' | 'expired';
  readonly heartbeatAgeMs: number;
}

export interface LabStatus {
  readonly at: string;
  /** Every host seen: in a live lease, of a live worker, or as the host of a listed run. */
  readonly hosts: readonly string[];
  readonly workers: readonly WorkerState[];
  readonly runs: readonly RunProgress[];
  readonly leases: readonly LeaseState[];
  readonly devices: readonly DeviceRecord[];
}

const NO_COUNTS: Record<TaskStatus, number> = { pending: 0, running: 0, done: 0, failed: 0, skipped: 0 };

/** Time left for `left` items at the pace of `done` items between `firstAt` and `lastAt`; null without a pace. */
function etaAtPace(left: number, done: number, firstAt: string | null, lastAt: string | null): number | null {
  if (done < 2 || firstAt === null || lastAt === null) return null;
  const spanMs = Date.parse(lastAt) - Date.parse(firstAt);
  return spanMs > 0 ? (left * spanMs) / (done - 1) : null;
}

function queueProgressOf(queue: QueueRecord, running: boolean): QueueProgress {
  const left = queue.cases - queue.settled;
  return {
    ...queue,
    fractionDone: queue.cases === 0 ? 1 : queue.settled / queue.cases,
    etaMs:
      running && left > 0 ? etaAtPace(left, queue.settled, queue.firstSettledAt, queue.lastSettledAt) : null,
  };
}

function workerStateOf(worker: WorkerRecord, now: Date): WorkerState {
  const heartbeatAgeMs = now.getTime() - Date.parse(worker.heartbeatAt);
  return {
    id: worker.id,
    host: worker.host,
    pid: worker.pid,
    devices: worker.devices,
    heartbeatAt: worker.heartbeatAt,
    heartbeatAgeMs,
    state: worker.stoppedAt !== null ? 'stopped' : heartbeatAgeMs > worker.leaseMs ? 'gone' : 'alive',
  };
}

function progressOf(run: RunRecord): RunProgress {
  const counts = { ...NO_COUNTS, ...run.counts };
  const tasks = Object.values(counts).reduce((sum, n) => sum + n, 0);
  const left = counts.pending + counts.running;
  let etaMs: number | null = null;
  if (
    run.status === 'running' &&
    run.measured >= 2 &&
    run.firstMeasuredAt !== null &&
    run.lastMeasuredAt !== null
  ) {
    const spanMs = Date.parse(run.lastMeasuredAt) - Date.parse(run.firstMeasuredAt);
    if (spanMs > 0) etaMs = (left * spanMs) / (run.measured - 1);
  }
  return {
    id: run.id,
    status: run.status,
    host: run.host,
    createdAt: run.createdAt,
    tasks,
    counts,
    fractionDone: tasks === 0 ? 1 : counts.done / tasks,
    etaMs,
    queue: run.queue === undefined ? null : queueProgressOf(run.queue, run.status === 'running'),
  };
}

function leaseStateOf(lease: LeaseRow, now: Date): LeaseState {
  return {
    deviceId: lease.device_id,
    host: lease.host,
    pid: lease.pid,
    runId: lease.run_id,
    token: lease.token,
    heartbeatAt: lease.heartbeat_at,
    expiresAt: lease.expires_at,
    state: lease.expires_at > now.toISOString() ? 'live' : 'expired',
    heartbeatAgeMs: now.getTime() - Date.parse(lease.heartbeat_at),
  };
}

export function summarizeLab(records: StatusRecords, now: Date): LabStatus {
  const leases = records.leases.map((lease) => leaseStateOf(lease, now));
  const workers = records.workers.map((worker) => workerStateOf(worker, now));
  const hosts = new Set([
    ...workers.filter((worker) => worker.state === 'alive').map((worker) => worker.host),
    ...leases.filter((lease) => lease.state === 'live').map((lease) => lease.host),
    ...records.runs.map((run) => run.host),
  ]);
  return {
    at: now.toISOString(),
    hosts: [...hosts].sort(),
    workers,
    runs: records.runs.map(progressOf),
    leases,
    devices: records.devices,
  };
}
