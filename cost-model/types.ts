/**
 * The cost model's data: measured points in, the `prunelab.lut/v1` lookup table out, lookup answers for the
 * mappers. Everything here is plain JSON-shaped data; `lut.schema.json` describes the same LUT for files.
 */
import type { LayerShape } from '../config/types.ts';
import type { Backend, Scheme } from '../config/vocabulary.ts';

export const LUT_SCHEMA_VERSION = 'prunelab.lut/v1';

/** Which device a LUT belongs to. `id` names the file (`lut-<id>.json`); the rest is provenance. */
export interface DeviceIdentity {
  readonly id: string;
  readonly model?: string;
  readonly abi?: string;
  readonly buildFingerprint?: string;
}

/** One case's summary as the store holds it: a shape under a scheme, block, density and thread count. */
export interface MeasuredPoint {
  readonly device: DeviceIdentity;
  readonly agentHash: string;
  readonly shape: LayerShape;
  readonly scheme: Scheme;
  /** `BRxBC` for block schemes, undefined otherwise. */
  readonly block: string | undefined;
  /** Kept weights / all weights as the agent reported it after masking (not the requested value). */
  readonly density: number;
  /** Requested fraction of weights removed. */
  readonly sparsity: number;
  readonly threads: number;
  /** Where the case ran (absent: cpu). A LUT holds one backend: the GPU's latencies are another device's. */
  readonly backend?: Backend;
  readonly medianNs: number;
  /** 95% interval of the median. */
  readonly ciLowNs: number;
  readonly ciHighNs: number;
  /** Samples behind the median. */
  readonly n: number;
  /** Useful FLOPs of one run as the agent counted them. */
  readonly flops: number;
  readonly keptBlocks: number;
}

/** Layer families of the predictor: the kernel code path differs between these, so each has its own model. */
export const OP_KINDS = ['conv1x1', 'conv3x3', 'convKxK', 'dwconv', 'fc'] as const;
export type OpKind = (typeof OP_KINDS)[number];

/**
 * A predictor family. Threads are part of the family: thread scaling on phones depends on the cluster and
 * is not a feature a linear model can extrapolate, so each thread count is fitted on its own.
 */
export interface FamilyKey {
  readonly opKind: OpKind;
  readonly scheme: Scheme;
  /** `BRxBC` for block schemes, null otherwise. */
  readonly block: string | null;
  readonly threads: number;
}

/** One measured point as stored in the LUT (provenance: the requested sparsity and the agent's counts). */
export interface LutPoint {
  readonly density: number;
  readonly sparsity: number;
  readonly medianNs: number;
  readonly ciLowNs: number;
  readonly ciHighNs: number;
  readonly n: number;
  readonly flops: number;
  readonly keptBlocks: number;
}

/**
 * One knot of the latency-versus-density curve: the measured points at one density merged, then made
 * monotone. `latencyNs` is the curve's value; `measuredNs` what was measured there (they differ only where
 * the measurements went down as density went up, and then by at most `LutCurve.maxDeviation`).
 */
export interface CurveKnot {
  readonly density: number;
  readonly latencyNs: number;
  readonly measuredNs: number;
  /** Interval at the knot, widened when needed so that it holds `latencyNs`. */
  readonly lowNs: number;
  readonly highNs: number;
  readonly n: number;
}

export interface LutCurve {
  /** `isotonic-linear`: weighted isotonic regression, then linear interpolation between knots. */
  readonly method: 'isotonic-linear';
  readonly knots: readonly CurveKnot[];
  /** Largest |latencyNs - measuredNs| / measuredNs over the knots. */
  readonly maxDeviation: number;
}

export interface LutEntry {
  readonly shapeKey: string;
  readonly shape: LayerShape;
  readonly opKind: OpKind;
  readonly scheme: Scheme;
  readonly block: string | null;
  readonly threads: number;
  readonly points: readonly LutPoint[];
  readonly curve: LutCurve;
}

/** Kernel work counted as the agent's engines run it (work.ts, features.ts); zero for FC. */
export const WORK_FEATURE_NAMES = [
  'fmaLanes',
  'firstTapLanes',
  'columnPasses',
  'microKernelCalls',
  'storedFloats',
  'partialStores',
  'misalignedLoads',
  'stridedL1Misses',
  'streamedL1Misses',
  'weightL2MissBytes',
  'inputL2MissBytes',
  'outputL2MissBytes',
  'compactFloats',
] as const;

/**
 * Work features no longer fitted, computed as before so that LUTs written before their replacement still
 * predict as they did: l1MissLoads (split into strided and streamed misses), the two halves with the linear
 * L1 miss share (replaced by the *L1Misses, features.ts l1MissShare), and the L2 stream bytes that took each
 * structure's share beyond L2 alone (replaced by the *L2MissBytes, which share one run's L2).
 */
export const LEGACY_WORK_FEATURE_NAMES = [
  'l1MissLoads',
  'stridedL1MissLoads',
  'l1StreamLoads',
  'weightStreamBytes',
  'inputStreamBytes',
  'outputStreamBytes',
] as const;

/** Names of the predictor features (features.ts says how each is computed). */
export const FEATURE_NAMES = [
  'flops',
  'paddedFlops',
  'weightBytes',
  'indexLoads',
  'activationBytes',
  'outputCount',
  'kernelCalls',
  'fillFloats',
  'stridedFillFloats',
  ...WORK_FEATURE_NAMES,
  ...LEGACY_WORK_FEATURE_NAMES,
] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

/**
 * A fitted model, readable without this code:
 *  - `linear`:    latencyNs = intercept + sum(coefficients[i] * feature[i]), all coefficients >= 0;
 *  - `loglinear`: ln(latencyNs) = intercept + sum(coefficients[i] * ln(1 + feature[i])).
 */
export interface PredictorModel {
  readonly kind: 'linear' | 'loglinear';
  /** Tile of the work features (features.ts), in floats: picked by cross-validation among the settings'. */
  readonly tileFloats: number;
  /**
   * Cache sizes the miss features assume (features.ts), picked like the tile. Absent in models that use no
   * miss feature (LUTs written before they existed).
   */
  readonly l1Bytes?: number;
  readonly l2Bytes?: number;
  readonly features: readonly FeatureName[];
  readonly coefficients: readonly number[];
  readonly intercept: number;
  /**
   * [low, high] ns per useful FLOP a prediction is clamped to: the training range widened 2x each way. A
   * model extrapolated to a shape unlike its training set (a log-space one especially) cannot then claim a
   * throughput the family never came near.
   */
  readonly nsPerFlopRange: readonly [number, number];
  /**
   * The model's errors at its training knots, carried to nearby shapes (anchors.ts); absent when
   * cross-validation found they did not help the pool, and in LUTs written before they existed.
   */
  readonly anchors?: ResidualAnchors;
}

/** One training knot's error: where it sits and ln(measured / predicted) of the model without anchors. */
export interface AnchorPoint {
  readonly op: LayerShape['op'];
  readonly k: number;
  readonly stride: number;
  readonly cin: number;
  readonly cout: number;
  /** Output height x width (1 for FC). */
  readonly outputPixels: number;
  readonly density: number;
  readonly logRatio: number;
}

/** Kernel smoothing of the model's errors (anchors.ts): settings picked by cross-validation, and the knots. */
export interface ResidualAnchors {
  /** Gaussian kernel width, in octaves of cin, cout and output pixels. */
  readonly bandwidth: number;
  /** Weight of the squared log2 density distance against one shape axis. */
  readonly densityWeight: number;
  /** Weight of a zero correction: where the anchors' weights sum to less, the correction shrinks. */
  readonly priorWeight: number;
  readonly points: readonly AnchorPoint[];
}

/**
 * Accuracy on held-out predictions. Relative error is (predicted - measured) / measured.
 * `logErrorP90` is the 90th percentile of |ln(predicted / measured)|: the lookup's interval half-width.
 */
export interface Accuracy {
  readonly heldOut: number;
  readonly within5: number;
  readonly within10: number;
  readonly mape: number;
  /** Mean |ln(predicted / measured)|: symmetric in over- and under-prediction, what model choice minimises. */
  readonly meanLogError: number;
  readonly logErrorP90: number;
}

export interface ModelCandidateScore {
  readonly kind: PredictorModel['kind'];
  readonly tileFloats: number;
  readonly l1Bytes?: number;
  readonly l2Bytes?: number;
  readonly mape: number;
  readonly meanLogError: number;
  readonly within10: number;
}

export interface LutPredictor {
  readonly family: FamilyKey;
  /**
   * The families whose knots trained this model, when more than this one (conv families of one scheme, block
   * and thread count run the same kernel whatever the kernel size, so they share coefficients), e.g.
   * `conv bcr 4x1 t1`. Absent for a model of this family alone.
   */
  readonly pool?: string;
  /** Shapes and knots the model was trained on (knots too noisy to train on are not counted). */
  readonly shapes: number;
  readonly points: number;
  readonly model: PredictorModel;
  /**
   * Leave-one-shape-out accuracy of the chosen model on this family's shapes (each predicted by the pool's
   * model fitted without it); null when the pool has fewer than 3 shapes (no honest estimate).
   */
  readonly accuracy: Accuracy | null;
  /**
   * The same held-out predictions split by how far each shape was from the nearest other shape of its pool
   * (anchors.ts: `near` within NEAR_OCTAVES, `far` beyond); null where no held-out shape falls. The lookup
   * sizes a predicted answer's interval by the half that matches the query. Absent in older LUTs.
   */
  readonly accuracyByDistance?: { readonly near: Accuracy | null; readonly far: Accuracy | null };
  /**
   * Every (model kind, tile, cache sizes) tried on the pool, by 5-fold shape-held-out error; the lowest
   * meanLogError was kept (the tile and cache sizes are chosen once for all conv pools, predictor.ts).
   */
  readonly candidates: readonly ModelCandidateScore[];
}

/**
 * Error of the density curves of a family between measured densities: each interior knot of every curve
 * with at least 3 knots is left out, interpolated from its neighbours and compared with its measurement.
 */
export interface LutInterpolationAccuracy {
  readonly family: FamilyKey;
  readonly accuracy: Accuracy;
}

export interface LutFitSettings {
  /** Output tile sizes (floats) tried for the work features; each predictor keeps the best by CV. */
  readonly tileFloatsTried: readonly number[];
  /** L1 and L2 data cache sizes (bytes) tried for the miss features, like the tile. Absent in older LUTs. */
  readonly l1BytesTried?: readonly number[];
  readonly l2BytesTried?: readonly number[];
  /** Two densities closer than this are the same measured point (agents round to whole blocks). */
  readonly densityTolerance: number;
  readonly minShapesForAccuracy: number;
  /**
   * Knots whose 95% interval spans more than this share of their median are left out of predictor training
   * and of the accuracy figures (they were measured while the device was disturbed); they stay in the LUT.
   */
  readonly maxTrainingIntervalShare: number;
}

/**
 * Which weights a LUT's measurements were timed with, when not the agent's seeded ones (absent: seeded, as
 * every LUT before weights files). `real`: models' own weights only; `mixed`: seeded and real together, as
 * asked (`prunelab fit --weights mixed`). `files`: the sha256 of every weights file among them.
 */
export interface LutWeights {
  readonly kind: 'real' | 'mixed';
  readonly files: readonly string[];
}

export interface Lut {
  readonly schema: typeof LUT_SCHEMA_VERSION;
  readonly device: DeviceIdentity;
  readonly weights?: LutWeights;
  /**
   * `gpu` for a LUT of the agent's OpenCL kernels; absent for the CPU (so CPU LUTs read as before). Every
   * family, pool and entry of a LUT belongs to its backend: the backend is the outermost part of the family key.
   */
  readonly backend?: 'gpu';
  readonly agentHash: string;
  /** ISO-8601. */
  readonly createdAt: string;
  readonly settings: LutFitSettings;
  readonly entries: readonly LutEntry[];
  readonly predictors: readonly LutPredictor[];
  readonly interpolation: readonly LutInterpolationAccuracy[];
}

export type LatencySource = 'measured' | 'interpolated' | 'predicted';

export interface LatencyAnswer {
  readonly latencyNs: number;
  readonly source: LatencySource;
  readonly intervalNs: readonly [number, number];
  /** How the answer was made, in words, e.g. `curve between densities 0.25 and 0.5`. */
  readonly rule: string;
}
