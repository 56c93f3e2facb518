import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitCurve, readCurve } from './curve.ts';
import { isotonicNonDecreasing } from './isotonic.ts';
import type { LutPoint } from './types.ts';

function lutPoint(density: number, medianNs: number, relHalfWidth = 0.02): LutPoint {
  const half = medianNs * relHalfWidth;
  return {
    density,
    sparsity: 1 - density,
    medianNs,
    ciLowNs: medianNs - half,
    ciHighNs: medianNs + half,
    n: 10,
    flops: 0,
    keptBlocks: 0,
  };
}

test('isotonic regression leaves a rising sequence alone and pools a violation by weight', () => {
  assert.deepEqual(isotonicNonDecreasing([1, 2, 3], [1, 1, 1]), [1, 2, 3]);
  // 5 then 3 violate; pooled with weights 1 and 3: (5 + 9) / 4 = 3.5.
  assert.deepEqual(isotonicNonDecreasing([1, 5, 3, 6], [1, 1, 3, 1]), [1, 3.5, 3.5, 6]);
  // A violation that reaches back: 4, 3, 1 all pool to 8/3.
  const pooled = isotonicNonDecreasing([4, 3, 1, 9], [1, 1, 1, 1]);
  assert.ok(Math.abs((pooled[0] as number) - 8 / 3) < 1e-12);
  assert.equal(pooled[0], pooled[2]);
  assert.equal(pooled[3], 9);
});

test('a curve through rising measurements passes exactly through every measured point', () => {
  const points = [lutPoint(0.5, 500), lutPoint(0.1, 150), lutPoint(0.25, 280), lutPoint(1, 900)];
  const curve = fitCurve(points, 0.005);
  assert.deepEqual(
    curve.knots.map((k) => [k.density, k.latencyNs]),
    [
      [0.1, 150],
      [0.25, 280],
      [0.5, 500],
      [1, 900],
    ],
  );
  assert.equal(curve.maxDeviation, 0);
});

test('a curve over noisy measurements never decreases and stays next to the points', () => {
  // 0.25 measured slower than 0.5: noise. The precise point (0.5, 1% interval) should barely move.
  const points = [
    lutPoint(0.1, 100),
    lutPoint(0.25, 330, 0.05),
    lutPoint(0.5, 300, 0.01),
    lutPoint(0.75, 420),
  ];
  const curve = fitCurve(points, 0.005);
  const values = curve.knots.map((k) => k.latencyNs);
  for (let i = 1; i < values.length; i++) assert.ok((values[i] as number) >= (values[i - 1] as number));
  const pooled = curve.knots[1]?.latencyNs as number;
  // Inverse-variance weights: (330/16.5^2 + 300/3^2) / (1/16.5^2 + 1/3^2).
  const expected = (330 / 16.5 ** 2 + 300 / 3 ** 2) / (1 / 16.5 ** 2 + 1 / 3 ** 2);
  assert.ok(Math.abs(pooled - expected) < 1e-9);
  assert.ok(Math.abs(pooled - 300) / 300 < 0.01, `pooled ${pooled} should sit near the precise point`);
  assert.ok(Math.abs(curve.maxDeviation - (330 - expected) / 330) < 1e-12);
  // Every knot's interval holds the curve's value there.
  for (const knot of curve.knots) assert.ok(knot.lowNs <= knot.latencyNs && knot.latencyNs <= knot.highNs);
});

test('repeats of one density merge into one knot: median of medians, envelope of intervals', () => {
  const curve = fitCurve([lutPoint(0.25, 100), lutPoint(0.2502, 110), lutPoint(0.2499, 300)], 0.005);
  assert.equal(curve.knots.length, 1);
  const knot = curve.knots[0];
  assert.equal(knot?.measuredNs, 110);
  assert.equal(knot?.lowNs, 98);
  assert.equal(knot?.highNs, 306);
  assert.equal(knot?.n, 30);
});

test('reading the curve: on a knot, between knots (linear), and outside the measured range', () => {
  const curve = fitCurve([lutPoint(0.1, 100), lutPoint(0.5, 500)], 0.005);
  const onKnot = readCurve(curve, 0.502, 0.005);
  assert.equal(onKnot.at, 'knot');
  const between = readCurve(curve, 0.2, 0.005);
  assert.equal(between.at, 'between');
  if (between.at === 'between') {
    assert.ok(Math.abs(between.latencyNs - 200) < 1e-9);
    assert.ok(Math.abs(between.lowNs - 196) < 1e-9);
    assert.ok(Math.abs(between.highNs - 204) < 1e-9);
  }
  assert.equal(readCurve(curve, 0.05, 0.005).at, 'below');
  assert.equal(readCurve(curve, 0.9, 0.005).at, 'above');
});
