/*
 * backend.h: where a case runs and in which storage type. Plan fields "backend" (cpu | gpu, default cpu)
 * and "dtype" (fp32 | fp16, default fp32; fp16 only on the gpu backend).
 */
#ifndef PL_BACKEND_H
#define PL_BACKEND_H

typedef enum { PL_BACKEND_CPU = 0, PL_BACKEND_GPU = 1 } pl_backend;
typedef enum { PL_DTYPE_FP32 = 0, PL_DTYPE_FP16 = 1 } pl_dtype;

static inline const char *pl_backend_name(pl_backend b) { return b == PL_BACKEND_GPU ? "gpu" : "cpu"; }
static inline const char *pl_dtype_name(pl_dtype d) { return d == PL_DTYPE_FP16 ? "fp16" : "fp32"; }

#endif
