/**
 * Migration 0005 (frozen: never edit once landed; add 0006_... instead): where each case ran, `cpu` (the agent's
 * CPU kernels) or `gpu` (its OpenCL kernels; tasks from before are CPU cases), and a GPU case's kernel times
 * from OpenCL profiling events beside its wall-clock samples (null for CPU cases).
 */
import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and must not depend on today's types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('tasks')
    .addColumn('backend', 'text', (c) => c.notNull().defaultTo('cpu'))
    .execute();
  await db.schema.alterTable('measurements').addColumn('kernel_ns_json', 'text').execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('measurements').dropColumn('kernel_ns_json').execute();
  await db.schema.alterTable('tasks').dropColumn('backend').execute();
}
