/*
 * pool.h - a fixed set of worker threads that run one function together.
 * The caller is worker 0; pool_run returns when every worker has returned.
 * What each worker computes is the caller's business: the fast kernels give
 * every output the same arithmetic whichever worker takes it, so results do
 * not depend on the number of threads.
 */
#ifndef DPSIM_FAST_POOL_H
#define DPSIM_FAST_POOL_H

#include "dpsim/dpsim.h"

typedef struct worker_pool worker_pool;

typedef void (*pool_fn)(void *arg, int worker);

/** A pool of n_threads workers (the caller and n_threads - 1 threads); n_threads >= 2. */
dpsim_status pool_create(int n_threads, worker_pool **out);

void pool_free(worker_pool *p);

/** Number of workers; 1 for NULL (no pool: the caller alone). */
int pool_size(const worker_pool *p);

/** fn(arg, w) on every worker w in [0, pool_size(p)); NULL p runs fn(arg, 0). */
void pool_run(worker_pool *p, pool_fn fn, void *arg);

#endif
