/*
 * run.h: `prunelab-agent run`: plan lines in, one result line per case out, then a done line.
 *
 * Every non-blank plan line yields exactly one result line, in order: "ok" with raw samples and telemetry,
 * or "error" with a one-line reason (bad JSON, unknown op or scheme, missing field, a block that does not
 * divide the layer, a CPU that is not online, ...). Errors never stop the run. Each line is flushed as soon
 * as it is written, so the orchestrator can store a case while the next one runs.
 */
#ifndef PL_RUN_H
#define PL_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "affinity.h"
#include "json.h"
#include "options.h"
#include "plan.h"
#include "prepcache.h"
#include "weights.h"

typedef enum {
  RUN_STOP_MIN_REACHED, /* minReps and minTimeMs both reached: the normal end */
  RUN_STOP_CI,          /* minReps reached and the median's 95% CI is narrower than ciRelWidth */
  RUN_STOP_MAX_REPS,    /* hard cap on repetitions */
  RUN_STOP_MAX_TIME,    /* hard cap on the case's wall time: fewer samples than asked, maybe */
} run_stop_reason;

const char *run_stop_name(run_stop_reason reason);

/* Reads the plan from in until end of file, writes results and the done line to out. Returns the process
 * exit code: 0 when the plan was read to the end (even if cases failed), 1 when reading it failed. */
int run_plan(FILE *in, FILE *out);

/* What the cases of one `run` share: the start-up affinity (restored for unpinned cases), the preparation
 * cache (may be NULL) and the weights files hashed so far (weights.h; may be NULL: hash every time). */
typedef struct {
  const affinity_mask *initial;
  prepcache *cache;
  weights_cache *weights;
} run_context;

/* Pins, prepares (loading real weights when the line names a file, reusing from the cache what earlier cases
 * of the shape built), samples and reports one validated case; writes its result line (ok or error) into w.
 * A network line goes to run_network. Returns 0 for an ok record, -1 for an error record. */
int run_case(const pl_case *c, run_context *ctx, json_writer *w);

/* The network op: prepares every layer, binds each "previous" layer to its predecessor's output (refusing the
 * case when the sizes differ), then samples repetitions of all layers back to back as one case does. */
int run_network(const pl_case *c, run_context *ctx, json_writer *w);

/* Distribution-free 95% confidence interval of the median from order statistics: the largest j such that
 * P(Bin(n, 1/2) <= j-1) <= 0.025 gives [x_(j), x_(n+1-j)] (1-based), coverage >= 95%. Exact binomial up to
 * n = 1000, normal approximation beyond (J.-Y. Le Boudec, "Performance Evaluation of Computer and
 * Communication Systems", Thm 2.1 and Table A.1). Writes 0-based indices into the sorted samples; returns
 * 0, or -1 when n < 6 (no interval exists at 95%). */
int run_median_ci_ranks(size_t n, size_t *lo, size_t *hi);

#endif
