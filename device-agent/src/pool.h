/*
 * pool: a tiny pthread pool for one layer. pool_run(n tasks) gives worker w the contiguous task range
 * [w*n/T, (w+1)*n/T): a layer numbers the tasks of all its phases (padding copy, kernel, compaction) by the
 * same stripes of output columns, so each thread keeps working on the same data and little moves between
 * the cores' caches. A worker done with its range steals from the others', so a thread held up by other
 * work on the machine does not hold the layer up.
 *
 * The calling thread is worker 0 and takes tasks too; workers 1..threads-1 are pthreads, worker i pinned to
 * cpus[i % ncpus] with sched_setaffinity when ncpus > 0. The caller's own affinity is the runtime's
 * business (it pins the sampling thread), so the pool never changes it.
 *
 * Waiting: a worker spins for a short while (layer_run is called back to back while sampling, so the next
 * job usually arrives within microseconds), then sleeps on a condition variable, so an idle pool costs no
 * CPU on a machine shared with other work. The caller waits for the tasks, never for an idle worker.
 */
#ifndef PL_POOL_H
#define PL_POOL_H

#include <stddef.h>

typedef struct pl_pool pl_pool;

/* task: the index in [0, ntasks); worker: in [0, threads), stable per thread (for per-thread scratch). */
typedef void (*pool_task_fn)(void *ctx, int task, int worker);

/* NULL and a reason in err on failure. threads == 1 makes a pool without threads (pool_run runs inline). */
pl_pool *pool_create(int threads, const int *cpus, int ncpus, char *err, size_t errlen);
void pool_run(pl_pool *pool, int ntasks, pool_task_fn fn, void *ctx);
int pool_threads(const pl_pool *pool);
void pool_free(pl_pool *pool);

#endif
