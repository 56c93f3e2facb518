/**
 * Migration 0009 (frozen: never edit once landed; add 0010_... instead): the shared work queue of
 * `prunelab sweep --enqueue` and `prunelab worker` (orchestrator/worker/, store/work-queue.ts).
 *
 * - `queue_batches`: one agent call's worth of cases of an enqueued run, for a target (a device id or a
 *   selector: `device=ID`, `model=M`, `abi=A`, `fingerprint=F`). A worker claims it for one of its devices
 *   with a lease and a fencing token that grows with every claim; UNIQUE(run, batch) keeps a plan from being
 *   queued twice.
 * - `queue_results`: the case of an enqueued run that was settled (measured, or failed for good), and by
 *   which task. PRIMARY KEY (run, case): the database, not only the code, refuses a second result for a
 *   case, whichever device or worker sends it.
 * - `workers`: one row per `prunelab worker` process, with its host, its devices and a heartbeat.
 *
 * Numbered 0009 so that it never shares a number with a migration written in parallel (0007, 0008).
 */
import type { Kysely } from 'kysely';
import type { ColumnTypes } from './column-types.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and must not depend on today's types.
export async function up(db: Kysely<any>, types: ColumnTypes): Promise<void> {
  await db.schema
    .createTable('queue_batches')
    .addColumn('id', types.generatedKey, (c) => types.generatedKeyColumn(c))
    .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('batch_index', 'integer', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('tasks_json', 'text', (c) => c.notNull())
    .addColumn('cases', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('token', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('worker_id', 'text')
    .addColumn('device_id', 'text')
    .addColumn('host', 'text')
    .addColumn('claimed_at', 'text')
    .addColumn('lease_expires_at', 'text')
    .addColumn('claims', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .addUniqueConstraint('queue_batches_run_batch', ['run_id', 'batch_index'])
    .execute();
  await db.schema
    .createIndex('queue_batches_claimable')
    .on('queue_batches')
    .columns(['status', 'target', 'id'])
    .execute();
  await db.schema
    .createTable('queue_results')
    .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('case_key', 'text', (c) => c.notNull())
    .addColumn('task_id', 'integer', (c) => c.notNull().references('tasks.id'))
    .addColumn('batch_id', 'integer', (c) => c.notNull())
    .addColumn('token', 'integer', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('queue_results_pk', ['run_id', 'case_key'])
    .execute();
  await db.schema
    .createTable('workers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('devices_json', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('heartbeat_at', 'text', (c) => c.notNull())
    .addColumn('lease_ms', 'integer', (c) => c.notNull())
    .addColumn('stopped_at', 'text')
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('workers').execute();
  await db.schema.dropTable('queue_results').execute();
  await db.schema.dropTable('queue_batches').execute();
}
