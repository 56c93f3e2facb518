/*
 * simd.h: one float vector type for every target, through GCC/Clang vector extensions.
 *
 * Why vector extensions and not plain arrays: GCC does not keep `float acc[6][16]` in registers (measured
 * here: 2.5-4.7 GFLOP/s, worse than a naive loop), but it does keep named vector values in registers
 * (90-100 GFLOP/s; device-agent/bench/README.md). Why not intrinsics: one source for x86 and arm64.
 *
 * Width: 64 bytes where AVX-512 is enabled (the host build, -march=native on this EPYC), 32 with AVX2,
 * 16 elsewhere (NEON on arm64). PL_VBYTES may be forced with -DPL_VBYTES=32 for experiments.
 */
#ifndef PL_SIMD_H
#define PL_SIMD_H

#include <stddef.h>
#include <string.h>

#ifndef PL_VBYTES
#if defined(__AVX512F__)
#define PL_VBYTES 64
#elif defined(__AVX__)
#define PL_VBYTES 32
#else
#define PL_VBYTES 16
#endif
#endif

/* Floats per vector. */
#define PL_VL (PL_VBYTES / 4)

/* Architectural vector registers: 32 with AVX-512 (zmm0-31; ymm16-31 via AVX512VL) and on AArch64. */
#if defined(__AVX512F__) || defined(__aarch64__)
#define PL_NVREGS 32
#else
#define PL_NVREGS 16
#endif

/* Buffer alignment: a cache line, which is also the widest vector. */
#define PL_ALIGN 64

typedef float pl_vf __attribute__((vector_size(PL_VBYTES)));
/* The same vector with 4-byte alignment and may_alias: loads and stores at any float address. */
typedef float pl_vfu __attribute__((vector_size(PL_VBYTES), aligned(4), may_alias));

static inline pl_vf vf_load(const float *p) { return *(const pl_vfu *)p; }
static inline void vf_store(float *p, pl_vf v) { *(pl_vfu *)p = v; }
/* x - 0 (not 0 + x, which is not x for x = -0): GCC folds it to one broadcast, fused into the FMA as {1toN}. */
static inline pl_vf vf_set1(float x) { return x - (pl_vf){0}; }
static inline pl_vf vf_zero(void) { return (pl_vf){0}; }

/* Store the first n (< PL_VL) lanes: through a stack copy, since vector extensions have no masked store. */
static inline void vf_store_partial(float *p, pl_vf v, int n) {
  float tmp[PL_VL] __attribute__((aligned(PL_ALIGN)));
  *(pl_vf *)tmp = v;
  memcpy(p, tmp, sizeof(float) * (size_t)n);
}

static inline float vf_sum(pl_vf v) {
  float s = 0.0f;
  for (int i = 0; i < PL_VL; i++) s += v[i];
  return s;
}

static inline size_t pl_round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

/* 64-byte aligned, zeroed allocation of n floats (n may be 0). NULL on failure. */
float *pl_alloc_floats(size_t n);

#endif
