/*
 * fc: batch-1 fully connected layers, y[out] = W[out][in] x[in]. Memory-bound: every weight is read once
 * per run and used for one FMA, so the speed of a format is the bytes it streams per kept weight.
 *
 * One engine, "row groups along the output dimension": rows are cut into groups of h rows (h in 16/8/4/2/1)
 * that share one list of kept input columns; per kept column the group stores h contiguous weights, read as
 * one h-wide vector and multiplied by the broadcast x[col] (no gathers, no horizontal sums). A dense layer
 * is the same with every column kept and no index stream (16-row groups); bcr and block-punched use h = br;
 * unstructured uses h = 1, which is CSR (value + 32-bit index per nonzero, 2x the bytes of dense per kept
 * weight: it only pays beyond 50% sparsity, as the README's scheme figures expect). Filter pruning keeps fewer rows, channel
 * pruning fewer columns: both stay dense.
 */
#ifndef PL_FC_H
#define PL_FC_H

#include <stddef.h>

#include "../pool.h"

typedef struct fc_plan fc_plan;

/* wm[rows][cols] masked weights. br: rows per group (1 = CSR); dense: store every column, no indices
 * (rows with no kept weight at all are skipped and their outputs written as 0). */
fc_plan *fc_plan_create(const float *wm, int rows, int cols, int br, int dense, int threads, char *err,
                        size_t errlen);
void fc_plan_run(fc_plan *p, pl_pool *pool, const float *x, float *y);
/* Rows per vector of the widest group ("16", "4", ...), for the kernel name. */
int fc_plan_rows_per_kernel(const fc_plan *p);
void fc_plan_free(fc_plan *p);

#endif
