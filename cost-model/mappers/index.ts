/** The pruning-scheme mappers (README.md): pure, arrays in, JSON out. */
export * from './baselines.ts';
export * from './candidates.ts';
export * from './knapsack.ts';
export * from './objective.ts';
export * from './proxy.ts';
export * from './rule.ts';
export * from './search.ts';
export * from './seeded-weights.ts';
export * from './sensitivity.ts';
export type * from './types.ts';
