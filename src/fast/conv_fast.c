/*
 * conv_fast.c - the blocked GEMM convolution of conv_fast.h.
 *
 * Blocking: a task is (NC pixels) x (MC output channels), MC all channels
 * unless that leaves too few tasks to share among the workers (packing a
 * panel costs about as much as one channel tile's work on it, so the more
 * channels per packed panel, the better); within a task the
 * reduction runs in blocks of KC steps. Per block the task packs the
 * patches of one panel of nr pixels (KC, nr) into its scratch, where it
 * stays in L1 while every channel tile of the task streams its weights
 * (KC, mr) past it.
 * KC is fixed, so the order of each output's sum never changes.
 */
#include <stdatomic.h>
#include <string.h>

#include "core/alloc.h"
#include "fast/conv_fast.h"

enum {
    KC = 192,          /* reduction steps per block */
    NC_PANELS = 8,     /* pixel panels (of nr) per task */
    MC_MIN = 32,       /* fewest output channels per task (rounded up to a multiple of mr) */
    TASKS_PER_WORKER = 4
};

dpsim_status packed_conv_init(packed_conv *p, const conv2d_shape *s, const float *weight,
                              const float *bias, const gemm_kernel *kern, errbuf *e)
{
    const int mr = kern->mr, kt = s->in_ch * s->kernel * s->kernel;
    const int panels = (s->out_ch + mr - 1) / mr;
    memset(p, 0, sizeof *p);
    p->a = dp_calloc((size_t)panels * mr * kt, sizeof(float));
    p->bias = dp_calloc((size_t)s->out_ch, sizeof(float));
    if (!p->a || !p->bias) {
        packed_conv_free(p);
        return err_set(e, DPSIM_E_NOMEM, "out of memory for packed convolution weights");
    }
    if (bias)
        memcpy(p->bias, bias, (size_t)s->out_ch * sizeof(float));
    for (int oc = 0; oc < s->out_ch; oc++) {
        float *dst = p->a + (size_t)(oc / mr) * mr * kt + oc % mr; /* stride mr over k */
        const float *src = weight + (size_t)oc * kt;
        for (int k = 0; k < kt; k++)
            dst[(size_t)k * mr] = src[k];
    }
    p->shape = *s;
    p->kern = kern;
    p->k_total = kt;
    return DPSIM_OK;
}

void packed_conv_free(packed_conv *p)
{
    dp_free(p->a);
    dp_free(p->bias);
    p->a = p->bias = NULL;
}

size_t conv_fast_scratch_floats(const gemm_kernel *kern)
{
    return (size_t)KC * kern->nr;
}

/* A run of a panel's pixels on one output row: panel slots [slot, slot+len), columns ox.. */
typedef struct pixel_run {
    int slot, len, oy, ox;
} pixel_run;

typedef struct conv_job {
    const packed_conv *p;
    const float *in;
    float *out;
    int h, w, ho, wo, relu;
    int pointwise; /* 1x1, stride 1, no padding: a full panel reads the input in place */
    int n_pix, mc, pix_tasks, tasks;
    atomic_int next;
    float *scratch;
    size_t scratch_per_worker;
} conv_job;

/* The runs of pixels [j0, j0 + n) of an output with wo columns. */
static int pixel_runs(int j0, int n, int wo, pixel_run *runs)
{
    int count = 0;
    for (int slot = 0; slot < n;) {
        const int j = j0 + slot, oy = j / wo, ox = j % wo;
        int len = wo - ox;
        if (len > n - slot)
            len = n - slot;
        runs[count++] = (pixel_run){slot, len, oy, ox};
        slot += len;
    }
    return count;
}

/*
 * Pack patches of one panel: dst (kc, nr) for reduction steps [k0, k0+kc)
 * of the pixels in runs (slots past the runs are zero).
 */
static void pack_panel(const conv_job *job, const pixel_run *runs, int n_runs, int n_valid,
                       int k0, int kc, float *dst)
{
    const conv2d_shape *s = &job->p->shape;
    const int nr = job->p->kern->nr, k = s->kernel, kk2 = k * k, st = s->stride, pad = s->pad;
    const int h = job->h, w = job->w;
    for (int t = 0; t < kc; t++) {
        const int kidx = k0 + t, ic = kidx / kk2, ky = kidx % kk2 / k, kx = kidx % k;
        const float *plane = job->in + (size_t)ic * h * w; /* (h, w) */
        float *d = dst + (size_t)t * nr;
        for (int r = 0; r < n_runs; r++) {
            const pixel_run *run = &runs[r];
            float *dr = d + run->slot;
            const int iy = run->oy * st - pad + ky;
            if (iy < 0 || iy >= h) {
                memset(dr, 0, (size_t)run->len * sizeof(float));
                continue;
            }
            const float *row = plane + (size_t)iy * w;
            const int ix0 = run->ox * st - pad + kx; /* input column of the run's first pixel */
            if (st == 1) {
                int lo = -ix0, hi = w - ix0; /* slots whose column is inside [0, w) */
                lo = lo < 0 ? 0 : lo > run->len ? run->len : lo;
                hi = hi > run->len ? run->len : hi < lo ? lo : hi;
                /* short runs: plain loops beat library calls */
                for (int q = 0; q < lo; q++)
                    dr[q] = 0.0f;
                for (int q = lo; q < hi; q++)
                    dr[q] = row[ix0 + q];
                for (int q = hi; q < run->len; q++)
                    dr[q] = 0.0f;
            } else {
                for (int q = 0; q < run->len; q++) {
                    const int ix = ix0 + q * st;
                    dr[q] = ix >= 0 && ix < w ? row[ix] : 0.0f;
                }
            }
        }
        if (n_valid < nr)
            memset(d + n_valid, 0, (size_t)(nr - n_valid) * sizeof(float));
    }
}

static void run_task(const conv_job *job, int task, float *bpack)
{
    const packed_conv *p = job->p;
    const gemm_kernel *kern = p->kern;
    const int mr = kern->mr, nr = kern->nr, kt = p->k_total, oc_n = p->shape.out_ch;
    const int nc = NC_PANELS * nr;
    const int j0 = task % job->pix_tasks * nc, m0 = task / job->pix_tasks * job->mc;
    const int n_pix = job->n_pix - j0 < nc ? job->n_pix - j0 : nc;
    const int m_end = m0 + job->mc < oc_n ? m0 + job->mc : oc_n;
    const int n_panels = (n_pix + nr - 1) / nr;
    pixel_run runs[NC_PANELS][GEMM_MAX_NR + 1];
    int n_runs[NC_PANELS];
    for (int q = 0; q < n_panels; q++) {
        const int valid = n_pix - q * nr < nr ? n_pix - q * nr : nr;
        n_runs[q] = pixel_runs(j0 + q * nr, valid, job->wo, runs[q]);
    }
    for (int k0 = 0; k0 < kt; k0 += KC) {
        const int kc = kt - k0 < KC ? kt - k0 : KC;
        int flags = k0 == 0 ? GEMM_FIRST : 0;
        if (k0 + kc == kt && job->relu)
            flags |= GEMM_RELU;
        for (int q = 0; q < n_panels; q++) {
            const int valid = n_pix - q * nr < nr ? n_pix - q * nr : nr;
            const float *b = bpack;
            size_t ldb = (size_t)nr;
            if (job->pointwise && valid == nr) { /* B is the input itself: (in_ch, n_pix) */
                b = job->in + (size_t)k0 * job->n_pix + j0 + q * nr;
                ldb = (size_t)job->n_pix;
            } else {
                pack_panel(job, runs[q], n_runs[q], valid, k0, kc, bpack);
            }
            for (int m = m0; m < m_end; m += mr) {
                const float *a = p->a + (size_t)(m / mr) * mr * kt + (size_t)k0 * mr;
                float *c = job->out + (size_t)m * job->n_pix + j0 + q * nr;
                kern->tile(kc, a, b, ldb, c, (size_t)job->n_pix,
                           m_end - m < mr ? m_end - m : mr, valid, p->bias + m, flags);
            }
        }
    }
}

static void conv_worker(void *arg, int worker)
{
    conv_job *job = arg;
    float *bpack = job->scratch + (size_t)worker * job->scratch_per_worker;
    for (int t; (t = atomic_fetch_add(&job->next, 1)) < job->tasks;)
        run_task(job, t, bpack);
}

void conv_fast_forward(const packed_conv *p, const float *in, int h, int w, float *out, int relu,
                       worker_pool *workers, float *scratch)
{
    const int mr = p->kern->mr, nc = NC_PANELS * p->kern->nr;
    conv_job job = {.p = p, .in = in, .out = out, .h = h, .w = w, .relu = relu,
                    .scratch = scratch, .scratch_per_worker = conv_fast_scratch_floats(p->kern)};
    job.ho = conv2d_out_size(&p->shape, h);
    job.wo = conv2d_out_size(&p->shape, w);
    job.n_pix = job.ho * job.wo;
    job.pointwise = p->shape.kernel == 1 && p->shape.stride == 1 && p->shape.pad == 0;
    if (job.n_pix <= 0)
        return;
    const int oc_n = p->shape.out_ch, want = TASKS_PER_WORKER * pool_size(workers);
    job.pix_tasks = (job.n_pix + nc - 1) / nc;
    job.mc = (oc_n + mr - 1) / mr * mr;
    while (job.mc > MC_MIN && job.pix_tasks * ((oc_n + job.mc - 1) / job.mc) < want)
        job.mc = (job.mc / 2 + mr - 1) / mr * mr;
    job.tasks = job.pix_tasks * ((oc_n + job.mc - 1) / job.mc);
    atomic_init(&job.next, 0);
    pool_run(workers, conv_worker, &job);
}
