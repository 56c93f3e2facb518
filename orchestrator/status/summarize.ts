/**
 * The lab's state for `prunelab status`, from what the store holds (read-status.ts). Pure: records and a
 * clock in, a summary out. A lease past its expiry is a holder that is gone (killed, hung or cut off): its
 * device is free for the next claim.
 */
import type { LeaseRow } from '../store/leases.ts';
import type { RunStatus, TaskStatus } from '../store/schema.ts';
import type { DeviceRecord, RunRecord, StatusRecords } from './read-status.ts';

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
  /** Every host seen: in a live lease or as the host of a listed run. */
  readonly hosts: readonly string[];
  readonly runs: readonly RunProgress[];
  readonly leases: readonly LeaseState[];
  readonly devices: readonly DeviceRecord[];
}

const NO_COUNTS: Record<TaskStatus, number> = { pending: 0, running: 0, done: 0, failed: 0, skipped: 0 };

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
  const hosts = new Set([
    ...leases.filter((lease) => lease.state === 'live').map((lease) => lease.host),
    ...records.runs.map((run) => run.host),
  ]);
  return {
    at: now.toISOString(),
    hosts: [...hosts].sort(),
    runs: records.runs.map(progressOf),
    leases,
    devices: records.devices,
  };
}
