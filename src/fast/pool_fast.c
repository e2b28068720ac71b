/*
 * pool_fast.c - separable max-pooling (pool_fast.h), channels shared among
 * the workers.
 */
#include "core/alloc.h"
#include "fast/pool_fast.h"

typedef struct maxpool_job {
    const maxpool_shape *s;
    const float *in;
    float *out;
    int c, h, w, ho, wo, workers;
    float *rows; /* (workers, w): each worker's column maxima */
} maxpool_job;

static void maxpool_worker(void *arg, int worker)
{
    const maxpool_job *j = arg;
    const int k = j->s->kernel, st = j->s->stride, h = j->h, w = j->w;
    float *colmax = j->rows + (size_t)worker * w; /* (w) */
    for (int ch = worker; ch < j->c; ch += j->workers) {
        const float *src = j->in + (size_t)ch * h * w; /* (h, w) */
        float *dst = j->out + (size_t)ch * j->ho * j->wo;
        for (int oy = 0; oy < j->ho; oy++) {
            const int y0 = oy * st, y1 = y0 + k < h ? y0 + k : h;
            const float *row = src + (size_t)y0 * w;
            for (int x = 0; x < w; x++)
                colmax[x] = row[x];
            for (int y = y0 + 1; y < y1; y++) {
                row = src + (size_t)y * w;
                for (int x = 0; x < w; x++)
                    colmax[x] = row[x] > colmax[x] ? row[x] : colmax[x];
            }
            for (int ox = 0; ox < j->wo; ox++) {
                const int x0 = ox * st, x1 = x0 + k < w ? x0 + k : w;
                float m = colmax[x0];
                for (int x = x0 + 1; x < x1; x++)
                    m = colmax[x] > m ? colmax[x] : m;
                dst[(size_t)oy * j->wo + ox] = m;
            }
        }
    }
}

dpsim_status maxpool_fast(const maxpool_shape *s, const float *in, int c, int h, int w,
                          float *out, worker_pool *workers)
{
    maxpool_job j = {s, in, out, c, h, w, maxpool_out_size(s, h), maxpool_out_size(s, w),
                     pool_size(workers), NULL};
    if (j.ho <= 0 || j.wo <= 0)
        return DPSIM_OK;
    j.rows = dp_malloc((size_t)j.workers * w * sizeof(float));
    if (!j.rows)
        return DPSIM_E_NOMEM;
    pool_run(workers, maxpool_worker, &j);
    dp_free(j.rows);
    return DPSIM_OK;
}
