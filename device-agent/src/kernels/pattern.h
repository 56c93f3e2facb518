/*
 * pattern: 3x3 convolution whose kernels each keep the 4 taps of one of the 8 library patterns
 * (prune.h), with whole kernels removed by connectivity pruning.
 *
 * PatDNN's point (Niu et al., ASPLOS 2020, https://arxiv.org/abs/2001.00138) is that pattern sparsity is
 * only fast when the code groups kernels by pattern ("filter kernel reorder") so the same loads serve many
 * kernels. Measured here: a per-filter loop over kept taps (rgs with 1-row groups) reached ~50 GFLOP/s,
 * too little to beat a ~170 GFLOP/s dense conv at density 0.25. So this kernel is input-stationary: for one
 * output tile, for each input channel and each pattern, the 4 shifted input slices of that pattern are
 * loaded once into registers and applied to every filter whose kernel on that channel uses that pattern.
 * The filters' output tiles live in a per-thread scratch block that stays in L1/L2 (rows in chunks of
 * PAT_ROWS), so each kept kernel costs one load + one store of its output tile for 4 FMAs per vector,
 * instead of 4 input loads.
 */
#ifndef PL_PATTERN_H
#define PL_PATTERN_H

#include <stddef.h>

#include "../pool.h"

typedef struct pat_plan pat_plan;

/* wm[rows][cin*9] masked weights; off[cin*9]: view offset of each (ci, ky, kx). n: output columns. */
/* stripe: output columns per task (a multiple of pat_tile(); 0: one tile per task). */
pat_plan *pat_plan_create(const float *wm, int rows, int cin, const long *off, int n, int threads, int stripe,
                          char *err, size_t errlen);
int pat_tile(void);
void pat_plan_run(pat_plan *p, pl_pool *pool, const float *src, float *out, long ldc);
void pat_plan_free(pat_plan *p);

#endif
