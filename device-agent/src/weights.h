/*
 * weights: a layer's real weights from a file on the device (plan field "weights": path, byte offset, sha256
 * of the whole file) instead of the seeded ones.
 *
 * The file is raw little-endian fp32. At `offset` start the layer's rows x cols floats in the GEMM view
 * (spec.h): conv W[cout][cin][k][k] row-major as ONNX stores it, fc W[out][in], dwconv W[c][1][k][k] (one row
 * of k*k taps per channel). The whole file is hashed (SHA-256) once per distinct (path, size, mtime) within one
 * agent call, and compared with the plan's hash before any value is used. A missing file, a wrong hash, a file
 * too short for the layer or a value that is not finite is an error for that case, never seeded weights.
 */
#ifndef PL_WEIGHTS_H
#define PL_WEIGHTS_H

#include <stddef.h>

#include "sha256.h"

#define PL_WEIGHTS_PATH_MAX 1024

typedef struct {
  int present; /* 0: the line has no "weights": seeded weights */
  char path[PL_WEIGHTS_PATH_MAX];
  long long offset; /* bytes */
  char sha256[SHA256_HEX_CHARS];
} pl_weights_ref;

/* The files hashed so far in this agent call. */
typedef struct weights_cache weights_cache;

weights_cache *weights_cache_create(void);
void weights_cache_free(weights_cache *c);

/* Reads `count` floats of ref into a new buffer (*out, the caller frees it) after checking the file's sha256.
 * Returns 0, or -1 with a one-line reason in err (what was expected, what was found, how to fix it).
 * cache may be NULL (the file is then hashed on every call). */
int weights_load(weights_cache *cache, const pl_weights_ref *ref, long count, float **out, char *err, size_t errlen);

/* Hashes so far (distinct files hashed) and reuses, for tests and diagnostics. */
void weights_cache_counts(const weights_cache *c, long *hashed, long *reused);

#endif
