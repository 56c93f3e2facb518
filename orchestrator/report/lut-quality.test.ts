import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convShape } from '../../config/shape.ts';
import { familyId, fitLut } from '../../cost-model/index.ts';
import { CONV3X3_SHAPES, formulaNs, point, syntheticLut } from '../../cost-model/test-support.ts';
import { lutQuality } from './lut-quality.ts';

function within10Of(pairs: readonly { predictedNs: number; measuredNs: number }[]): number {
  return pairs.filter((p) => Math.abs(p.predictedNs / p.measuredNs - 1) <= 0.1).length / pairs.length;
}

test('LUT quality: held-out pairs reproduce the LUT accuracy figure; small families are in-sample', () => {
  const lut = syntheticLut();
  const quality = lutQuality(lut, 'lut-test.json');
  assert.equal(quality.deviceId, 'test-device');
  assert.equal(quality.families.length, lut.predictors.length);

  const unstructured = lut.predictors.find((p) => p.accuracy !== null);
  assert.ok(unstructured?.accuracy, 'the synthetic LUT has a family with a held-out estimate');
  const id = familyId(unstructured.family);
  const heldOut = quality.pairs.filter((p) => p.family === id);
  assert.ok(heldOut.length > 0 && heldOut.every((p) => p.heldOut));
  // The pairs are the same held-out predictions the fit graded: same count and same share within ±10%.
  assert.equal(heldOut.length, unstructured.accuracy.heldOut);
  const within10 =
    heldOut.filter((p) => Math.abs(p.predictedNs / p.measuredNs - 1) <= 0.1).length / heldOut.length;
  assert.ok(
    Math.abs(within10 - unstructured.accuracy.within10) < 1e-9,
    `${within10} vs ${unstructured.accuracy.within10}`,
  );
  assert.ok(heldOut.every((p) => Number.isFinite(p.density) && p.density > 0));

  // Every graded family, pooled or not, shows exactly the held-out predictions its figure was made of.
  for (const predictor of lut.predictors) {
    if (predictor.accuracy === null) continue;
    const pairs = quality.pairs.filter((p) => p.family === familyId(predictor.family));
    assert.equal(pairs.length, predictor.accuracy.heldOut, familyId(predictor.family));
    assert.ok(Math.abs(within10Of(pairs) - predictor.accuracy.within10) < 1e-9, familyId(predictor.family));
  }

  const small = quality.families.find((f) => f.heldOut === null);
  assert.ok(small !== undefined, 'the one-shape FC family has no held-out figure');
  const smallPairs = quality.pairs.filter((p) => p.family === small.family);
  assert.ok(smallPairs.length > 0 && smallPairs.every((p) => !p.heldOut), 'shown as in-sample, labelled so');
});

test('LUT quality: a pooled family is held out against the whole pool, as the LUT graded it', () => {
  // Unstructured 3x3 and 1x1 convolutions share one pool (one model over both kernel sizes).
  const oneByOne = [
    convShape(16, 32, 32, 1, 1, 0),
    convShape(64, 32, 16, 1, 1, 0),
    convShape(96, 48, 8, 1, 2, 0),
  ];
  const points = [...CONV3X3_SHAPES, ...oneByOne].flatMap((shape) =>
    [0.1, 0.25, 0.5].map((density) => point({ shape, density, latencyNs: formulaNs(shape, density) })),
  );
  const lut = fitLut(points, { createdAt: '2025-01-01T00:00:00.000Z' });
  const pooled = lut.predictors.filter((p) => p.pool !== undefined && p.accuracy !== null);
  assert.ok(pooled.length >= 2, `two families in one pool: ${lut.predictors.map((p) => p.pool).join(', ')}`);
  const quality = lutQuality(lut, 'lut-pooled.json');
  for (const predictor of pooled) {
    const accuracy = predictor.accuracy;
    assert.ok(accuracy !== null);
    const pairs = quality.pairs.filter((p) => p.family === familyId(predictor.family));
    assert.equal(pairs.length, accuracy.heldOut, familyId(predictor.family));
    assert.ok(Math.abs(within10Of(pairs) - accuracy.within10) < 1e-9, familyId(predictor.family));
    assert.match(
      quality.families.find((f) => f.family === familyId(predictor.family))?.modelKind ?? '',
      /pool/,
    );
  }
});
