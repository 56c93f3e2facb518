/*
 * gpu_runtime: the process-wide OpenCL state the GPU cases share: the library (cl_api), one device, its
 * context and profiling queue, and one program per dtype, compiled once per process and cached as a binary
 * on disk (keyed by source hash, build options, platform, device and driver) so later processes skip the
 * compiler. Compile time is measured and reported, never part of a case's samples.
 */
#ifndef PL_GPU_RUNTIME_H
#define PL_GPU_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "../backend.h"
#include "../json.h"
#include "cl_api.h"

#define GPU_NDTYPES 2

typedef enum { GPU_K_TO_STORAGE, GPU_K_FROM_STORAGE, GPU_K_DENSE8, GPU_K_GROUPED8, GPU_K_GROUPED4, GPU_K_GROUPED1,
               GPU_K_PATTERN, GPU_NKERNELS } gpu_kernel_id;

typedef struct {
  cl_program program;
  cl_kernel kernels[GPU_NKERNELS];
  int64_t compile_ns;   /* clBuildProgram (from source or binary), in this process */
  const char *from;     /* "source" or "binary-cache" */
  char cache_note[160]; /* why the binary cache was not used or written, "" when it was */
} gpu_program;

typedef struct {
  const cl_api *cl;
  cl_platform_id platform;
  cl_device_id device;
  cl_context context;
  cl_command_queue queue;
  char platform_name[128], device_name[128], driver[64], device_version[64];
  uint64_t max_alloc_bytes;
} gpu_runtime;

/* The shared runtime, created on first use; NULL with a reason (no library, no platform, no device). */
gpu_runtime *gpu_runtime_get(char *err, size_t errlen);
/* The program of a dtype, built on first use; NULL with a reason (the build log, truncated, on a compile
 * failure). PRUNELAB_GPU_BUILD_OPTIONS is appended to the build options (e.g. -cl-fast-relaxed-math). */
gpu_program *gpu_runtime_program(gpu_runtime *rt, pl_dtype dtype, char *err, size_t errlen);

/* info's "gpu" member: the library, or why none loaded, and every platform with its devices. */
void gpu_info_write(json_writer *w);

#endif
