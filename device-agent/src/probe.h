/*
 * probe.h: a short fixed workload timed before and after each case, so the host can tell a case measured
 * while something else shared the CPU core (on a VM, another guest's vCPU on the SMT sibling; on a phone,
 * a background app on the same core) from a case that is really that slow (README.md, "How a case
 * is measured"). The work never changes, so on one CPU its time only moves when the core's throughput does.
 */
#ifndef PL_PROBE_H
#define PL_PROBE_H

#include <stdint.h>

/* Fastest of a few runs of the probe workload, in CLOCK_MONOTONIC ns (about 0.2 ms on the development VM). */
int64_t probe_ns(void);

#endif
