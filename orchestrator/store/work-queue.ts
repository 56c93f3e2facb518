/**
 * The shared work queue (migration 0009): `sweep --enqueue` puts a run's batches in `queue_batches`, each for
 * a target (a device id or a selector); `prunelab worker` claims them for its devices, renews its lease while
 * it works, and finishes or releases them. A claim is `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so
 * two workers never wait on, nor take, the same batch; on SQLite the store's transactions `begin immediate`
 * (one writer at a time), which gives the same guarantee on one host. Every claim raises the batch's token;
 * commits carry it (store/queue-fence.ts), so a worker whose batch was taken over cannot store late results.
 */
import type { StoreDialect } from './migrations/column-types.ts';
import type { StoreDb } from './open.ts';
import type { BatchFence } from './queue-fence.ts';
import type { QueueBatchStatus } from './schema.ts';
import type { TaskInput } from './tasks.ts';

export interface ClaimRequest {
  /** The targets the device answers to (orchestrator/worker/target.ts targetsOf). */
  readonly targets: readonly string[];
  readonly workerId: string;
  readonly deviceId: string;
  readonly host: string;
  readonly leaseMs: number;
  readonly now: Date;
}

export interface ClaimedBatch {
  readonly runId: string;
  readonly batchIndex: number;
  readonly target: string;
  readonly tasks: readonly TaskInput[];
  /** How many times it was claimed, this claim included (more than 1: taken over or let go before). */
  readonly claims: number;
  readonly fence: BatchFence;
}

function later(now: Date, ms: number): string {
  return new Date(now.getTime() + ms).toISOString();
}

const INSERT_CHUNK_ROWS = 200;

/** Queues the run's tasks for `target`, one row per batch (plan order); returns how many batches. */
export async function enqueueBatches(
  db: StoreDb,
  runId: string,
  target: string,
  tasks: readonly TaskInput[],
  now: Date = new Date(),
): Promise<number> {
  const byBatch = new Map<number, TaskInput[]>();
  for (const task of tasks) byBatch.set(task.batchIndex, [...(byBatch.get(task.batchIndex) ?? []), task]);
  const at = now.toISOString();
  const rows = [...byBatch.entries()]
    .sort(([a], [b]) => a - b)
    .map(([batchIndex, batch]) => ({
      run_id: runId,
      batch_index: batchIndex,
      target,
      tasks_json: JSON.stringify(batch),
      cases: batch.length,
      status: 'queued' as const,
      token: 0,
      claims: 0,
      created_at: at,
    }));
  await db.transaction().execute(async (trx) => {
    for (let start = 0; start < rows.length; start += INSERT_CHUNK_ROWS) {
      await trx
        .insertInto('queue_batches')
        .values(rows.slice(start, start + INSERT_CHUNK_ROWS))
        .execute();
    }
  });
  return rows.length;
}

/**
 * Claims the oldest batch for one of `request.targets` that is queued, or claimed under a lease that ran
 * out (its worker died or hung); undefined when there is none.
 */
export async function claimBatch(
  db: StoreDb,
  dialect: StoreDialect,
  request: ClaimRequest,
): Promise<ClaimedBatch | undefined> {
  if (request.targets.length === 0) return undefined;
  const at = request.now.toISOString();
  return db.transaction().execute(async (trx) => {
    let query = trx
      .selectFrom('queue_batches')
      .select(['id', 'token', 'claims', 'run_id', 'batch_index', 'target', 'tasks_json'])
      .where('target', 'in', [...request.targets])
      .where((eb) =>
        eb.or([
          eb('status', '=', 'queued'),
          eb.and([eb('status', '=', 'claimed'), eb('lease_expires_at', '<', at)]),
        ]),
      )
      .orderBy('id')
      .limit(1);
    // SQLite has no row locks (and no such clause): its writer lock, taken at `begin immediate`, serializes claims.
    if (dialect === 'postgres') query = query.forUpdate().skipLocked();
    const row = await query.executeTakeFirst();
    if (row === undefined) return undefined;
    const token = row.token + 1;
    const claims = row.claims + 1;
    await trx
      .updateTable('queue_batches')
      .set({
        status: 'claimed',
        token,
        claims,
        worker_id: request.workerId,
        device_id: request.deviceId,
        host: request.host,
        claimed_at: at,
        lease_expires_at: later(request.now, request.leaseMs),
      })
      .where('id', '=', row.id)
      .execute();
    return {
      runId: row.run_id,
      batchIndex: row.batch_index,
      target: row.target,
      tasks: JSON.parse(row.tasks_json) as TaskInput[],
      claims,
      fence: { batchId: row.id, token, runId: row.run_id },
    };
  });
}

/** Moves a batch this claim still holds to `set`; false when the claim is stale (taken over). */
async function updateHeld(
  db: StoreDb,
  fence: BatchFence,
  set: {
    readonly status?: QueueBatchStatus;
    readonly lease_expires_at: string | null;
    readonly finished_at?: string;
    readonly worker_id?: null;
  },
): Promise<boolean> {
  const result = await db
    .updateTable('queue_batches')
    .set(set)
    .where('id', '=', fence.batchId)
    .where('token', '=', fence.token)
    .where('status', '=', 'claimed')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Extends the batch's lease; false when it is no longer this claim's. */
export function renewBatch(db: StoreDb, fence: BatchFence, leaseMs: number, now: Date): Promise<boolean> {
  return updateHeld(db, fence, { lease_expires_at: later(now, leaseMs) });
}

/** Marks the batch done (every case settled); false when the claim is stale. */
export function finishBatch(db: StoreDb, fence: BatchFence, now: Date): Promise<boolean> {
  return updateHeld(db, fence, { status: 'done', lease_expires_at: null, finished_at: now.toISOString() });
}

/** Puts the batch back in the queue for any matching device (a stop, a device lost); false when stale. */
export function releaseBatch(db: StoreDb, fence: BatchFence): Promise<boolean> {
  return updateHeld(db, fence, { status: 'queued', lease_expires_at: null, worker_id: null });
}

/** The case keys of the run already settled (measured, or failed for good) among `caseKeys`. */
export async function settledCaseKeys(
  db: StoreDb,
  runId: string,
  caseKeys: readonly string[],
): Promise<Set<string>> {
  if (caseKeys.length === 0) return new Set();
  const rows = await db
    .selectFrom('queue_results')
    .select('case_key')
    .where('run_id', '=', runId)
    .where('case_key', 'in', [...caseKeys])
    .execute();
  return new Set(rows.map((row) => row.case_key));
}

/** Whether the run was planned into the work queue (`sweep --enqueue`). */
export async function isQueuedRun(db: StoreDb, runId: string): Promise<boolean> {
  const row = await db
    .selectFrom('queue_batches')
    .select('id')
    .where('run_id', '=', runId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Whether every batch of the run is done. */
export async function runQueueDone(db: StoreDb, runId: string): Promise<boolean> {
  const open = await db
    .selectFrom('queue_batches')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('run_id', '=', runId)
    .where('status', '<>', 'done')
    .executeTakeFirstOrThrow();
  return Number(open.n) === 0;
}

export interface WaitingTarget {
  readonly target: string;
  readonly batches: number;
}

/** The targets of batches nobody works on (queued, or claimed under a lease that ran out), busiest first. */
export async function waitingTargets(db: StoreDb, now: Date): Promise<WaitingTarget[]> {
  const at = now.toISOString();
  const rows = await db
    .selectFrom('queue_batches')
    .select(['target', (eb) => eb.fn.countAll<number>().as('n')])
    .where((eb) =>
      eb.or([
        eb('status', '=', 'queued'),
        eb.and([eb('status', '=', 'claimed'), eb('lease_expires_at', '<', at)]),
      ]),
    )
    .groupBy('target')
    .execute();
  return rows
    .map((row) => ({ target: row.target, batches: Number(row.n) }))
    .sort((a, b) => b.batches - a.batches || a.target.localeCompare(b.target));
}

/**
 * Makes the device's tasks of the run exactly the claimed batch's unsettled cases: those go (back) to
 * pending; anything else still pending or running there (left by an earlier claim that was taken over or
 * let go) is skipped, so the scheduler runs this batch and nothing else under its token.
 */
export async function readyBatchTasks(
  db: StoreDb,
  runId: string,
  deviceId: string,
  caseKeys: readonly string[],
  now: Date,
): Promise<void> {
  const at = now.toISOString();
  await db.transaction().execute(async (trx) => {
    let stale = trx
      .updateTable('tasks')
      .set({ status: 'skipped', last_error: 'left by an earlier claim of its batch', updated_at: at })
      .where('run_id', '=', runId)
      .where('device_id', '=', deviceId)
      .where('status', 'in', ['pending', 'running']);
    if (caseKeys.length > 0) stale = stale.where('case_key', 'not in', [...caseKeys]);
    await stale.execute();
    if (caseKeys.length === 0) return;
    await trx
      .updateTable('tasks')
      .set({ status: 'pending', updated_at: at })
      .where('run_id', '=', runId)
      .where('device_id', '=', deviceId)
      .where('case_key', 'in', [...caseKeys])
      .where('status', 'in', ['running', 'skipped'])
      .execute();
  });
}

/** The batch's cases still pending or running on the device go to skipped with `why` (a batch let go). */
export async function skipBatchLeftovers(
  db: StoreDb,
  runId: string,
  deviceId: string,
  caseKeys: readonly string[],
  why: string,
  now: Date,
): Promise<void> {
  if (caseKeys.length === 0) return;
  await db
    .updateTable('tasks')
    .set({ status: 'skipped', last_error: why, updated_at: now.toISOString() })
    .where('run_id', '=', runId)
    .where('device_id', '=', deviceId)
    .where('case_key', 'in', [...caseKeys])
    .where('status', 'in', ['pending', 'running'])
    .execute();
}
