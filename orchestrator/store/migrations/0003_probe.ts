/**
 * Migration 0003 (frozen: never edit once landed; add 0004_... instead): the agent's probe around each case
 * and the re-measures it caused (orchestrator/scheduler/disturbance.ts). Rows from before have null probes
 * and are never re-measured.
 */
import type { Kysely } from 'kysely';
import type { ColumnTypes } from './column-types.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and must not depend on today's types.
export async function up(db: Kysely<any>, types: ColumnTypes): Promise<void> {
  await db.schema.alterTable('measurements').addColumn('probe_before_ns', types.real).execute();
  await db.schema.alterTable('measurements').addColumn('probe_after_ns', types.real).execute();
  await db.schema
    .alterTable('measurements')
    .addColumn('remeasures', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('measurements').dropColumn('remeasures').execute();
  await db.schema.alterTable('measurements').dropColumn('probe_after_ns').execute();
  await db.schema.alterTable('measurements').dropColumn('probe_before_ns').execute();
}
