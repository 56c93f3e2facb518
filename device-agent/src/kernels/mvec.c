#include "mvec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"

/* Row vectors per micro-tile and the widest NRS: 2 x 8 = 16 accumulators with 32 registers; 2 x 5 with 16. */
#define MVEC_MV 2
#define MVEC_MR (MVEC_MV * PL_VL)
#if PL_NVREGS >= 32
#define MVEC_NRS_MIN 4
#define MVEC_NRS_MAX 8
#else
#define MVEC_NRS_MIN 3
#define MVEC_NRS_MAX 5
#endif
/* Depth block: an A panel (KC x MR floats, 128 KB with AVX-512) stays in L2 across the B panels. */
#define MVEC_KC 1024

typedef void (*mvec_kernel_fn)(int kc, const float *restrict a, const float *restrict b, float *restrict tile,
                               int accumulate);

/* tile[j][MR] (+)= sum over kc of a[k][MR] * b[k][j], j < NRS. */
#define MVEC_KERNEL(NRS)                                                                                   \
  static void mvec_k##NRS(int kc, const float *restrict a, const float *restrict b, float *restrict tile,  \
                          int accumulate) {                                                                \
    pl_vf acc[NRS][MVEC_MV];                                                                               \
    _Pragma("GCC unroll 8") for (int j = 0; j < NRS; j++) _Pragma("GCC unroll 2") for (int v = 0;          \
                                                                                     v < MVEC_MV; v++)     \
        acc[j][v] = accumulate ? *(const pl_vf *)(tile + j * MVEC_MR + v * PL_VL) : vf_zero();             \
    for (int k = 0; k < kc; k++) {                                                                         \
      pl_vf av[MVEC_MV];                                                                                   \
      _Pragma("GCC unroll 2") for (int v = 0; v < MVEC_MV; v++) av[v] =                                    \
          *(const pl_vf *)(a + k * MVEC_MR + v * PL_VL);                                                   \
      _Pragma("GCC unroll 8") for (int j = 0; j < NRS; j++) {                                              \
        pl_vf bj = vf_set1(b[k * NRS + j]);                                                                \
        _Pragma("GCC unroll 2") for (int v = 0; v < MVEC_MV; v++) acc[j][v] += av[v] * bj;                 \
      }                                                                                                    \
    }                                                                                                      \
    _Pragma("GCC unroll 8") for (int j = 0; j < NRS; j++) _Pragma("GCC unroll 2") for (int v = 0;          \
                                                                                     v < MVEC_MV; v++)     \
        *(pl_vf *)(tile + j * MVEC_MR + v * PL_VL) = acc[j][v];                                            \
  }

#if PL_NVREGS >= 32
MVEC_KERNEL(4)
MVEC_KERNEL(5)
MVEC_KERNEL(6)
MVEC_KERNEL(7)
MVEC_KERNEL(8)
#else
MVEC_KERNEL(3)
MVEC_KERNEL(4)
MVEC_KERNEL(5)
#endif

static mvec_kernel_fn mvec_kernel_for(int nrs) {
  switch (nrs) {
#if PL_NVREGS >= 32
  case 8: return mvec_k8;
  case 7: return mvec_k7;
  case 6: return mvec_k6;
  case 5: return mvec_k5;
  default: return mvec_k4;
#else
  case 5: return mvec_k5;
  case 4: return mvec_k4;
  default: return mvec_k3;
#endif
  }
}

struct mvec_plan {
  int m, k, n, mp, npanels_m;
  int nrs;
  mvec_kernel_fn kernel;
  float *a; /* panel p at a + p*k*MR, [k][MR] */
  int col_chunks, col_width; /* tasks: col_chunks x row_chunks, column-major */
  int row_chunks;
  int threads;
  float **bpack; /* per worker: k x (col_width rounded up to nrs) */
  float **tile;  /* per worker: MR x nrs */
  char name[16];
};

const char *mvec_plan_tile_name(const mvec_plan *p) { return p->name; }

void mvec_plan_free(mvec_plan *p) {
  if (!p) return;
  for (int t = 0; p->bpack && t < p->threads; t++) free(p->bpack[t]);
  for (int t = 0; p->tile && t < p->threads; t++) free(p->tile[t]);
  free(p->bpack);
  free(p->tile);
  free(p->a);
  free(p);
}

mvec_plan *mvec_plan_create(const float *w, long ldw, int m, int k, int n, int threads, int stripe, char *err,
                            size_t errlen) {
  mvec_plan *p = calloc(1, sizeof *p);
  if (!p) goto oom;
  p->m = m, p->k = k, p->n = n, p->threads = threads;
  p->mp = (int)pl_round_up((size_t)(m > 0 ? m : 1), MVEC_MR);
  p->npanels_m = p->mp / MVEC_MR;
  /* The pixel count per micro-tile that pads n the least; ties go to the wider (more FMAs per load). */
  int width = stripe > 0 ? stripe : n;
  p->nrs = MVEC_NRS_MAX;
  long best = -1;
  for (int r = MVEC_NRS_MAX; r >= MVEC_NRS_MIN; r--) {
    long padded = (long)((width + r - 1) / r) * r * ((n + width - 1) / (width > 0 ? width : 1));
    if (best < 0 || padded < best) best = padded, p->nrs = r;
  }
  p->kernel = mvec_kernel_for(p->nrs);
  snprintf(p->name, sizeof p->name, "%dx%d", MVEC_MR, p->nrs);
  p->a = pl_alloc_floats((size_t)p->mp * (size_t)(k > 0 ? k : 1));
  if (!p->a) goto oom;
  for (int pm = 0; pm < p->npanels_m; pm++)
    for (int kk = 0; kk < k; kk++)
      for (int i = 0; i < MVEC_MR; i++) {
        int row = pm * MVEC_MR + i;
        p->a[((size_t)pm * k + kk) * MVEC_MR + i] = row < m ? w[(long)row * ldw + kk] : 0.0f;
      }
  if (stripe > 0) {
    p->col_width = stripe, p->col_chunks = (n + stripe - 1) / stripe, p->row_chunks = 1;
  } else {
    p->col_width = n, p->col_chunks = 1;
    p->row_chunks = threads > 1 ? 4 * threads : 1;
    if (p->row_chunks > p->npanels_m) p->row_chunks = p->npanels_m;
  }
  p->bpack = calloc((size_t)threads, sizeof *p->bpack);
  p->tile = calloc((size_t)threads, sizeof *p->tile);
  if (!p->bpack || !p->tile) goto oom;
  size_t bcols = pl_round_up((size_t)(p->col_width > 0 ? p->col_width : 1), (size_t)p->nrs);
  for (int t = 0; t < threads; t++) {
    p->bpack[t] = pl_alloc_floats((size_t)(k > 0 ? k : 1) * bcols);
    p->tile[t] = pl_alloc_floats((size_t)MVEC_MR * MVEC_NRS_MAX);
    if (!p->bpack[t] || !p->tile[t]) goto oom;
  }
  return p;
oom:
  snprintf(err, errlen, "out of memory packing a %dx%d GEMM", m, k);
  mvec_plan_free(p);
  return NULL;
}

typedef struct {
  const mvec_plan *p;
  const float *src;
  const long *boff;
  float *c;
  long ldc;
} mvec_job;

static void mvec_task(void *ctx, int task, int worker) {
  const mvec_job *job = ctx;
  const mvec_plan *p = job->p;
  int cc = task / p->row_chunks, rc = task % p->row_chunks;
  int n0 = cc * p->col_width, n1 = n0 + p->col_width < p->n ? n0 + p->col_width : p->n;
  int pm0 = (int)((long)p->npanels_m * rc / p->row_chunks), pm1 = (int)((long)p->npanels_m * (rc + 1) / p->row_chunks);
  int nrs = p->nrs, npan = (n1 - n0 + nrs - 1) / nrs;
  float *bp = p->bpack[worker], *tile = p->tile[worker];
  /* Pack B: panel q holds columns n0 + q*nrs.., [k][nrs], zeros past n1. */
  for (int q = 0; q < npan; q++) {
    float *panel = bp + (size_t)q * p->k * nrs;
    int c0 = n0 + q * nrs, cols = n1 - c0 < nrs ? n1 - c0 : nrs;
    for (int kk = 0; kk < p->k; kk++) {
      const float *s = job->src + job->boff[kk] + c0;
      int j = 0;
      for (; j < cols; j++) panel[kk * nrs + j] = s[j];
      for (; j < nrs; j++) panel[kk * nrs + j] = 0.0f;
    }
  }
  for (int pm = pm0; pm < pm1; pm++) {
    const float *apanel = p->a + (size_t)pm * p->k * MVEC_MR;
    int rows = p->m - pm * MVEC_MR < MVEC_MR ? p->m - pm * MVEC_MR : MVEC_MR;
    for (int q = 0; q < npan; q++) {
      const float *bpanel = bp + (size_t)q * p->k * nrs;
      for (int k0 = 0; k0 < p->k; k0 += MVEC_KC) {
        int kc = p->k - k0 < MVEC_KC ? p->k - k0 : MVEC_KC;
        p->kernel(kc, apanel + (size_t)k0 * MVEC_MR, bpanel + (size_t)k0 * nrs, tile, k0 > 0);
      }
      /* Transpose the tile out: tile[j][i] -> C[row i][column j]. */
      int c0 = n0 + q * nrs, cols = n1 - c0 < nrs ? n1 - c0 : nrs;
      for (int i = 0; i < rows; i++) {
        float *crow = job->c + (long)(pm * MVEC_MR + i) * job->ldc + c0;
        for (int j = 0; j < cols; j++) crow[j] = tile[j * MVEC_MR + i];
      }
    }
  }
}

void mvec_plan_run(mvec_plan *p, pl_pool *pool, const float *src, const long *boff, float *c, long ldc) {
  if (p->m == 0 || p->n == 0) return;
  if (p->k == 0) {
    for (int i = 0; i < p->m; i++) memset(c + (long)i * ldc, 0, sizeof(float) * (size_t)p->n);
    return;
  }
  mvec_job job = {p, src, boff, c, ldc};
  pool_run(pool, p->col_chunks * p->row_chunks, mvec_task, &job);
}
