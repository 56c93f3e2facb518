import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MapInputError } from './errors.ts';
import { parseSensitivity } from './sensitivity-file.ts';

const SHA = 'e'.repeat(64);
const model = { path: 'net.onnx', sha256: SHA, layerNames: ['conv1', 'fc'] };

/** A prunelab.sensitivity/v1 document as `prunelab sensitivity` writes it (figures invented). */
function file(layers: unknown, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    schema: 'prunelab.sensitivity/v1',
    model: { path: 'net.onnx', sha256: SHA },
    data: { path: 'calib.npz', sha256: 'd'.repeat(64), samples: 100, labels: true },
    metric: 'top1',
    dense: { top1: 0.9, agreement: 1, relError: 0 },
    layers,
    timing: {},
    ...overrides,
  });
}

const conv1 = {
  name: 'conv1',
  weight: 'conv1.weight',
  candidates: [
    {
      scheme: 'unstructured',
      block: null,
      sparsity: 0.5,
      metricValue: 0.88,
      drop: 0.02,
      top1: 0.88,
      agreement: 0.95,
      relError: 0.1,
    },
  ],
};

test('a v1 file for this model becomes the drops by layer and the provenance mapping.json records', () => {
  const parsed = parseSensitivity(file([conv1]), 's.json', model);
  assert.equal(parsed.table.metric, 'top1');
  assert.deepEqual(
    parsed.table.layers.get('conv1')?.map((c) => c.drop),
    [0.02],
  );
  assert.equal(parsed.provenance.model.sha256, SHA);
  assert.equal(parsed.provenance.data.samples, 100);
  assert.match(parsed.provenance.sha256, /^[0-9a-f]{64}$/);
});

test('refused with the field named: not v1, another model, an unknown or repeated layer, no layer', () => {
  const refuses = (text: string, pattern: RegExp) =>
    assert.throws(
      () => parseSensitivity(text, 's.json', model),
      (e: unknown) => e instanceof MapInputError && e.kind === 'input' && pattern.test(e.message),
    );
  refuses('{', /not JSON/);
  refuses(file([conv1], { schema: 'prunelab.sensitivity/v2' }), /schema/);
  refuses(
    file([{ ...conv1, candidates: [{ scheme: 'bcr', block: '4x1', sparsity: 1.5, drop: 0 }] }]),
    /layers\.0\.candidates\.0\.sparsity/,
  );
  refuses(
    file([conv1], { model: { path: 'other.onnx', sha256: 'a'.repeat(64) } }),
    /made for another model file/,
  );
  refuses(file([{ ...conv1, name: 'head' }]), /'head' is not a prunable layer of net\.onnx/);
  refuses(file([conv1, conv1]), /listed twice/);
  refuses(file([]), /lists no layer/);
});
