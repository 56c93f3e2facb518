/**
 * The cost model's public entry: fit a LUT from measured points, load and check one, look latencies up,
 * pick the cases to measure next, grade a fitted predictor on shapes it did not see, and map layers to
 * pruning schemes (the mappers). Pure: arrays in, JSON out; the orchestrator does the I/O. Nothing outside
 * cost-model/ imports any other of its files (test/architecture.test.ts keeps it so; tests may also use
 * the literal fixtures of test-support.ts).
 */
export type { PredictionPair } from './accuracy.ts';
export { accuracyOf } from './accuracy.ts';
export { nearestOctaves } from './anchors.ts';
export type { CurveReading } from './curve.ts';
export { fitCurve, readCurve } from './curve.ts';
export type { CostModelIssue, LookupFailure, LookupQuery } from './errors.ts';
export { CostModelError, FitInputError, LutFormatError, LutLookupError, LutVersionError } from './errors.ts';
export { entryId, familyId, familyOf, lutBlock, opKindOf } from './family.ts';
export { computeFeatures } from './features.ts';
export type { FitOptions } from './fit.ts';
export { DEFAULT_FIT_SETTINGS, fitLut } from './fit.ts';
export type { LatencyLookup } from './lookup.ts';
export { createLookup } from './lookup.ts';
export * from './mappers/index.ts';
// Held-out grading of a fitted LUT's predictor: the report's LUT-quality section leaves each measured shape out
// in turn and predicts it with the LUT's own model settings.
export type { TrainingPoint } from './predictor.ts';
export {
  anchorSettingsOf,
  distinctShapes,
  leaveOneShapeOut,
  paramsOf,
  predictCaseNs,
  predictNs,
} from './predictor.ts';
export type { SuggestCandidate, SuggestedCase } from './suggest.ts';
export { suggest } from './suggest.ts';
export * from './types.ts';
export { parseLut, parseLutText, serializeLut } from './validate.ts';
