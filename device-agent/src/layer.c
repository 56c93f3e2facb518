/*
 * layer: builds one case (weights, mask, packed kernel, buffers) and runs it. The scheme decides the mask
 * (prune.c); the mask and the op decide the engine:
 *
 *   conv, dwconv   input seen through view.h (no im2col), then
 *                    dense          the fastest of "direct" (rgs with 8-row groups, every column), "gemm"
 *                                   (packed GEMM) and, on small maps, "gemm-mvec" (vectorised over output
 *                                   channels), timed once here (or forced by spec.dense_kernel)
 *                    filter/channel packed GEMM on the kept rows / kept columns
 *                    unstructured   rgs with 1-row groups
 *                    pattern        pattern.h: input-stationary, kernels grouped by (channel, pattern)
 *                    bcr, block-punched      rgs with br-row groups (the rows of a block share columns)
 *                    dwconv         rgs with 1-row groups reading only their own channel
 *   fc             fc.h: dense 16-row groups, br-row groups for the block schemes, CSR for unstructured,
 *                  and a smaller dense layer for filter/channel
 */
#include "layer.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/fc.h"
#include "kernels/gemm.h"
#include "kernels/mvec.h"
#include "kernels/pattern.h"
#include "kernels/rgs.h"
#include "kernels/simd.h"
#include "kernels/view.h"
#include "pool.h"
#include "prepcache.h"
#include "prune.h"
#include "reference.h"
#include "rng.h"

/* Rows per group of the "direct" dense conv: the widest rgs micro-kernel. */
#define LAYER_DIRECT_BR 8
/*
 * Choosing the dense conv kernel: LAYER_TUNE_ROUNDS rounds; in each, every candidate runs once untimed (its
 * packed weights back in cache, as in the timed loop that follows, which runs one kernel back to back) and then
 * LAYER_TUNE_RUNS times, keeping the fastest. A candidate's score is the median of its rounds: one round hit by
 * other work on the machine cannot decide. With one interleaved run per candidate per round (the old way) the
 * candidates were timed with their weights evicted by each other's, and on the development VM two sweeps picked
 * different kernels for 5 of 20 dense 3x3 layers, up to 1.48x apart in the latency then measured.
 */
#define LAYER_TUNE_ROUNDS 3
#define LAYER_TUNE_RUNS 2

typedef enum { ENGINE_GEMM, ENGINE_MVEC, ENGINE_RGS, ENGINE_PATTERN, ENGINE_FC } layer_engine;

struct pl_layer {
  pl_layer_spec spec;
  int rows, cols, ho, wo;
  float *w;  /* GEMM-view weights as generated */
  float *wm; /* masked */
  float *in, *out;
  long out_floats;
  const float *bound_in; /* layer_bind_input: another layer's output read instead of in (NULL: in) */
  pl_pool *pool;
  prune_result pruned;
  double flops;
  char kernel[96];
  layer_engine engine;
  prepcache *cache; /* borrowed for layer_prepare only (NULL: build everything); never used after it */
  /* conv */
  pl_view view;
  long *coloff; /* per GEMM column: offset of its run in the view */
  float *virt;  /* virtual output (wq-wide rows) when the view needs compacting */
  long ldv;
  int stripe, nstripes; /* threads > 1 on wide maps: output columns per task in every phase (0: none) */
  gemm_plan *gemm;
  int *gemm_rows; /* kept rows (filter) */
  int ngemm_rows;
  long *gemm_boff; /* per packed column: view offset */
  rgs_plan *rgs;
  pat_plan *pat;
  mvec_plan *mvec;
  /* fc */
  fc_plan *fc;
  int *fc_rows, nfc_rows; /* filter: kept rows, scattered back */
  int *fc_cols, nfc_cols; /* channel: kept columns, gathered */
  float *fc_x, *fc_y;
};

/* The input a run reads: its own buffer, or the output of the layer before it in a network. */
static const float *layer_src(const pl_layer *l) { return l->bound_in ? l->bound_in : l->in; }

/* Floats past the end of an output that a following layer bound to it may read (layer_bind_input): at least
 * the read slack of any input buffer (prepare_conv: kernel tiles + 64, view_input_floats: + 64; fc: + 64). */
static int chain_slack(void) { return rgs_tile() + gemm_b_slack() + pat_tile() + 3 * 64; }

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int validate_geometry(const pl_layer_spec *s, char *err, size_t errlen) {
  if (s->op == PL_OP_IDLE || s->op == PL_OP_NETWORK) {
    snprintf(err, errlen, "op %s has no layer of its own: the runtime %s", spec_op_name(s->op),
             s->op == PL_OP_IDLE ? "sleeps for it" : "prepares each of its layers");
    return -1;
  }
  if (s->cin < 1 || s->cout < 1) {
    snprintf(err, errlen, "cin and cout must be >= 1, got cin=%d cout=%d", s->cin, s->cout);
    return -1;
  }
  if (s->threads < 1) {
    snprintf(err, errlen, "threads must be >= 1, got %d", s->threads);
    return -1;
  }
  if (s->op == PL_OP_FC) return 0;
  if (s->h < 1 || s->w < 1 || s->k < 1 || s->stride < 1 || s->pad < 0) {
    snprintf(err, errlen, "conv needs h, w, k, stride >= 1 and pad >= 0, got h=%d w=%d k=%d stride=%d pad=%d", s->h,
             s->w, s->k, s->stride, s->pad);
    return -1;
  }
  if (s->h + 2 * s->pad < s->k || s->w + 2 * s->pad < s->k) {
    snprintf(err, errlen, "kernel k=%d is larger than the padded input %dx%d (pad=%d)", s->k, s->h, s->w, s->pad);
    return -1;
  }
  if (s->op == PL_OP_DWCONV && s->cin != s->cout) {
    snprintf(err, errlen, "dwconv needs cout == cin, got cin=%d cout=%d", s->cin, s->cout);
    return -1;
  }
  return 0;
}

/* Weights ~ Irwin-Hall(4) (a bell shape like trained weights, unlike a flat uniform), computed in double from
 * exact 24-bit uniforms so every platform rounds to the same floats. Then the input, uniform in [-1, 1). */
static void generate_random(pl_layer *l, long nw, long nin) {
  pl_rng rng;
  rng_seed(&rng, l->spec.seed);
  for (long i = 0; i < nw; i++) {
    double s = 0;
    for (int t = 0; t < 4; t++) s += rng_uniform_pm1(&rng);
    l->w[i] = (float)(0.5 * s);
  }
  for (long i = 0; i < nin; i++) l->in[i] = rng_uniform_pm1(&rng);
}

/* Generating is a third of a case's preparation (measured with callgrind on one ResNet-18 layer): the cache
 * keeps one copy per shape, so every other case of the layer only copies it. */
static void fill_random(pl_layer *l) {
  long nw = (long)l->rows * l->cols;
  long nin = l->spec.op == PL_OP_FC ? l->spec.cin : (long)l->spec.cin * l->spec.h * l->spec.w;
  if (l->cache && prepcache_get_data(l->cache, nw, nin, l->w, l->in) == 0) return;
  /* Real weights replace the seeded ones; the input stays the seeded one (the same stream as a seeded case). */
  generate_random(l, nw, nin);
  if (l->spec.weights) memcpy(l->w, l->spec.weights, sizeof *l->w * (size_t)nw);
  if (l->cache) (void)prepcache_put_data(l->cache, nw, nin, l->w, l->in);
}

/* ---- conv ---------------------------------------------------------------------------------------- */

/* Per-run copies (padding in, compaction out) are split like the kernel: by stripe of output columns when
 * the layer is striped, so a thread copies the rows its own kernel tasks read or wrote (pool.h: task ranges
 * are stable per thread); by channel otherwise. */
typedef struct {
  pl_layer *l;
  int nchunks;
} chunk_job;

/* First plane row / output row of stripe i: the row holding its first virtual column. */
static int stripe_row(const pl_layer *l, int i, int round_up) {
  long col = (long)i * l->stripe, wq = l->view.wq;
  return (int)(round_up ? (col + wq - 1) / wq : col / wq);
}

static void fill_task(void *ctx, int task, int worker) {
  const chunk_job *job = ctx;
  pl_layer *l = job->l;
  if (l->stripe > 0) {
    int q0 = stripe_row(l, task, 0), q1 = task + 1 == l->nstripes ? l->view.hq : stripe_row(l, task + 1, 0);
    view_fill(&l->view, layer_src(l), 0, l->view.cin, q0, q1);
  } else {
    int c = l->view.cin;
    view_fill(&l->view, layer_src(l), (int)((long)c * task / job->nchunks), (int)((long)c * (task + 1) / job->nchunks), 0,
              l->view.hq);
  }
}

static void compact_task(void *ctx, int task, int worker) {
  const chunk_job *job = ctx;
  pl_layer *l = job->l;
  if (l->stripe > 0) {
    int oy0 = stripe_row(l, task, 1), oy1 = task + 1 == l->nstripes ? l->ho : stripe_row(l, task + 1, 1);
    view_compact(&l->view, l->virt, l->ldv, l->out, 0, l->rows, oy0, oy1);
  } else {
    int r0 = (int)((long)l->rows * task / job->nchunks), r1 = (int)((long)l->rows * (task + 1) / job->nchunks);
    view_compact(&l->view, l->virt, l->ldv, l->out, r0, r1, 0, l->ho);
  }
}

static void conv_run_engine(pl_layer *l, const float *src) {
  float *dst = l->virt ? l->virt : l->out;
  long ld = l->virt ? l->ldv : (long)l->view.n;
  if (l->engine == ENGINE_GEMM)
    gemm_plan_run(l->gemm, l->pool, src, l->gemm_boff, dst, ld, l->gemm_rows);
  else if (l->engine == ENGINE_MVEC)
    mvec_plan_run(l->mvec, l->pool, src, l->gemm_boff, dst, ld);
  else if (l->engine == ENGINE_PATTERN)
    pat_plan_run(l->pat, l->pool, src, dst, ld);
  else
    rgs_plan_run(l->rgs, l->pool, src, dst, ld);
}

static void conv_run(pl_layer *l) {
  chunk_job job = {l, l->stripe > 0 ? l->nstripes : pool_threads(l->pool)};
  if (!l->view.direct) pool_run(l->pool, job.nchunks, fill_task, &job);
  conv_run_engine(l, view_src(&l->view, layer_src(l)));
  if (l->virt) pool_run(l->pool, job.nchunks, compact_task, &job);
}

/* Median of a candidate's LAYER_TUNE_ROUNDS round scores (sorts them in place). */
static double median_of_rounds(double *v) {
  for (int i = 1; i < LAYER_TUNE_ROUNDS; i++)
    for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
      double t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  return LAYER_TUNE_ROUNDS % 2 ? v[LAYER_TUNE_ROUNDS / 2]
                               : (v[LAYER_TUNE_ROUNDS / 2 - 1] + v[LAYER_TUNE_ROUNDS / 2]) / 2;
}

static double time_conv_once(pl_layer *l) {
  double t0 = now_ns();
  conv_run(l);
  return now_ns() - t0;
}

/* View offsets of the packed GEMM columns (all columns when cols is NULL). */
static int build_boff(pl_layer *l, const int *cols, int ncols, char *err, size_t errlen) {
  if (l->gemm_boff) return 0;
  l->gemm_boff = malloc(sizeof *l->gemm_boff * (size_t)(ncols > 0 ? ncols : 1));
  if (!l->gemm_boff) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (int j = 0; j < ncols; j++) l->gemm_boff[j] = l->coloff[cols ? cols[j] : j];
  return 0;
}

static int build_gemm(pl_layer *l, const int *rows, int nrows, const int *cols, int ncols, char *err, size_t errlen) {
  if (build_boff(l, cols, ncols, err, errlen)) return -1;
  l->gemm = gemm_plan_create(l->wm, l->cols, nrows, ncols, rows, cols, l->view.n, l->spec.threads, l->stripe, err,
                             errlen);
  return l->gemm ? 0 : -1;
}

static int build_rgs(pl_layer *l, int br, char *err, size_t errlen) {
  long row_off = l->spec.op == PL_OP_DWCONV ? l->view.chan : 0;
  l->rgs = rgs_plan_create(l->wm, l->rows, l->cols, br, l->coloff, row_off, l->view.n, l->spec.threads, l->stripe,
                           err, errlen);
  return l->rgs ? 0 : -1;
}

/* The row-vectorised GEMM only pays on small maps; beyond this many output columns it is not a candidate. */
#define LAYER_MVEC_MAX_N 1024

static pl_dense_kernel dense_kernel_of(layer_engine engine) {
  return engine == ENGINE_GEMM ? PL_DENSE_GEMM : engine == ENGINE_MVEC ? PL_DENSE_MVEC : PL_DENSE_DIRECT;
}

static int prepare_dense_conv(pl_layer *l, char *err, size_t errlen) {
  pl_dense_kernel choice = l->spec.dense_kernel;
  /* The choice timed for this shape, threads and CPUs earlier in the call (the timing is half of a dense
   * case's preparation): built alone, as a forced kernel is. */
  if (choice == PL_DENSE_AUTO && l->cache) choice = prepcache_get_dense(l->cache, &l->spec);
  int automatic = choice == PL_DENSE_AUTO;
  if (automatic || choice == PL_DENSE_DIRECT) {
    if (build_rgs(l, LAYER_DIRECT_BR, err, errlen)) return -1;
  }
  if (automatic || choice == PL_DENSE_GEMM) {
    if (build_gemm(l, NULL, l->rows, NULL, l->cols, err, errlen)) return -1;
  }
  if ((automatic && l->view.n <= LAYER_MVEC_MAX_N) || choice == PL_DENSE_MVEC) {
    if (build_boff(l, NULL, l->cols, err, errlen)) return -1;
    l->mvec = mvec_plan_create(l->wm, l->cols, l->rows, l->cols, l->view.n, l->spec.threads, l->stripe, err, errlen);
    if (!l->mvec) return -1;
  }
  layer_engine engine = l->rgs ? ENGINE_RGS : l->gemm ? ENGINE_GEMM : ENGINE_MVEC;
  if (automatic) {
    const layer_engine candidates[] = {ENGINE_RGS, ENGINE_GEMM, ENGINE_MVEC};
    double rounds[3][LAYER_TUNE_ROUNDS];
    for (int r = 0; r < LAYER_TUNE_ROUNDS; r++)
      for (int c = 0; c < 3; c++) {
        rounds[c][r] = INFINITY;
        if (candidates[c] == ENGINE_MVEC && !l->mvec) continue;
        l->engine = candidates[c];
        conv_run(l); /* untimed: page faults on the first round, this candidate's weights back in cache after */
        for (int run = 0; run < LAYER_TUNE_RUNS; run++) {
          double t = time_conv_once(l);
          if (t < rounds[c][r]) rounds[c][r] = t;
        }
      }
    double best[3];
    for (int c = 0; c < 3; c++) best[c] = median_of_rounds(rounds[c]);
    int pick = 0;
    for (int c = 1; c < 3; c++)
      if (best[c] < best[pick]) pick = c;
    engine = candidates[pick];
    if (engine != ENGINE_RGS) rgs_plan_free(l->rgs), l->rgs = NULL;
    if (engine != ENGINE_GEMM) gemm_plan_free(l->gemm), l->gemm = NULL;
    if (engine != ENGINE_MVEC) mvec_plan_free(l->mvec), l->mvec = NULL;
    if (l->cache) prepcache_put_dense(l->cache, &l->spec, dense_kernel_of(engine));
  }
  l->engine = engine;
  if (engine == ENGINE_GEMM)
    snprintf(l->kernel, sizeof l->kernel, "dense-gemm-%s", gemm_tile_name());
  else if (engine == ENGINE_MVEC)
    snprintf(l->kernel, sizeof l->kernel, "dense-gemm-mvec%s", mvec_plan_tile_name(l->mvec));
  else
    snprintf(l->kernel, sizeof l->kernel, "dense-direct-rgs%d", rgs_plan_rows_per_kernel(l->rgs));
  return 0;
}

static int gcd(int a, int b) { return b == 0 ? a : gcd(b, a % b); }
static int lcm(int a, int b) { return a / gcd(a, b) * b; }

/* Stripes: with several threads and a wide output, every phase splits the output columns the same way, in
 * stripes that are multiples of every kernel's tile. The pool gives thread t the stripes
 * [t*S/T, (t+1)*S/T), so the width is chosen for the most even split of the tiles between threads (14
 * tiles on 2 threads: 2 stripes of 7, not 7 of 2 that leave one thread 4 stripes), then for the most
 * stripes up to 4 per thread (finer stealing when a thread is held up). Narrow outputs (7x7, 14x14
 * maps) leave the kernels to split rows instead (stripe 0). */
static void conv_stripes(pl_layer *l) {
  int threads = l->spec.threads, n = l->view.n;
  l->stripe = 0, l->nstripes = 1;
  if (threads <= 1) return;
  int align = lcm(lcm(rgs_tile(), gemm_nr()), pat_tile());
  int units = (n + align - 1) / align;
  if (units < 2 * threads) return;
  int best_w = 0, best_load = 0, best_count = 0;
  for (int w = 1; w <= units; w++) {
    int count = (units + w - 1) / w;
    if (count < threads) break;
    int load = 0;
    for (int t = 0; t < threads; t++) {
      int first = (int)((long)count * t / threads), end = (int)((long)count * (t + 1) / threads);
      int mine = end * w < units ? (end - first) * w : units - first * w;
      if (mine > load) load = mine;
    }
    int better = best_w == 0 || load < best_load ||
                 (load == best_load && count <= 4 * threads && (best_count > 4 * threads || count > best_count));
    if (better) best_w = w, best_load = load, best_count = count;
  }
  l->stripe = best_w * align;
  l->nstripes = (n + l->stripe - 1) / l->stripe;
}

static int prepare_conv(pl_layer *l, char *err, size_t errlen) {
  const pl_layer_spec *s = &l->spec;
  int slack = rgs_tile() + gemm_b_slack() + pat_tile() + 64;
  if (view_init(&l->view, s, slack, err, errlen)) return -1;
  l->ho = l->view.ho, l->wo = l->view.wo;
  conv_stripes(l);
  l->in = pl_alloc_floats(view_input_floats(&l->view, slack));
  l->out_floats = (long)s->cout * l->ho * l->wo;
  l->out = pl_alloc_floats((size_t)l->out_floats + (size_t)chain_slack());
  int k = s->k, kk = k * k;
  l->coloff = malloc(sizeof *l->coloff * (size_t)l->cols);
  if (!l->in || !l->out || !l->coloff) {
    snprintf(err, errlen, "out of memory for a %dx%dx%d input", s->cin, s->h, s->w);
    return -1;
  }
  for (int c = 0; c < l->cols; c++) {
    int ci = s->op == PL_OP_DWCONV ? 0 : c / kk, t = c % kk;
    l->coloff[c] = view_offset(&l->view, ci, t / k, t % k);
  }
  if (view_needs_compact(&l->view)) {
    l->ldv = (long)pl_round_up((size_t)l->view.n, 16);
    l->virt = pl_alloc_floats((size_t)l->ldv * (size_t)l->rows);
    if (!l->virt) {
      snprintf(err, errlen, "out of memory for the output");
      return -1;
    }
  }
  fill_random(l);
  return 0;
}

static int prepare_conv_engine(pl_layer *l, char *err, size_t errlen) {
  const pl_layer_spec *s = &l->spec;
  const char *scheme = spec_scheme_name(s->scheme);
  if (s->op == PL_OP_DWCONV) {
    if (build_rgs(l, 1, err, errlen)) return -1;
    l->engine = ENGINE_RGS;
    snprintf(l->kernel, sizeof l->kernel, "dwconv-direct-rgs1");
    return 0;
  }
  switch (s->scheme) {
  case PL_SCHEME_DENSE: return prepare_dense_conv(l, err, errlen);
  case PL_SCHEME_FILTER: {
    l->gemm_rows = malloc(sizeof *l->gemm_rows * (size_t)l->rows);
    if (!l->gemm_rows) break;
    for (int r = 0; r < l->rows; r++)
      for (int c = 0; c < l->cols; c++)
        if (l->wm[(long)r * l->cols + c] != 0.0f) {
          l->gemm_rows[l->ngemm_rows++] = r;
          break;
        }
    if (build_gemm(l, l->gemm_rows, l->ngemm_rows, NULL, l->cols, err, errlen)) return -1;
    l->engine = ENGINE_GEMM;
    snprintf(l->kernel, sizeof l->kernel, "filter-gemm-%s", gemm_tile_name());
    return 0;
  }
  case PL_SCHEME_CHANNEL: {
    int *cols = malloc(sizeof *cols * (size_t)l->cols), n = 0;
    if (!cols) break;
    for (int c = 0; c < l->cols; c++)
      for (int r = 0; r < l->rows; r++)
        if (l->wm[(long)r * l->cols + c] != 0.0f) {
          cols[n++] = c;
          break;
        }
    int rc = build_gemm(l, NULL, l->rows, cols, n, err, errlen);
    free(cols);
    if (rc) return -1;
    l->engine = ENGINE_GEMM;
    snprintf(l->kernel, sizeof l->kernel, "channel-gemm-%s", gemm_tile_name());
    return 0;
  }
  case PL_SCHEME_PATTERN:
    l->pat = pat_plan_create(l->wm, l->rows, s->cin, l->coloff, l->view.n, s->threads, l->stripe, err, errlen);
    if (!l->pat) return -1;
    l->engine = ENGINE_PATTERN;
    snprintf(l->kernel, sizeof l->kernel, "pattern-grouped");
    return 0;
  case PL_SCHEME_UNSTRUCTURED:
  case PL_SCHEME_BCR:
  case PL_SCHEME_BLOCK_PUNCHED: {
    int br = s->scheme == PL_SCHEME_BCR || s->scheme == PL_SCHEME_BLOCK_PUNCHED ? s->br : 1;
    if (build_rgs(l, br, err, errlen)) return -1;
    l->engine = ENGINE_RGS;
    snprintf(l->kernel, sizeof l->kernel, "%s-rgs%d", scheme, rgs_plan_rows_per_kernel(l->rgs));
    return 0;
  }
  }
  snprintf(err, errlen, "out of memory preparing %s", scheme);
  return -1;
}

/* ---- fc ------------------------------------------------------------------------------------------ */

static int prepare_fc(pl_layer *l, char *err, size_t errlen) {
  const pl_layer_spec *s = &l->spec;
  l->ho = l->wo = 1;
  l->in = pl_alloc_floats((size_t)s->cin + 64);
  l->out_floats = s->cout;
  l->out = pl_alloc_floats((size_t)s->cout + (size_t)chain_slack());
  if (!l->in || !l->out) {
    snprintf(err, errlen, "out of memory for an fc layer %dx%d", s->cout, s->cin);
    return -1;
  }
  fill_random(l);
  return 0;
}

static int prepare_fc_engine(pl_layer *l, char *err, size_t errlen) {
  const pl_layer_spec *s = &l->spec;
  l->engine = ENGINE_FC;
  switch (s->scheme) {
  case PL_SCHEME_FILTER:
  case PL_SCHEME_CHANNEL: {
    /* A smaller dense layer: kept rows x kept columns, x gathered and y scattered per run. */
    l->fc_rows = malloc(sizeof *l->fc_rows * (size_t)l->rows);
    l->fc_cols = malloc(sizeof *l->fc_cols * (size_t)l->cols);
    if (!l->fc_rows || !l->fc_cols) break;
    for (int r = 0; r < l->rows; r++) {
      int any = 0;
      for (int c = 0; c < l->cols && !any; c++) any = l->wm[(long)r * l->cols + c] != 0.0f;
      if (any) l->fc_rows[l->nfc_rows++] = r;
    }
    for (int c = 0; c < l->cols; c++) {
      int any = 0;
      for (int r = 0; r < l->rows && !any; r++) any = l->wm[(long)r * l->cols + c] != 0.0f;
      if (any) l->fc_cols[l->nfc_cols++] = c;
    }
    float *sub = pl_alloc_floats((size_t)l->nfc_rows * (size_t)l->nfc_cols);
    l->fc_x = pl_alloc_floats((size_t)l->nfc_cols + 64);
    l->fc_y = pl_alloc_floats((size_t)l->nfc_rows + 16);
    if (!sub || !l->fc_x || !l->fc_y) {
      free(sub);
      break;
    }
    for (int i = 0; i < l->nfc_rows; i++)
      for (int j = 0; j < l->nfc_cols; j++)
        sub[(long)i * l->nfc_cols + j] = l->wm[(long)l->fc_rows[i] * l->cols + l->fc_cols[j]];
    l->fc = fc_plan_create(sub, l->nfc_rows, l->nfc_cols, 16, 1, s->threads, err, errlen);
    free(sub);
    if (!l->fc) return -1;
    snprintf(l->kernel, sizeof l->kernel, "fc-%s-dense-rows%d", spec_scheme_name(s->scheme), fc_plan_rows_per_kernel(l->fc));
    return 0;
  }
  default: {
    int dense = s->scheme == PL_SCHEME_DENSE;
    int br = s->scheme == PL_SCHEME_BCR || s->scheme == PL_SCHEME_BLOCK_PUNCHED ? s->br : dense ? 16 : 1;
    l->fc = fc_plan_create(l->wm, l->rows, l->cols, br, dense, s->threads, err, errlen);
    if (!l->fc) return -1;
    if (s->scheme == PL_SCHEME_UNSTRUCTURED)
      snprintf(l->kernel, sizeof l->kernel, "fc-unstructured-csr");
    else
      snprintf(l->kernel, sizeof l->kernel, "fc-%s-rows%d", spec_scheme_name(s->scheme), fc_plan_rows_per_kernel(l->fc));
    return 0;
  }
  }
  snprintf(err, errlen, "out of memory preparing fc %s", spec_scheme_name(s->scheme));
  return -1;
}

static void fc_run(pl_layer *l) {
  const float *in = layer_src(l);
  if (!l->fc_rows) {
    fc_plan_run(l->fc, l->pool, in, l->out);
    return;
  }
  for (int j = 0; j < l->nfc_cols; j++) l->fc_x[j] = in[l->fc_cols[j]];
  fc_plan_run(l->fc, l->pool, l->fc_x, l->fc_y);
  for (int i = 0; i < l->nfc_rows; i++) l->out[l->fc_rows[i]] = l->fc_y[i];
}

/* ---- the seam ------------------------------------------------------------------------------------ */

/* The mask of the case, from the cache when an earlier case of the call computed it. */
static int mask_weights(pl_layer *l, uint8_t *mask, char *err, size_t errlen) {
  long n = (long)l->rows * l->cols;
  if (l->cache && prepcache_get_mask(l->cache, &l->spec, n, mask, &l->pruned) == 0) return 0;
  if (prune_mask(&l->spec, l->rows, l->cols, l->w, mask, &l->pruned, err, errlen) != 0) return -1;
  if (l->cache) prepcache_put_mask(l->cache, &l->spec, n, mask, &l->pruned);
  return 0;
}

pl_layer *layer_prepare(const pl_layer_spec *spec, char *err, size_t errlen) {
  return layer_prepare_cached(spec, NULL, err, errlen);
}

pl_layer *layer_prepare_cached(const pl_layer_spec *spec, prepcache *cache, char *err, size_t errlen) {
  if (errlen > 0) err[0] = '\0';
  if (validate_geometry(spec, err, errlen) || prune_validate(spec, err, errlen)) return NULL;
  pl_layer *l = calloc(1, sizeof *l);
  if (!l) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  l->spec = *spec;
  pl_layer_spec *s = &l->spec;
  if (s->op == PL_OP_FC) s->h = s->w = s->k = s->stride = 1, s->pad = 0;
  l->cache = cache;
  if (cache) prepcache_select(cache, s);
  int kk = s->k * s->k;
  l->rows = s->cout;
  l->cols = s->op == PL_OP_DWCONV ? kk : s->cin * kk;
  size_t nw = (size_t)l->rows * (size_t)l->cols;
  l->w = pl_alloc_floats(nw);
  l->wm = pl_alloc_floats(nw);
  uint8_t *mask = malloc(nw > 0 ? nw : 1);
  if (!l->w || !l->wm || !mask) {
    snprintf(err, errlen, "out of memory for %zu weights", nw);
    goto fail;
  }
  if ((s->op == PL_OP_FC ? prepare_fc(l, err, errlen) : prepare_conv(l, err, errlen)) != 0) goto fail;
  if (mask_weights(l, mask, err, errlen) != 0) goto fail;
  for (size_t i = 0; i < nw; i++) l->wm[i] = mask[i] ? l->w[i] : 0.0f;
  free(mask);
  mask = NULL;
  l->flops = 2.0 * (double)l->pruned.kept_weights * l->ho * l->wo;
  l->pool = pool_create(s->threads, s->cpus, s->ncpus, err, errlen);
  if (!l->pool) goto fail;
  if ((s->op == PL_OP_FC ? prepare_fc_engine(l, err, errlen) : prepare_conv_engine(l, err, errlen)) != 0) goto fail;
  l->cache = NULL;
  s->weights = NULL; /* borrowed for preparation only (spec.h) */
  return l;
fail:
  free(mask);
  layer_free(l);
  return NULL;
}

void layer_run(pl_layer *l) {
  if (l->spec.op == PL_OP_FC)
    fc_run(l);
  else
    conv_run(l);
}

pl_layer_stats layer_stats(const pl_layer *l) {
  long total = (long)l->rows * l->cols;
  pl_layer_stats st = {
      .density = total > 0 ? (double)l->pruned.kept_weights / (double)total : 1.0,
      .kept_blocks = l->pruned.kept_blocks,
      .kept_energy = l->pruned.kept_energy,
      .mask_fnv1a = l->pruned.mask_fnv1a,
      .flops = l->flops,
      .kernel = l->kernel,
  };
  return st;
}

/* Tolerance, relative to sum |w*x| of each output: fp32 sums of K terms in any order are within about
 * sqrt(K) * eps of that scale in practice (the worst case K * eps is never approached with blocked FMA
 * sums of random data); 8 * sqrt(K) * eps leaves a margin while any indexing bug shows up as O(1). */
static double layer_tolerance(const pl_layer *l) { return 8.0 * sqrt((double)l->cols + 1.0) * FLT_EPSILON; }

int layer_check(pl_layer *l, double *max_rel_err) { return layer_check_output(l, l->out, 0, max_rel_err); }

const float *layer_masked_weights(const pl_layer *l) { return l->wm; }

const float *layer_input(const pl_layer *l) { return l->in; }

const float *layer_output(const pl_layer *l) { return l->out; }

long layer_output_floats(const pl_layer *l) { return l->out_floats; }

long layer_input_floats(const pl_layer *l) {
  return l->spec.op == PL_OP_FC ? l->spec.cin : (long)l->spec.cin * l->spec.h * l->spec.w;
}

void layer_bind_input(pl_layer *l, const float *src) { l->bound_in = src; }

int layer_check_output(pl_layer *l, const float *out, double extra_rel_tol, double *max_rel_err) {
  double *ref = malloc(sizeof *ref * (size_t)l->out_floats), *mag = malloc(sizeof *mag * (size_t)l->out_floats);
  if (!ref || !mag) {
    free(ref);
    free(mag);
    *max_rel_err = INFINITY;
    return -1;
  }
  reference_run(&l->spec, l->wm, l->in, ref, mag);
  double worst = 0;
  for (long i = 0; i < l->out_floats; i++) {
    double diff = fabs((double)out[i] - ref[i]);
    double e = mag[i] > 0 ? diff / mag[i] : (diff > 0 ? INFINITY : 0);
    if (!(e <= worst)) worst = e; /* NaN counts as the worst */
  }
  free(ref);
  free(mag);
  *max_rel_err = worst;
  return worst <= layer_tolerance(l) + extra_rel_tol ? 0 : 1;
}

void layer_free(pl_layer *l) {
  if (!l) return;
  pool_free(l->pool);
  gemm_plan_free(l->gemm);
  rgs_plan_free(l->rgs);
  pat_plan_free(l->pat);
  mvec_plan_free(l->mvec);
  fc_plan_free(l->fc);
  view_free(&l->view);
  free(l->w);
  free(l->wm);
  free(l->in);
  free(l->out);
  free(l->coloff);
  free(l->virt);
  free(l->gemm_rows);
  free(l->gemm_boff);
  free(l->fc_rows);
  free(l->fc_cols);
  free(l->fc_x);
  free(l->fc_y);
  free(l);
}
