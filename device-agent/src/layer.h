/*
 * layer.h: the seam between the agent's runtime (plan parsing, sampling, telemetry, JSON out) and its
 * kernels (weights, masks, packed sparse formats, compute). The runtime only ever sees an opaque
 * pl_layer: it prepares one per case, times layer_run() and reports layer_stats().
 *
 * The case it builds (pl_layer_spec) and the GEMM view of its weights are in spec.h.
 */
#ifndef PL_LAYER_H
#define PL_LAYER_H

#include <stddef.h>
#include <stdint.h>

#include "prepcache.h"
#include "spec.h"

typedef struct {
  double density;      /* kept weights / all weights, after masking */
  long kept_blocks;    /* kept blocks (bcr, block-punched), kept rows/cols (filter/channel), kept kernels
                          (pattern), nonzeros (unstructured), all weights (dense) */
  double kept_energy;  /* sum of kept w^2 / sum of all w^2: the mappers' accuracy proxy */
  double flops;        /* useful FLOPs of one run (2 per kept multiply-add) */
  const char *kernel;  /* name of the kernel variant chosen, e.g. "dense-im2col-gemm" */
} pl_layer_stats;

typedef struct pl_layer pl_layer;

/* Build weights, prune, pack, allocate input and output. On a spec that cannot exist (a block that does
 * not divide the layer, pattern on a non-3x3 kernel, ...) returns NULL and writes a one-line reason to err,
 * e.g. "block 8x4 does not divide cout=60". */
pl_layer *layer_prepare(const pl_layer_spec *spec, char *err, size_t errlen);
/* The same, reusing what an earlier case of the agent call built for the same shape (prepcache.h: weights,
 * input, masks, the dense kernel choice) and storing what it builds. The result is the same layer bit for bit;
 * cache NULL is layer_prepare. */
pl_layer *layer_prepare_cached(const pl_layer_spec *spec, prepcache *cache, char *err, size_t errlen);
/* One inference of the layer: input -> output. The only thing the runtime times. */
void layer_run(pl_layer *layer);
pl_layer_stats layer_stats(const pl_layer *layer);
/* Compare the last layer_run() output with a double-precision reference on the same masked weights.
 * Returns 0 when within tolerance; writes the worst relative error to *max_rel_err. */
int layer_check(pl_layer *layer, double *max_rel_err);
void layer_free(pl_layer *layer);

/* selftest: every op and scheme against the reference on seeded random shapes, odd sizes included.
 * Prints JSON lines (one per check, then a summary); returns the process exit code. */
int selftest_main(int argc, char **argv);

#endif
