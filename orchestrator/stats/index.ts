/** Host-side statistics of raw samples (pure). */
export * from './descriptive.ts';
export * from './interval.ts';
export { mulberry32 } from './prng.ts';
export { type SortedSamples, toSortedSamples } from './samples.ts';
export * from './summary.ts';
