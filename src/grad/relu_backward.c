/*
 * relu_backward.c - ReLU gradient: pass where the output is positive. At
 * exactly zero the gradient is zero (PyTorch's threshold_backward rule).
 * A tap's gradient can be added in the same pass. Fixed chunks of values go
 * round the workers; each value is on its own.
 */
#include "fast/pool.h"
#include "grad/grad.h"

#define RELU_CHUNK 16384 /* values per task */

typedef struct relu_job {
    const float *y;     /* NULL: no ReLU */
    const double *tap;  /* NULL: nothing to add */
    float *d;
    size_t n;
    int workers;
} relu_job;

static void relu_worker(void *arg, int worker)
{
    const relu_job *j = arg;
    for (size_t i0 = (size_t)worker * RELU_CHUNK; i0 < j->n; i0 += (size_t)j->workers * RELU_CHUNK) {
        const size_t i1 = j->n - i0 < RELU_CHUNK ? j->n : i0 + RELU_CHUNK;
        if (j->tap)
            for (size_t i = i0; i < i1; i++)
                j->d[i] = (float)(j->d[i] + j->tap[i]);
        if (j->y)
            for (size_t i = i0; i < i1; i++)
                j->d[i] = j->y[i] > 0.0f ? j->d[i] : 0.0f;
    }
}

void relu_backward(const float *y, float *d, size_t n, worker_pool *workers)
{
    relu_job j = {y, NULL, d, n, pool_size(workers)};
    pool_run(workers, relu_worker, &j);
}

void tap_backward(const float *y, const double *tap, float *d, size_t n, worker_pool *workers)
{
    relu_job j = {y, tap, d, n, pool_size(workers)};
    pool_run(workers, relu_worker, &j);
}
