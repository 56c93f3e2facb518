#include <stdlib.h>
#include <string.h>

#include "simd.h"

float *pl_alloc_floats(size_t n) {
  size_t bytes = pl_round_up((n > 0 ? n : 1) * sizeof(float), PL_ALIGN);
  float *p = aligned_alloc(PL_ALIGN, bytes);
  if (p) memset(p, 0, bytes);
  return p;
}
