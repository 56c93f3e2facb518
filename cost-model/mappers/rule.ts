/**
 * The rule mapper: documented rules driven by the LUT, one layer at a time, at the layer's sparsity.
 *
 *  1. Candidates: the layer's priced options at the requested sparsity (every scheme and block that can
 *     exist there). None -> dense ("nothing can be priced at this sparsity").
 *  2. Prune only when it pays: if the fastest candidate is not faster than dense, the layer stays dense
 *     (pruning would lose proxy for no speed).
 *  3. Tolerance: keep the candidates within `tolerance[kind]` of the fastest (latency <= fastest x (1 + tol)).
 *  4. On a 3x3 conv, pattern wins if it is within tolerance (PatDNN: patterns keep accuracy best on 3x3).
 *  5. Otherwise the least regular scheme (config/vocabulary.ts order: unstructured, pattern, bcr,
 *     block-punched, channel, filter): finer masks keep more of the weights' energy; then the smallest block
 *     (area, then rows), then the lower latency.
 *  4'-5'. With measured drops (a sensitivity file; every candidate then has one, sensitivity.ts), rules 4 and 5
 *     are accuracy guesses that a measurement replaces: the least measured drop within tolerance wins, then
 *     the order of rule 5 breaks ties.
 * Kinds: 3x3 conv, 1x1 conv, FC, other (other convs; depthwise is dense-only anyway).
 */
import { parseBlockSize, SCHEMES } from '../../config/vocabulary.ts';
import type { LayerCandidates, LayerKind, LayerOption } from './types.ts';

export interface RuleSettings {
  readonly sparsity: number;
  readonly tolerance: Readonly<Record<LayerKind, number>>;
}

export const DEFAULT_RULE_TOLERANCE: Readonly<Record<LayerKind, number>> = {
  conv3x3: 0.1,
  conv1x1: 0.1,
  fc: 0.1,
  other: 0.1,
};

export interface RuleDecision {
  readonly index: number;
  /** Which rule decided, in words (shown per layer in the mapping). */
  readonly rule: string;
}

function blockArea(option: LayerOption): [number, number] {
  const block = option.block === null ? undefined : parseBlockSize(option.block);
  return block === undefined ? [0, 0] : [block.rows * block.cols, block.rows];
}

function regularity(option: LayerOption): number {
  return SCHEMES.indexOf(option.scheme);
}

function sameSparsity(a: number, b: number): boolean {
  return Math.abs(a - b) < 1e-9;
}

/** Rule 5's order: least regular scheme, smallest block (area, then rows), lower latency. */
function byRegularity(a: { option: LayerOption }, b: { option: LayerOption }): number {
  const [areaA, rowsA] = blockArea(a.option);
  const [areaB, rowsB] = blockArea(b.option);
  return (
    regularity(a.option) - regularity(b.option) ||
    areaA - areaB ||
    rowsA - rowsB ||
    a.option.latencyNs - b.option.latencyNs
  );
}

/** Rules 4'-5': the least measured drop within tolerance; rule 5's order among equal drops. */
function leastDrop(
  within: readonly { option: LayerOption; index: number }[],
  tolerance: number,
  candidates: number,
): RuleDecision {
  const sorted = [...within].sort(
    (a, b) => (a.option.drop as number) - (b.option.drop as number) || byRegularity(a, b),
  );
  const best = sorted[0] as { option: LayerOption; index: number };
  return {
    index: best.index,
    rule:
      `least measured drop (${((best.option.drop as number) * 100).toFixed(2)} points) within ${tolerance * 100}% ` +
      `of the fastest (${within.length} of ${candidates} options)`,
  };
}

export function ruleDecision(layer: LayerCandidates, settings: RuleSettings): RuleDecision {
  const tolerance = settings.tolerance[layer.kind];
  const indexed = layer.options.map((option, index) => ({ option, index }));
  const dense = indexed[0];
  if (dense === undefined) throw new RangeError(`layer ${layer.name} has no dense option`);
  const candidates = indexed.filter(
    (c) => c.option.scheme !== 'dense' && sameSparsity(c.option.sparsity, settings.sparsity),
  );
  if (candidates.length === 0) {
    return { index: 0, rule: `dense: no scheme can exist or be priced at sparsity ${settings.sparsity}` };
  }
  const fastest = Math.min(...candidates.map((c) => c.option.latencyNs));
  if (fastest >= dense.option.latencyNs) {
    return { index: 0, rule: `dense: no scheme at sparsity ${settings.sparsity} is faster than dense` };
  }
  const within = candidates.filter((c) => c.option.latencyNs <= fastest * (1 + tolerance));
  if (within.every((c) => c.option.drop !== undefined))
    return leastDrop(within, tolerance, candidates.length);
  const pattern = within.filter((c) => c.option.scheme === 'pattern');
  if (layer.kind === 'conv3x3' && pattern.length > 0) {
    const best = pattern.reduce((a, b) => (b.option.latencyNs < a.option.latencyNs ? b : a));
    return { index: best.index, rule: `pattern on 3x3 within ${tolerance * 100}% of the fastest` };
  }
  const sorted = [...within].sort(byRegularity);
  const best = sorted[0] as { option: LayerOption; index: number };
  return {
    index: best.index,
    rule: `least regular, smallest block within ${tolerance * 100}% of the fastest (${within.length} of ${candidates.length} options)`,
  };
}

export function ruleMapper(layers: readonly LayerCandidates[], settings: RuleSettings): RuleDecision[] {
  return layers.map((layer) => ruleDecision(layer, settings));
}
