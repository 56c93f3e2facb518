#include "fc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"

typedef float fc_v16 __attribute__((vector_size(64)));
typedef float fc_v8 __attribute__((vector_size(32)));
typedef float fc_v4 __attribute__((vector_size(16)));
typedef float fc_v2 __attribute__((vector_size(8)));

typedef struct {
  int row0, nrows, ncols;
  int dense; /* columns 0..ncols-1, no index stream */
  long col0, w0;
} fc_group;

struct fc_plan {
  int rows, cols, ngroups, max_rows;
  fc_group *groups;
  int32_t *idx;
  float *w;
  int chunks;
  int *chunk_start;
};

static int fc_height(int left, int br) {
  int h = br < left ? br : left;
  return h >= 16 ? 16 : h >= 8 ? 8 : h >= 4 ? 4 : h >= 2 ? 2 : 1;
}

int fc_plan_rows_per_kernel(const fc_plan *p) { return p->max_rows; }

void fc_plan_free(fc_plan *p) {
  if (!p) return;
  free(p->groups);
  free(p->idx);
  free(p->w);
  free(p->chunk_start);
  free(p);
}

fc_plan *fc_plan_create(const float *wm, int rows, int cols, int br, int dense, int threads, char *err,
                        size_t errlen) {
  fc_plan *p = calloc(1, sizeof *p);
  if (!p) goto oom;
  p->rows = rows, p->cols = cols;
  if (dense) br = 16;
  int n = 0;
  for (int g0 = 0; g0 < rows; g0 += br) {
    int end = g0 + br < rows ? g0 + br : rows;
    for (int r0 = g0; r0 < end; r0 += fc_height(end - r0, br)) n++;
  }
  p->groups = calloc((size_t)(n > 0 ? n : 1), sizeof *p->groups);
  if (!p->groups) goto oom;
  long nidx = 0, nw = 0;
  int gi = 0;
  for (int g0 = 0; g0 < rows; g0 += br) {
    int end = g0 + br < rows ? g0 + br : rows;
    for (int r0 = g0; r0 < end; r0 += fc_height(end - r0, br)) {
      int h = fc_height(end - r0, br), nc = 0;
      for (int c = 0; c < cols; c++)
        for (int r = r0; r < r0 + h; r++)
          if (wm[(long)r * cols + c] != 0.0f) {
            nc++;
            break;
          }
      /* dense: keep every column of a group that keeps anything (a pruned filter row group is skipped). */
      int gd = dense && nc > 0;
      if (gd) nc = cols;
      p->groups[gi++] = (fc_group){r0, h, nc, gd, nidx, nw};
      if (!gd) nidx += nc;
      nw += (long)nc * h;
      if (h > p->max_rows) p->max_rows = h;
    }
  }
  p->ngroups = n;
  p->idx = malloc(sizeof *p->idx * (size_t)(nidx > 0 ? nidx : 1));
  p->w = pl_alloc_floats((size_t)nw);
  if (!p->idx || !p->w) goto oom;
  for (gi = 0; gi < n; gi++) {
    fc_group *g = &p->groups[gi];
    long j = 0;
    for (int c = 0; c < cols; c++) {
      int any = g->dense;
      for (int r = g->row0; r < g->row0 + g->nrows && !any; r++) any = wm[(long)r * cols + c] != 0.0f;
      if (!any) continue;
      if (!g->dense) p->idx[g->col0 + j] = c;
      for (int r = 0; r < g->nrows; r++) p->w[g->w0 + j * g->nrows + r] = wm[(long)(g->row0 + r) * cols + c];
      j++;
    }
  }
  /* Thread chunks of equal streamed bytes. */
  p->chunks = threads > 1 ? 4 * threads : 1;
  if (p->chunks > n) p->chunks = n > 0 ? n : 1;
  p->chunk_start = calloc((size_t)p->chunks + 1, sizeof *p->chunk_start);
  if (!p->chunk_start) goto oom;
  long done = 0, total = nw + nidx + rows;
  int ch = 1;
  for (gi = 0; gi < n && ch < p->chunks; gi++) {
    const fc_group *g = &p->groups[gi];
    done += (long)g->ncols * g->nrows + (g->dense ? 0 : g->ncols) + g->nrows;
    if (done * p->chunks >= total * ch) p->chunk_start[ch++] = gi + 1;
  }
  while (ch <= p->chunks) p->chunk_start[ch++] = n;
  return p;
oom:
  snprintf(err, errlen, "out of memory packing a %dx%d fc layer", rows, cols);
  fc_plan_free(p);
  return NULL;
}

/* Four accumulators over consecutive columns: one FMA chain would stall on its 4-cycle latency. */
#define FC_KERNEL(H, VT)                                                                                   \
  static void fc_k##H(const fc_group *g, const int32_t *restrict idx, const float *restrict w,            \
                      const float *restrict x, float *restrict y) {                                       \
    VT a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};                                                            \
    typedef VT __attribute__((aligned(4), may_alias)) VTu;                                                \
    int j = 0, n = g->ncols;                                                                              \
    if (g->dense) {                                                                                       \
      for (; j + 3 < n; j += 4) {                                                                         \
        a0 += *(const VTu *)(w + (j + 0) * H) * (x[j + 0] - (VT){0});                                    \
        a1 += *(const VTu *)(w + (j + 1) * H) * (x[j + 1] - (VT){0});                                    \
        a2 += *(const VTu *)(w + (j + 2) * H) * (x[j + 2] - (VT){0});                                    \
        a3 += *(const VTu *)(w + (j + 3) * H) * (x[j + 3] - (VT){0});                                    \
      }                                                                                                   \
      for (; j < n; j++) a0 += *(const VTu *)(w + j * H) * (x[j] - (VT){0});                              \
    } else {                                                                                              \
      for (; j + 3 < n; j += 4) {                                                                         \
        a0 += *(const VTu *)(w + (j + 0) * H) * (x[idx[j + 0]] - (VT){0});                               \
        a1 += *(const VTu *)(w + (j + 1) * H) * (x[idx[j + 1]] - (VT){0});                               \
        a2 += *(const VTu *)(w + (j + 2) * H) * (x[idx[j + 2]] - (VT){0});                               \
        a3 += *(const VTu *)(w + (j + 3) * H) * (x[idx[j + 3]] - (VT){0});                               \
      }                                                                                                   \
      for (; j < n; j++) a0 += *(const VTu *)(w + j * H) * (x[idx[j]] - (VT){0});                         \
    }                                                                                                     \
    *(VTu *)y = (a0 + a1) + (a2 + a3);                                                                    \
  }

FC_KERNEL(16, fc_v16)
FC_KERNEL(8, fc_v8)
FC_KERNEL(4, fc_v4)
FC_KERNEL(2, fc_v2)

/* Scalar on purpose: GCC vectorises this loop with vgatherdps, which measured 2x slower here (2.5 against
 * 5 GFLOP/s on fc 2048x1000) than four scalar FMA chains. */
#if defined(__GNUC__) && !defined(__clang__)
#define FC_NO_VECTORIZE __attribute__((optimize("no-tree-vectorize")))
#else
#define FC_NO_VECTORIZE
#endif
FC_NO_VECTORIZE static void fc_k1(const fc_group *g, const int32_t *restrict idx, const float *restrict w, const float *restrict x,
                  float *restrict y) {
  float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  int j = 0, n = g->ncols;
  if (g->dense) {
    for (; j + 3 < n; j += 4) a0 += w[j] * x[j], a1 += w[j + 1] * x[j + 1], a2 += w[j + 2] * x[j + 2], a3 += w[j + 3] * x[j + 3];
    for (; j < n; j++) a0 += w[j] * x[j];
  } else {
    for (; j + 3 < n; j += 4)
      a0 += w[j] * x[idx[j]], a1 += w[j + 1] * x[idx[j + 1]], a2 += w[j + 2] * x[idx[j + 2]], a3 += w[j + 3] * x[idx[j + 3]];
    for (; j < n; j++) a0 += w[j] * x[idx[j]];
  }
  *y = (a0 + a1) + (a2 + a3);
}

typedef struct {
  const fc_plan *p;
  const float *x;
  float *y;
} fc_job;

static void fc_task(void *ctx, int task, int worker) {
  const fc_job *job = ctx;
  const fc_plan *p = job->p;
  for (int gi = p->chunk_start[task]; gi < p->chunk_start[task + 1]; gi++) {
    const fc_group *g = &p->groups[gi];
    const int32_t *idx = p->idx + g->col0;
    const float *w = p->w + g->w0;
    float *y = job->y + g->row0;
    switch (g->nrows) {
    case 16: fc_k16(g, idx, w, job->x, y); break;
    case 8: fc_k8(g, idx, w, job->x, y); break;
    case 4: fc_k4(g, idx, w, job->x, y); break;
    case 2: fc_k2(g, idx, w, job->x, y); break;
    default: fc_k1(g, idx, w, job->x, y); break;
    }
  }
}

void fc_plan_run(fc_plan *p, pl_pool *pool, const float *x, float *y) {
  fc_job job = {p, x, y};
  pool_run(pool, p->chunks, fc_task, &job);
}
