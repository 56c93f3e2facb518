import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convShape } from '../config/shape.ts';
import type { LayerShape } from '../config/types.ts';
import { LutLookupError } from './errors.ts';
import { createLookup } from './lookup.ts';
import { CONV3X3_SHAPES, FC_SHAPE, formulaNs, shapeAt, syntheticLut } from './test-support.ts';

const lookup = createLookup(syntheticLut());

function within(actual: number, expected: number, share: number): boolean {
  return Math.abs(actual - expected) / expected <= share;
}

test('a measured density answers `measured` with the measured interval', () => {
  const shape = shapeAt(1);
  const answer = lookup.latency(shape, 'unstructured', undefined, 0.25, 1);
  assert.equal(answer.source, 'measured');
  assert.equal(answer.latencyNs, formulaNs(shape, 0.25));
  assert.deepEqual(answer.intervalNs, [formulaNs(shape, 0.25) * 0.98, formulaNs(shape, 0.25) * 1.02]);
  // Within the density tolerance (agents round to whole blocks) it is the same point.
  assert.equal(lookup.latency(shape, 'unstructured', undefined, 0.252, 1).source, 'measured');
});

test('between measured densities the answer is `interpolated` on the curve', () => {
  const shape = shapeAt(2);
  const answer = lookup.latency(shape, 'unstructured', undefined, 0.4, 1);
  assert.equal(answer.source, 'interpolated');
  // The synthetic latency is linear in density, so the interpolation is exact.
  assert.ok(within(answer.latencyNs, formulaNs(shape, 0.4), 1e-9));
  assert.ok(answer.intervalNs[0] <= answer.latencyNs && answer.latencyNs <= answer.intervalNs[1]);
  assert.match(answer.rule, /between measured densities 0.25 and 0.5/);
});

test('outside the measured densities the shape is anchored and scaled by the predictor', () => {
  const shape = shapeAt(3);
  const answer = lookup.latency(shape, 'unstructured', undefined, 0.75, 1);
  assert.equal(answer.source, 'predicted');
  assert.ok(within(answer.latencyNs, formulaNs(shape, 0.75), 0.01));
  assert.ok(answer.latencyNs >= lookup.latency(shape, 'unstructured', undefined, 0.5, 1).latencyNs);
});

test('an unmeasured shape is `predicted` with an interval from the cross-validated error', () => {
  const shape = CONV3X3_SHAPES.at(-1) ?? shapeAt(0);
  const answer = lookup.latency(shape, 'unstructured', undefined, 0.3, 1);
  assert.equal(answer.source, 'predicted');
  assert.ok(
    within(answer.latencyNs, formulaNs(shape, 0.3), 0.01),
    `${answer.latencyNs} vs ${formulaNs(shape, 0.3)}`,
  );
  assert.ok(answer.intervalNs[0] <= answer.latencyNs && answer.latencyNs <= answer.intervalNs[1]);
  assert.match(answer.rule, /linear predictor of conv3x3 unstructured t1 \(9 shapes/);
});

test('dense ignores the density asked for', () => {
  const answer = lookup.latency(shapeAt(0), 'dense', '8x4', 0.3, 1);
  assert.equal(answer.source, 'measured');
  assert.equal(answer.latencyNs, 50_000);
});

function lookupError(run: () => unknown): LutLookupError {
  try {
    run();
  } catch (error) {
    if (error instanceof LutLookupError) return error;
    throw error;
  }
  assert.fail('expected a LutLookupError');
}

test('a family never measured, too few shapes, other threads and bad queries throw LutLookupError', () => {
  const never = lookupError(() => lookup.latency(shapeAt(0), 'bcr', '8x4', 0.25, 1));
  assert.equal(never.name, 'LutLookupError');
  assert.equal(never.data.reason, 'family-not-measured');
  assert.match(never.message, /no measurement of family conv3x3 bcr 8x4 t1/);

  const fewShapes = lookupError(() =>
    lookup.latency({ ...FC_SHAPE, cin: 1024 }, 'unstructured', undefined, 0.5, 1),
  );
  assert.equal(fewShapes.data.reason, 'too-few-shapes');
  assert.match(
    fewShapes.message,
    /family fc unstructured t1 has 1 measured shape\(s\): at least 3 are needed/,
  );

  const outOfRange = lookupError(() => lookup.latency(FC_SHAPE, 'unstructured', undefined, 0.1, 1));
  assert.equal(outOfRange.data.reason, 'density-out-of-range');
  assert.match(outOfRange.message, /measured at densities 0.5 only/);

  const threads = lookupError(() => lookup.latency(shapeAt(1), 'unstructured', undefined, 0.25, 4));
  assert.equal(threads.data.reason, 'threads-not-measured');
  assert.match(threads.message, /measured with threads 1 only, not 4/);

  const noBlock = lookupError(() => lookup.latency(shapeAt(1), 'bcr', undefined, 0.25, 1));
  assert.equal(noBlock.data.reason, 'bad-query');
  const badDensity = lookupError(() =>
    lookup.latency(convShape(3, 3, 8, 3, 1, 1), 'unstructured', undefined, 1.5, 1),
  );
  assert.match(badDensity.message, /density must be in \(0, 1\]/);
});

test('a predicted interval comes from the held-out shapes as far from the measured ones as the query', () => {
  const lut = syntheticLut();
  const family = lut.predictors.find(
    (p) => p.family.opKind === 'conv3x3' && p.family.scheme === 'unstructured',
  );
  assert.ok(family?.accuracy != null && family.accuracyByDistance !== undefined);
  // The fit's split covers every held-out prediction of the family once.
  const { near, far } = family.accuracyByDistance;
  assert.equal((near?.heldOut ?? 0) + (far?.heldOut ?? 0), family.accuracy.heldOut);
  // Literal errors, so the test says which interval the lookup must pick: ±5% near, ±30% far.
  const split = {
    near: { ...family.accuracy, logErrorP90: Math.log(1.05) },
    far: { ...family.accuracy, logErrorP90: Math.log(1.3) },
  };
  const edited = {
    ...lut,
    predictors: lut.predictors.map((p) => (p === family ? { ...p, accuracyByDistance: split } : p)),
  };
  const answerOf = (shape: LayerShape) =>
    createLookup(edited).latency(shape, 'unstructured', undefined, 0.25, 1);
  // The last test shape (8 -> 96 on 20x20, not measured) is 2.3 octaves from the nearest measured one
  // (24 -> 40 on 14x14): far. A 20 -> 36 layer on 14x14 is 0.3 octaves from that one: near.
  const farAnswer = answerOf(shapeAt(9));
  const nearAnswer = answerOf(convShape(20, 36, 14, 3, 1, 1));
  for (const [answer, factor, words] of [
    [farAnswer, 1.3, /octaves away, interval from the held-out shapes beyond 1 octave/],
    [nearAnswer, 1.05, /octaves away, interval from the held-out shapes within 1 octave/],
  ] as const) {
    assert.equal(answer.source, 'predicted');
    assert.ok(
      within(answer.intervalNs[1] / answer.latencyNs, factor, 1e-9),
      `${answer.intervalNs} ${answer.latencyNs}`,
    );
    assert.ok(within(answer.latencyNs / answer.intervalNs[0], factor, 1e-9));
    assert.match(answer.rule, words);
  }
});
