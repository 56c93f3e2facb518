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
}

/** The `limit` most recent runs, every lease and every device. */
export async function readStatus(db: StoreDb, limit: number): Promise<StatusRecords> {
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
  const leases = await db.selectFrom('device_leases').selectAll().orderBy('device_id').execute();
  const devices = await db
    .selectFrom('devices')
    .select(['id', 'kind', 'model', 'abi', 'last_seen_at'])
    .orderBy('id')
    .execute();
  return {
    runs: runs.map((run) => {
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
  };
}
