/**
 * Tasks: one planned case on one device in one run, UNIQUE(run, device, case). Each result is committed in
 * its own transaction as it arrives, so a killed sweep loses at most the case in flight, and re-inserting a
 * plan on resume adds only what is missing.
 */
import type { PlanLine } from '../../config/agent-protocol.ts';
import { fenceHolds, type LeaseFence } from './leases.ts';
import type { StoreDb } from './open.ts';
import { probeMaxNs } from './probes.ts';
import { batchFenceHolds, settleQueuedCase } from './queue-fence.ts';
import type { NewMeasurement, NewTask, TaskRow, TaskStatus } from './schema.ts';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A plan line without its `id`: the scheduler gives each call's lines ids of its own. */
export type PlanLineBody = DistributiveOmit<PlanLine, 'id'>;

export interface TaskInput {
  readonly caseKey: string;
  readonly batchIndex: number;
  readonly seq: number;
  /** The planned case, kept as JSON for provenance and export. */
  readonly caseJson: unknown;
  readonly planLine: PlanLineBody;
  /** The model the case serves (its first one when built-in tables share the shape); null for probes. */
  readonly model?: string;
  /** The ONNX node whose weights the case uses (absent: seeded weights). */
  readonly onnxNode?: string;
}

/** The case parameters as columns (FC as a GEMM: cin = in, cout = out, a 1x1 "image"). */
function caseColumns(line: PlanLineBody) {
  const none = {
    scheme: null,
    block: null,
    sparsity: null,
    cin: null,
    cout: null,
    h: null,
    w: null,
    k: null,
    stride: null,
    pad: null,
  };
  const threads = line.threads ?? null;
  const backend = line.backend ?? 'cpu';
  switch (line.op) {
    case 'idle':
      return { ...none, threads, backend };
    case 'fc':
      return {
        ...none,
        threads,
        backend,
        scheme: line.scheme,
        block: line.block ?? null,
        sparsity: line.sparsity,
        cin: line.in,
        cout: line.out,
        h: 1,
        w: 1,
        k: 1,
        stride: 1,
        pad: 0,
      };
    default:
      return {
        threads,
        backend,
        scheme: line.scheme,
        block: line.block ?? null,
        sparsity: line.sparsity,
        cin: line.cin,
        cout: line.cout,
        h: line.h,
        w: line.w,
        k: line.k,
        stride: line.stride,
        pad: line.pad,
      };
  }
}

// SQLite allows 32766 bound parameters per statement; 25 columns x 500 rows stays well below.
const INSERT_CHUNK_ROWS = 500;

/** Adds the tasks that are not there yet (by run, device and case key); returns how many were added. */
export async function insertTasks(
  db: StoreDb,
  runId: string,
  deviceId: string,
  tasks: readonly TaskInput[],
  now: Date = new Date(),
): Promise<number> {
  const at = now.toISOString();
  const rows: NewTask[] = tasks.map((task) => ({
    run_id: runId,
    device_id: deviceId,
    case_key: task.caseKey,
    batch_index: task.batchIndex,
    seq: task.seq,
    case_json: JSON.stringify(task.caseJson),
    plan_line_json: JSON.stringify(task.planLine),
    op: task.planLine.op,
    ...caseColumns(task.planLine),
    model: task.model ?? null,
    onnx_node: task.onnxNode ?? null,
    weights: task.planLine.op === 'idle' ? 'seeded' : (task.planLine.weights?.sha256 ?? 'seeded'),
    status: 'pending',
    attempts: 0,
    last_error: null,
    updated_at: at,
  }));
  return db.transaction().execute(async (trx) => {
    let added = 0;
    for (let start = 0; start < rows.length; start += INSERT_CHUNK_ROWS) {
      const result = await trx
        .insertInto('tasks')
        .values(rows.slice(start, start + INSERT_CHUNK_ROWS))
        .onConflict((conflict) => conflict.columns(['run_id', 'device_id', 'case_key']).doNothing())
        .executeTakeFirst();
      added += Number(result.numInsertedOrUpdatedRows ?? 0n);
    }
    return added;
  });
}

/**
 * Moves one device's tasks of a run from any of the `from` statuses to `to` (with `lastError` when given);
 * returns how many moved. The one mechanism behind releasing, skipping and reviving a device's tasks.
 */
export async function moveDeviceTasks(
  db: StoreDb,
  runId: string,
  deviceId: string,
  move: { readonly from: readonly TaskStatus[]; readonly to: TaskStatus; readonly lastError?: string },
  now: Date = new Date(),
): Promise<number> {
  const result = await db
    .updateTable('tasks')
    .set({
      status: move.to,
      updated_at: now.toISOString(),
      ...(move.lastError === undefined ? {} : { last_error: move.lastError }),
    })
    .where('run_id', '=', runId)
    .where('device_id', '=', deviceId)
    .where('status', 'in', [...move.from])
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Tasks left `running` by a process that died: nobody is running them now, so they are pending again. */
export function releaseRunningTasks(db: StoreDb, runId: string, deviceId: string, now: Date = new Date()) {
  return moveDeviceTasks(db, runId, deviceId, { from: ['running'], to: 'pending' }, now);
}

export async function pendingTasks(db: StoreDb, runId: string, deviceId: string): Promise<TaskRow[]> {
  return db
    .selectFrom('tasks')
    .selectAll()
    .where('run_id', '=', runId)
    .where('device_id', '=', deviceId)
    .where('status', '=', 'pending')
    .orderBy('batch_index')
    .orderBy('seq')
    .execute();
}

export async function setTasksStatus(
  db: StoreDb,
  taskIds: readonly number[],
  from: TaskStatus,
  to: TaskStatus,
  now: Date = new Date(),
): Promise<void> {
  if (taskIds.length === 0) return;
  await db
    .updateTable('tasks')
    .set({ status: to, updated_at: now.toISOString() })
    .where('id', 'in', [...taskIds])
    .where('status', '=', from)
    .execute();
}

export type MeasurementInput = Omit<NewMeasurement, 'id' | 'task_id' | 'created_at' | 'host'>;

/**
 * Stores a case's measurement and marks its task done, in one transaction. Returns false (and changes
 * nothing) when the task is already done: a result is never stored twice. A task that has a measurement and
 * was put back by a re-measure (scheduler/disturbance.ts) keeps the calmer of the two: the one whose probe ran
 * faster (the earlier one when either has no probe). With a `fence` (the holder's device lease), a result
 * whose lease was taken over by another process is refused the same way: false, nothing changed.
 */
export async function commitMeasurement(
  db: StoreDb,
  taskId: number,
  measurement: MeasurementInput,
  now: Date = new Date(),
  fence?: LeaseFence,
): Promise<boolean> {
  const at = now.toISOString();
  return db.transaction().execute(async (trx) => {
    if (fence !== undefined && !(await fenceHolds(trx, fence))) return false;
    if (fence?.batch !== undefined && !(await batchFenceHolds(trx, fence.batch))) return false;
    const task = await trx
      .selectFrom('tasks')
      .select(['id', 'status', 'case_key', 'device_id'])
      .where('id', '=', taskId)
      .executeTakeFirst();
    if (task === undefined || task.status === 'done') return false;
    // A case of an enqueued run: stored once per (run, case), whichever device measured it.
    if (fence?.batch !== undefined && !(await settleQueuedCase(trx, fence.batch, task, 'done', at)))
      return false;
    const earlier = await trx
      .selectFrom('measurements')
      .select(['id', 'probe_before_ns', 'probe_after_ns'])
      .where('task_id', '=', taskId)
      .executeTakeFirst();
    // The measuring host comes with the lease: the process that held the device measured the case.
    const host = fence?.host ?? null;
    if (earlier === undefined) {
      await trx
        .insertInto('measurements')
        .values({ ...measurement, host, task_id: taskId, created_at: at })
        .execute();
    } else {
      const kept = probeMaxNs(earlier);
      const fresh = probeMaxNs(measurement);
      if (kept !== undefined && fresh !== undefined && fresh < kept) {
        await trx
          .updateTable('measurements')
          .set({ ...measurement, host, created_at: at })
          .where('id', '=', earlier.id)
          .execute();
      }
    }
    await trx
      .updateTable('tasks')
      .set({ status: 'done', last_error: null, updated_at: at })
      .where('id', '=', taskId)
      .execute();
    return true;
  });
}

export interface FailureInput {
  readonly transient: boolean;
  /** Short machine word: `agent-error`, `crash`, `timeout`, `garbage`, `missing-result`, ... */
  readonly reason: string;
  readonly message: string;
  readonly stderr: string | null;
  readonly exitCode: number | null;
  readonly signal: string | null;
}

/**
 * Records one failure of a task and moves it to `then`: `failed` for good, or `pending` to be retried.
 * `charge` counts the failure against the task's retries (the case in flight when an agent died is charged;
 * the cases after it that never ran are not). A task that already has a measurement (its re-measure failed)
 * goes back to done: that measurement stands. With a `fence` whose lease was taken over, nothing is recorded
 * (the new holder runs the case).
 */
export async function recordFailure(
  db: StoreDb,
  taskId: number,
  failure: FailureInput,
  then: 'failed' | 'pending',
  charge: boolean,
  now: Date = new Date(),
  fence?: LeaseFence,
): Promise<void> {
  const at = now.toISOString();
  await db.transaction().execute(async (trx) => {
    if (fence !== undefined && !(await fenceHolds(trx, fence))) return;
    if (fence?.batch !== undefined && !(await batchFenceHolds(trx, fence.batch))) return;
    const task = await trx
      .selectFrom('tasks')
      .select(['id', 'attempts', 'status', 'case_key', 'device_id'])
      .where('id', '=', taskId)
      .executeTakeFirst();
    if (task === undefined || task.status === 'done') return;
    // A re-measure that failed: the case was measured before, and that measurement stands.
    const measured = await trx
      .selectFrom('measurements')
      .select('id')
      .where('task_id', '=', taskId)
      .executeTakeFirst();
    const status = measured === undefined ? then : 'done';
    // A case of an enqueued run failed for good: settled once, like a measurement.
    const settles = fence?.batch !== undefined && status === 'failed';
    if (settles && !(await settleQueuedCase(trx, fence.batch, task, 'failed', at))) return;
    const attempts = task.attempts + (charge ? 1 : 0);
    await trx
      .insertInto('failures')
      .values({
        task_id: taskId,
        attempt: attempts,
        transient: failure.transient ? 1 : 0,
        reason: failure.reason,
        message: failure.message,
        stderr: failure.stderr,
        exit_code: failure.exitCode,
        signal: failure.signal,
        created_at: at,
      })
      .execute();
    await trx
      .updateTable('tasks')
      .set({
        status,
        attempts,
        last_error:
          measured === undefined
            ? failure.message
            : `re-measure failed (${failure.message}); the earlier measurement stands`,
        updated_at: at,
      })
      .where('id', '=', taskId)
      .execute();
  });
}

export type StatusCounts = Readonly<Record<TaskStatus, number>>;

export async function taskCounts(db: StoreDb, runId: string, deviceId?: string): Promise<StatusCounts> {
  let query = db
    .selectFrom('tasks')
    .select(['status', db.fn.countAll<number>().as('count')])
    .where('run_id', '=', runId)
    .groupBy('status');
  if (deviceId !== undefined) query = query.where('device_id', '=', deviceId);
  const rows = await query.execute();
  const counts: Record<TaskStatus, number> = { pending: 0, running: 0, done: 0, failed: 0, skipped: 0 };
  for (const row of rows) counts[row.status] = Number(row.count);
  return counts;
}

export async function runDeviceIds(db: StoreDb, runId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('tasks')
    .select('device_id')
    .distinct()
    .where('run_id', '=', runId)
    .execute();
  return rows.map((row) => row.device_id);
}

/** The weights files (sha256) a run's tasks ask for; seeded tasks add nothing. */
export async function runWeightsFiles(db: StoreDb, runId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('tasks')
    .select('weights')
    .distinct()
    .where('run_id', '=', runId)
    .where('weights', '!=', 'seeded')
    .execute();
  return rows.map((row) => row.weights);
}
