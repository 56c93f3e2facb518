/*
 * selftest: every op x scheme x block size x sparsity, threads 1 and 2, on fixed odd shapes plus seeded
 * random ones, each against the double-precision reference (layer_check); plus the refusals a sweep relies
 * on (a block that does not divide, pattern off 3x3, pattern below 5/9 sparsity, sparse dwconv).
 *
 * One JSON line per check, then {"type":"selftest-done","checks":N,"failed":F}; exit code 1 on any failure.
 * A check passes when the output is within tolerance of the reference, the output is identical on a second
 * run (no state leaks between runs), and the reported density is the mask's and as near the requested one
 * as the scheme's unit allows. Sizes are small so the arm64 build finishes quickly under qemu.
 *
 *   prunelab-agent selftest [--quick]    --quick: threads 1 only, fewer random shapes
 *   prunelab-agent selftest --gpu        the GPU backend's kernels instead (gpu/gpu_selftest.c)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/gpu_selftest.h"
#include "json.h"
#include "kernels/simd.h"
#include "layer.h"
#include "reference.h"
#include "rng.h"
#include "sha256.h"

#define SELFTEST_SEED 20240611u
#define SELFTEST_RANDOM_CONV 4

typedef struct {
  json_writer w;
  int checks, failed;
} selftest_state;

typedef struct {
  pl_op op;
  int cin, cout, h, w, k, stride, pad;
} selftest_shape;

static void shape_text(const selftest_shape *s, char *buf, size_t len) {
  if (s->op == PL_OP_FC)
    snprintf(buf, len, "fc %dx%d", s->cout, s->cin);
  else
    snprintf(buf, len, "%s %d->%d %dx%d k%d s%d p%d", spec_op_name(s->op), s->cin, s->cout, s->h, s->w, s->k, s->stride,
             s->pad);
}

static pl_layer_spec spec_of(const selftest_shape *sh, pl_scheme scheme, int br, int bc, double sparsity, int threads) {
  pl_layer_spec s;
  memset(&s, 0, sizeof s);
  s.op = sh->op, s.cin = sh->cin, s.cout = sh->cout, s.h = sh->h, s.w = sh->w, s.k = sh->k, s.stride = sh->stride;
  s.pad = sh->pad, s.scheme = scheme, s.br = br, s.bc = bc, s.sparsity = sparsity, s.threads = threads;
  s.seed = SELFTEST_SEED + (uint64_t)(sh->cin * 131 + sh->cout * 7 + sh->k);
  return s;
}

/* Weights in one pruning unit of the scheme: how far the density may land from the request. */
static double density_granularity(const pl_layer_spec *s) {
  int k = s->op == PL_OP_FC ? 1 : s->k;
  double cols = s->op == PL_OP_DWCONV ? k * k : (double)s->cin * k * k, total = cols * s->cout;
  switch (s->scheme) {
  case PL_SCHEME_FILTER: return cols / total;
  case PL_SCHEME_CHANNEL: return (double)s->cout * k * k / total;
  case PL_SCHEME_PATTERN: return 4.0 / total;
  case PL_SCHEME_BCR: return (s->bcr_row_share > 0 ? s->br + s->bc : s->br) / total;
  case PL_SCHEME_BLOCK_PUNCHED: return (double)s->br * s->bc / total;
  default: return 1.0 / total;
  }
}

static void emit_common(selftest_state *st, const pl_layer_spec *s, const selftest_shape *sh) {
  char shape[96], block[32];
  shape_text(sh, shape, sizeof shape);
  json_object_begin(&st->w);
  json_field_string(&st->w, "type", "selftest");
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
  json_field_int(&st->w, "threads", s->threads);
}

static void finish(selftest_state *st, int ok) {
  json_field_bool(&st->w, "ok", ok);
  json_object_end(&st->w);
  json_writer_emit(&st->w, stdout);
  st->checks++;
  st->failed += !ok;
}

static void check_case(selftest_state *st, const selftest_shape *sh, pl_layer_spec s) {
  char err[256];
  pl_layer *l = layer_prepare(&s, err, sizeof err);
  emit_common(st, &s, sh);
  if (!l) {
    json_field_string(&st->w, "error", err);
    finish(st, 0);
    return;
  }
  layer_run(l);
  pl_layer_stats stats = layer_stats(l);
  long nout = sh->op == PL_OP_FC ? sh->cout : 0;
  (void)nout;
  double rel_err = 0;
  int bad = layer_check(l, &rel_err);
  /* Second run must give the same result (catches accumulate-into-stale-output bugs). */
  layer_run(l);
  double rel_err2 = 0;
  int bad2 = layer_check(l, &rel_err2);
  double want = 1.0 - s.sparsity, gran = density_granularity(&s);
  int density_ok = s.scheme == PL_SCHEME_DENSE ? stats.density == 1.0 : fabs(stats.density - want) <= gran + 1e-12;
  int energy_ok = stats.kept_energy >= 0 && stats.kept_energy <= 1.0 + 1e-12 && (stats.density < 1 || stats.kept_energy > 1 - 1e-12);
  json_field_string(&st->w, "kernel", stats.kernel);
  json_field_number(&st->w, "density", stats.density);
  json_field_int(&st->w, "keptBlocks", stats.kept_blocks);
  json_field_number(&st->w, "keptEnergy", stats.kept_energy);
  json_field_number(&st->w, "maxRelErr", rel_err > rel_err2 ? rel_err : rel_err2);
  if (!density_ok) json_field_string(&st->w, "problem", "density is not the nearest reachable to 1 - sparsity");
  if (!energy_ok) json_field_string(&st->w, "problem", "keptEnergy outside [0, 1] or below 1 when dense");
  finish(st, !bad && !bad2 && density_ok && energy_ok);
  layer_free(l);
}

static void check_refusal(selftest_state *st, const selftest_shape *sh, pl_layer_spec s, const char *must_contain) {
  char err[256] = "";
  pl_layer *l = layer_prepare(&s, err, sizeof err);
  emit_common(st, &s, sh);
  json_field_string(&st->w, "expect", "refusal");
  json_field_string(&st->w, "error", l ? NULL : err);
  int ok = !l && strstr(err, must_contain) != NULL;
  if (!ok) json_field_string(&st->w, "problem", l ? "accepted a layer that cannot exist" : "refused with the wrong reason");
  finish(st, ok);
  layer_free(l);
}

static const int block_sizes[][2] = {{1, 1}, {2, 2}, {4, 1}, {4, 4}, {8, 4}, {8, 1}, {16, 2}, {3, 3}};
#define NBLOCKS (int)(sizeof block_sizes / sizeof *block_sizes)

static int divides_layer(const selftest_shape *sh, pl_scheme scheme, int br, int bc) {
  int kk = sh->op == PL_OP_FC ? 1 : sh->k * sh->k;
  if (sh->cout % br) return 0;
  return scheme == PL_SCHEME_BCR ? (sh->cin * kk) % bc == 0 : sh->cin % bc == 0;
}

static void check_shape(selftest_state *st, const selftest_shape *sh, int threads) {
  if (sh->op == PL_OP_DWCONV) {
    check_case(st, sh, spec_of(sh, PL_SCHEME_DENSE, 0, 0, 0, threads));
    return;
  }
  pl_layer_spec s = spec_of(sh, PL_SCHEME_DENSE, 0, 0, 0, threads);
  if (sh->op == PL_OP_CONV) {
    s.dense_kernel = PL_DENSE_DIRECT;
    check_case(st, sh, s);
    s.dense_kernel = PL_DENSE_GEMM;
    check_case(st, sh, s);
    s.dense_kernel = PL_DENSE_MVEC;
    check_case(st, sh, s);
  } else {
    check_case(st, sh, s);
  }
  static const double sparsities[] = {0.5, 0.9};
  for (int i = 0; i < 2; i++) {
    double sp = sparsities[i];
    check_case(st, sh, spec_of(sh, PL_SCHEME_UNSTRUCTURED, 0, 0, sp, threads));
    check_case(st, sh, spec_of(sh, PL_SCHEME_FILTER, 0, 0, sp, threads));
    check_case(st, sh, spec_of(sh, PL_SCHEME_CHANNEL, 0, 0, sp, threads));
    if (sh->op == PL_OP_CONV && sh->k == 3) check_case(st, sh, spec_of(sh, PL_SCHEME_PATTERN, 0, 0, sp < 0.6 ? 0.6 : sp, threads));
    for (int b = 0; b < NBLOCKS; b++) {
      int br = block_sizes[b][0], bc = block_sizes[b][1];
      if (divides_layer(sh, PL_SCHEME_BCR, br, bc)) {
        pl_layer_spec bs = spec_of(sh, PL_SCHEME_BCR, br, bc, sp, threads);
        check_case(st, sh, bs);
        if (b % 2 == 1) {
          bs.bcr_row_share = 0.3;
          check_case(st, sh, bs);
        }
      }
      if (divides_layer(sh, PL_SCHEME_BLOCK_PUNCHED, br, bc))
        check_case(st, sh, spec_of(sh, PL_SCHEME_BLOCK_PUNCHED, br, bc, sp, threads));
    }
  }
}

static void check_refusals(selftest_state *st) {
  selftest_shape c60 = {PL_OP_CONV, 16, 60, 8, 8, 1, 1, 0};
  check_refusal(st, &c60, spec_of(&c60, PL_SCHEME_BCR, 8, 4, 0.75, 1), "does not divide cout=60");
  check_refusal(st, &c60, spec_of(&c60, PL_SCHEME_BLOCK_PUNCHED, 8, 4, 0.75, 1), "does not divide cout=60");
  selftest_shape c20 = {PL_OP_CONV, 20, 16, 8, 8, 3, 1, 1};
  check_refusal(st, &c20, spec_of(&c20, PL_SCHEME_BCR, 4, 8, 0.75, 1), "does not divide cin*k*k=180");
  check_refusal(st, &c20, spec_of(&c20, PL_SCHEME_BLOCK_PUNCHED, 4, 8, 0.75, 1), "does not divide cin=20");
  check_refusal(st, &c60, spec_of(&c60, PL_SCHEME_PATTERN, 0, 0, 0.75, 1), "pattern needs a 3x3 conv");
  check_refusal(st, &c20, spec_of(&c20, PL_SCHEME_PATTERN, 0, 0, 0.5, 1), "sparsity must be >= 0.556");
  selftest_shape f = {PL_OP_FC, 19, 37, 1, 1, 1, 1, 0};
  check_refusal(st, &f, spec_of(&f, PL_SCHEME_PATTERN, 0, 0, 0.75, 1), "pattern needs a 3x3 conv");
  check_refusal(st, &f, spec_of(&f, PL_SCHEME_BCR, 4, 1, 0.75, 1), "does not divide cout=37");
  selftest_shape dw = {PL_OP_DWCONV, 12, 12, 9, 9, 3, 1, 1};
  check_refusal(st, &dw, spec_of(&dw, PL_SCHEME_BCR, 4, 1, 0.5, 1), "dwconv supports only the dense scheme");
  check_refusal(st, &dw, spec_of(&dw, PL_SCHEME_UNSTRUCTURED, 0, 0, 0.5, 1), "dwconv supports only the dense scheme");
  check_refusal(st, &c20, spec_of(&c20, PL_SCHEME_DENSE, 0, 0, 0.5, 1), "sparsity must be 0");
}

/* Same spec twice -> the same density and bit-identical output, and threads 1 vs 2 agree on the mask. */
static void check_determinism(selftest_state *st) {
  selftest_shape sh = {PL_OP_CONV, 16, 16, 9, 9, 3, 1, 1};
  pl_layer_spec a = spec_of(&sh, PL_SCHEME_BCR, 4, 4, 0.75, 1), b = a;
  b.threads = 2;
  char err[256];
  pl_layer *la = layer_prepare(&a, err, sizeof err), *lb = layer_prepare(&b, err, sizeof err);
  emit_common(st, &a, &sh);
  json_field_string(&st->w, "check", "same spec, same seed: same mask and output, threads 1 and 2");
  int ok = la && lb;
  if (ok) {
    layer_run(la);
    layer_run(lb);
    pl_layer_stats sa = layer_stats(la), sb = layer_stats(lb);
    double ea, eb;
    ok = sa.density == sb.density && sa.kept_energy == sb.kept_energy && sa.kept_blocks == sb.kept_blocks &&
         layer_check(la, &ea) == 0 && layer_check(lb, &eb) == 0 && ea == eb;
  }
  finish(st, ok);
  layer_free(la);
  layer_free(lb);
}

/* SHA-256 known answers (FIPS 180-4 examples, and the empty message): the weights check rests on it. */
static void check_sha256(selftest_state *st) {
  static const struct {
    const char *text, *hex;
  } vectors[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
  };
  for (size_t i = 0; i < sizeof vectors / sizeof *vectors; i++) {
    sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_BYTES];
    char hex[SHA256_HEX_CHARS];
    sha256_init(&ctx);
    /* Fed in two pieces, so the block buffering is exercised too. */
    size_t len = strlen(vectors[i].text), half = len / 2;
    sha256_update(&ctx, (const uint8_t *)vectors[i].text, half);
    sha256_update(&ctx, (const uint8_t *)vectors[i].text + half, len - half);
    sha256_final(&ctx, digest);
    sha256_hex(digest, hex);
    json_object_begin(&st->w);
    json_field_string(&st->w, "type", "selftest");
    json_field_string(&st->w, "check", "sha256 known answer");
    json_field_int(&st->w, "messageBytes", (int64_t)len);
    json_field_string(&st->w, "sha256", hex);
    finish(st, strcmp(hex, vectors[i].hex) == 0);
  }
}

/* The network op's chaining (layer_bind_input): conv 6->8 3x3 (padded view) -> conv 8->12 1x1 (reads its input
 * directly) -> fc 972->10, each reading the previous output in place, must give bit for bit what the layers
 * give run one by one, each on a copy of the previous output, and the last stays within tolerance of the
 * double reference on that chained input. */
static void check_network_chain(selftest_state *st) {
  selftest_shape shapes[3] = {{PL_OP_CONV, 6, 8, 9, 9, 3, 1, 1}, {PL_OP_CONV, 8, 12, 9, 9, 1, 1, 0},
                              {PL_OP_FC, 972, 10, 1, 1, 1, 1, 0}};
  pl_layer *l[3] = {NULL, NULL, NULL};
  char err[256] = "";
  int ok = 1;
  for (int i = 0; i < 3 && ok; i++) {
    pl_layer_spec s = spec_of(&shapes[i], i == 1 ? PL_SCHEME_UNSTRUCTURED : PL_SCHEME_DENSE, 0, 0, i == 1 ? 0.5 : 0, 1);
    ok = (l[i] = layer_prepare(&s, err, sizeof err)) != NULL;
  }
  /* Separately: each layer on a copy of the previous output (generous zeroed slack after it). */
  float *copy = NULL, *separate = NULL;
  double *ref = NULL, *mag = NULL;
  if (ok) {
    copy = pl_alloc_floats(972 + 4096);
    separate = malloc(sizeof *separate * 10);
    ref = malloc(sizeof *ref * 10), mag = malloc(sizeof *mag * 10);
    ok = copy && separate && ref && mag;
  }
  if (ok) {
    layer_run(l[0]);
    for (int i = 1; i < 3; i++) {
      memcpy(copy, layer_output(l[i - 1]), sizeof *copy * (size_t)layer_output_floats(l[i - 1]));
      layer_bind_input(l[i], copy);
      layer_run(l[i]);
    }
    memcpy(separate, layer_output(l[2]), sizeof *separate * 10);
    /* The network: bound in place, run back to back twice (the second run must not see stale state). */
    for (int i = 1; i < 3; i++) layer_bind_input(l[i], layer_output(l[i - 1]));
    for (int rep = 0; rep < 2; rep++)
      for (int i = 0; i < 3; i++) layer_run(l[i]);
    ok = memcmp(separate, layer_output(l[2]), sizeof *separate * 10) == 0;
    pl_layer_spec fc = spec_of(&shapes[2], PL_SCHEME_DENSE, 0, 0, 0, 1);
    reference_run(&fc, layer_masked_weights(l[2]), layer_output(l[1]), ref, mag);
    for (int i = 0; i < 10 && ok; i++) ok = fabs(separate[i] - ref[i]) <= 8.0 * sqrt(973.0) * 1.2e-7 * mag[i];
  }
  json_object_begin(&st->w);
  json_field_string(&st->w, "type", "selftest");
  json_field_string(&st->w, "check", "network: conv -> conv -> fc chained in place equals the layers run one by one");
  if (err[0]) json_field_string(&st->w, "error", err);
  finish(st, ok);
  for (int i = 0; i < 3; i++) layer_free(l[i]);
  free(copy);
  free(separate);
  free(ref);
  free(mag);
}

int selftest_main(int argc, char **argv) {
  int quick = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0)
      quick = 1;
    else if (strcmp(argv[i], "--gpu") == 0 && argc == 2)
      return gpu_selftest_main();
    else {
      fprintf(stderr, "selftest: unexpected argument '%.200s' (expected --quick, or --gpu alone)\n", argv[i]);
      return 2;
    }
  }
  selftest_state st;
  memset(&st, 0, sizeof st);
  json_writer_init(&st.w);

  selftest_shape shapes[32];
  int n = 0;
  shapes[n++] = (selftest_shape){PL_OP_CONV, 20, 12, 7, 7, 3, 1, 1};
  shapes[n++] = (selftest_shape){PL_OP_CONV, 8, 16, 13, 13, 3, 2, 1};
  shapes[n++] = (selftest_shape){PL_OP_CONV, 16, 32, 14, 14, 3, 1, 0};
  shapes[n++] = (selftest_shape){PL_OP_CONV, 12, 8, 9, 9, 1, 1, 0};
  shapes[n++] = (selftest_shape){PL_OP_CONV, 6, 8, 11, 11, 1, 2, 0};
  shapes[n++] = (selftest_shape){PL_OP_CONV, 16, 24, 10, 10, 5, 1, 2};
  shapes[n++] = (selftest_shape){PL_OP_CONV, 4, 8, 15, 15, 7, 2, 3};
  shapes[n++] = (selftest_shape){PL_OP_CONV, 64, 64, 7, 7, 1, 1, 0};
  /* Wide enough that 2 threads split every phase by stripes of output columns (layer.c). */
  shapes[n++] = (selftest_shape){PL_OP_CONV, 8, 16, 20, 20, 3, 1, 1};
  shapes[n++] = (selftest_shape){PL_OP_CONV, 6, 8, 40, 38, 3, 2, 1};
  shapes[n++] = (selftest_shape){PL_OP_CONV, 16, 12, 21, 21, 1, 1, 0};
  /* Depth cin*k*k = 1152 beyond one depth block of every GEMM (256, 1024). */
  shapes[n++] = (selftest_shape){PL_OP_CONV, 128, 8, 5, 5, 3, 1, 1};
  shapes[n++] = (selftest_shape){PL_OP_FC, 19, 37, 1, 1, 1, 1, 0};
  shapes[n++] = (selftest_shape){PL_OP_FC, 128, 64, 1, 1, 1, 1, 0};
  shapes[n++] = (selftest_shape){PL_OP_FC, 300, 1000, 1, 1, 1, 1, 0};
  shapes[n++] = (selftest_shape){PL_OP_DWCONV, 12, 12, 13, 13, 3, 1, 1};
  shapes[n++] = (selftest_shape){PL_OP_DWCONV, 8, 8, 14, 14, 3, 2, 1};
  shapes[n++] = (selftest_shape){PL_OP_DWCONV, 5, 5, 9, 11, 5, 1, 2};
  /* Seeded random conv shapes: any size, stride, pad; channel counts multiples of 4 half the time. */
  pl_rng rng;
  rng_seed(&rng, SELFTEST_SEED);
  int nrandom = quick ? 1 : SELFTEST_RANDOM_CONV;
  for (int i = 0; i < nrandom; i++) {
    static const int ks[] = {1, 3, 3, 5};
    int k = ks[rng_below(&rng, 4)], stride = 1 + (int)rng_below(&rng, 2), pad = (int)rng_below(&rng, (uint32_t)k);
    int mult = rng_below(&rng, 2) ? 4 : 1;
    int cin = mult * (1 + (int)rng_below(&rng, 12)), cout = mult * (1 + (int)rng_below(&rng, 12));
    int h = k + (int)rng_below(&rng, 14), w = k + (int)rng_below(&rng, 14);
    shapes[n++] = (selftest_shape){PL_OP_CONV, cin, cout, h, w, k, stride, pad};
  }

  for (int t = 1; t <= (quick ? 1 : 2); t++)
    for (int i = 0; i < n; i++) check_shape(&st, &shapes[i], t);
  check_refusals(&st);
  check_determinism(&st);
  check_sha256(&st);
  check_network_chain(&st);

  json_object_begin(&st.w);
  json_field_string(&st.w, "type", "selftest-done");
  json_field_int(&st.w, "checks", st.checks);
  json_field_int(&st.w, "failed", st.failed);
  json_object_end(&st.w);
  json_writer_emit(&st.w, stdout);
  json_writer_free(&st.w);
  return st.failed > 0 ? 1 : 0;
}
