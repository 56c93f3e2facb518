/* gpu_runtime.c: device, context, queue and the cached programs (see gpu_runtime.h). */
#define _GNU_SOURCE
#include "gpu_runtime.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* kernels.cl as a C string, generated at build time by the Makefile. */
extern const char pl_gpu_source[];

/* A compile failure's build log is cut to this many bytes in the error record (a result line stays small). */
#define GPU_BUILD_LOG_MAX 600

static const char *const kernel_names[GPU_NKERNELS] = {"pl_to_storage", "pl_from_storage", "pl_dense8", "pl_grouped8",
                                                       "pl_grouped4",   "pl_grouped1",     "pl_pattern"};

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void device_string(const cl_api *cl, cl_device_id d, cl_device_info what, char *buf, size_t len) {
  buf[0] = '\0';
  if (cl->clGetDeviceInfo(d, what, len, buf, NULL) != CL_SUCCESS) snprintf(buf, len, "?");
  buf[len - 1] = '\0';
}

static void platform_string(const cl_api *cl, cl_platform_id p, cl_platform_info what, char *buf, size_t len) {
  buf[0] = '\0';
  if (cl->clGetPlatformInfo(p, what, len, buf, NULL) != CL_SUCCESS) snprintf(buf, len, "?");
  buf[len - 1] = '\0';
}

#define GPU_MAX_PLATFORMS 8
#define GPU_MAX_DEVICES 8

/* Platforms, or -1 with a reason. */
static int list_platforms(const cl_api *cl, cl_platform_id *ids, cl_uint *n, char *err, size_t errlen) {
  cl_int rc = cl->clGetPlatformIDs(GPU_MAX_PLATFORMS, ids, n);
  if (rc != CL_SUCCESS || *n == 0) {
    snprintf(err, errlen,
             "no OpenCL platform: %s loaded but reports none (%s); on Linux install the vendor's ICD "
             "(/etc/OpenCL/vendors), e.g. Debian pocl-opencl-icd",
             cl->library, rc == CL_SUCCESS ? "0 platforms" : cl_api_error_name(rc));
    return -1;
  }
  return 0;
}

/* The first GPU of any platform, else the first device of any type (PoCL's is a CPU device). */
static int choose_device(gpu_runtime *rt, char *err, size_t errlen) {
  const cl_api *cl = rt->cl;
  cl_platform_id plats[GPU_MAX_PLATFORMS];
  cl_uint np = 0;
  if (list_platforms(cl, plats, &np, err, errlen)) return -1;
  if (np > GPU_MAX_PLATFORMS) np = GPU_MAX_PLATFORMS;
  const cl_device_type wanted[2] = {CL_DEVICE_TYPE_GPU, CL_DEVICE_TYPE_ALL};
  for (int pass = 0; pass < 2; pass++)
    for (cl_uint i = 0; i < np; i++) {
      cl_uint nd = 0;
      if (cl->clGetDeviceIDs(plats[i], wanted[pass], 1, &rt->device, &nd) == CL_SUCCESS && nd > 0) {
        rt->platform = plats[i];
        return 0;
      }
    }
  char name[128];
  platform_string(cl, plats[0], CL_PLATFORM_NAME, name, sizeof name);
  snprintf(err, errlen, "no OpenCL device: %u platform(s) (first: \"%s\") but none has a device; check the driver", np,
           name);
  return -1;
}

static gpu_runtime runtime;
static int runtime_state; /* 0 not tried, 1 ready, -1 failed */
static char runtime_error[1024];
static gpu_program programs[GPU_NDTYPES];

static int runtime_init(char *err, size_t errlen) {
  gpu_runtime *rt = &runtime;
  rt->cl = cl_api_load(err, errlen);
  if (!rt->cl) return -1;
  const cl_api *cl = rt->cl;
  if (choose_device(rt, err, errlen)) return -1;
  platform_string(cl, rt->platform, CL_PLATFORM_NAME, rt->platform_name, sizeof rt->platform_name);
  device_string(cl, rt->device, CL_DEVICE_NAME, rt->device_name, sizeof rt->device_name);
  device_string(cl, rt->device, CL_DRIVER_VERSION, rt->driver, sizeof rt->driver);
  device_string(cl, rt->device, CL_DEVICE_VERSION, rt->device_version, sizeof rt->device_version);
  cl_ulong max_alloc = 0;
  cl->clGetDeviceInfo(rt->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL);
  rt->max_alloc_bytes = max_alloc;
  cl_int rc;
  rt->context = cl->clCreateContext(NULL, 1, &rt->device, NULL, NULL, &rc);
  if (!rt->context) {
    snprintf(err, errlen, "clCreateContext failed on \"%s\": %s", rt->device_name, cl_api_error_name(rc));
    return -1;
  }
  /* Profiling on: every case records the kernels' own time (events) beside the wall clock. */
  rt->queue = cl->clCreateCommandQueue(rt->context, rt->device, CL_QUEUE_PROFILING_ENABLE, &rc);
  if (!rt->queue) {
    snprintf(err, errlen, "clCreateCommandQueue (with profiling) failed on \"%s\": %s", rt->device_name,
             cl_api_error_name(rc));
    return -1;
  }
  return 0;
}

gpu_runtime *gpu_runtime_get(char *err, size_t errlen) {
  if (runtime_state == 0) runtime_state = runtime_init(runtime_error, sizeof runtime_error) == 0 ? 1 : -1;
  if (runtime_state < 0) {
    snprintf(err, errlen, "backend gpu: %s", runtime_error);
    return NULL;
  }
  return &runtime;
}

/* ---- the program cache ------------------------------------------------------------------------------ */

static uint64_t fnv1a(uint64_t h, const char *s) {
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return (h ^ 0xff) * 1099511628211ULL; /* a separator, so ("ab","c") and ("a","bc") differ */
}

/*
 * Binaries go beside the agent executable (on a phone, the lab's work dir under /data/local/tmp) in gpu-cache/,
 * unless PRUNELAB_GPU_CACHE_DIR names another directory. Written to a temporary name and renamed, so a killed
 * agent never leaves a truncated binary under the real name.
 */
static int cache_dir(char *dir, size_t len) {
  const char *env = getenv("PRUNELAB_GPU_CACHE_DIR");
  if (env && env[0]) {
    snprintf(dir, len, "%s", env);
    return 0;
  }
  char exe[PATH_MAX - 16];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return -1;
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (!slash) return -1;
  *slash = '\0';
  snprintf(dir, len, "%s/gpu-cache", exe);
  return 0;
}

static void cache_path(const gpu_runtime *rt, const char *options, char *path, size_t len, char *note, size_t notelen) {
  char dir[PATH_MAX];
  path[0] = '\0';
  if (cache_dir(dir, sizeof dir)) {
    snprintf(note, notelen, "no cache: the agent's own path is unknown (set PRUNELAB_GPU_CACHE_DIR)");
    return;
  }
  uint64_t h = 14695981039346656037ULL;
  h = fnv1a(h, pl_gpu_source);
  h = fnv1a(h, options);
  h = fnv1a(h, rt->platform_name);
  h = fnv1a(h, rt->device_name);
  h = fnv1a(h, rt->device_version);
  h = fnv1a(h, rt->driver);
  snprintf(path, len, "%s/%016llx.bin", dir, (unsigned long long)h);
}

static unsigned char *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char *buf = NULL;
  long n = -1;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
    buf = malloc((size_t)n);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
      free(buf);
      buf = NULL;
    }
  }
  fclose(f);
  *size = buf ? (size_t)n : 0;
  return buf;
}

static void write_cache(const gpu_runtime *rt, cl_program prog, const char *path, char *note, size_t notelen) {
  const cl_api *cl = rt->cl;
  size_t size = 0;
  if (cl->clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS || size == 0) {
    snprintf(note, notelen, "not cached: the driver returned no program binary");
    return;
  }
  unsigned char *bin = malloc(size);
  if (!bin || cl->clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) != CL_SUCCESS) {
    free(bin);
    snprintf(note, notelen, "not cached: could not read the program binary");
    return;
  }
  char dir[PATH_MAX], tmp[PATH_MAX + 32];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = '\0';
  mkdir(dir, 0755);
  snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  int ok = f && fwrite(bin, 1, size, f) == size;
  if (f && fclose(f) != 0) ok = 0;
  if (ok && rename(tmp, path) != 0) ok = 0;
  if (!ok) {
    snprintf(note, notelen, "not cached: could not write %.100s: %s", path, strerror(errno));
    unlink(tmp);
  }
  free(bin);
}

static int build(const gpu_runtime *rt, cl_program prog, const char *options, char *err, size_t errlen) {
  const cl_api *cl = rt->cl;
  cl_int rc = cl->clBuildProgram(prog, 1, &rt->device, options, NULL, NULL);
  if (rc == CL_SUCCESS) return 0;
  char log[GPU_BUILD_LOG_MAX + 1] = "";
  size_t loglen = 0;
  cl->clGetProgramBuildInfo(prog, rt->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &loglen);
  char *full = loglen > 0 ? malloc(loglen + 1) : NULL;
  if (full && cl->clGetProgramBuildInfo(prog, rt->device, CL_PROGRAM_BUILD_LOG, loglen, full, NULL) == CL_SUCCESS) {
    full[loglen] = '\0';
    snprintf(log, sizeof log, "%s", full);
  }
  free(full);
  for (char *c = log; *c; c++)
    if (*c == '\n' || *c == '\r' || *c == '\t') *c = ' ';
  snprintf(err, errlen, "backend gpu: the kernels did not compile on \"%s\" (%s, options \"%s\"); build log%s: %s",
           rt->device_name, cl_api_error_name(rc), options, loglen > GPU_BUILD_LOG_MAX ? " (truncated)" : "",
           log[0] ? log : "(empty)");
  return -1;
}

static cl_program from_binary(const gpu_runtime *rt, const char *path, const char *options) {
  size_t size = 0;
  unsigned char *bin = path[0] ? read_file(path, &size) : NULL;
  if (!bin) return NULL;
  const unsigned char *bins[1] = {bin};
  cl_int status = CL_SUCCESS, rc = CL_SUCCESS;
  cl_program prog = rt->cl->clCreateProgramWithBinary(rt->context, 1, &rt->device, &size, bins, &status, &rc);
  free(bin);
  if (!prog) return NULL;
  char ignored[64];
  if (status != CL_SUCCESS || build(rt, prog, options, ignored, sizeof ignored) != 0) {
    rt->cl->clReleaseProgram(prog); /* a stale or foreign binary: rebuild from source */
    return NULL;
  }
  return prog;
}

gpu_program *gpu_runtime_program(gpu_runtime *rt, pl_dtype dtype, char *err, size_t errlen) {
  gpu_program *p = &programs[dtype];
  if (p->program) return p;
  const cl_api *cl = rt->cl;
  char options[512], path[PATH_MAX + 32];
  const char *extra = getenv("PRUNELAB_GPU_BUILD_OPTIONS");
  snprintf(options, sizeof options, "-cl-std=CL1.2 -DPL_FP16=%d%s%s", dtype == PL_DTYPE_FP16, extra ? " " : "",
           extra ? extra : "");
  p->cache_note[0] = '\0';
  cache_path(rt, options, path, sizeof path, p->cache_note, sizeof p->cache_note);
  int64_t t0 = now_ns();
  cl_program prog = from_binary(rt, path, options);
  p->from = "binary-cache";
  if (!prog) {
    p->from = "source";
    const char *src = pl_gpu_source;
    cl_int rc;
    prog = cl->clCreateProgramWithSource(rt->context, 1, &src, NULL, &rc);
    if (!prog) {
      snprintf(err, errlen, "backend gpu: clCreateProgramWithSource failed: %s", cl_api_error_name(rc));
      return NULL;
    }
    if (build(rt, prog, options, err, errlen) != 0) {
      cl->clReleaseProgram(prog);
      return NULL;
    }
    p->compile_ns = now_ns() - t0;
    if (path[0]) write_cache(rt, prog, path, p->cache_note, sizeof p->cache_note);
  } else {
    p->compile_ns = now_ns() - t0;
  }
  for (int k = 0; k < GPU_NKERNELS; k++) {
    cl_int rc;
    p->kernels[k] = cl->clCreateKernel(prog, kernel_names[k], &rc);
    if (!p->kernels[k]) {
      snprintf(err, errlen, "backend gpu: kernel %s missing from the built program: %s", kernel_names[k],
               cl_api_error_name(rc));
      for (int j = 0; j < k; j++) cl->clReleaseKernel(p->kernels[j]);
      cl->clReleaseProgram(prog);
      return NULL;
    }
  }
  p->program = prog;
  return p;
}

/* ---- info ---------------------------------------------------------------------------------------------- */

static void write_device(json_writer *w, const cl_api *cl, cl_device_id d) {
  char text[4096];
  json_object_begin(w);
  device_string(cl, d, CL_DEVICE_NAME, text, 256);
  json_field_string(w, "name", text);
  device_string(cl, d, CL_DEVICE_VENDOR, text, 256);
  json_field_string(w, "vendor", text);
  device_string(cl, d, CL_DRIVER_VERSION, text, 256);
  json_field_string(w, "driver", text);
  device_string(cl, d, CL_DEVICE_VERSION, text, 256);
  json_field_string(w, "version", text);
  cl_device_type type = 0;
  cl->clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, NULL);
  json_field_string(w, "type", type & CL_DEVICE_TYPE_GPU ? "gpu" : type & CL_DEVICE_TYPE_CPU ? "cpu" : "other");
  cl_uint units = 0;
  cl->clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
  json_field_int(w, "computeUnits", units);
  size_t wg = 0;
  cl->clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
  json_field_int(w, "maxWorkGroupSize", (int64_t)wg);
  cl_ulong bytes = 0;
  cl->clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof bytes, &bytes, NULL);
  json_field_int(w, "localMemBytes", (int64_t)bytes);
  cl->clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof bytes, &bytes, NULL);
  json_field_int(w, "globalMemBytes", (int64_t)bytes);
  cl->clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof bytes, &bytes, NULL);
  json_field_int(w, "maxAllocBytes", (int64_t)bytes);
  device_string(cl, d, CL_DEVICE_EXTENSIONS, text, sizeof text);
  json_field_bool(w, "fp16", strstr(text, "cl_khr_fp16") != NULL);
  json_key(w, "extensions");
  json_array_begin(w);
  for (char *tok = strtok(text, " "); tok; tok = strtok(NULL, " ")) json_string(w, tok);
  json_array_end(w);
  json_object_end(w);
}

void gpu_info_write(json_writer *w) {
  char err[1024];
  json_key(w, "gpu");
  json_object_begin(w);
  const cl_api *cl = cl_api_load(err, sizeof err);
  json_field_string(w, "openclLibrary", cl ? cl->library : NULL);
  cl_platform_id plats[GPU_MAX_PLATFORMS];
  cl_uint np = 0;
  if (cl && list_platforms(cl, plats, &np, err, sizeof err) != 0) cl = NULL;
  json_field_string(w, "error", cl ? NULL : err);
  json_key(w, "platforms");
  json_array_begin(w);
  for (cl_uint i = 0; cl && i < np && i < GPU_MAX_PLATFORMS; i++) {
    char text[256];
    json_object_begin(w);
    platform_string(cl, plats[i], CL_PLATFORM_NAME, text, sizeof text);
    json_field_string(w, "name", text);
    platform_string(cl, plats[i], CL_PLATFORM_VENDOR, text, sizeof text);
    json_field_string(w, "vendor", text);
    platform_string(cl, plats[i], CL_PLATFORM_VERSION, text, sizeof text);
    json_field_string(w, "version", text);
    cl_device_id devs[GPU_MAX_DEVICES];
    cl_uint nd = 0;
    if (cl->clGetDeviceIDs(plats[i], CL_DEVICE_TYPE_ALL, GPU_MAX_DEVICES, devs, &nd) != CL_SUCCESS) nd = 0;
    json_key(w, "devices");
    json_array_begin(w);
    for (cl_uint j = 0; j < nd && j < GPU_MAX_DEVICES; j++) write_device(w, cl, devs[j]);
    json_array_end(w);
    json_object_end(w);
  }
  json_array_end(w);
  json_object_end(w);
}
