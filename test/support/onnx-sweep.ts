/**
 * Checks shared by the ONNX sweep tests (host, adb, Appium): every stored case of a real-weight sweep names its
 * model and ONNX node, asked for and was timed with the model's weights file, and the mask the agent timed is
 * the one cost-model/masks.ts computes from that node's own weights, not the one of the seeded weights.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gemmCols, gemmRows } from '../../config/shape.ts';
import { isScheme } from '../../config/vocabulary.ts';
import { seededWeights } from '../../cost-model/mappers/seeded-weights.ts';
import { computeMask, maskFnv1a } from '../../cost-model/masks.ts';
import { parseOnnxModel } from '../../orchestrator/models/onnx.ts';
import { blobBytes } from '../../orchestrator/models/weights-blob.ts';
import type { StoreDb } from '../../orchestrator/store/open.ts';
import { shapeOfColumns } from '../../orchestrator/store/shape-columns.ts';

/**
 * Asserts, for every stored case of a sweep of `bytes` (read as `source`): the model label and a timed node,
 * the weights file's sha256 asked for and reported, and a mask equal to the one of the node's own weights and
 * different from the seeded one (seed `seed`) for every pruned case. Returns how many pruned masks were checked.
 */
export async function assertRealWeightMasks(
  db: StoreDb,
  bytes: Uint8Array,
  options: { readonly label: string; readonly seed: number },
): Promise<number> {
  const model = parseOnnxModel(bytes, options.label);
  const byNode = new Map(model.layers.map((layer) => [layer.node, layer]));
  const sha256 = createHash('sha256').update(blobBytes(model.layers).bytes).digest('hex');
  const rows = await db
    .selectFrom('tasks as t')
    .innerJoin('measurements as m', 'm.task_id', 't.id')
    .select(['t.model', 't.onnx_node', 't.weights as asked', 'm.weights as used', 'm.mask_fnv1a'])
    .select(['t.op', 't.cin', 't.cout', 't.h', 't.w', 't.k', 't.stride', 't.pad', 't.scheme', 't.block'])
    .select(['t.sparsity'])
    .execute();
  assert.ok(rows.length > 0, 'the sweep stored measurements');
  let pruned = 0;
  for (const row of rows) {
    assert.equal(row.model, options.label);
    const layer = byNode.get(row.onnx_node ?? '');
    assert.ok(layer !== undefined, `a timed node: ${row.onnx_node}`);
    assert.equal(row.asked, sha256, 'the task asked for the model weights file');
    assert.equal(row.used, sha256, 'the agent reports the model weights file');
    const shape = shapeOfColumns(row);
    assert.ok(shape !== undefined && row.scheme !== null && isScheme(row.scheme));
    assert.deepEqual(shape, layer.shape);
    if (row.scheme === 'dense') continue;
    const spec = { scheme: row.scheme, block: row.block, sparsity: row.sparsity ?? 0 };
    const real = maskFnv1a(computeMask(layer.weights, shape, spec).mask);
    const seeded = maskFnv1a(
      computeMask(seededWeights(gemmRows(shape) * gemmCols(shape), options.seed), shape, spec).mask,
    );
    assert.equal(row.mask_fnv1a, real, `${row.onnx_node} ${row.scheme}: the mask of the node's own weights`);
    assert.notEqual(real, seeded, `${row.onnx_node} ${row.scheme}: real and seeded masks differ`);
    pruned += 1;
  }
  return pruned;
}
