/** The host-side statistics stored with every measurement (issue 3): one pure call per case. */
import { max, mean, median, medianAbsoluteDeviation, min, quantile } from './descriptive.ts';
import { type BootstrapOptions, bootstrapMedianInterval, orderStatisticMedianInterval } from './interval.ts';
import type { SortedSamples } from './samples.ts';

/** All figures are in the unit of the samples (the agent sends ns). */
export interface SampleSummary {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly median: number;
  /** Raw median absolute deviation (NOT scaled by 1.4826; see MAD_NORMAL_SCALE). */
  readonly mad: number;
  /** Type-7 (linear interpolation) quantiles. */
  readonly p10: number;
  readonly p90: number;
  /** Percentile-bootstrap 95% interval of the median (interval.ts documents the estimator). */
  readonly medianCiLow: number;
  readonly medianCiHigh: number;
  /** Distribution-free order-statistic 95% interval of the median; null below 6 samples. */
  readonly medianOrderCiLow: number | null;
  readonly medianOrderCiHigh: number | null;
}

export type SummaryOptions = Omit<BootstrapOptions, 'confidence'>;

export function summarize(samples: SortedSamples, options: SummaryOptions = {}): SampleSummary {
  const bootstrap = bootstrapMedianInterval(samples, options);
  const order = orderStatisticMedianInterval(samples);
  return {
    count: samples.length,
    min: min(samples),
    max: max(samples),
    mean: mean(samples),
    median: median(samples),
    mad: medianAbsoluteDeviation(samples),
    p10: quantile(samples, 0.1),
    p90: quantile(samples, 0.9),
    medianCiLow: bootstrap.low,
    medianCiHigh: bootstrap.high,
    medianOrderCiLow: order?.low ?? null,
    medianOrderCiHigh: order?.high ?? null,
  };
}
