/*
 * gpu_case: one case of the GPU backend. It prepares the CPU layer of the same spec (layer.h) for its
 * weights, mask, input, statistics and reference check, so both backends run exactly the same pruned
 * weights; packs them for the kernels of kernels.cl (gpu_pack.h); uploads; and runs.
 *
 *   conv, fc dense   pl_dense8
 *   dwconv           pl_grouped1, each row reading its own channel
 *   pattern          pl_pattern
 *   other schemes    pl_grouped8/4/1 over groups of rows that share their kept columns (gpu_pack.h)
 */
#ifndef PL_GPU_CASE_H
#define PL_GPU_CASE_H

#include <stddef.h>
#include <stdint.h>

#include "../layer.h"
#include "gpu_runtime.h"

typedef struct gpu_case gpu_case;

/* NULL with a one-line reason: anything layer_prepare refuses, no OpenCL / platform / device, a compile
 * failure (build log), out of GPU memory. */
gpu_case *gpu_case_prepare(const pl_layer_spec *spec, pl_dtype dtype, char *err, size_t errlen);
/* One inference: enqueue the case's kernels, clFinish. *kernel_ns = the kernels' own time from profiling
 * events (summed over launches). -1 with a reason when OpenCL reports a failure. */
int gpu_case_run(gpu_case *c, int64_t *kernel_ns, char *err, size_t errlen);
/* The CPU layer's statistics (same mask) with this case's kernel name. */
pl_layer_stats gpu_case_stats(const gpu_case *c);
/* Reads the last output back and checks it against the double-precision reference; fp16 adds
 * GPU_FP16_EXTRA_TOL to the fp32 tolerance. 0 when within tolerance. */
int gpu_case_check(gpu_case *c, double *max_rel_err);
/* Where the program came from and what its compile cost (for the result line). */
const gpu_program *gpu_case_program(const gpu_case *c);
const gpu_runtime *gpu_case_runtime(const gpu_case *c);
void gpu_case_free(gpu_case *c);

/*
 * fp16 storage rounds each weight and input to half (relative error <= u = 2^-11), so each product is off by
 * at most (2u + u^2) of |w x|, and the stored output by u of its value: at most 3u + O(u^2) of sum |w x|,
 * which is the scale layer_check judges against. 4u leaves the O(u^2) terms and fp32 accumulation room.
 */
#define GPU_FP16_EXTRA_TOL (4.0 / 2048.0)

#endif
