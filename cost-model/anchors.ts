/**
 * Residual anchors: a fitted model's own error at the knots it was trained on, carried to nearby shapes.
 *
 * Why: what the work features miss is local. On the benchmark (cost-model/README.md), the held-out errors of
 * two shapes of one family at one density correlate by 0.55 when the shapes are within 0.6 octaves of each
 * other (cin, cout, output pixels), by 0.38 around one octave and not at all beyond 1.5; no shape descriptor
 * explains them globally (|r| <= 0.14 each). So a prediction is corrected by the errors the model makes on
 * the nearest measured shapes, and left alone where there are none: a new layer that is a channel-pruned
 * variant of a measured one (the common case when a mapper weighs filter pruning) gets its neighbour's
 * correction, an exotic shape gets the plain model.
 *
 * The correction is Nadaraya-Watson kernel smoothing of ln(measured / predicted) with a Gaussian kernel,
 * shrunk toward zero by a prior weight: c = sum(w_i r_i) / (sum(w_i) + prior), the prediction times e^c.
 * Anchors only count for shapes of the same op, kernel size and stride (a pool mixes 1x1 and 3x3 convs).
 * The settings are chosen by the same shape-held-out cross-validation as the model (predictor.ts), with
 * "no anchors" among the candidates, so a pool where they do not help keeps none.
 */
import { outputHeight, outputWidth } from '../config/shape.ts';
import type { LayerShape } from '../config/types.ts';
import type { AnchorPoint, ResidualAnchors } from './types.ts';

export type AnchorSettings = Pick<ResidualAnchors, 'bandwidth' | 'densityWeight' | 'priorWeight'>;

/**
 * Settings tried by cross-validation. Bandwidths of 0.75 to 1.25 octaves follow the correlation lengths
 * above; density distance weighs 4 to 16 times a shape axis because the errors differ more between
 * densities of one shape than between neighbouring shapes at one density; the prior weights are the sum of
 * kernel weights below which the correction is visibly shrunk (one anchor at 1.5 to 2.5 bandwidths).
 */
export const ANCHOR_SETTINGS_TRIED: readonly AnchorSettings[] = [0.75, 1.25].flatMap((bandwidth) =>
  [4, 16].flatMap((densityWeight) =>
    [0.03, 0.3].map((priorWeight) => ({ bandwidth, densityWeight, priorWeight })),
  ),
);

function outputPixels(shape: LayerShape): number {
  return shape.op === 'fc' ? 1 : outputHeight(shape) * outputWidth(shape);
}

/** Where a case sits for the kernel: log2 of cin, cout and output pixels, and of density. */
function position(shape: LayerShape, density: number): [number, number, number, number] {
  return [Math.log2(shape.cin), Math.log2(shape.cout), Math.log2(outputPixels(shape)), Math.log2(density)];
}

/** Shapes (or anchors) of another op, kernel size or stride run other code: no distance bridges them. */
function comparable(
  a: Pick<LayerShape, 'op' | 'k' | 'stride'>,
  b: Pick<LayerShape, 'op' | 'k' | 'stride'>,
): boolean {
  return a.op === b.op && a.k === b.k && a.stride === b.stride;
}

/**
 * Held-out shapes within this many octaves of a measured one are "near": their errors are smaller (on the
 * benchmark, 91-99% within ±10% against 77-85% beyond), so the accuracy and the lookup's intervals are kept
 * apart for them (predictor.ts, lookup.ts).
 */
export const NEAR_OCTAVES = 1;

/** Octaves from `shape` to the nearest of `others` (Infinity when none is comparable). */
export function nearestOctaves(shape: LayerShape, others: readonly LayerShape[]): number {
  return others.reduce(
    (nearest, other) => Math.min(nearest, octaveDistance(shape, other)),
    Number.POSITIVE_INFINITY,
  );
}

/**
 * Octaves between two layer shapes in cin, cout and output pixels (Euclidean over the log2 axes); Infinity
 * when their op, kernel size or stride differ, which anchors never bridge.
 */
export function octaveDistance(a: LayerShape, b: LayerShape): number {
  if (!comparable(a, b)) return Number.POSITIVE_INFINITY;
  const [ac, ao, ap] = position(a, 1);
  const [bc, bo, bp] = position(b, 1);
  return Math.hypot(ac - bc, ao - bo, ap - bp);
}

export function anchorPointOf(
  shape: LayerShape,
  density: number,
  predictedNs: number,
  measuredNs: number,
): AnchorPoint {
  return {
    op: shape.op,
    k: shape.k,
    stride: shape.stride,
    cin: shape.cin,
    cout: shape.cout,
    outputPixels: outputPixels(shape),
    density,
    logRatio: Math.log(measuredNs / predictedNs),
  };
}

/** ln of the factor a prediction for (shape, density) is multiplied by; 0 without anchors nearby. */
export function anchorCorrection(anchors: ResidualAnchors, shape: LayerShape, density: number): number {
  const [cin, cout, pixels, logDensity] = position(shape, density);
  const twoBandwidthSquared = 2 * anchors.bandwidth * anchors.bandwidth;
  let weights = 0;
  let weighted = 0;
  for (const a of anchors.points) {
    if (!comparable(a, shape)) continue;
    const distanceSquared =
      (Math.log2(a.cin) - cin) ** 2 +
      (Math.log2(a.cout) - cout) ** 2 +
      (Math.log2(a.outputPixels) - pixels) ** 2 +
      anchors.densityWeight * (Math.log2(a.density) - logDensity) ** 2;
    const w = Math.exp(-distanceSquared / twoBandwidthSquared);
    weights += w;
    weighted += w * a.logRatio;
  }
  return weighted / (weights + anchors.priorWeight);
}
