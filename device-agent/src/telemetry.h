/*
 * telemetry.h: temperatures and CPU frequencies read from sysfs before and after each case, so the host can
 * flag a case that ran throttled or hot (README.md, "How a case is measured").
 *
 * Reads every <root>/class/thermal/thermal_zone*\/temp (named by the zone's "type" file when present) and
 * every <root>/devices/system/cpu/cpu*\/cpufreq/scaling_cur_freq, where <root> is $PRUNELAB_SYSFS_ROOT or
 * /sys. A zone or CPU whose file is missing, unreadable or not an integer is reported as null, never 0: a
 * zero would read as a real (and very cold) measurement.
 */
#ifndef PL_TELEMETRY_H
#define PL_TELEMETRY_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

#define TELEMETRY_ROOT_ENV "PRUNELAB_SYSFS_ROOT"

typedef struct {
  char name[96];
  int present; /* 0: file missing or unreadable -> null */
  long long value;
} telemetry_reading;

typedef struct {
  int64_t time_ns; /* CLOCK_MONOTONIC, the clock the samples are taken with */
  telemetry_reading *thermal; /* millidegrees Celsius, as the kernel writes them */
  size_t nthermal;
  telemetry_reading *freq; /* kHz, named "cpuN" */
  size_t nfreq;
} telemetry_snapshot_t;

/* $PRUNELAB_SYSFS_ROOT when set and non-empty, else "/sys". */
const char *telemetry_sysfs_root(void);
/* Reads one integer file (e.g. a temperature); returns 0 and sets *value, or -1 if absent or not an integer. */
int telemetry_read_long(const char *path, long long *value);
/* Fills snap; never fails (an unreadable tree gives empty lists). Free with telemetry_free. */
void telemetry_snapshot(telemetry_snapshot_t *snap);
void telemetry_free(telemetry_snapshot_t *snap);
/* {"timeNs":..,"thermalMilliC":{name:value|null,..},"cpuFreqKhz":{"cpu0":value|null,..}} */
void telemetry_write_json(json_writer *w, const telemetry_snapshot_t *snap);
/* Monotonic clock in nanoseconds. */
int64_t telemetry_now_ns(void);

#endif
