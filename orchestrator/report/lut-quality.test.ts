import assert from 'node:assert/strict';
import { test } from 'node:test';
import { familyId } from '../../cost-model/family.ts';
import { syntheticLut } from '../../cost-model/test-support.ts';
import { lutQuality } from './lut-quality.ts';

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

  const small = quality.families.find((f) => f.heldOut === null);
  assert.ok(small !== undefined, 'the one-shape FC family has no held-out figure');
  const smallPairs = quality.pairs.filter((p) => p.family === small.family);
  assert.ok(smallPairs.length > 0 && smallPairs.every((p) => !p.heldOut), 'shown as in-sample, labelled so');
});
