/*
 * conv_fast.c - the blocked GEMM convolution of conv_fast.h.
 *
 * Patch matrix B (in_ch*k*k, pixels): for stride 1 it is never packed. The
 * input is copied once with its zero padding (in_ch, h + 2p, w + 2p); the
 * outputs are computed on "virtual pixels" that run along the padded rows
 * (Ho rows of w + 2p, the last 2p of each row discarded), so that row k =
 * (ic, ky, kx) of B is a contiguous run of the padded input starting at
 * offsets[k] = (ic (h + 2p) + ky) (w + 2p) + kx, read in place by the tile
 * kernels. Other strides pack panels of patches (pack_panel).
 *
 * Blocking: a task is (NC virtual pixels) x (MC output channels), MC all
 * channels unless that leaves too few tasks to share among the workers;
 * within it the reduction runs in blocks of KC steps, and every channel
 * tile of the task streams its weights (KC, mr) past one pixel panel
 * (KC, nr). A task accumulates into its own output block and then moves
 * the real pixels to out. KC is fixed, so the order of each output's sum
 * never changes.
 */
#include <stdatomic.h>
#include <string.h>

#include "core/alloc.h"
#include "fast/conv_bf16.h"
#include "fast/conv_fast.h"
#include "fast/conv_wino.h"

enum { KC = CONV_KC };

/* Whether p's shape s runs in space-to-depth form (conv_fast.h). */
static int use_s2d(const conv2d_shape *s)
{
    const long kb = (s->kernel + s->stride - 1) / s->stride, direct = (long)s->kernel * s->kernel;
    const long blocked = (long)s->stride * s->stride * kb * kb;
    return s->stride > 1 && blocked * 100 <= direct * CONV_S2D_GROWTH_PCT;
}

/* weight (out_ch, in_ch, k, k) in space-to-depth form: (out_ch, in_ch * st^2, kb, kb) */
static float *s2d_weights(const conv2d_shape *s, const conv2d_shape *run, const float *weight)
{
    const int k = s->kernel, st = s->stride, kb = run->kernel, kt = run->in_ch * kb * kb;
    float *w = dp_malloc((size_t)s->out_ch * kt * sizeof(float));
    if (!w)
        return NULL;
    for (int oc = 0; oc < s->out_ch; oc++)
        for (int c = 0; c < run->in_ch; c++) {
            const int ic = c / (st * st), ry = c / st % st, rx = c % st;
            for (int by = 0; by < kb; by++)
                for (int bx = 0; bx < kb; bx++) {
                    const int ky = by * st + ry, kx = bx * st + rx;
                    w[((size_t)oc * run->in_ch + c) * kb * kb + by * kb + bx] =
                        ky < k && kx < k ? weight[(((size_t)oc * s->in_ch + ic) * k + ky) * k + kx]
                                         : 0.0f;
                }
        }
    return w;
}

/* dst (ceil(out_ch / mr), kt, mr) = weight (out_ch, kt) in panels of mr rows, past out_ch zero */
static void pack_panels(const float *weight, int out_ch, int kt, int mr, float *dst)
{
    for (int oc0 = 0; oc0 < out_ch; oc0 += mr) { /* written in order: panel, k, row */
        const int rows = out_ch - oc0 < mr ? out_ch - oc0 : mr;
        const float *src = weight + (size_t)oc0 * kt;
        for (int k = 0; k < kt; k++, dst += mr) {
            for (int i = 0; i < rows; i++)
                dst[i] = src[(size_t)i * kt + k];
            for (int i = rows; i < mr; i++)
                dst[i] = 0.0f;
        }
    }
}

/* p's shape and what runs (its space-to-depth form where use_s2d), and its own bias: all but
   a and kern */
static dpsim_status init_shape(packed_conv *p, const conv2d_shape *s, const float *bias,
                               errbuf *e)
{
    memset(p, 0, sizeof *p);
    p->shape = p->run = *s;
    atomic_init(&p->u, NULL);
    if (use_s2d(s)) {
        const int st = s->stride;
        p->s2d = st;
        p->run = (conv2d_shape){s->in_ch * st * st, s->out_ch, (s->kernel + st - 1) / st, 1, 0};
    }
    p->k_total = p->run.in_ch * p->run.kernel * p->run.kernel;
    if (!(p->bias = dp_calloc((size_t)s->out_ch, sizeof(float))))
        return err_set(e, DPSIM_E_NOMEM, "out of memory for packed convolution weights");
    if (bias)
        memcpy(p->bias, bias, (size_t)s->out_ch * sizeof(float));
    return DPSIM_OK;
}

dpsim_status packed_conv_init(packed_conv *p, const conv2d_shape *s, const float *weight,
                              const float *bias, const gemm_kernel *kern, errbuf *e)
{
    if (kern->tile_bf16)
        return packed_conv_init_bf16(p, s, weight, bias, kern, e);
    float *blocked = NULL;
    dpsim_status st = init_shape(p, s, bias, e);
    const int mr = kern->mr, panels = (s->out_ch + mr - 1) / mr;
    if (st == DPSIM_OK && p->s2d && !(weight = blocked = s2d_weights(s, &p->run, weight)))
        st = err_set(e, DPSIM_E_NOMEM, "out of memory for packed convolution weights");
    if (st == DPSIM_OK &&
        !(p->a = dp_malloc_dense((size_t)panels * mr * p->k_total * sizeof(float))))
        st = err_set(e, DPSIM_E_NOMEM, "out of memory for packed convolution weights");
    if (st == DPSIM_OK) {
        pack_panels(weight, s->out_ch, p->k_total, mr, p->a);
        p->kern = kern; /* set once packed: a failed packing leaves none */
    } else {
        packed_conv_free(p);
    }
    dp_free(blocked);
    return st;
}

dpsim_status packed_conv_init_in_place(packed_conv *p, const conv2d_shape *s, float *weight,
                                       const float *bias, const gemm_kernel *kern, float *tmp,
                                       errbuf *e)
{
    if (kern->tile_bf16 || use_s2d(s) || s->out_ch % kern->mr) /* the packing's size differs */
        return packed_conv_init(p, s, weight, bias, kern, e);
    dpsim_status st = init_shape(p, s, bias, e);
    if (st != DPSIM_OK) {
        packed_conv_free(p);
        return st;
    }
    /* panel q (k_total, mr) lies where rows q mr.. (mr, k_total) were: each one in turn */
    const size_t panel = (size_t)kern->mr * p->k_total;
    for (float *rows = weight; rows < weight + (size_t)s->out_ch * p->k_total; rows += panel) {
        memcpy(tmp, rows, panel * sizeof(float));
        pack_panels(tmp, kern->mr, p->k_total, kern->mr, rows);
    }
    p->a = weight;
    p->a_in_place = 1;
    p->kern = kern;
    return DPSIM_OK;
}

int conv_fast_direct(const packed_conv *p, int h, int w)
{
    return packed_conv_is_bf16(p) || !conv_wino_wins(p, h, w);
}

void packed_conv_free(packed_conv *p)
{
    if (!p->a_in_place)
        dp_free(p->a);
    dp_free(atomic_load(&p->u));
    dp_free(p->bias);
    dp_free(p->a_bf16);
    memset(p, 0, sizeof *p); /* kern NULL too: nothing packed (model_grad_prepare tests it) */
    atomic_init(&p->u, NULL);
}

void conv_buffers_free(conv_buffers *b)
{
    dp_free(b->padded);
    dp_free(b->offsets);
    dp_free(b->scratch);
    dp_free(b->grad_res);
    dp_free(b->u);
    dp_free(b->grad_u);
    memset(b, 0, sizeof *b);
}

/* *ptr = fresh (n elements, or NULL: 0 when out of memory), the old buffer freed */
static int replace(void **ptr, size_t *cap, size_t n, void *fresh)
{
    if (!fresh)
        return 0;
    dp_free(*ptr);
    *ptr = fresh;
    *cap = n;
    return 1;
}

int conv_buffer_reserve(void **ptr, size_t *cap, size_t n, size_t size)
{
    return n <= *cap || replace(ptr, cap, n, dp_calloc(n, size));
}

int conv_buffer_reserve_dense(float **ptr, size_t *cap, size_t n)
{
    return n <= *cap || replace((void **)ptr, cap, n, dp_malloc_dense(n * sizeof(float)));
}

/* A run of a panel's pixels on one output row: panel slots [slot, slot+len), columns ox.. */
typedef struct pixel_run {
    int slot, len, oy, ox;
} pixel_run;

typedef struct conv_job {
    const packed_conv *p;
    const conv2d_shape *s;    /* what runs: p->run */
    const float *in;          /* (s->in_ch, h, w): the input, or its padded or
                               * space-to-depth form */
    float *out;               /* (out_ch, ho, wo) */
    int h, w, ho, wo, relu;
    int in_place;             /* stride 1: B read from `in` through offsets */
    int row;                  /* virtual pixels per output row: the padded width, or wo */
    size_t in_floats;         /* of `in`: reads past it are packed instead */
    const ptrdiff_t *offsets; /* (k_total), in_place only */
    conv_plan plan;           /* over ho * row virtual pixels */
    atomic_int next;
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
 * Pack patches of one panel of a strided convolution: dst (kc, nr) for
 * reduction steps [k0, k0+kc) of the n_valid pixels from j (slots past them zero).
 */
static void pack_panel(const conv_job *job, int j, int n_valid, int k0, int kc, float *dst)
{
    const conv2d_shape *s = job->s;
    const int nr = job->p->kern->nr, k = s->kernel, kk2 = k * k, st = s->stride, pad = s->pad;
    const int h = job->h, w = job->w;
    pixel_run runs[GEMM_MAX_NR];
    const int n_runs = pixel_runs(j, n_valid, job->wo, runs);
    for (int t = 0; t < kc; t++) {
        const int kidx = k0 + t, ic = kidx / kk2, ky = kidx % kk2 / k, kx = kidx % k;
        const float *plane = job->in + (size_t)ic * h * w; /* (h, w) */
        float *d = dst + (size_t)t * nr;
        for (int r = 0; r < n_runs; r++) {
            const pixel_run *run = &runs[r];
            float *dr = d + run->slot;
            const int iy = run->oy * st - pad + ky;
            if (iy < 0 || iy >= h) {
                for (int q = 0; q < run->len; q++)
                    dr[q] = 0.0f;
                continue;
            }
            const float *row = plane + (size_t)iy * w;
            for (int q = 0; q < run->len; q++) {
                const int ix = (run->ox + q) * st - pad + kx;
                dr[q] = ix >= 0 && ix < w ? row[ix] : 0.0f;
            }
        }
        for (int q = n_valid; q < nr; q++)
            d[q] = 0.0f;
    }
}

/* Copy one in-place panel that would read past the input: dst (kc, nr), zero beyond it. */
static void pack_in_place(const conv_job *job, int j, int k0, int kc, float *dst)
{
    const int nr = job->p->kern->nr;
    for (int t = 0; t < kc; t++) {
        const ptrdiff_t start = job->offsets[k0 + t] + j;
        for (int q = 0; q < nr; q++)
            dst[(size_t)t * nr + q] =
                (size_t)(start + q) < job->in_floats ? job->in[start + q] : 0.0f;
    }
}

static void run_task(const conv_job *job, int task, int worker)
{
    const packed_conv *p = job->p;
    const int nr = p->kern->nr, kt = p->k_total;
    const conv_task t = conv_task_at(p, &job->plan, task, worker);
    for (int k0 = 0; k0 < kt; k0 += KC) {
        const int kc = kt - k0 < KC ? kt - k0 : KC;
        for (int q = 0; q < t.n_panels; q++) {
            const int j = t.j0 + q * nr, valid = t.n_pix - q * nr < nr ? t.n_pix - q * nr : nr;
            const float *b = t.panel;
            const ptrdiff_t *boff = NULL;
            if (!job->in_place) {
                pack_panel(job, j, valid, k0, kc, t.panel);
            } else if ((size_t)(job->offsets[k0 + kc - 1] + j + nr) <= job->in_floats) {
                b = job->in + j;
                boff = job->offsets + k0;
            } else {
                pack_in_place(job, j, k0, kc, t.panel);
            }
            conv_task_tiles(p, &t, q, k0, kc, b, boff, job->relu);
        }
    }
    /* the real pixels of the block to out */
    const int nc = CONV_NC_PANELS * nr;
    for (int m = t.m0; m < t.m_end; m++) {
        const float *src = t.block + (size_t)(m - t.m0) * nc;
        float *dst = job->out + (size_t)m * job->ho * job->wo;
        for (int v = 0; v < t.n_pix;) {
            const int oy = (t.j0 + v) / job->row, ox = (t.j0 + v) % job->row;
            int len = job->row - ox < t.n_pix - v ? job->row - ox : t.n_pix - v;
            if (ox < job->wo)
                memcpy(dst + (size_t)oy * job->wo + ox, src + v,
                       (size_t)(len < job->wo - ox ? len : job->wo - ox) * sizeof(float));
            v += len;
        }
    }
}

static void conv_worker(void *arg, int worker)
{
    conv_job *job = arg;
    for (int t; (t = atomic_fetch_add(&job->next, 1)) < job->plan.tasks;)
        run_task(job, t, worker);
}

dpsim_status conv_plan_make(const packed_conv *p, int n_pix, worker_pool *workers,
                            conv_buffers *buf, conv_plan *plan, errbuf *e)
{
    const int mr = p->kern->mr, nc = CONV_NC_PANELS * p->kern->nr, oc_n = p->shape.out_ch;
    const int mc_cap = (CONV_MC_MAX + mr - 1) / mr * mr; /* the largest block of channels */
    plan->n_pix = n_pix;
    plan->scratch_per_worker = (size_t)KC * p->kern->nr + (size_t)mc_cap * nc;
    if (!conv_buffer_reserve((void **)&buf->scratch, &buf->scratch_cap,
                             (size_t)pool_size(workers) * plan->scratch_per_worker,
                             sizeof(float)))
        return err_set(e, DPSIM_E_NOMEM, "out of memory for a convolution");
    plan->scratch = buf->scratch;
    plan->pix_tasks = (n_pix + nc - 1) / nc;
    plan->mc = conv_channel_block(oc_n, mr, plan->pix_tasks, pool_size(workers));
    plan->tasks = plan->pix_tasks * ((oc_n + plan->mc - 1) / plan->mc);
    return DPSIM_OK;
}

conv_task conv_task_at(const packed_conv *p, const conv_plan *plan, int task, int worker)
{
    const int nr = p->kern->nr, nc = CONV_NC_PANELS * nr, oc_n = p->shape.out_ch;
    conv_task t;
    t.j0 = task % plan->pix_tasks * nc;
    t.n_pix = plan->n_pix - t.j0 < nc ? plan->n_pix - t.j0 : nc;
    t.n_panels = (t.n_pix + nr - 1) / nr;
    t.m0 = task / plan->pix_tasks * plan->mc;
    t.m_end = t.m0 + plan->mc < oc_n ? t.m0 + plan->mc : oc_n;
    t.panel = plan->scratch + (size_t)worker * plan->scratch_per_worker;
    t.block = t.panel + (size_t)KC * nr;
    return t;
}

void conv_task_tiles(const packed_conv *p, const conv_task *t, int q, int k0, int kc,
                     const float *b, const ptrdiff_t *boff, int relu)
{
    const gemm_kernel *kern = p->kern;
    const int mr = kern->mr, nr = kern->nr, kt = p->k_total, nc = CONV_NC_PANELS * nr;
    const int valid = t->n_pix - q * nr < nr ? t->n_pix - q * nr : nr;
    int flags = (k0 == 0 ? GEMM_FIRST : 0) | GEMM_ROOM; /* the block has nc columns */
    if (k0 + kc == kt && relu)
        flags |= GEMM_RELU;
    for (int m = t->m0; m < t->m_end; m += mr)
        kern->tile(kc, p->a + (size_t)(m / mr) * mr * kt + (size_t)k0 * mr, b, (size_t)nr, boff,
                   t->block + (size_t)(m - t->m0) * nc + q * nr, (size_t)nc,
                   t->m_end - m < mr ? t->m_end - m : mr, valid, p->bias + m, flags);
}

void conv_scatter_block(float *const *out, int plane, const float *block, int nc, int m0,
                        int m_end, int g0, int n_pix)
{
    for (int v = 0; v < n_pix;) {
        const int g = g0 + v, b = g / plane, j = g % plane;
        const int len = plane - j < n_pix - v ? plane - j : n_pix - v;
        for (int m = m0; m < m_end; m++)
            memcpy(out[b] + (size_t)m * plane + j, block + (size_t)(m - m0) * nc + v,
                   (size_t)len * sizeof(float));
        v += len;
    }
}

/* The zero-padded input (c, hp, wp): in at rows and columns from pad, zeros elsewhere. */
typedef struct pad_job {
    const float *in;
    float *padded;
    int c, h, w, pad, hp, wp, workers;
} pad_job;

static void pad_worker(void *arg, int worker)
{
    const pad_job *pj = arg;
    const int hp = pj->hp, wp = pj->wp, pad = pj->pad;
    for (int c = worker; c < pj->c; c += pj->workers)
        for (int y = 0; y < hp; y++) {
            float *dst = pj->padded + ((size_t)c * hp + y) * wp; /* (wp) */
            if (y < pad || y >= pad + pj->h) {
                memset(dst, 0, (size_t)wp * sizeof(float));
                continue;
            }
            memset(dst, 0, (size_t)pad * sizeof(float));
            memcpy(dst + pad, pj->in + ((size_t)c * pj->h + y - pad) * pj->w,
                   (size_t)pj->w * sizeof(float));
            memset(dst + pad + pj->w, 0, (size_t)(wp - pad - pj->w) * sizeof(float));
        }
}

void conv_pad_input(const float *in, int c, int h, int w, int pad, int hp, int wp, float *padded,
                    worker_pool *workers)
{
    pad_job pj = {in, padded, c, h, w, pad, hp, wp, pool_size(workers)};
    pool_run(workers, pad_worker, &pj);
}

/* The space-to-depth input (conv_space_to_depth), its channels split over the workers. */
typedef struct s2d_job {
    const packed_conv *p;
    const float *in;
    float *dst;
    int h, w, hs, ws, workers;
} s2d_job;

static void s2d_worker(void *arg, int worker)
{
    const s2d_job *sj = arg;
    const int st = sj->p->s2d, pad = sj->p->shape.pad, h = sj->h, w = sj->w;
    for (int c = worker; c < sj->p->run.in_ch; c += sj->workers) {
        const int ic = c / (st * st), ry = c / st % st, rx = c % st;
        const float *plane = sj->in + (size_t)ic * h * w; /* (h, w) */
        for (int y = 0; y < sj->hs; y++) {
            float *dst = sj->dst + ((size_t)c * sj->hs + y) * sj->ws; /* (ws) */
            const int iy = y * st + ry - pad;
            for (int x = 0; x < sj->ws; x++) {
                const int ix = x * st + rx - pad;
                dst[x] = iy >= 0 && iy < h && ix >= 0 && ix < w ? plane[(size_t)iy * w + ix] : 0.0f;
            }
        }
    }
}

size_t conv_s2d_floats(const packed_conv *p, int ho, int wo)
{
    const int kb = p->run.kernel;
    return (size_t)p->run.in_ch * (size_t)(ho + kb - 1) * (size_t)(wo + kb - 1);
}

void conv_space_to_depth(const packed_conv *p, const float *in, int h, int w, int ho, int wo,
                         float *dst, worker_pool *workers)
{
    s2d_job sj = {p, in, dst, h, w, ho + p->run.kernel - 1, wo + p->run.kernel - 1,
                  pool_size(workers)};
    pool_run(workers, s2d_worker, &sj);
}

int conv_channel_block(int oc_n, int mr, int other_tasks, int workers)
{
    const int want = workers > 1 ? CONV_TASKS_PER_WORKER * workers : 1;
    int mc = ((oc_n < CONV_MC_MAX ? oc_n : CONV_MC_MAX) + mr - 1) / mr * mr;
    while (mc > CONV_MC_MIN && other_tasks * ((oc_n + mc - 1) / mc) < want)
        mc = (mc / 2 + mr - 1) / mr * mr;
    return mc;
}

/* A stride-1 convolution's job->in made readable in place (padded), and B's row offsets. */
static dpsim_status prepare_in_place(conv_job *job, conv_buffers *buf, worker_pool *workers,
                                     errbuf *e)
{
    const conv2d_shape *s = job->s;
    const int k = s->kernel, pad = s->pad, hp = job->h + 2 * pad, wp = job->w + 2 * pad;
    job->in_floats = (size_t)s->in_ch * hp * wp;
    if (!conv_buffer_reserve((void **)&buf->offsets, &buf->offsets_cap, (size_t)job->p->k_total,
                 sizeof(ptrdiff_t)))
        return err_set(e, DPSIM_E_NOMEM, "out of memory for a convolution");
    for (int r = 0; r < job->p->k_total; r++) {
        const int ic = r / (k * k), ky = r % (k * k) / k, kx = r % k;
        buf->offsets[r] = ((ptrdiff_t)ic * hp + ky) * wp + kx;
    }
    job->offsets = buf->offsets;
    job->row = wp;
    if (pad == 0)
        return DPSIM_OK;
    if (!conv_buffer_reserve((void **)&buf->padded, &buf->padded_cap, job->in_floats,
                             sizeof(float)))
        return err_set(e, DPSIM_E_NOMEM, "out of memory for a convolution's padded input");
    conv_pad_input(job->in, s->in_ch, job->h, job->w, pad, hp, wp, buf->padded, workers);
    job->in = buf->padded;
    return DPSIM_OK;
}

dpsim_status conv_fast_forward(const packed_conv *p, const float *in, int h, int w, float *out,
                               int relu, worker_pool *workers, conv_buffers *buf, errbuf *e)
{
    if (packed_conv_is_bf16(p))
        return conv_bf16_forward(p, 1, &in, h, w, &out, relu, workers, buf, e);
    if (!conv_fast_direct(p, h, w))
        return conv_wino_forward(p, in, h, w, out, relu, workers, buf, e);
    conv_job job = {.p = p, .s = &p->run, .in = in, .out = out, .h = h, .w = w, .relu = relu};
    job.ho = conv2d_out_size(&p->shape, h);
    job.wo = conv2d_out_size(&p->shape, w);
    if (job.ho <= 0 || job.wo <= 0)
        return DPSIM_OK;
    if (p->s2d) {
        if (!conv_buffer_reserve((void **)&buf->padded, &buf->padded_cap,
                                 conv_s2d_floats(p, job.ho, job.wo), sizeof(float)))
            return err_set(e, DPSIM_E_NOMEM, "out of memory for a convolution's input");
        conv_space_to_depth(p, in, h, w, job.ho, job.wo, buf->padded, workers);
        job.in = buf->padded;
        job.h = job.ho + p->run.kernel - 1;
        job.w = job.wo + p->run.kernel - 1;
    }
    job.in_place = job.s->stride == 1;
    job.row = job.wo;
    if (job.in_place) {
        dpsim_status s = prepare_in_place(&job, buf, workers, e);
        if (s != DPSIM_OK)
            return s;
    }
    dpsim_status s = conv_plan_make(p, job.ho * job.row, workers, buf, &job.plan, e);
    if (s != DPSIM_OK)
        return s;
    atomic_init(&job.next, 0);
    pool_run(workers, conv_worker, &job);
    return DPSIM_OK;
}
