/*
 * affinity.h: pinning the agent to a CPU list with sched_setaffinity, and reading back where it really runs.
 *
 * Always the real kernel's view: PRUNELAB_SYSFS_ROOT (a fake tree for tests and virtual phones) redirects
 * what the agent reports about the device, never where it runs, because a fake CPU cannot be pinned to.
 *
 * sched_setaffinity(0, ...) sets the calling thread only; threads created afterwards inherit it. The runtime
 * pins the main thread before layer_prepare, so a thread pool created there starts on the same CPUs, and the
 * same list goes to the kernels in pl_layer_spec.cpus so a pool can pin each worker itself.
 */
#ifndef PL_AFFINITY_H
#define PL_AFFINITY_H

#include <stddef.h>

#define AFFINITY_MAX_CPUS 1024 /* CPU_SETSIZE */

typedef struct {
  unsigned char allowed[AFFINITY_MAX_CPUS];
  int valid;
} affinity_mask;

/* CPUs the calling thread may run on, ascending; returns how many, or -1. */
int affinity_get(int *cpus, int max);
/* Pins the calling thread to exactly these CPUs: each must be online, and the kernel must accept all of
 * them (a cpuset cgroup can silently narrow a mask; that is reported as an error, not measured). Returns 0,
 * or -1 with a reason in err. */
int affinity_set(const int *cpus, int n, char *err, size_t errlen);
/* Save the affinity at start-up and go back to it for cases that ask for no pinning, so one case's
 * pinning never leaks into the next. */
void affinity_capture(affinity_mask *mask);
int affinity_restore(const affinity_mask *mask);
/* Parses a kernel cpulist ("0-3,6,8-9\n") into ascending ids; returns how many, or -1 on bad text. */
int affinity_parse_cpulist(const char *text, int *cpus, int max);

#endif
