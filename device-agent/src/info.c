/* info.c: the `info` subcommand (see info.h). */
#define _GNU_SOURCE
#include "info.h"


#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "affinity.h"
#include "gpu/gpu_runtime.h"
#include "json.h"
#include "telemetry.h"

#if defined(__aarch64__) || defined(__arm__)
#include <sys/auxv.h>
#endif

#ifndef PL_ABI
#define PL_ABI "unknown"
#endif
#ifndef PL_BUILD_HASH
#define PL_BUILD_HASH "unknown"
#endif
#ifndef PL_COMPILER
#define PL_COMPILER "unknown"
#endif
#ifndef PL_CFLAGS
#define PL_CFLAGS "unknown"
#endif

/* Bumped when a field of the agent's output changes meaning (fields are only ever added). */
#define PL_PROTOCOL_VERSION 1

typedef struct {
  int id;
  int online; /* 1, 0, or -1 = unknown */
  long long max_freq_khz; /* -1 = unknown */
  long long capacity;     /* arm64 cpu_capacity (0..1024), -1 = unknown */
  int cluster;
} info_cpu;

static const char *arch_name(void) {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__i386__)
  return "x86";
#elif defined(__aarch64__)
  return "aarch64";
#elif defined(__arm__)
  return "arm";
#else
  return "unknown";
#endif
}

static int read_cpulist(const char *path, int *cpus, int max) {
  char text[4096];
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  int n = fgets(text, sizeof text, f) ? affinity_parse_cpulist(text, cpus, max) : -1;
  fclose(f);
  return n;
}

/* The CPUs the tree knows about: "possible", else "present", else the cpuN directories. */
static int list_cpus(const char *cpu_dir, int *ids, int max) {
  char path[4200];
  snprintf(path, sizeof path, "%s/possible", cpu_dir);
  int n = read_cpulist(path, ids, max);
  if (n > 0) return n;
  snprintf(path, sizeof path, "%s/present", cpu_dir);
  n = read_cpulist(path, ids, max);
  if (n > 0) return n;
  unsigned char seen[AFFINITY_MAX_CPUS] = {0};
  DIR *d = opendir(cpu_dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      char *end;
      if (strncmp(e->d_name, "cpu", 3) != 0 || e->d_name[3] < '0' || e->d_name[3] > '9') continue;
      long id = strtol(e->d_name + 3, &end, 10);
      if (*end == '\0' && id < AFFINITY_MAX_CPUS) seen[id] = 1;
    }
    closedir(d);
  }
  n = 0;
  for (int c = 0; c < AFFINITY_MAX_CPUS && n < max; c++)
    if (seen[c]) ids[n++] = c;
  return n;
}

static int cmp_freq_desc(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return (x < y) - (x > y);
}

/* Clusters = distinct max frequencies, fastest first (unknown, -1, sorts last). Returns the count. */
static int assign_clusters(info_cpu *cpus, int n, long long *freqs) {
  int nclusters = 0;
  for (int i = 0; i < n; i++) {
    int known = 0;
    for (int j = 0; j < nclusters && !known; j++) known = freqs[j] == cpus[i].max_freq_khz;
    if (!known) freqs[nclusters++] = cpus[i].max_freq_khz;
  }
  qsort(freqs, (size_t)nclusters, sizeof *freqs, cmp_freq_desc);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < nclusters; j++)
      if (freqs[j] == cpus[i].max_freq_khz) cpus[i].cluster = j;
  return nclusters;
}

static void write_cpus(json_writer *w) {
  static info_cpu cpus[AFFINITY_MAX_CPUS];
  static int ids[AFFINITY_MAX_CPUS], online[AFFINITY_MAX_CPUS];
  static long long freqs[AFFINITY_MAX_CPUS];
  char cpu_dir[4096], path[4200];
  snprintf(cpu_dir, sizeof cpu_dir, "%s/devices/system/cpu", telemetry_sysfs_root());

  int n = list_cpus(cpu_dir, ids, AFFINITY_MAX_CPUS);
  snprintf(path, sizeof path, "%s/online", cpu_dir);
  int nonline = read_cpulist(path, online, AFFINITY_MAX_CPUS);
  for (int i = 0; i < n; i++) {
    info_cpu *c = &cpus[i];
    c->id = ids[i];
    c->online = -1;
    if (nonline >= 0) {
      c->online = 0;
      for (int j = 0; j < nonline; j++) c->online |= online[j] == c->id;
    } else {
      long long v; /* per-CPU file; cpu0 often has none because it cannot go offline */
      snprintf(path, sizeof path, "%s/cpu%d/online", cpu_dir, c->id);
      if (telemetry_read_long(path, &v) == 0) c->online = v != 0;
    }
    snprintf(path, sizeof path, "%s/cpu%d/cpufreq/cpuinfo_max_freq", cpu_dir, c->id);
    if (telemetry_read_long(path, &c->max_freq_khz) != 0) c->max_freq_khz = -1;
    snprintf(path, sizeof path, "%s/cpu%d/cpu_capacity", cpu_dir, c->id);
    if (telemetry_read_long(path, &c->capacity) != 0) c->capacity = -1;
  }
  int nclusters = assign_clusters(cpus, n, freqs);

  json_key(w, "cpus");
  json_array_begin(w);
  for (int i = 0; i < n; i++) {
    json_object_begin(w);
    json_field_int(w, "id", cpus[i].id);
    json_key(w, "online");
    if (cpus[i].online < 0) json_null(w);
    else json_bool(w, cpus[i].online);
    json_key(w, "maxFreqKhz");
    if (cpus[i].max_freq_khz < 0) json_null(w);
    else json_int(w, cpus[i].max_freq_khz);
    json_key(w, "capacity");
    if (cpus[i].capacity < 0) json_null(w);
    else json_int(w, cpus[i].capacity);
    json_field_int(w, "cluster", cpus[i].cluster);
    json_object_end(w);
  }
  json_array_end(w);

  /* Cluster 0 is the fastest ("big"); with three or more clusters the middle ones are "mid". */
  json_key(w, "clusters");
  json_array_begin(w);
  for (int j = 0; j < nclusters; j++) {
    json_object_begin(w);
    json_field_int(w, "index", j);
    json_field_string(w, "role", j == 0 ? "big" : j == nclusters - 1 ? "little" : "mid");
    json_key(w, "maxFreqKhz");
    if (freqs[j] < 0) json_null(w);
    else json_int(w, freqs[j]);
    json_key(w, "cpus");
    json_array_begin(w);
    for (int i = 0; i < n; i++)
      if (cpus[i].cluster == j) json_int(w, cpus[i].id);
    json_array_end(w);
    json_object_end(w);
  }
  json_array_end(w);
  json_key(w, "bigCluster");
  if (nclusters > 0) json_int(w, 0);
  else json_null(w);
}

static void simd_flag(json_writer *w, const char *name, int on) { json_field_bool(w, name, on != 0); }

/* What the CPU supports at run time. */
static void write_simd(json_writer *w) {
  json_key(w, "simd");
  json_object_begin(w);
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  simd_flag(w, "sse4.2", __builtin_cpu_supports("sse4.2"));
  simd_flag(w, "avx", __builtin_cpu_supports("avx"));
  simd_flag(w, "avx2", __builtin_cpu_supports("avx2"));
  simd_flag(w, "fma", __builtin_cpu_supports("fma"));
  simd_flag(w, "avx512f", __builtin_cpu_supports("avx512f"));
  simd_flag(w, "avx512bw", __builtin_cpu_supports("avx512bw"));
  simd_flag(w, "avx512vl", __builtin_cpu_supports("avx512vl"));
  simd_flag(w, "avx512vnni", __builtin_cpu_supports("avx512vnni"));
#elif defined(__aarch64__)
  /* Bit positions from the kernel's arch/arm64/include/uapi/asm/hwcap.h (stable ABI), spelled out because
   * older NDK sysroots lack some names. */
  unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
  simd_flag(w, "fp", hw & (1UL << 0));
  simd_flag(w, "asimd", hw & (1UL << 1));
  simd_flag(w, "atomics", hw & (1UL << 8));
  simd_flag(w, "fphp", hw & (1UL << 9));
  simd_flag(w, "asimdhp", hw & (1UL << 10));
  simd_flag(w, "asimddp", hw & (1UL << 20));
  simd_flag(w, "sve", hw & (1UL << 22));
  simd_flag(w, "asimdfhm", hw & (1UL << 23));
  simd_flag(w, "sve2", hw2 & (1UL << 1));
  simd_flag(w, "i8mm", hw2 & (1UL << 13));
  simd_flag(w, "bf16", hw2 & (1UL << 14));
#elif defined(__arm__)
  unsigned long hw = getauxval(AT_HWCAP); /* arch/arm/include/uapi/asm/hwcap.h */
  simd_flag(w, "neon", hw & (1UL << 12));
  simd_flag(w, "vfpv4", hw & (1UL << 16));
  simd_flag(w, "idiva", hw & (1UL << 17));
#endif
  json_object_end(w);
}

/* What this binary was compiled to use: a CPU feature the build does not target buys nothing. */
static void write_simd_compiled(json_writer *w) {
  json_key(w, "simdCompiled");
  json_array_begin(w);
#ifdef __SSE4_2__
  json_string(w, "sse4.2");
#endif
#ifdef __AVX__
  json_string(w, "avx");
#endif
#ifdef __AVX2__
  json_string(w, "avx2");
#endif
#ifdef __FMA__
  json_string(w, "fma");
#endif
#ifdef __AVX512F__
  json_string(w, "avx512f");
#endif
#ifdef __ARM_NEON
  json_string(w, "asimd");
#endif
#ifdef __ARM_FEATURE_FMA
  json_string(w, "fma");
#endif
#ifdef __ARM_FEATURE_DOTPROD
  json_string(w, "asimddp");
#endif
#ifdef __ARM_FEATURE_SVE
  json_string(w, "sve");
#endif
  json_array_end(w);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* The floor under every sample: CLOCK_MONOTONIC's resolution and the median cost of two back-to-back reads
 * (a vDSO call on Linux, a syscall where the vDSO is missing; much slower under qemu). Measured, not assumed. */
static void write_clock(json_writer *w) {
  struct timespec res;
  json_key(w, "clockResolutionNs");
  if (clock_getres(CLOCK_MONOTONIC, &res) == 0) json_int(w, (int64_t)res.tv_sec * 1000000000LL + res.tv_nsec);
  else json_null(w);
  enum { READS = 1001 };
  static int64_t gaps[READS];
  for (int i = 0; i < READS; i++) {
    int64_t t0 = telemetry_now_ns();
    gaps[i] = telemetry_now_ns() - t0;
  }
  qsort(gaps, READS, sizeof *gaps, cmp_i64);
  json_field_int(w, "clockOverheadNs", gaps[READS / 2]);
}

/* "model name" (x86) or "Hardware" (older Android kernels) from /proc/cpuinfo, or NULL. */
static int read_cpu_model(char *buf, size_t len) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return -1;
  char line[512];
  int found = -1;
  while (found != 0 && fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) != 0 && strncmp(line, "Hardware", 8) != 0) continue;
    char *colon = strchr(line, ':');
    if (!colon) continue;
    colon++;
    while (*colon == ' ' || *colon == '\t') colon++;
    colon[strcspn(colon, "\n")] = '\0';
    snprintf(buf, len, "%s", colon);
    found = buf[0] ? 0 : -1;
  }
  fclose(f);
  return found;
}

int info_print(FILE *out) {
  json_writer w;
  json_writer_init(&w);
  json_object_begin(&w);
  json_field_string(&w, "type", "info");
  json_field_int(&w, "protocolVersion", PL_PROTOCOL_VERSION);
  json_field_string(&w, "abi", PL_ABI);
  json_field_string(&w, "arch", arch_name());
  json_field_string(&w, "buildHash", PL_BUILD_HASH);
  json_field_string(&w, "compiler", PL_COMPILER);
  json_field_string(&w, "cflags", PL_CFLAGS);
  json_field_string(&w, "sysfsRoot", telemetry_sysfs_root());
  write_cpus(&w);
  write_simd(&w);
  write_simd_compiled(&w);
  write_clock(&w);
  json_field_int(&w, "pageSizeBytes", sysconf(_SC_PAGESIZE));
  json_field_int(&w, "onlineCpuCount", sysconf(_SC_NPROCESSORS_ONLN));
  gpu_info_write(&w);

  static int affinity[AFFINITY_MAX_CPUS];
  int naff = affinity_get(affinity, AFFINITY_MAX_CPUS);
  json_key(&w, "affinity");
  json_array_begin(&w);
  for (int i = 0; i < naff; i++) json_int(&w, affinity[i]);
  json_array_end(&w);

  char model[256];
  json_field_string(&w, "cpuModel", read_cpu_model(model, sizeof model) == 0 ? model : NULL);
  struct utsname u;
  json_key(&w, "uname");
  if (uname(&u) == 0) {
    json_object_begin(&w);
    json_field_string(&w, "sysname", u.sysname);
    json_field_string(&w, "release", u.release);
    json_field_string(&w, "machine", u.machine);
    json_object_end(&w);
  } else {
    json_null(&w);
  }
  json_object_end(&w);
  int rc = json_writer_emit(&w, out);
  json_writer_free(&w);
  if (rc != 0) fprintf(stderr, "prunelab-agent: could not write the info line to stdout\n");
  return rc == 0 ? 0 : 1;
}
