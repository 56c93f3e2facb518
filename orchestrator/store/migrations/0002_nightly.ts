/**
 * Migration 0002 (frozen: never edit once landed; add 0003_... instead): what `prunelab nightly` remembers.
 * A nightly run wraps one sweep run (and the run of its re-measures); per device it keeps the night's
 * fingerprint, build and sentinel factor; per case the night's latency before and after normalisation, so
 * the next nights have a history; and what was found. Dialect-specific types come from `types`, as in 0001.
 */
import { type Kysely, sql } from 'kysely';
import type { ColumnTypes } from './column-types.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and must not depend on today's types.
export async function up(db: Kysely<any>, types: ColumnTypes): Promise<void> {
  await db.schema
    .createTable('nightly_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('night', 'text', (c) => c.notNull())
    .addColumn('sweep_run_id', 'text', (c) => c.references('runs.id'))
    .addColumn('confirm_run_id', 'text', (c) => c.references('runs.id'))
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('running', 'clean', 'regression', 'lab-trouble', 'failed')`),
    )
    .addColumn('exit_code', 'integer')
    .addColumn('summary_json', 'text')
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .execute();

  await db.schema
    .createTable('nightly_devices')
    .addColumn('nightly_run_id', 'text', (c) => c.notNull().references('nightly_runs.id').onDelete('cascade'))
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
    .addColumn('build_fingerprint', 'text', (c) => c.notNull())
    .addColumn('agent_hash', 'text', (c) => c.notNull())
    .addColumn('sentinel_factor', types.real)
    .addColumn('sentinel_spread', types.real)
    .addColumn('usable', 'integer', (c) => c.notNull())
    .addColumn('note', 'text')
    .addPrimaryKeyConstraint('nightly_devices_pk', ['nightly_run_id', 'device_id'])
    .execute();

  await db.schema
    .createTable('nightly_cases')
    .addColumn('nightly_run_id', 'text', (c) => c.notNull().references('nightly_runs.id').onDelete('cascade'))
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
    .addColumn('case_key', 'text', (c) => c.notNull())
    .addColumn('sentinel', 'integer', (c) => c.notNull())
    .addColumn('latency_ns', types.real, (c) => c.notNull())
    .addColumn('normalised_ns', types.real, (c) => c.notNull())
    .addColumn('ratio', types.real)
    .addColumn('threshold', types.real)
    .addPrimaryKeyConstraint('nightly_cases_pk', ['nightly_run_id', 'device_id', 'case_key'])
    .execute();
  await db.schema
    .createIndex('nightly_cases_device_case')
    .on('nightly_cases')
    .columns(['device_id', 'case_key'])
    .execute();

  await db.schema
    .createTable('nightly_findings')
    .addColumn('id', types.generatedKey, types.generatedKeyColumn)
    .addColumn('nightly_run_id', 'text', (c) => c.notNull().references('nightly_runs.id').onDelete('cascade'))
    .addColumn('device_id', 'text')
    .addColumn('case_key', 'text')
    .addColumn('kind', 'text', (c) =>
      c
        .notNull()
        .check(
          sql`kind in ('regression', 'improvement', 'device-slower', 'updated', 'unfit', 'lab-trouble')`,
        ),
    )
    .addColumn('ratio', types.real)
    .addColumn('threshold', types.real)
    .addColumn('confirmed', 'integer', (c) => c.notNull())
    .addColumn('agent_hash', 'text')
    .addColumn('previous_agent_hash', 'text')
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up().
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['nightly_findings', 'nightly_cases', 'nightly_devices', 'nightly_runs'])
    await db.schema.dropTable(table).execute();
}
