/*
 * gpu_selftest: every GPU kernel (dense conv and fc, dwconv, every sparse scheme's grouped layout at each chunk
 * width, pattern) against the double-precision reference on odd shapes, in fp32 and fp16 storage. Run by
 * `prunelab-agent selftest --gpu`; on the machine that builds prunelab the device is PoCL (OpenCL on the CPU).
 *
 * A check passes when the output is within tolerance of the reference (fp32: layer.c's tolerance; fp16: that
 * plus GPU_FP16_EXTRA_TOL, derived in gpu_case.h), a second run gives the same output (no state leaks between
 * runs), and the density is the CPU layer's (the same mask by construction, checked anyway).
 */
#include "gpu_selftest.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../json.h"
#include "gpu_case.h"

#define GPU_SELFTEST_SEED 20261207u

typedef struct {
  json_writer w;
  int checks, failed;
} st_state;

typedef struct {
  pl_op op;
  int cin, cout, h, w, k, stride, pad;
} st_shape;

static pl_layer_spec spec_of(const st_shape *sh, pl_scheme scheme, int br, int bc, double sparsity) {
  pl_layer_spec s;
  memset(&s, 0, sizeof s);
  s.op = sh->op, s.cin = sh->cin, s.cout = sh->cout, s.h = sh->h, s.w = sh->w, s.k = sh->k, s.stride = sh->stride;
  s.pad = sh->pad, s.scheme = scheme, s.br = br, s.bc = bc, s.sparsity = sparsity, s.threads = 1;
  s.seed = GPU_SELFTEST_SEED + (uint64_t)(sh->cin * 131 + sh->cout * 7 + sh->k);
  return s;
}

static void begin(st_state *st, const pl_layer_spec *s, const st_shape *sh, pl_dtype dtype) {
  char shape[96], block[32];
  if (sh->op == PL_OP_FC) snprintf(shape, sizeof shape, "fc %dx%d", sh->cout, sh->cin);
  else
    snprintf(shape, sizeof shape, "%s %d->%d %dx%d k%d s%d p%d", spec_op_name(sh->op), sh->cin, sh->cout, sh->h, sh->w,
             sh->k, sh->stride, sh->pad);
  json_object_begin(&st->w);
  json_field_string(&st->w, "type", "selftest");
  json_field_string(&st->w, "backend", "gpu");
  json_field_string(&st->w, "dtype", pl_dtype_name(dtype));
  json_field_string(&st->w, "op", spec_op_name(s->op));
  json_field_string(&st->w, "scheme", spec_scheme_name(s->scheme));
  if (s->br > 0) {
    snprintf(block, sizeof block, "%dx%d", s->br, s->bc);
    json_field_string(&st->w, "block", block);
  } else {
    json_field_null(&st->w, "block");
  }
  json_field_number(&st->w, "sparsity", s->sparsity);
  if (s->bcr_row_share > 0) json_field_number(&st->w, "bcrRowShare", s->bcr_row_share);
  json_field_string(&st->w, "shape", shape);
}

static void finish(st_state *st, int ok) {
  json_field_bool(&st->w, "ok", ok);
  json_object_end(&st->w);
  json_writer_emit(&st->w, stdout);
  st->checks++;
  st->failed += !ok;
}

static void check_case(st_state *st, const st_shape *sh, pl_layer_spec s, pl_dtype dtype) {
  char err[1024];
  gpu_case *c = gpu_case_prepare(&s, dtype, err, sizeof err);
  begin(st, &s, sh, dtype);
  if (!c) {
    json_field_string(&st->w, "error", err);
    finish(st, 0);
    return;
  }
  int64_t ns;
  double e1 = 0, e2 = 0;
  int ran = gpu_case_run(c, &ns, err, sizeof err) == 0;
  int bad1 = !ran || gpu_case_check(c, &e1) != 0;
  ran = ran && gpu_case_run(c, &ns, err, sizeof err) == 0;
  int bad2 = !ran || gpu_case_check(c, &e2) != 0;
  pl_layer_stats gs = gpu_case_stats(c);
  json_field_string(&st->w, "kernel", gs.kernel);
  json_field_number(&st->w, "density", gs.density);
  json_field_number(&st->w, "maxRelErr", e1 > e2 ? e1 : e2);
  if (!ran) json_field_string(&st->w, "error", err);
  finish(st, ran && !bad1 && !bad2);
  gpu_case_free(c);
}

static const int block_sizes[][2] = {{1, 1}, {2, 2}, {4, 1}, {4, 4}, {8, 4}, {8, 1}, {16, 2}, {3, 3}};
#define NBLOCKS (int)(sizeof block_sizes / sizeof *block_sizes)

static int divides(const st_shape *sh, pl_scheme scheme, int br, int bc) {
  int kk = sh->op == PL_OP_FC ? 1 : sh->k * sh->k;
  if (sh->cout % br) return 0;
  return scheme == PL_SCHEME_BCR ? (sh->cin * kk) % bc == 0 : sh->cin % bc == 0;
}

static void check_shape(st_state *st, const st_shape *sh, pl_dtype dtype) {
  pl_layer_spec dense = spec_of(sh, PL_SCHEME_DENSE, 0, 0, 0);
  if (sh->op == PL_OP_DWCONV) {
    check_case(st, sh, dense, dtype); /* dwconv is dense only (prune.c) */
    return;
  }
  /* Both dense kernels, forced (gpu_case.c times them when the spec leaves the choice open). */
  dense.dense_kernel = PL_DENSE_DIRECT;
  check_case(st, sh, dense, dtype);
  dense.dense_kernel = PL_DENSE_GEMM;
  check_case(st, sh, dense, dtype);
  static const double sparsities[] = {0.5, 0.9};
  for (int i = 0; i < 2; i++) {
    double sp = sparsities[i];
    check_case(st, sh, spec_of(sh, PL_SCHEME_UNSTRUCTURED, 0, 0, sp), dtype);
    check_case(st, sh, spec_of(sh, PL_SCHEME_FILTER, 0, 0, sp), dtype);
    check_case(st, sh, spec_of(sh, PL_SCHEME_CHANNEL, 0, 0, sp), dtype);
    if (sh->op == PL_OP_CONV && sh->k == 3) check_case(st, sh, spec_of(sh, PL_SCHEME_PATTERN, 0, 0, sp < 0.6 ? 0.6 : sp), dtype);
    for (int b = 0; b < NBLOCKS; b++) {
      int br = block_sizes[b][0], bc = block_sizes[b][1];
      if (divides(sh, PL_SCHEME_BCR, br, bc)) {
        pl_layer_spec bs = spec_of(sh, PL_SCHEME_BCR, br, bc, sp);
        check_case(st, sh, bs, dtype);
        if (b % 2 == 1) {
          bs.bcr_row_share = 0.3;
          check_case(st, sh, bs, dtype);
        }
      }
      if (divides(sh, PL_SCHEME_BLOCK_PUNCHED, br, bc))
        check_case(st, sh, spec_of(sh, PL_SCHEME_BLOCK_PUNCHED, br, bc, sp), dtype);
    }
  }
}

int gpu_selftest_main(void) {
  st_state st;
  memset(&st, 0, sizeof st);
  json_writer_init(&st.w);
  /* Odd sizes: couts that leave chunks of 4 and 1 behind the 8s, maps that are not multiples of anything,
   * strides, pads, 1x1, 3x3, 5x5, 7x7, and an fc wider than one dense group. */
  static const st_shape shapes[] = {
      {PL_OP_CONV, 20, 12, 7, 7, 3, 1, 1},   {PL_OP_CONV, 8, 13, 9, 11, 3, 2, 1}, {PL_OP_CONV, 16, 32, 10, 10, 3, 1, 0},
      {PL_OP_CONV, 12, 8, 9, 9, 1, 1, 0},    {PL_OP_CONV, 6, 8, 11, 11, 1, 2, 0}, {PL_OP_CONV, 16, 24, 10, 10, 5, 1, 2},
      {PL_OP_CONV, 4, 8, 15, 15, 7, 2, 3},   {PL_OP_FC, 19, 37, 1, 1, 1, 1, 0},   {PL_OP_FC, 128, 64, 1, 1, 1, 1, 0},
      {PL_OP_DWCONV, 12, 12, 13, 13, 3, 1, 1}, {PL_OP_DWCONV, 8, 8, 14, 14, 3, 2, 1}, {PL_OP_DWCONV, 5, 5, 9, 11, 5, 1, 2},
  };
  char err[1024];
  if (!gpu_runtime_get(err, sizeof err)) {
    json_object_begin(&st.w);
    json_field_string(&st.w, "type", "selftest");
    json_field_string(&st.w, "backend", "gpu");
    json_field_string(&st.w, "error", err);
    finish(&st, 0);
  } else {
    for (int d = 0; d < GPU_NDTYPES; d++)
      for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) check_shape(&st, &shapes[i], (pl_dtype)d);
  }
  json_object_begin(&st.w);
  json_field_string(&st.w, "type", "selftest-done");
  json_field_int(&st.w, "checks", st.checks);
  json_field_int(&st.w, "failed", st.failed);
  json_object_end(&st.w);
  json_writer_emit(&st.w, stdout);
  json_writer_free(&st.w);
  return st.failed > 0 ? 1 : 0;
}
