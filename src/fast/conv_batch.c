/*
 * conv_batch.c - one convolution over n images of one size as one GEMM:
 * the pixel dimension runs over every image's output pixels, image after
 * image, so the small layers of small images (a 64x64 input's last layers
 * are 3x3 or 7x7) fill whole tiles and make enough tasks for the workers.
 * Patches are packed panel by panel, as conv_fast.c packs a strided
 * convolution's; the reduction runs in conv_fast.c's blocks of CONV_KC
 * steps, so every output's sum has conv_fast_forward's order and the
 * result is bit-identical to it, image by image.
 */
#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "fast/conv_batch.h"
#include "fast/conv_bf16.h"
#include "fast/conv_wino.h"

typedef struct batch_job {
    const packed_conv *p;
    const conv2d_shape *s;  /* what runs: p->run */
    const float *const *in; /* n inputs (s->in_ch, h, w): zero-padded, or in space-to-depth
                             * form (conv_fast.h) */
    float *const *out;      /* n outputs (out_ch, ho, wo) */
    int n, h, w, ho, wo, relu; /* h, w: of the padded inputs */
    conv_plan plan;         /* over n * ho * wo columns */
    atomic_int next;
} batch_job;

/* A run of a panel's columns inside one image: slots [slot, slot+len) are pixels j.. of image. */
typedef struct column_run {
    const float *image;
    int slot, len, j;
} column_run;

static int column_runs(const batch_job *job, int g, int valid, column_run *runs)
{
    const int plane = job->ho * job->wo;
    int count = 0;
    for (int slot = 0; slot < valid;) {
        const int b = (g + slot) / plane, j = (g + slot) % plane;
        const int len = plane - j < valid - slot ? plane - j : valid - slot;
        runs[count++] = (column_run){job->in[b], slot, len, j};
        slot += len;
    }
    return count;
}

/* Floats of a packed row that lie side by side in one input: dst[slot + i] = src[shift + i]. */
typedef struct source_run {
    const float *src;
    int slot, len;
} source_run;

/*
 * A stride-1 layer's runs of the valid pixels from column g: each column run
 * cut where its output rows end, unless the input rows are as wide as the
 * output's (1x1, no padding: then whole planes are contiguous).
 */
static int source_runs(const batch_job *job, const column_run *runs, int n_runs, source_run *out)
{
    const int wo = job->wo, w = job->w;
    int count = 0;
    for (int r = 0; r < n_runs; r++) {
        const int end = runs[r].slot + runs[r].len;
        for (int q = runs[r].slot, len; q < end; q += len) {
            const int j = runs[r].j + q - runs[r].slot, y = j / wo, x = j % wo;
            len = w != wo && wo - x < end - q ? wo - x : end - q;
            out[count++] = (source_run){runs[r].image + (size_t)y * w + x, q, len};
        }
    }
    return count;
}

static void copy_runs_plain(const source_run *runs, int n, size_t shift, float *d)
{
    for (int r = 0; r < n; r++)
        for (int i = 0; i < runs[r].len; i++)
            d[runs[r].slot + i] = runs[r].src[shift + i];
}

#if defined(__x86_64__) || defined(__i386__)
/* copy_runs_plain in masked 512-bit loads and stores: a run of up to 16 floats in one each */
__attribute__((target("avx512f"))) static void copy_runs_avx512(const source_run *runs, int n,
                                                                 size_t shift, float *d)
{
    for (int r = 0; r < n; r++)
        for (int i = 0; i < runs[r].len; i += 16) {
            const int left = runs[r].len - i;
            const __mmask16 m = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
            _mm512_mask_storeu_ps(d + runs[r].slot + i, m,
                                  _mm512_maskz_loadu_ps(m, runs[r].src + shift + i));
        }
}
#endif

/*
 * dst (kc, nr): reduction steps [k0, k0+kc) of the valid pixels from column
 * g, zeros after. At stride 1 each step's pixels are runs of an input row,
 * copied as runs; a strided layer gathers each patch value from the padded
 * inputs.
 */
static void pack_panel(const batch_job *job, int g, int valid, int k0, int kc, float *dst)
{
    const conv2d_shape *s = job->s;
    const int nr = job->p->kern->nr, k = s->kernel, kk = k * k, h = job->h, w = job->w;
    column_run runs[GEMM_MAX_NR];
    const int n_runs = column_runs(job, g, valid, runs);
    if (s->stride == 1) {
        source_run src[GEMM_MAX_NR];
        const int n_src = source_runs(job, runs, n_runs, src);
        for (int t = 0; t < kc; t++) {
            const int r = k0 + t, ic = r / kk, ky = r % kk / k, kx = r % k;
            const size_t shift = (size_t)ic * h * w + (size_t)ky * w + (size_t)kx;
            float *d = dst + (size_t)t * nr;
#if defined(__x86_64__) || defined(__i386__)
            if (job->p->kern->isa == ISA_AVX512)
                copy_runs_avx512(src, n_src, shift, d);
            else
#endif
                copy_runs_plain(src, n_src, shift, d);
            memset(d + valid, 0, (size_t)(nr - valid) * sizeof(float));
        }
        return;
    }
    const float *at[GEMM_MAX_NR]; /* each patch's top left */
    for (int r = 0; r < n_runs; r++)
        for (int q = runs[r].slot; q < runs[r].slot + runs[r].len; q++) {
            const int j = runs[r].j + q - runs[r].slot;
            at[q] = runs[r].image + (size_t)(j / job->wo * s->stride) * w +
                    (size_t)(j % job->wo * s->stride);
        }
    for (int t = 0; t < kc; t++) {
        const int r = k0 + t, ic = r / kk, ky = r % kk / k, kx = r % k;
        const size_t shift = (size_t)ic * h * w + (size_t)ky * w + (size_t)kx;
        float *d = dst + (size_t)t * nr;
        for (int q = 0; q < valid; q++)
            d[q] = at[q][shift];
        memset(d + valid, 0, (size_t)(nr - valid) * sizeof(float));
    }
}

static void run_task(const batch_job *job, int task, int worker)
{
    const packed_conv *p = job->p;
    const int nr = p->kern->nr, kt = p->k_total;
    const conv_task t = conv_task_at(p, &job->plan, task, worker);
    for (int k0 = 0; k0 < kt; k0 += CONV_KC) {
        const int kc = kt - k0 < CONV_KC ? kt - k0 : CONV_KC;
        for (int q = 0; q < t.n_panels; q++) {
            const int valid = t.n_pix - q * nr < nr ? t.n_pix - q * nr : nr;
            pack_panel(job, t.j0 + q * nr, valid, k0, kc, t.panel);
            conv_task_tiles(p, &t, q, k0, kc, t.panel, NULL, job->relu);
        }
    }
    conv_scatter_block(job->out, job->ho * job->wo, t.block, CONV_NC_PANELS * nr, t.m0, t.m_end,
                       t.j0, t.n_pix);
}

static void batch_worker(void *arg, int worker)
{
    batch_job *job = arg;
    for (int t; (t = atomic_fetch_add(&job->next, 1)) < job->plan.tasks;)
        run_task(job, t, worker);
}

dpsim_status conv_fast_forward_batch(const packed_conv *p, int n, const float *const *in, int h,
                                     int w, float *const *out, int relu, worker_pool *workers,
                                     conv_buffers *buf, errbuf *e)
{
    if (packed_conv_is_bf16(p))
        return conv_bf16_forward(p, n, in, h, w, out, relu, workers, buf, e);
    if (n == 1 || !conv_fast_direct(p, h, w)) {
        dpsim_status s = DPSIM_OK;
        for (int b = 0; b < n && s == DPSIM_OK; b++)
            s = conv_fast_forward(p, in[b], h, w, out[b], relu, workers, buf, e);
        return s;
    }
    const int pad = p->shape.pad;
    batch_job job = {.p = p, .s = &p->run, .in = in, .out = out, .n = n, .h = h + 2 * pad,
                     .w = w + 2 * pad, .relu = relu};
    job.ho = conv2d_out_size(&p->shape, h);
    job.wo = conv2d_out_size(&p->shape, w);
    if (job.ho <= 0 || job.wo <= 0)
        return DPSIM_OK;
    if (p->s2d) {
        job.h = job.ho + p->run.kernel - 1;
        job.w = job.wo + p->run.kernel - 1;
    }
    const float *padded[CONV_BATCH_MAX];
    if (pad > 0 || p->s2d) {
        const size_t each = (size_t)p->run.in_ch * job.h * job.w;
        if (!conv_buffer_reserve((void **)&buf->padded, &buf->padded_cap, (size_t)n * each,
                                 sizeof(float)))
            return err_set(e, DPSIM_E_NOMEM, "out of memory for a convolution's padded input");
        for (int b = 0; b < n; b++) {
            float *dst = buf->padded + b * each;
            if (p->s2d)
                conv_space_to_depth(p, in[b], h, w, job.ho, job.wo, dst, workers);
            else
                conv_pad_input(in[b], p->shape.in_ch, h, w, pad, job.h, job.w, dst, workers);
            padded[b] = dst;
        }
        job.in = padded;
    }
    dpsim_status s = conv_plan_make(p, n * job.ho * job.wo, workers, buf, &job.plan, e);
    if (s != DPSIM_OK)
        return s;
    atomic_init(&job.next, 0);
    pool_run(workers, batch_worker, &job);
    return DPSIM_OK;
}

/*
 * p without padding: the same packed weights, and no Winograd weights of its
 * own. Field by field, not a struct copy: other threads may publish p->u
 * meanwhile (conv_wino_weights), and a plain copy reads it unsynchronised.
 */
static packed_conv unpadded_view(const packed_conv *p)
{
    packed_conv v = {.shape = p->shape, .run = p->run, .s2d = p->s2d, .kern = p->kern,
                     .k_total = p->k_total, .a = p->a, .bias = p->bias,
                     .a_in_place = p->a_in_place, .a_bf16 = p->a_bf16};
    atomic_init(&v.u, NULL);
    v.shape.pad = v.run.pad = 0;
    return v;
}

dpsim_status conv_batch_padded_weights(const packed_conv *p, int h, int w, worker_pool *workers,
                                       conv_buffers *buf, const float **u, errbuf *e)
{
    *u = NULL;
    packed_conv unpadded = unpadded_view(p);
    if (conv_fast_direct(&unpadded, h, w))
        return DPSIM_OK;
    *u = conv_wino_weights(p, workers, buf);
    return *u ? DPSIM_OK : err_set(e, DPSIM_E_NOMEM, "out of memory for Winograd weights");
}

dpsim_status conv_fast_forward_batch_padded(const packed_conv *p, const float *u, int n,
                                            const float *const *in, int h, int w,
                                            float *const *out, int relu, worker_pool *workers,
                                            conv_buffers *buf, errbuf *e)
{
    /* its Winograd weights shared by the n images, when this size runs Winograd */
    packed_conv unpadded = unpadded_view(p);
    dpsim_status s = u ? DPSIM_OK : conv_batch_padded_weights(p, h, w, workers, buf, &u, e);
    if (s != DPSIM_OK)
        return s;
    if (u)
        atomic_store(&unpadded.u, (float *)u);
    return conv_fast_forward_batch(&unpadded, n, in, h, w, out, relu, workers, buf, e);
}
