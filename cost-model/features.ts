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
import type { FeatureName, LEGACY_WORK_FEATURE_NAMES, WORK_FEATURE_NAMES } from './types.ts';
import { kernelWork, misalignedShare, vectorFloatsOf } from './work.ts';

export type Features = Readonly<Record<FeatureName, number>>;

/**
 * Cache sizes the miss features assume. Like the tile, they are properties of the device that the fit picks by
 * cross-validation (predictor.ts) rather than assumes; these defaults only serve callers that pass none (the
 * models written before the miss features existed use none of them).
 */
export interface CacheSizes {
  readonly l1Bytes: number;
  readonly l2Bytes: number;
}

export const DEFAULT_CACHE_SIZES: CacheSizes = { l1Bytes: 32 * 1024, l2Bytes: 1024 * 1024 };

/**
 * Share of a working set that does not fit a cache of `cacheBytes`: 0 when it fits, then 1 - cache / set (a
 * set streamed through an LRU cache keeps about `cache` bytes of it). A smooth stand-in for the step the
 * hardware shows, so that a cache size between two tried ones still ranks shapes in the right order.
 */
export function missShare(workingSetBytes: number, cacheBytes: number): number {
  return workingSetBytes <= cacheBytes ? 0 : 1 - cacheBytes / workingSetBytes;
}

/**
 * The L1 miss features' share: 0 when the tile's input slices fit, then 1 - sqrt(cache / set), which rises
 * faster past the cache than missShare. Why: each output row sweeps every slice of the tile in the same
 * order, a cyclic pattern that an LRU-like cache keeps less of than a random one, while the taps of a
 * channel and the prefetcher still hit part of it. An empirical knee: fitted on all of each of four
 * benchmark databases (fixed 64-float tile, 32 KiB L1, 1 MiB L2), the linear model was within ±10% of
 * 90.2-92.9% of its cases with missShare, 90.2-93.5% with this (no database worse), 89.8-93.3% with the cube
 * root and 81-86% with a step to 1. Held out (cost-model/README.md), it gained on all five databases.
 */
export function l1MissShare(sliceBytes: number, l1Bytes: number): number {
  return sliceBytes <= l1Bytes ? 0 : 1 - Math.sqrt(l1Bytes / sliceBytes);
}

const BYTES_PER_VALUE = 4;

/**
 * Kept weights that share one stored index (README.md, "Pruning schemes"): a CSR nonzero has its own;
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
/**
 * The kernel-work features (work.ts) at a tile and cache sizes; all zero for FC:
 * - fmaLanes: multiply-add lanes executed; columnPasses: micro-kernel column iterations (an offset, the
 *   weights, the input vectors); microKernelCalls: calls (accumulators zeroed and stored); storedFloats;
 * - partialStores: a row's last vector when the row ends inside it, stored through a stack copy and a memcpy
 *   (simd.h has no masked store). A 7x7 map's 49-float rows end that way on every row: without the feature
 *   the model's own fit left bcr 4x1 1x1 layers with 720 to 1280 output channels on 7x7 at density 0.1
 *   19 to 31% low (about 5 ns a row missing), and the bcr 1x1 family at 83% within ±10% in-sample (89% with it);
 * - firstTapLanes: fmaLanes / k², the lanes of the columns that bring a new channel's slice in (columns are
 *   channel-major, layer.c: the other k² - 1 taps re-read a slice already in L1). Exact with every tap kept;
 *   under pruning the share is higher, but the expected share (1 - (1 - d)^k²) / (k² d) scored no better on
 *   the benchmark (72% within ±10% against 73%). Without it one cost per lane served 1x1 and 3x3 alike, and
 *   the pool under-predicted the 1x1 layers;
 * - misalignedLoads: input vector loads at an offset that is not a multiple of the vector (tile / 4);
 * - stridedL1Misses, streamedL1Misses: input vector loads x the share of one tile's input slices (every
 *   channel's, taps' spans included) that does not fit L1 (l1MissShare). The weights stream through once per
 *   tile and are left out: measured here, adding them to the set explained less (a 1x1 conv with 64 input
 *   channels on a 14x14 map ran at L1 speed with 98 KB of weights per tile). Strided where a tile reads
 *   slices of planes wider than a tile; streamed where one tile holds every channel's whole plane (maps of up
 *   to one tile: 7x7 1x1, 3x3 on 2x2 to 7x7). Consecutive columns then read consecutive memory, which the
 *   prefetcher follows: measured here, 512-channel 3x3 layers on 2x2, 4x4 and 7x7 maps (32 to 165 KB of
 *   planes) ran within 10% of each other (unstructured, density 0.5), where one miss cost over both kinds of
 *   slices predicted the 7x7 one 45% slower than the 2x2 one. The legacy l1MissLoads (both in one),
 *   stridedL1MissLoads and l1StreamLoads take missShare instead;
 * - weightL2MissBytes: weights and indices re-read per tile, inputL2MissBytes: the source planes read,
 *   outputL2MissBytes: the virtual output written, each x the share of one run's data that does not fit L2:
 *   input, output and one tile's weights together. The agent times a layer back to back (about 2000 runs),
 *   so what L2 keeps between runs and tiles is bounded by their union: a 0.8 MB output "fits" a 1 MB L2
 *   alone, not next to a 1.2 MB input. With each part's share taken alone (the *StreamBytes these replace),
 *   the model's own fit left the 24->16 1x1 layer on 112x112 (MobileNet-V2 0.75) at 0.63 to 0.95 of its
 *   measured latency (0.71 to 1.11 with the union), and within ±10% of 88.6 to 90.8% of the cases on the four
 *   benchmark databases (90.2 to 92.9% with the union);
 * - compactFloats: outputs copied from the padded virtual rows to the real output.
 * The legacy features (LEGACY_WORK_FEATURE_NAMES) are computed as they were, for the LUTs that still use them.
 */
function workFeatures(
  shape: LayerShape,
  scheme: Scheme,
  block: string | null,
  density: number,
  tileFloats: number,
  cache: CacheSizes,
): Pick<Features, (typeof WORK_FEATURE_NAMES)[number] | (typeof LEGACY_WORK_FEATURE_NAMES)[number]> {
  const work = kernelWork(shape, scheme, block, density, tileFloats);
  if (work === undefined) {
    return {
      fmaLanes: 0,
      firstTapLanes: 0,
      columnPasses: 0,
      microKernelCalls: 0,
      storedFloats: 0,
      partialStores: 0,
      misalignedLoads: 0,
      stridedL1Misses: 0,
      streamedL1Misses: 0,
      l1MissLoads: 0,
      stridedL1MissLoads: 0,
      l1StreamLoads: 0,
      weightL2MissBytes: 0,
      inputL2MissBytes: 0,
      outputL2MissBytes: 0,
      weightStreamBytes: 0,
      inputStreamBytes: 0,
      outputStreamBytes: 0,
      compactFloats: 0,
    };
  }
  const l1Missing = work.vectorLoads * l1MissShare(work.inputBytesPerTile, cache.l1Bytes);
  const l1MissingLegacy = work.vectorLoads * missShare(work.inputBytesPerTile, cache.l1Bytes);
  const weightBytes = work.weightBytesPerTile * work.tiles;
  const l2Missing = missShare(work.inputBytes + work.outputBytes + work.weightBytesPerTile, cache.l2Bytes);
  return {
    fmaLanes: work.fmaLanes,
    firstTapLanes: work.fmaLanes / (shape.k * shape.k),
    columnPasses: work.columnPasses,
    microKernelCalls: work.calls,
    storedFloats: work.storedFloats,
    partialStores: work.partialStores,
    misalignedLoads:
      work.engine === 'mvec' ? 0 : work.vectorLoads * misalignedShare(shape, vectorFloatsOf(tileFloats)),
    stridedL1Misses: work.inputContiguous ? 0 : l1Missing,
    streamedL1Misses: work.inputContiguous ? l1Missing : 0,
    l1MissLoads: l1MissingLegacy,
    stridedL1MissLoads: work.inputContiguous ? 0 : l1MissingLegacy,
    l1StreamLoads: work.inputContiguous ? l1MissingLegacy : 0,
    weightL2MissBytes: weightBytes * l2Missing,
    inputL2MissBytes: work.inputBytes * l2Missing,
    outputL2MissBytes: work.outputBytes * l2Missing,
    weightStreamBytes: weightBytes * missShare(work.weightBytesPerTile, cache.l2Bytes),
    inputStreamBytes: work.inputBytes * missShare(work.inputBytes, cache.l2Bytes),
    outputStreamBytes: work.outputBytes * missShare(work.outputBytes, cache.l2Bytes),
    compactFloats: work.compactFloats,
  };
}

export function computeFeatures(
  shape: LayerShape,
  scheme: Scheme,
  block: string | null,
  density: number,
  tileFloats: number,
  cache: CacheSizes = DEFAULT_CACHE_SIZES,
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
    ...workFeatures(shape, scheme, block, density, tileFloats, cache),
  };
}

export function featureVector(features: Features, names: readonly FeatureName[]): number[] {
  return names.map((name) => features[name]);
}
