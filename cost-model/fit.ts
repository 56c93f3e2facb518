/**
 * Measured points in, one `prunelab.lut/v1` LUT out. Pure and synchronous: the caller reads the store and
 * writes the file. Points are checked first and every problem is reported at once.
 */
import { shapeKey } from '../config/shape.ts';
import { BLOCK_SCHEMES, parseBlockSize } from '../config/vocabulary.ts';
import { accuracyOf, type PredictionPair } from './accuracy.ts';
import { fitCurve } from './curve.ts';
import { type CostModelIssue, FitInputError } from './errors.ts';
import { entryId, familyId, familyOf, lutBlock, opKindOf, poolKeyOf } from './family.ts';
import { chooseDeviceParams, fitPool, type PoolMember, type TrainingPoint } from './predictor.ts';
import {
  type CurveKnot,
  type FamilyKey,
  LUT_SCHEMA_VERSION,
  type Lut,
  type LutEntry,
  type LutFitSettings,
  type LutInterpolationAccuracy,
  type LutPoint,
  type LutPredictor,
  type LutWeights,
  type MeasuredPoint,
} from './types.ts';

export const DEFAULT_FIT_SETTINGS: LutFitSettings = {
  // 4 vectors of 4, 8 or 16 floats (NEON, AVX2, AVX-512) and their neighbours: the fit picks per family.
  tileFloatsTried: [8, 16, 32, 64, 128],
  // L1 16 to 64 KiB (Cortex-A7x 64, Zen 32), L2 256 KiB to 4 MiB (phones' big cores to server cores).
  l1BytesTried: [16 * 1024, 32 * 1024, 64 * 1024],
  l2BytesTried: [256 * 1024, 1024 * 1024, 4096 * 1024],
  densityTolerance: 0.005,
  minShapesForAccuracy: 3,
  maxTrainingIntervalShare: 0.3,
};

export interface FitOptions {
  /** ISO-8601 time written into the LUT (injected: the core reads no clock). */
  readonly createdAt: string;
  readonly settings?: Partial<LutFitSettings>;
  /** Which weights the points were timed with (absent: seeded); written into the LUT as is. */
  readonly weights?: LutWeights;
}

function positive(value: number): boolean {
  return Number.isFinite(value) && value > 0;
}

export function checkPoints(points: readonly MeasuredPoint[]): CostModelIssue[] {
  const issues: CostModelIssue[] = [];
  const first = points[0];
  if (first === undefined) {
    return [{ path: 'points', message: 'expected at least one measurement; got none (run a sweep first)' }];
  }
  points.forEach((p, i) => {
    const at = (field: string): string => `points[${i}].${field}`;
    const issue = (field: string, message: string): void => {
      issues.push({ path: at(field), message });
    };
    if (p.device.id !== first.device.id) {
      issue(
        'device.id',
        `expected ${JSON.stringify(first.device.id)} (one LUT per device); got ${JSON.stringify(p.device.id)}`,
      );
    }
    if ((p.backend ?? 'cpu') !== (first.backend ?? 'cpu')) {
      issue(
        'backend',
        `expected ${first.backend ?? 'cpu'} (one backend per LUT: a GPU's latencies are not the CPU's); ` +
          `got ${p.backend ?? 'cpu'}`,
      );
    }
    if (p.agentHash !== first.agentHash) {
      issue(
        'agentHash',
        `expected ${JSON.stringify(first.agentHash)} (one agent build per LUT: ` +
          `kernels change between builds); got ${JSON.stringify(p.agentHash)}`,
      );
    }
    if (!positive(p.medianNs)) issue('medianNs', `expected a positive number of ns; got ${p.medianNs}`);
    if (
      !(
        Number.isFinite(p.ciLowNs) &&
        Number.isFinite(p.ciHighNs) &&
        p.ciLowNs <= p.medianNs &&
        p.medianNs <= p.ciHighNs
      )
    ) {
      issue(
        'ciLowNs',
        `expected ciLowNs <= medianNs <= ciHighNs; got ${p.ciLowNs} <= ${p.medianNs} <= ${p.ciHighNs}`,
      );
    }
    if (!(p.density > 0 && p.density <= 1))
      issue('density', `expected a density in (0, 1]; got ${p.density}`);
    if (!(Number.isInteger(p.threads) && p.threads >= 1))
      issue('threads', `expected an integer >= 1; got ${p.threads}`);
    if (!(Number.isInteger(p.n) && p.n >= 1)) issue('n', `expected a sample count >= 1; got ${p.n}`);
    if (BLOCK_SCHEMES.includes(p.scheme)) {
      if (p.block === undefined || parseBlockSize(p.block) === undefined) {
        issue(
          'block',
          `expected a block size BRxBC such as 8x4 for scheme ${p.scheme}; got ${JSON.stringify(p.block ?? null)}`,
        );
      }
    }
  });
  return issues;
}

function toLutPoint(p: MeasuredPoint): LutPoint {
  return {
    density: p.density,
    sparsity: p.sparsity,
    medianNs: p.medianNs,
    ciLowNs: p.ciLowNs,
    ciHighNs: p.ciHighNs,
    n: p.n,
    flops: p.flops,
    keptBlocks: p.keptBlocks,
  };
}

function buildEntries(points: readonly MeasuredPoint[], settings: LutFitSettings): LutEntry[] {
  const groups = new Map<string, MeasuredPoint[]>();
  for (const p of points) {
    const id = entryId(p.shape, p.scheme, lutBlock(p.scheme, p.block), p.threads);
    const group = groups.get(id);
    if (group === undefined) groups.set(id, [p]);
    else group.push(p);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, group]) => {
      const p = group[0] as MeasuredPoint;
      const lutPoints = group.map(toLutPoint).sort((a, b) => a.density - b.density);
      return {
        shapeKey: shapeKey(p.shape),
        shape: { ...p.shape },
        opKind: opKindOf(p.shape),
        scheme: p.scheme,
        block: lutBlock(p.scheme, p.block),
        threads: p.threads,
        points: lutPoints,
        curve: fitCurve(lutPoints, settings.densityTolerance),
      };
    });
}

function groupByFamily(
  entries: readonly LutEntry[],
): Map<string, { family: FamilyKey; entries: LutEntry[] }> {
  const families = new Map<string, { family: FamilyKey; entries: LutEntry[] }>();
  for (const entry of entries) {
    const family = familyOf(entry.shape, entry.scheme, entry.block, entry.threads);
    const id = familyId(family);
    const group = families.get(id);
    if (group === undefined) families.set(id, { family, entries: [entry] });
    else group.entries.push(entry);
  }
  return families;
}

/**
 * A knot whose 95% interval is wider than `maxShare` of its median was disturbed while it was measured
 * (another process, a frequency drop): it stays in the LUT with its wide interval, but it would teach the
 * predictor, and grade it, with noise.
 */
function reliable(knot: CurveKnot, maxShare: number): boolean {
  return (knot.highNs - knot.lowNs) / knot.measuredNs <= maxShare;
}

/** The predictor learns from the merged measurements (knot.measuredNs), not from the monotone curve. */
function trainingPoints(entries: readonly LutEntry[], settings: LutFitSettings): TrainingPoint[] {
  return entries.flatMap((entry) =>
    entry.curve.knots
      .filter((knot) => reliable(knot, settings.maxTrainingIntervalShare))
      .map((knot) => ({
        shapeKey: entry.shapeKey,
        shape: entry.shape,
        scheme: entry.scheme,
        block: entry.block,
        density: knot.density,
        latencyNs: knot.measuredNs,
      })),
  );
}

/** Leave-one-density-out on every interior knot: how wrong is a straight line between measured densities? */
export function interpolationPairs(entries: readonly LutEntry[], settings: LutFitSettings): PredictionPair[] {
  return entries.flatMap((entry) => {
    const { knots } = entry.curve;
    const pairs: PredictionPair[] = [];
    for (let i = 1; i + 1 < knots.length; i++) {
      const left = knots[i - 1];
      const middle = knots[i];
      const right = knots[i + 1];
      if (left === undefined || middle === undefined || right === undefined) continue;
      if (![left, middle, right].every((knot) => reliable(knot, settings.maxTrainingIntervalShare))) continue;
      const t = (middle.density - left.density) / (right.density - left.density);
      pairs.push({
        predictedNs: left.latencyNs + t * (right.latencyNs - left.latencyNs),
        measuredNs: middle.measuredNs,
      });
    }
    return pairs;
  });
}

export function fitLut(points: readonly MeasuredPoint[], options: FitOptions): Lut {
  const issues = checkPoints(points);
  if (issues.length > 0) throw new FitInputError(issues);
  const first = points[0] as MeasuredPoint;
  const settings: LutFitSettings = { ...DEFAULT_FIT_SETTINGS, ...options.settings };
  const entries = buildEntries(points, settings);
  const predictors: LutPredictor[] = [];
  const interpolation: LutInterpolationAccuracy[] = [];
  const families = [...groupByFamily(entries).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const pools = new Map<string, PoolMember[]>();
  for (const [, { family, entries: members }] of families) {
    const training = trainingPoints(members, settings);
    // Every knot of the family too noisy to train on (a disturbed machine): no predictor, rather than a crash.
    if (training.length > 0) {
      const key = poolKeyOf(family);
      pools.set(key, [...(pools.get(key) ?? []), { family, points: training }]);
    }
    const pairs = interpolationPairs(members, settings);
    if (pairs.length > 0) interpolation.push({ family, accuracy: accuracyOf(pairs) });
  }
  // Tile and cache sizes belong to the device: chosen once, from every conv pool (predictor.ts).
  const device = chooseDeviceParams([...pools.values()], settings);
  const fitted = [...pools].flatMap(([key, members]) => {
    // A pool named as its only family (pattern, dense, depthwise, FC) is no pool: `pool` is left out.
    const only = members.length === 1 ? members[0] : undefined;
    const shared = only !== undefined && familyId(only.family) === key ? undefined : key;
    return fitPool(shared, members, settings, device);
  });
  predictors.push(...fitted.sort((a, b) => (familyId(a.family) < familyId(b.family) ? -1 : 1)));
  return {
    schema: LUT_SCHEMA_VERSION,
    device: { ...first.device },
    ...(options.weights === undefined ? {} : { weights: options.weights }),
    ...(first.backend === 'gpu' ? { backend: 'gpu' as const } : {}),
    agentHash: first.agentHash,
    createdAt: options.createdAt,
    settings,
    entries,
    predictors,
    interpolation,
  };
}
