import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shapeKey } from '../config/shape.ts';
import { FitInputError } from './errors.ts';
import { fitLut } from './fit.ts';
import { CONV3X3_SHAPES, FC_SHAPE, formulaNs, point, shapeAt } from './test-support.ts';
import type { MeasuredPoint } from './types.ts';

const CREATED_AT = '2025-01-01T00:00:00.000Z';

test('fitLut builds one entry per (shape, scheme, block, threads) and one predictor per family', () => {
  const points = [
    ...CONV3X3_SHAPES.flatMap((shape) =>
      [0.1, 0.25, 0.5].map((density) => point({ shape, density, latencyNs: formulaNs(shape, density) })),
    ),
    point({ shape: shapeAt(0), scheme: 'dense', density: 1, latencyNs: 50_000 }),
    point({ shape: shapeAt(0), scheme: 'bcr', block: '4x2', density: 0.25, latencyNs: 20_000 }),
    point({ shape: FC_SHAPE, density: 0.5, latencyNs: 3000 }),
  ];
  const lut = fitLut(points, { createdAt: CREATED_AT });
  assert.equal(lut.schema, 'prunelab.lut/v1');
  assert.equal(lut.device.id, 'test-device');
  assert.equal(lut.createdAt, CREATED_AT);
  assert.deepEqual(lut.settings.tileFloatsTried, [8, 16, 32, 64, 128]);
  assert.equal(lut.entries.length, CONV3X3_SHAPES.length + 3);
  const bcr = lut.entries.find((e) => e.scheme === 'bcr');
  assert.equal(bcr?.block, '4x2');
  assert.equal(bcr?.opKind, 'conv3x3');
  const fc = lut.entries.find((e) => e.shapeKey === shapeKey(FC_SHAPE));
  assert.equal(fc?.opKind, 'fc');
  const families = lut.predictors
    .map((p) => `${p.family.opKind}/${p.family.scheme}/${p.family.block}`)
    .sort();
  assert.deepEqual(families, [
    'conv3x3/bcr/4x2',
    'conv3x3/dense/null',
    'conv3x3/unstructured/null',
    'fc/unstructured/null',
  ]);
  const unstructured = lut.predictors.find(
    (p) => p.family.opKind === 'conv3x3' && p.family.scheme === 'unstructured',
  );
  assert.equal(unstructured?.shapes, CONV3X3_SHAPES.length);
  assert.equal(unstructured?.accuracy?.within10, 1);
  assert.equal(lut.predictors.find((p) => p.family.opKind === 'fc')?.accuracy, null);
  // The synthetic curves are straight lines in density: interpolation between knots is exact.
  const interpolation = lut.interpolation.find((i) => i.family.scheme === 'unstructured');
  assert.equal(interpolation?.accuracy.heldOut, CONV3X3_SHAPES.length);
  assert.ok((interpolation?.accuracy.mape ?? 1) < 1e-9);
});

test('mixed devices and builds, a block scheme without a block and bad numbers are all reported at once', () => {
  const good = point({ shape: shapeAt(0), density: 0.5, latencyNs: 1000 });
  const bad: MeasuredPoint[] = [
    good,
    { ...good, device: { id: 'other-phone' } },
    { ...good, agentHash: 'another-build' },
    { ...good, scheme: 'bcr', block: undefined },
    { ...good, medianNs: Number.NaN },
    { ...good, density: 0 },
  ];
  assert.throws(
    () => fitLut(bad, { createdAt: CREATED_AT }),
    (error: unknown) => {
      assert.ok(error instanceof FitInputError);
      assert.equal(error.name, 'FitInputError');
      assert.deepEqual(
        error.data.issues.map((i) => i.path),
        [
          'points[1].device.id',
          'points[2].agentHash',
          'points[3].block',
          'points[4].medianNs',
          'points[4].ciLowNs',
          'points[5].density',
        ],
      );
      assert.match(
        error.message,
        /points\[1\]\.device\.id: expected "test-device" \(one LUT per device\); got "other-phone"/,
      );
      return true;
    },
  );
  assert.throws(() => fitLut([], { createdAt: CREATED_AT }), /got none \(run a sweep first\)/);
});

test('settings given by the caller replace the defaults and are written into the LUT', () => {
  const p = point({ shape: shapeAt(0), density: 0.5, latencyNs: 1000 });
  const lut = fitLut([p], {
    createdAt: CREATED_AT,
    settings: { tileFloatsTried: [16], densityTolerance: 0.01 },
  });
  assert.deepEqual(lut.settings, {
    tileFloatsTried: [16],
    l1BytesTried: [16 * 1024, 32 * 1024, 64 * 1024],
    l2BytesTried: [256 * 1024, 1024 * 1024, 4096 * 1024],
    densityTolerance: 0.01,
    minShapesForAccuracy: 3,
    maxTrainingIntervalShare: 0.3,
  });
});

test('one backend per LUT: a gpu LUT says so, a cpu LUT has no backend field, mixing them is refused', () => {
  const cpu = point({ shape: shapeAt(0), density: 0.5, latencyNs: 1000 });
  const gpu: MeasuredPoint = { ...cpu, backend: 'gpu' };
  assert.equal('backend' in fitLut([cpu], { createdAt: CREATED_AT }), false);
  assert.equal(fitLut([gpu], { createdAt: CREATED_AT }).backend, 'gpu');
  assert.throws(
    () => fitLut([cpu, gpu], { createdAt: CREATED_AT }),
    /points\[1\]\.backend: expected cpu \(one backend per LUT: a GPU's latencies are not the CPU's\); got gpu/,
  );
});
