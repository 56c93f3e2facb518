/*
 * mvec: dense C[m][n] = A[m][k] * B[k][n] vectorised over the rows (output channels) instead of the columns
 * (pixels): for small maps. With 16-float vectors a 7x7 map (n = 49) fills 4 vectors for 49 useful lanes,
 * so the column-vectorised kernels (gemm, rgs) waste 23% (and 13% at 14x14); here a micro-tile is MV vectors
 * of rows x NRS pixels, NRS picked per layer among 4..8 to waste the least (49 = 7 x 7, 196 = 28 x 7).
 * Measured on this EPYC: 161 GFLOP/s on 2048x1024x49 where the column kernels reached ~105-120.
 *
 * A (the weights) is packed once into panels of MV*VL rows; B is packed per run into NRS-column panels from
 * src + boff[j] (view.h). The depth is blocked by MVEC_KC with the partial sums kept in a per-thread tile.
 * Tasks: stripes of columns (layer.c) when given, else chunks of row panels.
 */
#ifndef PL_MVEC_H
#define PL_MVEC_H

#include <stddef.h>

#include "../pool.h"

typedef struct mvec_plan mvec_plan;

mvec_plan *mvec_plan_create(const float *w, long ldw, int m, int k, int n, int threads, int stripe, char *err,
                            size_t errlen);
void mvec_plan_run(mvec_plan *p, pl_pool *pool, const float *src, const long *boff, float *c, long ldc);
/* e.g. "32x7": rows x pixels of the micro-tile chosen for this layer. */
const char *mvec_plan_tile_name(const mvec_plan *p);
void mvec_plan_free(mvec_plan *p);

#endif
