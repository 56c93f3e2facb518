/*
 * openblas-sgemm: the baseline for `npm run bench:kernels`. Times OpenBLAS cblas_sgemm (row-major,
 * C[m][n] = A[m][k] * B[k][n], the agent's GEMM view of a conv: m = cout, k = cin*k*k, n = output pixels)
 * on the shapes given as arguments, and prints JSON lines:
 *
 *   {"type":"openblas","corename":"Cooperlake","threads":1}
 *   {"type":"sgemm","m":64,"k":256,"n":3136,"samplesNs":[...]}
 *
 * n = 1 (a batch-1 FC layer) is timed with cblas_sgemv instead, OpenBLAS's own routine for that case
 * (its sgemm with n = 1 is several times slower, which would flatter the agent), and reported as "sgemv".
 *
 * Usage: openblas-sgemm [--min-reps N] [--min-time-ms T] MxKxN...
 * The caller sets OPENBLAS_NUM_THREADS=1 and unsets OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE so OpenBLAS picks
 * its own kernel for this CPU (either variable pins a kernel when set machine-wide);
 * openblas_get_corename() says which one ran.
 * Prototypes are declared here rather than through cblas.h, whose include path differs between distros.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { CblasRowMajor = 101 };
enum { CblasNoTrans = 111 };
void cblas_sgemv(int order, int trans, int m, int n, float alpha, const float *a, int lda, const float *x, int incx,
                 float beta, float *y, int incy);
void cblas_sgemm(int order, int transa, int transb, int m, int n, int k, float alpha, const float *a, int lda,
                 const float *b, int ldb, float beta, float *c, int ldc);
char *openblas_get_corename(void);
int openblas_get_num_threads(void);

#define WARMUP 2
#define MAX_REPS 100000

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static float *random_floats(size_t n, unsigned *state) {
  float *p = malloc(sizeof(float) * (n > 0 ? n : 1));
  if (!p) return NULL;
  for (size_t i = 0; i < n; i++) {
    *state = *state * 1664525u + 1013904223u;
    p[i] = (float)((int)(*state >> 8) - (1 << 23)) / (float)(1 << 23);
  }
  return p;
}

static void run_once(int m, int k, int n, const float *a, const float *b, float *c) {
  if (n == 1)
    cblas_sgemv(CblasRowMajor, CblasNoTrans, m, k, 1.0f, a, k, b, 1, 0.0f, c, 1);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
}

static int time_shape(int m, int k, int n, long min_reps, double min_time_ms) {
  unsigned state = 12345;
  float *a = random_floats((size_t)m * k, &state), *b = random_floats((size_t)k * n, &state);
  float *c = calloc((size_t)m * n, sizeof(float));
  double *samples = malloc(sizeof(double) * MAX_REPS);
  if (!a || !b || !c || !samples) {
    fprintf(stderr, "openblas-sgemm: out of memory for %dx%dx%d\n", m, k, n);
    return -1;
  }
  for (int i = 0; i < WARMUP; i++) run_once(m, k, n, a, b, c);
  long reps = 0;
  double total = 0;
  while (reps < MAX_REPS && (reps < min_reps || total < min_time_ms * 1e6)) {
    double t0 = now_ns();
    run_once(m, k, n, a, b, c);
    double t = now_ns() - t0;
    samples[reps++] = t;
    total += t;
  }
  printf("{\"type\":\"%s\",\"m\":%d,\"k\":%d,\"n\":%d,\"samplesNs\":[", n == 1 ? "sgemv" : "sgemm", m, k, n);
  for (long i = 0; i < reps; i++) printf("%s%.0f", i ? "," : "", samples[i]);
  printf("]}\n");
  fflush(stdout);
  free(a), free(b), free(c), free(samples);
  return 0;
}

int main(int argc, char **argv) {
  long min_reps = 10;
  double min_time_ms = 50;
  printf("{\"type\":\"openblas\",\"corename\":\"%s\",\"threads\":%d}\n", openblas_get_corename(), openblas_get_num_threads());
  fflush(stdout);
  for (int i = 1; i < argc; i++) {
    int m, k, n;
    if (strcmp(argv[i], "--min-reps") == 0 && i + 1 < argc) {
      min_reps = atol(argv[++i]);
    } else if (strcmp(argv[i], "--min-time-ms") == 0 && i + 1 < argc) {
      min_time_ms = atof(argv[++i]);
    } else if (sscanf(argv[i], "%dx%dx%d", &m, &k, &n) == 3 && m > 0 && k > 0 && n > 0) {
      if (time_shape(m, k, n, min_reps, min_time_ms)) return 1;
    } else {
      fprintf(stderr, "openblas-sgemm: expected MxKxN (e.g. 64x256x3136), got '%s'\n", argv[i]);
      return 2;
    }
  }
  return 0;
}
