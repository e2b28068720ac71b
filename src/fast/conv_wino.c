/*
 * conv_wino.c - Winograd F(2x2, 3x3) convolution (conv_wino.h).
 *
 * The input is zero-padded to whole tiles (in_ch, 2 th + 2, 2 tw + 2). A task
 * transforms its block of tiles into V (E, in_ch, nt) in the worker's
 * scratch, then, a few channel panels at a time, runs the E GEMMs into
 * M (E, mb, nt) and transforms M back into out, adding bias and ReLU there
 * (the GEMMs start from zero). The weights are transformed from the direct
 * packing (panels of mr channels) into U (E, panels, in_ch, mr): a small
 * layer's once, on first use, then kept beside it (small inputs still run
 * direct); a large one's on each call (WINO_KEEP_FLOATS).
 *
 * Tiles of 2x2 (points 0, 1, -1), not 4x4: F(4x4, 3x3) needs 4/9 of these
 * multiply-adds but rounds 3-4x worse than the direct convolution (its
 * transforms cancel large terms; with the best points, 0, +-1, 1/2, -2, the
 * error was still 3.4e-6 of the peak output against ~1e-6 in test_fast.c),
 * which put a deep VGG tap past 1e-5 of PyTorch (vgg_rnd_sort_64x64 in
 * tests/vectors/methods.txt: 1.02e-5, direct 4.95e-6). F(2x2, 3x3) rounds no
 * worse than the direct convolution.
 *
 * A 5x5 kernel (AlexNet's second layer) runs as 2x2 groups of 3x3 ones, its
 * kernel padded with zeros to 6x6: group (a, b) is rows 3a.. and columns
 * 3b.. of it, applied to the input shifted by (3a, 3b). The groups become
 * input channels (in_ch * 4 of them, group-major), so the GEMMs and output
 * transforms are the 3x3 ones; the input transform reads each group's patches
 * at its shift. 64 multiply-adds per 2x2 outputs and channel against the
 * direct 100: that layer ran 16-20% faster (alone, one thread, 31x31 and 63x63).
 */
#include <stdatomic.h>
#include <string.h>

#include "core/alloc.h"
#include "fast/conv_wino.h"

/*
 * The transforms are plain C, inlined into one copy per vector width
 * (transform_input_avx512, ..._avx2, or the body itself), picked by the kernel's
 * level, so $DPSIM_ISA forces them too. Not target_clones: its ifunc
 * resolvers run before a sanitizer's runtime is up and crash TSan builds.
 */
#define INLINE static inline __attribute__((always_inline))

enum {
    T = WINO_OUT,
    A = WINO_IN,
    E = WINO_ELEMS,
    KC = CONV_KC,      /* reduction steps (input channels) per block */
    NT_PANELS = 2,     /* tile panels (of nr tiles) per task */
    MB_PANELS = 4,     /* channel panels (of mr) per pass over a task's V */
    IC_STEP = 32,      /* input channels per task of a shared input transform */
    MIN_CH = 64,       /* fewer input or output channels: direct */
    MIN_TILES = 64,    /* fewer tiles (outputs under about 16x16): direct */
    MAX_PAIRS = 512 * 512, /* every VGG layer: its 512x512 layers (80% of its
                            * weights) as Winograd made VGG 256x256 ~20% faster
                            * (252-261 against 312-322 ms a pair, 2 threads, quiet
                            * machine). Direct conv5 layers alone (63 MB less peak
                            * RSS, when Winograd's weights were all kept) made that
                            * pair 10% slower */
    NT_MAX = NT_PANELS * GEMM_MAX_NR,
    SKEW = 16          /* floats added to each per-element stride, so that the E
                        * streams of a transform do not alias in the cache */
};

/* 3x3 groups along each side of p's kernel (1 for 3x3, 2 for 5x5), 0 when not Winograd's. */
static int groups_of(const packed_conv *p)
{
    const conv2d_shape *s = &p->shape;
    return s->stride == 1 && (s->kernel == 3 || s->kernel == 5) ? (s->kernel + 2) / 3 : 0;
}

/* The GEMMs' input channels: one per input channel and group. */
static int wino_channels(const packed_conv *p)
{
    const int g = groups_of(p);
    return p->shape.in_ch * g * g;
}

int conv_wino_wins(const packed_conv *p, int h, int w)
{
    const conv2d_shape *s = &p->shape;
    const long ho = conv2d_out_size(s, h), wo = conv2d_out_size(s, w);
    return groups_of(p) && s->in_ch >= MIN_CH && s->out_ch >= MIN_CH &&
           (long)wino_channels(p) * s->out_ch <= MAX_PAIRS && ho > 0 && wo > 0 &&
           (ho + T - 1) / T * ((wo + T - 1) / T) >= MIN_TILES;
}

// ---- the transforms, each on n tiles at once (contiguous, so they vectorise) ----

/* r (4 rows of n at stride rs) = B^T d, d (4 rows of n at stride ds) */
INLINE void input_1d(const float *restrict d, size_t ds, float *restrict r, size_t rs,
                            int n)
{
    for (int q = 0; q < n; q++) {
        const float d1 = d[ds + q], d2 = d[2 * ds + q];
        r[q] = d[q] - d2;
        r[rs + q] = d1 + d2;
        r[2 * rs + q] = d2 - d1;
        r[3 * rs + q] = d1 - d[3 * ds + q];
    }
}

/* r (2 rows of n at stride rs) = A^T m, m (4 rows of n at stride ms) */
INLINE void output_1d(const float *restrict m, size_t ms, float *restrict r, size_t rs,
                             int n)
{
    for (int q = 0; q < n; q++) {
        const float m1 = m[ms + q], m2 = m[2 * ms + q];
        r[q] = m[q] + m1 + m2;
        r[rs + q] = m1 - m2 - m[3 * ms + q];
    }
}

size_t conv_wino_u_stride(const packed_conv *p)
{
    const int mr = p->kern->mr;
    return (size_t)((p->shape.out_ch + mr - 1) / mr) * mr * wino_channels(p) + SKEW;
}

size_t conv_wino_u_floats(const packed_conv *p)
{
    return E * conv_wino_u_stride(p);
}

/*
 * u (E, panels, wino_channels, mr) = G g G^T of the direct packing p->a, per
 * 3x3 group, for panels [panel0, panel1). The mr lanes of a panel (its output
 * channels) lie side by side on both sides, so the transform runs across them
 * at once, in double, each value by the same operations as one at a time: the
 * same bits whichever ISA's copy runs.
 */
INLINE void transform_weights_lanes(const packed_conv *p, int panel0, int panel1, float *u,
                                    const int mr)
{
    const int ci = p->shape.in_ch, k = p->shape.kernel;
    const int groups = groups_of(p), cg = wino_channels(p);
    const size_t stride = conv_wino_u_stride(p);
    for (int panel = panel0; panel < panel1; panel++)
        for (int c = 0; c < cg; c++) {
            const int ic = c % ci, y0 = c / ci / groups * 3, x0 = c / ci % groups * 3;
            const float *w = p->a + ((size_t)panel * p->k_total + (size_t)ic * k * k) * mr;
            double g[9][GEMM_MAX_MR], gg[A * 3][GEMM_MAX_MR]; /* g, then G g (A, 3), per lane */
            for (int y = 0; y < 3; y++) /* the group's 3x3 of the (k, k) kernel, zeros past it */
                for (int x = 0; x < 3; x++) {
                    double *gx = g[y * 3 + x];
                    if (y0 + y < k && x0 + x < k) {
                        const float *wx = w + ((size_t)(y0 + y) * k + x0 + x) * mr;
                        for (int i = 0; i < mr; i++)
                            gx[i] = wx[i];
                    } else {
                        for (int i = 0; i < mr; i++)
                            gx[i] = 0.0;
                    }
                }
            for (int x = 0; x < 3; x++) /* G along y */
                for (int i = 0; i < mr; i++) {
                    const double g0 = g[x][i], g1 = g[3 + x][i], g2 = g[6 + x][i];
                    gg[x][i] = g0;
                    gg[3 + x][i] = 0.5 * (g0 + g1 + g2);
                    gg[6 + x][i] = 0.5 * (g0 - g1 + g2);
                    gg[9 + x][i] = g2;
                }
            float *dst = u + ((size_t)panel * cg + c) * mr; /* element (y, x) at (y A + x) stride */
            for (int y = 0; y < A; y++) /* G along x */
                for (int i = 0; i < mr; i++) {
                    const double g0 = gg[y * 3][i], g1 = gg[y * 3 + 1][i], g2 = gg[y * 3 + 2][i];
                    dst[(size_t)(y * A) * stride + i] = (float)g0;
                    dst[(size_t)(y * A + 1) * stride + i] = (float)(0.5 * (g0 + g1 + g2));
                    dst[(size_t)(y * A + 2) * stride + i] = (float)(0.5 * (g0 - g1 + g2));
                    dst[(size_t)(y * A + 3) * stride + i] = (float)g2;
                }
        }
}

/* transform_weights_lanes, its lane loops unrolled for the widest kernel's mr */
INLINE void transform_weights_body(const packed_conv *p, int panel0, int panel1, float *u)
{
    if (p->kern->mr == GEMM_MAX_MR)
        transform_weights_lanes(p, panel0, panel1, u, GEMM_MAX_MR);
    else
        transform_weights_lanes(p, panel0, panel1, u, p->kern->mr);
}

typedef struct wino_job {
    const packed_conv *p;
    const float *u;      /* (E, panels, in_ch, mr): the transformed weights */
    size_t u_stride, v_stride, m_stride; /* floats from one element e of U, V, M to the next */
    const float *padded; /* (in_ch, hp, wp) */
    float *out;          /* (out_ch, ho, wo) */
    int ci, groups;      /* the GEMMs' input channels (wino_channels), groups_of */
    int hp, wp, ho, wo, tw, n_tiles, relu;
    int nt, mb;          /* tiles per task, channels per pass */
    int mc, tile_tasks, tasks, workers;
    float *shared_v;     /* NULL, or the inputs of every block of tiles, transformed once
                          * for all its tasks: (tile_tasks, E, in_ch, nt) */
    atomic_int next;
    float *scratch;
    size_t scratch_per_worker;
} wino_job;

/* The length of the run of tiles from t (of n left) along its row of tw tiles. */
INLINE int tile_run(int t, int n, int tw)
{
    return tw - t % tw < n ? tw - t % tw : n;
}

/*
 * v (E, job->ci, nt) = B^T d B of tiles [t0, t0 + n), GEMM input channels
 * [ic0, ic1) (a channel's group shifts its patches); slots [n, n_up) zero.
 * A run of tiles along a row is done at once: B^T along y over its 4 input
 * rows, which are contiguous, then along x from those rows' even and odd
 * columns (tile k's patch starts at column 2k). The same operations on the
 * same values as B^T on each gathered patch: the same bits.
 */
INLINE void transform_input_body(const wino_job *job, int t0, int n, int n_up, int ic0,
                                 int ic1, float *v)
{
    enum { ROW = T * NT_MAX + A - T }; /* columns of a run's rows at most */
    const int nt = job->nt, wp = job->wp, tw = job->tw, ci = job->p->shape.in_ch;
    const size_t es = job->v_stride;
    float r[A * ROW]; /* (A, ROW): B^T along y of a run's rows */
    for (int ic = ic0; ic < ic1; ic++) {
        const int group = ic / ci, y0 = group / job->groups * 3, x0 = group % job->groups * 3;
        const float *plane = job->padded + ((size_t)(ic % ci) * job->hp + (size_t)y0) * wp +
                             x0; /* (hp, wp), from the group's shift */
        float *vc = v + (size_t)ic * nt; /* element (i, j) at (i A + j) es */
        for (int q = 0, len; q < n; q += len) {
            const int t = t0 + q;
            len = tile_run(t, n - q, tw);
            const float *src = plane + (size_t)(t / tw * T) * wp + t % tw * T;
            input_1d(src, (size_t)wp, r, ROW, T * len + A - T);
            for (int i = 0; i < A; i++) {
                const float *ri = r + i * ROW;
                float *o = vc + (size_t)i * A * es + q;
                for (int k = 0; k < len; k++) { /* input_1d along x, columns 2k .. 2k + 3 */
                    const float e0 = ri[2 * k], o0 = ri[2 * k + 1];
                    const float e1 = ri[2 * k + 2], o1 = ri[2 * k + 3];
                    o[k] = e0 - e1;
                    o[es + k] = o0 + e1;
                    o[2 * es + k] = e1 - o0;
                    o[3 * es + k] = o0 - o1;
                }
            }
        }
        for (int el = 0; el < E; el++) /* the GEMMs' padding */
            for (int k = n; k < n_up; k++)
                vc[el * es + k] = 0.0f;
    }
}

INLINE float finish(float val, float bias, int relu)
{
    val += bias;
    return relu && val < 0.0f ? 0.0f : val;
}

/* out channels [c0, c1), tiles [t0, t0 + n) = A^T M A + bias (ReLU), m (E, mb, nt) */
INLINE void transform_output_body(const wino_job *job, int c0, int c1, int t0, int n,
                                  const float *m)
{
    const int nt = job->nt, ho = job->ho, wo = job->wo, tw = job->tw, relu = job->relu;
    const size_t elem_stride = job->m_stride;
    float r[T * A * NT_MAX], y[T * T * NT_MAX]; /* (T, A, nt): A^T M, then (T, T, nt) */
    for (int oc = c0; oc < c1; oc++) {
        const float bias = job->p->bias ? job->p->bias[oc] : 0.0f;
        float *plane = job->out + (size_t)oc * ho * wo; /* (ho, wo) */
        const float *mc = m + (size_t)(oc - c0) * nt;  /* element (i, j) at (i A + j) elem_stride */
        for (int x = 0; x < A; x++)
            output_1d(mc + x * elem_stride, A * elem_stride, r + x * nt, (size_t)A * nt, n);
        for (int i = 0; i < T; i++)
            output_1d(r + i * A * nt, (size_t)nt, y + i * T * nt, (size_t)nt, n);
        for (int q = 0, len; q < n; q += len) {
            const int t = t0 + q, oy = t / tw * T, ox = t % tw * T;
            len = tile_run(t, n - q, tw);
            const int whole = ox + len * T <= wo ? len : len - 1; /* tiles not cut by the edge */
            for (int i = 0; i < T && oy + i < ho; i++) {
                float *row = plane + (size_t)(oy + i) * wo + ox;
                const float *yi = y + i * T * nt + q; /* (4 of nt): column j at j nt */
                for (int k = 0; k < whole; k++)
                    for (int j = 0; j < T; j++)
                        row[k * T + j] = finish(yi[j * nt + k], bias, relu);
                for (int j = 0; whole < len && ox + whole * T + j < wo; j++)
                    row[whole * T + j] = finish(yi[j * nt + whole], bias, relu);
            }
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx512f"))) static void
transform_input_avx512(const wino_job *job, int t0, int n, int n_up, int ic0, int ic1, float *v)
{
    transform_input_body(job, t0, n, n_up, ic0, ic1, v);
}

__attribute__((target("avx2"))) static void
transform_input_avx2(const wino_job *job, int t0, int n, int n_up, int ic0, int ic1, float *v)
{
    transform_input_body(job, t0, n, n_up, ic0, ic1, v);
}

__attribute__((target("avx512f"))) static void
transform_output_avx512(const wino_job *job, int c0, int c1, int t0, int n, const float *m)
{
    transform_output_body(job, c0, c1, t0, n, m);
}

__attribute__((target("avx512f"))) static void
transform_weights_avx512(const packed_conv *p, int panel0, int panel1, float *u)
{
    transform_weights_body(p, panel0, panel1, u);
}

__attribute__((target("avx2"))) static void
transform_weights_avx2(const packed_conv *p, int panel0, int panel1, float *u)
{
    transform_weights_body(p, panel0, panel1, u);
}

__attribute__((target("avx2"))) static void
transform_output_avx2(const wino_job *job, int c0, int c1, int t0, int n, const float *m)
{
    transform_output_body(job, c0, c1, t0, n, m);
}
#endif

static void transform_input(const wino_job *job, int t0, int n, int n_up, int ic0, int ic1,
                            float *v)
{
#if defined(__x86_64__) || defined(__i386__)
    if (job->p->kern->isa == ISA_AVX512) {
        transform_input_avx512(job, t0, n, n_up, ic0, ic1, v);
        return;
    }
    if (job->p->kern->isa == ISA_AVX2) {
        transform_input_avx2(job, t0, n, n_up, ic0, ic1, v);
        return;
    }
#endif
    transform_input_body(job, t0, n, n_up, ic0, ic1, v);
}

static void transform_output(const wino_job *job, int c0, int c1, int t0, int n, const float *m)
{
#if defined(__x86_64__) || defined(__i386__)
    if (job->p->kern->isa == ISA_AVX512) {
        transform_output_avx512(job, c0, c1, t0, n, m);
        return;
    }
    if (job->p->kern->isa == ISA_AVX2) {
        transform_output_avx2(job, c0, c1, t0, n, m);
        return;
    }
#endif
    transform_output_body(job, c0, c1, t0, n, m);
}

static void transform_weights(const packed_conv *p, int panel0, int panel1, float *u)
{
#if defined(__x86_64__) || defined(__i386__)
    if (p->kern->isa == ISA_AVX512) {
        transform_weights_avx512(p, panel0, panel1, u);
        return;
    }
    if (p->kern->isa == ISA_AVX2) {
        transform_weights_avx2(p, panel0, panel1, u);
        return;
    }
#endif
    transform_weights_body(p, panel0, panel1, u);
}

typedef struct weights_job {
    const packed_conv *p;
    float *u;
    int panels, workers;
} weights_job;

/* the workers' shares of the panels, in contiguous runs */
static void weights_worker(void *arg, int worker)
{
    const weights_job *j = arg;
    transform_weights(j->p, j->panels * worker / j->workers,
                      j->panels * (worker + 1) / j->workers, j->u);
}

/* u (conv_wino_u_floats(p)) = p's transformed weights, the skew between elements zero */
static void make_weights(const packed_conv *p, float *u, worker_pool *workers)
{
    const int mr = p->kern->mr;
    weights_job j = {p, u, (p->shape.out_ch + mr - 1) / mr, pool_size(workers)};
    pool_run(workers, weights_worker, &j);
    const size_t stride = conv_wino_u_stride(p);
    for (int el = 0; el < E; el++)
        memset(u + el * stride + stride - SKEW, 0, SKEW * sizeof(float));
}

const float *conv_wino_weights(const packed_conv *p, worker_pool *workers, conv_buffers *buf)
{
    float *u = atomic_load(&p->u);
    if (u)
        return u;
    const size_t n = conv_wino_u_floats(p);
    if (n > WINO_KEEP_FLOATS) {
        if (!conv_buffer_reserve_dense(&buf->u, &buf->u_cap, n))
            return NULL;
        make_weights(p, buf->u, workers);
        return buf->u;
    }
    float *fresh = dp_malloc_dense(n * sizeof(float));
    if (!fresh)
        return NULL;
    make_weights(p, fresh, workers);
    /* p is shared read-only but for this cache: the first thread to finish publishes */
    if (atomic_compare_exchange_strong(&((packed_conv *)p)->u, &u, fresh))
        return fresh;
    dp_free(fresh); /* another thread's, the same values */
    return u;
}

static void run_task(const wino_job *job, int task, float *scratch)
{
    static const float zeros[GEMM_MAX_MR];
    const packed_conv *p = job->p;
    const gemm_kernel *kern = p->kern;
    const int mr = kern->mr, nr = kern->nr, ci = job->ci, oc_n = p->shape.out_ch;
    const int nt = job->nt, t0 = task % job->tile_tasks * nt;
    const int n = job->n_tiles - t0 < nt ? job->n_tiles - t0 : nt;
    const int m0 = task / job->tile_tasks * job->mc;
    const int m_end = m0 + job->mc < oc_n ? m0 + job->mc : oc_n;
    float *v = scratch;                            /* (E, ci, nt) */
    float *m = scratch + E * job->v_stride;        /* (E, mb, nt) */
    if (job->shared_v)
        v = job->shared_v + task % job->tile_tasks * E * job->v_stride;
    else
        transform_input(job, t0, n, (n + nr - 1) / nr * nr, 0, ci, v);
    for (int c0 = m0; c0 < m_end; c0 += job->mb) {
        const int c1 = c0 + job->mb < m_end ? c0 + job->mb : m_end;
        for (int el = 0; el < E; el++) {
            const float *ue = job->u + el * job->u_stride; /* U_e, packed */
            const float *ve = v + el * job->v_stride;      /* V_e (ci, nt) */
            float *me = m + el * job->m_stride;            /* M_e (mb, nt) */
            for (int k0 = 0; k0 < ci; k0 += KC) {
                const int kc = ci - k0 < KC ? ci - k0 : KC;
                for (int q = 0; q < n; q += nr)
                    for (int c = c0; c < c1; c += mr)
                        kern->tile(kc, ue + (size_t)(c / mr) * ci * mr + (size_t)k0 * mr,
                                   ve + (size_t)k0 * nt + q, (size_t)nt, NULL,
                                   me + (size_t)(c - c0) * nt + q, (size_t)nt,
                                   c1 - c < mr ? c1 - c : mr, n - q < nr ? n - q : nr, zeros,
                                   k0 == 0 ? GEMM_FIRST : 0);
            }
        }
        transform_output(job, c0, c1, t0, n, m);
    }
}

/* shared_v: the blocks of tiles x IC_STEP input channels with index % workers == worker */
static void shared_input_worker(void *arg, int worker)
{
    const wino_job *job = arg;
    const int ci = job->ci, nr = job->p->kern->nr, steps = (ci + IC_STEP - 1) / IC_STEP;
    for (int k = worker; k < job->tile_tasks * steps; k += job->workers) {
        const int t0 = k / steps * job->nt, ic0 = k % steps * IC_STEP;
        const int n = job->n_tiles - t0 < job->nt ? job->n_tiles - t0 : job->nt;
        transform_input(job, t0, n, (n + nr - 1) / nr * nr, ic0,
                        ic0 + IC_STEP < ci ? ic0 + IC_STEP : ci,
                        job->shared_v + k / steps * E * job->v_stride);
    }
}

static void wino_worker(void *arg, int worker)
{
    wino_job *job = arg;
    float *scratch = job->scratch + (size_t)worker * job->scratch_per_worker;
    for (int t; (t = atomic_fetch_add(&job->next, 1)) < job->tasks;)
        run_task(job, t, scratch);
}

dpsim_status conv_wino_forward(const packed_conv *p, const float *in, int h, int w, float *out,
                               int relu, worker_pool *workers, conv_buffers *buf, errbuf *e)
{
    if (conv2d_out_size(&p->shape, h) <= 0 || conv2d_out_size(&p->shape, w) <= 0)
        return DPSIM_OK;
    const float *u = conv_wino_weights(p, workers, buf);
    if (!u)
        return err_set(e, DPSIM_E_NOMEM, "out of memory for Winograd convolution weights");
    return conv_wino_run(p, u, in, h, w, out, relu, workers, buf, e);
}

dpsim_status conv_wino_run(const packed_conv *p, const float *u, const float *in, int h, int w,
                           float *out, int relu, worker_pool *workers, conv_buffers *buf,
                           errbuf *e)
{
    const conv2d_shape *s = &p->shape;
    const int mr = p->kern->mr, nr = p->kern->nr, ci = wino_channels(p);
    wino_job job = {.p = p, .u = u, .out = out, .relu = relu, .ci = ci, .groups = groups_of(p)};
    job.ho = conv2d_out_size(s, h);
    job.wo = conv2d_out_size(s, w);
    if (job.ho <= 0 || job.wo <= 0)
        return DPSIM_OK;
    const int th = (job.ho + T - 1) / T;
    job.tw = (job.wo + T - 1) / T;
    job.n_tiles = th * job.tw;
    job.hp = th * T + 3 * job.groups - 1; /* the last group's patches end there */
    job.wp = job.tw * T + 3 * job.groups - 1;
    job.nt = NT_PANELS * nr;
    job.mb = MB_PANELS * mr;
    job.u_stride = conv_wino_u_stride(p);
    job.v_stride = (size_t)ci * job.nt + SKEW;
    job.m_stride = (size_t)job.mb * job.nt + SKEW;
    job.scratch_per_worker = E * (job.v_stride + job.m_stride);
    job.workers = pool_size(workers);
    job.tile_tasks = (job.n_tiles + job.nt - 1) / job.nt;
    job.mc = conv_channel_block(s->out_ch, mr, job.tile_tasks, job.workers);
    job.tasks = job.tile_tasks * ((s->out_ch + job.mc - 1) / job.mc);
    /* blocks of tiles shared by several tasks transform their inputs once, beforehand */
    const size_t n_shared = job.mc < s->out_ch ? (size_t)job.tile_tasks * E * job.v_stride : 0;
    if (!conv_buffer_reserve((void **)&buf->padded, &buf->padded_cap,
                             (size_t)s->in_ch * job.hp * job.wp, sizeof(float)) ||
        !conv_buffer_reserve((void **)&buf->scratch, &buf->scratch_cap,
                             job.workers * job.scratch_per_worker + n_shared, sizeof(float)))
        return err_set(e, DPSIM_E_NOMEM, "out of memory for a Winograd convolution");
    conv_pad_input(in, s->in_ch, h, w, s->pad, job.hp, job.wp, buf->padded, workers);
    job.padded = buf->padded;
    job.scratch = buf->scratch;
    if (n_shared) {
        job.shared_v = buf->scratch + job.workers * job.scratch_per_worker;
        pool_run(workers, shared_input_worker, &job);
    }
    atomic_init(&job.next, 0);
    pool_run(workers, wino_worker, &job);
    return DPSIM_OK;
}
