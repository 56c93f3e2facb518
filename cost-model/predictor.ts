/**
 * The predictor for shapes nobody measured: a small model per pool of families that run the same kernel,
 * fitted on the pool's measured knots, cross-validated by holding out whole shapes.
 *
 * Pools (poolKeyOf): conv families of one scheme, block and thread count share one model whatever the kernel
 * size (1x1, 3x3, KxK all run the same rgs or GEMM code on the padded view; work.ts counts the difference),
 * so a family with few shapes borrows the costs its pool measured. Depthwise, pattern and FC families are pools
 * of their own. Each family keeps its own held-out accuracy.
 *
 * Model kinds, each tried with every tile size and, for conv pools, every pair of cache sizes of the settings
 * (features.ts); the candidate with the lowest held-out mean |log error| (k-fold over whole shapes) is kept:
 *  - `linear`: latency = overhead + sum of non-negative costs x features (kernel work: FMA lanes, column
 *    passes, calls, misaligned and cache-missing loads, streamed bytes, padding copies; FC: FLOPs and bytes),
 *    fitted by NNLS on relative error (each row divided by its measured latency), because the figure that
 *    matters is the share within ±10%, and unweighted least squares would let the biggest layers decide;
 *  - `loglinear`: ln latency = c + sum b_i ln(1 + feature_i), ordinary least squares in log space
 *    (ml-regression-multivariate-linear), for families whose cost is not additive (cache effects scale
 *    with size).
 * Picking among candidates by the same data that is then reported biases that figure a little; the README
 * says so, and the benchmark holds shapes out of the whole fit to measure without that bias.
 */
import MultivariateLinearRegression from 'ml-regression-multivariate-linear';
import type { LayerShape } from '../config/types.ts';
import type { Scheme } from '../config/vocabulary.ts';
import { accuracyOf, type PredictionPair } from './accuracy.ts';
import {
  ANCHOR_SETTINGS_TRIED,
  type AnchorSettings,
  anchorCorrection,
  anchorPointOf,
  NEAR_OCTAVES,
  octaveDistance,
} from './anchors.ts';
import {
  type CacheSizes,
  computeFeatures,
  DEFAULT_CACHE_SIZES,
  type Features,
  featureVector,
} from './features.ts';
import { nnls } from './nnls.ts';
import type {
  Accuracy,
  FamilyKey,
  FeatureName,
  LutPredictor,
  ModelCandidateScore,
  PredictorModel,
} from './types.ts';
import { LEGACY_WORK_FEATURE_NAMES, WORK_FEATURE_NAMES } from './types.ts';

/** One measured knot of one shape, as the predictor sees it. */
export interface TrainingPoint {
  readonly shapeKey: string;
  readonly shape: LayerShape;
  readonly scheme: Scheme;
  readonly block: string | null;
  readonly density: number;
  readonly latencyNs: number;
}

/** What the features of a model are computed at: its tile and, for the miss features, its cache sizes. */
export interface FeatureParams extends CacheSizes {
  readonly tileFloats: number;
}

export const MODEL_KINDS: readonly PredictorModel['kind'][] = ['linear', 'loglinear'];

/**
 * Traffic features: FC's linear model (kernels/fc.c runs batch-1 rows with no spatial tile, so kernel work
 * reduces to them), and the log-space model of every pool (the fill features are left out: zero for most
 * shapes, and ln(1 + 0) carries no information; coefficients are free in sign, so CV decides whether it
 * beats linear).
 */
const TRAFFIC_FEATURES: readonly FeatureName[] = [
  'flops',
  'paddedFlops',
  'weightBytes',
  'indexLoads',
  'activationBytes',
  'outputCount',
  'kernelCalls',
];

/**
 * Linear features of conv and depthwise layers: the kernel work (work.ts) plus the layer's useful FLOPs,
 * weight and activation bytes, outputs and padding copies.
 */
const CONV_LINEAR_FEATURES: readonly FeatureName[] = [
  'flops',
  'weightBytes',
  'activationBytes',
  'outputCount',
  'fillFloats',
  'stridedFillFloats',
  ...WORK_FEATURE_NAMES,
];

/**
 * Linear features of depthwise pools: one row per channel, nine taps, so the work is lanes, calls, the rows
 * ending inside a vector (every channel on a 7x7 map: 63-float rows) and the padding copies. A pool of ten
 * shapes with one point each cannot support the full conv list (it fitted noise: 40% within ±10% on the
 * benchmark).
 */
const DWCONV_LINEAR_FEATURES: readonly FeatureName[] = [
  'fmaLanes',
  'microKernelCalls',
  'partialStores',
  'fillFloats',
  'stridedFillFloats',
  'compactFloats',
];

/** Features whose value depends on the cache sizes: pools without them try one pair only. */
const CACHE_FEATURES: readonly FeatureName[] = [
  'stridedL1Misses',
  'streamedL1Misses',
  'weightL2MissBytes',
  'inputL2MissBytes',
  'outputL2MissBytes',
  // Every legacy feature is a miss feature (types.ts).
  ...LEGACY_WORK_FEATURE_NAMES,
];

/**
 * Predictions are clamped to [1 ns, 1e15 ns (11 days)]: relative and log errors stay finite numbers (JSON
 * has no Infinity), and a log-space model extrapolated far outside its data still scores as badly as it is.
 */
const MIN_PREDICTION_NS = 1;
const MAX_PREDICTION_NS = 1e15;

/**
 * Relative error beyond which a training knot's weight falls as 1/error (Huber's loss), and the reweighting
 * rounds. 3%: about the run-to-run spread of an undisturbed case on the development VM; 0.03 and 0.05 scored
 * alike on the benchmark, no reweighting 2 points lower.
 */
const HUBER_RELATIVE_ERROR = 0.03;
const HUBER_ROUNDS = 5;

/** Candidates are scored by k-fold over whole shapes (leave-one-shape-out below this many shapes). */
const SELECTION_FOLDS = 5;

function toParams(params: number | FeatureParams): FeatureParams {
  return typeof params === 'number' ? { tileFloats: params, ...DEFAULT_CACHE_SIZES } : params;
}

/** The feature parameters a stored model was fitted at (models without cache sizes use no miss feature). */
export function paramsOf(model: PredictorModel): FeatureParams {
  return {
    tileFloats: model.tileFloats,
    l1Bytes: model.l1Bytes ?? DEFAULT_CACHE_SIZES.l1Bytes,
    l2Bytes: model.l2Bytes ?? DEFAULT_CACHE_SIZES.l2Bytes,
  };
}

export function featuresOf(point: TrainingPoint, params: number | FeatureParams): Features {
  const { tileFloats, l1Bytes, l2Bytes } = toParams(params);
  return computeFeatures(point.shape, point.scheme, point.block, point.density, tileFloats, {
    l1Bytes,
    l2Bytes,
  });
}

interface Row {
  readonly features: Features;
  readonly latencyNs: number;
}

/** How far outside the training range of ns per FLOP a prediction may go, each way. */
const NS_PER_FLOP_MARGIN = 2;

function nsPerFlopRange(rows: readonly Row[]): [number, number] {
  const values = rows.map((r) => r.latencyNs / r.features.flops).filter(Number.isFinite);
  if (values.length === 0) return [0, Number.MAX_VALUE];
  return [Math.min(...values) / NS_PER_FLOP_MARGIN, Math.max(...values) * NS_PER_FLOP_MARGIN];
}

/** Cache sizes are stored only when a feature of the model depends on them. */
function modelParams(
  params: FeatureParams,
  features: readonly FeatureName[],
): Partial<PredictorModel> & {
  tileFloats: number;
} {
  const cached = features.some((name) => CACHE_FEATURES.includes(name));
  return cached
    ? { tileFloats: params.tileFloats, l1Bytes: params.l1Bytes, l2Bytes: params.l2Bytes }
    : { tileFloats: params.tileFloats };
}

function linearFeatureNames(rows: readonly Row[], set: LinearSet): FeatureName[] {
  const names =
    set === 'fc' ? TRAFFIC_FEATURES : set === 'dwconv' ? DWCONV_LINEAR_FEATURES : CONV_LINEAR_FEATURES;
  return names.filter((name) => rows.some((r) => r.features[name] !== 0));
}

function fitLinear(rows: readonly Row[], params: FeatureParams, set: LinearSet): PredictorModel {
  const features = linearFeatureNames(rows, set);
  const matrix = rows.map((r) => [...featureVector(r.features, features), 1].map((v) => v / r.latencyNs));
  let { x } = nnls(
    matrix,
    rows.map(() => 1),
  );
  // Huber weights, by iterative reweighting: a knot measured while the machine was disturbed (one repeat 20%
  // off) would otherwise pull every coefficient toward it, squared.
  for (let round = 0; round < HUBER_ROUNDS; round++) {
    const weights = matrix.map((row) => {
      const residual = Math.abs(row.reduce((sum, v, j) => sum + v * (x[j] as number), 0) - 1);
      return Math.sqrt(residual <= HUBER_RELATIVE_ERROR ? 1 : HUBER_RELATIVE_ERROR / residual);
    });
    x = nnls(
      matrix.map((row, i) => row.map((v) => v * (weights[i] as number))),
      weights,
    ).x;
  }
  return {
    kind: 'linear',
    ...modelParams(params, features),
    features,
    coefficients: x.slice(0, features.length),
    intercept: x[features.length] ?? 0,
    nsPerFlopRange: nsPerFlopRange(rows),
  };
}

function logFeature(value: number): number {
  return Math.log1p(value);
}

function fitLoglinear(rows: readonly Row[], params: FeatureParams): PredictorModel {
  // A feature constant over the training set is the intercept's job; keeping it makes the system singular.
  const features = TRAFFIC_FEATURES.filter((name) => {
    const first = rows[0]?.features[name];
    return rows.some((r) => r.features[name] !== first);
  });
  const y = rows.map((r) => [Math.log(r.latencyNs)]);
  const meanModel = (): PredictorModel => ({
    kind: 'loglinear',
    tileFloats: params.tileFloats,
    features: [],
    coefficients: [],
    intercept: y.reduce((sum, [v]) => sum + (v as number), 0) / y.length,
    nsPerFlopRange: nsPerFlopRange(rows),
  });
  if (features.length === 0) return meanModel();
  const x = rows.map((r) => featureVector(r.features, features).map(logFeature));
  const regression = new MultivariateLinearRegression(x, y, { intercept: true, statistics: false });
  const weights = regression.weights.map((row) => row[0] as number);
  // A singular system the SVD could not rescue: fall back to the mean, which CV will then grade.
  if (!weights.every(Number.isFinite)) return meanModel();
  return {
    kind: 'loglinear',
    ...modelParams(params, features),
    features,
    coefficients: weights.slice(0, features.length),
    intercept: weights[features.length] as number,
    nsPerFlopRange: nsPerFlopRange(rows),
  };
}

function isFc(points: readonly TrainingPoint[]): boolean {
  return points.every((p) => p.shape.op === 'fc');
}

/** Which linear feature list a pool's points take (FC, depthwise or conv). */
type LinearSet = 'fc' | 'dwconv' | 'conv';

function linearSetOf(points: readonly TrainingPoint[]): LinearSet {
  if (isFc(points)) return 'fc';
  return points.every((p) => p.shape.op === 'dwconv') ? 'dwconv' : 'conv';
}

function fitRows(
  kind: PredictorModel['kind'],
  params: FeatureParams,
  rows: readonly Row[],
  set: LinearSet,
): PredictorModel {
  if (rows.length === 0) throw new RangeError('fitModel: no training points');
  return kind === 'linear' ? fitLinear(rows, params, set) : fitLoglinear(rows, params);
}

export function fitModel(
  kind: PredictorModel['kind'],
  params: number | FeatureParams,
  points: readonly TrainingPoint[],
): PredictorModel {
  if (points.length === 0) throw new RangeError('fitModel: no training points');
  const at = toParams(params);
  const rows = points.map((p) => ({ features: featuresOf(p, at), latencyNs: p.latencyNs }));
  return fitRows(kind, at, rows, linearSetOf(points));
}

export function predictNs(model: PredictorModel, features: Features): number {
  const values = featureVector(features, model.features);
  let latencyNs: number;
  if (model.kind === 'linear') {
    latencyNs = values.reduce((sum, v, i) => sum + v * (model.coefficients[i] as number), model.intercept);
  } else {
    const log = values.reduce(
      (sum, v, i) => sum + logFeature(v) * (model.coefficients[i] as number),
      model.intercept,
    );
    latencyNs = Math.exp(log);
  }
  if (Number.isNaN(latencyNs)) latencyNs = MAX_PREDICTION_NS;
  const [lowNsPerFlop, highNsPerFlop] = model.nsPerFlopRange;
  if (features.flops > 0) {
    latencyNs = Math.min(Math.max(latencyNs, lowNsPerFlop * features.flops), highNsPerFlop * features.flops);
  }
  return clampPrediction(latencyNs);
}

function clampPrediction(latencyNs: number): number {
  return Math.min(Math.max(latencyNs, MIN_PREDICTION_NS), MAX_PREDICTION_NS);
}

/**
 * Prediction for a case, with the features computed at the model's own tile and cache sizes, corrected by
 * the model's residual anchors when it has them (anchors.ts).
 */
export function predictCaseNs(
  model: PredictorModel,
  shape: LayerShape,
  scheme: Scheme,
  block: string | null,
  density: number,
): number {
  const { tileFloats, l1Bytes, l2Bytes } = paramsOf(model);
  const latencyNs = predictNs(
    model,
    computeFeatures(shape, scheme, block, density, tileFloats, { l1Bytes, l2Bytes }),
  );
  if (model.anchors === undefined) return latencyNs;
  return clampPrediction(latencyNs * Math.exp(anchorCorrection(model.anchors, shape, density)));
}

/** The anchor settings a stored model was fitted with; undefined for a model without anchors. */
export function anchorSettingsOf(model: PredictorModel): AnchorSettings | undefined {
  if (model.anchors === undefined) return undefined;
  const { bandwidth, densityWeight, priorWeight } = model.anchors;
  return { bandwidth, densityWeight, priorWeight };
}

/** The model with anchors at every training knot (its errors there, before any anchor), or as it is. */
function withAnchors(
  model: PredictorModel,
  points: readonly TrainingPoint[],
  settings: AnchorSettings | undefined,
): PredictorModel {
  if (settings === undefined) return model;
  const anchorPoints = points.map((p) =>
    anchorPointOf(
      p.shape,
      p.density,
      predictCaseNs(model, p.shape, p.scheme, p.block, p.density),
      p.latencyNs,
    ),
  );
  return { ...model, anchors: { ...settings, points: anchorPoints } };
}

export function distinctShapes(points: readonly TrainingPoint[]): string[] {
  return [...new Set(points.map((p) => p.shapeKey))].sort();
}

export interface HeldOutPair extends PredictionPair {
  readonly shapeKey: string;
}

/**
 * Whole shapes held out in `folds` groups (shapes sorted by key, fold i mod folds; folds >= shapes is
 * leave-one-shape-out): every shape is predicted by a model that never saw any point of it (holding out
 * single points would leak the shape through its other densities and flatter the figure). Features are
 * computed once per point; pairs come shape by shape, each shape's points in order.
 *
 * One list of pairs per entry of `anchorSettings` (undefined: the model alone): each fold's model is fitted
 * once, and its anchors are its errors on that fold's training knots only.
 */
function heldOutShapes(
  kind: PredictorModel['kind'],
  params: FeatureParams,
  points: readonly TrainingPoint[],
  folds: number,
  anchorSettings: readonly (AnchorSettings | undefined)[] = [undefined],
): HeldOutPair[][] {
  const rows = points.map((p) => ({ features: featuresOf(p, params), latencyNs: p.latencyNs }));
  const shapes = distinctShapes(points);
  const foldOf = new Map(shapes.map((key, i) => [key, i % folds]));
  const set = linearSetOf(points);
  const predicted = anchorSettings.map(() => new Array<number | undefined>(points.length));
  const anchored = anchorSettings.some((settings) => settings !== undefined);
  for (let fold = 0; fold < Math.min(folds, shapes.length); fold++) {
    const inFold = (i: number): boolean => foldOf.get((points[i] as TrainingPoint).shapeKey) === fold;
    const training = rows.filter((_, i) => !inFold(i));
    if (training.length === 0) continue;
    const model = fitRows(kind, params, training, set);
    const anchorPoints = anchored
      ? points.flatMap((p, i) =>
          inFold(i)
            ? []
            : [anchorPointOf(p.shape, p.density, predictNs(model, (rows[i] as Row).features), p.latencyNs)],
        )
      : [];
    points.forEach((p, i) => {
      if (!inFold(i)) return;
      const base = predictNs(model, (rows[i] as Row).features);
      anchorSettings.forEach((settings, s) => {
        (predicted[s] as (number | undefined)[])[i] =
          settings === undefined
            ? base
            : clampPrediction(
                base * Math.exp(anchorCorrection({ ...settings, points: anchorPoints }, p.shape, p.density)),
              );
      });
    });
  }
  return predicted.map((values) =>
    shapes.flatMap((shape) =>
      points.flatMap((p, i) => {
        const predictedNs = values[i];
        return p.shapeKey === shape && predictedNs !== undefined
          ? [{ shapeKey: shape, predictedNs, measuredNs: p.latencyNs }]
          : [];
      }),
    ),
  );
}

/** Leave-one-shape-out (see heldOutShapes), with anchors of the given settings when there are some. */
export function leaveOneShapeOut(
  kind: PredictorModel['kind'],
  params: number | FeatureParams,
  points: readonly TrainingPoint[],
  anchors?: AnchorSettings,
): HeldOutPair[] {
  return heldOutShapes(kind, toParams(params), points, distinctShapes(points).length, [anchors])[0] ?? [];
}

export interface PredictorOptions {
  /** Below this many shapes no held-out estimate is honest (each fold would train on one shape). */
  readonly minShapesForAccuracy: number;
  readonly tileFloatsTried: readonly number[];
  /** Cache sizes tried for the miss features (conv pools); one default pair when absent. */
  readonly l1BytesTried?: readonly number[];
  readonly l2BytesTried?: readonly number[];
  /** Residual anchor settings tried (anchors.ts); the default list when absent, none when empty. */
  readonly anchorSettingsTried?: readonly AnchorSettings[];
}

/** One family of a pool and the knots it measured. */
export interface PoolMember {
  readonly family: FamilyKey;
  readonly points: readonly TrainingPoint[];
}

function candidateParams(options: PredictorOptions, tileOnly: boolean): FeatureParams[] {
  const l1s = tileOnly
    ? [DEFAULT_CACHE_SIZES.l1Bytes]
    : (options.l1BytesTried ?? [DEFAULT_CACHE_SIZES.l1Bytes]);
  const l2s = tileOnly
    ? [DEFAULT_CACHE_SIZES.l2Bytes]
    : (options.l2BytesTried ?? [DEFAULT_CACHE_SIZES.l2Bytes]);
  return options.tileFloatsTried.flatMap((tileFloats) =>
    l1s.flatMap((l1Bytes) => l2s.flatMap((l2Bytes) => ({ tileFloats, l1Bytes, l2Bytes }))),
  );
}

interface Scored {
  readonly kind: PredictorModel['kind'];
  readonly params: FeatureParams;
  readonly accuracy: Accuracy;
}

/**
 * Fits one model on the knots of every member family and gives each member family its own held-out accuracy
 * (its shapes predicted by models fitted without them, on the rest of the pool). The pool needs
 * `minShapesForAccuracy` shapes for any figure; a member with no reliable knot gets none.
 */
/**
 * The tile and cache sizes of the device, chosen once for all conv pools: they are properties of the agent
 * build and the CPU, not of a layer family, and a pool of ten shapes would otherwise pick whichever tile
 * happens to fit its noise. The linear model's k-fold held-out mean |log error| over every conv pool with
 * enough shapes decides; undefined when no pool has enough.
 */
export function chooseDeviceParams(
  pools: readonly (readonly PoolMember[])[],
  options: PredictorOptions,
): FeatureParams | undefined {
  const graded = pools
    .map((members) => members.flatMap((m) => m.points))
    .filter((points) => !isFc(points) && distinctShapes(points).length >= options.minShapesForAccuracy);
  if (graded.length === 0) return undefined;
  let best: { params: FeatureParams; error: number } | undefined;
  for (const params of candidateParams(options, false)) {
    const pairs = graded.flatMap(
      (points) =>
        heldOutShapes(
          'linear',
          params,
          points,
          Math.min(SELECTION_FOLDS, distinctShapes(points).length),
        )[0] ?? [],
    );
    const error = accuracyOf(pairs).meanLogError;
    if (best === undefined || error < best.error) best = { params, error };
  }
  return best?.params;
}

/**
 * The anchor settings that lower the pool's k-fold held-out mean |log error| most, or undefined when none
 * beats the model alone (anchors.ts).
 */
function chooseAnchors(
  kind: PredictorModel['kind'],
  params: FeatureParams,
  points: readonly TrainingPoint[],
  options: PredictorOptions,
): AnchorSettings | undefined {
  const tried = [undefined, ...(options.anchorSettingsTried ?? ANCHOR_SETTINGS_TRIED)];
  const folds = Math.min(SELECTION_FOLDS, distinctShapes(points).length);
  const errors = heldOutShapes(kind, params, points, folds, tried).map(
    (pairs) => accuracyOf(pairs).meanLogError,
  );
  let best = 0;
  errors.forEach((error, i) => {
    if (error < (errors[best] as number)) best = i;
  });
  return tried[best];
}

export function fitPool(
  pool: string | undefined,
  members: readonly PoolMember[],
  options: PredictorOptions,
  device?: FeatureParams,
): LutPredictor[] {
  const points = members.flatMap((m) => m.points);
  const shapes = distinctShapes(points).length;
  const fc = isFc(points);
  const scored: Scored[] = [];
  if (shapes >= options.minShapesForAccuracy) {
    const folds = Math.min(SELECTION_FOLDS, shapes);
    for (const kind of MODEL_KINDS) {
      // The log-linear features do not depend on cache sizes: one pair is enough for it.
      const grid =
        device === undefined || fc
          ? candidateParams(options, fc || kind === 'loglinear')
          : [kind === 'linear' ? device : { ...DEFAULT_CACHE_SIZES, tileFloats: device.tileFloats }];
      for (const params of grid) {
        const [pairs = []] = heldOutShapes(kind, params, points, folds);
        scored.push({ kind, params, accuracy: accuracyOf(pairs) });
      }
    }
    // By mean |log error|, not MAPE: MAPE caps an under-prediction at 100% but not an over-prediction, so
    // it favours models that guess low, and a wild extrapolation can hide behind it. Stable sort: on a tie
    // the earlier candidate (linear, smaller tile, smaller caches) stays first.
    scored.sort((a, b) => a.accuracy.meanLogError - b.accuracy.meanLogError);
  }
  const best = scored[0];
  // Without a CV figure, prefer the model whose non-negative costs cannot invent a speed-up.
  const kind = best?.kind ?? 'linear';
  const params =
    best?.params ?? (fc ? undefined : device) ?? (candidateParams(options, fc)[0] as FeatureParams);
  const anchors = best === undefined ? undefined : chooseAnchors(kind, params, points, options);
  const model = withAnchors(fitModel(kind, params, points), points, anchors);
  const heldOut = best === undefined ? [] : leaveOneShapeOut(kind, params, points, anchors);
  const candidates: ModelCandidateScore[] = scored.map((s) => {
    const stored = modelParams(s.params, fc || s.kind === 'loglinear' ? [] : CACHE_FEATURES);
    return {
      kind: s.kind,
      ...stored,
      mape: s.accuracy.mape,
      meanLogError: s.accuracy.meanLogError,
      within10: s.accuracy.within10,
    };
  });
  // Shapes with another shape of the pool within NEAR_OCTAVES: near what leave-one-shape-out left measured.
  const shapeOf = [...new Map(points.map((p) => [p.shapeKey, p.shape]))];
  const near = new Set(
    shapeOf
      .filter(([key, shape]) =>
        shapeOf.some(
          ([other, otherShape]) => other !== key && octaveDistance(shape, otherShape) <= NEAR_OCTAVES,
        ),
      )
      .map(([key]) => key),
  );
  const accuracyOrNull = (pairs: readonly HeldOutPair[]): Accuracy | null =>
    pairs.length === 0 ? null : accuracyOf(pairs);
  return members.map((member) => {
    const own = new Set(member.points.map((p) => p.shapeKey));
    const pairs = heldOut.filter((pair) => own.has(pair.shapeKey));
    return {
      family: member.family,
      ...(pool === undefined ? {} : { pool }),
      shapes,
      points: points.length,
      model,
      accuracy: accuracyOrNull(pairs),
      ...(pairs.length === 0
        ? {}
        : {
            accuracyByDistance: {
              near: accuracyOrNull(pairs.filter((pair) => near.has(pair.shapeKey))),
              far: accuracyOrNull(pairs.filter((pair) => !near.has(pair.shapeKey))),
            },
          }),
      candidates,
    };
  });
}

/** A family fitted on its own knots (a pool of one). */
export function fitPredictor(
  family: FamilyKey,
  points: readonly TrainingPoint[],
  options: PredictorOptions,
): LutPredictor {
  return fitPool(undefined, [{ family, points }], options)[0] as LutPredictor;
}
