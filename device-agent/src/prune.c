#include "prune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PatDNN-style 4-tap patterns, all keeping the centre (its weight is the largest in trained 3x3 kernels):
 * the four T shapes (centre + 3 of its 4 edge neighbours) and the four 2x2 squares holding the centre.
 * Niu et al., "PatDNN", ASPLOS 2020, https://arxiv.org/abs/2001.00138 (section 3). */
#define TAP(ky, kx) (1u << ((ky) * 3 + (kx)))
const uint16_t prune_patterns[PRUNE_NPATTERNS] = {
    TAP(0, 1) | TAP(1, 0) | TAP(1, 1) | TAP(1, 2), /* T pointing up */
    TAP(1, 0) | TAP(1, 1) | TAP(1, 2) | TAP(2, 1), /* T pointing down */
    TAP(0, 1) | TAP(1, 0) | TAP(1, 1) | TAP(2, 1), /* T pointing left */
    TAP(0, 1) | TAP(1, 1) | TAP(1, 2) | TAP(2, 1), /* T pointing right */
    TAP(0, 0) | TAP(0, 1) | TAP(1, 0) | TAP(1, 1), /* top-left square */
    TAP(0, 1) | TAP(0, 2) | TAP(1, 1) | TAP(1, 2), /* top-right square */
    TAP(1, 0) | TAP(1, 1) | TAP(2, 0) | TAP(2, 1), /* bottom-left square */
    TAP(1, 1) | TAP(1, 2) | TAP(2, 1) | TAP(2, 2), /* bottom-right square */
};

#define PATTERN_DENSITY (4.0 / 9.0)

static int spec_k(const pl_layer_spec *s) { return s->op == PL_OP_FC ? 1 : s->k; }

int prune_validate(const pl_layer_spec *spec, char *err, size_t errlen) {
  const char *scheme = spec_scheme_name(spec->scheme);
  if (!(spec->sparsity >= 0.0 && spec->sparsity < 1.0)) {
    snprintf(err, errlen, "sparsity must be in [0, 1), got %g", spec->sparsity);
    return -1;
  }
  if (spec->op == PL_OP_DWCONV && spec->scheme != PL_SCHEME_DENSE) {
    snprintf(err, errlen, "dwconv supports only the dense scheme, got %s (a depthwise kernel has k*k weights per channel: nothing to prune in blocks)", scheme);
    return -1;
  }
  if (spec->scheme == PL_SCHEME_DENSE && spec->sparsity != 0.0) {
    snprintf(err, errlen, "scheme dense removes nothing: sparsity must be 0, got %g", spec->sparsity);
    return -1;
  }
  int k = spec_k(spec);
  if (spec->scheme == PL_SCHEME_PATTERN) {
    if (spec->op != PL_OP_CONV || k != 3) {
      snprintf(err, errlen, "pattern needs a 3x3 conv, got %s with k=%d", spec_op_name(spec->op), k);
      return -1;
    }
    if (1.0 - spec->sparsity > PATTERN_DENSITY + 1e-9) {
      snprintf(err, errlen,
               "pattern keeps 4 of 9 taps (density <= 0.444), so sparsity must be >= 0.556, got %g; use unstructured below that",
               spec->sparsity);
      return -1;
    }
  }
  if (spec->scheme == PL_SCHEME_BCR || spec->scheme == PL_SCHEME_BLOCK_PUNCHED) {
    if (spec->br < 1 || spec->bc < 1) {
      snprintf(err, errlen, "%s needs a block BRxBC with BR, BC >= 1, got %dx%d", scheme, spec->br, spec->bc);
      return -1;
    }
    if (spec->cout % spec->br != 0) {
      snprintf(err, errlen, "block %dx%d does not divide cout=%d", spec->br, spec->bc, spec->cout);
      return -1;
    }
    if (spec->scheme == PL_SCHEME_BCR) {
      long cols = (long)spec->cin * k * k;
      if (cols % spec->bc != 0) {
        /* Same wording as orchestrator/plan/feasibility.ts, which drops such cases before they reach us. */
        if (k == 1)
          snprintf(err, errlen, "block %dx%d does not divide cin=%d", spec->br, spec->bc, spec->cin);
        else
          snprintf(err, errlen, "block %dx%d does not divide cin*k*k=%ld", spec->br, spec->bc, cols);
        return -1;
      }
      if (!(spec->bcr_row_share >= 0.0 && spec->bcr_row_share <= 1.0)) {
        snprintf(err, errlen, "bcrRowShare must be in [0, 1], got %g", spec->bcr_row_share);
        return -1;
      }
    } else if (spec->cin % spec->bc != 0) {
      snprintf(err, errlen, "block %dx%d does not divide cin=%d", spec->br, spec->bc, spec->cin);
      return -1;
    }
  }
  return 0;
}

/* A prunable unit: score (kept squared magnitude), size (kept weights), index (tie-break). */
typedef struct {
  double score;
  int32_t size;
  int32_t index;
} prune_unit;

static inline int unit_less(const prune_unit *x, const prune_unit *y) {
  return x->score < y->score || (x->score == y->score && x->index < y->index);
}

static int prune_unit_cmp(const void *a, const void *b) {
  const prune_unit *x = a, *y = b;
  return unit_less(x, y) ? -1 : unit_less(y, x) ? 1 : 0;
}

/* Moves the r smallest units (score, then index: a total order, so the set is unique) to the front, in
 * O(n) on average (Hoare's selection); a full sort of millions of weights took over a second per case. */
static void select_smallest(prune_unit *a, long n, long r) {
  if (r <= 0 || r >= n) return;
  long lo = 0, hi = n - 1, k = r - 1;
  while (lo < hi) {
    long mid = lo + (hi - lo) / 2;
    /* Median of three by position: deterministic, and no quadratic case on sorted input. */
    prune_unit x = a[lo], y = a[mid], z = a[hi], pivot;
    if (unit_less(&x, &y))
      pivot = unit_less(&y, &z) ? y : (unit_less(&x, &z) ? z : x);
    else
      pivot = unit_less(&x, &z) ? x : (unit_less(&y, &z) ? z : y);
    long i = lo, j = hi;
    while (i <= j) {
      while (unit_less(&a[i], &pivot)) i++;
      while (unit_less(&pivot, &a[j])) j--;
      if (i <= j) {
        prune_unit t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j)
      hi = j;
    else if (k >= i)
      lo = i;
    else
      break;
  }
}

/* Puts the units to remove first and returns their count: the smallest ones, removed until the kept count
 * lands nearest to target_kept (removal stops as soon as one more unit would move away from the target).
 * One unit always stays: a layer whose every weight is pruned is not a layer (channel pruning at 90% of the
 * 3 input channels of a stem conv would otherwise keep nothing and time an empty kernel). */
static long prune_select(prune_unit *units, long n, long kept, long target_kept) {
  int equal = 1;
  for (long i = 1; i < n && equal; i++) equal = units[i].size == units[0].size;
  if (equal && n > 0) {
    long size = units[0].size, removed = 0;
    if (size > 0)
      while (removed < n - 1 && kept > target_kept && 2 * (kept - target_kept) >= size) kept -= size, removed++;
    select_smallest(units, n, removed);
    return removed;
  }
  qsort(units, (size_t)n, sizeof *units, prune_unit_cmp);
  long removed = 0;
  while (removed < n - 1 && kept > target_kept) {
    long size = units[removed].size;
    if (size > 0 && 2 * (kept - target_kept) < size) break; /* removing it would overshoot by more */
    kept -= size;
    removed++;
  }
  return removed;
}

static long target_of(const pl_layer_spec *spec, long total) {
  return lround((1.0 - spec->sparsity) * (double)total);
}

static int oom(char *err, size_t errlen, const char *what) {
  snprintf(err, errlen, "out of memory building the %s mask", what);
  return -1;
}

static void mask_unstructured(int rows, int cols, const float *w, uint8_t *mask, prune_unit *u, long target) {
  long n = (long)rows * cols;
  for (long i = 0; i < n; i++) u[i] = (prune_unit){(double)w[i] * w[i], 1, (int32_t)i};
  long removed = prune_select(u, n, n, target);
  for (long i = 0; i < removed; i++) mask[u[i].index] = 0;
}

static void mask_filter(int rows, int cols, const float *w, uint8_t *mask, prune_unit *u, long target) {
  for (int r = 0; r < rows; r++) {
    double e = 0;
    for (int c = 0; c < cols; c++) e += (double)w[(long)r * cols + c] * w[(long)r * cols + c];
    u[r] = (prune_unit){e, cols, r};
  }
  long removed = prune_select(u, rows, (long)rows * cols, target);
  for (long i = 0; i < removed; i++) memset(mask + u[i].index * cols, 0, (size_t)cols);
}

static void mask_channel(int rows, int cols, int kk, const float *w, uint8_t *mask, prune_unit *u, long target) {
  int cin = cols / kk;
  for (int ci = 0; ci < cin; ci++) {
    double e = 0;
    for (int r = 0; r < rows; r++)
      for (int t = 0; t < kk; t++) {
        float v = w[(long)r * cols + ci * kk + t];
        e += (double)v * v;
      }
    u[ci] = (prune_unit){e, (int32_t)((long)rows * kk), ci};
  }
  long removed = prune_select(u, cin, (long)rows * cols, target);
  for (long i = 0; i < removed; i++)
    for (int r = 0; r < rows; r++) memset(mask + (long)r * cols + u[i].index * kk, 0, (size_t)kk);
}

static void mask_pattern(int rows, int cols, const float *w, uint8_t *mask, prune_unit *u, long target) {
  long kernels = (long)rows * (cols / 9);
  for (long kn = 0; kn < kernels; kn++) {
    const float *kw = w + kn * 9;
    int best = 0;
    double best_e = -1;
    for (int p = 0; p < PRUNE_NPATTERNS; p++) {
      double e = 0;
      for (int t = 0; t < 9; t++)
        if (prune_patterns[p] & (1u << t)) e += (double)kw[t] * kw[t];
      if (e > best_e) best_e = e, best = p;
    }
    for (int t = 0; t < 9; t++) mask[kn * 9 + t] = (prune_patterns[best] >> t) & 1u;
    u[kn] = (prune_unit){best_e, 4, (int32_t)kn};
  }
  /* Connectivity pruning: whole kernels, from 4/9 of the weights down to the target. */
  long removed = prune_select(u, kernels, kernels * 4, target);
  for (long i = 0; i < removed; i++) memset(mask + u[i].index * 9, 0, 9);
}

static void mask_bcr(int rows, int cols, int br, int bc, double row_share, double sparsity, const float *w,
                     uint8_t *mask, prune_unit *u, long target) {
  long total = (long)rows * cols, kept = total;
  int nbr = rows / br, nbc = cols / bc;
  if (row_share > 0) {
    /* Stage 1: row segments of bc weights, until row_share of the weights to remove are gone. */
    long row_target = total - lround(row_share * sparsity * (double)total);
    long n = 0;
    for (int r = 0; r < rows; r++)
      for (int b = 0; b < nbc; b++) {
        double e = 0;
        for (int c = b * bc; c < (b + 1) * bc; c++) e += (double)w[(long)r * cols + c] * w[(long)r * cols + c];
        u[n] = (prune_unit){e, bc, (int32_t)n};
        n++;
      }
    long removed = prune_select(u, n, kept, row_target);
    for (long i = 0; i < removed; i++) {
      long r = u[i].index / nbc, b = u[i].index % nbc;
      memset(mask + r * cols + b * bc, 0, (size_t)bc);
      kept -= bc;
    }
  }
  /* Stage 2: column segments of br weights (what is left of them), until the target. */
  long n = 0;
  for (int g = 0; g < nbr; g++)
    for (int c = 0; c < cols; c++) {
      double e = 0;
      long size = 0;
      for (int r = g * br; r < (g + 1) * br; r++)
        if (mask[(long)r * cols + c]) {
          e += (double)w[(long)r * cols + c] * w[(long)r * cols + c];
          size++;
        }
      u[n] = (prune_unit){e, (int32_t)size, (int32_t)n};
      n++;
    }
  long removed = prune_select(u, n, kept, target);
  for (long i = 0; i < removed; i++) {
    long g = u[i].index / cols, c = u[i].index % cols;
    for (long r = g * br; r < (g + 1) * br; r++) mask[r * cols + c] = 0;
  }
}

static void mask_block_punched(int rows, int cols, int kk, int br, int bc, const float *w, uint8_t *mask,
                               prune_unit *u, long target) {
  int cin = cols / kk, nbr = rows / br, nbc = cin / bc;
  long n = 0;
  for (int g = 0; g < nbr; g++)
    for (int b = 0; b < nbc; b++)
      for (int t = 0; t < kk; t++) {
        double e = 0;
        for (int r = g * br; r < (g + 1) * br; r++)
          for (int ci = b * bc; ci < (b + 1) * bc; ci++) {
            float v = w[(long)r * cols + ci * kk + t];
            e += (double)v * v;
          }
        u[n] = (prune_unit){e, br * bc, (int32_t)n};
        n++;
      }
  long removed = prune_select(u, n, (long)rows * cols, target);
  for (long i = 0; i < removed; i++) {
    long idx = u[i].index, t = idx % kk, b = (idx / kk) % nbc, g = idx / kk / nbc;
    for (long r = g * br; r < (g + 1) * br; r++)
      for (long ci = b * bc; ci < (b + 1) * bc; ci++) mask[r * cols + ci * kk + t] = 0;
  }
}

/* Kept blocks of br x bc GEMM cells (bcr) or br filters x bc channels (block-punched) with any weight left. */
static long count_blocks(int rows, int cols, int br, int bcols, const uint8_t *mask) {
  long kept = 0;
  for (int r0 = 0; r0 < rows; r0 += br)
    for (int c0 = 0; c0 < cols; c0 += bcols) {
      int any = 0;
      for (int r = r0; r < r0 + br && !any; r++)
        for (int c = c0; c < c0 + bcols; c++)
          if (mask[(long)r * cols + c]) {
            any = 1;
            break;
          }
      kept += any;
    }
  return kept;
}

int prune_mask(const pl_layer_spec *spec, int rows, int cols, const float *w, uint8_t *mask, prune_result *out,
               char *err, size_t errlen) {
  long total = (long)rows * cols, target = target_of(spec, total);
  int k = spec_k(spec), kk = spec->op == PL_OP_DWCONV ? 1 : k * k;
  if (total > INT32_MAX) {
    snprintf(err, errlen, "layer too large to prune: %ld weights (limit %d)", total, INT32_MAX);
    return -1;
  }
  memset(mask, 1, (size_t)total);
  prune_unit *u = NULL;
  if (spec->scheme != PL_SCHEME_DENSE) {
    u = malloc(sizeof *u * (size_t)(total > 0 ? total : 1));
    if (!u) return oom(err, errlen, spec_scheme_name(spec->scheme));
  }
  switch (spec->scheme) {
  case PL_SCHEME_DENSE: break;
  case PL_SCHEME_UNSTRUCTURED: mask_unstructured(rows, cols, w, mask, u, target); break;
  case PL_SCHEME_FILTER: mask_filter(rows, cols, w, mask, u, target); break;
  case PL_SCHEME_CHANNEL: mask_channel(rows, cols, kk, w, mask, u, target); break;
  case PL_SCHEME_PATTERN: mask_pattern(rows, cols, w, mask, u, target); break;
  case PL_SCHEME_BCR:
    mask_bcr(rows, cols, spec->br, spec->bc, spec->bcr_row_share, spec->sparsity, w, mask, u, target);
    break;
  case PL_SCHEME_BLOCK_PUNCHED: mask_block_punched(rows, cols, kk, spec->br, spec->bc, w, mask, u, target); break;
  }
  free(u);

  double e_all = 0, e_kept = 0;
  long kept = 0;
  for (long i = 0; i < total; i++) {
    double e = (double)w[i] * w[i];
    e_all += e;
    if (mask[i]) e_kept += e, kept++;
  }
  out->kept_weights = kept;
  out->kept_energy = e_all > 0 ? e_kept / e_all : 1.0;
  switch (spec->scheme) {
  case PL_SCHEME_DENSE:
  case PL_SCHEME_UNSTRUCTURED: out->kept_blocks = kept; break;
  case PL_SCHEME_FILTER: {
    long r_kept = 0;
    for (int r = 0; r < rows; r++) r_kept += memchr(mask + (long)r * cols, 1, (size_t)cols) != NULL;
    out->kept_blocks = r_kept;
    break;
  }
  case PL_SCHEME_CHANNEL: out->kept_blocks = cols > 0 ? count_blocks(rows, cols, rows, kk, mask) : 0; break;
  case PL_SCHEME_PATTERN: out->kept_blocks = count_blocks(rows, cols, 1, 9, mask); break;
  case PL_SCHEME_BCR: out->kept_blocks = count_blocks(rows, cols, spec->br, spec->bc, mask); break;
  case PL_SCHEME_BLOCK_PUNCHED: out->kept_blocks = count_blocks(rows, cols, spec->br, spec->bc * kk, mask); break;
  }
  return 0;
}
