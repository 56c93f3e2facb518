/**
 * The accuracy PROXY: the fraction of squared weight magnitude a (scheme, block, sparsity) mask keeps on a
 * layer's weights. Not an accuracy: a cheap, documented stand-in that ranks finer-grained masks above coarser
 * ones at equal density (README.md, "Accuracy proxy"). `--evaluate` replaces it with a real measurement.
 *
 * The masks mirror device-agent/src/prune.c exactly (same units, same "stop at the nearest reachable kept
 * count" rule, bcr with bcrRowShare 0, the 8 PatDNN patterns in the same order), so on seeded weights this
 * is the agent's own `keptEnergy`. Within one scheme every unit has the same size, so the removed set is the
 * r smallest units whatever the tie-break: one sort per (layer, scheme, block) answers every sparsity.
 */
import { gemmCols, gemmRows } from '../../config/shape.ts';
import type { LayerShape } from '../../config/types.ts';
import { parseBlockSize, type Scheme } from '../../config/vocabulary.ts';

/** Tap masks of prune_patterns[] (bit ky*3 + kx), in the agent's order: first best wins a tie. */
const TAP = (ky: number, kx: number): number => 1 << (ky * 3 + kx);
export const PATTERNS: readonly number[] = [
  TAP(0, 1) | TAP(1, 0) | TAP(1, 1) | TAP(1, 2),
  TAP(1, 0) | TAP(1, 1) | TAP(1, 2) | TAP(2, 1),
  TAP(0, 1) | TAP(1, 0) | TAP(1, 1) | TAP(2, 1),
  TAP(0, 1) | TAP(1, 1) | TAP(1, 2) | TAP(2, 1),
  TAP(0, 0) | TAP(0, 1) | TAP(1, 0) | TAP(1, 1),
  TAP(0, 1) | TAP(0, 2) | TAP(1, 1) | TAP(1, 2),
  TAP(1, 0) | TAP(1, 1) | TAP(2, 0) | TAP(2, 1),
  TAP(1, 1) | TAP(1, 2) | TAP(2, 1) | TAP(2, 2),
];

export interface KeptAt {
  readonly keptWeights: number;
  /** keptWeights / all weights: what the agent reports as `density`. */
  readonly density: number;
  /** Kept sum of w^2 / sum of w^2 (1 for an all-zero layer, as the agent says). */
  readonly keptEnergy: number;
}

/** One (layer, scheme, block): the prunable units sorted by energy, ready for any sparsity. */
export interface EnergyTable {
  readonly scheme: Scheme;
  readonly totalWeights: number;
  readonly totalEnergy: number;
  /** Weights and energy before any unit is removed (pattern: the 4 best taps of every kernel). */
  readonly startKept: number;
  readonly startEnergy: number;
  /** Weights in one unit (all units of a scheme have the same size). */
  readonly unitSize: number;
  /** prefix[r] = energy of the r lowest-energy units. */
  readonly prefix: Float64Array;
}

function sortedPrefix(scores: Float64Array): Float64Array {
  scores.sort();
  const prefix = new Float64Array(scores.length + 1);
  for (let i = 0; i < scores.length; i++) prefix[i + 1] = (prefix[i] as number) + (scores[i] as number);
  return prefix;
}

function layerK(shape: LayerShape): number {
  return shape.op === 'fc' ? 1 : shape.k;
}

/**
 * The energy table of a layer under a scheme. `weights` is the GEMM view (gemmRows x gemmCols, column =
 * (ci*k + ky)*k + kx): ONNX's [cout][cin][kh][kw] as is; FC [out][in]. The caller checked feasibility
 * (orchestrator/plan/feasibility.ts); a block that does not divide the layer throws.
 */
export function energyTable(
  weights: Float32Array,
  shape: LayerShape,
  scheme: Scheme,
  block: string | null,
): EnergyTable {
  const rows = gemmRows(shape);
  const cols = gemmCols(shape);
  const total = rows * cols;
  if (weights.length !== total) {
    throw new RangeError(`expected ${total} weights (${rows} x ${cols}), got ${weights.length}`);
  }
  let totalEnergy = 0;
  for (let i = 0; i < total; i++) totalEnergy += (weights[i] as number) * (weights[i] as number);
  const k = layerK(shape);
  const kk = shape.op === 'dwconv' ? 1 : k * k;
  const base = { scheme, totalWeights: total, totalEnergy, startKept: total, startEnergy: totalEnergy };
  const parsed = block === null ? undefined : parseBlockSize(block);
  const needBlock = (): { rows: number; cols: number } => {
    if (parsed === undefined) throw new RangeError(`${scheme} needs a block BRxBC, got ${String(block)}`);
    return parsed;
  };
  switch (scheme) {
    case 'dense':
      return { ...base, unitSize: 1, prefix: new Float64Array(1) };
    case 'unstructured': {
      const scores = new Float64Array(total);
      for (let i = 0; i < total; i++) scores[i] = (weights[i] as number) * (weights[i] as number);
      return { ...base, unitSize: 1, prefix: sortedPrefix(scores) };
    }
    case 'filter': {
      const scores = new Float64Array(rows);
      for (let r = 0; r < rows; r++) {
        let e = 0;
        for (let c = 0; c < cols; c++) e += (weights[r * cols + c] as number) ** 2;
        scores[r] = e;
      }
      return { ...base, unitSize: cols, prefix: sortedPrefix(scores) };
    }
    case 'channel': {
      const cin = cols / kk;
      const scores = new Float64Array(cin);
      for (let ci = 0; ci < cin; ci++) {
        let e = 0;
        for (let r = 0; r < rows; r++)
          for (let t = 0; t < kk; t++) e += (weights[r * cols + ci * kk + t] as number) ** 2;
        scores[ci] = e;
      }
      return { ...base, unitSize: rows * kk, prefix: sortedPrefix(scores) };
    }
    case 'pattern': {
      if (shape.op !== 'conv' || k !== 3) throw new RangeError('pattern needs a 3x3 conv');
      const kernels = rows * (cols / 9);
      const scores = new Float64Array(kernels);
      let startEnergy = 0;
      for (let kn = 0; kn < kernels; kn++) {
        let best = -1;
        for (const pattern of PATTERNS) {
          let e = 0;
          for (let t = 0; t < 9; t++) if (pattern & (1 << t)) e += (weights[kn * 9 + t] as number) ** 2;
          if (e > best) best = e;
        }
        scores[kn] = best;
        startEnergy += best;
      }
      return {
        ...base,
        startKept: kernels * 4,
        startEnergy,
        unitSize: 4,
        prefix: sortedPrefix(scores),
      };
    }
    case 'bcr': {
      // bcrRowShare 0 (the agent's default): column segments of br weights inside each block row.
      const { rows: br } = needBlock();
      if (rows % br !== 0) throw new RangeError(`block ${block} does not divide cout=${rows}`);
      const groups = rows / br;
      const scores = new Float64Array(groups * cols);
      for (let g = 0; g < groups; g++)
        for (let c = 0; c < cols; c++) {
          let e = 0;
          for (let r = g * br; r < (g + 1) * br; r++) e += (weights[r * cols + c] as number) ** 2;
          scores[g * cols + c] = e;
        }
      return { ...base, unitSize: br, prefix: sortedPrefix(scores) };
    }
    case 'block-punched': {
      const { rows: br, cols: bc } = needBlock();
      const cin = cols / kk;
      if (rows % br !== 0 || cin % bc !== 0) throw new RangeError(`block ${block} does not divide the layer`);
      const scores = new Float64Array((rows / br) * (cin / bc) * kk);
      let n = 0;
      for (let g = 0; g < rows / br; g++)
        for (let b = 0; b < cin / bc; b++)
          for (let t = 0; t < kk; t++) {
            let e = 0;
            for (let r = g * br; r < (g + 1) * br; r++)
              for (let ci = b * bc; ci < (b + 1) * bc; ci++)
                e += (weights[r * cols + ci * kk + t] as number) ** 2;
            scores[n++] = e;
          }
      return { ...base, unitSize: br * bc, prefix: sortedPrefix(scores) };
    }
  }
}

/**
 * What the mask keeps at `sparsity`: prune_select's rule (remove the smallest units while the kept count is
 * above lround((1 - sparsity) x total) and one more removal does not overshoot by more than it undershoots;
 * the last unit is never removed).
 */
export function keptAt(table: EnergyTable, sparsity: number): KeptAt {
  const total = table.totalWeights;
  if (table.scheme === 'dense' || total === 0) return { keptWeights: total, density: 1, keptEnergy: 1 };
  const target = Math.round((1 - sparsity) * total);
  const size = table.unitSize;
  const units = table.prefix.length - 1;
  let kept = table.startKept;
  let removed = 0;
  if (kept > target && 2 * (kept - target) >= size) {
    // Closed form of the agent's one-at-a-time loop: the largest r with 2 * (kept - (r-1)*size - target) >= size.
    // One unit always stays, as in the agent: a layer with every weight pruned is not a layer.
    removed = Math.min(units - 1, Math.floor((2 * (kept - target) - size) / (2 * size)) + 1);
    while (removed > 0 && !(kept - (removed - 1) * size > target)) removed--;
  }
  kept -= removed * size;
  const energy = table.startEnergy - (table.prefix[removed] as number);
  return {
    keptWeights: kept,
    density: kept / total,
    keptEnergy: table.totalEnergy > 0 ? Math.max(0, energy) / table.totalEnergy : 1,
  };
}
