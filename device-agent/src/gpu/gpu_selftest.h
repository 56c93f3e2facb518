/* gpu_selftest: `prunelab-agent selftest --gpu` (see gpu_selftest.c). Returns the process exit code. */
#ifndef PL_GPU_SELFTEST_H
#define PL_GPU_SELFTEST_H

int gpu_selftest_main(void);

#endif
