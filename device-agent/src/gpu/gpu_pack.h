/*
 * gpu_pack: masked GEMM-view weights (layer.h) -> the buffers of the GPU kernels (kernels.cl). Pure: no
 * OpenCL, no I/O; the GPU case uploads what these build.
 *
 *   dense    [ceil(rows/8)][cols][8], rows past `rows` zero        -> pl_dense8
 *   grouped  chunks of 8, 4 or 1 rows sharing one kept-column list -> pl_grouped8/4/1
 *   pattern  per row, its kept 3x3 kernels as (ci << 3 | pattern) and 4 weights -> pl_pattern
 */
#ifndef PL_GPU_PACK_H
#define PL_GPU_PACK_H

#include "../layer.h"

/* The chunk widths of the grouped format, widest first (kernels.cl has one kernel per width). */
#define GPU_NWIDTHS 3
extern const int gpu_widths[GPU_NWIDTHS];

typedef struct {
  int nchunks, ncols;
  int *rows;   /* [nchunks * V] output row of each lane */
  int *cstart; /* [nchunks + 1] first kept column of each chunk */
  int *coff;   /* [ncols] ci*h*w + ky*w + kx (dwconv: ky*w + kx) */
  int *cyx;    /* [ncols] ky << 8 | kx */
  float *w;    /* [ncols * V] */
} gpu_chunks;

typedef struct {
  gpu_chunks width[GPU_NWIDTHS]; /* index i holds chunks of gpu_widths[i] rows */
} gpu_grouped;

typedef struct {
  int *kstart; /* [rows + 1] */
  int *kinfo;  /* [nkernels] ci << 3 | pattern */
  float *w;    /* [nkernels * 4] in the pattern's tap order */
  int nkernels;
  int taps[32]; /* pattern p's taps (ky*3 + kx), ascending, at [p*4, p*4 + 4) */
} gpu_pattern;

/*
 * Groups of `group_rows` consecutive rows (the rows a scheme makes share their kept columns: a bcr or
 * block-punched block, 8 for filter and channel, 1 for unstructured and dwconv); each group's rows with any
 * kept weight are split into chunks of 8, then 4, then 1, and each chunk keeps the union of its rows' kept
 * columns (exact for the schemes above; bcr row pruning leaves zeros inside a block, which the kernel
 * multiplies like the CPU's rgs does). Returns 0, or -1 with a reason (out of memory).
 */
int gpu_pack_grouped(const pl_layer_spec *s, const float *wm, int rows, int cols, int group_rows, gpu_grouped *out,
                     char *err, size_t errlen);
void gpu_grouped_free(gpu_grouped *g);

/* Returns a zeroed buffer of ceil(rows/8)*8*cols floats, or NULL (out of memory). */
float *gpu_pack_dense8(const float *wm, int rows, int cols);

/* 3x3 conv with a pattern mask; -1 with a reason when a kernel's taps match no pattern. */
int gpu_pack_pattern(const float *wm, int rows, int cin, gpu_pattern *out, char *err, size_t errlen);
void gpu_pattern_free(gpu_pattern *p);

#endif
