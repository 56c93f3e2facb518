/** Literal candidates for the mapper tests: options built from stated numbers, never presented as measured. */
import { convShape, fcShape } from '../../config/shape.ts';
import type { Scheme } from '../../config/vocabulary.ts';
import type { LayerCandidates, LayerKind, LayerOption } from './types.ts';

export function option(
  scheme: Scheme,
  block: string | null,
  sparsity: number,
  latencyNs: number,
  keptEnergy: number,
  weights = 100,
): LayerOption {
  const keptWeights = Math.round((1 - sparsity) * weights);
  return {
    scheme,
    block,
    sparsity,
    density: keptWeights / weights,
    keptWeights,
    keptEnergy,
    latencyNs,
    source: 'measured',
    intervalNs: [latencyNs, latencyNs],
  };
}

export function layer(name: string, kind: LayerKind, options: LayerOption[], weights = 100): LayerCandidates {
  const shape =
    kind === 'fc'
      ? fcShape(10, 10)
      : convShape(4, 4, 8, kind === 'conv3x3' ? 3 : kind === 'conv1x1' ? 1 : 5, 1, 0);
  return { name, shape, kind, weights, options, refused: [] };
}

/** A deterministic pseudo-random stream for generated cases (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
