/* affinity.c: sched_setaffinity / sched_getaffinity and cpulist parsing (see affinity.h). */
#define _GNU_SOURCE
#include "affinity.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

/* The real online list, never under PRUNELAB_SYSFS_ROOT (see affinity.h). */
#define AFFINITY_ONLINE_PATH "/sys/devices/system/cpu/online"

int affinity_parse_cpulist(const char *text, int *cpus, int max) {
  unsigned char seen[AFFINITY_MAX_CPUS] = {0};
  const char *p = text;
  while (*p && *p != '\n') {
    long lo = 0, hi;
    if (*p < '0' || *p > '9') return -1;
    while (*p >= '0' && *p <= '9') lo = lo * 10 + (*p++ - '0');
    hi = lo;
    if (*p == '-') {
      p++;
      if (*p < '0' || *p > '9') return -1;
      hi = 0;
      while (*p >= '0' && *p <= '9') hi = hi * 10 + (*p++ - '0');
    }
    if (hi < lo || hi >= AFFINITY_MAX_CPUS) return -1;
    for (long c = lo; c <= hi; c++) seen[c] = 1;
    if (*p == ',') p++;
    else if (*p && *p != '\n') return -1;
  }
  int n = 0;
  for (int c = 0; c < AFFINITY_MAX_CPUS && n < max; c++)
    if (seen[c]) cpus[n++] = c;
  return n;
}

static void format_list(const int *cpus, int n, char *buf, size_t len) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < n && used < len; i++) used += (size_t)snprintf(buf + used, len - used, "%s%d", i ? "," : "", cpus[i]);
}

int affinity_get(int *cpus, int max) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
  int n = 0;
  for (int c = 0; c < CPU_SETSIZE && n < max; c++)
    if (CPU_ISSET(c, &set)) cpus[n++] = c;
  return n;
}

int affinity_set(const int *cpus, int n, char *err, size_t errlen) {
  char text[4096];
  FILE *f = fopen(AFFINITY_ONLINE_PATH, "r");
  if (f) {
    int online[AFFINITY_MAX_CPUS];
    int nonline = fgets(text, sizeof text, f) ? affinity_parse_cpulist(text, online, AFFINITY_MAX_CPUS) : -1;
    fclose(f);
    for (int i = 0; nonline >= 0 && i < n; i++) {
      int found = 0;
      for (int j = 0; j < nonline && !found; j++) found = online[j] == cpus[i];
      if (!found) {
        text[strcspn(text, "\n")] = '\0';
        snprintf(err, errlen, "cpu %d is not online (online cpus: %s); pick cpus from the device's info", cpus[i], text);
        return -1;
      }
    }
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int i = 0; i < n; i++) CPU_SET(cpus[i], &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    format_list(cpus, n, text, sizeof text);
    snprintf(err, errlen, "sched_setaffinity to cpus [%s] failed: %s (not online, or outside this process's cpuset)", text,
             strerror(errno));
    return -1;
  }
  int got[AFFINITY_MAX_CPUS];
  int ngot = affinity_get(got, AFFINITY_MAX_CPUS);
  int same = ngot == n;
  for (int i = 0; same && i < n; i++) {
    int found = 0;
    for (int j = 0; j < ngot && !found; j++) found = got[j] == cpus[i];
    same = found;
  }
  if (!same) {
    char want[1024];
    format_list(cpus, n, want, sizeof want);
    if (ngot < 0) snprintf(text, sizeof text, "unreadable");
    else format_list(got, ngot, text, sizeof text);
    snprintf(err, errlen, "asked to pin to cpus [%s] but the kernel reports [%s] (a cpuset cgroup may restrict this process)", want,
             text);
    return -1;
  }
  return 0;
}

void affinity_capture(affinity_mask *mask) {
  int cpus[AFFINITY_MAX_CPUS];
  memset(mask, 0, sizeof *mask);
  int n = affinity_get(cpus, AFFINITY_MAX_CPUS);
  for (int i = 0; i < n; i++) mask->allowed[cpus[i]] = 1;
  mask->valid = n > 0;
}

int affinity_restore(const affinity_mask *mask) {
  if (!mask->valid) return -1;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c = 0; c < AFFINITY_MAX_CPUS && c < CPU_SETSIZE; c++)
    if (mask->allowed[c]) CPU_SET(c, &set);
  return sched_setaffinity(0, sizeof set, &set);
}
