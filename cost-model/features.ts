/**
 * Predictor features of a case, computed from what a mapper knows when it asks (shape, scheme, block,
 * density), never from what only a measurement reports, so training and prediction see the same numbers.
 * fp32 everywhere (4 bytes a value, 4 bytes an index). Shape arithmetic is config/shape.ts.
 *
 * The work features follow how the agent's sparse engine runs a convolution (device-agent/src/kernels/
 * rgs.h and view.c, XNNPACK's sparse layout): every output row is computed over a padded "virtual" row
 * of ho x wq floats (wq = wo + (k - 1) / stride, the planes the input is split into), in tiles of a fixed
 * number of floats; each kept weight costs one pass over every tile, whether the tile is full or not. So
 * small feature maps waste lanes, and the tile size (SIMD width x unroll) is a property of the build that
 * the fit picks by cross-validation (predictor.ts) instead of assuming it.
 */
import { denseFlops, gemmRows, outputHeight, outputWidth, weightCount } from '../config/shape.ts';
import type { LayerShape } from '../config/types.ts';
import { parseBlockSize, type Scheme } from '../config/vocabulary.ts';
import type { FeatureName } from './types.ts';

export type Features = Readonly<Record<FeatureName, number>>;

const BYTES_PER_VALUE = 4;

/**
 * Kept weights that share one stored index (DESIGN.md, "Pruning schemes"): a CSR nonzero has its own;
 * a bcr block keeps whole columns of `br` rows under one index; block-punched keeps one kernel position
 * across `br x bc` weights; a pattern kernel keeps 4 taps under one pattern id. The dense-GEMM schemes
 * (dense, filter, channel) store no index: 0.
 */
function weightsPerIndex(scheme: Scheme, block: string | null): number {
  const size = block === null ? undefined : parseBlockSize(block);
  switch (scheme) {
    case 'unstructured':
      return 1;
    case 'bcr':
      return size?.rows ?? 1;
    case 'block-punched':
      return size === undefined ? 1 : size.rows * size.cols;
    case 'pattern':
      return 4;
    default:
      return 0;
  }
}

/**
 * Output rows one micro-kernel call computes (device-agent/src/kernels/rgs.h: groups of br rows sharing
 * their kept columns): the block's rows for the block schemes, one row for unstructured and pattern, eight
 * for the dense-GEMM schemes (the agent's widest register block).
 */
function rowsPerCall(scheme: Scheme, block: string | null): number {
  const size = block === null ? undefined : parseBlockSize(block);
  switch (scheme) {
    case 'bcr':
    case 'block-punched':
      return size?.rows ?? 1;
    case 'unstructured':
    case 'pattern':
      return 1;
    default:
      return 8;
  }
}

/**
 * Floats of one output row as the kernels compute it: the padded virtual row for convolutions (a 1x1,
 * stride-1, unpadded conv reads the input in place: ho x w); FC at batch 1 has no spatial row (1).
 */
export function virtualRowFloats(shape: LayerShape): number {
  if (shape.op === 'fc') return 1;
  const ho = outputHeight(shape);
  if (shape.k === 1 && shape.stride === 1 && shape.pad === 0) return ho * shape.w;
  return ho * (outputWidth(shape) + Math.floor((shape.k - 1) / shape.stride));
}

/**
 * Floats the agent copies into its padded input planes before the kernel runs (view.c, view_fill):
 * cin x np^2 planes of hq x wq, np = min(stride, k); none for a 1x1 stride-1 unpadded conv (read in place)
 * or FC. Stride > 1 copies element by element instead of whole rows, hence a feature of its own.
 */
export function fillFloats(shape: LayerShape): number {
  if (shape.op === 'fc' || (shape.k === 1 && shape.stride === 1 && shape.pad === 0)) return 0;
  const planes = Math.min(shape.stride, shape.k) ** 2;
  const extra = Math.floor((shape.k - 1) / shape.stride);
  return shape.cin * planes * (outputHeight(shape) + extra) * (outputWidth(shape) + extra);
}

/**
 * - flops: useful FLOPs, 2 per kept multiply-add (dense FLOPs x density: the agent's count);
 * - paddedFlops: FLOPs the vector lanes execute: 2 per kept weight per float of the virtual row rounded up
 *   to whole tiles of `tileFloats` (equal to flops for FC);
 * - weightBytes: kept values, read once per run;
 * - indexLoads: stored indices (see weightsPerIndex) x tiles per row: the engine re-reads them per tile;
 * - activationBytes: input read plus output written, once each;
 * - outputCount: outputs written (per-output overhead: store, zeroing, the final compaction of wq to wo);
 * - kernelCalls: micro-kernel calls, row groups x tiles (each zeroes and stores its accumulators);
 * - fillFloats / stridedFillFloats: input floats copied into the padded planes, at stride 1 / above 1.
 */
export function computeFeatures(
  shape: LayerShape,
  scheme: Scheme,
  block: string | null,
  density: number,
  tileFloats: number,
): Features {
  const keptWeights = weightCount(shape) * density;
  const flops = denseFlops(shape) * density;
  const perIndex = weightsPerIndex(scheme, block);
  const outputCount = gemmRows(shape) * outputHeight(shape) * outputWidth(shape);
  const inputCount = shape.op === 'fc' ? shape.cin : shape.cin * shape.h * shape.w;
  const rowFloats = virtualRowFloats(shape);
  const tiles = shape.op === 'fc' ? 1 : Math.ceil(rowFloats / tileFloats);
  const fill = fillFloats(shape);
  return {
    flops,
    paddedFlops: shape.op === 'fc' ? flops : 2 * keptWeights * tiles * tileFloats,
    weightBytes: BYTES_PER_VALUE * keptWeights,
    indexLoads: perIndex === 0 ? 0 : (keptWeights / perIndex) * tiles,
    activationBytes: BYTES_PER_VALUE * (inputCount + outputCount),
    outputCount,
    kernelCalls: Math.ceil(gemmRows(shape) / rowsPerCall(scheme, block)) * tiles,
    fillFloats: shape.stride === 1 ? fill : 0,
    stridedFillFloats: shape.stride === 1 ? 0 : fill,
  };
}

export function featureVector(features: Features, names: readonly FeatureName[]): number[] {
  return names.map((name) => features[name]);
}
