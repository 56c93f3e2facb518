#include "probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telemetry.h"

/* Core phase: a 16 KB working set (L1 on every core we target) streamed with multiply-adds: it loads, computes
 * and stores, so an SMT sibling competing for any of those slows it. */
#define PROBE_FLOATS 4096
#define PROBE_PASSES 96
#define PROBE_RUNS 3
/* Stream phase: passes per probe (the fastest is kept). Two, not three: a pass costs several times the core
 * phase, and a neighbour streaming memory slows every pass alike, so the fastest still shows it. */
#define PROBE_STREAM_PASSES 2

static float probe_buf[PROBE_FLOATS];

/* Loops aligned to 64 bytes: the same instructions ran 0.11 or 0.22 ms on the development VM depending on where
 * they landed (the slow copy's loop branch crossed a 32-byte boundary; probably Intel's JCC-erratum microcode,
 * which keeps such loops out of the uop cache: not verified, no counters here), and a probe whose time depends
 * on unrelated code layout would not compare across builds. */
__attribute__((noinline, optimize("align-loops=64"))) static void probe_core_work(void) {
  for (int i = 0; i < PROBE_FLOATS; i++) probe_buf[i] = (float)(i & 15) * 0.001f;
  for (int p = 0; p < PROBE_PASSES; p++)
    for (int i = 0; i < PROBE_FLOATS; i++) probe_buf[i] = probe_buf[i] * 0.999f + probe_buf[(i + 64) & (PROBE_FLOATS - 1)] * 0.001f;
  /* The result is kept in a global the compiler cannot prove unread, so the loop is not optimised away. */
  __asm__ volatile("" : : "r"(probe_buf) : "memory");
}

/* "512K", "8192K", "8M" or a plain byte count -> bytes; 0 when unreadable. */
static size_t parse_cache_size(const char *text) {
  char *end = NULL;
  unsigned long long v = strtoull(text, &end, 10);
  if (end == text) return 0;
  if (*end == 'K' || *end == 'k') v <<= 10;
  else if (*end == 'M' || *end == 'm') v <<= 20;
  return (size_t)v;
}

/* The largest cache cpu0 reports (the last level: sizes grow with the level), or 0 without sysfs cache info
 * (the development VM has none). */
static size_t largest_cache_bytes(void) {
  size_t largest = 0;
  for (int i = 0; i < 16; i++) {
    char path[512], text[64];
    snprintf(path, sizeof path, "%s/devices/system/cpu/cpu0/cache/index%d/size", telemetry_sysfs_root(), i);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    if (fgets(text, sizeof text, f)) {
      size_t bytes = parse_cache_size(text);
      if (bytes > largest) largest = bytes;
    }
    fclose(f);
  }
  return largest;
}

size_t probe_stream_bytes(void) {
  static size_t bytes = 0;
  if (bytes) return bytes;
  /* Twice the last level, so a pass evicts itself and every line comes from DRAM. Without sysfs, 8 MB: larger
   * than the L3 (plus system cache) of the phones we target (2-4 MB on a Snapdragon 855/865). Capped at 32 MB:
   * a server's L3 would make the probe cost more than many cases. */
  size_t llc = largest_cache_bytes();
  bytes = llc ? 2 * llc : PROBE_STREAM_DEFAULT_BYTES;
  if (bytes < PROBE_STREAM_MIN_BYTES) bytes = PROBE_STREAM_MIN_BYTES;
  if (bytes > PROBE_STREAM_MAX_BYTES) bytes = PROBE_STREAM_MAX_BYTES;
  return bytes;
}

static uint64_t *stream_buf;
static size_t stream_words;
static volatile uint64_t stream_sink;

/* Allocated and written once per process (page faults belong to no probe); NULL when memory is short, and then
 * the stream phase reports 0 rather than a made-up time. */
static int stream_ready(void) {
  if (stream_buf) return 1;
  size_t bytes = probe_stream_bytes();
  stream_buf = malloc(bytes);
  if (!stream_buf) return 0;
  stream_words = bytes / sizeof *stream_buf;
  for (size_t i = 0; i < stream_words; i++) stream_buf[i] = i * 0x9e3779b97f4a7c15ull;
  return 1;
}

/* One read pass with four independent sums, so the loop waits on memory, not on an add chain. */
__attribute__((noinline, optimize("align-loops=64"))) static void probe_stream_pass(void) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i + 4 <= stream_words; i += 4) {
    s0 += stream_buf[i];
    s1 += stream_buf[i + 1];
    s2 += stream_buf[i + 2];
    s3 += stream_buf[i + 3];
  }
  stream_sink = s0 ^ s1 ^ s2 ^ s3;
}

static int64_t fastest_of(void (*work)(void), int runs) {
  int64_t best = INT64_MAX;
  for (int r = 0; r < runs; r++) {
    int64_t t0 = telemetry_now_ns();
    work();
    int64_t t = telemetry_now_ns() - t0;
    if (t < best) best = t;
  }
  return best;
}

void probe_warm(void) {
  probe_core_work();
  (void)stream_ready();
}

probe_times probe_run(void) {
  probe_times t = {.core_ns = fastest_of(probe_core_work, PROBE_RUNS), .stream_ns = 0};
  if (stream_ready()) t.stream_ns = fastest_of(probe_stream_pass, PROBE_STREAM_PASSES);
  return t;
}
