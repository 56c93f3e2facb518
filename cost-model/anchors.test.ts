import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convShape } from '../config/shape.ts';
import type { LayerShape } from '../config/types.ts';
import { anchorCorrection, anchorPointOf, octaveDistance } from './anchors.ts';
import { LutFormatError } from './errors.ts';
import { familyOf } from './family.ts';
import { computeFeatures } from './features.ts';
import { fitPool, leaveOneShapeOut, predictCaseNs } from './predictor.ts';
import { syntheticLut, unstructuredTrainingPoints } from './test-support.ts';
import type { ResidualAnchors } from './types.ts';
import { parseLut } from './validate.ts';

const SETTINGS = { bandwidth: 1, densityWeight: 4, priorWeight: 0.1 };
const AT = convShape(64, 64, 28, 3, 1, 1);

function anchors(points: ResidualAnchors['points'], settings = SETTINGS): ResidualAnchors {
  return { ...settings, points };
}

test('an anchor at the very case moves the prediction by its error, shrunk by the prior weight', () => {
  const measuredTwentyPercentSlower = anchorPointOf(AT, 0.5, 1000, 1200);
  assert.equal(measuredTwentyPercentSlower.logRatio, Math.log(1.2));
  const c = anchorCorrection(anchors([measuredTwentyPercentSlower]), AT, 0.5);
  // weight 1 at distance 0: c = ln 1.2 / (1 + 0.1)
  assert.ok(Math.abs(c - Math.log(1.2) / 1.1) < 1e-12);
  assert.equal(
    anchorCorrection(anchors([measuredTwentyPercentSlower], { ...SETTINGS, priorWeight: 0 }), AT, 0.5),
    Math.log(1.2),
  );
});

test('anchors of another op, kernel size or stride do not count; far ones fade out', () => {
  const slower = (shape: LayerShape) => anchorPointOf(shape, 0.5, 1000, 1500);
  const others = [
    slower(convShape(64, 64, 28, 1, 1, 0)),
    slower(convShape(64, 64, 56, 3, 2, 1)),
    slower({ ...AT, op: 'dwconv', cout: 64 }),
  ];
  assert.equal(anchorCorrection(anchors(others), AT, 0.5), 0);
  // Four octaves away in cin and cout: weight e^-16, the prior wins.
  const far = slower(convShape(1024, 1024, 28, 3, 1, 1));
  assert.ok(Math.abs(anchorCorrection(anchors([far]), AT, 0.5)) < 1e-6);
  // Density counts too: the same shape at density 0.125 is two octaves away, squared times densityWeight 4:
  // weight e^-8, a correction of 0.14% where the anchor's own error is 50%.
  const otherDensity = anchorPointOf(AT, 0.125, 1000, 1500);
  assert.ok(Math.abs(anchorCorrection(anchors([otherDensity]), AT, 0.5)) < 0.002);
});

test('octave distance: log2 of cin, cout and output pixels; other ops, kernel sizes and strides are not near', () => {
  // cin x2 (1 octave), cout x0.5 (1 octave), 28x28 -> 14x14 output (2 octaves): sqrt(1 + 1 + 4).
  assert.ok(Math.abs(octaveDistance(AT, convShape(128, 32, 14, 3, 1, 1)) - Math.sqrt(6)) < 1e-12);
  assert.equal(octaveDistance(AT, AT), 0);
  assert.equal(octaveDistance(AT, convShape(64, 64, 28, 1, 1, 0)), Number.POSITIVE_INFINITY);
  assert.equal(octaveDistance(AT, convShape(64, 64, 56, 3, 2, 1)), Number.POSITIVE_INFINITY);
});

test('two anchors at equal distance average their errors', () => {
  const up = anchorPointOf(convShape(64, 128, 28, 3, 1, 1), 0.5, 1000, 1200);
  const down = anchorPointOf(convShape(64, 32, 28, 3, 1, 1), 0.5, 1200, 1000);
  const c = anchorCorrection(anchors([up, down], { ...SETTINGS, priorWeight: 0 }), AT, 0.5);
  assert.ok(Math.abs(c) < 1e-12);
});

/**
 * A cost the work features cannot express: the kernel formula of pool.test.ts, 25% slower on wide layers
 * (cout >= 128), a step in a direction no feature follows. The pool holds pairs of neighbouring shapes, so a
 * held-out shape has a measured neighbour on its side of the step.
 */
const SHAPES: readonly LayerShape[] = [
  convShape(32, 96, 28, 3, 1, 1),
  convShape(32, 112, 28, 3, 1, 1),
  convShape(48, 64, 14, 3, 1, 1),
  convShape(56, 64, 14, 3, 1, 1),
  convShape(64, 160, 14, 3, 1, 1),
  convShape(64, 192, 14, 3, 1, 1),
  convShape(96, 256, 7, 3, 1, 1),
  convShape(112, 256, 7, 3, 1, 1),
  convShape(24, 32, 56, 3, 1, 1),
  convShape(24, 40, 56, 3, 1, 1),
  convShape(128, 512, 7, 3, 1, 1),
  convShape(160, 512, 7, 3, 1, 1),
];
const DENSITIES = [0.1, 0.25, 0.5];

function steppedNs(shape: LayerShape, density: number): number {
  const f = computeFeatures(shape, 'unstructured', null, density, 64);
  const base = 0.015 * f.fmaLanes + 8 * f.microKernelCalls + 0.3 * f.fillFloats + 1500;
  return shape.cout >= 128 ? 1.25 * base : base;
}

const POINTS = unstructuredTrainingPoints(SHAPES, DENSITIES, steppedNs);
const MEMBER = { family: familyOf(AT, 'unstructured', null, 1), points: POINTS };
const OPTIONS = { minShapesForAccuracy: 3, tileFloatsTried: [64] };

test('on a cost the features miss, cross-validation keeps anchors and they halve the held-out error', () => {
  const [plain] = fitPool(undefined, [MEMBER], { ...OPTIONS, anchorSettingsTried: [] });
  const [anchored] = fitPool(undefined, [MEMBER], OPTIONS);
  assert.ok(plain !== undefined && anchored !== undefined);
  assert.equal(plain.model.anchors, undefined);
  const kept = anchored.model.anchors;
  assert.ok(kept !== undefined, 'anchors were chosen');
  assert.equal(kept.points.length, POINTS.length);
  const plainError = plain.accuracy?.meanLogError ?? Number.NaN;
  const anchoredError = anchored.accuracy?.meanLogError ?? Number.NaN;
  assert.ok(anchoredError < plainError / 2, `held-out mean |log error| ${anchoredError} vs ${plainError}`);
  // The reported figure is leave-one-shape-out with the same anchors.
  const again = leaveOneShapeOut(anchored.model.kind, 64, POINTS, kept);
  assert.equal(again.length, POINTS.length);
  // A new shape beside a wide measured one is predicted on the slow side of the step.
  const beside = convShape(72, 176, 14, 3, 1, 1);
  const predicted = predictCaseNs(anchored.model, beside, 'unstructured', null, 0.25);
  const truth = steppedNs(beside, 0.25);
  assert.ok(Math.abs(predicted / truth - 1) < 0.08, `predicted ${predicted}, stated ${truth}`);
});

test('a LUT with anchors passes its schema; a malformed anchor is refused with its path', () => {
  const lut = syntheticLut();
  const [first, ...rest] = lut.predictors;
  assert.ok(first !== undefined);
  const withAnchors = {
    ...lut,
    predictors: [
      { ...first, model: { ...first.model, anchors: anchors([anchorPointOf(AT, 0.5, 1000, 1100)]) } },
      ...rest,
    ],
  };
  const parsed = parseLut(JSON.parse(JSON.stringify(withAnchors)), 'lut.json');
  assert.equal(parsed.predictors[0]?.model.anchors?.points.length, 1);
  const broken = JSON.parse(JSON.stringify(withAnchors));
  broken.predictors[0].model.anchors.points[0].density = 0;
  assert.throws(
    () => parseLut(broken, 'broken.json'),
    (error: unknown) =>
      error instanceof LutFormatError &&
      error.data.issues.some((issue) => issue.path.includes('anchors.points[0].density')),
  );
});
