import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shapeKey } from '../../config/shape.ts';
import type { MeasuredPoint } from '../../cost-model/index.ts';
import { CONV3X3_SHAPES, FC_SHAPE, formulaNs, point, shapeAt } from '../../cost-model/test-support.ts';
import { groupCases, holdOutShapes, NEIGHBOUR_BANDS, repeatNoise, WORST_CASES } from './evaluate.ts';

const DENSITIES = [0.1, 0.25, 0.5];

/** Every test shape at every density, latency by the stated formula; `skew` multiplies one shape's. */
function formulaPoints(skew?: { index: number; factor: number }): MeasuredPoint[] {
  return CONV3X3_SHAPES.flatMap((shape, index) =>
    DENSITIES.map((density) =>
      point({
        shape,
        density,
        latencyNs: formulaNs(shape, density) * (index === skew?.index ? skew.factor : 1),
      }),
    ),
  );
}

test('cases group the repeats of one shape, scheme and requested sparsity, and nothing else', () => {
  const shape = shapeAt(0);
  const groups = groupCases([
    point({ shape, density: 0.5, latencyNs: 100 }),
    point({ shape, density: 0.5, latencyNs: 110 }),
    point({ shape, density: 0.25, latencyNs: 60 }),
    point({ shape, scheme: 'dense', density: 1, latencyNs: 200 }),
  ]);
  assert.deepEqual(
    groups.map((g) => [g.family, g.points.length]),
    [
      ['conv3x3 dense t1', 1],
      ['conv3x3 unstructured t1', 2],
      ['conv3x3 unstructured t1', 1],
    ],
  );
  assert.ok(groups.every((g) => g.shapeKey === shapeKey(shape)));
});

test('repeat noise takes each run of a case as the prediction of its other runs', () => {
  const [a, b, c, d] = [shapeAt(0), shapeAt(1), shapeAt(2), shapeAt(3)];
  const noise = repeatNoise(
    groupCases([
      // 4% apart: within ±5% both ways.
      point({ shape: a, density: 0.5, latencyNs: 100 }),
      point({ shape: a, density: 0.5, latencyNs: 104 }),
      // 8% apart: within ±10%, not ±5% (+8%, -7.4%).
      point({ shape: b, density: 0.5, latencyNs: 100 }),
      point({ shape: b, density: 0.5, latencyNs: 108 }),
      // 20% apart: outside ±10% both ways.
      point({ shape: c, density: 0.5, latencyNs: 100 }),
      point({ shape: c, density: 0.5, latencyNs: 120 }),
      // Measured once: no repeat, no pair.
      point({ shape: d, density: 0.5, latencyNs: 100 }),
    ]),
  );
  assert.equal(noise.repeatedCases, 3);
  assert.equal(noise.accuracy?.heldOut, 6);
  assert.equal(noise.accuracy?.within10, 4 / 6);
  assert.equal(noise.accuracy?.within5, 2 / 6);
  assert.deepEqual(Object.keys(noise.byFamily), ['conv3x3 unstructured t1']);
});

test('holding out whole shapes: a formula the features follow is predicted, every case counted once', () => {
  const report = holdOutShapes(
    [...formulaPoints(), point({ shape: FC_SHAPE, density: 0.5, latencyNs: 3000 })],
    5,
  );
  const conv = report.families.find((f) => f.family === 'conv3x3 unstructured t1');
  assert.equal(conv?.shapes, CONV3X3_SHAPES.length);
  assert.equal(conv?.cases, CONV3X3_SHAPES.length * DENSITIES.length);
  assert.ok((conv?.accuracy?.within10 ?? 0) >= 0.9, `held out within ±10%: ${conv?.accuracy?.within10}`);
  // One FC shape: the fold that holds it out has no FC family left to ask, and says why.
  const fc = report.families.find((f) => f.family === 'fc unstructured t1');
  assert.equal(fc?.accuracy, null);
  assert.deepEqual(fc?.unanswered, { 'family-not-measured': 1 });
  assert.equal(report.answered + report.unanswered, CONV3X3_SHAPES.length * DENSITIES.length + 1);
  // The distance bands split the same cases.
  assert.equal(report.byNeighbour.length, NEIGHBOUR_BANDS.length);
  assert.equal(
    report.byNeighbour.reduce((sum, band) => sum + band.cases, 0),
    report.answered + report.unanswered,
  );
});

test('a held-out shape is predicted from the other shapes only, never from its own measurements', () => {
  // Shape 4 runs 3x slower than the formula: in-sample, its own knots (and anchors) would answer within a few
  // percent; held out, the formula of the others predicts about a third of it.
  const skewed = holdOutShapes(formulaPoints({ index: 4, factor: 3 }), 5);
  const plain = holdOutShapes(formulaPoints(), 5);
  const within = (report: typeof plain): number => report.overall?.within10 ?? Number.NaN;
  const cases = CONV3X3_SHAPES.length * DENSITIES.length;
  assert.ok(within(skewed) <= (cases - DENSITIES.length) / cases, `skewed: ${within(skewed)}`);
  assert.ok(within(plain) > within(skewed), `plain ${within(plain)}, skewed ${within(skewed)}`);
  // The report names it: its three densities are the worst-predicted cases, each well under the measurement.
  const skewedKey = shapeKey(shapeAt(4));
  const worst = skewed.worst.slice(0, DENSITIES.length);
  assert.ok(
    worst.every((c) => c.id.startsWith(skewedKey) && c.predictedNs / c.measuredNs < 0.75),
    JSON.stringify(worst),
  );
  assert.equal(skewed.worst.length, WORST_CASES);
});
