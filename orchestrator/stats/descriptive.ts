/** Descriptive statistics over sorted, non-empty samples. Results are in the unit of the samples. */
import { at, type SortedSamples, toSortedSamples } from './samples.ts';

export function min(samples: SortedSamples): number {
  return samples[0];
}

export function max(samples: SortedSamples): number {
  return at(samples, samples.length - 1);
}

export function mean(samples: SortedSamples): number {
  let sum = 0;
  for (const value of samples) sum += value;
  return sum / samples.length;
}

/** The middle value; for an even count, the mean of the two middle values. */
export function median(samples: SortedSamples): number {
  const n = samples.length;
  const middle = Math.floor(n / 2);
  return n % 2 === 1 ? at(samples, middle) : (at(samples, middle - 1) + at(samples, middle)) / 2;
}

/**
 * The median of unsorted figures (a sorted copy); NaN for none. Not checked for finiteness as raw samples
 * are (toSortedSamples): callers pass derived figures such as ratios, logs and per-run overheads.
 */
export function medianOf(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return median([...values].sort((a, b) => a - b) as unknown as SortedSamples);
}

/**
 * Quantile by linear interpolation between order statistics (Hyndman & Fan type 7, the default of R and
 * NumPy): position h = (n - 1) p, value x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]).
 */
export function quantile(samples: SortedSamples, p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`quantile: expected p in [0, 1], got ${p}`);
  const h = (samples.length - 1) * p;
  const lower = Math.floor(h);
  const low = at(samples, lower);
  return low + (h - lower) * (at(samples, lower + 1) - low);
}

/**
 * Raw median absolute deviation: median(|x - median(x)|), NOT multiplied by 1.4826. Multiply by
 * MAD_NORMAL_SCALE to estimate a standard deviation under normality.
 */
export function medianAbsoluteDeviation(samples: SortedSamples): number {
  const center = median(samples);
  const deviations = toSortedSamples(samples.map((value) => Math.abs(value - center)));
  // Non-empty input gives non-empty deviations.
  return deviations === undefined ? 0 : median(deviations);
}

/** 1 / Phi^-1(3/4): turns a raw MAD into a consistent estimator of sigma for normal data. */
export const MAD_NORMAL_SCALE = 1.482602218505602;
