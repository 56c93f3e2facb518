#include "gemm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"

/* Micro-tile per target. x86 AVX-512 (32 zmm): 8 x 32 floats, 16 accumulators; measured in L1 on this EPYC
 * 8x2, 12x2, 14x2 and 6x4 vectors all reach 192-200 GFLOP/s, and 8 rows divide every channel count.
 * AVX2 (16 ymm): 6 x 16. NEON (32 q registers of 4 floats): 8 x 12, 24 accumulators. */
#if PL_VBYTES >= 32 && PL_NVREGS >= 32
#define GEMM_MR 8
#define GEMM_NV 2
#elif PL_VBYTES >= 32
#define GEMM_MR 6
#define GEMM_NV 2
#else
#define GEMM_MR 8
#define GEMM_NV 3
#endif
#define GEMM_NR (GEMM_NV * PL_VL)

/* Depth block: an A panel (KC x MR) plus a B panel (KC x NR) stay in L1 (48 KB here, 64 KB on big ARM cores). */
#define GEMM_KC 256
/* Row chunk per task: an A block of MC x KC floats (128 KB) stays in L2. */
#define GEMM_MC 128
/* Column chunk per task: the packed B block KC x NC (512 KB at most) stays in L2/L3. */
#define GEMM_NC 512
/* Columns of B packed at once: GEMM_NC rounded down to whole panels. */
#define GEMM_NCB (GEMM_NC / GEMM_NR * GEMM_NR)

struct gemm_plan {
  int m, k, n;
  int mp;      /* m rounded up to MR */
  int nkb;     /* depth blocks */
  int kc;      /* depth of every block but possibly the last */
  int mc, nc;  /* task chunk sizes (multiples of MR, NR) */
  int mt, nt;  /* task grid */
  float *a;    /* packed A: block kb at a + kb*kc*mp, panel i at + i*MR*kcb, [kcb][MR] */
  int threads;
  float **bpack; /* per worker: kc x nc packed B */
  float **tile;  /* per worker: MR x NR scratch tile (partial tiles) */
};

const char *gemm_tile_name(void) {
  static const char name[] = {'0' + GEMM_MR, 'x', '0' + GEMM_NR / 10, '0' + GEMM_NR % 10, '\0'};
  return name;
}

int gemm_b_slack(void) { return GEMM_NR; }

int gemm_nr(void) { return GEMM_NR; }

static int block_depth(const gemm_plan *p, int kb) { return kb < p->nkb - 1 ? p->kc : p->k - kb * p->kc; }

gemm_plan *gemm_plan_create(const float *w, long ldw, int m, int k, const int *rows, const int *cols, int n,
                            int threads, int stripe, char *err, size_t errlen) {
  gemm_plan *p = calloc(1, sizeof *p);
  if (!p) goto oom;
  p->m = m, p->k = k, p->n = n, p->threads = threads;
  p->mp = (int)pl_round_up((size_t)(m > 0 ? m : 1), GEMM_MR);
  p->nkb = k > 0 ? (k + GEMM_KC - 1) / GEMM_KC : 1;
  /* Even depth blocks: 300 = 150 + 150 rather than 256 + 44 (a short last block wastes C traffic). */
  p->kc = k > 0 ? (k + p->nkb - 1) / p->nkb : 0;
  p->a = pl_alloc_floats((size_t)p->mp * (size_t)(k > 0 ? k : 1));
  if (!p->a) goto oom;
  for (int kb = 0; kb < p->nkb; kb++) {
    int kcb = block_depth(p, kb);
    float *blk = p->a + (size_t)kb * p->kc * p->mp;
    for (int i0 = 0; i0 < p->mp; i0 += GEMM_MR) {
      float *panel = blk + (size_t)i0 * kcb;
      for (int kk = 0; kk < kcb; kk++)
        for (int i = 0; i < GEMM_MR; i++) {
          int row = i0 + i, col = kb * p->kc + kk;
          panel[kk * GEMM_MR + i] =
              row < m ? w[(long)(rows ? rows[row] : row) * ldw + (cols ? cols[col] : col)] : 0.0f;
        }
    }
  }
  /* Task grid: a given stripe, or four tasks per thread on wide layers (claiming then evens out a thread
   * slowed by other work on the machine); rows split only when the columns alone cannot (small n). */
  int np = (int)pl_round_up((size_t)(n > 0 ? n : 1), GEMM_NR);
  if (stripe > 0) {
    p->mc = p->mp, p->mt = 1;
    p->nc = stripe, p->nt = (n + stripe - 1) / stripe;
  } else {
    p->mc = p->mp < GEMM_MC ? p->mp : GEMM_MC;
    p->mt = (p->mp + p->mc - 1) / p->mc;
    int want = threads > 1 ? 4 * threads : 1;
    int nt = (np + GEMM_NC - 1) / GEMM_NC;
    if (nt * p->mt < want) nt = want / p->mt + (want % p->mt != 0);
    if (nt > np / GEMM_NR) nt = np / GEMM_NR;
    if (nt < 1) nt = 1;
    p->nc = (int)pl_round_up((size_t)((np + nt - 1) / nt), GEMM_NR);
    p->nt = (np + p->nc - 1) / p->nc;
    if (threads > 1 && p->mt * p->nt < want && p->mp > GEMM_MR) {
      /* Still short of tasks: split rows finer. */
      int mt = (want + p->nt - 1) / p->nt;
      p->mc = (int)pl_round_up((size_t)((p->mp + mt - 1) / mt), GEMM_MR);
      p->mt = (p->mp + p->mc - 1) / p->mc;
    }
  }
  p->bpack = calloc((size_t)threads, sizeof *p->bpack);
  p->tile = calloc((size_t)threads, sizeof *p->tile);
  if (!p->bpack || !p->tile) goto oom;
  for (int t = 0; t < threads; t++) {
    size_t ncb = pl_round_up((size_t)(p->nc < GEMM_NCB ? p->nc : GEMM_NCB), GEMM_NR);
    p->bpack[t] = pl_alloc_floats((size_t)(p->kc > 0 ? p->kc : 1) * ncb);
    p->tile[t] = pl_alloc_floats((size_t)GEMM_MR * GEMM_NR);
    if (!p->bpack[t] || !p->tile[t]) goto oom;
  }
  return p;
oom:
  snprintf(err, errlen, "out of memory packing a %dx%d GEMM", m, k);
  gemm_plan_free(p);
  return NULL;
}

void gemm_plan_free(gemm_plan *p) {
  if (!p) return;
  for (int t = 0; p->bpack && t < p->threads; t++) free(p->bpack[t]);
  for (int t = 0; p->tile && t < p->threads; t++) free(p->tile[t]);
  free(p->bpack);
  free(p->tile);
  free(p->a);
  free(p);
}

/* MR x NR += A panel (kc x MR) * B panel (kc x NR); all accumulators stay in registers (fully unrolled). */
static inline void gemm_ukernel(int kc, const float *restrict a, const float *restrict b, float *const *crow,
                                int accumulate) {
  pl_vf acc[GEMM_MR][GEMM_NV];
#pragma GCC unroll 16
  for (int i = 0; i < GEMM_MR; i++)
#pragma GCC unroll 4
    for (int j = 0; j < GEMM_NV; j++) acc[i][j] = vf_zero();
  for (int p = 0; p < kc; p++) {
    pl_vf bv[GEMM_NV];
#pragma GCC unroll 4
    for (int j = 0; j < GEMM_NV; j++) bv[j] = *(const pl_vf *)(b + p * GEMM_NR + j * PL_VL);
#pragma GCC unroll 16
    for (int i = 0; i < GEMM_MR; i++) {
      pl_vf ai = vf_set1(a[p * GEMM_MR + i]);
#pragma GCC unroll 4
      for (int j = 0; j < GEMM_NV; j++) acc[i][j] += ai * bv[j];
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < GEMM_MR; i++)
#pragma GCC unroll 4
    for (int j = 0; j < GEMM_NV; j++) {
      float *cp = crow[i] + j * PL_VL;
      pl_vf v = acc[i][j];
      if (accumulate) v += vf_load(cp);
      vf_store(cp, v);
    }
}

/* Pack B rows [k0, k0+kcb) x columns [n0, n0+ncb) into NR-wide panels: panel q at dst + q*kcb*NR. */
static void gemm_pack_b(float *restrict dst, const float *src, const long *boff, int k0, int kcb, int n0, int ncb) {
  for (int q = 0; q * GEMM_NR < ncb; q++) {
    float *panel = dst + (size_t)q * kcb * GEMM_NR;
    for (int kk = 0; kk < kcb; kk++) {
      const float *s = src + boff[k0 + kk] + n0 + q * GEMM_NR;
#pragma GCC unroll 4
      for (int j = 0; j < GEMM_NV; j++) *(pl_vf *)(panel + kk * GEMM_NR + j * PL_VL) = vf_load(s + j * PL_VL);
    }
  }
}

typedef struct {
  gemm_plan *p;
  const float *src;
  const long *boff;
  float *c;
  long ldc;
  const int *crow;
} gemm_job;

/* C[m0..m1)[n0..n1) over the whole depth; n1 - n0 <= GEMM_NCB so the packed B block stays in L2. */
static void gemm_block(const gemm_job *job, int m0, int m1, int n0, int n1, int worker) {
  const gemm_plan *p = job->p;
  float *bp = p->bpack[worker], *tile = p->tile[worker];
  float *rows[GEMM_MR];
  for (int kb = 0; kb < p->nkb; kb++) {
    int kcb = block_depth(p, kb);
    const float *ablk = p->a + (size_t)kb * p->kc * p->mp;
    gemm_pack_b(bp, job->src, job->boff, kb * p->kc, kcb, n0, n1 - n0);
    /* Rows in blocks of GEMM_MC so the A block stays in L2 even when a task spans every row. */
    for (int ic = m0; ic < m1; ic += GEMM_MC) {
      int ie = ic + GEMM_MC < m1 ? ic + GEMM_MC : m1;
      for (int j0 = n0; j0 < n1; j0 += GEMM_NR) {
        const float *bpanel = bp + (size_t)((j0 - n0) / GEMM_NR) * kcb * GEMM_NR;
        int ncols = n1 - j0 < GEMM_NR ? n1 - j0 : GEMM_NR;
        for (int i0 = ic; i0 < ie; i0 += GEMM_MR) {
          int nrows = p->m - i0 < GEMM_MR ? p->m - i0 : GEMM_MR;
          int partial = ncols < GEMM_NR || nrows < GEMM_MR;
          for (int i = 0; i < GEMM_MR; i++) {
            if (partial)
              rows[i] = tile + i * GEMM_NR;
            else
              rows[i] = job->c + (long)(job->crow ? job->crow[i0 + i] : i0 + i) * job->ldc + j0;
          }
          if (partial && kb > 0)
            for (int i = 0; i < nrows; i++)
              memcpy(rows[i], job->c + (long)(job->crow ? job->crow[i0 + i] : i0 + i) * job->ldc + j0,
                     sizeof(float) * (size_t)ncols);
          gemm_ukernel(kcb, ablk + (size_t)i0 * kcb, bpanel, rows, kb > 0);
          if (partial)
            for (int i = 0; i < nrows; i++)
              memcpy(job->c + (long)(job->crow ? job->crow[i0 + i] : i0 + i) * job->ldc + j0, rows[i],
                     sizeof(float) * (size_t)ncols);
        }
      }
    }
  }
}

static void gemm_task(void *ctx, int task, int worker) {
  const gemm_job *job = ctx;
  const gemm_plan *p = job->p;
  int mi = task % p->mt, ni = task / p->mt;
  int m0 = mi * p->mc, m1 = m0 + p->mc < p->mp ? m0 + p->mc : p->mp;
  int n0 = ni * p->nc, n1 = n0 + p->nc < p->n ? n0 + p->nc : p->n;
  for (int nb = n0; nb < n1; nb += GEMM_NCB) gemm_block(job, m0, m1, nb, nb + GEMM_NCB < n1 ? nb + GEMM_NCB : n1, worker);
}

void gemm_plan_run(gemm_plan *p, pl_pool *pool, const float *src, const long *boff, float *c, long ldc,
                   const int *crow) {
  if (p->m == 0 || p->n == 0) return;
  if (p->k == 0) {
    for (int i = 0; i < p->m; i++) memset(c + (long)(crow ? crow[i] : i) * ldc, 0, sizeof(float) * (size_t)p->n);
    return;
  }
  gemm_job job = {p, src, boff, c, ldc, crow};
  pool_run(pool, p->mt * p->nt, gemm_task, &job);
}
