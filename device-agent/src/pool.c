#define _GNU_SOURCE
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Spin iterations before sleeping: a few tens of microseconds, enough to bridge two back-to-back runs. */
#define POOL_SPIN_ITERS 20000

/* A claim word: generation | end of the range | next unclaimed task, in one 64-bit atomic so a claim checks
 * all three at once. A worker the OS left unscheduled through whole jobs can therefore never claim a task of
 * a job it did not see start, nor run past a range's end. */
#define POOL_GEN_BITS 20
#define POOL_COUNT_BITS 22
#define POOL_MAX_TASKS ((1 << POOL_COUNT_BITS) - 1)
#define WORD(gen, ntasks, next) \
  (((uint64_t)(gen) << (2 * POOL_COUNT_BITS)) | ((uint64_t)(ntasks) << POOL_COUNT_BITS) | (uint64_t)(next))
#define WORD_GEN(w) ((unsigned)((w) >> (2 * POOL_COUNT_BITS)))
#define WORD_COUNT(w) ((int)(((w) >> POOL_COUNT_BITS) & POOL_MAX_TASKS))
#define WORD_NEXT(w) ((int)((w) & POOL_MAX_TASKS))

typedef struct {
  pl_pool *pool;
  int index;
  int cpu; /* -1: inherit */
  pthread_t thread;
} pool_worker;

/* One claim word per worker, alone on its cache line. */
typedef struct {
  _Alignas(64) _Atomic uint64_t word;
} pool_slot;

struct pl_pool {
  int threads;
  pool_worker *workers; /* threads - 1 entries */
  pool_slot *slots;     /* threads entries: worker w's own range of the current job */
  pthread_mutex_t mutex;
  pthread_cond_t wake; /* workers: a new job (or stop) */
  pthread_cond_t idle; /* caller: the last task finished */
  atomic_int done; /* tasks of the current job finished */
  int ntasks;         /* of the current job, written before the slots are published */
  unsigned gen;       /* caller only */
  int sleepers;       /* workers asleep on `wake`, under mutex */
  int caller_waiting; /* under mutex */
  int stopping;       /* under mutex */
  pool_task_fn fn;    /* written before the job is published, constant while the job runs */
  void *ctx;
};

static inline void pool_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* Claims one task of job `gen` from slot `slot`; -1 when that range is used up (or already a newer job). */
static int pool_claim(pl_pool *pool, int slot, unsigned gen) {
  _Atomic uint64_t *word = &pool->slots[slot].word;
  uint64_t w = atomic_load_explicit(word, memory_order_acquire);
  for (;;) {
    if (WORD_GEN(w) != gen || WORD_NEXT(w) >= WORD_COUNT(w)) return -1;
    if (atomic_compare_exchange_weak_explicit(word, &w, w + 1, memory_order_acq_rel, memory_order_acquire))
      return WORD_NEXT(w);
  }
}

/* Runs tasks of job `gen`: first the worker's own contiguous range, in order, then whatever is left in the
 * others' ranges. Why ranges: every phase of a layer (padding copy, kernel, compaction) numbers its tasks
 * by the same spatial stripes, so on a quiet machine each thread keeps touching the same data and nothing
 * moves between cores' caches (measured here: a copy phase split differently from the kernel made 2
 * threads slower than 1); stealing keeps the balance when one thread is held up. fn and ctx are read after
 * a successful claim: the claimed task keeps its job from completing, so they are still that job's. */
static void pool_take_tasks(pl_pool *pool, unsigned gen, int worker) {
  for (int k = 0; k < pool->threads; k++) {
    int slot = (worker + k) % pool->threads;
    for (;;) {
      int task = pool_claim(pool, slot, gen);
      if (task < 0) break;
      pool->fn(pool->ctx, task, worker);
      int total = pool->ntasks;
      if (atomic_fetch_add_explicit(&pool->done, 1, memory_order_acq_rel) + 1 == total && worker != 0) {
        pthread_mutex_lock(&pool->mutex);
        if (pool->caller_waiting) pthread_cond_signal(&pool->idle);
        pthread_mutex_unlock(&pool->mutex);
      }
    }
  }
}

static void *pool_worker_main(void *arg) {
  pool_worker *self = arg;
  pl_pool *pool = self->pool;
  if (self->cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(self->cpu, &set);
    /* Best effort: a CPU outside the process's cpuset leaves the thread where it was; the runtime reads
     * affinities back and reports what really held. */
    sched_setaffinity(0, sizeof set, &set);
  }
  unsigned seen = 0;
  for (;;) {
    unsigned gen;
    int spins = 0;
    while ((gen = WORD_GEN(atomic_load_explicit(&pool->slots[self->index].word, memory_order_acquire))) == seen &&
           spins < POOL_SPIN_ITERS) {
      pool_relax();
      spins++;
    }
    if (gen == seen) {
      pthread_mutex_lock(&pool->mutex);
      pool->sleepers++;
      while ((gen = WORD_GEN(atomic_load_explicit(&pool->slots[self->index].word, memory_order_acquire))) == seen &&
             !pool->stopping)
        pthread_cond_wait(&pool->wake, &pool->mutex);
      pool->sleepers--;
      int stop = pool->stopping;
      pthread_mutex_unlock(&pool->mutex);
      if (stop) return NULL;
    }
    seen = gen;
    pool_take_tasks(pool, gen, self->index);
  }
}

pl_pool *pool_create(int threads, const int *cpus, int ncpus, char *err, size_t errlen) {
  if (threads < 1) {
    snprintf(err, errlen, "threads must be >= 1, got %d", threads);
    return NULL;
  }
  pl_pool *pool = calloc(1, sizeof *pool);
  if (!pool) {
    snprintf(err, errlen, "out of memory creating a pool of %d threads", threads);
    return NULL;
  }
  pool->threads = threads;
  atomic_init(&pool->done, 0);
  pool->slots = aligned_alloc(64, sizeof *pool->slots * (size_t)threads);
  if (!pool->slots) {
    snprintf(err, errlen, "out of memory creating a pool of %d threads", threads);
    free(pool);
    return NULL;
  }
  for (int i = 0; i < threads; i++) atomic_init(&pool->slots[i].word, 0);
  pthread_mutex_init(&pool->mutex, NULL);
  pthread_cond_init(&pool->wake, NULL);
  pthread_cond_init(&pool->idle, NULL);
  if (threads == 1) return pool;
  pool->workers = calloc((size_t)threads - 1, sizeof *pool->workers);
  if (!pool->workers) {
    snprintf(err, errlen, "out of memory creating a pool of %d threads", threads);
    pool_free(pool);
    return NULL;
  }
  for (int i = 1; i < threads; i++) {
    pool_worker *w = &pool->workers[i - 1];
    w->pool = pool;
    w->index = i;
    w->cpu = ncpus > 0 ? cpus[i % ncpus] : -1;
    int rc = pthread_create(&w->thread, NULL, pool_worker_main, w);
    if (rc != 0) {
      snprintf(err, errlen, "pthread_create failed for worker %d of %d: %s", i, threads, strerror(rc));
      pool->threads = i; /* join only the ones that started */
      pool_free(pool);
      return NULL;
    }
  }
  return pool;
}

void pool_run(pl_pool *pool, int ntasks, pool_task_fn fn, void *ctx) {
  if (ntasks <= 0) return;
  if (!pool || pool->threads == 1 || ntasks == 1 || ntasks > POOL_MAX_TASKS) {
    for (int t = 0; t < ntasks; t++) fn(ctx, t, 0);
    return;
  }
  pool->fn = fn;
  pool->ctx = ctx;
  pool->ntasks = ntasks;
  atomic_store_explicit(&pool->done, 0, memory_order_relaxed);
  /* Generation 0 is what workers start having "seen"; skip it on wrap-around. */
  pool->gen = (pool->gen + 1) & ((1u << POOL_GEN_BITS) - 1);
  if (pool->gen == 0) pool->gen = 1;
  /* Worker w owns tasks [w*n/t, (w+1)*n/t): contiguous, the same stripes in every phase of a layer. A slot
   * word holds its range's end as "count" and its next task, so a claim is one CAS on the owner's line. */
  pthread_mutex_lock(&pool->mutex);
  for (int w = 0; w < pool->threads; w++) {
    int first = (int)((long)ntasks * w / pool->threads), end = (int)((long)ntasks * (w + 1) / pool->threads);
    atomic_store_explicit(&pool->slots[w].word, WORD(pool->gen, end, first), memory_order_release);
  }
  if (pool->sleepers > 0) pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->mutex);

  pool_take_tasks(pool, pool->gen, 0);

  /* Wait for the tasks, not for the workers: a worker the OS has not scheduled yet (a busy machine) finds
   * nothing left when it wakes, and the caller, which took its share meanwhile, does not wait for it. */
  int spins = 0;
  while (atomic_load_explicit(&pool->done, memory_order_acquire) < ntasks && spins < POOL_SPIN_ITERS) {
    pool_relax();
    spins++;
  }
  if (atomic_load_explicit(&pool->done, memory_order_acquire) < ntasks) {
    pthread_mutex_lock(&pool->mutex);
    pool->caller_waiting = 1;
    while (atomic_load_explicit(&pool->done, memory_order_acquire) < ntasks) pthread_cond_wait(&pool->idle, &pool->mutex);
    pool->caller_waiting = 0;
    pthread_mutex_unlock(&pool->mutex);
  }
}

int pool_threads(const pl_pool *pool) { return pool ? pool->threads : 1; }

void pool_free(pl_pool *pool) {
  if (!pool) return;
  if (pool->workers) {
    pthread_mutex_lock(&pool->mutex);
    pool->stopping = 1;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    for (int i = 1; i < pool->threads; i++) pthread_join(pool->workers[i - 1].thread, NULL);
    free(pool->workers);
  }
  pthread_mutex_destroy(&pool->mutex);
  pthread_cond_destroy(&pool->wake);
  pthread_cond_destroy(&pool->idle);
  free(pool->slots);
  free(pool);
}
