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
  uint64_t mask_fnv1a; /* prune.h: FNV-1a 64 of the keep-mask bytes in the GEMM view */
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

/* The masked GEMM-view weights (rows x cols, layer.h's GEMM view) and the input (cin x h x w, or in) of a
 * prepared layer: the GPU backend runs a case on exactly these numbers, so both backends prune the same
 * weights. */
const float *layer_masked_weights(const pl_layer *layer);
const float *layer_input(const pl_layer *layer);
/* Chaining layers (the network op): a layer's output (cout x ho x wo, or out floats) and the input size a
 * layer reads (cin x h x w, or in). layer_bind_input makes every later layer_run read src instead of the
 * layer's own input: src must hold layer_input_floats() floats followed by read slack, which every
 * layer_output() has; NULL returns to the layer's own input. layer_check still compares against the own
 * input, so check a bound layer only after binding it back to NULL and copying the data in. */
const float *layer_output(const pl_layer *layer);
long layer_output_floats(const pl_layer *layer);
long layer_input_floats(const pl_layer *layer);
void layer_bind_input(pl_layer *layer, const float *src);

/* layer_check on another output of the same layer (the GPU's), with extra_rel_tol added to the fp32
 * tolerance (fp16 storage rounds weights, input and output). */
int layer_check_output(pl_layer *layer, const float *out, double extra_rel_tol, double *max_rel_err);

/* selftest: every op and scheme against the reference on seeded random shapes, odd sizes included.
 * Prints JSON lines (one per check, then a summary); returns the process exit code. */
int selftest_main(int argc, char **argv);

#endif
