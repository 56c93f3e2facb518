/**
 * The cost model's public entry: fit a LUT from measured points, load and check one, look latencies up,
 * and pick the cases to measure next. Pure: arrays in, JSON out; the orchestrator does the I/O.
 */
export type { PredictionPair } from './accuracy.ts';
export { accuracyOf } from './accuracy.ts';
export type { CurveReading } from './curve.ts';
export { fitCurve, readCurve } from './curve.ts';
export type { CostModelIssue, LookupFailure, LookupQuery } from './errors.ts';
export { CostModelError, FitInputError, LutFormatError, LutLookupError, LutVersionError } from './errors.ts';
export { entryId, familyId, familyOf, opKindOf } from './family.ts';
export { computeFeatures } from './features.ts';
export type { FitOptions } from './fit.ts';
export { DEFAULT_FIT_SETTINGS, fitLut } from './fit.ts';
export type { LatencyLookup } from './lookup.ts';
export { createLookup } from './lookup.ts';
export type { LayerMask, MaskSpec } from './masks.ts';
export { computeMask, maskFnv1a, maskProblem } from './masks.ts';
export { predictCaseNs, predictNs } from './predictor.ts';
export type { SuggestCandidate, SuggestedCase } from './suggest.ts';
export { suggest } from './suggest.ts';
export * from './types.ts';
export { parseLut, parseLutText, serializeLut } from './validate.ts';
