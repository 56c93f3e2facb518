/**
 * Uniform baselines at equal proxy: one scheme (and block) on every layer at one sparsity, the paper's
 * "uniform-scheme framework". Layers the scheme cannot apply to (or that the LUT cannot price there) stay
 * dense. The sparsity is chosen so that the model proxy equals the mapping's: between two sparsities of the
 * grid whose proxies bracket the target, latency is interpolated linearly in the proxy (both move
 * monotonically with sparsity); outside the grid's range the baseline is not compared (said so), never
 * extrapolated.
 */
import { totals } from './objective.ts';
import type { LayerCandidates, MappingTotals } from './types.ts';

export interface UniformPoint {
  readonly sparsity: number;
  readonly totals: MappingTotals;
  /** Layers that ran this scheme (the others stayed dense). */
  readonly layersPruned: number;
}

export interface BaselineAtProxy {
  readonly name: string;
  readonly points: readonly UniformPoint[];
  /** Predicted total latency at the target proxy, or null with `note` when the grid cannot reach it. */
  readonly latencyNs: number | null;
  /** The uniform sparsity (interpolated) that gives the target proxy. */
  readonly sparsity: number | null;
  readonly note: string;
}

export interface BaselineSpec {
  readonly name: string;
  readonly scheme: string;
  readonly block: string | null;
}

/** dense, unstructured, bcr at each block, pattern (3x3 convs; the rest dense). */
export function baselineSpecs(blocks: readonly string[]): BaselineSpec[] {
  return [
    { name: 'all dense', scheme: 'dense', block: null },
    { name: 'all unstructured', scheme: 'unstructured', block: null },
    ...blocks.map((block) => ({ name: `all bcr ${block}`, scheme: 'bcr', block })),
    { name: 'pattern where possible', scheme: 'pattern', block: null },
  ];
}

/**
 * Every uniform baseline the measured table compares (`prunelab map --evaluate-with`): dense, and each of
 * unstructured, bcr and block-punched per block, pattern where possible, when the mapper may use that scheme.
 */
export function measuredBaselineSpecs(schemes: readonly string[], blocks: readonly string[]): BaselineSpec[] {
  const perBlock = (scheme: string) =>
    schemes.includes(scheme)
      ? blocks.map((block) => ({ name: `all ${scheme} ${block}`, scheme, block }))
      : [];
  return [
    { name: 'all dense', scheme: 'dense', block: null },
    ...(schemes.includes('unstructured')
      ? [{ name: 'all unstructured', scheme: 'unstructured', block: null }]
      : []),
    ...perBlock('bcr'),
    ...perBlock('block-punched'),
    ...(schemes.includes('pattern')
      ? [{ name: 'pattern where possible', scheme: 'pattern', block: null }]
      : []),
  ];
}

/** The sparsities any layer's priced options offer for this scheme and block, ascending. */
export function uniformSparsities(layers: readonly LayerCandidates[], spec: BaselineSpec): number[] {
  return [
    ...new Set(
      layers.flatMap((l) =>
        l.options.filter((o) => o.scheme === spec.scheme && o.block === spec.block).map((o) => o.sparsity),
      ),
    ),
  ].sort((a, b) => a - b);
}

/** The spec at one sparsity on every layer that has it priced; the other layers stay dense (index 0). */
export function uniformChoice(
  layers: readonly LayerCandidates[],
  spec: BaselineSpec,
  sparsity: number,
): { choice: number[]; layersPruned: number } {
  let layersPruned = 0;
  const choice = layers.map((layer) => {
    const index = layer.options.findIndex(
      (o) => o.scheme === spec.scheme && o.block === spec.block && Math.abs(o.sparsity - sparsity) < 1e-9,
    );
    if (index < 0) return 0; // the scheme cannot run this layer here: it stays dense
    layersPruned++;
    return index;
  });
  return { choice, layersPruned };
}

export function uniformPoints(layers: readonly LayerCandidates[], spec: BaselineSpec): UniformPoint[] {
  return uniformSparsities(layers, spec).map((sparsity) => {
    const { choice, layersPruned } = uniformChoice(layers, spec, sparsity);
    return { sparsity, totals: totals(layers, choice), layersPruned };
  });
}

export function baselineAtProxy(
  layers: readonly LayerCandidates[],
  spec: BaselineSpec,
  targetProxy: number,
): BaselineAtProxy {
  const all = totals(
    layers,
    layers.map(() => 0),
  );
  if (spec.scheme === 'dense') {
    return {
      name: spec.name,
      points: [{ sparsity: 0, totals: all, layersPruned: 0 }],
      latencyNs: all.latencyNs,
      sparsity: 0,
      note: 'proxy 1 (nothing removed): the speed reference, at a higher proxy than any pruned mapping',
    };
  }
  const points = uniformPoints(layers, spec);
  if (points.length === 0) {
    return {
      name: spec.name,
      points,
      latencyNs: null,
      sparsity: null,
      note: 'no layer can run it in this LUT',
    };
  }
  let best: { latencyNs: number; sparsity: number; note: string } | undefined;
  for (let i = 0; i < points.length; i++) {
    const a = points[i] as UniformPoint;
    if (Math.abs(a.totals.proxy - targetProxy) < 1e-12) {
      if (best === undefined || a.totals.latencyNs < best.latencyNs)
        best = {
          latencyNs: a.totals.latencyNs,
          sparsity: a.sparsity,
          note: `at uniform sparsity ${a.sparsity}`,
        };
    }
    const b = points[i + 1];
    if (b === undefined) continue;
    const [hi, lo] = a.totals.proxy >= b.totals.proxy ? [a, b] : [b, a];
    if (!(hi.totals.proxy > targetProxy && targetProxy > lo.totals.proxy)) continue;
    const t = (hi.totals.proxy - targetProxy) / (hi.totals.proxy - lo.totals.proxy);
    const latencyNs = hi.totals.latencyNs + t * (lo.totals.latencyNs - hi.totals.latencyNs);
    const sparsity = hi.sparsity + t * (lo.sparsity - hi.sparsity);
    if (best === undefined || latencyNs < best.latencyNs) {
      best = {
        latencyNs,
        sparsity,
        note: `interpolated between uniform sparsities ${a.sparsity} and ${b.sparsity}`,
      };
    }
  }
  if (best === undefined) {
    const proxies = points.map((p) => p.totals.proxy);
    return {
      name: spec.name,
      points,
      latencyNs: null,
      sparsity: null,
      note:
        `proxy ${targetProxy.toFixed(4)} is outside what its sparsities reach ` +
        `(${Math.min(...proxies).toFixed(4)} to ${Math.max(...proxies).toFixed(4)}): not compared`,
    };
  }
  return { name: spec.name, points, ...best };
}

/** Every baseline at the target proxy. */
export function baselinesAtProxy(
  layers: readonly LayerCandidates[],
  blocks: readonly string[],
  targetProxy: number,
): BaselineAtProxy[] {
  return baselineSpecs(blocks).map((spec) => baselineAtProxy(layers, spec, targetProxy));
}

/** The fastest pruned baseline that reaches the target (all dense excluded: it never removes anything). */
export function bestBaseline(baselines: readonly BaselineAtProxy[]): BaselineAtProxy | undefined {
  return baselines
    .filter((b) => b.name !== 'all dense' && b.latencyNs !== null)
    .reduce<BaselineAtProxy | undefined>(
      (best, b) => (best === undefined || (b.latencyNs as number) < (best.latencyNs as number) ? b : best),
      undefined,
    );
}
