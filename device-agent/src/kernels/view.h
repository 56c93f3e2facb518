/*
 * view: the input seen as GEMM rows without im2col. Every GEMM column (ci, ky, kx) of a conv becomes a
 * contiguous run of n floats at `src + view_offset(ci, ky, kx)`, so the GEMM and the sparse kernels read
 * each tap as a shifted slice instead of a materialised im2col matrix.
 *
 * How: the zero-padded input is split into s x s phase planes, plane (py, px)[i][j] = padded[i*s+py][j*s+px]
 * (only min(s, k) phases per axis are ever read). Output (oy, ox) of tap (ky, kx) reads plane
 * (ky % s, kx % s) at [oy + ky/s][ox + kx/s]: with a row width wq = wo + (k-1)/s, output index oy*wq + ox
 * is one contiguous run per tap, for any stride. The price is wq - wo garbage columns per output row
 * ("virtual" columns), dropped by view_compact(); for stride 1 that is the padded-width trick of direct
 * convolution. 1x1 stride-1 unpadded convs and fc read the input itself (no copy, no garbage).
 *
 * Padding cells are zeroed once at init; view_fill() only copies the interior on each run.
 */
#ifndef PL_VIEW_H
#define PL_VIEW_H

#include <stddef.h>

#include "../spec.h"

typedef struct {
  int cin, h, w, k, s, p;
  int ho, wo;
  int direct;   /* the source is the input buffer itself */
  int np;       /* phases per axis, min(s, k) */
  int hq, wq;   /* plane rows and row width */
  long plane;   /* hq * wq */
  long chan;    /* floats per input channel in the source: np*np*plane (direct: h*w) */
  int n;        /* virtual output columns per output channel: ho * wq */
  float *buf;   /* the phase planes (NULL when direct) */
} pl_view;

/* slack: floats any kernel may read past the end of a run (tile rounding). For dwconv pass cin = channels. */
int view_init(pl_view *v, const pl_layer_spec *spec, int slack, char *err, size_t errlen);
/* Floats to allocate for the input buffer when the view is direct (the input plus read slack). */
size_t view_input_floats(const pl_view *v, int slack);
long view_offset(const pl_view *v, int ci, int ky, int kx);
/* Copies the interior of input channels [c0, c1), plane rows [q0, q1), into the planes (nothing to do when
 * direct). Rows are plane rows (0..hq), the same in every phase plane. */
void view_fill(const pl_view *v, const float *in, int c0, int c1, int q0, int q1);
/* The base pointer the offsets are relative to: the planes, or the input itself when direct. */
const float *view_src(const pl_view *v, const float *in);
/* Does the virtual output need compacting (wq != wo)? */
int view_needs_compact(const pl_view *v);
/* Copies output channels [r0, r1), output rows [oy0, oy1), of the virtual output (row stride ldv) into
 * out[cout][ho][wo]. */
void view_compact(const pl_view *v, const float *virt, long ldv, float *out, int r0, int r1, int oy0, int oy1);
void view_free(pl_view *v);

#endif
