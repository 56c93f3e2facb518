/** prunedOnnxBytes returns new bytes and leaves its input alone, a Node Buffer included (readFile's kind). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOnnxModel } from '../models/onnx.ts';
import { trainingNet } from '../models/test-support.ts';
import { modelPruning } from './model-masks.ts';
import { prunedOnnxBytes } from './outputs.ts';

test('the input bytes are not touched, even as a Buffer (whose .slice() is a view)', () => {
  const input = Buffer.from(trainingNet().bytes);
  const before = Buffer.from(input);
  const model = parseOnnxModel(input, 'net.onnx');
  const mapping = {
    schema: 'prunelab.mapping/v1' as const,
    model: { name: model.name, source: 'onnx' },
    layers: model.layers.map((l) => ({
      name: l.name,
      scheme: l.shape.op === 'dwconv' ? ('dense' as const) : ('unstructured' as const),
      block: null,
      sparsity: l.shape.op === 'dwconv' ? 0 : 0.75,
    })),
  };
  const pruning = modelPruning(model, mapping, { model: 'net.onnx', mapping: 'm.json', modelSha256: '' });
  const pruned = prunedOnnxBytes(input, pruning, 'net.onnx');
  assert.ok(input.equals(before), 'the input keeps its weights');
  assert.equal(pruned.length, input.length);
  assert.ok(!Buffer.from(pruned).equals(before), 'the output has the zeros');
});
