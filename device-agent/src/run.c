/* run.c: the plan loop, pinning, the sampling loop and the result line (see run.h, options.h). */
#define _GNU_SOURCE
#include "run.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <time.h>

#include "gpu/gpu_case.h"
#include "layer.h"
#include "probe.h"
#include "telemetry.h"
#include "weights.h"

#define RUN_ERR_MAX 512
/* A CI check sorts all samples: do it at minReps, then each time the count has grown by a tenth. */
#define RUN_CI_CHECK_GROWTH 0.1

const char *run_stop_name(run_stop_reason reason) {
  switch (reason) {
    case RUN_STOP_MIN_REACHED: return "minReached";
    case RUN_STOP_CI: return "ci";
    case RUN_STOP_MAX_REPS: return "maxReps";
    case RUN_STOP_MAX_TIME: return "maxTime";
  }
  return "?";
}

/* ------------------------------------------------------------ statistics */

int run_median_ci_ranks(size_t n, size_t *lo, size_t *hi) {
  if (n < 6) return -1;
  size_t j;
  if (n <= 1000) {
    /* Walk the Bin(n, 1/2) CDF in log space (2^-n underflows a double past n = 1074). */
    double log_pmf = -(double)n * log(2.0), cdf = 0;
    size_t k = 0;
    for (;;) {
      cdf += exp(log_pmf);
      if (cdf > 0.025) break;
      log_pmf += log((double)(n - k)) - log((double)(k + 1));
      k++;
    }
    j = k; /* P(B <= k-1) <= 0.025 < P(B <= k) */
  } else {
    j = (size_t)floor(0.5 * (double)n - 0.98 * sqrt((double)n));
  }
  if (j < 1) return -1;
  *lo = j - 1;
  *hi = n - j;
  return 0;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* (upper - lower) / median of the 95% CI of the median, or a negative value when it cannot be computed. */
static double median_ci_rel_width(const int64_t *samples, size_t n, int64_t *scratch) {
  size_t lo, hi;
  if (run_median_ci_ranks(n, &lo, &hi) != 0) return -1;
  memcpy(scratch, samples, n * sizeof *samples);
  qsort(scratch, n, sizeof *scratch, cmp_i64);
  double median = n % 2 ? (double)scratch[n / 2] : 0.5 * ((double)scratch[n / 2 - 1] + (double)scratch[n / 2]);
  if (median <= 0) return -1;
  return (double)(scratch[hi] - scratch[lo]) / median;
}

/* ------------------------------------------------------------ sampling loop */

typedef struct {
  int64_t *ns;
  size_t n, cap;
  run_stop_reason stop;
  double ci_rel_width; /* last computed, < 0 when never computed */
} run_samples;

typedef void (*run_body)(void *ctx);

static void body_layer(void *ctx) { layer_run((pl_layer *)ctx); }

/* The idle op: sleep only, so the host can measure its own overhead apart from any CPU work. */
static void body_idle(void *ctx) {
  long us = *(const long *)ctx;
  struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
  while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR) {
  }
}

/*
 * A GPU case's body: enqueue its kernels and clFinish (the wall clock around it is the sample), keeping each
 * run's kernel time from the profiling events. Warm-up runs are recorded too; the timed ones are the last
 * samples.n entries. An OpenCL failure stops recording and is reported once sampling ends.
 */
typedef struct {
  gpu_case *gpu;
  int64_t *kernel_ns;
  size_t n, cap;
  int failed;
  char err[RUN_ERR_MAX];
} run_gpu_body;

static void body_gpu(void *ctx) {
  run_gpu_body *b = ctx;
  if (b->failed) return;
  int64_t ns = 0;
  if (gpu_case_run(b->gpu, &ns, b->err, sizeof b->err) != 0) {
    b->failed = 1;
    return;
  }
  if (b->n == b->cap) {
    size_t ncap = b->cap ? b->cap * 2 : 256;
    int64_t *grown = realloc(b->kernel_ns, ncap * sizeof *grown);
    if (!grown) {
      b->failed = 1;
      snprintf(b->err, sizeof b->err, "out of memory for %zu kernel times: lower maxReps", b->n + 1);
      return;
    }
    b->kernel_ns = grown, b->cap = ncap;
  }
  b->kernel_ns[b->n++] = ns;
}

static int samples_push(run_samples *s, int64_t ns, long max_reps) {
  if (s->n == s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 1024;
    if (ncap > (size_t)max_reps) ncap = (size_t)max_reps;
    int64_t *grown = realloc(s->ns, ncap * sizeof *s->ns);
    if (!grown) return -1;
    s->ns = grown;
    s->cap = ncap;
  }
  s->ns[s->n++] = ns;
  return 0;
}

/*
 * Testing aids, compiled out by default (Makefile: EXTRA_CFLAGS, BUILD_DIR):
 *  - PRUNELAB_SLOWDOWN_PCT: every timed run is stretched by this share (busy wait), so the nightly's tests have
 *    a kernel build that really is slower (orchestrator/nightly/README.md);
 *  - PRUNELAB_DISTURB_EVERY (and PRUNELAB_DISTURB_PCT, 50 by default): every Nth case of an agent process runs as
 *    if something shared its core: its timed runs and its probes are stretched alike, so the re-measure of
 *    disturbed cases (orchestrator/scheduler/disturbance.ts) can be tested on a quiet machine.
 */
#ifndef PRUNELAB_SLOWDOWN_PCT
#define PRUNELAB_SLOWDOWN_PCT 0
#endif
#ifndef PRUNELAB_DISTURB_EVERY
#define PRUNELAB_DISTURB_EVERY 0
#endif
#ifndef PRUNELAB_DISTURB_PCT
#define PRUNELAB_DISTURB_PCT 50
#endif

/* The stretch of the case in progress, percent (0 in a normal build). */
static int stretch_pct = PRUNELAB_SLOWDOWN_PCT;

/* Busy-waits stretch_pct of `ns`; returns the time waited (0 in a normal build). */
static int64_t stretch(int64_t ns) {
  if (stretch_pct <= 0) return 0;
  const int64_t start = telemetry_now_ns(), until = start + ns * stretch_pct / 100;
  while (telemetry_now_ns() < until) {
  }
  return telemetry_now_ns() - start;
}

/* The stretch of the next case of this process: every PRUNELAB_DISTURB_EVERY-th one is disturbed on top. */
static int next_case_stretch_pct(void) {
  static long cases_run = 0;
  cases_run++;
#if PRUNELAB_DISTURB_EVERY > 0
  if (cases_run % PRUNELAB_DISTURB_EVERY == 0) return PRUNELAB_SLOWDOWN_PCT + PRUNELAB_DISTURB_PCT;
#endif
  return PRUNELAB_SLOWDOWN_PCT;
}

/* The probe (probe.h), each phase stretched like the timed runs. */
static probe_times run_probe(void) {
  probe_times t = probe_run();
  t.core_ns += stretch(t.core_ns);
  t.stream_ns += stretch(t.stream_ns);
  return t;
}

/* Warm-up, then timed repetitions until a stop rule of options.h holds. */
static int sample(const pl_sampling_options *o, run_body body, void *ctx, run_samples *s, char *err, size_t errlen) {
  const int64_t max_time_ns = (int64_t)(o->max_time_ms * 1e6), min_time_ns = (int64_t)(o->min_time_ms * 1e6);
  const int64_t case_start = telemetry_now_ns();
  s->ci_rel_width = -1;
  for (int i = 0; i < o->warmup && telemetry_now_ns() - case_start < max_time_ns; i++) body(ctx);

  int64_t *scratch = NULL;
  size_t scratch_cap = 0, next_ci_check = (size_t)o->min_reps;
  const int64_t timed_start = telemetry_now_ns();
  for (;;) {
    int64_t t0 = telemetry_now_ns();
    body(ctx);
    int64_t t1 = telemetry_now_ns();
    /* Only a testing build stretches: a normal build reads the clock once here, as before the aids existed. */
    if (stretch_pct > 0) {
      stretch(t1 - t0);
      t1 = telemetry_now_ns();
    }
    if (samples_push(s, t1 - t0, o->max_reps) != 0) {
      snprintf(err, errlen, "out of memory for %zu samples: lower maxReps", s->n + 1);
      free(scratch);
      return -1;
    }
    if (s->n >= (size_t)o->min_reps && t1 - timed_start >= min_time_ns) { s->stop = RUN_STOP_MIN_REACHED; break; }
    if (o->ci_rel_width > 0 && s->n >= next_ci_check) {
      if (scratch_cap < s->cap) {
        int64_t *grown = realloc(scratch, s->cap * sizeof *scratch);
        if (grown) scratch = grown, scratch_cap = s->cap;
      }
      if (scratch_cap >= s->n) s->ci_rel_width = median_ci_rel_width(s->ns, s->n, scratch);
      if (s->ci_rel_width >= 0 && s->ci_rel_width <= o->ci_rel_width) { s->stop = RUN_STOP_CI; break; }
      size_t step = (size_t)((double)s->n * RUN_CI_CHECK_GROWTH);
      next_ci_check = s->n + (step > 0 ? step : 1);
    }
    if (s->n >= (size_t)o->max_reps) { s->stop = RUN_STOP_MAX_REPS; break; }
    if (t1 - case_start >= max_time_ns) { s->stop = RUN_STOP_MAX_TIME; break; }
  }
  free(scratch);
  return 0;
}

/* ------------------------------------------------------------ result lines */

static void write_error(json_writer *w, const char *id, int line, const char *error) {
  json_writer_reset(w);
  json_object_begin(w);
  json_field_string(w, "type", "result");
  json_field_string(w, "id", id);
  json_field_int(w, "line", line);
  json_field_string(w, "status", "error");
  json_field_string(w, "error", error);
  json_object_end(w);
}

static void write_sampling(json_writer *w, const pl_sampling_options *o) {
  json_key(w, "sampling");
  json_object_begin(w);
  json_field_int(w, "warmup", o->warmup);
  json_field_int(w, "minReps", o->min_reps);
  json_field_number(w, "minTimeMs", o->min_time_ms);
  json_field_int(w, "maxReps", o->max_reps);
  json_field_number(w, "maxTimeMs", o->max_time_ms);
  json_field_number(w, "ciRelWidth", o->ci_rel_width);
  json_object_end(w);
}

/* A GPU case's kernel times (one per sample, from profiling events) and where its program came from. */
static void write_gpu(json_writer *w, const run_gpu_body *gpu, size_t n) {
  json_key(w, "kernelNs");
  json_array_begin(w);
  for (size_t i = gpu->n - n; i < gpu->n; i++) json_int(w, gpu->kernel_ns[i]);
  json_array_end(w);
  const gpu_runtime *rt = gpu_case_runtime(gpu->gpu);
  const gpu_program *prog = gpu_case_program(gpu->gpu);
  json_key(w, "gpu");
  json_object_begin(w);
  json_field_string(w, "platform", rt->platform_name);
  json_field_string(w, "device", rt->device_name);
  json_field_string(w, "driver", rt->driver);
  json_field_string(w, "openclLibrary", rt->cl->library);
  json_field_string(w, "programFrom", prog->from);
  json_field_int(w, "compileNs", prog->compile_ns);
  json_field_string(w, "cacheNote", prog->cache_note[0] ? prog->cache_note : NULL);
  json_object_end(w);
}

/* Where a case's time went inside the agent: preparing weights and masks, then sampling (warm-up included).
 * The orchestrator compares their sum with its own wall time to measure its overhead honestly. */
typedef struct {
  int64_t prepare_ns;
  int64_t sampling_ns;
  probe_times probe_before, probe_after; /* probe.h, just before and just after sampling */
} run_case_times;

/* "key":[before,after] */
static void write_pair(json_writer *w, const char *key, int64_t before, int64_t after) {
  json_key(w, key);
  json_array_begin(w);
  json_int(w, before);
  json_int(w, after);
  json_array_end(w);
}

/* The fields every ok record shares after its own: CPUs, repetitions and times, the sampling policy. */
static void write_cpus_and_timing(json_writer *w, const pl_case *c, const int *cpus, int ncpus, const run_samples *s,
                                  const run_case_times *times) {
  json_key(w, "cpus");
  json_array_begin(w);
  for (int i = 0; i < ncpus; i++) json_int(w, cpus[i]);
  json_array_end(w);
  json_field_int(w, "reps", (int64_t)s->n);
  json_field_int(w, "prepareNs", times->prepare_ns);
  json_field_int(w, "samplingNs", times->sampling_ns);
  /* probeNs, what the host judges disturbance by, is the core phase alone. The stream phase is reported beside
   * it but not judged: on the development VM its time varied 2x between back-to-back idle cases on a calm
   * machine (neighbouring guests' memory traffic), so judging by it re-measured nearly every case. */
  const probe_times *pb = &times->probe_before, *pa = &times->probe_after;
  write_pair(w, "probeNs", pb->core_ns, pa->core_ns);
  write_pair(w, "probeCoreNs", pb->core_ns, pa->core_ns);
  write_pair(w, "probeStreamNs", pb->stream_ns, pa->stream_ns);
  json_field_int(w, "probeStreamBytes", pb->stream_ns > 0 ? (int64_t)probe_stream_bytes() : 0);
  json_field_string(w, "stop", run_stop_name(s->stop));
  json_key(w, "medianCiRelWidth");
  if (s->ci_rel_width >= 0) json_number(w, s->ci_rel_width);
  else json_null(w);
  write_sampling(w, &c->sampling);
}

static void write_samples(json_writer *w, const run_samples *s) {
  json_key(w, "samplesNs");
  json_array_begin(w);
  for (size_t i = 0; i < s->n; i++) json_int(w, s->ns[i]);
  json_array_end(w);
}

/* The telemetry member, then the record's closing brace. */
static void write_telemetry_and_end(json_writer *w, const telemetry_snapshot_t *before, const telemetry_snapshot_t *after) {
  json_key(w, "telemetry");
  json_object_begin(w);
  json_key(w, "before");
  telemetry_write_json(w, before);
  json_key(w, "after");
  telemetry_write_json(w, after);
  json_object_end(w);
  json_object_end(w);
}

static void write_head(json_writer *w, const pl_case *c) {
  json_writer_reset(w);
  json_object_begin(w);
  json_field_string(w, "type", "result");
  json_field_string(w, "id", c->id);
  json_field_int(w, "line", c->line);
  json_field_string(w, "status", "ok");
  json_field_string(w, "op", spec_op_name(c->op));
}

static void write_ok(json_writer *w, const pl_case *c, const pl_layer_stats *st, int threads, const int *cpus, int ncpus,
                     const run_samples *s, const run_case_times *times, const telemetry_snapshot_t *before,
                     const telemetry_snapshot_t *after, const run_gpu_body *gpu) {
  const int idle = c->op == PL_OP_IDLE;
  write_head(w, c);
  json_field_string(w, "scheme", idle ? NULL : spec_scheme_name(c->spec.scheme));
  json_field_string(w, "block", c->block[0] ? c->block : NULL);
  json_field_number(w, "sparsity", idle ? 0 : c->spec.sparsity);
  if (idle) json_field_int(w, "durationUs", c->duration_us);
  else json_field_int(w, "seed", (int64_t)c->spec.seed);
  json_field_number(w, "density", st->density);
  json_field_int(w, "keptBlocks", st->kept_blocks);
  json_field_number(w, "keptEnergy", st->kept_energy);
  if (!idle) {
    char hash[17];
    snprintf(hash, sizeof hash, "%016" PRIx64, st->mask_fnv1a);
    json_field_string(w, "maskFnv1a", hash);
    json_field_string(w, "weights", c->weights.present ? c->weights.sha256 : "seeded");
  }
  json_field_number(w, "flops", st->flops);
  json_field_string(w, "kernel", st->kernel ? st->kernel : "unknown");
  json_field_string(w, "backend", pl_backend_name(c->backend));
  json_field_string(w, "dtype", pl_dtype_name(c->dtype));
  json_field_int(w, "threads", threads);
  write_cpus_and_timing(w, c, cpus, ncpus, s, times);
  write_samples(w, s);
  if (gpu) write_gpu(w, gpu, s->n);
  write_telemetry_and_end(w, before, after);
}

/* ------------------------------------------------------------ one case */

static int pin(const pl_case *c, const affinity_mask *initial, int *cpus, int *ncpus, char *err, size_t errlen) {
  if (c->spec.ncpus > 0) {
    if (affinity_set(c->spec.cpus, c->spec.ncpus, err, errlen) != 0) return -1;
  } else if (initial && initial->valid && affinity_restore(initial) != 0) {
    fprintf(stderr, "prunelab-agent: %s: could not restore the start-up CPU affinity: %s\n", c->id, strerror(errno));
  }
  *ncpus = affinity_get(cpus, AFFINITY_MAX_CPUS);
  if (*ncpus < 0) {
    snprintf(err, errlen, "sched_getaffinity failed: %s", strerror(errno));
    return -1;
  }
  return 0;
}

/* Warm-up, repetitions and everything around them that cases and networks share: the idle op's timer slack,
 * telemetry just before and after, the disturbance probe, the testing builds' stretch. */
typedef struct {
  run_samples s;
  run_case_times times; /* prepare_ns is the caller's */
  telemetry_snapshot_t before, after;
} run_measure;

static int measure(const pl_case *c, run_body body, void *ctx, run_measure *m, char *err, size_t errlen) {
  /* Linux lets a sleep overrun by the thread's timer slack (50 us by default, measured 0.1 ms here on a
   * 1 ms sleep): the idle op should sleep what it says, so it runs with 1 ns of slack. */
  int slack = c->op != PL_OP_IDLE ? -1 : prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  if (slack >= 0) prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  telemetry_snapshot(&m->before);
  stretch_pct = next_case_stretch_pct();
  /* Untimed: the first probe after the layer was prepared (or the process started) ran up to 1.3x slower on
   * the development VM, which would mark the first case of every batch as disturbed. */
  probe_warm();
  m->times.probe_before = run_probe();
  const int64_t sampling_start = telemetry_now_ns();
  int rc = sample(&c->sampling, body, ctx, &m->s, err, errlen);
  m->times.sampling_ns = telemetry_now_ns() - sampling_start;
  m->times.probe_after = run_probe();
  telemetry_snapshot(&m->after);
  if (slack >= 0) prctl(PR_SET_TIMERSLACK, (unsigned long)slack, 0, 0, 0);
  return rc;
}

static void measure_free(run_measure *m) {
  free(m->s.ns);
  telemetry_free(&m->before);
  telemetry_free(&m->after);
}

/* GEMM-view weight count of a layer (spec.h): rows = cout, cols = cin*k*k (conv), k*k (dwconv), in (fc). */
static long gemm_floats(const pl_layer_spec *s) {
  long kk = s->op == PL_OP_FC ? 1 : (long)s->k * s->k;
  return (long)s->cout * (s->op == PL_OP_DWCONV ? kk : (long)s->cin * kk);
}

/* Attaches the real weights ref names to spec (weights.h checks the file and its hash); *buf is for the
 * caller to free once the layer is prepared. Seeded weights (no ref): nothing to do. */
static int attach_weights(run_context *ctx, const pl_weights_ref *ref, pl_layer_spec *spec, float **buf, char *err,
                          size_t errlen) {
  *buf = NULL;
  if (!ref->present) return 0;
  if (weights_load(ctx->weights, ref, gemm_floats(spec), buf, err, errlen) != 0) return -1;
  spec->weights = *buf;
  return 0;
}

int run_case(const pl_case *c, run_context *ctx, json_writer *w) {
  char err[RUN_ERR_MAX] = "";
  static int cpus[AFFINITY_MAX_CPUS];
  int ncpus = 0;
  if (pin(c, ctx->initial, cpus, &ncpus, err, sizeof err) != 0) {
    write_error(w, c->id, c->line, err);
    return -1;
  }
  if (c->op == PL_OP_NETWORK) return run_network(c, ctx, cpus, ncpus, w);

  pl_layer *layer = NULL;
  run_gpu_body gpu = {0};
  const int on_gpu = c->backend == PL_BACKEND_GPU;
  pl_layer_stats st = {.density = 1, .kept_blocks = 0, .kept_energy = 1, .flops = 0, .kernel = "idle-clock_nanosleep"};
  int threads = 1;
  run_measure m = {0};
  if (c->op != PL_OP_IDLE) {
    const int64_t prepare_start = telemetry_now_ns();
    pl_layer_spec spec = c->spec;
    float *weights = NULL;
    if (attach_weights(ctx, &c->weights, &spec, &weights, err, sizeof err) == 0) {
      if (on_gpu) gpu.gpu = gpu_case_prepare(&spec, c->dtype, err, sizeof err);
      else layer = layer_prepare_cached(&spec, ctx->cache, err, sizeof err);
    }
    free(weights);
    m.times.prepare_ns = telemetry_now_ns() - prepare_start;
    if (!layer && !gpu.gpu) {
      write_error(w, c->id, c->line, err[0] ? err : "layer_prepare refused the case without a reason");
      return -1;
    }
    threads = on_gpu ? 1 : c->spec.threads;
  }

  int rc = gpu.gpu ? measure(c, body_gpu, &gpu, &m, err, sizeof err)
           : layer ? measure(c, body_layer, layer, &m, err, sizeof err)
                   : measure(c, body_idle, (void *)&c->duration_us, &m, err, sizeof err);
  if (rc == 0 && gpu.failed) {
    snprintf(err, sizeof err, "%s", gpu.err);
    rc = -1;
  }
  if (layer) st = layer_stats(layer);
  if (gpu.gpu) st = gpu_case_stats(gpu.gpu);

  if (rc == 0) write_ok(w, c, &st, threads, cpus, ncpus, &m.s, &m.times, &m.before, &m.after, gpu.gpu ? &gpu : NULL);
  else write_error(w, c->id, c->line, err);
  layer_free(layer);
  gpu_case_free(gpu.gpu);
  free(gpu.kernel_ns);
  measure_free(&m);
  return rc;
}

/* ------------------------------------------------------------ the network op */

typedef struct {
  pl_layer **layers;
  int count;
} run_network_body;

/* One repetition: every layer once, in order; a chained layer reads its predecessor's output in place. */
static void body_network(void *ctx) {
  const run_network_body *net = ctx;
  for (int i = 0; i < net->count; i++) layer_run(net->layers[i]);
}

static void describe_input(const pl_layer_spec *s, char *buf, size_t len) {
  if (s->op == PL_OP_FC) snprintf(buf, len, "in=%d", s->cin);
  else snprintf(buf, len, "cin x h x w = %d x %d x %d", s->cin, s->h, s->w);
}

/* Prepares every layer (no preparation cache: the layers of a network are of many shapes) and binds each
 * "previous" layer to its predecessor's output after checking the sizes agree. */
static int prepare_network(const pl_case *c, run_context *ctx, pl_layer **layers, char *err, size_t errlen) {
  for (int i = 0; i < c->net.count; i++) {
    const pl_network_layer *nl = &c->net.layers[i];
    pl_layer_spec spec = nl->spec;
    float *weights = NULL;
    char why[RUN_ERR_MAX] = "";
    if (attach_weights(ctx, &nl->weights, &spec, &weights, why, sizeof why) == 0)
      layers[i] = layer_prepare(&spec, why, sizeof why);
    free(weights);
    if (!layers[i]) {
      snprintf(err, errlen, "layers[%d] (%s): %s", i, spec_op_name(spec.op), why);
      return -1;
    }
    if (!nl->from_previous) continue;
    long have = layer_output_floats(layers[i - 1]), need = layer_input_floats(layers[i]);
    if (have != need) {
      char input[96];
      describe_input(&spec, input, sizeof input);
      snprintf(err, errlen,
               "layers[%d] reads the previous layer's output (\"input\":\"previous\"), which holds %ld floats, but its "
               "input is %ld floats (%s): give it \"input\":\"own\", or fix the shapes",
               i, have, need, input);
      return -1;
    }
    layer_bind_input(layers[i], layer_output(layers[i - 1]));
  }
  return 0;
}

static double median_ns(const run_samples *s) {
  if (s->n == 0) return 0;
  int64_t *sorted = malloc(s->n * sizeof *sorted);
  if (!sorted) return -1;
  memcpy(sorted, s->ns, s->n * sizeof *sorted);
  qsort(sorted, s->n, sizeof *sorted, cmp_i64);
  double median = s->n % 2 ? (double)sorted[s->n / 2] : 0.5 * ((double)sorted[s->n / 2 - 1] + (double)sorted[s->n / 2]);
  free(sorted);
  return median;
}

static void write_network_layer(json_writer *w, const pl_network_layer *nl, const pl_layer *layer, int index) {
  pl_layer_stats st = layer_stats(layer);
  char hash[17];
  snprintf(hash, sizeof hash, "%016" PRIx64, st.mask_fnv1a);
  json_object_begin(w);
  json_field_int(w, "index", index);
  json_field_string(w, "op", spec_op_name(nl->spec.op));
  json_field_string(w, "input", nl->from_previous ? "previous" : "own");
  json_field_string(w, "scheme", spec_scheme_name(nl->spec.scheme));
  json_field_string(w, "block", nl->block[0] ? nl->block : NULL);
  json_field_number(w, "sparsity", nl->spec.sparsity);
  json_field_int(w, "seed", (int64_t)nl->spec.seed);
  json_field_string(w, "weights", nl->weights.present ? nl->weights.sha256 : "seeded");
  json_field_number(w, "density", st.density);
  json_field_int(w, "keptBlocks", st.kept_blocks);
  json_field_number(w, "keptEnergy", st.kept_energy);
  json_field_string(w, "maskFnv1a", hash);
  json_field_number(w, "flops", st.flops);
  json_field_string(w, "kernel", st.kernel ? st.kernel : "unknown");
  json_object_end(w);
}

static void write_network_ok(json_writer *w, const pl_case *c, pl_layer *const *layers, const int *cpus, int ncpus,
                             const run_measure *m) {
  double flops = 0;
  for (int i = 0; i < c->net.count; i++) flops += layer_stats(layers[i]).flops;
  write_head(w, c);
  json_key(w, "layers");
  json_array_begin(w);
  for (int i = 0; i < c->net.count; i++) write_network_layer(w, &c->net.layers[i], layers[i], i);
  json_array_end(w);
  json_field_string(w, "notRun",
                    "only the listed conv, dwconv and fc layers run; everything between them in the model (activations, "
                    "pooling, element-wise add, concat, normalisation) is neither run nor timed");
  json_field_number(w, "flops", flops);
  json_field_string(w, "backend", "cpu");
  json_field_int(w, "threads", c->spec.threads);
  write_cpus_and_timing(w, c, cpus, ncpus, &m->s, &m->times);
  json_field_number(w, "medianNs", median_ns(&m->s));
  write_samples(w, &m->s);
  write_telemetry_and_end(w, &m->before, &m->after);
}

int run_network(const pl_case *c, run_context *ctx, const int *cpus, int ncpus, json_writer *w) {
  char err[RUN_ERR_MAX] = "";
  pl_layer **layers = calloc((size_t)c->net.count, sizeof *layers);
  run_measure m = {0};
  int rc = -1;
  if (!layers) {
    snprintf(err, sizeof err, "out of memory for %d network layers", c->net.count);
  } else {
    const int64_t prepare_start = telemetry_now_ns();
    rc = prepare_network(c, ctx, layers, err, sizeof err);
    m.times.prepare_ns = telemetry_now_ns() - prepare_start;
  }
  if (rc == 0) {
    run_network_body body = {layers, c->net.count};
    rc = measure(c, body_network, &body, &m, err, sizeof err);
  }
  if (rc == 0) write_network_ok(w, c, layers, cpus, ncpus, &m);
  else write_error(w, c->id, c->line, err);
  for (int i = 0; layers && i < c->net.count; i++) layer_free(layers[i]);
  free(layers);
  measure_free(&m);
  return rc;
}

/* ------------------------------------------------------------ the plan loop */

static int is_blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
  return 1;
}

/* Writes the line in w; if that fails (out of memory), a minimal error record that needs no allocation. */
static void emit(json_writer *w, FILE *out, const char *id, int line) {
  if (json_writer_emit(w, out) == 0) return;
  json_writer small;
  json_writer_init(&small);
  write_error(&small, id, line, "could not build the result line (out of memory?)");
  if (json_writer_emit(&small, out) != 0) fprintf(stderr, "prunelab-agent: could not write a result line for %s\n", id);
  json_writer_free(&small);
}

/* Every case allocates and frees tens of MB (weights, masks, packed kernels, buffers). With glibc's defaults the
 * large ones are fresh mmaps and the top of the heap is given back on free, so each case faulted its pages in
 * again: about 6 400 page faults per case on a 512x512 3x3 layer, and perf put half of preparation in those
 * faults and the zeroing behind them. Keeping freed memory in the process lets the next case reuse faulted
 * pages; the footprint stays that of the largest case. Bionic (Android) has no such knobs. */
static void keep_freed_memory(void) {
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
  mallopt(M_MMAP_THRESHOLD, 32 << 20); /* glibc's upper bound on 64-bit: larger blocks are still mmapped */
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

int run_plan(FILE *in, FILE *out) {
  keep_freed_memory();
  affinity_mask initial;
  affinity_capture(&initial);
  /* One shape's weights, masks and dense kernel choice, reused by the next cases of that shape (prepcache.h);
   * without memory for it every case builds its own, as before. */
  prepcache *cache = prepcache_create();
  /* The weights files hashed so far: each distinct (path, size, mtime) once per call (weights.h). */
  weights_cache *hashed = weights_cache_create();
  run_context ctx = {&initial, cache, hashed};
  json_writer w;
  json_writer_init(&w);
  char *text = NULL;
  size_t cap = 0;
  ssize_t len;
  int line = 0;
  long cases = 0, ok = 0, errors = 0;

  while ((len = getline(&text, &cap, in)) != -1) {
    line++;
    if (is_blank(text, (size_t)len)) continue; /* blank lines (a trailing newline, a spacer) are not cases */
    cases++;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) len--;
    char err[RUN_ERR_MAX];
    pl_case c;
    memset(&c, 0, sizeof c);
    int rc = -1;
    json_value *root = json_parse_line(text, (size_t)len, err, sizeof err);
    if (!root) {
      plan_line_id(line, c.id, sizeof c.id);
      c.line = line;
      write_error(&w, c.id, line, err);
    } else if (plan_from_json(root, line, &c, err, sizeof err) != 0) {
      write_error(&w, c.id, line, err);
    } else {
      rc = run_case(&c, &ctx, &w);
    }
    plan_case_free(&c);
    json_free(root);
    emit(&w, out, c.id, line);
    if (rc == 0) ok++;
    else errors++;
  }
  int read_failed = ferror(in);
  free(text);
  if (cache && getenv("PRUNELAB_PREPARE_CACHE_STATS")) {
    prepcache_counts n = prepcache_counts_get(cache);
    long files_hashed, files_reused;
    weights_cache_counts(hashed, &files_hashed, &files_reused);
    fprintf(stderr,
            "prunelab-agent: prepare cache: data hits %ld misses %ld, mask hits %ld misses %ld, dense hits %ld misses %ld, "
            "weights files hashed %ld reused %ld\n",
            n.data_hits, n.data_misses, n.mask_hits, n.mask_misses, n.dense_hits, n.dense_misses, files_hashed, files_reused);
  }
  prepcache_free(cache);
  weights_cache_free(hashed);
  if (read_failed) {
    fprintf(stderr, "prunelab-agent: reading the plan failed after line %d: %s\n", line, strerror(errno));
    json_writer_free(&w);
    return 1;
  }
  affinity_restore(&initial);
  json_writer_reset(&w);
  json_object_begin(&w);
  json_field_string(&w, "type", "done");
  json_field_int(&w, "cases", cases);
  json_field_int(&w, "ok", ok);
  json_field_int(&w, "errors", errors);
  json_object_end(&w);
  int rc = json_writer_emit(&w, out);
  json_writer_free(&w);
  return rc == 0 ? 0 : 1;
}
