/*
 * rng: a tiny fixed PRNG (splitmix64) so the same seed gives the same weights on every build (host, arm64,
 * Android): no libc rand(), whose sequence differs between C libraries.
 * https://prng.di.unimi.it/splitmix64.c
 */
#ifndef PL_RNG_H
#define PL_RNG_H

#include <stdint.h>

typedef struct {
  uint64_t state;
} pl_rng;

void rng_seed(pl_rng *rng, uint64_t seed);
uint64_t rng_next(pl_rng *rng);
/* Uniform in [-1, 1), 24 random bits: exact in fp32, identical on every platform. */
float rng_uniform_pm1(pl_rng *rng);
/* Uniform integer in [0, n). */
uint32_t rng_below(pl_rng *rng, uint32_t n);

#endif
