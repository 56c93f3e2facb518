/*
 * probe.h: a short fixed workload timed before and after each case, so the host can tell a case measured
 * while something else shared the CPU core or the memory system (on a VM, another guest's vCPU on the SMT
 * sibling or a neighbour streaming through DRAM; on a phone, a background app) from a case that is really that
 * slow (README.md, "How a case is measured"). The work never changes, so on one CPU its time only moves when
 * the core's throughput or the memory bandwidth it gets does.
 *
 * Two phases, timed apart and reported apart, whose sum is the probe:
 *  - core: a 16 KB multiply-add loop (L1-resident on every core we target): slowed by a sibling sharing the core;
 *  - stream: one read pass over a buffer larger than the last-level cache, so every line comes from DRAM:
 *    slowed by a neighbour competing for memory bandwidth, which the core phase cannot see.
 */
#ifndef PL_PROBE_H
#define PL_PROBE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  int64_t core_ns;   /* fastest of a few runs of the core phase */
  int64_t stream_ns; /* fastest of a few passes of the stream phase */
} probe_times;

/* Both phases, in CLOCK_MONOTONIC ns (on the development VM about 0.11 ms core and, at 8 MB, 0.2 ms stream). */
probe_times probe_run(void);

/* Runs the core phase untimed and allocates and writes the stream buffer if not yet done: the first probe after
 * a layer was prepared ran up to 1.3x slower on the development VM, and page faults belong to no probe. */
void probe_warm(void);

/* Bytes the stream phase reads per pass: twice the largest cache size in
 * <sysfs>/devices/system/cpu/cpu0/cache/index*\/size, within [PROBE_STREAM_MIN_BYTES, PROBE_STREAM_MAX_BYTES];
 * PROBE_STREAM_DEFAULT_BYTES when sysfs does not say. Decided once per process. */
size_t probe_stream_bytes(void);

#define PROBE_STREAM_MIN_BYTES ((size_t)4 << 20)
#define PROBE_STREAM_DEFAULT_BYTES ((size_t)8 << 20)
#define PROBE_STREAM_MAX_BYTES ((size_t)32 << 20)

#endif
