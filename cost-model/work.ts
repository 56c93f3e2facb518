/**
 * What the agent's kernels actually execute for one case, counted from (shape, scheme, block, density) the way
 * device-agent/src/layer.c dispatches it. Pure arithmetic; features.ts turns the counts into predictor
 * features. Counts are per run of the layer, fp32 (4 bytes a float or an index).
 *
 * Engines (layer.c, "the scheme decides the mask; the mask and the op decide the engine"):
 *  - rgs (kernels/rgs.c): unstructured (1-row groups), bcr and block-punched (br-row groups), depthwise
 *    (1-row groups on the row's own channel), and the "direct" dense conv (8-row groups, every column).
 *    Rows are cut into groups of br; a group keeps the union of its rows' columns and runs as sub-groups of
 *    8/4/2/1 rows. Per output tile (4 vectors) and sub-group, calls of nv vectors: nv = 2 for 8 rows, 4
 *    otherwise (32 vector registers: AVX-512 and NEON; AVX2 halves them, which the fit absorbs). Each call
 *    loops over the group's columns: one offset, h weights, nv input vectors, h x nv FMAs.
 *  - pattern (kernels/pattern.c): per tile and chunk of 128 rows, per input channel and pattern present, the 4
 *    tap vectors x 4 are loaded once; each kept kernel then costs one load and store of its accumulator tile
 *    and 4 FMA vectors; the chunk's scratch is zeroed and copied out per tile.
 *  - mvec (kernels/mvec.c): the dense conv on small maps, vectorised over output channels. Row panels of
 *    2 vectors (MR rows) x nrs pixels (4..8, the one that pads n least); per panel pair and depth block of
 *    up to 1024, one call loops over the depth: 2 weight vectors, nrs broadcast pixels, 2 x nrs FMAs. The
 *    input columns are packed per run (k x n, padded to nrs), and the tile is transposed out.
 *  - The dense conv is the fastest of direct rgs, packed GEMM and mvec, timed at prepare time (layer.c,
 *    prepare_dense_conv). The count follows the engine the agent picks on this host's evidence (denseEngine):
 *    mvec where it pads the output row at least MVEC_MIN_SAVING less than rgs and the row is short, direct rgs
 *    (the one all shapes can run; packed GEMM does the same lanes) elsewhere. filter and channel run a
 *    smaller dense GEMM, counted as direct rgs on the kept rows. FC (kernels/fc.c) is not counted here
 *    (features.ts keeps its traffic features).
 *
 * Padding (view.c): a conv reads its input through phase planes of hq x wq floats (np = min(stride, k) per
 * axis, copied each run) or, for a 1x1 stride-1 unpadded conv, the input itself; each GEMM column is a run of
 * n = ho x wq floats at a fixed offset. Offsets that are not a multiple of the vector width make every load of
 * that column straddle two cache lines (a 1x1 conv on a 7x7 map: channel stride 49 floats): measured here at
 * about 1.8x the cost per column of aligned ones, so the share of misaligned columns is counted exactly.
 */
import { gemmCols, gemmRows, outputHeight, outputWidth, weightCount } from '../config/shape.ts';
import type { LayerShape } from '../config/types.ts';
import { parseBlockSize, type Scheme } from '../config/vocabulary.ts';

/** Bytes of one float or one stored index. */
const BYTES = 4;
/** Vectors per output tile in rgs and pattern (RGS_TV, PAT_NV with 32 registers): tile = 4 x vector width. */
const VECTORS_PER_TILE = 4;
/** Rows per scratch chunk of the pattern kernel (PAT_ROWS) and the number of library patterns. */
const PATTERN_CHUNK_ROWS = 128;
const PATTERN_COUNT = 8;
/** Row group of the direct dense conv (LAYER_DIRECT_BR). */
const DIRECT_ROWS = 8;
/** mvec (kernels/mvec.c): row vectors per panel, pixel widths tried (32 registers), depth block. */
const MVEC_ROW_VECTORS = 2;
const MVEC_MIN_PIXELS = 4;
const MVEC_MAX_PIXELS = 8;
const MVEC_DEPTH_BLOCK = 1024;
/**
 * When the dense conv runs mvec. The agent times the engines and keeps the fastest; the predictor cannot, so
 * it follows what the agent chose on the two benchmark databases of 2026-11-26 (5 and 6 models, 3 sweeps
 * each): gemm-mvec won 123 of 138 dense measurements with a virtual row of 8 to 80 floats other than 63 and
 * 64 (2 of 12 there, where rgs pads nothing or one float), 25 of 102 at 196 floats and none above (direct rgs
 * or the packed GEMM, which run the same lanes). mvec re-reads its weight panel once per nrs pixels where rgs
 * does once per 64-float tile, so it pays only when it saves padded lanes and the row is short: at least 10%
 * fewer lanes than rgs, on a row of at most two tiles.
 */
const MVEC_MIN_SAVING = 0.1;
const MVEC_MAX_TILES = 2;

/** Floats of one SIMD vector at a tile size: the tile is VECTORS_PER_TILE vectors (at least one float). */
export function vectorFloatsOf(tileFloats: number): number {
  return Math.max(1, tileFloats / VECTORS_PER_TILE);
}

/** Rows of one mvec weight panel (MVEC_MR): MVEC_ROW_VECTORS vectors. */
function mvecPanelRows(tileFloats: number): number {
  return MVEC_ROW_VECTORS * vectorFloatsOf(tileFloats);
}

/** The padded input as the kernels read it (view.c, view_init). */
export interface ConvView {
  readonly direct: boolean;
  readonly ho: number;
  readonly wo: number;
  readonly hq: number;
  readonly wq: number;
  readonly np: number;
  /** Output floats per row as computed (ho x wq): the virtual row. */
  readonly n: number;
  /** Floats per input channel in the source the offsets point into. */
  readonly channelFloats: number;
}

export function convView(shape: LayerShape): ConvView {
  const ho = outputHeight(shape);
  const wo = outputWidth(shape);
  if (shape.k === 1 && shape.stride === 1 && shape.pad === 0) {
    return {
      direct: true,
      ho,
      wo,
      hq: shape.h,
      wq: shape.w,
      np: 1,
      n: ho * shape.w,
      channelFloats: shape.h * shape.w,
    };
  }
  const extra = Math.floor((shape.k - 1) / shape.stride);
  const np = Math.min(shape.stride, shape.k);
  const hq = ho + extra;
  const wq = wo + extra;
  return { direct: false, ho, wo, hq, wq, np, n: ho * wq, channelFloats: np * np * hq * wq };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** view_offset(ci = 0, ky, kx) for every tap of the kernel. */
function tapOffsets(shape: LayerShape, view: ConvView): number[] {
  const offsets: number[] = [];
  const { k, stride } = shape;
  const plane = view.hq * view.wq;
  for (let ky = 0; ky < k; ky++) {
    for (let kx = 0; kx < k; kx++) {
      offsets.push(
        view.direct
          ? 0
          : ((ky % stride) * view.np + (kx % stride)) * plane +
              Math.floor(ky / stride) * view.wq +
              Math.floor(kx / stride),
      );
    }
  }
  return offsets;
}

/**
 * Share of GEMM columns whose offset (channel x channelFloats + tap offset) is not a multiple of the vector
 * width. Depthwise rows read their own channel at the same offsets, so the same count applies. Exact: the
 * channel term repeats with period vector / gcd(channelFloats, vector), so one period is enough.
 */
export function misalignedShare(shape: LayerShape, vectorFloats: number): number {
  if (shape.op === 'fc' || vectorFloats <= 1) return 0;
  const view = convView(shape);
  const taps = tapOffsets(shape, view);
  const period = vectorFloats / gcd(view.channelFloats % vectorFloats || vectorFloats, vectorFloats);
  const channels = shape.cin;
  let misaligned = 0;
  for (let ci = 0; ci < Math.min(period, channels); ci++) {
    const repeats = Math.floor((channels - 1 - ci) / period) + 1;
    for (const tap of taps) if ((ci * view.channelFloats + tap) % vectorFloats !== 0) misaligned += repeats;
  }
  return misaligned / (channels * taps.length);
}

/** Counts of one run of a conv layer's kernel (all per run, summed over tiles and row groups). */
export interface KernelWork {
  /** The kernel counted: its input loads are view reads (rgs, pattern) or packed, aligned panels (mvec). */
  readonly engine: 'rgs' | 'pattern' | 'mvec';
  /** Output tiles per row (virtual row rounded up to whole tiles). */
  readonly tiles: number;
  /** Column iterations of the micro-kernels (rgs) or kept kernels applied (pattern), over all tiles. */
  readonly columnPasses: number;
  /** Input vectors loaded by the micro-kernels. */
  readonly vectorLoads: number;
  /** Multiply-add lanes executed (vector lanes, wasted ones of partial tiles included). */
  readonly fmaLanes: number;
  /** Micro-kernel calls (rgs) or (channel, pattern) groups visited (pattern): accumulator set-up and stores. */
  readonly calls: number;
  /** Floats stored by the micro-kernels (whole vectors; pattern: its scratch zeroed and copied out). */
  readonly storedFloats: number;
  /**
   * Stores of a partial vector (rgs: the last vector of each output row when the row is not a whole number
   * of vectors), which go through a stack copy and a memcpy of variable length (simd.h, vf_store_partial).
   */
  readonly partialStores: number;
  /** Weight values plus stored indices streamed once per tile. */
  readonly weightBytesPerTile: number;
  /** Distinct input floats the kernels touch in one tile (every channel's slice, taps' spans included). */
  readonly inputBytesPerTile: number;
  /**
   * A tile's slices are whole channel planes (the map fits one tile): consecutive columns then read
   * consecutive memory, a stream the prefetcher follows, unlike the strided slices of larger maps.
   */
  readonly inputContiguous: boolean;
  /** The source the offsets point into (padded planes or the input itself). */
  readonly inputBytes: number;
  /** Output floats written, at 4 bytes (the virtual rows, before compaction). */
  readonly outputBytes: number;
  /** Outputs copied from virtual rows to the real output (wq != wo). */
  readonly compactFloats: number;
}

/** Sub-group heights of one br-row group (rgs.c, sub_height): 8, 4, 2, 1 greedily. */
export function subHeights(rows: number): number[] {
  const heights: number[] = [];
  for (let left = rows; left > 0; ) {
    const h = left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
    heights.push(h);
    left -= h;
  }
  return heights;
}

/** Vectors per call by sub-group height, 32 vector registers (rgs.c, RGS_NV8 ... RGS_NV1). */
function vectorsPerCall(height: number): number {
  return height === 8 ? 2 : 4;
}

/** Calls of one sub-group in a tile with `valid` output floats (rgs_task: stops at the first empty call). */
function callsInTile(height: number, valid: number, vectorFloats: number): number {
  const vectors = Math.min(VECTORS_PER_TILE, Math.ceil(valid / vectorFloats));
  return Math.ceil(vectors / vectorsPerCall(height));
}

/** Row groups and the columns each keeps, for the schemes the rgs engine runs. */
function rgsGroups(
  shape: LayerShape,
  scheme: Scheme,
  block: string | null,
  keptWeights: number,
): { rowsPerGroup: number; groupColumns: number } {
  const rows = gemmRows(shape);
  const cols = gemmCols(shape);
  if (shape.op === 'dwconv') return { rowsPerGroup: 1, groupColumns: keptWeights };
  switch (scheme) {
    case 'unstructured':
      return { rowsPerGroup: 1, groupColumns: keptWeights };
    case 'bcr':
    case 'block-punched': {
      // Both prune whole column segments of br rows (bcrRowShare 0, the agent's default): kept / br columns.
      const br = (block === null ? undefined : parseBlockSize(block))?.rows ?? 1;
      return { rowsPerGroup: br, groupColumns: keptWeights / br };
    }
    case 'pattern':
      throw new RangeError('pattern runs the pattern engine, not rgs');
    default: {
      // dense (direct rgs); filter and channel as the same 8-row dense groups over what they keep.
      const keptRows = scheme === 'channel' ? rows : Math.max(1, keptWeights / cols);
      const keptCols = scheme === 'channel' ? Math.max(1, keptWeights / rows) : cols;
      return { rowsPerGroup: DIRECT_ROWS, groupColumns: (keptRows / DIRECT_ROWS) * keptCols };
    }
  }
}

/** What a kernel's loops execute; the input, output and compaction traffic is added by the caller. */
type LoopWork = Omit<
  KernelWork,
  'engine' | 'inputBytesPerTile' | 'inputContiguous' | 'inputBytes' | 'outputBytes' | 'compactFloats'
>;

function rgsWork(
  shape: LayerShape,
  scheme: Scheme,
  block: string | null,
  keptWeights: number,
  view: ConvView,
  tileFloats: number,
): LoopWork {
  const rows = gemmRows(shape);
  const vectorFloats = vectorFloatsOf(tileFloats);
  const tiles = Math.ceil(view.n / tileFloats);
  const lastValid = view.n - tileFloats * (tiles - 1);
  const { rowsPerGroup, groupColumns } = rgsGroups(shape, scheme, block, keptWeights);
  const groups = Math.ceil(rows / rowsPerGroup);
  const columnsPerGroup = groupColumns / groups;
  const lastRows = rows - rowsPerGroup * (groups - 1);
  let calls = 0;
  let columnPasses = 0;
  let vectorLoads = 0;
  let fmaLanes = 0;
  let storedFloats = 0;
  const addGroups = (count: number, groupRows: number): void => {
    for (const h of subHeights(groupRows)) {
      const perRun =
        callsInTile(h, tileFloats, vectorFloats) * (tiles - 1) + callsInTile(h, lastValid, vectorFloats);
      const nv = vectorsPerCall(h);
      calls += count * perRun;
      columnPasses += count * perRun * columnsPerGroup;
      vectorLoads += count * perRun * columnsPerGroup * nv;
      fmaLanes += count * perRun * columnsPerGroup * h * nv * vectorFloats;
      storedFloats += count * perRun * h * nv * vectorFloats;
    }
  };
  addGroups(groups - 1, rowsPerGroup);
  addGroups(1, lastRows);
  // Only the last tile can end inside a vector, and every row's call there stores that vector.
  const partialStores = lastValid % vectorFloats === 0 ? 0 : rows;
  const perIndex = scheme === 'dense' || scheme === 'filter' || scheme === 'channel' ? 0 : 1;
  return {
    tiles,
    calls,
    columnPasses,
    vectorLoads,
    fmaLanes,
    storedFloats,
    partialStores,
    weightBytesPerTile: BYTES * (keptWeights + perIndex * groupColumns),
  };
}

/**
 * Expected (chunk, channel, pattern) groups that hold at least one kept kernel: with a share c of kernels
 * kept (connectivity) and patterns spread evenly over the library, a chunk of m rows holds pattern q on a
 * channel with probability 1 - (1 - c/8)^m. Magnitude pruning of random weights picks patterns about evenly.
 */
function patternGroups(rows: number, cin: number, keptKernels: number): number {
  const keptShare = Math.min(1, keptKernels / (rows * cin));
  let groups = 0;
  for (let r0 = 0; r0 < rows; r0 += PATTERN_CHUNK_ROWS) {
    const m = Math.min(PATTERN_CHUNK_ROWS, rows - r0);
    groups += cin * PATTERN_COUNT * (1 - (1 - keptShare / PATTERN_COUNT) ** m);
  }
  return groups;
}

function patternWork(shape: LayerShape, keptWeights: number, view: ConvView, tileFloats: number): LoopWork {
  const rows = gemmRows(shape);
  const tiles = Math.ceil(view.n / tileFloats);
  const keptKernels = keptWeights / 4;
  const groups = patternGroups(rows, shape.cin, keptKernels);
  return {
    tiles,
    calls: groups * tiles,
    columnPasses: keptKernels * tiles,
    // 4 taps x 4 vectors per group; each kernel then re-reads only its accumulator tile (scratch, in cache).
    vectorLoads: groups * tiles * 4 * VECTORS_PER_TILE,
    fmaLanes: keptWeights * tiles * tileFloats,
    storedFloats: 2 * rows * tiles * tileFloats,
    // Every (row, tile) is copied out of the scratch by memcpy, counted in storedFloats.
    partialStores: 0,
    // 4 weights and a row index per kept kernel.
    weightBytesPerTile: keptKernels * (4 + 1) * BYTES,
  };
}

/** The pixel width of mvec's micro-tile: the one that pads n least, ties to the wider (mvec_plan_create). */
export function mvecPixels(n: number): number {
  let best = MVEC_MAX_PIXELS;
  for (let r = MVEC_MAX_PIXELS; r >= MVEC_MIN_PIXELS; r--) {
    if (Math.ceil(n / r) * r < Math.ceil(n / best) * best) best = r;
  }
  return best;
}

/** Lanes per (row, column) pair of the dense conv: rgs 8-row calls of 2 vectors, mvec padded to nrs. */
function denseLanesPerOutput(n: number, tileFloats: number): { rgs: number; mvec: number } {
  const vectorFloats = vectorFloatsOf(tileFloats);
  const tiles = Math.ceil(n / tileFloats);
  const lastValid = n - tileFloats * (tiles - 1);
  const perCall = vectorsPerCall(DIRECT_ROWS) * vectorFloats;
  const rgs = (tiles - 1) * tileFloats + callsInTile(DIRECT_ROWS, lastValid, vectorFloats) * perCall;
  const nrs = mvecPixels(n);
  return { rgs, mvec: Math.ceil(n / nrs) * nrs };
}

/** The engine the dense conv of this shape is counted as (see MVEC_MIN_SAVING). */
export function denseEngine(shape: LayerShape, tileFloats: number): 'rgs' | 'mvec' {
  if (shape.op !== 'conv') return 'rgs';
  const { n } = convView(shape);
  if (n > MVEC_MAX_TILES * tileFloats) return 'rgs';
  const lanes = denseLanesPerOutput(n, tileFloats);
  return lanes.mvec <= (1 - MVEC_MIN_SAVING) * lanes.rgs ? 'mvec' : 'rgs';
}

function mvecWork(shape: LayerShape, view: ConvView, tileFloats: number): LoopWork {
  const rows = gemmRows(shape);
  const depth = gemmCols(shape);
  const panelRows = mvecPanelRows(tileFloats);
  const rowPanels = Math.ceil(rows / panelRows);
  const nrs = mvecPixels(view.n);
  const pixelPanels = Math.ceil(view.n / nrs);
  const depthBlocks = Math.ceil(depth / MVEC_DEPTH_BLOCK);
  const passes = rowPanels * pixelPanels * depth;
  const calls = rowPanels * pixelPanels * depthBlocks;
  return {
    // The weight panel is re-read per pixel panel: the "tile" of this engine.
    tiles: pixelPanels,
    calls,
    columnPasses: passes,
    vectorLoads: passes * MVEC_ROW_VECTORS,
    fmaLanes: passes * nrs * panelRows,
    // Accumulator tiles, plus the input columns packed per run (k x n padded to nrs).
    storedFloats: calls * nrs * panelRows + depth * pixelPanels * nrs,
    // Its tiles are whole micro-tiles of nrs pixels, transposed out float by float (compactFloats).
    partialStores: 0,
    weightBytesPerTile: BYTES * rowPanels * panelRows * depth,
  };
}

/** Kernel work of a conv or depthwise case; undefined for FC (no spatial tiles: features.ts covers it). */
export function kernelWork(
  shape: LayerShape,
  scheme: Scheme,
  block: string | null,
  density: number,
  tileFloats: number,
): KernelWork | undefined {
  if (shape.op === 'fc') return undefined;
  const view = convView(shape);
  const keptWeights = weightCount(shape) * density;
  const rows = gemmRows(shape);
  const traffic = {
    inputBytes: BYTES * shape.cin * view.channelFloats,
    outputBytes: BYTES * rows * view.n,
    compactFloats: view.wq === view.wo ? 0 : rows * view.ho * view.wo,
  };
  if (scheme === 'dense' && denseEngine(shape, tileFloats) === 'mvec') {
    // The kernel's vector loads walk a weight panel's depth block, in order; the tile is transposed out
    // into the output rows one float at a time, counted with the compaction.
    const depthBlock = Math.min(gemmCols(shape), MVEC_DEPTH_BLOCK);
    return {
      ...mvecWork(shape, view, tileFloats),
      engine: 'mvec',
      inputBytesPerTile: BYTES * depthBlock * mvecPanelRows(tileFloats),
      inputContiguous: true,
      ...traffic,
      compactFloats: traffic.compactFloats + rows * view.n,
    };
  }
  const pattern = scheme === 'pattern' && shape.op === 'conv';
  const core = pattern
    ? patternWork(shape, keptWeights, view, tileFloats)
    : rgsWork(shape, scheme, block, keptWeights, view, tileFloats);
  // Per tile every channel's slice is read, widened by the taps' span ((k-1)/s rows and columns further).
  const extra = view.direct ? 0 : Math.floor((shape.k - 1) / shape.stride);
  const span = extra * view.wq + extra;
  const perChannel = Math.min(view.channelFloats, view.np * view.np * (tileFloats + span));
  return {
    ...core,
    engine: pattern ? 'pattern' : 'rgs',
    inputBytesPerTile: BYTES * shape.cin * perChannel,
    inputContiguous: perChannel === view.channelFloats,
    ...traffic,
  };
}
