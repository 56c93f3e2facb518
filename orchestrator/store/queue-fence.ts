/**
 * The work queue's guard inside a commit (store/tasks.ts): a worker's result for a case of an enqueued run
 * is stored only while the worker still holds the case's batch under the token it claimed it with, and only
 * once per (run, case), whichever device measured it. The first rule is the fencing token (a worker stopped
 * past its lease, whose batch another worker took over, cannot store late results); the second is
 * queue_results' primary key, so the database refuses a second result even if the code let one through.
 */
import type { StoreDb } from './open.ts';

/** What a worker's commits carry for the batch they belong to (store/work-queue.ts claims it). */
export interface BatchFence {
  readonly batchId: number;
  readonly token: number;
  readonly runId: string;
}

/**
 * Inside a commit's transaction: whether the batch is still claimed under this token. A no-op update, not a
 * select, so that on PostgreSQL it locks the batch's row until the commit ends: a takeover (whose claim skips
 * locked rows) cannot slip in between this check and the commit. On SQLite the transaction holds the writer
 * lock already.
 */
export async function batchFenceHolds(db: StoreDb, fence: BatchFence): Promise<boolean> {
  const result = await db
    .updateTable('queue_batches')
    .set((eb) => ({ token: eb.ref('token') }))
    .where('id', '=', fence.batchId)
    .where('token', '=', fence.token)
    .where('status', '=', 'claimed')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export interface SettledTask {
  readonly id: number;
  readonly case_key: string;
  readonly device_id: string;
}

/**
 * Inside a commit's transaction: records that `task` settled its case (`done` or `failed`). False when
 * another task settled the case already: the caller stores nothing. The same task again (a re-measure, a
 * retried commit) is true.
 */
export async function settleQueuedCase(
  db: StoreDb,
  fence: BatchFence,
  task: SettledTask,
  status: 'done' | 'failed',
  at: string,
): Promise<boolean> {
  await db
    .insertInto('queue_results')
    .values({
      run_id: fence.runId,
      case_key: task.case_key,
      task_id: task.id,
      batch_id: fence.batchId,
      token: fence.token,
      device_id: task.device_id,
      status,
      created_at: at,
    })
    .onConflict((conflict) => conflict.columns(['run_id', 'case_key']).doNothing())
    .execute();
  const settled = await db
    .selectFrom('queue_results')
    .select('task_id')
    .where('run_id', '=', fence.runId)
    .where('case_key', '=', task.case_key)
    .executeTakeFirst();
  return settled?.task_id === task.id;
}
