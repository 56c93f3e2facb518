/**
 * Migration 0006 (frozen: never edit once landed; add 0007_... instead): who runs cases on a device now,
 * and which host measured each case. One row per device (the primary key is the guard: two processes can never both hold a device), with the
 * holder, a lease that the holder renews, and a fencing token that grows with every new holder so that a
 * holder that lost its lease (stopped past it, or taken over) cannot commit late results (store/leases.ts).
 * Numbered 0005, not 0004, so that it never shares a number with a migration written in parallel.
 */
import type { Kysely } from 'kysely';
import type { ColumnTypes } from './column-types.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and must not depend on today's types.
export async function up(db: Kysely<any>, _types: ColumnTypes): Promise<void> {
  await db.schema
    .createTable('device_leases')
    .addColumn('device_id', 'text', (c) => c.primaryKey())
    .addColumn('token', 'integer', (c) => c.notNull())
    .addColumn('holder_id', 'text', (c) => c.notNull())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('run_id', 'text')
    .addColumn('acquired_at', 'text', (c) => c.notNull())
    .addColumn('heartbeat_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
  // The host whose process committed the measurement (null for rows from before).
  await db.schema.alterTable('measurements').addColumn('host', 'text').execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('measurements').dropColumn('host').execute();
  await db.schema.dropTable('device_leases').execute();
}
