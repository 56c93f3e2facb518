/**
 * Active sampling: of the cases a mapper may ask about (`candidates`), which N should the next sweep
 * measure? The ones the LUT is least sure about, ranked by (README.md, "Active sampling"):
 *  1. cases the LUT cannot answer at all (family never measured, or too few shapes for a cross-validated
 *     predictor), families with fewer measured shapes first;
 *  2. then by relative interval width (high - low) / latency of the lookup answer, which already carries
 *     the family's cross-validated error, times (1 + distance to the nearest measured shape of the family
 *     in log feature space), since a predictor is least trustworthy far from what it was trained on.
 * Measured cases are never suggested. The first case of each (shape, scheme, block, threads) comes before a
 * second density of the same one, so N suggestions cover as many layers as they can.
 */
import { shapeKey } from '../config/shape.ts';
import type { LayerShape } from '../config/types.ts';
import type { Scheme } from '../config/vocabulary.ts';
import { LutLookupError } from './errors.ts';
import { entryId, familyId, familyOf, lutBlock } from './family.ts';
import { computeFeatures } from './features.ts';
import { createLookup } from './lookup.ts';
import type { FeatureName, Lut } from './types.ts';

export interface SuggestCandidate {
  readonly shape: LayerShape;
  readonly scheme: Scheme;
  readonly block: string | undefined;
  readonly density: number;
  readonly threads: number;
  /** Model layers with this shape (`model/layer`), carried through to the suggestion. */
  readonly layers?: readonly string[];
}

export interface SuggestedCase {
  readonly shape: LayerShape;
  readonly shapeKey: string;
  readonly scheme: Scheme;
  readonly block: string | null;
  readonly sparsity: number;
  readonly threads: number;
  readonly layers: readonly string[];
  /** (high - low) / latency of today's answer; null when the LUT cannot answer. */
  readonly relativeWidth: number | null;
  /** Distance to the nearest measured shape of the family in log feature space; null when none. */
  readonly distance: number | null;
  readonly reason: string;
}

/** Shape size features (at density 1) for the distance: what makes one layer unlike another. */
const DISTANCE_FEATURES: readonly FeatureName[] = ['flops', 'weightBytes', 'activationBytes', 'outputCount'];

/** Any tile will do: none of the distance features depends on it. */
const ANY_TILE_FLOATS = 1;

function shapeCoordinates(shape: LayerShape): number[] {
  const features = computeFeatures(shape, 'dense', null, 1, ANY_TILE_FLOATS);
  return DISTANCE_FEATURES.map((name) => Math.log1p(features[name]));
}

function distance(a: readonly number[], b: readonly number[]): number {
  return Math.sqrt(a.reduce((sum, value, i) => sum + (value - (b[i] as number)) ** 2, 0));
}

interface Scored {
  readonly suggestion: SuggestedCase;
  readonly entry: string;
  readonly unanswerable: boolean;
  readonly familyShapes: number;
  readonly score: number;
}

function compare(a: Scored, b: Scored): number {
  if (a.unanswerable !== b.unanswerable) return a.unanswerable ? -1 : 1;
  if (a.unanswerable)
    return a.familyShapes - b.familyShapes || (b.suggestion.distance ?? 0) - (a.suggestion.distance ?? 0);
  return b.score - a.score;
}

export function suggest(lut: Lut, candidates: readonly SuggestCandidate[], count: number): SuggestedCase[] {
  const lookup = createLookup(lut);
  const measuredShapes = new Map<string, number[][]>();
  for (const entry of lut.entries) {
    const id = familyId(familyOf(entry.shape, entry.scheme, entry.block, entry.threads));
    measuredShapes.set(id, [...(measuredShapes.get(id) ?? []), shapeCoordinates(entry.shape)]);
  }
  const familyShapes = new Map<string, Set<string>>();
  for (const entry of lut.entries) {
    const id = familyId(familyOf(entry.shape, entry.scheme, entry.block, entry.threads));
    familyShapes.set(id, (familyShapes.get(id) ?? new Set()).add(entry.shapeKey));
  }
  const familyShapeCount = (id: string): number => familyShapes.get(id)?.size ?? 0;
  const measuredEntries = new Set(lut.entries.map((e) => entryId(e.shapeKey, e.scheme, e.block, e.threads)));

  const scored: Scored[] = [];
  const seenCases = new Set<string>();
  for (const candidate of candidates) {
    const block = lutBlock(candidate.scheme, candidate.block);
    const key = shapeKey(candidate.shape);
    const entry = entryId(key, candidate.scheme, block, candidate.threads);
    const caseId = `${entry} | d${candidate.density}`;
    if (seenCases.has(caseId)) continue;
    seenCases.add(caseId);
    const family = familyId(familyOf(candidate.shape, candidate.scheme, block, candidate.threads));
    const here = shapeCoordinates(candidate.shape);
    const nearest = (measuredShapes.get(family) ?? []).reduce<number | null>(
      (best, other) => Math.min(best ?? Number.POSITIVE_INFINITY, distance(here, other)),
      null,
    );
    const base = {
      shape: candidate.shape,
      shapeKey: key,
      scheme: candidate.scheme,
      block,
      // Rounded so that 1 - 0.3 reads 0.7 in a sweep config, not 0.7000000000000001.
      sparsity: Math.round((1 - candidate.density) * 1e9) / 1e9,
      threads: candidate.threads,
      layers: candidate.layers ?? [],
      distance: nearest,
    };
    try {
      const answer = lookup.latency(
        candidate.shape,
        candidate.scheme,
        block,
        candidate.density,
        candidate.threads,
      );
      if (answer.source === 'measured') continue;
      const relativeWidth = (answer.intervalNs[1] - answer.intervalNs[0]) / answer.latencyNs;
      scored.push({
        suggestion: { ...base, relativeWidth, reason: `${answer.source}: ${answer.rule}` },
        entry,
        unanswerable: false,
        familyShapes: familyShapeCount(family),
        // A shape with its own entry is anchored by its own measurements: distance plays no part.
        score: relativeWidth * (1 + (measuredEntries.has(entry) ? 0 : (nearest ?? 0))),
      });
    } catch (error) {
      if (!(error instanceof LutLookupError) || error.data.reason === 'bad-query') throw error;
      scored.push({
        suggestion: { ...base, relativeWidth: null, reason: `${error.data.reason}: ${error.message}` },
        entry,
        unanswerable: true,
        familyShapes: familyShapeCount(family),
        score: Number.POSITIVE_INFINITY,
      });
    }
  }
  scored.sort(compare);
  const firsts: Scored[] = [];
  const repeats: Scored[] = [];
  const seenEntries = new Set<string>();
  for (const item of scored) {
    (seenEntries.has(item.entry) ? repeats : firsts).push(item);
    seenEntries.add(item.entry);
  }
  return [...firsts, ...repeats].slice(0, Math.max(0, count)).map((item) => item.suggestion);
}
