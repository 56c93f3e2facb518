/*
 * reference: the double-precision layer that every kernel is checked against, on the same masked weights
 * and input. Deliberately the plainest loops (no blocking, no SIMD) so it is easy to trust.
 */
#ifndef PL_REFERENCE_H
#define PL_REFERENCE_H

#include "spec.h"

/* Output spatial size of a conv/dwconv (1 for fc). */
int reference_out_dim(int in, int k, int stride, int pad);

/* ref[cout*ho*wo]: the exact (double) output; mag[same]: sum of |w * x| over the terms of each output,
 * the scale against which fp32 rounding error is judged (an output near zero by cancellation still has
 * rounding error proportional to its terms, not to itself). wm is the masked GEMM-view weight matrix. */
void reference_run(const pl_layer_spec *spec, const float *wm, const float *in, double *ref, double *mag);

#endif
