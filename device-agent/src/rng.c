#include "rng.h"

void rng_seed(pl_rng *rng, uint64_t seed) { rng->state = seed; }

uint64_t rng_next(pl_rng *rng) {
  uint64_t z = (rng->state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

float rng_uniform_pm1(pl_rng *rng) {
  /* The top 24 bits as an integer in [0, 2^24), scaled: every value is exactly representable. */
  int32_t bits = (int32_t)(rng_next(rng) >> 40);
  return (float)(bits - (1 << 23)) * (1.0f / (float)(1 << 23));
}

uint32_t rng_below(pl_rng *rng, uint32_t n) { return (uint32_t)(((rng_next(rng) >> 32) * (uint64_t)n) >> 32); }
