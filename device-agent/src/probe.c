#include "probe.h"

#include "telemetry.h"

/* A 16 KB working set (L1 on every core we target) streamed with multiply-adds: it loads, computes and
 * stores, so an SMT sibling competing for any of those slows it. */
#define PROBE_FLOATS 4096
#define PROBE_PASSES 96
#define PROBE_RUNS 3

static float probe_buf[PROBE_FLOATS];

static void probe_work(void) {
  for (int i = 0; i < PROBE_FLOATS; i++) probe_buf[i] = (float)(i & 15) * 0.001f;
  for (int p = 0; p < PROBE_PASSES; p++)
    for (int i = 0; i < PROBE_FLOATS; i++) probe_buf[i] = probe_buf[i] * 0.999f + probe_buf[(i + 64) & (PROBE_FLOATS - 1)] * 0.001f;
  /* The result is kept in a global the compiler cannot prove unread, so the loop is not optimised away. */
  __asm__ volatile("" : : "r"(probe_buf) : "memory");
}

int64_t probe_ns(void) {
  int64_t best = INT64_MAX;
  for (int r = 0; r < PROBE_RUNS; r++) {
    int64_t t0 = telemetry_now_ns();
    probe_work();
    int64_t t = telemetry_now_ns() - t0;
    if (t < best) best = t;
  }
  return best;
}
