/**
 * Migration 0007 (frozen: never edit once landed; add 0008_... instead): which model and ONNX node a case serves
 * and which weights it was timed with. On tasks: `model` (the ONNX model's label; the first built-in model of
 * the shape otherwise), `onnx_node` (the node whose weights the case uses; null for built-in tables) and
 * `weights` (what was asked: `seeded`, or the sha256 of the model's weights file). On measurements: `weights`,
 * what the agent reports it used (null for rows from before, which were all seeded), and `mask_fnv1a`, the
 * agent's hash of the mask it timed (so a real-weight mask can be told from a seeded one; null when not reported).
 */
import type { Kysely } from 'kysely';
import type { ColumnTypes } from './column-types.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and must not depend on today's types.
export async function up(db: Kysely<any>, _types: ColumnTypes): Promise<void> {
  await db.schema.alterTable('tasks').addColumn('model', 'text').execute();
  await db.schema.alterTable('tasks').addColumn('onnx_node', 'text').execute();
  await db.schema
    .alterTable('tasks')
    .addColumn('weights', 'text', (c) => c.notNull().defaultTo('seeded'))
    .execute();
  await db.schema.alterTable('measurements').addColumn('weights', 'text').execute();
  await db.schema.alterTable('measurements').addColumn('mask_fnv1a', 'text').execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('measurements').dropColumn('mask_fnv1a').execute();
  await db.schema.alterTable('measurements').dropColumn('weights').execute();
  await db.schema.alterTable('tasks').dropColumn('weights').execute();
  await db.schema.alterTable('tasks').dropColumn('onnx_node').execute();
  await db.schema.alterTable('tasks').dropColumn('model').execute();
}
