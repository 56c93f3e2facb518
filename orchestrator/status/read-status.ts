/** What `prunelab status` reads from the store: recent runs with their task counts and pace, leases, devices. */
import type { LeaseRow } from '../store/leases.ts';
import type { StoreDb } from '../store/open.ts';
import type { RunStatus, TaskStatus } from '../store/schema.ts';

export interface RunRecord {
  readonly id: string;
  readonly status: RunStatus;
  readonly host: string;
  readonly createdAt: string;
  readonly finishedAt: string | null;
  readonly counts: Readonly<Partial<Record<TaskStatus, number>>>;
  /** First and last measurement of the run (its pace), null before the first. */
  readonly firstMeasuredAt: string | null;
  readonly lastMeasuredAt: string | null;
  readonly measured: number;
  /** Only for a run of `sweep --enqueue`. */
  readonly queue?: QueueRecord;
}

/** An enqueued run's work queue (store/work-queue.ts): batches by state, cases settled and their pace. */
export interface QueueRecord {
  readonly batches: number;
  readonly queued: number;
  readonly claimed: number;
  /** Claimed under a lease that ran out: its worker is gone or hung; the next claim takes it over. */
  readonly expired: number;
  readonly done: number;
  readonly cases: number;
  /** Cases with their one result (measured, or failed for good). */
  readonly settled: number;
  readonly failed: number;
  readonly firstSettledAt: string | null;
  readonly lastSettledAt: string | null;
}

export interface WorkerRecord {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly devices: readonly { readonly id: string; readonly model: string; readonly abi: string }[];
  readonly startedAt: string;
  readonly heartbeatAt: string;
  readonly leaseMs: number;
  readonly stoppedAt: string | null;
}

export interface DeviceRecord {
  readonly id: string;
  readonly kind: string;
  readonly model: string;
  readonly abi: string;
  readonly lastSeenAt: string;
}

export interface StatusRecords {
  readonly runs: readonly RunRecord[];
  readonly leases: readonly LeaseRow[];
  readonly devices: readonly DeviceRecord[];
  readonly workers: readonly WorkerRecord[];
}

async function readQueues(
  db: StoreDb,
  runIds: readonly string[],
  now: Date,
): Promise<Map<string, QueueRecord>> {
  if (runIds.length === 0) return new Map();
  const at = now.toISOString();
  const batches = await db
    .selectFrom('queue_batches')
    .select(['run_id', 'status', 'cases', 'lease_expires_at'])
    .where('run_id', 'in', [...runIds])
    .execute();
  const results = await db
    .selectFrom('queue_results')
    .select((eb) => [
      'run_id',
      'status',
      eb.fn.countAll<number>().as('n'),
      eb.fn.min<string>('created_at').as('first_at'),
      eb.fn.max<string>('created_at').as('last_at'),
    ])
    .where('run_id', 'in', [...runIds])
    .groupBy(['run_id', 'status'])
    .execute();
  const queues = new Map<string, QueueRecord>();
  for (const runId of runIds) {
    const mine = batches.filter((batch) => batch.run_id === runId);
    if (mine.length === 0) continue;
    const settled = results.filter((row) => row.run_id === runId);
    const firsts = settled.map((row) => row.first_at).sort();
    const lasts = settled.map((row) => row.last_at).sort();
    const claimed = mine.filter((batch) => batch.status === 'claimed');
    queues.set(runId, {
      batches: mine.length,
      queued: mine.filter((batch) => batch.status === 'queued').length,
      claimed: claimed.length,
      expired: claimed.filter((batch) => (batch.lease_expires_at ?? '') < at).length,
      done: mine.filter((batch) => batch.status === 'done').length,
      cases: mine.reduce((sum, batch) => sum + batch.cases, 0),
      settled: settled.reduce((sum, row) => sum + Number(row.n), 0),
      failed: settled.filter((row) => row.status === 'failed').reduce((sum, row) => sum + Number(row.n), 0),
      firstSettledAt: firsts[0] ?? null,
      lastSettledAt: lasts.at(-1) ?? null,
    });
  }
  return queues;
}

async function readWorkers(db: StoreDb): Promise<WorkerRecord[]> {
  const rows = await db.selectFrom('workers').selectAll().orderBy('started_at').orderBy('id').execute();
  return rows.map((row) => ({
    id: row.id,
    host: row.host,
    pid: row.pid,
    devices: JSON.parse(row.devices_json) as WorkerRecord['devices'],
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
    leaseMs: row.lease_ms,
    stoppedAt: row.stopped_at,
  }));
}

/** The `limit` most recent runs (with their work queue when enqueued), every lease, device and worker. */
export async function readStatus(db: StoreDb, limit: number, now: Date = new Date()): Promise<StatusRecords> {
  const runs = await db
    .selectFrom('runs')
    .select(['id', 'status', 'host', 'created_at', 'finished_at'])
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  const runIds = runs.map((run) => run.id);
  const counts =
    runIds.length === 0
      ? []
      : await db
          .selectFrom('tasks')
          .select(['run_id', 'status', db.fn.countAll<number>().as('count')])
          .where('run_id', 'in', runIds)
          .groupBy(['run_id', 'status'])
          .execute();
  const paces =
    runIds.length === 0
      ? []
      : await db
          .selectFrom('measurements as m')
          .innerJoin('tasks as t', 't.id', 'm.task_id')
          .select((eb) => [
            't.run_id',
            eb.fn.min<string>('m.created_at').as('first_at'),
            eb.fn.max<string>('m.created_at').as('last_at'),
            eb.fn.countAll<number>().as('measured'),
          ])
          .where('t.run_id', 'in', runIds)
          .groupBy('t.run_id')
          .execute();
  const queues = await readQueues(db, runIds, now);
  const leases = await db.selectFrom('device_leases').selectAll().orderBy('device_id').execute();
  const devices = await db
    .selectFrom('devices')
    .select(['id', 'kind', 'model', 'abi', 'last_seen_at'])
    .orderBy('id')
    .execute();
  return {
    runs: runs.map((run) => {
      const queue = queues.get(run.id);
      const pace = paces.find((row) => row.run_id === run.id);
      return {
        id: run.id,
        status: run.status,
        host: run.host,
        createdAt: run.created_at,
        finishedAt: run.finished_at,
        counts: Object.fromEntries(
          counts.filter((row) => row.run_id === run.id).map((row) => [row.status, Number(row.count)]),
        ),
        firstMeasuredAt: pace?.first_at ?? null,
        lastMeasuredAt: pace?.last_at ?? null,
        measured: Number(pace?.measured ?? 0),
        ...(queue === undefined ? {} : { queue }),
      };
    }),
    leases,
    devices: devices.map((device) => ({
      id: device.id,
      kind: device.kind,
      model: device.model,
      abi: device.abi,
      lastSeenAt: device.last_seen_at,
    })),
    workers: await readWorkers(db),
  };
}
