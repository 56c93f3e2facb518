/*
 * info.h: `prunelab-agent info`, one JSON line describing the build and the device: ABI, build hash,
 * compiler and flags (from the Makefile's PL_* macros), CPUs with max frequencies grouped into clusters
 * (fastest = "big"), SIMD features (what the CPU supports, and what this binary was compiled to use), page
 * size and online CPU count.
 *
 * CPUs, frequencies and clusters come from the sysfs tree under $PRUNELAB_SYSFS_ROOT (default /sys) so a
 * virtual phone can describe itself; onlineCpuCount, affinity, SIMD and uname always describe the machine
 * the binary really runs on.
 */
#ifndef PL_INFO_H
#define PL_INFO_H

#include <stdio.h>

/* Writes the info line to out; returns the process exit code. */
int info_print(FILE *out);

#endif
