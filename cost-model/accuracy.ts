/**
 * Accuracy of predictions against measurements: the figures nn-Meter reports (share within ±5% and ±10%,
 * MAPE), plus the 90th percentile of |ln(predicted / measured)| that the lookup turns into an interval.
 */
import type { Accuracy } from './types.ts';

export interface PredictionPair {
  readonly predictedNs: number;
  readonly measuredNs: number;
}

/** Relative error (predicted - measured) / measured: +0.1 means 10% too slow a prediction. */
export function relativeError(pair: PredictionPair): number {
  return (pair.predictedNs - pair.measuredNs) / pair.measuredNs;
}

/** Nearest-rank percentile (no interpolation), so the figure is always one of the observed errors. */
export function nearestRank(sortedValues: readonly number[], fraction: number): number {
  if (sortedValues.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(fraction * sortedValues.length));
  return sortedValues[Math.min(rank, sortedValues.length) - 1] as number;
}

/** A small slack so that an error of exactly 10% (in decimal arithmetic) counts as within ±10%. */
const EDGE_SLACK = 1e-12;

export function accuracyOf(pairs: readonly PredictionPair[]): Accuracy {
  if (pairs.length === 0) throw new RangeError('accuracyOf: no predictions');
  const absErrors = pairs.map((pair) => Math.abs(relativeError(pair)));
  const within = (limit: number): number =>
    absErrors.filter((error) => error <= limit + EDGE_SLACK).length / absErrors.length;
  const logErrors = pairs
    .map((pair) => Math.abs(Math.log(pair.predictedNs / pair.measuredNs)))
    .sort((a, b) => a - b);
  return {
    heldOut: pairs.length,
    within5: within(0.05),
    within10: within(0.1),
    mape: absErrors.reduce((sum, error) => sum + error, 0) / absErrors.length,
    meanLogError: logErrors.reduce((sum, error) => sum + error, 0) / logErrors.length,
    logErrorP90: nearestRank(logErrors, 0.9),
  };
}
