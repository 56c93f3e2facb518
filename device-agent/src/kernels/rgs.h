/*
 * rgs ("row-group sparse"): out[rows][n] = W[rows][cols] * B[cols][n] with W sparse and B read as runs of
 * n floats at src + off[col] (see view.h). The engine behind unstructured, bcr, block-punched, pattern,
 * depthwise and the "direct" dense conv.
 *
 * Layout (XNNPACK's sparse 1x1 convolution, Elsen et al., "Fast Sparse ConvNets", CVPR 2020,
 * https://arxiv.org/abs/1911.09723): rows are cut into groups of br rows; a group stores the union of the
 * columns its rows keep, and for each such column its br weights (zero where a row does not keep it). The
 * micro-kernel holds br x NV vectors of output in registers, loads NV vectors of a column once and reuses
 * them for all br rows: the larger br, the fewer loads per FMA. Groups wider than 8 rows run as sub-groups
 * of 8/4/2/1 rows sharing the same columns. Loop order: output tiles of RGS_TILE floats outer, groups inner,
 * so one tile of every input column stays in cache while the weights stream.
 *
 * Threads: tasks are (tile range, group range) pairs, groups cut by equal work (kept weights). With a
 * stripe width (a multiple of rgs_tile(), from layer.c) the tile ranges are exactly the stripes.
 */
#ifndef PL_RGS_H
#define PL_RGS_H

#include <stddef.h>

#include "../pool.h"

typedef struct rgs_plan rgs_plan;

/* wm[rows][cols]: masked weights (0 = pruned). Column c of row r reads src + off[c] + r * row_off
 * (row_off = 0 for conv; the channel stride for depthwise, where row r reads only its own channel).
 * n: output columns per row. */
rgs_plan *rgs_plan_create(const float *wm, int rows, int cols, int br, const long *off, long row_off, int n,
                          int threads, int stripe, char *err, size_t errlen);
/* Output tile width in floats: src must be readable up to off + n rounded up to it. */
int rgs_tile(void);
/* out row r at out + r * ldc; ldc >= n. Columns past n are never written. */
void rgs_plan_run(rgs_plan *p, pl_pool *pool, const float *src, float *out, long ldc);
/* Largest sub-group height used (8, 4, 2 or 1), for the kernel name. */
int rgs_plan_rows_per_kernel(const rgs_plan *p);
void rgs_plan_free(rgs_plan *p);

#endif
