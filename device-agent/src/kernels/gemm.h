/*
 * gemm: C[m][n] = A[m][k] * B[k][n] for the dense, filter and channel schemes (and conv as im2col+GEMM).
 *
 * A is the weight matrix, packed once at prepare time into MR-row panels (so packing A costs nothing per
 * run); the logical rows and columns are picked by index lists, which is how filter and channel pruning
 * become a smaller dense GEMM. B is never materialised: row j of B is `src + boff[j]`, a contiguous run of
 * n floats (an input channel for 1x1 conv, a shifted slice of the padded input for KxK; see view.h), and
 * is packed per run into NR-column panels. Row i of C is `c + crow[i] * ldc`.
 *
 * Blocking (Goto/BLIS): depth blocks of at most GEMM_KC, an A block of up to GEMM_MC rows stays in L2, one
 * B panel (kc x NR) stays in L1 while the micro-kernel sweeps the A panels. The micro-kernel is MR x NR
 * with NR = NV vectors, all accumulators in registers (checked in objdump: vfmadd231ps / fmla only).
 * Tails: A is zero-padded to a multiple of MR; B panels read up to n rounded up to NR (the caller's
 * buffers have slack) and a partial tile is written through a scratch tile.
 *
 * Threads: tasks are (row chunk, column chunk) pairs, each packing its own B; no barriers. With a stripe
 * width (layer.c), column chunks are exactly those stripes and rows are not split, so task i covers the same
 * output columns as task i of the layer's other phases.
 */
#ifndef PL_GEMM_H
#define PL_GEMM_H

#include <stddef.h>

#include "../pool.h"

typedef struct gemm_plan gemm_plan;

/* Packs A: logical row i is w row rows[i] (rows NULL: i), logical column j is w column cols[j] (NULL: j).
 * n: the column count of every later run; threads: workers of the pool that will run it; stripe: column
 * chunk per task (0: chosen here). */
gemm_plan *gemm_plan_create(const float *w, long ldw, int m, int k, const int *rows, const int *cols, int n,
                            int threads, int stripe, char *err, size_t errlen);
/* Columns per micro-tile. */
int gemm_nr(void);
/* Floats the caller must be able to read past src + boff[j] + n (tail panels read whole vectors). */
int gemm_b_slack(void);
void gemm_plan_run(gemm_plan *p, pl_pool *pool, const float *src, const long *boff, float *c, long ldc,
                   const int *crow);
const char *gemm_tile_name(void);
void gemm_plan_free(gemm_plan *p);

#endif
