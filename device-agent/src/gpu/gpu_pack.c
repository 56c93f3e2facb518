/* gpu_pack.c: see gpu_pack.h. */
#include "gpu_pack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../prune.h"

const int gpu_widths[GPU_NWIDTHS] = {8, 4, 1};

static int row_has_weight(const float *wm, int cols, int r) {
  for (int c = 0; c < cols; c++)
    if (wm[(long)r * cols + c] != 0.0f) return 1;
  return 0;
}

static int col_kept_in(const float *wm, int cols, const int *rows, int n, int c) {
  for (int i = 0; i < n; i++)
    if (wm[(long)rows[i] * cols + c] != 0.0f) return 1;
  return 0;
}

/* Width index of the widest chunk that `left` rows can fill. */
static int width_for(int left) {
  for (int i = 0; i < GPU_NWIDTHS; i++)
    if (left >= gpu_widths[i]) return i;
  return GPU_NWIDTHS - 1;
}

/*
 * Visits every chunk in order: fn(ctx, width index, its rows, n). Two passes use it: one counts, one fills,
 * so the buffers are allocated exactly (a 4096x4096 fc would not fit an upper bound of rows * cols per width).
 */
typedef void (*chunk_fn)(void *ctx, int wi, const int *rows, int n);

static int visit_chunks(const float *wm, int rows, int cols, int group_rows, chunk_fn fn, void *ctx) {
  int *kept = malloc(sizeof *kept * (size_t)(group_rows > 0 ? group_rows : 1));
  if (!kept) return -1;
  for (int g0 = 0; g0 < rows; g0 += group_rows) {
    int n = 0;
    for (int r = g0; r < g0 + group_rows && r < rows; r++)
      if (row_has_weight(wm, cols, r)) kept[n++] = r;
    for (int i = 0; i < n;) {
      int wi = width_for(n - i);
      fn(ctx, wi, kept + i, gpu_widths[wi]);
      i += gpu_widths[wi];
    }
  }
  free(kept);
  return 0;
}

typedef struct {
  const pl_layer_spec *s;
  const float *wm;
  int cols;
  gpu_grouped *g;
  int fill; /* 0: count, 1: fill */
} pack_ctx;

static void column_geometry(const pl_layer_spec *s, int c, int *coff, int *cyx) {
  if (s->op == PL_OP_FC) {
    *coff = c, *cyx = 0;
    return;
  }
  int kk = s->k * s->k, ci = s->op == PL_OP_DWCONV ? 0 : c / kk, t = c % kk, ky = t / s->k, kx = t % s->k;
  *coff = (ci * s->h + ky) * s->w + kx;
  *cyx = ky << 8 | kx;
}

static void pack_chunk(void *vctx, int wi, const int *rows, int n) {
  pack_ctx *ctx = vctx;
  gpu_chunks *ch = &ctx->g->width[wi];
  int v = gpu_widths[wi];
  if (ctx->fill) {
    for (int r = 0; r < v; r++) ch->rows[ch->nchunks * v + r] = rows[r];
    ch->cstart[ch->nchunks] = ch->ncols;
  }
  for (int c = 0; c < ctx->cols; c++) {
    if (!col_kept_in(ctx->wm, ctx->cols, rows, n, c)) continue;
    if (ctx->fill) {
      column_geometry(ctx->s, c, &ch->coff[ch->ncols], &ch->cyx[ch->ncols]);
      for (int r = 0; r < v; r++) ch->w[(long)ch->ncols * v + r] = ctx->wm[(long)rows[r] * ctx->cols + c];
    }
    ch->ncols++;
  }
  ch->nchunks++;
  if (ctx->fill) ch->cstart[ch->nchunks] = ch->ncols;
}

int gpu_pack_grouped(const pl_layer_spec *s, const float *wm, int rows, int cols, int group_rows, gpu_grouped *out,
                     char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  pack_ctx ctx = {s, wm, cols, out, 0};
  if (visit_chunks(wm, rows, cols, group_rows, pack_chunk, &ctx)) goto oom;
  for (int i = 0; i < GPU_NWIDTHS; i++) {
    gpu_chunks *ch = &out->width[i];
    size_t v = (size_t)gpu_widths[i], nc = (size_t)ch->nchunks, ncols = (size_t)ch->ncols;
    ch->rows = malloc(sizeof(int) * (nc * v + 1));
    ch->cstart = malloc(sizeof(int) * (nc + 1));
    ch->coff = malloc(sizeof(int) * (ncols + 1));
    ch->cyx = malloc(sizeof(int) * (ncols + 1));
    ch->w = malloc(sizeof(float) * (ncols * v + 1));
    if (!ch->rows || !ch->cstart || !ch->coff || !ch->cyx || !ch->w) goto oom;
    ch->cstart[0] = 0;
    ch->nchunks = ch->ncols = 0;
  }
  ctx.fill = 1;
  if (visit_chunks(wm, rows, cols, group_rows, pack_chunk, &ctx)) goto oom;
  return 0;
oom:
  gpu_grouped_free(out);
  snprintf(err, errlen, "out of host memory packing %dx%d weights for the GPU", rows, cols);
  return -1;
}

void gpu_grouped_free(gpu_grouped *g) {
  for (int i = 0; i < GPU_NWIDTHS; i++) {
    gpu_chunks *ch = &g->width[i];
    free(ch->rows);
    free(ch->cstart);
    free(ch->coff);
    free(ch->cyx);
    free(ch->w);
  }
  memset(g, 0, sizeof *g);
}

float *gpu_pack_dense8(const float *wm, int rows, int cols) {
  int groups = (rows + 7) / 8;
  float *w = calloc((size_t)groups * 8 * (size_t)cols + 1, sizeof *w);
  if (!w) return NULL;
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++) w[((size_t)(r / 8) * cols + c) * 8 + r % 8] = wm[(long)r * cols + c];
  return w;
}

int gpu_pack_pattern(const float *wm, int rows, int cin, gpu_pattern *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  for (int p = 0; p < PRUNE_NPATTERNS; p++)
    for (int t = 0, n = 0; t < 9; t++)
      if (prune_patterns[p] >> t & 1u) out->taps[p * 4 + n++] = t;
  long cols = (long)cin * 9;
  size_t cap = (size_t)rows * (size_t)cin + 1;
  out->kstart = malloc(sizeof(int) * ((size_t)rows + 1));
  out->kinfo = malloc(sizeof(int) * cap);
  out->w = malloc(sizeof(float) * cap * 4);
  if (!out->kstart || !out->kinfo || !out->w) {
    gpu_pattern_free(out);
    snprintf(err, errlen, "out of host memory packing a %dx%dx3x3 pattern layer for the GPU", rows, cin);
    return -1;
  }
  for (int r = 0; r < rows; r++) {
    out->kstart[r] = out->nkernels;
    for (int ci = 0; ci < cin; ci++) {
      const float *kw = wm + r * cols + ci * 9;
      unsigned bits = 0;
      for (int t = 0; t < 9; t++) bits |= (kw[t] != 0.0f) << t;
      if (!bits) continue; /* removed by connectivity pruning */
      int pat = -1;
      for (int p = 0; p < PRUNE_NPATTERNS && pat < 0; p++)
        if ((bits & ~(unsigned)prune_patterns[p]) == 0) pat = p;
      if (pat < 0) {
        gpu_pattern_free(out);
        snprintf(err, errlen, "kernel (%d, %d) keeps taps 0x%03x, which no pattern covers", r, ci, bits);
        return -1;
      }
      out->kinfo[out->nkernels] = ci << 3 | pat;
      for (int t = 0; t < 4; t++) out->w[out->nkernels * 4 + t] = kw[out->taps[pat * 4 + t]];
      out->nkernels++;
    }
  }
  out->kstart[rows] = out->nkernels;
  return 0;
}

void gpu_pattern_free(gpu_pattern *p) {
  free(p->kstart);
  free(p->kinfo);
  free(p->w);
  memset(p, 0, sizeof *p);
}
