/**
 * Layers -> priced options: every (scheme, block, sparsity) that can exist on the layer (the feasibility rules
 * are passed in: the orchestrator's planner owns them, mirroring the agent) is scored by the proxy and priced
 * by the LUT. An option the LUT cannot price is refused with the lookup's reason, never guessed.
 */
import { gemmCols, gemmRows, shapeKey } from '../../config/shape.ts';
import type { LayerShape } from '../../config/types.ts';
import { BLOCK_SCHEMES, type Scheme } from '../../config/vocabulary.ts';
import type { LatencyAnswer } from '../types.ts';
import { type EnergyTable, energyTable, type KeptAt, keptAt } from './proxy.ts';
import { seededWeights } from './seeded-weights.ts';
import type { LayerCandidates, LayerKind, LayerOption } from './types.ts';

export interface MapLayer {
  readonly name: string;
  readonly shape: LayerShape;
  /** Real weights in the GEMM view (from an ONNX file); absent = the agent's seeded weights. */
  readonly weights?: Float32Array;
}

export interface CandidateSettings {
  readonly schemes: readonly Scheme[];
  /** Blocks tried for each block scheme (`BRxBC`). */
  readonly blocks: readonly string[];
  /** Sparsities tried for every pruning scheme (dense is always offered at 0). */
  readonly sparsities: readonly number[];
  /** Seed of the agent's weights when a layer brings none (the sweep's seed, 1 by default). */
  readonly seed: number;
  /** LUT price of a case; throws (LutLookupError) when the LUT cannot answer. */
  readonly price: (shape: LayerShape, scheme: Scheme, block: string | null, density: number) => LatencyAnswer;
  /** Why a case cannot exist, or undefined (orchestrator/plan/feasibility.ts). */
  readonly infeasible: (
    shape: LayerShape,
    scheme: Scheme,
    block: string | null,
    sparsity: number,
  ) => string | undefined;
}

export interface UnpricedLayer {
  readonly name: string;
  readonly shape: LayerShape;
  readonly reason: string;
}

export function layerKind(shape: LayerShape): LayerKind {
  if (shape.op === 'fc') return 'fc';
  if (shape.op === 'conv' && shape.k === 3) return 'conv3x3';
  if (shape.op === 'conv' && shape.k === 1) return 'conv1x1';
  return 'other';
}

function label(scheme: Scheme, block: string | null, sparsity: number): string {
  return `${scheme}${block === null ? '' : ` ${block}`} @${sparsity}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Proxy answers of seeded layers by (shape, scheme, block, sparsity): layers of one shape get the same seeded
 * weights (the agent seeds every case alike), so ResNet's repeated shapes are masked once.
 */
export type SeededProxyCache = Map<string, KeptAt>;

/** Options of one layer, or the reason it cannot be priced at all (no dense latency). */
export function layerCandidates(
  layer: MapLayer,
  settings: CandidateSettings,
  cache: SeededProxyCache = new Map(),
): LayerCandidates | UnpricedLayer {
  const { shape } = layer;
  let dense: LatencyAnswer;
  try {
    dense = settings.price(shape, 'dense', null, 1);
  } catch (error) {
    return { name: layer.name, shape, reason: messageOf(error) };
  }
  const count = gemmRows(shape) * gemmCols(shape);
  const options: LayerOption[] = [
    {
      scheme: 'dense',
      block: null,
      sparsity: 0,
      density: 1,
      keptWeights: count,
      keptEnergy: 1,
      latencyNs: dense.latencyNs,
      source: dense.source,
      intervalNs: dense.intervalNs,
    },
  ];
  const refused: { option: string; reason: string }[] = [];
  let weights = layer.weights;
  for (const scheme of settings.schemes) {
    if (scheme === 'dense') continue;
    const blocks = BLOCK_SCHEMES.includes(scheme) ? settings.blocks : [null];
    for (const block of blocks) {
      const feasible = settings.sparsities.filter((s) => {
        const reason = settings.infeasible(shape, scheme, block, s);
        if (reason !== undefined) refused.push({ option: label(scheme, block, s), reason });
        return reason === undefined;
      });
      if (feasible.length === 0) continue;
      let table: EnergyTable | undefined;
      const seeded = layer.weights === undefined;
      for (const sparsity of feasible) {
        const key = `${shapeKey(shape)}|${scheme}|${block}|${sparsity}|${settings.seed}`;
        let kept = seeded ? cache.get(key) : undefined;
        if (kept === undefined) {
          weights ??= seededWeights(count, settings.seed);
          table ??= energyTable(weights, shape, scheme, block);
          kept = keptAt(table, sparsity);
          if (seeded) cache.set(key, kept);
        }
        try {
          const answer = settings.price(shape, scheme, block, kept.density);
          options.push({
            scheme,
            block,
            sparsity,
            density: kept.density,
            keptWeights: kept.keptWeights,
            keptEnergy: kept.keptEnergy,
            latencyNs: answer.latencyNs,
            source: answer.source,
            intervalNs: answer.intervalNs,
          });
        } catch (error) {
          refused.push({ option: label(scheme, block, sparsity), reason: messageOf(error) });
        }
      }
    }
  }
  return { name: layer.name, shape, kind: layerKind(shape), weights: count, options, refused };
}

export function isUnpriced(value: LayerCandidates | UnpricedLayer): value is UnpricedLayer {
  return 'reason' in value;
}

/** Every layer's options; layers without a dense price are set apart (they cannot be in any total). */
export function buildCandidates(
  layers: readonly MapLayer[],
  settings: CandidateSettings,
): { readonly layers: LayerCandidates[]; readonly unpriced: UnpricedLayer[] } {
  const priced: LayerCandidates[] = [];
  const unpriced: UnpricedLayer[] = [];
  const cache: SeededProxyCache = new Map();
  for (const layer of layers) {
    const result = layerCandidates(layer, settings, cache);
    if (isUnpriced(result)) unpriced.push(result);
    else priced.push(result);
  }
  return { layers: priced, unpriced };
}
