/* cl_api.c: dlopen of the OpenCL library (see cl_api.h). */
#include "cl_api.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Where OpenCL lives. Desktop Linux: the ICD loader by soname. Android has no ICD loader; the vendor ships the
 * implementation itself: Qualcomm Adreno as libOpenCL.so under /vendor/lib64, Arm Mali inside its GLES driver
 * (libGLES_mali.so, which exports the cl* symbols), Imagination as libPVROCL.so. /system/vendor is the same tree
 * on older releases. The environment variable, when set, is the only candidate (a wrong override should fail
 * loudly, not fall back to some other library).
 */
static const char *const candidates[] = {
    "libOpenCL.so",
    "libOpenCL.so.1",
    "/vendor/lib64/libOpenCL.so",
    "/system/vendor/lib64/libOpenCL.so",
    "/system/lib64/libOpenCL.so",
    "/vendor/lib64/egl/libGLES_mali.so",
    "/system/vendor/lib64/egl/libGLES_mali.so",
    "/vendor/lib64/libGLES_mali.so",
    "/vendor/lib64/libPVROCL.so",
};
#define NCANDIDATES (sizeof candidates / sizeof *candidates)

static cl_api api;
static int load_state; /* 0 not tried, 1 loaded, -1 failed */
static char load_error[1024];

static int resolve(void *lib, char *err, size_t errlen) {
#define CL_API_RESOLVE(name)                                                                   \
  api.name = (__typeof__(name) *)dlsym(lib, #name);                                            \
  if (!api.name) {                                                                             \
    snprintf(err, errlen, "%s has no symbol %s (expected an OpenCL 1.2 library)", api.library, #name); \
    return -1;                                                                                 \
  }
  CL_API_FUNCTIONS(CL_API_RESOLVE)
#undef CL_API_RESOLVE
  return 0;
}

static int try_load(const char *name, char *tried, size_t triedlen) {
  void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  size_t used = strlen(tried);
  if (!lib) {
    const char *why = dlerror();
    snprintf(tried + used, triedlen - used, "%s%s (%.160s)", used ? "; " : "", name, why ? why : "not found");
    return -1;
  }
  snprintf(api.library, sizeof api.library, "%s", name);
  char err[512];
  if (resolve(lib, err, sizeof err) != 0) {
    snprintf(tried + used, triedlen - used, "%s%s (%s)", used ? "; " : "", name, err);
    dlclose(lib);
    return -1;
  }
  return 0; /* kept open for the life of the process */
}

const cl_api *cl_api_load(char *err, size_t errlen) {
  if (load_state == 0) {
    char tried[900] = "";
    const char *override = getenv("PRUNELAB_OPENCL_LIB");
    int ok = 0;
    if (override && override[0]) {
      ok = try_load(override, tried, sizeof tried) == 0;
      if (!ok)
        snprintf(load_error, sizeof load_error,
                 "no OpenCL library: PRUNELAB_OPENCL_LIB=%s could not be loaded: %s; point it at the device's "
                 "OpenCL library or unset it to search the usual paths", override, tried);
    } else {
      for (size_t i = 0; i < NCANDIDATES && !ok; i++) ok = try_load(candidates[i], tried, sizeof tried) == 0;
      if (!ok)
        snprintf(load_error, sizeof load_error,
                 "no OpenCL library on this device (tried %s); install the GPU vendor's driver, or set "
                 "PRUNELAB_OPENCL_LIB to the library's path", tried);
    }
    load_state = ok ? 1 : -1;
  }
  if (load_state < 0) {
    snprintf(err, errlen, "%s", load_error);
    return NULL;
  }
  return &api;
}

const char *cl_api_error_name(cl_int code) {
  switch (code) {
#define CL_ERR(c) case c: return #c;
    CL_ERR(CL_DEVICE_NOT_FOUND)
    CL_ERR(CL_DEVICE_NOT_AVAILABLE)
    CL_ERR(CL_COMPILER_NOT_AVAILABLE)
    CL_ERR(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    CL_ERR(CL_OUT_OF_RESOURCES)
    CL_ERR(CL_OUT_OF_HOST_MEMORY)
    CL_ERR(CL_PROFILING_INFO_NOT_AVAILABLE)
    CL_ERR(CL_BUILD_PROGRAM_FAILURE)
    CL_ERR(CL_INVALID_VALUE)
    CL_ERR(CL_INVALID_PLATFORM)
    CL_ERR(CL_INVALID_DEVICE)
    CL_ERR(CL_INVALID_BINARY)
    CL_ERR(CL_INVALID_BUILD_OPTIONS)
    CL_ERR(CL_INVALID_KERNEL_NAME)
    CL_ERR(CL_INVALID_KERNEL_ARGS)
    CL_ERR(CL_INVALID_ARG_INDEX)
    CL_ERR(CL_INVALID_ARG_SIZE)
    CL_ERR(CL_INVALID_ARG_VALUE)
    CL_ERR(CL_INVALID_WORK_GROUP_SIZE)
    CL_ERR(CL_INVALID_WORK_DIMENSION)
    CL_ERR(CL_INVALID_GLOBAL_WORK_SIZE)
    CL_ERR(CL_INVALID_BUFFER_SIZE)
    CL_ERR(CL_INVALID_MEM_OBJECT)
    CL_ERR(CL_INVALID_COMMAND_QUEUE)
    CL_ERR(CL_INVALID_CONTEXT)
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR (the ICD loader found no OpenCL platform)";
#undef CL_ERR
  }
  static char text[32];
  snprintf(text, sizeof text, "CL error %d", (int)code);
  return text;
}
