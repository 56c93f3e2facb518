/*
 * spec.h: what one case is (op, shape, scheme, block, sparsity, threads, CPUs) and the names of its ops and
 * schemes as plan lines spell them. The vocabulary shared by the runtime (plan.c, run.c), the kernels
 * (layer.c) and the masks (prune.c); it depends on none of them, so none of them depends on another through it.
 *
 * GEMM view (fixed for the whole project, matches im2col): a conv weight W[cout][cin][k][k] is a matrix
 * of cout rows and cin*k*k columns, column index = (ci*k + ky)*k + kx. FC is W[out][in] (cout=out, cin=in).
 */
#ifndef PL_SPEC_H
#define PL_SPEC_H

#include <stdint.h>

/* network: a list of conv / dwconv / fc layers timed back to back (plan.h's pl_network); never a layer itself. */
typedef enum { PL_OP_CONV, PL_OP_DWCONV, PL_OP_FC, PL_OP_IDLE, PL_OP_NETWORK } pl_op;

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
  /* Real weights (plan field "weights", weights.h): rows x cols floats in the GEMM view above, borrowed for
   * layer_prepare only (it copies them; the pointer is not kept). NULL: the seeded weights. */
  const float *weights;
  /* Names the real weights for the preparation cache: "<sha256 of the file>@<byte offset>"; "" when seeded. */
  char weights_id[96];
} pl_layer_spec;

/* Names as they appear in plan lines ("dense", "bcr", "block-punched", "conv", "fc", ...). */
const char *spec_scheme_name(pl_scheme s);
int spec_scheme_parse(const char *name, pl_scheme *out);
const char *spec_op_name(pl_op op);
int spec_op_parse(const char *name, pl_op *out);

#endif
