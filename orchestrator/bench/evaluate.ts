/**
 * The cost-model benchmark's arithmetic (pure): how well held-out layer shapes are predicted, next to how
 * well the machine repeats its own measurements. costmodel.ts does the sweeps and the printing.
 */
import { shapeKey } from '../../config/shape.ts';
import type { Accuracy, LutFitSettings, MeasuredPoint } from '../../cost-model/index.ts';
import {
  accuracyOf,
  createLookup,
  entryId,
  familyId,
  familyOf,
  fitLut,
  LutLookupError,
  lutBlock,
  nearestOctaves,
  type PredictionPair,
} from '../../cost-model/index.ts';
import { medianOf } from '../stats/index.ts';

/** One case (shape, scheme, block, threads, requested sparsity) with every repeat of it. */
export interface CaseGroup {
  readonly id: string;
  readonly family: string;
  readonly shapeKey: string;
  readonly points: readonly MeasuredPoint[];
}

export function groupCases(points: readonly MeasuredPoint[]): CaseGroup[] {
  const groups = new Map<string, CaseGroup & { points: MeasuredPoint[] }>();
  for (const p of points) {
    const block = lutBlock(p.scheme, p.block);
    const id = `${entryId(p.shape, p.scheme, block, p.threads)} | s${p.sparsity}`;
    const group = groups.get(id);
    if (group !== undefined) group.points.push(p);
    else {
      groups.set(id, {
        id,
        family: familyId(familyOf(p.shape, p.scheme, block, p.threads)),
        shapeKey: shapeKey(p.shape),
        points: [p],
      });
    }
  }
  return [...groups.values()].sort((a, b) => a.id.localeCompare(b.id));
}

export interface NoiseReport {
  /** Cases measured more than once. */
  readonly repeatedCases: number;
  /** Every repeat taken as a "prediction" of every other repeat of the same case. */
  readonly accuracy: Accuracy | null;
  readonly byFamily: Readonly<Record<string, Accuracy>>;
}

/** The ceiling: predicting one run of a case by another run of the same case, on the same machine. */
export function repeatNoise(groups: readonly CaseGroup[]): NoiseReport {
  const pairsByFamily = new Map<string, PredictionPair[]>();
  let repeatedCases = 0;
  for (const group of groups) {
    if (group.points.length < 2) continue;
    repeatedCases++;
    const pairs = pairsByFamily.get(group.family) ?? [];
    for (const a of group.points) {
      for (const b of group.points) {
        if (a !== b) pairs.push({ predictedNs: a.medianNs, measuredNs: b.medianNs });
      }
    }
    pairsByFamily.set(group.family, pairs);
  }
  const all = [...pairsByFamily.values()].flat();
  return {
    repeatedCases,
    accuracy: all.length === 0 ? null : accuracyOf(all),
    byFamily: Object.fromEntries([...pairsByFamily].map(([family, pairs]) => [family, accuracyOf(pairs)])),
  };
}

export interface FamilyHoldout {
  readonly family: string;
  readonly shapes: number;
  readonly cases: number;
  /** null when no held-out case of the family could be answered. */
  readonly accuracy: Accuracy | null;
  /** Held-out cases the LUT refused, by LutLookupError reason. */
  readonly unanswered: Readonly<Record<string, number>>;
}

/** Held-out cases by how far their shape is from the nearest shape the fold's LUT measured. */
export interface NeighbourBand {
  /** Upper bound in octaves (cin, cout, output pixels; same op, kernel size and stride); Infinity: the rest. */
  readonly maxOctaves: number;
  readonly cases: number;
  readonly accuracy: Accuracy | null;
  /** Share of the answered cases whose measured median lies inside the lookup's interval (aimed at ~90%). */
  readonly insideInterval: number | null;
}

/** Band limits: a width-multiplier or channel-pruned variant is within half an octave, a next stage about 1. */
export const NEIGHBOUR_BANDS: readonly number[] = [0.5, 1, Number.POSITIVE_INFINITY];

/** One held-out case as predicted: where the model is worst is where to look next. */
export interface HeldOutCase {
  /** The case (shape, scheme, block, threads, requested sparsity). */
  readonly id: string;
  readonly family: string;
  readonly predictedNs: number;
  /** Median of the case's repeats. */
  readonly measuredNs: number;
  /** Octaves to the nearest shape the fold's LUT measured (Infinity: none of its op, kernel size, stride). */
  readonly octaves: number;
}

/** A held-out case of one fold: answered by the fold's LUT (and inside its interval or not), or refused. */
interface CaseRecord {
  readonly id: string;
  readonly family: string;
  readonly shapeKey: string;
  readonly octaves: number;
  /** Index into NEIGHBOUR_BANDS. */
  readonly band: number;
  readonly answer?: { readonly predictedNs: number; readonly measuredNs: number; readonly inside: boolean };
  /** The LutLookupError reason. */
  readonly refused?: string;
}

/** How many of the worst-predicted held-out cases the report keeps. */
export const WORST_CASES = 10;

export interface HoldoutReport {
  readonly folds: number;
  readonly families: readonly FamilyHoldout[];
  /**
   * The same held-out cases split by distance to the nearest measured shape: the residual anchors (anchors.ts)
   * only reach shapes near measured ones, so the figure depends on how close the shapes to predict are.
   */
  readonly byNeighbour: readonly NeighbourBand[];
  readonly overall: Accuracy | null;
  readonly answered: number;
  readonly unanswered: number;
  /** The WORST_CASES answered cases with the largest |ln(predicted / measured)|, worst first. */
  readonly worst: readonly HeldOutCase[];
}

/**
 * K-fold over whole shapes: shapes (sorted by key) go to fold i mod K; each fold's LUT is fitted without
 * any point of its shapes (so model choice inside the fit never saw them either), then every held-out
 * case is looked up (source `predicted`) and compared with the median of its repeats.
 */
export function holdOutShapes(
  points: readonly MeasuredPoint[],
  folds: number,
  settings?: Partial<LutFitSettings>,
): HoldoutReport {
  const groups = groupCases(points);
  const shapes = [...new Set(groups.map((g) => g.shapeKey))].sort();
  const foldOf = new Map(shapes.map((key, i) => [key, i % folds]));
  const bandOf = (octaves: number): number => NEIGHBOUR_BANDS.findIndex((limit) => octaves <= limit);
  // One record per held-out case; every figure of the report is an aggregate of these.
  const records: CaseRecord[] = [];
  for (let fold = 0; fold < folds; fold++) {
    const training = points.filter((p) => foldOf.get(shapeKey(p.shape)) !== fold);
    const heldOut = groups.filter((g) => foldOf.get(g.shapeKey) === fold);
    if (training.length === 0 || heldOut.length === 0) continue;
    const measuredShapes = [...new Map(training.map((p) => [shapeKey(p.shape), p.shape])).values()];
    const lookup = createLookup(
      fitLut(training, { createdAt: 'bench', ...(settings === undefined ? {} : { settings }) }),
    );
    for (const group of heldOut) {
      const first = group.points[0] as MeasuredPoint;
      const density = group.points.reduce((sum, p) => sum + p.density, 0) / group.points.length;
      const octaves = nearestOctaves(first.shape, measuredShapes);
      const held = {
        id: group.id,
        family: group.family,
        shapeKey: group.shapeKey,
        octaves,
        band: bandOf(octaves),
      };
      try {
        const answer = lookup.latency(first.shape, first.scheme, first.block, density, first.threads);
        const measuredNs = medianOf(group.points.map((p) => p.medianNs));
        const [low, high] = answer.intervalNs;
        records.push({
          ...held,
          answer: {
            predictedNs: answer.latencyNs,
            measuredNs,
            inside: low <= measuredNs && measuredNs <= high,
          },
        });
      } catch (error) {
        if (!(error instanceof LutLookupError)) throw error;
        records.push({ ...held, refused: error.data.reason });
      }
    }
  }
  const answered = records.flatMap((r) => (r.answer === undefined ? [] : [{ ...r, ...r.answer }]));
  const accuracyOrNull = (pairs: readonly PredictionPair[]): Accuracy | null =>
    pairs.length === 0 ? null : accuracyOf(pairs);
  const families = [...new Set(records.map((r) => r.family))].sort().map((family) => {
    const own = records.filter((r) => r.family === family);
    const unanswered: Record<string, number> = {};
    for (const { refused } of own)
      if (refused !== undefined) unanswered[refused] = (unanswered[refused] ?? 0) + 1;
    return {
      family,
      shapes: new Set(own.map((r) => r.shapeKey)).size,
      cases: own.length,
      accuracy: accuracyOrNull(answered.filter((r) => r.family === family)),
      unanswered,
    };
  });
  return {
    folds,
    families,
    byNeighbour: NEIGHBOUR_BANDS.map((maxOctaves, band) => {
      const inBand = answered.filter((r) => r.band === band);
      return {
        maxOctaves,
        cases: records.filter((r) => r.band === band).length,
        accuracy: accuracyOrNull(inBand),
        insideInterval: inBand.length === 0 ? null : inBand.filter((r) => r.inside).length / inBand.length,
      };
    }),
    overall: accuracyOrNull(answered),
    answered: answered.length,
    unanswered: records.length - answered.length,
    worst: answered
      .map((r) => ({ r, error: Math.abs(Math.log(r.predictedNs / r.measuredNs)) }))
      .sort((a, b) => b.error - a.error)
      .slice(0, WORST_CASES)
      .map(({ r: { id, family, predictedNs, measuredNs, octaves } }) => ({
        id,
        family,
        predictedNs,
        measuredNs,
        octaves,
      })),
  };
}
