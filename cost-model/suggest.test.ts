import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convShape, shapeKey } from '../config/shape.ts';
import { fitLut } from './fit.ts';
import { suggest } from './suggest.ts';
import { CONV3X3_SHAPES, FC_SHAPE, formulaNs, point, shapeAt, syntheticLut } from './test-support.ts';

test('cases the LUT cannot answer come first, then the widest intervals; measured cases never', () => {
  const lut = syntheticLut();
  const unmeasured = CONV3X3_SHAPES.at(-1) ?? shapeAt(0);
  const candidates = [
    { shape: shapeAt(1), scheme: 'unstructured', block: undefined, density: 0.25, threads: 1 },
    { shape: shapeAt(1), scheme: 'unstructured', block: undefined, density: 0.4, threads: 1 },
    { shape: unmeasured, scheme: 'unstructured', block: undefined, density: 0.3, threads: 1 },
    { shape: { ...FC_SHAPE, cin: 1024 }, scheme: 'unstructured', block: undefined, density: 0.5, threads: 1 },
    { shape: shapeAt(0), scheme: 'bcr', block: '8x4', density: 0.25, threads: 1, layers: ['vgg/conv1'] },
  ] as const;
  const picked = suggest(lut, candidates, 10);
  assert.deepEqual(
    picked.map((s) => [s.shapeKey, s.scheme, s.sparsity]),
    [
      [shapeKey(shapeAt(0)), 'bcr', 0.75],
      [shapeKey({ ...FC_SHAPE, cin: 1024 }), 'unstructured', 0.5],
      // interpolated: the measured 2% intervals, interpolated; the predictor of exact data has ~0 error.
      [shapeKey(shapeAt(1)), 'unstructured', 0.6],
      [shapeKey(unmeasured), 'unstructured', 0.7],
    ],
  );
  assert.equal(picked[0]?.relativeWidth, null);
  assert.match(picked[0]?.reason ?? '', /^family-not-measured: /);
  assert.deepEqual(picked[0]?.layers, ['vgg/conv1']);
  assert.match(picked[1]?.reason ?? '', /^too-few-shapes: /);
  assert.equal(suggest(lut, candidates, 2).length, 2);
});

test('with equal family error, the shape farthest from the measured ones comes first', () => {
  // +-6% shape-to-shape scatter around the formula gives the predictor a real held-out error.
  const points = CONV3X3_SHAPES.flatMap((shape, i) =>
    [0.1, 0.25, 0.5].map((density) =>
      point({ shape, density, latencyNs: formulaNs(shape, density) * (i % 2 === 0 ? 1.06 : 0.94) }),
    ),
  );
  const lut = fitLut(points, { createdAt: '2025-01-01T00:00:00.000Z' });
  const near = convShape(32, 40, 16, 3, 1, 1);
  const far = convShape(512, 512, 2, 3, 1, 1);
  const picked = suggest(
    lut,
    [
      { shape: near, scheme: 'unstructured', block: undefined, density: 0.25, threads: 1 },
      { shape: far, scheme: 'unstructured', block: undefined, density: 0.25, threads: 1 },
    ],
    2,
  );
  assert.deepEqual(
    picked.map((s) => s.shapeKey),
    [shapeKey(far), shapeKey(near)],
  );
  assert.ok((picked[0]?.distance ?? 0) > (picked[1]?.distance ?? 0));
  assert.ok((picked[0]?.relativeWidth ?? 0) > 0);
});

test('a second density of the same layer waits until every layer has had one', () => {
  const lut = syntheticLut();
  const picked = suggest(
    lut,
    [
      { shape: shapeAt(0), scheme: 'bcr', block: '8x4', density: 0.25, threads: 1 },
      { shape: shapeAt(0), scheme: 'bcr', block: '8x4', density: 0.5, threads: 1 },
      { shape: shapeAt(1), scheme: 'bcr', block: '8x4', density: 0.25, threads: 1 },
    ],
    2,
  );
  assert.deepEqual(
    picked.map((s) => [s.shapeKey, s.sparsity]),
    [
      [shapeKey(shapeAt(0)), 0.75],
      [shapeKey(shapeAt(1)), 0.75],
    ],
  );
});
