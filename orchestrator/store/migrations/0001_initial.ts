/**
 * Migration 0001 (frozen: never edit once landed; add 0002_... instead).
 * The generated ids and floating-point columns come from `types` (column-types.ts): SQLite's spellings are
 * exactly the ones this migration always wrote; PostgreSQL gets `serial` and `double precision`.
 */
import { type Kysely, sql } from 'kysely';
import type { ColumnTypes } from './column-types.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and must not depend on today's types.
export async function up(db: Kysely<any>, types: ColumnTypes): Promise<void> {
  await db.schema
    .createTable('devices')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('abi', 'text', (c) => c.notNull())
    .addColumn('build_fingerprint', 'text', (c) => c.notNull())
    .addColumn('identity_json', 'text', (c) => c.notNull())
    .addColumn('first_seen_at', 'text', (c) => c.notNull())
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('agent_builds')
    .addColumn('hash', 'text', (c) => c.primaryKey())
    .addColumn('abi', 'text', (c) => c.notNull())
    .addColumn('compiler', 'text', (c) => c.notNull())
    .addColumn('flags', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('config_json', 'text', (c) => c.notNull())
    .addColumn('config_hash', 'text', (c) => c.notNull())
    .addColumn('git_revision', 'text')
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .execute();

  await db.schema
    .createTable('tasks')
    .addColumn('id', types.generatedKey, types.generatedKeyColumn)
    .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
    .addColumn('case_key', 'text', (c) => c.notNull())
    .addColumn('batch_index', 'integer', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('case_json', 'text', (c) => c.notNull())
    .addColumn('plan_line_json', 'text', (c) => c.notNull())
    .addColumn('op', 'text', (c) => c.notNull())
    .addColumn('scheme', 'text')
    .addColumn('block', 'text')
    .addColumn('sparsity', types.real)
    .addColumn('threads', 'integer')
    .addColumn('cin', 'integer')
    .addColumn('cout', 'integer')
    .addColumn('h', 'integer')
    .addColumn('w', 'integer')
    .addColumn('k', 'integer')
    .addColumn('stride', 'integer')
    .addColumn('pad', 'integer')
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('pending', 'running', 'done', 'failed', 'skipped')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('tasks_run_device_case', ['run_id', 'device_id', 'case_key'])
    .execute();
  await db.schema
    .createIndex('tasks_run_device_status')
    .on('tasks')
    .columns(['run_id', 'device_id', 'status'])
    .execute();

  await db.schema
    .createTable('failures')
    .addColumn('id', types.generatedKey, types.generatedKeyColumn)
    .addColumn('task_id', 'integer', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('transient', 'integer', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('stderr', 'text')
    .addColumn('exit_code', 'integer')
    .addColumn('signal', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('failures_task').on('failures').column('task_id').execute();

  await db.schema
    .createTable('measurements')
    .addColumn('id', types.generatedKey, types.generatedKeyColumn)
    .addColumn('task_id', 'integer', (c) => c.notNull().unique().references('tasks.id').onDelete('cascade'))
    .addColumn('agent_hash', 'text', (c) => c.notNull())
    .addColumn('build_fingerprint', 'text', (c) => c.notNull())
    .addColumn('samples_ns_json', 'text', (c) => c.notNull())
    .addColumn('telemetry_json', 'text', (c) => c.notNull())
    .addColumn('cpus_json', 'text', (c) => c.notNull())
    .addColumn('density', types.real, (c) => c.notNull())
    .addColumn('kept_blocks', 'integer', (c) => c.notNull())
    .addColumn('kept_energy', types.real, (c) => c.notNull())
    .addColumn('kernel', 'text', (c) => c.notNull())
    .addColumn('flops', types.real, (c) => c.notNull())
    .addColumn('prepare_ns', types.real)
    .addColumn('sampling_ns', types.real)
    .addColumn('n', 'integer', (c) => c.notNull())
    .addColumn('min_ns', types.real, (c) => c.notNull())
    .addColumn('max_ns', types.real, (c) => c.notNull())
    .addColumn('median_ns', types.real, (c) => c.notNull())
    .addColumn('mad_ns', types.real, (c) => c.notNull())
    .addColumn('p10_ns', types.real, (c) => c.notNull())
    .addColumn('p90_ns', types.real, (c) => c.notNull())
    .addColumn('ci_low_ns', types.real, (c) => c.notNull())
    .addColumn('ci_high_ns', types.real, (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  // Lab hygiene (issue 4): what the lab saw on each device of a run, and each agent call's conditions.
  await db.schema
    .createTable('run_devices')
    .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
    .addColumn('screen_on', 'integer')
    .addColumn('charging', 'integer')
    .addColumn('battery_level', 'integer')
    .addColumn('root', 'text', (c) => c.notNull())
    .addColumn('big_cpus_json', 'text')
    .addColumn('lab_json', 'text', (c) => c.notNull())
    .addColumn('recorded_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('run_devices_pk', ['run_id', 'device_id'])
    .execute();

  await db.schema
    .createTable('batch_runs')
    .addColumn('id', types.generatedKey, types.generatedKeyColumn)
    .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
    .addColumn('batch_index', 'integer', (c) => c.notNull())
    .addColumn('cases', 'integer', (c) => c.notNull())
    .addColumn('thermal_wait_ms', types.real, (c) => c.notNull())
    .addColumn('gate', 'text', (c) => c.notNull())
    .addColumn('temp_before_c', types.real)
    .addColumn('temp_after_c', types.real)
    .addColumn('telemetry_before_json', 'text', (c) => c.notNull())
    .addColumn('telemetry_after_json', 'text')
    .addColumn('flag', 'text')
    .addColumn('requeued', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .execute();
  await db.schema
    .createIndex('batch_runs_run_device')
    .on('batch_runs')
    .columns(['run_id', 'device_id', 'batch_index'])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up().
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'batch_runs',
    'run_devices',
    'measurements',
    'failures',
    'tasks',
    'runs',
    'agent_builds',
    'devices',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}
