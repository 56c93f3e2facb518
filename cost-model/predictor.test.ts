import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convShape, dwconvShape, shapeKey } from '../config/shape.ts';
import type { LayerShape } from '../config/types.ts';
import type { Scheme } from '../config/vocabulary.ts';
import { familyOf } from './family.ts';
import { computeFeatures, virtualRowFloats } from './features.ts';
import {
  fitModel,
  fitPredictor,
  leaveOneShapeOut,
  predictCaseNs,
  predictNs,
  type TrainingPoint,
} from './predictor.ts';
import { CONV3X3_SHAPES, formulaNs, shapeAt } from './test-support.ts';
import type { FeatureName } from './types.ts';

const DENSITIES = [0.1, 0.25, 0.5];
const OPTIONS = { minShapesForAccuracy: 3, tileFloatsTried: [16, 64] };

function synthetic(
  latencyNs: (shape: LayerShape, density: number) => number,
  shapes: readonly LayerShape[] = CONV3X3_SHAPES,
  scheme: Scheme = 'unstructured',
): TrainingPoint[] {
  return shapes.flatMap((shape) =>
    DENSITIES.map((density) => ({
      shapeKey: shapeKey(shape),
      shape,
      scheme,
      block: null,
      density,
      latencyNs: latencyNs(shape, density),
    })),
  );
}

test('the padded virtual row follows the agent layout: wq = wo + (k - 1) / stride', () => {
  assert.equal(virtualRowFloats(convShape(64, 64, 32, 3, 1, 1)), 32 * 34);
  assert.equal(virtualRowFloats(convShape(64, 128, 32, 3, 2, 1)), 16 * 17);
  assert.equal(virtualRowFloats(convShape(64, 128, 32, 1, 2, 0)), 16 * 16);
  assert.equal(virtualRowFloats(convShape(64, 128, 14, 1, 1, 0)), 14 * 14);
  const f = computeFeatures(convShape(512, 512, 4, 3, 1, 1), 'unstructured', null, 0.5, 64);
  // 4 x 6 = 24 floats of virtual row fill one 64-float tile: 64 lane-FLOPs per multiply-add pair.
  assert.equal(f.paddedFlops, 2 * 512 * 512 * 9 * 0.5 * 64);
  assert.equal(f.flops, 2 * 512 * 512 * 9 * 0.5 * 16);
  assert.equal(f.indexLoads, 512 * 512 * 9 * 0.5);
});

test('the linear predictor recovers a known formula and predicts held-out shapes within 1%', () => {
  const points = synthetic(formulaNs);
  const model = fitModel('linear', 16, points);
  const coefficient = (name: FeatureName): number => model.coefficients[model.features.indexOf(name)] ?? 0;
  assert.ok(Math.abs(coefficient('flops') - 0.25) / 0.25 < 0.01, `flops cost ${coefficient('flops')}`);
  assert.ok(
    Math.abs(coefficient('weightBytes') - 0.05) / 0.05 < 0.01,
    `byte cost ${coefficient('weightBytes')}`,
  );
  assert.ok(Math.abs(model.intercept - 2000) / 2000 < 0.01, `overhead ${model.intercept}`);
  for (const pair of leaveOneShapeOut('linear', 16, points)) {
    assert.ok(Math.abs(pair.predictedNs - pair.measuredNs) / pair.measuredNs < 0.01);
  }
  const predictor = fitPredictor(familyOf(shapeAt(0), 'unstructured', null, 1), points, OPTIONS);
  assert.equal(predictor.model.kind, 'linear');
  assert.equal(predictor.shapes, CONV3X3_SHAPES.length);
  assert.equal(predictor.candidates.length, 4);
  assert.equal(predictor.accuracy?.within10, 1);
  assert.ok((predictor.accuracy?.mape ?? 1) < 0.01);
  // Serialised as plain JSON and read back, it predicts the same.
  const restored = JSON.parse(JSON.stringify(predictor.model));
  const probe = [shapeAt(3), 'unstructured', null, 0.3] as const;
  assert.equal(predictCaseNs(restored, ...probe), predictCaseNs(predictor.model, ...probe));
  assert.ok(
    Math.abs(predictCaseNs(restored, ...probe) - formulaNs(shapeAt(3), 0.3)) / formulaNs(shapeAt(3), 0.3) <
      0.01,
  );
});

test('the fit picks the tile size that explains padded work', () => {
  // Latency driven by lane-FLOPs at a 64-float tile (small feature maps waste lanes): the 64 candidate
  // must win over 16, and predict held-out shapes within 1%.
  const points = synthetic((shape, density) => {
    const f = computeFeatures(shape, 'unstructured', null, density, 64);
    return 0.02 * f.paddedFlops + 1000;
  });
  const predictor = fitPredictor(familyOf(shapeAt(0), 'unstructured', null, 1), points, OPTIONS);
  assert.equal(predictor.model.tileFloats, 64);
  assert.ok((predictor.accuracy?.mape ?? 1) < 0.01);
});

test('leave-one-shape-out never trains on the shape it predicts', () => {
  // One shape runs 3x slower than the formula. Held out, it is predicted from the nine exact shapes, so its
  // error is exactly (1 - 3) / 3; had any of its points been in training, the fit would have moved toward it.
  const odd = shapeKey(shapeAt(4));
  const points = synthetic((shape, density) => formulaNs(shape, density) * (shapeKey(shape) === odd ? 3 : 1));
  const pairs = leaveOneShapeOut('linear', 16, points);
  assert.equal(pairs.length, points.length);
  const oddPairs = pairs.filter((pair) => pair.shapeKey === odd);
  assert.equal(oddPairs.length, DENSITIES.length);
  for (const pair of oddPairs) {
    assert.ok(Math.abs((pair.predictedNs - pair.measuredNs) / pair.measuredNs + 2 / 3) < 1e-6);
  }
});

test('a family with fewer than 3 shapes gets a model but no accuracy figure', () => {
  const points = synthetic(formulaNs, CONV3X3_SHAPES.slice(0, 2));
  const predictor = fitPredictor(familyOf(shapeAt(0), 'unstructured', null, 1), points, OPTIONS);
  assert.equal(predictor.accuracy, null);
  assert.deepEqual(predictor.candidates, []);
  assert.equal(predictor.model.kind, 'linear');
});

test('the log-linear model recovers a power law', () => {
  // latency = 3 * paddedFlops^0.8; paddedFlops >> 1 so ln(1 + x) ~ ln x.
  const points = synthetic(
    (shape, density) => {
      const f = computeFeatures(shape, 'dense', null, density, 16);
      return 3 * f.paddedFlops ** 0.8;
    },
    CONV3X3_SHAPES,
    'dense',
  );
  for (const pair of leaveOneShapeOut('loglinear', 16, points)) {
    assert.ok(Math.abs(pair.predictedNs - pair.measuredNs) / pair.measuredNs < 0.01);
  }
});

test('a prediction stays within twice the ns-per-FLOP range the family was trained on', () => {
  const points = synthetic(formulaNs);
  const model = fitModel('linear', 16, points);
  const perFlop = points.map(
    (p) => p.latencyNs / computeFeatures(p.shape, p.scheme, p.block, p.density, 16).flops,
  );
  assert.deepEqual(model.nsPerFlopRange, [Math.min(...perFlop) / 2, Math.max(...perFlop) * 2]);
  // A model gone wild (a huge overhead) is held to the high end of the range.
  const wild = { ...model, intercept: 1e12 };
  const probe = computeFeatures(shapeAt(0), 'unstructured', null, 0.5, 16);
  assert.equal(predictNs(wild, probe), model.nsPerFlopRange[1] * probe.flops);
});

test('a depthwise pool fits the short depthwise feature list, not the conv one', () => {
  const shapes = [8, 14, 28, 56].flatMap((h) => [1, 2].map((stride) => dwconvShape(32 + h, h, 3, stride, 1)));
  const points = shapes.map((shape) => ({
    shapeKey: shapeKey(shape),
    shape,
    scheme: 'dense' as const,
    block: null,
    density: 1,
    latencyNs: 0.01 * computeFeatures(shape, 'dense', null, 1, 64).fmaLanes + 1000,
  }));
  const model = fitModel('linear', 64, points);
  const allowed = [
    'fmaLanes',
    'microKernelCalls',
    'partialStores',
    'fillFloats',
    'stridedFillFloats',
    'compactFloats',
  ];
  assert.ok(model.features.length > 0);
  for (const name of model.features) assert.ok(allowed.includes(name), `${name} is not a depthwise feature`);
});
