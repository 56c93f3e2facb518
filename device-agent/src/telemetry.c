/* telemetry.c: sysfs thermal zones and CPU frequencies (see telemetry.h). */
#define _GNU_SOURCE
#include "telemetry.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *telemetry_sysfs_root(void) {
  const char *root = getenv(TELEMETRY_ROOT_ENV);
  return root && root[0] ? root : "/sys";
}

int64_t telemetry_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Reads a short sysfs text file, without its trailing newline. */
static int read_text(const char *path, char *buf, size_t len) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, len - 1, f);
  int bad = ferror(f);
  fclose(f);
  if (bad || n == 0) return -1;
  buf[n] = '\0';
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\r')) buf[--n] = '\0';
  return n > 0 ? 0 : -1;
}

int telemetry_read_long(const char *path, long long *value) {
  char buf[64], *end;
  if (read_text(path, buf, sizeof buf) != 0) return -1;
  errno = 0;
  long long v = strtoll(buf, &end, 10);
  if (errno || end == buf || *end != '\0') return -1;
  *value = v;
  return 0;
}

/* Numeric suffix of entries named prefix<digits> ("thermal_zone12", "cpu3"), or -1. */
static long numbered(const char *name, const char *prefix) {
  size_t n = strlen(prefix);
  if (strncmp(name, prefix, n) != 0 || name[n] == '\0') return -1;
  long v = 0;
  for (const char *p = name + n; *p; p++) {
    if (*p < '0' || *p > '9' || v > 1000000) return -1;
    v = v * 10 + (*p - '0');
  }
  return v;
}

static int cmp_long(const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

/* Sorted indices N of dir/prefixN entries; returns count (0 when dir is missing). Caller frees *out. */
static size_t list_numbered(const char *dir, const char *prefix, long **out) {
  *out = NULL;
  DIR *d = opendir(dir);
  if (!d) return 0;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    long idx = numbered(e->d_name, prefix);
    if (idx < 0) continue;
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      long *grown = realloc(*out, ncap * sizeof **out);
      if (!grown) break;
      *out = grown;
      cap = ncap;
    }
    (*out)[n++] = idx;
  }
  closedir(d);
  if (n) qsort(*out, n, sizeof **out, cmp_long);
  return n;
}

static void read_thermal(const char *root, telemetry_snapshot_t *snap) {
  char dir[4096], path[4200];
  snprintf(dir, sizeof dir, "%s/class/thermal", root);
  long *zones;
  size_t n = list_numbered(dir, "thermal_zone", &zones);
  snap->thermal = n ? calloc(n, sizeof *snap->thermal) : NULL;
  if (!snap->thermal) { free(zones); return; }
  for (size_t i = 0; i < n; i++) {
    telemetry_reading *r = &snap->thermal[i];
    snprintf(path, sizeof path, "%s/thermal_zone%ld/type", dir, zones[i]);
    if (read_text(path, r->name, sizeof r->name) != 0) snprintf(r->name, sizeof r->name, "thermal_zone%ld", zones[i]);
    snprintf(path, sizeof path, "%s/thermal_zone%ld/temp", dir, zones[i]);
    r->present = telemetry_read_long(path, &r->value) == 0;
  }
  /* Phones often have several zones of one type; JSON keys must be unique, so every zone of a repeated type
   * gets its zone name appended ("cpu-1-0@thermal_zone12"), keeping the keys stable across snapshots. */
  unsigned char *dup = calloc(n, 1);
  for (size_t i = 0; dup && i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (strcmp(snap->thermal[i].name, snap->thermal[j].name) == 0) dup[i] = dup[j] = 1;
  for (size_t i = 0; dup && i < n; i++)
    if (dup[i]) {
      char base[96];
      snprintf(base, sizeof base, "%s", snap->thermal[i].name);
      snprintf(snap->thermal[i].name, sizeof snap->thermal[i].name, "%.60s@thermal_zone%ld", base, zones[i]);
    }
  free(dup);
  free(zones);
  snap->nthermal = n;
}

static void read_freq(const char *root, telemetry_snapshot_t *snap) {
  char dir[4096], path[4200];
  snprintf(dir, sizeof dir, "%s/devices/system/cpu", root);
  long *cpus;
  size_t n = list_numbered(dir, "cpu", &cpus);
  snap->freq = n ? calloc(n, sizeof *snap->freq) : NULL;
  if (!snap->freq) { free(cpus); return; }
  for (size_t i = 0; i < n; i++) {
    telemetry_reading *r = &snap->freq[i];
    snprintf(r->name, sizeof r->name, "cpu%ld", cpus[i]);
    snprintf(path, sizeof path, "%s/cpu%ld/cpufreq/scaling_cur_freq", dir, cpus[i]);
    r->present = telemetry_read_long(path, &r->value) == 0;
  }
  free(cpus);
  snap->nfreq = n;
}

void telemetry_snapshot(telemetry_snapshot_t *snap) {
  memset(snap, 0, sizeof *snap);
  const char *root = telemetry_sysfs_root();
  snap->time_ns = telemetry_now_ns();
  read_thermal(root, snap);
  read_freq(root, snap);
}

void telemetry_free(telemetry_snapshot_t *snap) {
  free(snap->thermal);
  free(snap->freq);
  memset(snap, 0, sizeof *snap);
}

static void write_readings(json_writer *w, const char *key, const telemetry_reading *r, size_t n) {
  json_key(w, key);
  json_object_begin(w);
  for (size_t i = 0; i < n; i++) {
    json_key(w, r[i].name);
    if (r[i].present) json_int(w, r[i].value);
    else json_null(w);
  }
  json_object_end(w);
}

void telemetry_write_json(json_writer *w, const telemetry_snapshot_t *snap) {
  json_object_begin(w);
  json_field_int(w, "timeNs", snap->time_ns);
  write_readings(w, "thermalMilliC", snap->thermal, snap->nthermal);
  write_readings(w, "cpuFreqKhz", snap->freq, snap->nfreq);
  json_object_end(w);
}
