/*
 * prepcache: what layer_prepare can reuse between the cases of one agent call, so a sweep does not rebuild it
 * for every scheme, block and sparsity of a layer:
 *
 *   weights and input   a pure function of (op, shape, seed, weights source): generated once per shape (rng.c,
 *                       in double), the weights then replaced by a file's when the line names one (weights.h);
 *                       the source ("" or "<file sha256>@<offset>") is part of the key, so seeded and real
 *                       weights of one shape never stand in for each other
 *   masks               a pure function of (weights, scheme, block, sparsity, bcrRowShare): kept per that key,
 *                       so a case that differs only in threads or CPUs (a thread sweep) reuses its mask
 *   dense kernel        the candidate layer_prepare timed fastest, per (threads, CPUs)
 *
 * The cache holds ONE shape: selecting another shape (or seed) clears it. The planner orders a sweep's cases by
 * shape (all cases of a layer, then the next layer), so one shape at a time is every hit there is, and memory
 * stays bounded by one layer's weights and input plus PREPCACHE_MASK_BUDGET_BYTES of masks.
 *
 * Reuse never changes a result: the weights, masks and kept energy are those a fresh agent call computes
 * (test/agent-prepare-cache.test.ts compares a cached plan run against each case run alone, field by field).
 */
#ifndef PL_PREPCACHE_H
#define PL_PREPCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "prune.h"
#include "spec.h"

/* Masks of one shape kept at most this many bytes (1 per weight): 64 MB holds 28 masks of the largest
 * ResNet-18 layer (512 x 4608) and every mask of the smaller ones. Past it, new masks are not kept (the ones
 * kept still hit: with cases that cycle through more masks than fit, evicting the oldest would hit never). */
#define PREPCACHE_MASK_BUDGET_BYTES (64L << 20)
#define PREPCACHE_MAX_MASKS 256
#define PREPCACHE_MAX_DENSE 16

typedef struct prepcache prepcache;

prepcache *prepcache_create(void);
void prepcache_free(prepcache *c);

/* Makes the cache hold the shape, seed and weights source of spec, clearing it when they differ from what it holds. */
void prepcache_select(prepcache *c, const pl_layer_spec *spec);

/* Copies the weights (nw floats) and raw input (nin floats) of the selected shape into w and in and returns 0,
 * or returns -1 when they are not stored yet. */
int prepcache_get_data(const prepcache *c, long nw, long nin, float *w, float *in);
/* Stores copies; returns -1 (nothing stored, nothing lost but the reuse) when out of memory. */
int prepcache_put_data(prepcache *c, long nw, long nin, const float *w, const float *in);

/* The mask of spec's (scheme, block, sparsity, bcrRowShare) on the selected shape: copies it into mask
 * (n bytes) and its result into *out and returns 0, or returns -1 when not stored. */
int prepcache_get_mask(const prepcache *c, const pl_layer_spec *spec, long n, uint8_t *mask, prune_result *out);
void prepcache_put_mask(prepcache *c, const pl_layer_spec *spec, long n, const uint8_t *mask, const prune_result *res);

/* The dense conv kernel chosen for spec's threads and CPUs on the selected shape, or PL_DENSE_AUTO. */
pl_dense_kernel prepcache_get_dense(const prepcache *c, const pl_layer_spec *spec);
void prepcache_put_dense(prepcache *c, const pl_layer_spec *spec, pl_dense_kernel kernel);

/* Counters since creation, for tests and diagnostics. */
typedef struct {
  long data_hits, data_misses, mask_hits, mask_misses, dense_hits, dense_misses;
} prepcache_counts;
prepcache_counts prepcache_counts_get(const prepcache *c);

#endif
