/*
 * pool.c - the worker pool: threads wait on a generation counter, run the
 * posted function once per generation and count themselves out. A thread
 * that finished spins a little before it sleeps, and so does the caller
 * waiting for the others: a forward pass posts a generation per layer, and
 * waking a sleeping thread took longer than a small layer's work.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "core/alloc.h"
#include "fast/pool.h"

struct worker_pool {
    pthread_mutex_t lock;
    pthread_cond_t start, done;
    unsigned long generation; /* bumped by each pool_run */
    atomic_ulong posted;      /* the same, for spinning without the lock */
    atomic_int running;       /* threads still in the current generation */
    atomic_int stop;
    pool_fn fn;
    void *arg;
    int n;                    /* workers, the caller included */
    int n_started;            /* threads created */
    pthread_t *threads;       /* (n - 1) */
};

enum { SPINS = 20000 }; /* polls (a few tens of microseconds) before sleeping */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Poll until *value differs from old or SPINS polls have passed. */
static void spin_while_ulong(const atomic_ulong *value, unsigned long old)
{
    for (int i = 0; i < SPINS && atomic_load_explicit(value, memory_order_acquire) == old; i++)
        cpu_relax();
}

typedef struct worker_start {
    worker_pool *p;
    int index;
} worker_start;

static void *worker_main(void *raw)
{
    worker_pool *p = ((worker_start *)raw)->p;
    const int index = ((worker_start *)raw)->index;
    unsigned long seen = 0; /* pool_create posts generation 1 after starting every thread */
    for (;;) {
        spin_while_ulong(&p->posted, seen);
        pthread_mutex_lock(&p->lock);
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->start, &p->lock);
        if (p->stop) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        seen = p->generation;
        pool_fn fn = p->fn;
        void *arg = p->arg;
        pthread_mutex_unlock(&p->lock);
        if (fn)
            fn(arg, index);
        if (atomic_fetch_sub(&p->running, 1) == 1) {
            pthread_mutex_lock(&p->lock); /* the caller may be about to wait */
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->lock);
        }
    }
}

dpsim_status pool_create(int n_threads, worker_pool **out)
{
    *out = NULL;
    if (n_threads < 2)
        return DPSIM_E_INVAL;
    worker_pool *p = dp_calloc(1, sizeof *p);
    if (!p)
        return DPSIM_E_NOMEM;
    worker_start *starts = dp_calloc((size_t)n_threads, sizeof *starts);
    p->threads = dp_calloc((size_t)n_threads, sizeof *p->threads);
    if (!starts || !p->threads) {
        dp_free(starts);
        dp_free(p->threads);
        dp_free(p);
        return DPSIM_E_NOMEM;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->start, NULL);
    pthread_cond_init(&p->done, NULL);
    p->n = n_threads;
    /* the threads copy their start record before the first generation ends */
    for (int i = 1; i < n_threads; i++) {
        starts[i] = (worker_start){p, i};
        if (pthread_create(&p->threads[i - 1], NULL, worker_main, &starts[i]) != 0)
            break;
        p->n_started++;
    }
    dpsim_status status = p->n_started == n_threads - 1 ? DPSIM_OK : DPSIM_E_NOMEM;
    /* one empty generation: every thread has read its start record after it */
    pool_run(p, NULL, NULL);
    dp_free(starts);
    *out = p;
    if (status != DPSIM_OK) {
        pool_free(p);
        *out = NULL;
    }
    return status;
}

void pool_run(worker_pool *p, pool_fn fn, void *arg)
{
    if (!p) {
        if (fn)
            fn(arg, 0);
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->arg = arg;
    atomic_store(&p->running, p->n_started);
    p->generation++;
    atomic_store_explicit(&p->posted, p->generation, memory_order_release);
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->lock);
    if (fn)
        fn(arg, 0);
    for (int i = 0; i < SPINS && atomic_load(&p->running) > 0; i++)
        cpu_relax();
    pthread_mutex_lock(&p->lock);
    while (atomic_load(&p->running) > 0)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

int pool_size(const worker_pool *p) { return p ? p->n : 1; }

void pool_free(worker_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->n_started; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->start);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->lock);
    dp_free(p->threads);
    dp_free(p);
}
