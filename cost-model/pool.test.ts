import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convShape, shapeKey } from '../config/shape.ts';
import type { LayerShape } from '../config/types.ts';
import { familyId, familyOf, poolKeyOf } from './family.ts';
import { computeFeatures } from './features.ts';
import { fitLut } from './fit.ts';
import { createLookup } from './lookup.ts';
import { chooseDeviceParams, fitPool, type PoolMember, predictCaseNs } from './predictor.ts';
import { CONV3X3_SHAPES, point, unstructuredTrainingPoints } from './test-support.ts';

const DENSITIES = [0.1, 0.25, 0.5];
const CONV1X1_SHAPES: readonly LayerShape[] = [
  convShape(32, 64, 28, 1, 1, 0),
  convShape(64, 128, 16, 1, 2, 0),
  convShape(96, 24, 14, 1, 1, 0),
  convShape(160, 96, 7, 1, 1, 0),
];
const OPTIONS = { minShapesForAccuracy: 3, tileFloatsTried: [16, 64] };

/**
 * A stated cost of the unstructured kernel in kernel-work terms, at a 64-float tile: 0.015 ns per FMA lane,
 * 0.25 ns per misaligned load, 8 ns per call, 0.3 ns per strided fill float, 1.5 us per run.
 */
function kernelFormulaNs(shape: LayerShape, density: number): number {
  const f = computeFeatures(shape, 'unstructured', null, density, 64);
  return (
    0.015 * f.fmaLanes + 0.25 * f.misalignedLoads + 8 * f.microKernelCalls + 0.3 * f.stridedFillFloats + 1500
  );
}

function member(shapes: readonly LayerShape[], latencyNs = kernelFormulaNs): PoolMember {
  const points = unstructuredTrainingPoints(shapes, DENSITIES, latencyNs);
  return { family: familyOf(shapes[0] as LayerShape, 'unstructured', null, 1), points };
}

test('conv families of one scheme share a pool whatever the kernel size; dense, pattern and the rest do not', () => {
  const family3x3 = familyOf(convShape(8, 8, 8, 3, 1, 1), 'bcr', '4x1', 1);
  const family1x1 = familyOf(convShape(8, 8, 8, 1, 1, 0), 'bcr', '4x1', 1);
  assert.equal(poolKeyOf(family3x3), 'conv bcr 4x1 t1');
  assert.equal(poolKeyOf(family1x1), poolKeyOf(family3x3));
  const pattern = familyOf(convShape(8, 8, 8, 3, 1, 1), 'pattern', null, 1);
  assert.equal(poolKeyOf(pattern), familyId(pattern));
  const dense = familyOf(convShape(8, 8, 8, 1, 1, 0), 'dense', null, 1);
  assert.equal(poolKeyOf(dense), familyId(dense));
});

test('a pool recovers a known kernel-work formula and grades each family on its own held-out shapes', () => {
  // The 1x1 family alone has one shape: no held-out figure of its own, but the pool gives it one.
  const lone = member(CONV1X1_SHAPES.slice(0, 1));
  const conv3x3 = member(CONV3X3_SHAPES);
  const [forLone, for3x3] = fitPool('conv unstructured t1', [lone, conv3x3], OPTIONS);
  assert.equal(forLone?.pool, 'conv unstructured t1');
  assert.equal(forLone?.model, for3x3?.model);
  assert.equal(forLone?.model.tileFloats, 64);
  assert.equal(forLone?.accuracy?.heldOut, DENSITIES.length);
  assert.ok((forLone?.accuracy?.mape ?? 1) < 0.01, `1x1 held out: MAPE ${forLone?.accuracy?.mape}`);
  assert.ok((for3x3?.accuracy?.mape ?? 1) < 0.01);
  // A 1x1 shape never seen, on a map whose rows are misaligned (14x14), is predicted from the pool.
  const unseen = CONV1X1_SHAPES[2] as LayerShape;
  const model = forLone?.model;
  assert.ok(model !== undefined);
  const predicted = predictCaseNs(model, unseen, 'unstructured', null, 0.3);
  assert.ok(Math.abs(predicted / kernelFormulaNs(unseen, 0.3) - 1) < 0.01);
});

test('a knot measured 30% slow (a disturbed repeat) hardly moves the fit elsewhere', () => {
  const odd = shapeKey(CONV3X3_SHAPES[4] as LayerShape);
  const disturbed = member(
    CONV3X3_SHAPES,
    (shape, density) =>
      kernelFormulaNs(shape, density) * (shapeKey(shape) === odd && density === 0.25 ? 1.3 : 1),
  );
  // 1x1 shapes in the pool too: trained on 3x3 layers alone, the cost of a lane that opens a channel slice
  // (firstTapLanes, 1 in 9 of a 3x3 layer's) cannot be told from any other lane's.
  const [predictor] = fitPool('conv unstructured t1', [disturbed, member(CONV1X1_SHAPES)], {
    ...OPTIONS,
    tileFloatsTried: [64],
  });
  assert.ok(predictor !== undefined);
  for (const shape of [...CONV1X1_SHAPES, ...CONV3X3_SHAPES.filter((s) => shapeKey(s) !== odd)]) {
    const predicted = predictCaseNs(predictor.model, shape, 'unstructured', null, 0.4);
    assert.ok(Math.abs(predicted / kernelFormulaNs(shape, 0.4) - 1) < 0.01, shapeKey(shape));
  }
});

test('the tile is chosen once for the device, from every conv pool', () => {
  const pools = [[member(CONV3X3_SHAPES)], [member(CONV1X1_SHAPES)]];
  assert.equal(chooseDeviceParams(pools, OPTIONS)?.tileFloats, 64);
  assert.equal(chooseDeviceParams([[member(CONV1X1_SHAPES.slice(0, 2))]], OPTIONS), undefined);
});

test('a conv family never measured borrows its pool model, with the widest interval of the pool', () => {
  const points = [...CONV3X3_SHAPES, ...CONV1X1_SHAPES].flatMap((shape) =>
    DENSITIES.map((density) => point({ shape, density, latencyNs: kernelFormulaNs(shape, density) })),
  );
  const lookup = createLookup(fitLut(points, { createdAt: '2025-01-01T00:00:00.000Z' }));
  const conv5x5 = convShape(32, 32, 16, 5, 1, 2);
  const answer = lookup.latency(conv5x5, 'unstructured', undefined, 0.25, 1);
  assert.equal(answer.source, 'predicted');
  assert.match(answer.rule, /pool conv unstructured t1/);
  assert.ok(Math.abs(answer.latencyNs / kernelFormulaNs(conv5x5, 0.25) - 1) < 0.02);
  assert.ok(answer.intervalNs[0] <= answer.latencyNs && answer.latencyNs <= answer.intervalNs[1]);
});
