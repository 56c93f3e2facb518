/**
 * 95% intervals of the median.
 *
 * Bootstrap (reported): the percentile bootstrap (Efron & Tibshirani 1993, ch. 13). Draw `resamples`
 * resamples of n with replacement from the samples, take each resample's median, and report the
 * (alpha/2, 1 - alpha/2) type-7 quantiles of those medians. The PRNG is seeded, so the interval is a pure
 * function of (samples, resamples, seed, confidence). Because the samples are sorted, a resample is
 * described by how many times each rank was drawn; its median is found by walking those counts, in O(n)
 * per resample with no sort.
 *
 * Order statistics (cross-check): the distribution-free interval [x(l), x(u)] with l, u chosen from
 * Binomial(n, 1/2) so that P(x(l) <= true median <= x(u)) >= confidence (Conover, "Practical
 * Nonparametric Statistics", 3rd ed., 3.2). It needs n >= 6 at 95%.
 */
import { quantile } from './descriptive.ts';
import { mulberry32, randomIndex } from './prng.ts';
import { at, type SortedSamples, toSortedSamples } from './samples.ts';

export interface Interval {
  readonly low: number;
  readonly high: number;
}

export interface BootstrapOptions {
  /** Number of resamples; 2000 keeps the percentile endpoints stable to about a rank at n <= 1000. */
  readonly resamples?: number;
  readonly seed?: number;
  readonly confidence?: number;
}

export const DEFAULT_BOOTSTRAP_RESAMPLES = 2000;
export const DEFAULT_BOOTSTRAP_SEED = 0x5eed;

/** Median of the resample whose count of each rank i is counts[i]. */
function medianFromCounts(samples: SortedSamples, counts: Uint32Array): number {
  const n = samples.length;
  // 0-based ranks of the middle element(s) in the sorted resample.
  const lowRank = Math.floor((n - 1) / 2);
  const highRank = Math.floor(n / 2);
  let seen = 0;
  let lowValue: number | undefined;
  for (let i = 0; i < n; i++) {
    seen += counts[i] ?? 0;
    if (lowValue === undefined && seen > lowRank) lowValue = at(samples, i);
    if (seen > highRank) return ((lowValue ?? at(samples, i)) + at(samples, i)) / 2;
  }
  return at(samples, n - 1);
}

export function bootstrapMedianInterval(samples: SortedSamples, options: BootstrapOptions = {}): Interval {
  const resamples = options.resamples ?? DEFAULT_BOOTSTRAP_RESAMPLES;
  const confidence = options.confidence ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new RangeError(`bootstrap: expected a positive integer number of resamples, got ${resamples}`);
  }
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`bootstrap: expected a confidence in (0, 1), got ${confidence}`);
  }
  const n = samples.length;
  const random = mulberry32(options.seed ?? DEFAULT_BOOTSTRAP_SEED);
  const counts = new Uint32Array(n);
  const medians: number[] = [];
  for (let r = 0; r < resamples; r++) {
    counts.fill(0);
    for (let draw = 0; draw < n; draw++) {
      const index = randomIndex(random, n);
      counts[index] = (counts[index] ?? 0) + 1;
    }
    medians.push(medianFromCounts(samples, counts));
  }
  const sortedMedians = toSortedSamples(medians);
  if (sortedMedians === undefined) throw new Error('unreachable: at least one resample');
  const alpha = 1 - confidence;
  return { low: quantile(sortedMedians, alpha / 2), high: quantile(sortedMedians, 1 - alpha / 2) };
}

/**
 * Distribution-free interval of the median from order statistics; undefined when n is too small for the
 * confidence (n < 6 at 95%). The 1-based ranks are l = k + 1 and u = n - k, with k the largest integer
 * such that P(B <= k) <= alpha / 2, B ~ Binomial(n, 1/2); coverage is then >= confidence.
 */
export function orderStatisticMedianInterval(
  samples: SortedSamples,
  confidence = 0.95,
): Interval | undefined {
  const n = samples.length;
  const tail = (1 - confidence) / 2;
  // Walk the Binomial(n, 1/2) CDF upward; terms in log space so that large n does not underflow 2^-n.
  let logTerm = -n * Math.LN2; // log(C(n, 0) / 2^n)
  let cdf = Math.exp(logTerm);
  let k = -1;
  for (let i = 0; i < n && cdf <= tail; i++) {
    k = i;
    logTerm += Math.log((n - i) / (i + 1)); // C(n, i+1) = C(n, i) (n - i) / (i + 1)
    cdf += Math.exp(logTerm);
  }
  if (k < 0) return undefined;
  return { low: at(samples, k), high: at(samples, n - 1 - k) };
}
