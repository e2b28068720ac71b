/*
 * relu_backward.c - ReLU gradient: pass where the output is positive. At
 * exactly zero the gradient is zero (PyTorch's threshold_backward rule).
 * A tap's gradient can be added in the same pass. A ReLU that backward needs
 * only for its mask keeps it as bits (relu_mask), 1/32 of its output. Fixed
 * chunks of values go round the workers; each value is on its own.
 */
#include "fast/pool.h"
#include "grad/grad.h"

#define RELU_CHUNK 16384 /* values per task */

typedef struct relu_job {
    const float *y;     /* NULL: no ReLU */
    const float *tap;   /* NULL: nothing to add */
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
                j->d[i] += j->tap[i];
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

void tap_backward(const float *y, const float *tap, float *d, size_t n, worker_pool *workers)
{
    relu_job j = {y, tap, d, n, pool_size(workers)};
    pool_run(workers, relu_worker, &j);
}

/* Chunks of RELU_CHUNK values (a multiple of 8: whole mask bytes) round the workers. */
typedef struct mask_job {
    const float *y;      /* relu_mask's input, or NULL */
    uint8_t *bits;       /* relu_mask's output */
    const uint8_t *mask; /* relu_mask_backward's */
    float *d;
    size_t n;
    int workers;
} mask_job;

/* Mask bytes of values [i0, i1): byte k from values 8k.. (fewer at the end) */
static void mask_bytes(const mask_job *j, size_t i0, size_t i1)
{
    for (size_t k = i0 / 8; k < (i1 + 7) / 8; k++) {
        const size_t len = i1 - 8 * k < 8 ? i1 - 8 * k : 8;
        unsigned b = 0;
        for (size_t q = 0; q < len; q++)
            b |= (unsigned)(j->y[8 * k + q] > 0.0f) << q;
        j->bits[k] = (uint8_t)b;
    }
}

/* The gradients of values [i0, i1) through their mask bits */
static void apply_bytes(const mask_job *j, size_t i0, size_t i1)
{
    for (size_t k = i0 / 8; k < (i1 + 7) / 8; k++) {
        const size_t len = i1 - 8 * k < 8 ? i1 - 8 * k : 8;
        const unsigned b = j->mask[k];
        for (size_t q = 0; q < len; q++)
            j->d[8 * k + q] = b >> q & 1u ? j->d[8 * k + q] : 0.0f;
    }
}

static void mask_worker(void *arg, int worker)
{
    const mask_job *j = arg;
    for (size_t i0 = (size_t)worker * RELU_CHUNK; i0 < j->n; i0 += (size_t)j->workers * RELU_CHUNK) {
        const size_t i1 = j->n - i0 < RELU_CHUNK ? j->n : i0 + RELU_CHUNK;
        if (j->y)
            mask_bytes(j, i0, i1);
        else
            apply_bytes(j, i0, i1);
    }
}

void relu_mask(const float *y, size_t n, uint8_t *bits, worker_pool *workers)
{
    mask_job j = {y, bits, NULL, NULL, n, pool_size(workers)};
    pool_run(workers, mask_worker, &j);
}

void relu_mask_backward(const uint8_t *bits, float *d, size_t n, worker_pool *workers)
{
    mask_job j = {NULL, NULL, bits, d, n, pool_size(workers)};
    pool_run(workers, mask_worker, &j);
}
