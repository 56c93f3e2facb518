/*
 * prunelab GPU kernels (OpenCL C 1.2). Embedded in the agent at build time and compiled once per device and
 * dtype (gpu_runtime.c). Build options: -DPL_FP16=0|1.
 *
 * Tensors: input cin x h x w, output cout x ho x wo (row-major planes, as on the CPU side). Every kernel
 * accumulates in fp32. With PL_FP16=1, weights, input and output are stored as half and read with
 * vload_half* / written with vstore_half_rte, which are core OpenCL (no cl_khr_fp16 needed): storage halves
 * the bytes moved, which is what bounds these kernels on a phone; arithmetic stays fp32.
 *
 * NDRange of every conv/fc kernel: dimension 0 = output pixel (oy * wo + ox), dimension 1 = a row unit (a
 * group of output channels). A conv work-group is 64 neighbouring pixels of one row unit: they read the same
 * weights (one broadcast fetch) and neighbouring inputs (coalesced when stride 1). An fc has one pixel, so its
 * work-group is 64 row units instead. The global size is rounded up to the work-group, hence the range guards.
 */
#if PL_FP16
#define T half
#define LD1(p, i) vload_half((i), (p))
#define LD4(p, i) vload_half4((i), (p))
#define LD8(p, i) vload_half8((i), (p))
#define ST1(v, p, i) vstore_half_rte((v), (i), (p))
#else
#define T float
#define LD1(p, i) ((p)[i])
#define LD4(p, i) vload4((i), (p))
#define LD8(p, i) vload8((i), (p))
#define ST1(v, p, i) ((p)[i] = (v))
#endif

/* Conversions for upload and readback (fp32 <-> storage type), so the host never rounds to half itself. */
kernel void pl_to_storage(global const float *src, global T *dst, int n) {
  int i = get_global_id(0);
  if (i < n) ST1(src[i], dst, i);
}

kernel void pl_from_storage(global const T *src, global float *dst, int n) {
  int i = get_global_id(0);
  if (i < n) dst[i] = LD1(src, i);
}

/*
 * Dense conv and fc (fc = a 1x1 conv on a 1x1 map). A work-item computes 8 output channels of one pixel:
 * weights packed [cout/8][cin*k*k][8] (rows past cout zero), so each tap is one float8 load for 8 FMAs and
 * the accumulator is a float8 in registers.
 */
kernel void pl_dense8(global const T *in, global const T *w, global T *out, int cin, int h, int wd, int k, int stride,
                      int pad, int ho, int wo, int cout) {
  int p = get_global_id(0), g = get_global_id(1);
  if (p >= ho * wo || g * 8 >= cout) return;
  int oy = p / wo, ox = p - oy * wo, iy0 = oy * stride - pad, ix0 = ox * stride - pad, kk = k * k;
  global const T *wg = w + (size_t)g * cin * kk * 8;
  float8 acc = 0.0f;
  for (int ci = 0; ci < cin; ci++) {
    global const T *ip = in + (size_t)ci * h * wd;
    for (int ky = 0; ky < k; ky++) {
      int iy = iy0 + ky;
      if (iy < 0 || iy >= h) continue;
      for (int kx = 0; kx < k; kx++) {
        int ix = ix0 + kx;
        if (ix < 0 || ix >= wd) continue;
        acc += LD1(ip, iy * wd + ix) * LD8(wg, ci * kk + ky * k + kx);
      }
    }
  }
  float a[8];
  vstore8(acc, 0, a);
  int plane = ho * wo;
  for (int r = 0; r < 8 && g * 8 + r < cout; r++) ST1(a[r], out, (size_t)(g * 8 + r) * plane + p);
}

/*
 * Grouped rows: every sparse scheme but pattern. A chunk is V output rows that share one list of kept GEMM
 * columns (bcr and block-punched blocks, filter's kept rows, channel's kept columns; V = 1 for unstructured).
 * Per kept column j: coff[j] = ci*h*w + ky*w + kx and cyx[j] = ky << 8 | kx (k <= 64); weights [j][V], so a
 * column is one vector load feeding V FMAs, and the index costs are shared by the V rows. rows[chunk*V + r]
 * is the output row; in_stride moves the input to that row's own channel (dwconv, V = 1), else 0.
 */
#define PL_GROUPED(V, VT, LDV)                                                                                    \
  kernel void pl_grouped##V(global const T *in, global const T *w, global T *out, global const int *rows,      \
                            global const int *cstart, global const int *coff, global const int *cyx, int h,    \
                            int wd, int stride, int pad, int ho, int wo, int in_stride, int nchunks) {           \
    int p = get_global_id(0), g = get_global_id(1);                                                              \
    if (p >= ho * wo || g >= nchunks) return;                                                                    \
    int oy = p / wo, ox = p - oy * wo, iy0 = oy * stride - pad, ix0 = ox * stride - pad;                        \
    int base = iy0 * wd + ix0;                                                                                   \
    global const T *ip = in + (size_t)rows[g * V] * in_stride;                                                   \
    VT acc = 0.0f;                                                                                               \
    for (int j = cstart[g], end = cstart[g + 1]; j < end; j++) {                                                 \
      int yx = cyx[j], iy = iy0 + (yx >> 8), ix = ix0 + (yx & 255);                                              \
      if (iy >= 0 && iy < h && ix >= 0 && ix < wd) acc += LD1(ip, coff[j] + base) * LDV(w, j);                  \
    }                                                                                                            \
    PL_STORE##V(acc)                                                                                             \
  }

#define PL_STORE1(acc) ST1(acc, out, (size_t)rows[g] * (ho * wo) + p);
#define PL_STORE4(acc)                                                                                           \
  float a[4];                                                                                                    \
  vstore4(acc, 0, a);                                                                                            \
  for (int r = 0; r < 4; r++) ST1(a[r], out, (size_t)rows[g * 4 + r] * (ho * wo) + p);
#define PL_STORE8(acc)                                                                                           \
  float a[8];                                                                                                    \
  vstore8(acc, 0, a);                                                                                            \
  for (int r = 0; r < 8; r++) ST1(a[r], out, (size_t)rows[g * 8 + r] * (ho * wo) + p);

#define PL_LD1W(p, j) LD1(p, j)
PL_GROUPED(1, float, PL_LD1W)
PL_GROUPED(4, float4, LD4)
PL_GROUPED(8, float8, LD8)

/*
 * Pattern + connectivity (3x3 only). A work-item computes one output row at one pixel. Each kept kernel of a
 * row is (ci << 3 | pattern) plus its 4 weights as one vector; the pattern's 4 taps come from taps[pattern*4 +
 * t] (tap = ky*3 + kx). One index and one float4 load per 4 FMAs, against 4 indices for the same kernel in
 * the grouped format: that saving is what a pattern is for.
 */
kernel void pl_pattern(global const T *in, global const T *w, global T *out, global const int *kstart,
                       global const int *kinfo, global const int *taps, int h, int wd, int stride, int pad, int ho,
                       int wo, int rows) {
  int p = get_global_id(0), r = get_global_id(1);
  if (p >= ho * wo || r >= rows) return;
  int oy = p / wo, ox = p - oy * wo, iy0 = oy * stride - pad, ix0 = ox * stride - pad;
  float acc = 0.0f;
  for (int j = kstart[r], end = kstart[r + 1]; j < end; j++) {
    int info = kinfo[j], ci = info >> 3, pat = info & 7;
    global const T *ip = in + (size_t)ci * h * wd;
    float4 wv = LD4(w, j);
    float wt[4];
    vstore4(wv, 0, wt);
    for (int t = 0; t < 4; t++) {
      int tap = taps[pat * 4 + t], iy = iy0 + tap / 3, ix = ix0 + tap % 3;
      if (iy >= 0 && iy < h && ix >= 0 && ix < wd) acc += LD1(ip, iy * wd + ix) * wt[t];
    }
  }
  ST1(acc, out, (size_t)r * (ho * wo) + p);
}
