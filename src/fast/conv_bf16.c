/*
 * conv_bf16.c - the bf16 convolution of conv_bf16.h.
 *
 * B (in_ch*k*k, n*Ho*Wo) is packed panel by panel: for each pair of
 * reduction steps, the two rows of the panel's nr columns are gathered in
 * fp32 (straight from the input when the panel is one run of one input row
 * inside the image, else copied with the padding's zeros) and converted to
 * bf16 pairs by the kernel's pack_bf16. The blocking is conv_fast.c's
 * (conv_plan_make, conv_task_at): tasks of (panels x channel block), the
 * reduction in blocks of CONV_KC (even, so pairs never straddle blocks).
 * When the plan splits the channels into several blocks (few pixel tasks:
 * small maps), every panel would be packed once per channel block, so B is
 * packed whole first (it is small then), by all workers, and the tasks read
 * it; the arithmetic, and so the bits, are the same either way.
 */
#include <stdatomic.h>
#include <string.h>

#include "core/alloc.h"
#include "fast/bf16.h"
#include "fast/conv_batch.h"
#include "fast/conv_bf16.h"

enum { KC = CONV_KC };
#define PREPACK_MAX ((size_t)16 << 20) /* words of B packed whole at most (64 MB) */
_Static_assert(CONV_KC % 2 == 0, "bf16 pairs must not straddle reduction blocks");

dpsim_status packed_conv_init_bf16(packed_conv *p, const conv2d_shape *s, const float *weight,
                                   const float *bias, const gemm_kernel *kern, errbuf *e)
{
    const int mr = kern->mr, kt = s->in_ch * s->kernel * s->kernel, kp = (kt + 1) / 2;
    const int panels = (s->out_ch + mr - 1) / mr;
    memset(p, 0, sizeof *p);
    const size_t words = (size_t)panels * mr * kp;
    p->a_bf16 = dp_malloc_dense(words * sizeof(uint32_t)); /* written whole below */
    p->bias = dp_calloc((size_t)s->out_ch, sizeof(float));
    if (!p->a_bf16 || !p->bias) {
        packed_conv_free(p);
        return err_set(e, DPSIM_E_NOMEM, "out of memory for packed convolution weights");
    }
    if (bias)
        memcpy(p->bias, bias, (size_t)s->out_ch * sizeof(float));
    memset(p->a_bf16, 0, words * sizeof(uint32_t)); /* rows past out_ch stay zero */
    for (int oc = 0; oc < s->out_ch; oc++) {
        uint32_t *dst = p->a_bf16 + (size_t)(oc / mr) * mr * kp + oc % mr; /* stride mr */
        const float *src = weight + (size_t)oc * kt;
        for (int q = 0; q < kp; q++)
            dst[(size_t)q * mr] = bf16_pair(src[2 * q], 2 * q + 1 < kt ? src[2 * q + 1] : 0.0f);
    }
    p->shape = p->run = *s;
    p->kern = kern;
    p->k_total = kt;
    atomic_init(&p->u, NULL);
    return DPSIM_OK;
}

typedef struct bf16_job {
    const packed_conv *p;
    const float *const *in; /* n inputs (in_ch, h, w) */
    float *const *out;      /* n outputs (out_ch, ho, wo) */
    int n, h, w, ho, wo, relu;
    conv_plan plan;         /* over n * ho * wo columns */
    int k_blocks;           /* ceil(k_total / KC) */
    uint32_t *packed;       /* NULL, or B packed whole: (pixel task, k block, panel) panels */
    atomic_int next, next_pack;
} bf16_job;

/* A run of a panel's columns on one output row of one image: slots [slot, slot+len). */
typedef struct column_run {
    const float *image; /* (in_ch, h, w) */
    int slot, len, oy, ox;
} column_run;

static int column_runs(const bf16_job *job, int g, int valid, column_run *runs)
{
    const int plane = job->ho * job->wo;
    int count = 0;
    for (int slot = 0; slot < valid;) {
        const int b = (g + slot) / plane, j = (g + slot) % plane;
        const int oy = j / job->wo, ox = j % job->wo;
        const int len = job->wo - ox < valid - slot ? job->wo - ox : valid - slot;
        runs[count++] = (column_run){job->in[b], slot, len, oy, ox};
        slot += len;
    }
    return count;
}

/*
 * Row (ic, ky, kx) of B over the panel's columns (valid of nr, zeros after):
 * a pointer into the input when it is one contiguous run there, else
 * gathered into tmp (nr).
 */
static inline const float *panel_row(const bf16_job *job, const column_run *runs, int n_runs,
                                     int valid, int ic, int ky, int kx, float *tmp)
{
    const conv2d_shape *s = &job->p->shape;
    const int st = s->stride, pad = s->pad, h = job->h, w = job->w, nr = job->p->kern->nr;
    if (n_runs == 1 && valid == nr && st == 1) {
        const int iy = runs[0].oy - pad + ky, x0 = runs[0].ox - pad + kx;
        if (iy >= 0 && iy < h && x0 >= 0 && x0 + nr <= w)
            return runs[0].image + ((size_t)ic * h + iy) * w + x0;
    }
    for (int i = 0; i < n_runs; i++) {
        const column_run *run = &runs[i];
        float *d = tmp + run->slot;
        const int iy = run->oy * st - pad + ky, x0 = run->ox * st - pad + kx;
        if (iy < 0 || iy >= h) {
            memset(d, 0, (size_t)run->len * sizeof(float));
            continue;
        }
        const float *row = run->image + ((size_t)ic * h + iy) * w; /* (w) */
        if (st == 1) {
            int lo = -x0 > 0 ? -x0 : 0, hi = w - x0 < run->len ? w - x0 : run->len;
            if (lo > run->len)
                lo = run->len;
            if (hi < lo)
                hi = lo;
            memset(d, 0, (size_t)lo * sizeof(float));
            memcpy(d + lo, row + x0 + lo, (size_t)(hi - lo) * sizeof(float));
            memset(d + hi, 0, (size_t)(run->len - hi) * sizeof(float));
        } else {
            for (int q = 0; q < run->len; q++) {
                const int ix = x0 + q * st;
                d[q] = ix >= 0 && ix < w ? row[ix] : 0.0f;
            }
        }
    }
    memset(tmp + valid, 0, (size_t)(nr - valid) * sizeof(float));
    return tmp;
}

/* dst (ceil(kc / 2), nr) pairs: reduction steps [k0, k0 + kc) of the panel's columns */
static void pack_panel(const bf16_job *job, int g, int valid, int k0, int kc, uint32_t *dst)
{
    const gemm_kernel *kern = job->p->kern;
    const int nr = kern->nr, k = job->p->shape.kernel;
    column_run runs[GEMM_MAX_NR];
    float tmp[2][GEMM_MAX_NR];
    const int n_runs = column_runs(job, g, valid, runs);
    int ic = k0 / (k * k), ky = k0 % (k * k) / k, kx = k0 % k; /* of row k0 + t, stepped */
    for (int t = 0; t < kc; t += 2) {
        const float *r[2] = {NULL, NULL};
        for (int half = 0; half < 2 && t + half < kc; half++) {
            r[half] = panel_row(job, runs, n_runs, valid, ic, ky, kx, tmp[half]);
            if (++kx == k) {
                kx = 0;
                if (++ky == k) {
                    ky = 0;
                    ic++;
                }
            }
        }
        kern->pack_bf16(r[0], r[1], nr, dst + (size_t)(t / 2) * nr);
    }
}

/* Panel q of reduction block kb of pixel task pix in job->packed: (KC / 2, nr) pairs. */
static uint32_t *packed_panel(const bf16_job *job, int pix, int kb, int q)
{
    const size_t panel = (size_t)KC / 2 * job->p->kern->nr;
    return job->packed + (((size_t)pix * job->k_blocks + kb) * CONV_NC_PANELS + q) * panel;
}

static void pack_worker(void *arg, int worker)
{
    bf16_job *job = arg;
    const int nr = job->p->kern->nr, nc = CONV_NC_PANELS * nr, kt = job->p->k_total;
    const int total = job->plan.pix_tasks * job->k_blocks * CONV_NC_PANELS;
    (void)worker;
    for (int i; (i = atomic_fetch_add(&job->next_pack, 1)) < total;) {
        const int pix = i / (job->k_blocks * CONV_NC_PANELS);
        const int kb = i / CONV_NC_PANELS % job->k_blocks, q = i % CONV_NC_PANELS;
        const int g = pix * nc + q * nr, k0 = kb * KC;
        if (g >= job->plan.n_pix)
            continue;
        const int valid = job->plan.n_pix - g < nr ? job->plan.n_pix - g : nr;
        pack_panel(job, g, valid, k0, kt - k0 < KC ? kt - k0 : KC, packed_panel(job, pix, kb, q));
    }
}

static void run_task(const bf16_job *job, int task, int worker)
{
    const packed_conv *p = job->p;
    const gemm_kernel *kern = p->kern;
    const int mr = kern->mr, nr = kern->nr, kt = p->k_total, kpt = (kt + 1) / 2;
    const int nc = CONV_NC_PANELS * nr;
    const conv_task t = conv_task_at(p, &job->plan, task, worker);
    uint32_t *scratch = (uint32_t *)(void *)t.panel; /* (KC / 2, nr) pairs in (KC, nr) floats */
    for (int k0 = 0; k0 < kt; k0 += KC) {
        const int kc = kt - k0 < KC ? kt - k0 : KC, kp = (kc + 1) / 2;
        int flags = k0 == 0 ? GEMM_FIRST : 0;
        if (k0 + kc == kt && job->relu)
            flags |= GEMM_RELU;
        for (int q = 0; q < t.n_panels; q++) {
            const int valid = t.n_pix - q * nr < nr ? t.n_pix - q * nr : nr;
            const uint32_t *panel = scratch;
            if (job->packed)
                panel = packed_panel(job, task % job->plan.pix_tasks, k0 / KC, q);
            else
                pack_panel(job, t.j0 + q * nr, valid, k0, kc, scratch);
            for (int m = t.m0; m < t.m_end; m += mr)
                kern->tile_bf16(kp, p->a_bf16 + (size_t)(m / mr) * mr * kpt + (size_t)k0 / 2 * mr,
                                panel, t.block + (size_t)(m - t.m0) * nc + q * nr, (size_t)nc,
                                t.m_end - m < mr ? t.m_end - m : mr, valid, p->bias + m, flags);
        }
    }
    conv_scatter_block(job->out, job->ho * job->wo, t.block, nc, t.m0, t.m_end, t.j0,
                       t.n_pix);
}

static void bf16_worker(void *arg, int worker)
{
    bf16_job *job = arg;
    for (int t; (t = atomic_fetch_add(&job->next, 1)) < job->plan.tasks;)
        run_task(job, t, worker);
}

dpsim_status conv_bf16_forward(const packed_conv *p, int n, const float *const *in, int h, int w,
                               float *const *out, int relu, worker_pool *workers,
                               conv_buffers *buf, errbuf *e)
{
    bf16_job job = {.p = p, .in = in, .out = out, .n = n, .h = h, .w = w, .relu = relu};
    job.ho = conv2d_out_size(&p->shape, h);
    job.wo = conv2d_out_size(&p->shape, w);
    if (job.ho <= 0 || job.wo <= 0)
        return DPSIM_OK;
    dpsim_status s = conv_plan_make(p, n * job.ho * job.wo, workers, buf, &job.plan, e);
    if (s != DPSIM_OK)
        return s;
    job.k_blocks = (p->k_total + KC - 1) / KC;
    const size_t words = (size_t)job.plan.pix_tasks * job.k_blocks * CONV_NC_PANELS * (KC / 2) *
                         p->kern->nr;
    if (job.plan.mc < p->shape.out_ch && words <= PREPACK_MAX) {
        /* the padded-input buffer is free in bf16: it holds the packed B */
        if (!conv_buffer_reserve((void **)&buf->padded, &buf->padded_cap, words, sizeof(float)))
            return err_set(e, DPSIM_E_NOMEM, "out of memory for a convolution's packed input");
        job.packed = (uint32_t *)(void *)buf->padded;
        atomic_init(&job.next_pack, 0);
        pool_run(workers, pack_worker, &job);
    }
    atomic_init(&job.next, 0);
    pool_run(workers, bf16_worker, &job);
    return DPSIM_OK;
}
