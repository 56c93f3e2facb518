/*
 * layer.h: the seam between the agent's runtime (plan parsing, sampling, telemetry, JSON out) and its
 * kernels (weights, masks, packed sparse formats, compute). The runtime only ever sees an opaque
 * pl_layer: it prepares one per case, times layer_run() and reports layer_stats().
 *
 * GEMM view (fixed for the whole project, matches im2col): a conv weight W[cout][cin][k][k] is a matrix
 * of cout rows and cin*k*k columns, column index = (ci*k + ky)*k + kx. FC is W[out][in] (cout=out, cin=in).
 */
#ifndef PL_LAYER_H
#define PL_LAYER_H

#include <stddef.h>
#include <stdint.h>

typedef enum { PL_OP_CONV, PL_OP_DWCONV, PL_OP_FC, PL_OP_IDLE } pl_op;

typedef enum {
  PL_SCHEME_DENSE,
  PL_SCHEME_UNSTRUCTURED,
  PL_SCHEME_FILTER,
  PL_SCHEME_CHANNEL,
  PL_SCHEME_PATTERN,
  PL_SCHEME_BCR,
  PL_SCHEME_BLOCK_PUNCHED,
} pl_scheme;

#define PL_MAX_CPUS 64

typedef enum { PL_DENSE_AUTO = 0, PL_DENSE_DIRECT, PL_DENSE_GEMM, PL_DENSE_MVEC } pl_dense_kernel;

typedef struct {
  pl_op op;
  /* conv / dwconv: input cin x h x w, kernel k x k, stride, pad (dwconv: cout == cin).
   * fc: cin = in, cout = out; h = w = k = stride = 1, pad = 0. */
  int cin, cout, h, w, k, stride, pad;
  pl_scheme scheme;
  int br, bc;            /* block rows x columns for bcr / block-punched; 0 when the scheme has none */
  double sparsity;       /* requested fraction of weights removed, in [0, 1) */
  double bcr_row_share;  /* bcr only: share of the removed weights taken as whole rows inside blocks (0 = columns only) */
  uint64_t seed;         /* weights and masks are a pure function of (spec, seed) */
  int threads;           /* worker threads, >= 1 */
  int ncpus;             /* CPUs to pin workers to (worker i -> cpus[i % ncpus]); 0 = inherit affinity */
  int cpus[PL_MAX_CPUS];
  /* dense conv only: which kernel. AUTO (0, what a zeroed spec gives) times the candidates once in
   * layer_prepare and keeps the fastest; the others force one (selftest checks each, benchmarks may pin one). */
  pl_dense_kernel dense_kernel;
} pl_layer_spec;

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
/* layer_check on another output of the same layer (the GPU's), with extra_rel_tol added to the fp32
 * tolerance (fp16 storage rounds weights, input and output). */
int layer_check_output(pl_layer *layer, const float *out, double extra_rel_tol, double *max_rel_err);

/* Names as they appear in plan lines ("dense", "bcr", "block-punched", "conv", "fc", ...). */
const char *pl_scheme_name(pl_scheme s);
int pl_scheme_parse(const char *name, pl_scheme *out);
const char *pl_op_name(pl_op op);
int pl_op_parse(const char *name, pl_op *out);

/* selftest: every op and scheme against the reference on seeded random shapes, odd sizes included.
 * Prints JSON lines (one per check, then a summary); returns the process exit code. */
int selftest_main(int argc, char **argv);

#endif
