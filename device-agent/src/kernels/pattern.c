#include "pattern.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../prune.h"
#include "simd.h"

/* Output tile: PAT_NV vectors. 4 taps x NV input vectors live in registers: 16 of 32 with AVX-512/NEON. */
#if PL_NVREGS >= 32
#define PAT_NV 4
#else
#define PAT_NV 2
#endif
#define PAT_TILE (PAT_NV * PL_VL)
/* Output rows per chunk: the scratch block PAT_ROWS x PAT_TILE floats (32 KB with AVX-512) stays in L1/L2. */
#define PAT_ROWS 128

typedef struct {
  float w[4];
  int32_t row; /* within the chunk */
} pat_entry;

struct pat_plan {
  int rows, cin, n;
  int nchunks;        /* row chunks of PAT_ROWS */
  long *start;        /* (chunk*cin + ci)*8 + p -> first entry; nchunks*cin*8 + 1 entries */
  pat_entry *entries; /* sorted by chunk, ci, pattern */
  int32_t *taps;      /* (ci*8 + p)*4 + t -> view offset of tap t of pattern p on channel ci */
  int ntiles;
  int tiles_per_stripe, nstripes;
  int threads;
  float **scratch; /* per worker: PAT_ROWS x PAT_TILE */
};

int pat_tile(void) { return PAT_TILE; }

void pat_plan_free(pat_plan *p) {
  if (!p) return;
  free(p->start);
  free(p->entries);
  free(p->taps);
  for (int t = 0; p->scratch && t < p->threads; t++) free(p->scratch[t]);
  free(p->scratch);
  free(p);
}

/* The library pattern holding every tap in `taps` (a kept tap may have weight 0, so a kernel can show fewer
 * than 4 nonzeros: any pattern containing them computes the same result). */
static int pattern_of(unsigned taps) {
  for (int p = 0; p < PRUNE_NPATTERNS; p++)
    if ((taps & ~(unsigned)prune_patterns[p]) == 0) return p;
  return -1;
}

pat_plan *pat_plan_create(const float *wm, int rows, int cin, const long *off, int n, int threads, int stripe,
                          char *err, size_t errlen) {
  pat_plan *p = calloc(1, sizeof *p);
  if (!p) goto oom;
  p->rows = rows, p->cin = cin, p->n = n, p->threads = threads;
  p->nchunks = (rows + PAT_ROWS - 1) / PAT_ROWS;
  long nkeys = (long)p->nchunks * cin * PRUNE_NPATTERNS;
  p->start = calloc((size_t)nkeys + 1, sizeof *p->start);
  p->taps = malloc(sizeof *p->taps * (size_t)cin * PRUNE_NPATTERNS * 4);
  int8_t *pat = malloc((size_t)rows * (size_t)cin);
  if (!p->start || !p->taps || !pat) {
    free(pat);
    goto oom;
  }
  for (int ci = 0; ci < cin; ci++)
    for (int q = 0; q < PRUNE_NPATTERNS; q++) {
      int t = 0;
      for (int tap = 0; tap < 9; tap++)
        if (prune_patterns[q] & (1u << tap)) p->taps[(ci * PRUNE_NPATTERNS + q) * 4 + t++] = (int32_t)off[ci * 9 + tap];
    }
  /* Count entries per key, then place them (a counting sort: filters in ascending order within a key). */
  for (int r = 0; r < rows; r++)
    for (int ci = 0; ci < cin; ci++) {
      const float *k = wm + (long)r * cin * 9 + ci * 9;
      unsigned taps = 0;
      for (int t = 0; t < 9; t++) taps |= (k[t] != 0.0f) << t;
      int q = taps ? pattern_of(taps) : -1;
      if (taps && q < 0) {
        snprintf(err, errlen, "kernel (%d, %d) keeps taps 0x%03x, which no library pattern holds", r, ci, taps);
        free(pat);
        pat_plan_free(p);
        return NULL;
      }
      pat[(long)r * cin + ci] = (int8_t)q;
      if (q >= 0) p->start[((long)(r / PAT_ROWS) * cin + ci) * PRUNE_NPATTERNS + q + 1]++;
    }
  for (long i = 0; i < nkeys; i++) p->start[i + 1] += p->start[i];
  p->entries = malloc(sizeof *p->entries * (size_t)(p->start[nkeys] > 0 ? p->start[nkeys] : 1));
  long *fill = malloc(sizeof *fill * (size_t)nkeys);
  if (!p->entries || !fill) {
    free(pat);
    free(fill);
    goto oom;
  }
  memcpy(fill, p->start, sizeof *fill * (size_t)nkeys);
  for (int r = 0; r < rows; r++)
    for (int ci = 0; ci < cin; ci++) {
      int q = pat[(long)r * cin + ci];
      if (q < 0) continue;
      pat_entry *e = &p->entries[fill[((long)(r / PAT_ROWS) * cin + ci) * PRUNE_NPATTERNS + q]++];
      e->row = r % PAT_ROWS;
      int t = 0;
      for (int tap = 0; tap < 9; tap++)
        if (prune_patterns[q] & (1u << tap)) e->w[t++] = wm[(long)r * cin * 9 + ci * 9 + tap];
    }
  free(pat);
  free(fill);
  p->ntiles = (n + PAT_TILE - 1) / PAT_TILE;
  p->tiles_per_stripe = stripe > 0 ? stripe / PAT_TILE : 1;
  p->nstripes = (p->ntiles + p->tiles_per_stripe - 1) / p->tiles_per_stripe;
  p->scratch = calloc((size_t)threads, sizeof *p->scratch);
  if (!p->scratch) goto oom;
  for (int t = 0; t < threads; t++)
    if (!(p->scratch[t] = pl_alloc_floats((size_t)PAT_ROWS * PAT_TILE))) goto oom;
  return p;
oom:
  snprintf(err, errlen, "out of memory packing a %dx%dx3x3 pattern conv", rows, cin);
  pat_plan_free(p);
  return NULL;
}

typedef struct {
  const pat_plan *p;
  const float *src;
  float *out;
  long ldc;
} pat_job;

/* One (tile, row chunk): zero the scratch block, accumulate every (channel, pattern) group, write back. */
static void pat_tile_chunk(const pat_job *job, int tile, int chunk, float *restrict acc) {
  const pat_plan *p = job->p;
  int n0 = tile * PAT_TILE, nvalid = p->n - n0 < PAT_TILE ? p->n - n0 : PAT_TILE;
  int r0 = chunk * PAT_ROWS, nrows = p->rows - r0 < PAT_ROWS ? p->rows - r0 : PAT_ROWS;
  memset(acc, 0, sizeof(float) * (size_t)nrows * PAT_TILE);
  const float *src = job->src + n0;
  for (int ci = 0; ci < p->cin; ci++) {
    const long *st = p->start + ((long)chunk * p->cin + ci) * PRUNE_NPATTERNS;
    for (int q = 0; q < PRUNE_NPATTERNS; q++) {
      long e0 = st[q], e1 = st[q + 1];
      if (e0 == e1) continue;
      const int32_t *tp = p->taps + (ci * PRUNE_NPATTERNS + q) * 4;
      pl_vf x0[PAT_NV], x1[PAT_NV], x2[PAT_NV], x3[PAT_NV];
#pragma GCC unroll 4
      for (int v = 0; v < PAT_NV; v++) {
        x0[v] = vf_load(src + tp[0] + v * PL_VL);
        x1[v] = vf_load(src + tp[1] + v * PL_VL);
        x2[v] = vf_load(src + tp[2] + v * PL_VL);
        x3[v] = vf_load(src + tp[3] + v * PL_VL);
      }
      for (long e = e0; e < e1; e++) {
        const pat_entry *en = &p->entries[e];
        float *o = acc + en->row * PAT_TILE;
        pl_vf w0 = vf_set1(en->w[0]), w1 = vf_set1(en->w[1]), w2 = vf_set1(en->w[2]), w3 = vf_set1(en->w[3]);
#pragma GCC unroll 4
        for (int v = 0; v < PAT_NV; v++) {
          pl_vf a = *(pl_vf *)(o + v * PL_VL);
          a += w0 * x0[v];
          a += w1 * x1[v];
          a += w2 * x2[v];
          a += w3 * x3[v];
          *(pl_vf *)(o + v * PL_VL) = a;
        }
      }
    }
  }
  for (int r = 0; r < nrows; r++)
    memcpy(job->out + (long)(r0 + r) * job->ldc + n0, acc + r * PAT_TILE, sizeof(float) * (size_t)nvalid);
}

/* Tasks are (stripe, row chunk), stripe-major, so task ranges are stripes (see layer.c). */
static void pat_task(void *ctx, int task, int worker) {
  const pat_job *job = ctx;
  const pat_plan *p = job->p;
  int stripe = task / p->nchunks, chunk = task % p->nchunks;
  int t0 = stripe * p->tiles_per_stripe;
  int t1 = t0 + p->tiles_per_stripe < p->ntiles ? t0 + p->tiles_per_stripe : p->ntiles;
  for (int t = t0; t < t1; t++) pat_tile_chunk(job, t, chunk, p->scratch[worker]);
}

void pat_plan_run(pat_plan *p, pl_pool *pool, const float *src, float *out, long ldc) {
  if (p->rows == 0 || p->n == 0) return;
  pat_job job = {p, src, out, ldc};
  pool_run(pool, p->nstripes * p->nchunks, pat_task, &job);
}
