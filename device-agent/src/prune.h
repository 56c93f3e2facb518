/*
 * prune: magnitude pruning masks for every scheme, over the GEMM view of the weights (spec.h):
 * a matrix of `rows` (= cout) by `cols` (= cin*k*k; k*k for dwconv, in for fc), column = (ci*k + ky)*k + kx.
 *
 * Every mask removes the units of its scheme with the smallest sum of squared weights, smallest first,
 * until the kept weight count is the nearest reachable to (1 - sparsity) * rows * cols. Ties break on the
 * unit index, so a mask is a pure function of the weights (host and arm64 agree bit for bit).
 *
 *   unstructured   unit = one weight
 *   filter         unit = one row (a whole filter)
 *   channel        unit = one input channel: its k*k columns (a whole channel of every filter)
 *   pattern        3x3 only. Each kernel (co, ci) keeps the 4 taps of the pattern, among the 8 of
 *                  prune_patterns, that keep the most energy; then connectivity pruning removes whole
 *                  kernels. A pattern keeps 4/9 of a kernel, so density <= 4/9: a sparsity below 5/9 is
 *                  refused (a mask that silently kept more than asked would mislabel every figure).
 *   bcr            blocks of br rows x bc columns. Stage 1 (only when row_share > 0): row segments
 *                  (1 x bc inside a block) are removed until row_share of the removed weights are gone.
 *                  Stage 2: column segments (br x 1 inside a block) are removed until the target. The br
 *                  rows of a block therefore share their kept columns, which is what the kernel exploits;
 *                  keep counts vary per block (global ranking), as in magnitude pruning.
 *   block-punched  blocks of br filters x bc input channels; unit = one kernel position (ky, kx) across
 *                  the whole block (br * bc weights). For 1x1 conv and fc this is plain block sparsity.
 *   dense          nothing removed.
 */
#ifndef PL_PRUNE_H
#define PL_PRUNE_H

#include <stddef.h>
#include <stdint.h>

#include "spec.h"

#define PRUNE_NPATTERNS 8
/* Tap masks over a 3x3 kernel, bit (ky*3 + kx). */
extern const uint16_t prune_patterns[PRUNE_NPATTERNS];

typedef struct {
  long kept_weights;
  long kept_blocks; /* as layer.h's pl_layer_stats.kept_blocks */
  double kept_energy;
} prune_result;

/* Is this (op, scheme, shape, block) a layer that exists? 0 if so; else -1 and a one-line reason. */
int prune_validate(const pl_layer_spec *spec, char *err, size_t errlen);

/* Fills mask[rows * cols] with 1 (kept) / 0 (removed). The spec must have passed prune_validate.
 * Returns -1 with a reason on out-of-memory or an unreachable density. */
int prune_mask(const pl_layer_spec *spec, int rows, int cols, const float *w, uint8_t *mask, prune_result *out,
               char *err, size_t errlen);

#endif
