/**
 * A small seeded PRNG so that resampling is deterministic: same samples and seed, same interval, on any
 * machine. mulberry32 (Tommy Ettinger, public domain): 32-bit state, passes gjrand/PractRand to 2^32 or
 * so, plenty for a few thousand bootstrap resamples. https://gist.github.com/tommyettinger/46a874533244883189143505d203312c
 */
export type Random = () => number;

/** Returns a function that yields uniform floats in [0, 1). */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform integer in [0, n). */
export function randomIndex(random: Random, n: number): number {
  return Math.floor(random() * n);
}
