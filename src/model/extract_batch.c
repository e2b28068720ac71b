/*
 * extract_batch.c - features of many images. Small images of one size go
 * through the net together (net_forward on up to NET_MAX_BATCH of them):
 * each convolution is one GEMM over all their pixels, since a 64x64
 * image's layers alone leave most of each tile empty. Other small images
 * are extracted side by side, one image per worker, each extraction on one
 * thread: whole images split over threads without the handoff per layer
 * that costs more than it saves on small layers (up to
 * SIDE_BY_SIDE_MAX_ACTIVATION: SqueezeNet 512x512 pairs took 76-83 ms so
 * against 93-124, AlexNet 66-68 against 78-82, quiet machine, 2 threads).
 * Large images go one after another, each over all the workers, so memory
 * holds one image's activations at a time. Every image's features are bit-identical to
 * dpsim_extract's whichever way: the kernels' arithmetic does not depend on
 * the partition.
 */
#include <stdatomic.h>

#include "core/alloc.h"
#include "core/ctx.h"
#include "model/model.h"

/* Images of one size up to this many pixels go through the net together. */
#define TOGETHER_MAX_PIXELS (128 * 128)

typedef struct batch_job {
    const dpsim_model *m;
    int n;
    const float *const *pixels;
    const int *widths, *heights;
    dpsim_features **out;
    worker_pool *workers;
    forward_scratch *scratch; /* (pool_size(workers)) or NULL */
    atomic_int next;          /* the next image to take */
    dpsim_status *status;     /* (n) */
    errbuf *errs;             /* (n) */
} batch_job;

static void extract_one(batch_job *j, int i, worker_pool *workers, int worker)
{
    j->status[i] = model_extract(j->m, j->pixels[i], j->widths[i], j->heights[i], workers,
                                 j->scratch ? &j->scratch[worker] : NULL, &j->out[i],
                                 &j->errs[i]);
}

static void side_by_side_worker(void *arg, int worker)
{
    batch_job *j = arg;
    for (int i; (i = atomic_fetch_add(&j->next, 1)) < j->n;)
        extract_one(j, i, NULL, worker);
}

static int side_by_side(const batch_job *j)
{
    if (pool_size(j->workers) < 2 || j->n < 2)
        return 0;
    for (int i = 0; i < j->n; i++)
        if (!net_side_by_side(j->m, j->widths[i], j->heights[i]))
            return 0;
    return 1;
}

/* All n images of one size of at most TOGETHER_MAX_PIXELS: extract them together. */
static int together(const batch_job *j)
{
    if (j->n < 2 || (size_t)j->widths[0] * (size_t)j->heights[0] > TOGETHER_MAX_PIXELS)
        return 0;
    for (int i = 1; i < j->n; i++)
        if (j->widths[i] != j->widths[0] || j->heights[i] != j->heights[0])
            return 0;
    return 1;
}

/*
 * Worker w of the pool's W takes its share of the images, [w n / W,
 * (w + 1) n / W), and runs them through the net together on its own, in
 * chunks of NET_MAX_BATCH: no handoff between threads per layer, and tiles
 * filled by the pixels of several images.
 */
static void together_worker(void *arg, int worker)
{
    batch_job *j = arg;
    const int groups = pool_size(j->workers) < j->n ? pool_size(j->workers) : j->n;
    if (worker >= groups)
        return;
    const int first = (int)((long)worker * j->n / groups);
    const int end = (int)((long)(worker + 1) * j->n / groups);
    for (int off = first; off < end; off += NET_MAX_BATCH) {
        const int count = end - off < NET_MAX_BATCH ? end - off : NET_MAX_BATCH;
        int failed = 0;
        dpsim_status s = model_extract_same_size(
            j->m, count, j->pixels + off, j->widths[0], j->heights[0], NULL,
            j->scratch ? &j->scratch[worker] : NULL, j->out + off, &failed, &j->errs[off]);
        if (s != DPSIM_OK) {
            j->status[off + failed] = s;
            j->errs[off + failed] = j->errs[off];
            return;
        }
    }
}

dpsim_status dpsim_extract_batch(dpsim_ctx *ctx, const dpsim_model *m, int n,
                                 const float *const *pixels, const int *widths,
                                 const int *heights, dpsim_features **out)
{
    ctx_clear(ctx);
    if (!m || n < 0 || (n > 0 && (!pixels || !widths || !heights || !out)))
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_extract_batch: NULL argument or n < 0");
    for (int i = 0; i < n; i++) {
        out[i] = NULL;
        if (!pixels[i])
            return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_extract_batch: image %d is NULL", i);
    }
    batch_job j = {.m = m, .n = n, .pixels = pixels, .widths = widths, .heights = heights,
                   .out = out, .workers = ctx ? ctx->workers : NULL,
                   .scratch = ctx ? ctx->scratch : NULL};
    atomic_init(&j.next, 0);
    j.status = dp_calloc(n ? (size_t)n : 1, sizeof *j.status);
    j.errs = dp_calloc(n ? (size_t)n : 1, sizeof *j.errs);
    if (!j.status || !j.errs) {
        dp_free(j.status);
        dp_free(j.errs);
        return ctx_fail(ctx, DPSIM_E_NOMEM, "out of memory for a batch of %d images", n);
    }
    if (together(&j))
        pool_run(j.workers, together_worker, &j);
    else if (side_by_side(&j))
        pool_run(j.workers, side_by_side_worker, &j);
    else
        for (int i = 0; i < n && (i == 0 || j.status[i - 1] == DPSIM_OK); i++)
            extract_one(&j, i, j.workers, 0);
    dpsim_status s = DPSIM_OK;
    for (int i = 0; i < n && s == DPSIM_OK; i++)
        if (j.status[i] != DPSIM_OK) {
            s = j.status[i];
            ctx_fail(ctx, s, "image %d of the batch: %s", i, j.errs[i].msg);
        }
    if (s != DPSIM_OK)
        for (int i = 0; i < n; i++) {
            dpsim_features_free(out[i]);
            out[i] = NULL;
        }
    dp_free(j.status);
    dp_free(j.errs);
    return s;
}
