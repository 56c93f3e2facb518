/**
 * Sample types whose invariants are carried in the type (tinybench's habit): a SortedSamples value is
 * non-empty, ascending and finite, so the statistics below need no empty-array or NaN branches.
 */
declare const sortedBrand: unique symbol;

/** A non-empty, ascending array of finite numbers. Build it with `toSortedSamples`. */
export type SortedSamples = readonly [number, ...number[]] & { readonly [sortedBrand]: true };

/** Sorts a copy; returns undefined for an empty array; throws RangeError on a non-finite value. */
export function toSortedSamples(values: readonly number[]): SortedSamples | undefined {
  if (values.length === 0) return undefined;
  values.forEach((value, index) => {
    if (!Number.isFinite(value)) {
      throw new RangeError(
        `sample ${index} is ${value}: expected a finite number (the agent sent a bad sample)`,
      );
    }
  });
  // Numeric comparator: Array#sort compares as strings by default (10 < 9).
  return [...values].sort((a, b) => a - b) as unknown as SortedSamples;
}

/** The element at a 0-based rank clamped to the sample; the sample is non-empty, so this always exists. */
export function at(samples: SortedSamples, rank: number): number {
  const index = Math.min(samples.length - 1, Math.max(0, rank));
  return samples[index] as number;
}
