#include "view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"

int view_init(pl_view *v, const pl_layer_spec *spec, int slack, char *err, size_t errlen) {
  memset(v, 0, sizeof *v);
  v->cin = spec->cin, v->h = spec->h, v->w = spec->w, v->k = spec->k, v->s = spec->stride, v->p = spec->pad;
  v->ho = (v->h + 2 * v->p - v->k) / v->s + 1;
  v->wo = (v->w + 2 * v->p - v->k) / v->s + 1;
  v->direct = v->k == 1 && v->s == 1 && v->p == 0;
  if (v->direct) {
    v->np = 1, v->hq = v->h, v->wq = v->w, v->plane = (long)v->h * v->w, v->chan = v->plane;
    v->n = v->ho * v->wq;
    return 0;
  }
  v->np = v->s < v->k ? v->s : v->k;
  v->hq = v->ho + (v->k - 1) / v->s;
  v->wq = v->wo + (v->k - 1) / v->s;
  v->plane = (long)v->hq * v->wq;
  v->chan = (long)v->np * v->np * v->plane;
  v->n = v->ho * v->wq;
  v->buf = pl_alloc_floats((size_t)(v->chan * v->cin) + (size_t)slack + (size_t)v->wq + 64);
  if (!v->buf) {
    snprintf(err, errlen, "out of memory for the padded input (%d x %ld floats)", v->cin, v->chan);
    return -1;
  }
  return 0;
}

size_t view_input_floats(const pl_view *v, int slack) {
  return (size_t)v->cin * (size_t)v->h * (size_t)v->w + (size_t)slack + 64;
}

long view_offset(const pl_view *v, int ci, int ky, int kx) {
  if (v->direct) return (long)ci * v->chan;
  int py = ky % v->s, px = kx % v->s;
  return (long)ci * v->chan + (long)(py * v->np + px) * v->plane + (long)(ky / v->s) * v->wq + kx / v->s;
}

const float *view_src(const pl_view *v, const float *in) { return v->direct ? in : v->buf; }

void view_fill(const pl_view *v, const float *in, int c0, int c1, int q0, int q1) {
  if (v->direct) return;
  int s = v->s, p = v->p;
  for (int ci = c0; ci < c1; ci++) {
    const float *src = in + (long)ci * v->h * v->w;
    for (int py = 0; py < v->np; py++)
      for (int px = 0; px < v->np; px++) {
        float *plane = v->buf + (long)ci * v->chan + (long)(py * v->np + px) * v->plane;
        /* Plane columns j whose input column x = j*s + px - p is inside [0, w). */
        if (v->w - 1 + p - px < 0) continue;
        int j0 = px >= p ? 0 : (p - px + s - 1) / s;
        int j1 = (v->w - 1 + p - px) / s + 1;
        if (j1 > v->wq) j1 = v->wq;
        if (j0 >= j1) continue;
        for (int i = q0; i < q1 && i < v->hq; i++) {
          int y = i * s + py - p;
          if (y < 0 || y >= v->h) continue;
          const float *row = src + (long)y * v->w + (j0 * s + px - p);
          float *dst = plane + (long)i * v->wq + j0;
          if (s == 1)
            memcpy(dst, row, sizeof(float) * (size_t)(j1 - j0));
          else
            for (int j = 0; j < j1 - j0; j++) dst[j] = row[(long)j * s];
        }
      }
  }
}

int view_needs_compact(const pl_view *v) { return v->wq != v->wo; }

void view_compact(const pl_view *v, const float *virt, long ldv, float *out, int r0, int r1, int oy0, int oy1) {
  for (int r = r0; r < r1; r++)
    for (int oy = oy0; oy < oy1 && oy < v->ho; oy++)
      memcpy(out + ((long)r * v->ho + oy) * v->wo, virt + r * ldv + (long)oy * v->wq, sizeof(float) * (size_t)v->wo);
}

void view_free(pl_view *v) {
  free(v->buf);
  v->buf = NULL;
}
