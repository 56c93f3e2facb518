/**
 * Migration 0004 (frozen: never edit once landed; add 0005_... instead): the gaps in a device's work
 * during a run (orchestrator/scheduler/returns.ts). A phone that disconnected gets one row: when it was
 * lost and why, when it was back (null: never, within the grace), how many times it was lost again while
 * being prepared, and its build fingerprint before and after; different ones mean the measurements before
 * and after the gap are not one population. Portable types only (text, integer), no generated key: the
 * key is the run, the device and the moment it was lost.
 */
import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and must not depend on today's types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('device_gaps')
    .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
    .addColumn('lost_at', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('back_at', 'text')
    .addColumn('flaps', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('fingerprint_before', 'text', (c) => c.notNull())
    .addColumn('fingerprint_after', 'text')
    .addPrimaryKeyConstraint('device_gaps_pk', ['run_id', 'device_id', 'lost_at'])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('device_gaps').execute();
}
