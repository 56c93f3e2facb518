/*
 * options.h: every knob of the sampling policy, in one struct with named defaults. A plan line may
 * override each one (plan field in brackets); nothing else in the agent decides how long a case runs.
 *
 * The loop (run.c): `warmup` untimed runs, then timed repetitions until BOTH `min_reps` and `min_time_ms`
 * are reached, or, when `ci_rel_width` > 0, as soon as `min_reps` is reached and the 95% confidence
 * interval of the median is narrower than `ci_rel_width` x median. `max_reps` and `max_time_ms` are hard
 * caps that end the case whatever else holds, so no case can run forever; the result says which rule
 * stopped it ("stop"). At least one timed repetition is always made.
 *
 * Anchors for the defaults: TFLite's benchmark_model makes 50 runs and at least 1 s per model; one layer is
 * far shorter than a model, and a sweep times thousands of cases, so 10 reps and 100 ms keep a sweep
 * tractable while giving the host enough samples for a median and its interval. Raw samples go to the host,
 * which computes the statistics: the agent only decides when to stop.
 */
#ifndef PL_OPTIONS_H
#define PL_OPTIONS_H

/* [warmup] untimed runs before sampling: first-touch page faults, cold caches, frequency ramp-up. */
#define PL_DEFAULT_WARMUP 2
/* [minReps] fewest timed repetitions. */
#define PL_DEFAULT_MIN_REPS 10
/* [minTimeMs] least total time spent in timed repetitions. */
#define PL_DEFAULT_MIN_TIME_MS 100.0
/* [maxReps] hard cap on timed repetitions (bounds the memory of samplesNs and the result line's size). */
#define PL_DEFAULT_MAX_REPS 100000
/* [maxTimeMs] hard cap on the wall time of one case, warm-up included, measured from the first warm-up run:
 * a case that is slower than expected (a throttled phone, a huge layer) ends instead of stalling the batch. */
#define PL_DEFAULT_MAX_TIME_MS 10000.0
/* [ciRelWidth] early stop on the 95% CI of the median (order statistics, distribution-free), as a
 * fraction of the median; 0 turns it off. Off by default so the sample count of a case depends only on its
 * plan line and its speed, not on the noise; the orchestrator opts in (0.02 = +-1% is typical). */
#define PL_DEFAULT_CI_REL_WIDTH 0.0

typedef struct {
  int warmup;
  long min_reps;
  double min_time_ms;
  long max_reps;
  double max_time_ms;
  double ci_rel_width;
} pl_sampling_options;

static inline pl_sampling_options pl_sampling_defaults(void) {
  pl_sampling_options o = {
      .warmup = PL_DEFAULT_WARMUP,
      .min_reps = PL_DEFAULT_MIN_REPS,
      .min_time_ms = PL_DEFAULT_MIN_TIME_MS,
      .max_reps = PL_DEFAULT_MAX_REPS,
      .max_time_ms = PL_DEFAULT_MAX_TIME_MS,
      .ci_rel_width = PL_DEFAULT_CI_REL_WIDTH,
  };
  return o;
}

#endif
