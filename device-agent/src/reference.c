#include "reference.h"

#include <math.h>

int reference_out_dim(int in, int k, int stride, int pad) { return (in + 2 * pad - k) / stride + 1; }

void reference_run(const pl_layer_spec *spec, const float *wm, const float *in, double *ref, double *mag) {
  if (spec->op == PL_OP_FC) {
    for (int o = 0; o < spec->cout; o++) {
      double acc = 0, m = 0;
      for (int i = 0; i < spec->cin; i++) {
        double t = (double)wm[(long)o * spec->cin + i] * in[i];
        acc += t;
        m += fabs(t);
      }
      ref[o] = acc;
      mag[o] = m;
    }
    return;
  }
  int k = spec->k, h = spec->h, w = spec->w, s = spec->stride, p = spec->pad;
  int ho = reference_out_dim(h, k, s, p), wo = reference_out_dim(w, k, s, p);
  int dw = spec->op == PL_OP_DWCONV;
  long cols = dw ? (long)k * k : (long)spec->cin * k * k;
  for (int co = 0; co < spec->cout; co++)
    for (int oy = 0; oy < ho; oy++)
      for (int ox = 0; ox < wo; ox++) {
        double acc = 0, m = 0;
        for (int ci = dw ? co : 0; ci < (dw ? co + 1 : spec->cin); ci++)
          for (int ky = 0; ky < k; ky++) {
            int iy = oy * s + ky - p;
            if (iy < 0 || iy >= h) continue;
            for (int kx = 0; kx < k; kx++) {
              int ix = ox * s + kx - p;
              if (ix < 0 || ix >= w) continue;
              long col = ((long)(dw ? 0 : ci) * k + ky) * k + kx;
              float wv = wm[co * cols + col];
              if (wv == 0.0f) continue;
              double t = (double)wv * in[((long)ci * h + iy) * w + ix];
              acc += t;
              m += fabs(t);
            }
          }
        long o = ((long)co * ho + oy) * wo + ox;
        ref[o] = acc;
        mag[o] = m;
      }
}
