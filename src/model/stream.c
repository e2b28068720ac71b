/*
 * stream.c - the spatial (LPIPS) distance of pairs of images, the trunk run
 * over bands of rows instead of whole layers, so that no layer's output is
 * ever held whole: VGG-16 on a 1024x1024 pair keeps 63 MB of rows and bands
 * instead of the 1 GB of both images' features (4096x4096: 109 MB, not 16 GB).
 *
 * The trunk becomes a chain of stages (a convolution with its ReLU, a
 * max-pool, a fire module's squeeze and its expand); stage 0 is the caller's
 * images, their rows preprocessed as they are read. Output row r of a stage
 * needs rows [r s - p, r s - p + k) of the stage below (k, s, p its kernel,
 * stride and padding; rows outside a convolution's input are zeros, a
 * max-pool's are clipped). Each stage makes a band of rows per step, reading
 * about the same number of pixels at every stage (a whole layer where it has
 * fewer): a stage asked for rows up to some end makes them band by band,
 * pulling the rows it needs from the stage below first. Deep layers, narrow
 * but with many channels, thus run on many rows per step, as their kernels
 * need to be efficient. Each stage keeps its rows in a line buffer (its
 * window) until its consumer has moved past them, so no row is computed
 * twice. A tap's term is summed as its rows appear, in row order
 * (spatial_sum); a tap whose last rows no later stage needs is finished at
 * the end, deepest first. With as many images as workers or more, each
 * worker runs its share of the images through every step on its own thread
 * (side by side, as dpsim_extract_batch runs small images), and the tap
 * terms are summed after each step.
 *
 * A band's input is cut from the window with the padding's zeros where the
 * band meets the image's edge and the image's own rows elsewhere, and run
 * without padding (conv_fast_forward_batch_padded). A convolution's Winograd
 * weights too large to keep (conv_wino.h) are made once a step, by all the
 * workers, for all the groups. The sums differ from
 * whole layers' only in rounding: Winograd's tiles fall elsewhere in a band.
 */
#include <string.h>

#include "compare/methods.h"
#include "core/alloc.h"
#include "fast/conv_batch.h"
#include "fast/pool_fast.h"
#include "model/stream.h"

enum {
    MAX_STAGES = 2 * NET_MAX_LAYERS + 1,
    STREAM_BATCH_MAX_PIXELS = 1024 /* a convolution's step runs its images in one GEMM below */
};

typedef enum stage_kind { ST_INPUT, ST_CONV, ST_RELU, ST_POOL, ST_SQUEEZE, ST_EXPAND } stage_kind;

typedef struct stage {
    stage_kind kind;
    const layer_def *l;
    const layer_params *lp;
    int relu;           /* ST_CONV: the next layer's ReLU is fused into it */
    int k, s, p;        /* output row r needs rows [r s - p, r s - p + k) of the stage below */
    int c, h, w;        /* output */
    int tap;            /* its output is tap `tap` (index in m->taps), or -1 */
    size_t map_at;      /* a tap's map in a pair's tap_maps */
    int band;           /* rows made per step */
    int cap;            /* rows its window holds; 0: no window (nothing reads its rows) */
    float *win;         /* (n, c, cap, w): rows [lo, done) at slots [0, done - lo);
                           NULL for stage 0, read from stream.pixels */
    int lo, done, keep; /* keep: the first row its consumer still needs */
} stage;

typedef struct stream {
    const dpsim_model *m;
    int n;                       /* images: pair i is 2i and 2i + 1 */
    int n_stages;
    stage st[MAX_STAGES];
    float *in_band, *out_band;   /* a step's input (n, c, rows, w + 2p) and output (n, c, band, w);
                                    image b's input at b in_floats / n, whatever the step,
                                    so that one group's next input never meets another's */
    double *sums;                /* (n / 2, n_taps) the running spatial sums */
    float *tap_maps;             /* NULL, or (n / 2, per tap (h_t, w_t)): the per-position sums */
    size_t map_floats;           /* of one pair's tap_maps */
    size_t in_floats, out_floats, line_floats; /* of the band buffers and all the windows */
    worker_pool *workers;
    /* groups > 1: the images are split into that many groups, one per worker,
       each group's steps run on its worker's thread alone (no handoff per
       layer); 1: every step of all images runs on all the workers */
    int groups;
    forward_scratch *scratch;    /* (groups): group g's convolution buffers in scratch[g].cb;
                                    scratch[0] also holds the bands and windows */
    const float *pixels[NET_MAX_BATCH]; /* image b (3, h, w) in [0,1]: stage 0's rows */
} stream;

static int imin(int a, int b)
{
    return a < b ? a : b;
}

/* Columns of a stage's input band: the rows below, with the stage's padding (a
   convolution's; 0 for others) on both sides */
static int band_width(const stage *below, const stage *st)
{
    return below->w + 2 * st->p;
}

int stream_applies(const dpsim_model *m, int n, int width, int height)
{
    if (m->method != DPSIM_METHOD_SPATIAL)
        return 0;
    for (int i = 0; i <= m->last_layer; i++)
        if (m->def->layers[i].op == OP_L2POOL)
            return 0;
    size_t floats = 0; /* of one image's features */
    for (int t = 0; t < m->n_taps; t++)
        floats += (size_t)m->tap_channels[t] * model_tap_side(m, t, height) *
                  model_tap_side(m, t, width);
    return 2 * (size_t)n * floats >= STREAM_FEATURES_MIN_FLOATS;
}

// ---- the chain of stages ----

static stage *add_stage(stream *s, stage_kind kind, const stage *below)
{
    stage *st = &s->st[s->n_stages++];
    memset(st, 0, sizeof *st);
    st->kind = kind;
    st->k = st->s = 1;
    st->c = below->c;
    st->h = below->h;
    st->w = below->w;
    st->tap = -1;
    return st;
}

/* The stages of m's trunk up to its last tap, for width x height inputs. */
static void build_stages(stream *s, int width, int height)
{
    const dpsim_model *m = s->m;
    s->st[0] = (stage){.kind = ST_INPUT, .c = 3, .h = height, .w = width,
                       .tap = m->pixel ? 0 : -1};
    s->n_stages = 1;
    int next_tap = m->pixel;
    for (int i = 0; i <= m->last_layer; i++) {
        const layer_def *l = &m->def->layers[i];
        const stage *below = &s->st[s->n_stages - 1];
        const int is_tap = next_tap < m->n_taps && m->taps[next_tap] == i;
        stage *st;
        switch (l->op) {
        case OP_CONV: {
            st = add_stage(s, ST_CONV, below);
            st->lp = &m->layers[i];
            const conv2d_shape *cs = &st->lp->conv[0].shape;
            st->k = cs->kernel;
            st->s = cs->stride;
            st->p = cs->pad;
            st->c = cs->out_ch;
            st->h = conv2d_out_size(cs, below->h);
            st->w = conv2d_out_size(cs, below->w);
            if (!is_tap && i < m->last_layer && m->def->layers[i + 1].op == OP_RELU) {
                st->relu = 1; /* the ReLU layer is this stage too */
                i++;
            }
            break;
        }
        case OP_RELU:
            st = add_stage(s, ST_RELU, below);
            break;
        case OP_MAXPOOL: {
            st = add_stage(s, ST_POOL, below);
            const maxpool_shape ps = {l->kernel, l->stride, l->ceil_mode};
            st->k = l->kernel;
            st->s = l->stride;
            st->h = maxpool_out_size(&ps, below->h);
            st->w = maxpool_out_size(&ps, below->w);
            break;
        }
        default: /* OP_FIRE (stream_applies leaves out OP_L2POOL) */
            st = add_stage(s, ST_SQUEEZE, below);
            st->lp = &m->layers[i];
            st->c = l->squeeze;
            st = add_stage(s, ST_EXPAND, st);
            st->lp = &m->layers[i];
            st->k = 3;
            st->p = 1;
            st->c = l->out_ch;
            break;
        }
        st->l = l;
        if (next_tap < m->n_taps && m->taps[next_tap] == i)
            st->tap = next_tap++;
    }
}

/*
 * Rows per step of a stage for about `pixels` pixels of its input per step
 * (a stride-s stage reads s^2 input pixels per output pixel)
 */
static int stage_band(const stage *st, long pixels)
{
    const long per_row = (long)st->w * st->s * st->s;
    const long rows = (pixels + per_row - 1) / per_row;
    return rows < st->h ? (int)rows : st->h;
}

/*
 * Every stage's band for about `pixels` input pixels per step (whole layers
 * where they have fewer), and windows that hold what each consumer's step
 * reads; returns the floats of the windows and the band buffers.
 */
static size_t plan_bands(stream *s, long pixels)
{
    const int last = s->n_stages - 1;
    s->in_floats = s->out_floats = s->line_floats = 0;
    for (int i = 1; i <= last; i++) {
        stage *st = &s->st[i], *below = &s->st[i - 1];
        st->band = stage_band(st, pixels);
        st->cap = 0; /* until its consumer is planned: the last stage keeps no rows */
        if (below->kind != ST_INPUT)
            below->cap = imin(below->h, (st->band - 1) * st->s + st->k);
        /* a step's input: its rows, padded (an expand's 1x1 reads fewer) */
        const size_t rows = (size_t)(st->band - 1) * st->s + st->k;
        const size_t in = (size_t)s->n * below->c * rows * band_width(below, st);
        const size_t out = (size_t)s->n * st->c * st->band * st->w;
        s->in_floats = in > s->in_floats ? in : s->in_floats;
        s->out_floats = out > s->out_floats ? out : s->out_floats;
    }
    for (int i = 1; i < last; i++)
        s->line_floats += (size_t)s->n * s->st[i].c * s->st[i].cap * s->st[i].w;
    const size_t input_row = (size_t)s->n * 3 * s->st[0].w; /* the pixel tap's least band */
    s->out_floats = s->out_floats > input_row ? s->out_floats : input_row;
    /* the convolutions' own copies of their inputs count as a second input band */
    return s->line_floats + 2 * s->in_floats + s->out_floats;
}

/* The largest step whose plan fits STREAM_BUDGET_FLOATS, at least STREAM_MIN_STEP_PIXELS */
static long default_step(stream *s)
{
    long lo = STREAM_MIN_STEP_PIXELS, hi = (long)s->st[0].w * s->st[0].h;
    while (lo < hi) { /* floats grow with the step */
        const long mid = lo + (hi - lo + 1) / 2;
        if (plan_bands(s, mid) <= STREAM_BUDGET_FLOATS)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

int stream_pairs(const dpsim_model *m, int n, int width, int height)
{
    int fit = n;
    for (; fit > 1; fit--) {
        stream s = {.m = m, .n = 2 * fit};
        build_stages(&s, width, height);
        if (plan_bands(&s, STREAM_MIN_STEP_PIXELS) <= STREAM_BUDGET_FLOATS)
            break;
    }
    const int streams = (n + fit - 1) / fit;
    return (n + streams - 1) / streams; /* as even as they go: 4 in 3s run as 2 and 2 */
}

long stream_default_step(const dpsim_model *m, int n, int width, int height)
{
    stream s = {.m = m, .n = 2 * n};
    build_stages(&s, width, height);
    return default_step(&s);
}

// ---- moving rows ----

/*
 * Image b's rows [y0, y1) of stage f into dst (f->c, y1 - y0, f->w + 2 pad):
 * zeros outside [0, f->h) and in the pad columns. Stage 0's rows are the
 * image's own, preprocessed here.
 */
static void cut_image(const stream *s, const stage *f, int b, int y0, int y1, int pad,
                      float *dst)
{
    const int wp = f->w + 2 * pad;
    for (int ch = 0; ch < f->c; ch++) {
        for (int y = y0; y < y1; y++, dst += wp) {
            if (y < 0 || y >= f->h) {
                memset(dst, 0, (size_t)wp * sizeof(float));
                continue;
            }
            memset(dst, 0, (size_t)pad * sizeof(float));
            if (f->kind == ST_INPUT)
                model_preprocess_plane(s->m, ch, s->pixels[b] + ((size_t)ch * f->h + y) * f->w,
                                       (size_t)f->w, dst + pad);
            else /* the window's (cap, w) rows of the channel */
                memcpy(dst + pad, f->win + (((size_t)b * f->c + ch) * f->cap + (y - f->lo)) * f->w,
                       (size_t)f->w * sizeof(float));
            memset(dst + pad + f->w, 0, (size_t)pad * sizeof(float));
        }
    }
}

/*
 * Image b's new rows [r0, r0 + rows), band (c, rows, w), into st's window;
 * with shift, rows [keep, r0) move to slot 0 first (the caller then sets lo).
 */
static void keep_image(const stage *st, int b, int r0, int rows, int shift, const float *band)
{
    const size_t w = (size_t)st->w;
    const int lo = shift ? st->keep : st->lo;
    for (int ch = 0; ch < st->c; ch++) {
        float *win = st->win + ((size_t)b * st->c + ch) * st->cap * w; /* (cap, w) */
        if (shift)
            memmove(win, win + (size_t)(st->keep - st->lo) * w,
                    (size_t)(r0 - st->keep) * w * sizeof(float));
        memcpy(win + (size_t)(r0 - lo) * w, band + (size_t)ch * rows * w,
               (size_t)rows * w * sizeof(float));
    }
}

// ---- one step of a stage ----

/* Image b's input band: the same place whatever the step */
static float *in_slot(const stream *s, int b)
{
    return s->in_band + (size_t)b * (s->in_floats / s->n);
}

/* What a step computes: rows [r0, r0 + rows) of stage i, from rows [y0, y1) below */
typedef struct step_job {
    stream *s;
    int i, r0, rows, y0, y1, shift;
    const float *u; /* NULL, or a convolution's Winograd weights, made once for all groups */
    dpsim_status status[NET_MAX_BATCH];
    errbuf err[NET_MAX_BATCH];
} step_job;

/* A convolution's step on images [b0, b0 + count): their input bands cut, padded, then run */
static dpsim_status conv_step(const step_job *j, const stage *st, int y0, int y1,
                              const packed_conv *pc, const float *u, int relu, int b0, int count,
                              float *const *out, worker_pool *workers, conv_buffers *cb,
                              errbuf *e)
{
    const stream *s = j->s;
    const stage *below = &s->st[j->i - 1];
    const int wp = band_width(below, st);
    float *in[NET_MAX_BATCH];
    for (int k = 0; k < count; k++) {
        in[k] = in_slot(s, b0 + k);
        cut_image(s, below, b0 + k, y0, y1, st->p, in[k]);
    }
    /* one GEMM over the images' pixels fills the tiles of small steps; larger ones run
       image by image, their patches read in place rather than packed */
    const long pixels = (long)j->rows * conv2d_out_size(&pc->shape, below->w);
    const int together = pixels < STREAM_BATCH_MAX_PIXELS ? count : 1;
    dpsim_status status = DPSIM_OK;
    for (int k = 0; k < count && status == DPSIM_OK; k += together)
        status = conv_fast_forward_batch_padded(pc, u, together, (const float *const *)in + k,
                                                y1 - y0, wp, out + k, relu, workers, cb, e);
    return status;
}

/* The step on images [b0, b1), on workers (NULL: this thread alone) */
static dpsim_status group_step(const step_job *j, int b0, int b1, worker_pool *workers,
                               conv_buffers *cb, errbuf *e)
{
    const stream *s = j->s;
    const stage *st = &s->st[j->i], *below = &s->st[j->i - 1];
    const int count = b1 - b0, rows = j->rows;
    const size_t each = (size_t)st->c * rows * st->w;
    float *out[NET_MAX_BATCH];
    for (int k = 0; k < count; k++)
        out[k] = s->out_band + (size_t)(b0 + k) * each;
    const packed_conv *conv = st->lp ? &st->lp->conv[0].fast : NULL;
    dpsim_status status = DPSIM_OK;
    switch (st->kind) {
    case ST_CONV:
    case ST_SQUEEZE:
        status = conv_step(j, st, j->y0, j->y1, conv, j->u, st->relu || st->kind == ST_SQUEEZE,
                           b0, count, out, workers, cb, e);
        break;
    case ST_EXPAND: { /* expand 1x1 on the rows themselves, then 3x3 on them padded */
        const int e1 = st->lp->conv[1].shape.out_ch;
        status = conv_step(j, &(stage){.p = 0}, j->r0, j->r0 + rows, &st->lp->conv[1].fast,
                           NULL, 1, b0, count, out, workers, cb, e);
        float *e3_out[NET_MAX_BATCH];
        for (int k = 0; k < count; k++)
            e3_out[k] = out[k] + (size_t)e1 * rows * st->w;
        if (status == DPSIM_OK)
            status = conv_step(j, st, j->y0, j->y1, &st->lp->conv[2].fast, NULL, 1, b0, count,
                               e3_out, workers, cb, e);
        break;
    }
    case ST_POOL: {
        const int y1 = imin(j->y1, below->h);
        const maxpool_shape ps = {st->k, st->s, st->l->ceil_mode};
        for (int k = 0; k < count && status == DPSIM_OK; k++) {
            float *in = in_slot(s, b0 + k);
            cut_image(s, below, b0 + k, j->y0, y1, 0, in);
            if (maxpool_fast(&ps, in, below->c, y1 - j->y0, below->w, out[k], workers) !=
                DPSIM_OK)
                status = err_set(e, DPSIM_E_NOMEM, "out of memory for a max-pooling");
        }
        break;
    }
    case ST_RELU:
        for (int k = 0; k < count; k++) {
            cut_image(s, below, b0 + k, j->r0, j->r0 + rows, 0, out[k]);
            relu_forward(out[k], each);
        }
        break;
    case ST_INPUT:
        break;
    }
    for (int k = 0; k < count && status == DPSIM_OK && st->cap > 0; k++)
        keep_image(st, b0 + k, j->r0, rows, j->shift, out[k]);
    return status;
}

static void step_worker(void *arg, int worker)
{
    step_job *j = arg;
    const stream *s = j->s;
    if (worker >= s->groups)
        return;
    j->status[worker] = group_step(j, worker * s->n / s->groups,
                                   (worker + 1) * s->n / s->groups, NULL,
                                   &s->scratch[worker].cb, &j->err[worker]);
}

/* The term of tap st->tap over rows [r0, r0 + rows) of every pair: band (n, c, rows, w) */
static dpsim_status add_tap_rows(stream *s, const stage *st, const float *band, int r0, int rows,
                                 errbuf *e)
{
    const dpsim_model *m = s->m;
    const size_t each = (size_t)st->c * rows * st->w;
    dpsim_status status = DPSIM_OK;
    for (int pair = 0; pair < s->n / 2 && status == DPSIM_OK; pair++) {
        const float *a = band + 2 * pair * each;
        const tap_pair p = {a, a + each, st->c, rows, st->w};
        float *map = s->tap_maps ? s->tap_maps + pair * s->map_floats + st->map_at +
                                       (size_t)r0 * st->w
                                 : NULL;
        status = spatial_sum(&p, m->weight[TERM_SPATIAL][st->tap], m->normalize,
                             &s->sums[pair * m->n_taps + st->tap], map, e);
    }
    return status;
}

static dpsim_status ensure(stream *s, int i, int end, errbuf *e);

/* Stage i makes `rows` more rows: computed, summed when a tap, kept when read above */
static dpsim_status step(stream *s, int i, int rows, errbuf *e)
{
    stage *st = &s->st[i], *below = &s->st[i - 1];
    step_job j = {.s = s, .i = i, .r0 = st->done, .rows = rows};
    j.y0 = j.r0 * st->s - st->p;
    j.y1 = (j.r0 + rows - 1) * st->s - st->p + st->k;
    dpsim_status status = ensure(s, i - 1, imin(j.y1, below->h), e);
    if (status != DPSIM_OK)
        return status;
    j.shift = st->cap > 0 && j.r0 + rows - st->lo > st->cap;
    /* a convolution's Winograd weights made once, by all the workers, for every group; the
       groups then use none of scratch[0].cb.u, where a large layer's are made */
    if (s->groups > 1 && st->kind == ST_CONV &&
        (status = conv_batch_padded_weights(&st->lp->conv[0].fast, j.y1 - j.y0,
                                            band_width(below, st), s->workers,
                                            &s->scratch[0].cb, &j.u, e)) != DPSIM_OK)
        return status;
    if (s->groups == 1) {
        j.status[0] = group_step(&j, 0, s->n, s->workers, &s->scratch[0].cb, &j.err[0]);
    } else {
        pool_run(s->workers, step_worker, &j);
    }
    for (int g = 0; g < s->groups; g++)
        if (j.status[g] != DPSIM_OK) {
            *e = j.err[g];
            return j.status[g];
        }
    if (j.shift)
        st->lo = st->keep;
    if (st->tap >= 0 && (status = add_tap_rows(s, st, s->out_band, j.r0, rows, e)) != DPSIM_OK)
        return status;
    const int next = (j.r0 + rows) * st->s - st->p; /* the first row the next step needs */
    if (next > below->keep)
        below->keep = imin(next, below->done);
    st->done = j.r0 + rows;
    return DPSIM_OK;
}

/* Stage i holds rows up to end (made band by band) */
static dpsim_status ensure(stream *s, int i, int end, errbuf *e)
{
    stage *st = &s->st[i];
    while (st->done < end) {
        dpsim_status status = step(s, i, imin(st->band, end - st->done), e);
        if (status != DPSIM_OK)
            return status;
    }
    return DPSIM_OK;
}

// ---- the whole comparison ----

/* The bands' and windows' memory in scratch[0] */
static dpsim_status stream_alloc(stream *s, int with_maps, errbuf *e)
{
    const int last = s->n_stages - 1;
    stage *x = &s->st[0];
    forward_scratch *fs = &s->scratch[0];
    int ok = conv_buffer_reserve((void **)&fs->buf[0], &fs->buf_cap[0], s->in_floats,
                                 sizeof(float)) &&
             conv_buffer_reserve((void **)&fs->buf[1], &fs->buf_cap[1], s->out_floats,
                                 sizeof(float)) &&
             conv_buffer_reserve((void **)&fs->lines, &fs->lines_cap,
                                 s->line_floats ? s->line_floats : 1, sizeof(float));
    s->sums = dp_calloc((size_t)s->n / 2 * s->m->n_taps, sizeof(double));
    ok = ok && s->sums;
    if (ok && with_maps) {
        for (int i = 0; i <= last; i++)
            if (s->st[i].tap >= 0) {
                s->st[i].map_at = s->map_floats;
                s->map_floats += (size_t)s->st[i].h * s->st[i].w;
            }
        ok = (s->tap_maps = dp_malloc((size_t)s->n / 2 * s->map_floats * sizeof(float))) !=
             NULL;
    }
    if (!ok)
        return err_set(e, DPSIM_E_NOMEM, "out of memory for comparing %dx%d images by bands",
                       x->w, x->h);
    s->in_band = fs->buf[0];
    s->out_band = fs->buf[1];
    float *line = fs->lines;
    for (int i = 1; i <= last; i++) {
        s->st[i].win = line;
        line += (size_t)s->n * s->st[i].c * s->st[i].cap * s->st[i].w;
    }
    x->done = x->h;
    return DPSIM_OK;
}

/* The pixel tap: the preprocessed inputs, cut band by band into the out band */
static dpsim_status pixel_tap(stream *s, errbuf *e)
{
    const stage *x = &s->st[0];
    const size_t row = (size_t)3 * x->w; /* floats of a row of one image */
    const int band = (int)(s->out_floats / s->n / row);
    dpsim_status status = DPSIM_OK;
    for (int r0 = 0; r0 < x->h && status == DPSIM_OK; r0 += band) {
        const int rows = imin(band, x->h - r0);
        for (int b = 0; b < s->n; b++)
            cut_image(s, x, b, r0, r0 + rows, 0, s->out_band + (size_t)b * rows * row);
        status = add_tap_rows(s, x, s->out_band, r0, rows, e);
    }
    return status;
}

/* The distance map of one pair from its tap maps: each upsampled to the input, summed */
static void pair_map(const stream *s, int pair, float *map)
{
    const stage *x = &s->st[0];
    memset(map, 0, (size_t)x->h * x->w * sizeof(float));
    for (int i = 0; i < s->n_stages; i++)
        if (s->st[i].tap >= 0)
            upsample_bilinear_add(s->tap_maps + pair * s->map_floats + s->st[i].map_at,
                                  s->st[i].h, s->st[i].w, map, x->h, x->w);
}

static dpsim_status run(stream *s, double *distances, double *per_tap, float *maps, errbuf *e)
{
    const dpsim_model *m = s->m;
    dpsim_status status = stream_alloc(s, maps != NULL, e);
    if (status == DPSIM_OK && m->pixel)
        status = pixel_tap(s, e);
    const int last = s->n_stages - 1;
    if (status == DPSIM_OK)
        status = ensure(s, last, s->st[last].h, e);
    /* taps whose last rows no stage above needed, deepest first: nothing reads them now */
    for (int i = last - 1; i >= 1 && status == DPSIM_OK; i--)
        if (s->st[i].tap >= 0 && s->st[i].done < s->st[i].h) {
            s->st[i].cap = 0;
            status = ensure(s, i, s->st[i].h, e);
        }
    for (int pair = 0; pair < s->n / 2 && status == DPSIM_OK; pair++) {
        double total = 0.0;
        for (int i = 0; i <= last; i++) {
            const stage *st = &s->st[i];
            if (st->tap < 0)
                continue;
            const double term = s->sums[pair * m->n_taps + st->tap] / ((double)st->h * st->w);
            per_tap[pair * m->n_taps + st->tap] = term;
            total += term;
        }
        distances[pair] = total;
        if (maps)
            pair_map(s, pair, maps + (size_t)pair * s->st[0].h * s->st[0].w);
    }
    return status;
}

dpsim_status stream_compare(const dpsim_model *m, int n, const float *const *a,
                            const float *const *b, int width, int height, long step_pixels,
                            double *distances, double *per_tap, float *maps,
                            worker_pool *workers, forward_scratch *scratch, errbuf *e)
{
    const int w = pool_size(workers);
    stream s = {.m = m, .n = 2 * n, .workers = workers, .groups = w > 1 && w <= 2 * n ? w : 1};
    build_stages(&s, width, height);
    plan_bands(&s, step_pixels > 0 ? step_pixels : default_step(&s));
    forward_scratch own = {0};
    s.scratch = scratch ? scratch : &own;
    if (!scratch && s.groups > 1)
        s.groups = 1; /* one set of buffers: the workers share each step */
    for (int pair = 0; pair < n; pair++) {
        s.pixels[2 * pair] = a[pair];
        s.pixels[2 * pair + 1] = b[pair];
    }
    dpsim_status status = run(&s, distances, per_tap, maps, e);
    dp_free(s.sums);
    dp_free(s.tap_maps);
    for (int g = 0; g < (scratch ? w : 1); g++)
        forward_scratch_trim(&s.scratch[g]);
    forward_scratch_free(&own);
    return status;
}
