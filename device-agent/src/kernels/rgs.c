#include "rgs.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"

/* Tile = RGS_TV vectors. Vectors per kernel call by sub-group height: br * NV accumulators, at most 16 with
 * 32 registers, 8 with 16 (AVX2). Low heights (few accumulators) also alternate two accumulator sets over
 * even/odd columns ("dual") so the FMA latency (4 cycles, 2 pipes) is covered. */
#define RGS_TV 4
#define RGS_TILE (RGS_TV * PL_VL)
#if PL_NVREGS >= 32
#define RGS_NV8 2
#define RGS_NV4 4
#else
#define RGS_NV8 1
#define RGS_NV4 2
#endif
#define RGS_NV2 4
#define RGS_NV1 4

typedef struct {
  int row0, nrows, ncols;
  long col0; /* into off[] */
  long w0;   /* into w[] */
} rgs_group;

typedef void (*rgs_kernel_fn)(int ncols, const int32_t *restrict off, const float *restrict w,
                              const float *restrict src, float *restrict out, long ldc, int nvalid);

struct rgs_plan {
  int rows, n, ngroups, max_rows;
  rgs_group *groups;
  int32_t *off;
  float *w;
  long row_off;
  int ntiles;
  int tile_chunks, tiles_per_chunk;
  int group_chunks;
  int *chunk_start; /* group_chunks + 1 */
};

int rgs_tile(void) { return RGS_TILE; }

static inline void rgs_store(float *o, pl_vf v, int lane0, int nvalid) {
  if (lane0 + PL_VL <= nvalid)
    vf_store(o, v);
  else if (lane0 < nvalid)
    vf_store_partial(o, v, nvalid - lane0);
}

/* One accumulator set: BR x NV vectors. */
#define RGS_KERNEL(BR, NV)                                                                                      \
  static void rgs_k##BR(int ncols, const int32_t *restrict off, const float *restrict w,                        \
                        const float *restrict src, float *restrict out, long ldc, int nvalid) {                \
    pl_vf acc[BR][NV];                                                                                          \
    _Pragma("GCC unroll 8") for (int r = 0; r < BR; r++) _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)   \
        acc[r][v] = vf_zero();                                                                                  \
    for (int j = 0; j < ncols; j++) {                                                                           \
      const float *x = src + off[j];                                                                            \
      pl_vf xv[NV];                                                                                             \
      _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) xv[v] = vf_load(x + v * PL_VL);                      \
      _Pragma("GCC unroll 8") for (int r = 0; r < BR; r++) {                                                    \
        pl_vf wr = vf_set1(w[j * BR + r]);                                                                      \
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) acc[r][v] += wr * xv[v];                           \
      }                                                                                                         \
    }                                                                                                           \
    _Pragma("GCC unroll 8") for (int r = 0; r < BR; r++) _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)   \
        rgs_store(out + r * ldc + v * PL_VL, acc[r][v], v * PL_VL, nvalid);                                     \
  }

/* Two accumulator sets over even/odd columns, summed at the end. */
#define RGS_KERNEL_DUAL(BR, NV)                                                                                 \
  static void rgs_k##BR(int ncols, const int32_t *restrict off, const float *restrict w,                        \
                        const float *restrict src, float *restrict out, long ldc, int nvalid) {                \
    pl_vf acc[BR][NV], acc2[BR][NV];                                                                            \
    _Pragma("GCC unroll 8") for (int r = 0; r < BR; r++) _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)   \
        acc[r][v] = vf_zero(), acc2[r][v] = vf_zero();                                                          \
    int j = 0;                                                                                                  \
    for (; j + 1 < ncols; j += 2) {                                                                             \
      const float *x = src + off[j], *y = src + off[j + 1];                                                     \
      pl_vf xv[NV], yv[NV];                                                                                     \
      _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) xv[v] = vf_load(x + v * PL_VL),                      \
                                                         yv[v] = vf_load(y + v * PL_VL);                        \
      _Pragma("GCC unroll 8") for (int r = 0; r < BR; r++) {                                                    \
        pl_vf wr = vf_set1(w[j * BR + r]), wr2 = vf_set1(w[(j + 1) * BR + r]);                                  \
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) acc[r][v] += wr * xv[v], acc2[r][v] += wr2 * yv[v]; \
      }                                                                                                         \
    }                                                                                                           \
    if (j < ncols) {                                                                                            \
      const float *x = src + off[j];                                                                            \
      _Pragma("GCC unroll 8") for (int r = 0; r < BR; r++) {                                                    \
        pl_vf wr = vf_set1(w[j * BR + r]);                                                                      \
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) acc[r][v] += wr * vf_load(x + v * PL_VL);          \
      }                                                                                                         \
    }                                                                                                           \
    _Pragma("GCC unroll 8") for (int r = 0; r < BR; r++) _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)   \
        rgs_store(out + r * ldc + v * PL_VL, acc[r][v] + acc2[r][v], v * PL_VL, nvalid);                        \
  }

RGS_KERNEL(8, RGS_NV8)
RGS_KERNEL(4, RGS_NV4)
RGS_KERNEL_DUAL(2, RGS_NV2)
RGS_KERNEL_DUAL(1, RGS_NV1)

static rgs_kernel_fn rgs_kernel_for(int nrows, int *nv) {
  switch (nrows) {
  case 8: *nv = RGS_NV8; return rgs_k8;
  case 4: *nv = RGS_NV4; return rgs_k4;
  case 2: *nv = RGS_NV2; return rgs_k2;
  default: *nv = RGS_NV1; return rgs_k1;
  }
}

static int sub_height(int left) { return left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1; }

int rgs_plan_rows_per_kernel(const rgs_plan *p) { return p->max_rows; }

void rgs_plan_free(rgs_plan *p) {
  if (!p) return;
  free(p->groups);
  free(p->off);
  free(p->w);
  free(p->chunk_start);
  free(p);
}

rgs_plan *rgs_plan_create(const float *wm, int rows, int cols, int br, const long *off, long row_off, int n,
                          int threads, int stripe, char *err, size_t errlen) {
  rgs_plan *p = calloc(1, sizeof *p);
  if (!p) goto oom;
  p->rows = rows, p->n = n, p->row_off = row_off;
  /* Sub-groups: each br-row group cut into heights 8/4/2/1; each keeps the union of its rows' columns. */
  int nsub = 0;
  for (int g0 = 0; g0 < rows; g0 += br) {
    int end = g0 + br < rows ? g0 + br : rows;
    for (int r0 = g0; r0 < end; r0 += sub_height(end - r0)) nsub++;
  }
  p->groups = calloc((size_t)(nsub > 0 ? nsub : 1), sizeof *p->groups);
  if (!p->groups) goto oom;
  long ncol_total = 0, nw_total = 0;
  int gi = 0;
  for (int g0 = 0; g0 < rows; g0 += br) {
    int end = g0 + br < rows ? g0 + br : rows;
    for (int r0 = g0; r0 < end; r0 += sub_height(end - r0)) {
      int h = sub_height(end - r0), nc = 0;
      for (int c = 0; c < cols; c++)
        for (int r = r0; r < r0 + h; r++)
          if (wm[(long)r * cols + c] != 0.0f) {
            nc++;
            break;
          }
      p->groups[gi] = (rgs_group){r0, h, nc, ncol_total, nw_total};
      ncol_total += nc, nw_total += (long)nc * h;
      if (h > p->max_rows) p->max_rows = h;
      gi++;
    }
  }
  p->ngroups = nsub;
  p->off = malloc(sizeof *p->off * (size_t)(ncol_total > 0 ? ncol_total : 1));
  p->w = pl_alloc_floats((size_t)nw_total);
  if (!p->off || !p->w) goto oom;
  for (gi = 0; gi < nsub; gi++) {
    rgs_group *g = &p->groups[gi];
    long j = 0;
    for (int c = 0; c < cols; c++) {
      int any = 0;
      for (int r = g->row0; r < g->row0 + g->nrows; r++) any |= wm[(long)r * cols + c] != 0.0f;
      if (!any) continue;
      long o = off[c] + (long)g->row0 * row_off;
      if (o > INT32_MAX) {
        snprintf(err, errlen, "input too large for 32-bit offsets (%ld floats)", o);
        rgs_plan_free(p);
        return NULL;
      }
      p->off[g->col0 + j] = (int32_t)o;
      for (int r = 0; r < g->nrows; r++) p->w[g->w0 + j * g->nrows + r] = wm[(long)(g->row0 + r) * cols + c];
      j++;
    }
  }
  /* Task split: tiles across threads when there are enough of them, else groups by equal work. */
  p->ntiles = (n + RGS_TILE - 1) / RGS_TILE;
  p->tile_chunks = 1, p->group_chunks = 1;
  if (stripe > 0) {
    p->tile_chunks = (n + stripe - 1) / stripe;
  } else if (threads > 1) {
    int want = 4 * threads;
    if (p->ntiles >= want) {
      p->tile_chunks = want;
    } else {
      p->tile_chunks = p->ntiles > 0 ? p->ntiles : 1;
      p->group_chunks = (want + p->tile_chunks - 1) / p->tile_chunks;
      if (p->group_chunks > nsub) p->group_chunks = nsub > 0 ? nsub : 1;
    }
  }
  p->tiles_per_chunk = stripe > 0 ? stripe / RGS_TILE : (p->ntiles + p->tile_chunks - 1) / p->tile_chunks;
  p->chunk_start = calloc((size_t)p->group_chunks + 1, sizeof *p->chunk_start);
  if (!p->chunk_start) goto oom;
  long done = 0;
  int ch = 1;
  for (gi = 0; gi < nsub && ch < p->group_chunks; gi++) {
    done += (long)p->groups[gi].ncols * p->groups[gi].nrows + p->groups[gi].nrows;
    if (done * p->group_chunks >= (nw_total + rows) * ch) p->chunk_start[ch++] = gi + 1;
  }
  while (ch <= p->group_chunks) p->chunk_start[ch++] = nsub;
  return p;
oom:
  snprintf(err, errlen, "out of memory packing a %dx%d sparse matrix", rows, cols);
  rgs_plan_free(p);
  return NULL;
}

typedef struct {
  const rgs_plan *p;
  const float *src;
  float *out;
  long ldc;
} rgs_job;

static void rgs_task(void *ctx, int task, int worker) {
  const rgs_job *job = ctx;
  const rgs_plan *p = job->p;
  int tc = task / p->group_chunks, gc = task % p->group_chunks; /* tile-major: task ranges are stripes */
  int t0 = tc * p->tiles_per_chunk, t1 = t0 + p->tiles_per_chunk < p->ntiles ? t0 + p->tiles_per_chunk : p->ntiles;
  int g0 = p->chunk_start[gc], g1 = p->chunk_start[gc + 1];
  for (int t = t0; t < t1; t++) {
    int n0 = t * RGS_TILE, nvalid = p->n - n0 < RGS_TILE ? p->n - n0 : RGS_TILE;
    for (int gi = g0; gi < g1; gi++) {
      const rgs_group *g = &p->groups[gi];
      int nv;
      rgs_kernel_fn k = rgs_kernel_for(g->nrows, &nv);
      for (int v0 = 0; v0 < RGS_TV; v0 += nv) {
        int lane0 = v0 * PL_VL;
        if (lane0 >= nvalid) break;
        k(g->ncols, p->off + g->col0, p->w + g->w0, job->src + n0 + lane0, job->out + (long)g->row0 * job->ldc + n0 + lane0,
          job->ldc, nvalid - lane0);
      }
    }
  }
}

void rgs_plan_run(rgs_plan *p, pl_pool *pool, const float *src, float *out, long ldc) {
  if (p->rows == 0 || p->n == 0) return;
  rgs_job job = {p, src, out, ldc};
  pool_run(pool, p->tile_chunks * p->group_chunks, rgs_task, &job);
}
