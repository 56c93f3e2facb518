/*
 * cl_api: OpenCL entry points loaded with dlopen at run time, never linked. A phone's OpenCL library lives
 * in a vendor path that differs per SoC, and a binary linked against libOpenCL would not even start on a
 * device without one; loaded late, a missing library is one error record per GPU case instead.
 *
 * Only the Khronos headers (Debian opencl-headers) are needed at build time, for the types and prototypes.
 */
#ifndef PL_CL_API_H
#define PL_CL_API_H

#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <stddef.h>

/* Every entry point the agent calls; X(name) expands once per function. */
#define CL_API_FUNCTIONS(X)                                                                                     \
  X(clGetPlatformIDs)                                                                                           \
  X(clGetPlatformInfo)                                                                                          \
  X(clGetDeviceIDs)                                                                                             \
  X(clGetDeviceInfo)                                                                                            \
  X(clCreateContext)                                                                                            \
  X(clReleaseContext)                                                                                           \
  X(clCreateCommandQueue)                                                                                       \
  X(clReleaseCommandQueue)                                                                                      \
  X(clCreateProgramWithSource)                                                                                  \
  X(clCreateProgramWithBinary)                                                                                  \
  X(clBuildProgram)                                                                                             \
  X(clGetProgramBuildInfo)                                                                                      \
  X(clGetProgramInfo)                                                                                           \
  X(clReleaseProgram)                                                                                           \
  X(clCreateKernel)                                                                                             \
  X(clReleaseKernel)                                                                                            \
  X(clSetKernelArg)                                                                                             \
  X(clCreateBuffer)                                                                                             \
  X(clReleaseMemObject)                                                                                         \
  X(clEnqueueWriteBuffer)                                                                                       \
  X(clEnqueueReadBuffer)                                                                                        \
  X(clEnqueueNDRangeKernel)                                                                                     \
  X(clFinish)                                                                                                   \
  X(clWaitForEvents)                                                                                            \
  X(clGetEventProfilingInfo)                                                                                    \
  X(clReleaseEvent)

typedef struct {
#define CL_API_MEMBER(name) __typeof__(name) *name;
  CL_API_FUNCTIONS(CL_API_MEMBER)
#undef CL_API_MEMBER
  char library[256]; /* the path or name that dlopen accepted */
} cl_api;

/* Loads OpenCL once per process. Returns the table, or NULL with a reason in err naming every candidate
 * tried and how to fix it (PRUNELAB_OPENCL_LIB). Later calls return the same table or the same reason. */
const cl_api *cl_api_load(char *err, size_t errlen);

/* A CL error code as its name ("CL_OUT_OF_RESOURCES"), or "CL error N". Returns a static string. */
const char *cl_api_error_name(cl_int code);

#endif
