/**
 * Keep-masks of a layer's weights for a (scheme, block, sparsity): the ones the agent times, bit for bit.
 * A line-by-line mirror of device-agent/src/prune.c (prune_validate, prune_mask): the same units, the same
 * energy sums in the same order (in double, as C does), the same total order (score, then unit index), the
 * same "stop at the nearest reachable kept count, never remove the last unit" rule, bcr's two stages with
 * bcrRowShare as the agent reads it. test/masks-agent.test.ts pins it to the agent through `maskFnv1a`.
 *
 * Used by `prunelab prune` and `prunelab evaluate` (masks applied to an ONNX model's weights). The mappers'
 * proxy (mappers/proxy.ts) answers keptEnergy for every sparsity from one sort; this module builds the mask.
 * Weights are in the GEMM view (config/shape.ts): gemmRows(shape) x gemmCols(shape), row-major, column
 * (ci*k + ky)*k + kx; dwconv rows are channels and columns the k*k taps.
 */
import { gemmCols, gemmRows } from '../config/shape.ts';
import type { LayerShape } from '../config/types.ts';
import { parseBlockSize, type Scheme } from '../config/vocabulary.ts';
import { PATTERNS } from './mappers/proxy.ts';

export interface MaskSpec {
  readonly scheme: Scheme;
  /** `BRxBC` for bcr and block-punched; ignored by the other schemes. */
  readonly block: string | null;
  /** Requested fraction of weights removed, in [0, 1). */
  readonly sparsity: number;
  /** bcr only: share of the removed weights taken as row segments first (the agent's default is 0). */
  readonly bcrRowShare?: number;
}

export interface LayerMask {
  /** 1 = kept, 0 = removed; GEMM view, row-major. */
  readonly mask: Uint8Array;
  readonly keptWeights: number;
  /** keptWeights / all weights: the agent's `density`. */
  readonly density: number;
  /** As the agent's `keptBlocks`. */
  readonly keptBlocks: number;
  /** Kept sum of w^2 / sum of w^2 (1 for an all-zero layer). */
  readonly keptEnergy: number;
}

/** Pattern keeps 4 of 9 taps: its density cannot exceed this (prune.c's PATTERN_DENSITY). */
const PATTERN_DENSITY = 4 / 9;

function layerK(shape: LayerShape): number {
  return shape.op === 'fc' ? 1 : shape.k;
}

/**
 * prune_validate: why this (shape, spec) is not a layer the agent can prune, in the agent's words, or
 * undefined when it is.
 */
export function maskProblem(shape: LayerShape, spec: MaskSpec): string | undefined {
  const { scheme, sparsity } = spec;
  if (!(sparsity >= 0 && sparsity < 1)) return `sparsity must be in [0, 1), got ${sparsity}`;
  if (shape.op === 'dwconv' && scheme !== 'dense') {
    return `dwconv supports only the dense scheme, got ${scheme} (a depthwise kernel has k*k weights per channel: nothing to prune in blocks)`;
  }
  if (scheme === 'dense' && sparsity !== 0)
    return `scheme dense removes nothing: sparsity must be 0, got ${sparsity}`;
  const k = layerK(shape);
  if (scheme === 'pattern') {
    if (shape.op !== 'conv' || k !== 3) return `pattern needs a 3x3 conv, got ${shape.op} with k=${k}`;
    if (1 - sparsity > PATTERN_DENSITY + 1e-9) {
      return `pattern keeps 4 of 9 taps (density <= 0.444), so sparsity must be >= 0.556, got ${sparsity}; use unstructured below that`;
    }
  }
  if (scheme === 'bcr' || scheme === 'block-punched') {
    const block = spec.block === null ? undefined : parseBlockSize(spec.block);
    if (block === undefined)
      return `${scheme} needs a block BRxBC with BR, BC >= 1, got ${String(spec.block)}`;
    const { rows: br, cols: bc } = block;
    if (shape.cout % br !== 0) return `block ${br}x${bc} does not divide cout=${shape.cout}`;
    if (scheme === 'bcr') {
      const cols = shape.cin * k * k;
      if (cols % bc !== 0) {
        return k === 1
          ? `block ${br}x${bc} does not divide cin=${shape.cin}`
          : `block ${br}x${bc} does not divide cin*k*k=${cols}`;
      }
      const share = spec.bcrRowShare ?? 0;
      if (!(share >= 0 && share <= 1)) return `bcrRowShare must be in [0, 1], got ${share}`;
    } else if (shape.cin % bc !== 0) return `block ${br}x${bc} does not divide cin=${shape.cin}`;
  }
  return undefined;
}

/**
 * Prunable units as parallel arrays: score (kept squared magnitude), size (kept weights). The unit's index
 * is its position, the tie-break.
 */
interface Units {
  readonly score: Float64Array;
  readonly size: Int32Array;
}

function makeUnits(n: number): Units {
  return { score: new Float64Array(n), size: new Int32Array(n) };
}

/** Unit indices in the agent's total order: score, then index. */
function sortedOrder(units: Units): Int32Array {
  const order = new Int32Array(units.score.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const { score } = units;
  order.sort((a, b) => {
    const sa = score[a] as number;
    const sb = score[b] as number;
    return sa < sb ? -1 : sa > sb ? 1 : a - b;
  });
  return order;
}

/**
 * prune_select: the indices of the units to remove: the smallest in the total order (score, then index),
 * removed until the kept count lands nearest to targetKept (a removal that would overshoot by more than it
 * undershoots is not made), and one unit always stays.
 */
function selectRemoved(units: Units, startKept: number, targetKept: number): Int32Array {
  const n = units.score.length;
  const first = units.size[0] ?? 0;
  if (n > 0 && units.size.every((s) => s === first))
    return selectEqualSize(units, first, startKept, targetKept);
  const order = sortedOrder(units);
  let kept = startKept;
  let removed = 0;
  while (removed < n - 1 && kept > targetKept) {
    const size = units.size[order[removed] as number] as number;
    if (size > 0 && 2 * (kept - targetKept) < size) break; // removing it would overshoot by more
    kept -= size;
    removed++;
  }
  return order.subarray(0, removed);
}

/**
 * The agent's fast path when every unit has one size: the count follows from the sizes alone, then the
 * `removed` smallest units in the total order are every unit below the cut score and the lowest-indexed
 * ones at it. A numeric sort of the scores finds the cut (an index sort with a comparator took 2.6 s on a
 * 2.4-million-weight layer).
 */
function selectEqualSize(units: Units, size: number, startKept: number, targetKept: number): Int32Array {
  const n = units.score.length;
  let kept = startKept;
  let removed = 0;
  // As prune.c: the loop runs only for size > 0 (all units empty: nothing to remove).
  if (size > 0)
    while (removed < n - 1 && kept > targetKept && 2 * (kept - targetKept) >= size) {
      kept -= size;
      removed++;
    }
  const out = new Int32Array(removed);
  if (removed === 0) return out;
  const cut = Float64Array.from(units.score).sort()[removed - 1] as number;
  let below = 0;
  for (const score of units.score) if (score < cut) below++;
  let atCut = removed - below;
  let next = 0;
  for (let i = 0; i < n && next < removed; i++) {
    const score = units.score[i] as number;
    if (score < cut || (score === cut && atCut-- > 0)) out[next++] = i;
  }
  return out;
}

/** C's lround for the non-negative values it is given here: half away from zero. */
function lround(value: number): number {
  return Math.round(value);
}

const sq = (v: number): number => v * v;

function maskUnstructured(w: Float32Array, mask: Uint8Array, target: number): void {
  const n = w.length;
  const units = makeUnits(n);
  for (let i = 0; i < n; i++) {
    units.score[i] = sq(w[i] as number);
    units.size[i] = 1;
  }
  for (const i of selectRemoved(units, n, target)) mask[i] = 0;
}

function maskFilter(rows: number, cols: number, w: Float32Array, mask: Uint8Array, target: number): void {
  const units = makeUnits(rows);
  for (let r = 0; r < rows; r++) {
    let e = 0;
    for (let c = 0; c < cols; c++) e += sq(w[r * cols + c] as number);
    units.score[r] = e;
    units.size[r] = cols;
  }
  for (const r of selectRemoved(units, rows * cols, target)) mask.fill(0, r * cols, (r + 1) * cols);
}

function maskChannel(
  rows: number,
  cols: number,
  kk: number,
  w: Float32Array,
  mask: Uint8Array,
  target: number,
): void {
  const cin = cols / kk;
  const units = makeUnits(cin);
  for (let ci = 0; ci < cin; ci++) {
    let e = 0;
    for (let r = 0; r < rows; r++) for (let t = 0; t < kk; t++) e += sq(w[r * cols + ci * kk + t] as number);
    units.score[ci] = e;
    units.size[ci] = rows * kk;
  }
  for (const ci of selectRemoved(units, rows * cols, target))
    for (let r = 0; r < rows; r++) mask.fill(0, r * cols + ci * kk, r * cols + (ci + 1) * kk);
}

function maskPattern(rows: number, cols: number, w: Float32Array, mask: Uint8Array, target: number): void {
  const kernels = rows * (cols / 9);
  const units = makeUnits(kernels);
  for (let kn = 0; kn < kernels; kn++) {
    let best = 0;
    let bestE = -1;
    PATTERNS.forEach((pattern, p) => {
      let e = 0;
      for (let t = 0; t < 9; t++) if (pattern & (1 << t)) e += sq(w[kn * 9 + t] as number);
      if (e > bestE) {
        bestE = e;
        best = p;
      }
    });
    const pattern = PATTERNS[best] as number;
    for (let t = 0; t < 9; t++) mask[kn * 9 + t] = (pattern >> t) & 1;
    units.score[kn] = bestE;
    units.size[kn] = 4;
  }
  // Connectivity pruning: whole kernels, from 4/9 of the weights down to the target.
  for (const kn of selectRemoved(units, kernels * 4, target)) mask.fill(0, kn * 9, kn * 9 + 9);
}

function maskBcr(
  rows: number,
  cols: number,
  br: number,
  bc: number,
  rowShare: number,
  sparsity: number,
  w: Float32Array,
  mask: Uint8Array,
  target: number,
): void {
  const total = rows * cols;
  let kept = total;
  const nbr = rows / br;
  const nbc = cols / bc;
  if (rowShare > 0) {
    // Stage 1: row segments of bc weights, until rowShare of the weights to remove are gone.
    const rowTarget = total - lround(rowShare * sparsity * total);
    const units = makeUnits(rows * nbc);
    let n = 0;
    for (let r = 0; r < rows; r++)
      for (let b = 0; b < nbc; b++) {
        let e = 0;
        for (let c = b * bc; c < (b + 1) * bc; c++) e += sq(w[r * cols + c] as number);
        units.score[n] = e;
        units.size[n] = bc;
        n++;
      }
    for (const i of selectRemoved(units, kept, rowTarget)) {
      const r = Math.floor(i / nbc);
      const b = i % nbc;
      mask.fill(0, r * cols + b * bc, r * cols + (b + 1) * bc);
      kept -= bc;
    }
  }
  // Stage 2: column segments of br weights (what is left of them), until the target.
  const units = makeUnits(nbr * cols);
  let n = 0;
  for (let g = 0; g < nbr; g++)
    for (let c = 0; c < cols; c++) {
      let e = 0;
      let size = 0;
      for (let r = g * br; r < (g + 1) * br; r++)
        if (mask[r * cols + c]) {
          e += sq(w[r * cols + c] as number);
          size++;
        }
      units.score[n] = e;
      units.size[n] = size;
      n++;
    }
  for (const i of selectRemoved(units, kept, target)) {
    const g = Math.floor(i / cols);
    const c = i % cols;
    for (let r = g * br; r < (g + 1) * br; r++) mask[r * cols + c] = 0;
  }
}

function maskBlockPunched(
  rows: number,
  cols: number,
  kk: number,
  br: number,
  bc: number,
  w: Float32Array,
  mask: Uint8Array,
  target: number,
): void {
  const cin = cols / kk;
  const nbr = rows / br;
  const nbc = cin / bc;
  const units = makeUnits(nbr * nbc * kk);
  let n = 0;
  for (let g = 0; g < nbr; g++)
    for (let b = 0; b < nbc; b++)
      for (let t = 0; t < kk; t++) {
        let e = 0;
        for (let r = g * br; r < (g + 1) * br; r++)
          for (let ci = b * bc; ci < (b + 1) * bc; ci++) e += sq(w[r * cols + ci * kk + t] as number);
        units.score[n] = e;
        units.size[n] = br * bc;
        n++;
      }
  for (const idx of selectRemoved(units, rows * cols, target)) {
    const t = idx % kk;
    const b = Math.floor(idx / kk) % nbc;
    const g = Math.floor(idx / kk / nbc);
    for (let r = g * br; r < (g + 1) * br; r++)
      for (let ci = b * bc; ci < (b + 1) * bc; ci++) mask[r * cols + ci * kk + t] = 0;
  }
}

/** Blocks of br x bcols cells with any weight kept (prune.c's count_blocks). */
function countBlocks(rows: number, cols: number, br: number, bcols: number, mask: Uint8Array): number {
  let kept = 0;
  for (let r0 = 0; r0 < rows; r0 += br)
    for (let c0 = 0; c0 < cols; c0 += bcols) {
      let any = false;
      for (let r = r0; r < r0 + br && !any; r++)
        for (let c = c0; c < c0 + bcols; c++)
          if (mask[r * cols + c]) {
            any = true;
            break;
          }
      if (any) kept++;
    }
  return kept;
}

function keptBlocksOf(
  spec: MaskSpec,
  rows: number,
  cols: number,
  kk: number,
  mask: Uint8Array,
  kept: number,
): number {
  const block = spec.block === null ? undefined : parseBlockSize(spec.block);
  switch (spec.scheme) {
    case 'dense':
    case 'unstructured':
      return kept;
    case 'filter': {
      let rowsKept = 0;
      for (let r = 0; r < rows; r++) if (mask.subarray(r * cols, (r + 1) * cols).includes(1)) rowsKept++;
      return rowsKept;
    }
    case 'channel':
      return cols > 0 ? countBlocks(rows, cols, rows, kk, mask) : 0;
    case 'pattern':
      return countBlocks(rows, cols, 1, 9, mask);
    case 'bcr':
      return countBlocks(rows, cols, block?.rows ?? 1, block?.cols ?? 1, mask);
    case 'block-punched':
      return countBlocks(rows, cols, block?.rows ?? 1, (block?.cols ?? 1) * kk, mask);
  }
}

/**
 * The keep-mask of `weights` (GEMM view of `shape`) under `spec`: prune_mask. Throws a RangeError with the
 * agent's own reason when the spec is not a layer (maskProblem) or the weight count does not fit the shape.
 */
export function computeMask(weights: Float32Array, shape: LayerShape, spec: MaskSpec): LayerMask {
  const rows = gemmRows(shape);
  const cols = gemmCols(shape);
  const total = rows * cols;
  if (weights.length !== total) {
    throw new RangeError(
      `expected ${total} weights (${rows} x ${cols}, the GEMM view of a ${shape.op} layer), got ${weights.length}`,
    );
  }
  const problem = maskProblem(shape, spec);
  if (problem !== undefined) throw new RangeError(problem);
  const k = layerK(shape);
  const kk = shape.op === 'dwconv' ? 1 : k * k;
  const target = lround((1 - spec.sparsity) * total);
  const mask = new Uint8Array(total).fill(1);
  const block = spec.block === null ? undefined : parseBlockSize(spec.block);
  switch (spec.scheme) {
    case 'dense':
      break;
    case 'unstructured':
      maskUnstructured(weights, mask, target);
      break;
    case 'filter':
      maskFilter(rows, cols, weights, mask, target);
      break;
    case 'channel':
      maskChannel(rows, cols, kk, weights, mask, target);
      break;
    case 'pattern':
      maskPattern(rows, cols, weights, mask, target);
      break;
    case 'bcr':
      maskBcr(
        rows,
        cols,
        block?.rows ?? 1,
        block?.cols ?? 1,
        spec.bcrRowShare ?? 0,
        spec.sparsity,
        weights,
        mask,
        target,
      );
      break;
    case 'block-punched':
      maskBlockPunched(rows, cols, kk, block?.rows ?? 1, block?.cols ?? 1, weights, mask, target);
      break;
  }
  let energyAll = 0;
  let energyKept = 0;
  let kept = 0;
  for (let i = 0; i < total; i++) {
    const e = sq(weights[i] as number);
    energyAll += e;
    if (mask[i]) {
      energyKept += e;
      kept++;
    }
  }
  return {
    mask,
    keptWeights: kept,
    density: total > 0 ? kept / total : 1,
    keptBlocks: keptBlocksOf(spec, rows, cols, kk, mask, kept),
    keptEnergy: energyAll > 0 ? energyKept / energyAll : 1,
  };
}

/**
 * The agent's `maskFnv1a`: FNV-1a 64 over the mask bytes, as 16 lowercase hex digits. 64-bit arithmetic on
 * two 32-bit halves (BigInt per byte is far slower on million-weight layers): the prime 0x100000001b3 is
 * 2^40 + 0x1b3, so h * prime = h * 0x1b3 + (h << 40) mod 2^64.
 */
export function maskFnv1a(mask: Uint8Array): string {
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (let i = 0; i < mask.length; i++) {
    lo = (lo ^ (mask[i] as number)) >>> 0;
    // (hi:lo) * 0x1b3: lo * 0x1b3 < 2^41, its carry into hi is exact in double.
    const loProduct = lo * 0x1b3;
    const newLo = loProduct >>> 0;
    const carry = Math.floor(loProduct / 4294967296);
    const newHi = (Math.imul(hi, 0x1b3) + carry + (lo << 8)) >>> 0; // + (lo << 40) lands in hi as lo << 8
    hi = newHi;
    lo = newLo;
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}
