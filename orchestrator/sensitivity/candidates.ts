/**
 * Which (scheme, block, sparsity) candidates each prunable layer is measured at. Pure: the model's layers and
 * the grid in, per-layer candidates and the refused ones (with why) out.
 *
 * With a LUT the candidates are exactly the options `prunelab map` prices for the layer (buildCandidates with the
 * LUT's lookup and the planner's feasibility rules, over the LUT's schemes and blocks and the map's default
 * sparsity grid plus the LUT's own, each narrowed by --schemes/--blocks/--sparsities): the drops the mapper
 * later reads then cover every option it weighs. Without one, the flags' product, minus what cannot exist.
 */
import { BLOCK_SCHEMES, parseBlockSize, type Scheme } from '../../config/vocabulary.ts';
import {
  buildCandidates,
  type CandidateSettings,
  createLookup,
  type Lut,
  type MapLayer,
} from '../../cost-model/index.ts';
import { DEFAULT_GRID, lutVocabulary } from '../map/compute.ts';
import type { OnnxLayer } from '../models/onnx.ts';
import { infeasibleReason } from '../plan/feasibility.ts';
import { SensitivityInputError } from './errors.ts';

export interface Candidate {
  readonly scheme: Scheme;
  /** `BRxBC` for bcr and block-punched, null otherwise (as mapping.json and the LUT write it). */
  readonly block: string | null;
  readonly sparsity: number;
}

export interface LayerPlan {
  readonly layer: OnnxLayer;
  readonly candidates: readonly Candidate[];
}

export interface RefusedCandidate {
  readonly layer: string;
  readonly option: string;
  readonly reason: string;
}

export interface CandidatePlan {
  readonly layers: readonly LayerPlan[];
  readonly refused: readonly RefusedCandidate[];
}

export interface GridRequest {
  readonly lut?: Lut;
  readonly lutFile?: string;
  /** The LUT's thread count whose latencies price the options (as `map --threads`). */
  readonly lutThreads: number;
  readonly schemes?: readonly Scheme[];
  readonly blocks?: readonly string[];
  readonly sparsities?: readonly number[];
}

function optionLabel(c: Candidate): string {
  return `${c.scheme}${c.block === null ? '' : ` ${c.block}`} @${c.sparsity}`;
}

function fromLut(layers: readonly OnnxLayer[], lut: Lut, request: GridRequest): CandidatePlan {
  const vocabulary = lutVocabulary(lut, request.lutThreads);
  const lookup = createLookup(lut);
  const lutGrid = lut.entries.flatMap((e) => e.points.map((p) => Math.round(p.sparsity * 10000) / 10000));
  const grid = [...new Set(request.sparsities ?? [...DEFAULT_GRID, ...lutGrid])]
    .filter((s) => s > 0 && s < 1)
    .sort((a, b) => a - b);
  const settings: CandidateSettings = {
    schemes: (request.schemes ?? vocabulary.schemes).filter((s) => s !== 'dense'),
    blocks: request.blocks ?? vocabulary.blocks,
    sparsities: grid,
    seed: 1,
    price: (shape, scheme, block, density) =>
      lookup.latency(shape, scheme, block, density, request.lutThreads),
    infeasible: (shape, scheme, block, sparsity) =>
      infeasibleReason(shape, scheme, block === null ? undefined : parseBlockSize(block), sparsity),
  };
  const mapLayers: MapLayer[] = layers.map((l) => ({ name: l.name, shape: l.shape, weights: l.weights }));
  const built = buildCandidates(mapLayers, settings);
  if (built.layers.length === 0) {
    throw new SensitivityInputError(
      `--lut ${request.lutFile}: the LUT cannot price any layer of the model at --lut-threads ${request.lutThreads} ` +
        `(${built.unpriced[0]?.reason ?? 'no layers'}); it was measured for another model or thread count. ` +
        'Pass the LUT you map this model with, or give --schemes/--blocks/--sparsities without --lut.',
      { option: '--lut', file: request.lutFile ?? '' },
    );
  }
  const priced = new Map(built.layers.map((c) => [c.name, c]));
  return {
    // Every prunable layer, in the model's order; one the LUT cannot price has no candidate (and says why below).
    layers: layers.map((layer) => ({
      layer,
      // options[0] is dense: the reference every drop is measured from, not a candidate.
      candidates: (priced.get(layer.name)?.options ?? [])
        .filter((o) => o.scheme !== 'dense')
        .map((o) => ({ scheme: o.scheme, block: o.block, sparsity: o.sparsity })),
    })),
    refused: [
      ...built.layers.flatMap((c) => c.refused.map((r) => ({ layer: c.name, ...r }))),
      ...built.unpriced.map((u) => ({
        layer: u.name,
        option: 'every option',
        reason: `not priced: ${u.reason}`,
      })),
    ],
  };
}

function fromFlags(layers: readonly OnnxLayer[], request: GridRequest): CandidatePlan {
  const schemes = (request.schemes ?? []).filter((s) => s !== 'dense');
  if (schemes.length === 0) {
    throw new SensitivityInputError(
      'give --lut FILE (measure the options `prunelab map` would weigh) or --schemes (e.g. unstructured,bcr)',
      { option: '--schemes', file: '' },
    );
  }
  const blocks = request.blocks ?? [];
  if (blocks.length === 0 && schemes.some((s) => BLOCK_SCHEMES.includes(s))) {
    throw new SensitivityInputError(
      `--schemes ${schemes.join(',')} has a block scheme: give --blocks (e.g. 4x1,4x2)`,
      { option: '--blocks', file: '' },
    );
  }
  const sparsities = request.sparsities ?? DEFAULT_GRID;
  const planned: LayerPlan[] = [];
  const refused: RefusedCandidate[] = [];
  for (const layer of layers) {
    const candidates: Candidate[] = [];
    for (const scheme of schemes)
      for (const block of BLOCK_SCHEMES.includes(scheme) ? blocks : [null])
        for (const sparsity of sparsities) {
          const candidate = { scheme, block, sparsity };
          const parsed = block === null ? undefined : parseBlockSize(block);
          const reason = infeasibleReason(layer.shape, scheme, parsed, sparsity);
          if (reason === undefined) candidates.push(candidate);
          else refused.push({ layer: layer.name, option: optionLabel(candidate), reason });
        }
    planned.push({ layer, candidates });
  }
  return { layers: planned, refused };
}

export function planCandidates(layers: readonly OnnxLayer[], request: GridRequest): CandidatePlan {
  return request.lut === undefined ? fromFlags(layers, request) : fromLut(layers, request.lut, request);
}

/** The cache key of a candidate within one (model, data, samples) run. */
export function candidateKey(layer: string, c: Candidate): string {
  return `${layer}|${c.scheme}|${c.block ?? '-'}|${c.sparsity}`;
}
