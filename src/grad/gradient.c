/*
 * gradient.c - dpsim_gradient and dpsim_gradient_to: preprocess, run the
 * trunk with a tape for each image (one that keeps what backward needs when
 * its gradient is wanted, else only the taps), sum the method's terms over
 * taps in double while collecting each tap's gradient, then run the tape
 * backward and through the preprocessing to the pixels. A context keeps the
 * tapes' memory between calls.
 */
#include <string.h>

#include "compare/methods.h"
#include "core/alloc.h"
#include "core/ctx.h"
#include "grad/grad.h"

/* What the side of each image keeps from one call on a context to the next: its tape and
   buffers, grown on demand (no fresh pages for a pass of the same size). */
typedef struct side_mem {
    grad_tape tape;
    float *x;                             /* (3, h, w) preprocessed */
    float *d_tap[DPSIM_MAX_TAPS];         /* (c, th, tw) each: summed in double, rounded */
    size_t x_cap, d_tap_cap[DPSIM_MAX_TAPS];
} side_mem;

struct grad_work {
    side_mem side[2]; /* image a, image b */
};

void grad_work_free(grad_work *w)
{
    for (int i = 0; w && i < 2; i++) {
        tape_free(&w->side[i].tape);
        dp_free(w->side[i].x);
        for (int t = 0; t < DPSIM_MAX_TAPS; t++)
            dp_free(w->side[i].d_tap[t]);
    }
    dp_free(w);
}

/* One image: its tap activations, and when its gradient is wanted, their gradients. */
typedef struct side {
    side_mem *mem;
    const float *tap[DPSIM_MAX_TAPS];    /* (c, th, tw) each */
    float *d_tap[DPSIM_MAX_TAPS];        /* (c, th, tw) each, or NULL */
} side;

typedef struct tap_dims {
    int c[DPSIM_MAX_TAPS], h[DPSIM_MAX_TAPS], w[DPSIM_MAX_TAPS];
} tap_dims;

static size_t tap_numel(const tap_dims *d, int t) { return (size_t)d->c[t] * d->h[t] * d->w[t]; }

static tap_dims model_tap_dims(const dpsim_model *m, int width, int height)
{
    tap_dims d;
    for (int t = 0; t < m->n_taps; t++) {
        d.c[t] = m->tap_channels[t];
        d.h[t] = model_tap_side(m, t, height);
        d.w[t] = model_tap_side(m, t, width);
    }
    return d;
}

/* Run image v through the trunk on mem's tape; with grad, room for its tap gradients */
static dpsim_status side_open(const dpsim_model *m, const float *v, int width, int height,
                              const tap_dims *dims, worker_pool *workers, int grad, side_mem *mem,
                              side *s, errbuf *e)
{
    const size_t hw = (size_t)width * height;
    s->mem = mem;
    if (!conv_buffer_reserve((void **)&mem->x, &mem->x_cap, 3 * hw, sizeof(float)))
        return err_set(e, DPSIM_E_NOMEM, "out of memory");
    model_preprocess(m, v, hw, mem->x);
    dpsim_status st = tape_forward(m, mem->x, height, width, workers, grad, &mem->tape, e);
    if (st != DPSIM_OK)
        return st;
    for (int t = 0; t < m->n_taps; t++) {
        if (m->taps[t] < 0)
            s->tap[t] = m->method == DPSIM_METHOD_DISTS ? v : mem->x;
        else
            s->tap[t] = mem->tape.act[m->taps[t] + 1];
        if (!grad)
            continue;
        if (!conv_buffer_reserve((void **)&mem->d_tap[t], &mem->d_tap_cap[t],
                                 tap_numel(dims, t), sizeof(float)))
            return err_set(e, DPSIM_E_NOMEM, "out of memory");
        s->d_tap[t] = mem->d_tap[t];
    }
    return DPSIM_OK;
}

static int has_spatial(dpsim_method method)
{
    return method == DPSIM_METHOD_SPATIAL || method == DPSIM_METHOD_SPATIAL_MEAN ||
           method == DPSIM_METHOD_SPATIAL_SORT;
}

/* The method's term(s) for tap t (as compare.c's tap_terms), gradients added to ga, gb. */
static dpsim_status tap_terms(const dpsim_model *m, int t, const dtap_pair *p, double wscale,
                              double *term, double *ga, double *gb, errbuf *e)
{
    double spatial = 0.0, global = 0.0;
    dpsim_status s = DPSIM_OK;
    if (has_spatial(m->method))
        s = spatial_grad(p, m->weight[TERM_SPATIAL][t], m->normalize, 1.0, &spatial, ga, gb, e);
    if (s != DPSIM_OK)
        return s;
    switch (m->method) {
    case DPSIM_METHOD_SPATIAL: break;
    case DPSIM_METHOD_MEAN:
    case DPSIM_METHOD_SPATIAL_MEAN:
        s = mean_grad(p, m->weight[TERM_MEAN][t], m->normalize, 1.0, &global, ga, gb, e);
        break;
    case DPSIM_METHOD_SORT:
    case DPSIM_METHOD_SPATIAL_SORT:
        s = sort_grad(p, m->weight[TERM_SORT][t], m->normalize, 1.0, &global, ga, gb, e);
        break;
    case DPSIM_METHOD_GRAM:
        s = gram_grad(p, m->weight[TERM_GRAM][t], m->normalize, 1.0, &global, ga, gb, e);
        break;
    case DPSIM_METHOD_DISTS:
        dists_grad(p, m->weight[TERM_ALPHA][t], m->weight[TERM_BETA][t], wscale, 1.0, &global,
                   ga, gb);
        break;
    }
    *term = spatial + global;
    return s;
}

static void to_double(const float *src, size_t n, double *dst)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i];
}

static void to_float(const double *src, size_t n, float *dst)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (float)src[i];
}

/* Where a side with a tape sums tap t's gradient in double: its tape's room; else NULL */
static double *tap_gradient_room(const side *s, size_t n)
{
    if (!s->d_tap[0])
        return NULL;
    double *g = tape_tap_room(&s->mem->tape);
    memset(g, 0, n * sizeof *g);
    return g;
}

/* Sum of the terms over taps; each side with a tape collects its tap gradients, each tap's
   in double, then rounded to float. */
static dpsim_status terms(const dpsim_model *m, const tap_dims *dims, side *a, side *b,
                          worker_pool *workers, double *distance, errbuf *e)
{
    /* the spatial term reads the float taps; every other term reads them in double */
    const int doubles = m->method != DPSIM_METHOD_SPATIAL;
    size_t max_n = 1;
    for (int t = 0; t < m->n_taps; t++)
        max_n = tap_numel(dims, t) > max_n ? tap_numel(dims, t) : max_n;
    double *da = doubles ? dp_malloc(2 * max_n * sizeof(double)) : NULL; // (2, max_n): a, b
    if (doubles && !da)
        return err_set(e, DPSIM_E_NOMEM, "out of memory");
    double *db = doubles ? da + max_n : NULL;
    const double wscale = m->method == DPSIM_METHOD_DISTS ? dists_scale(m) : 1.0;
    double total = 0.0;
    dpsim_status s = DPSIM_OK;
    for (int t = 0; t < m->n_taps && s == DPSIM_OK; t++) {
        if (doubles) {
            to_double(a->tap[t], tap_numel(dims, t), da);
            to_double(b->tap[t], tap_numel(dims, t), db);
        }
        dtap_pair p = {da, db, dims->c[t], dims->h[t], dims->w[t], workers, a->tap[t], b->tap[t]};
        double term = 0.0;
        const size_t n = tap_numel(dims, t);
        double *ga = tap_gradient_room(a, n), *gb = tap_gradient_room(b, n);
        s = tap_terms(m, t, &p, wscale, &term, ga, gb, e);
        if (ga)
            to_float(ga, n, a->d_tap[t]);
        if (gb)
            to_float(gb, n, b->d_tap[t]);
        total += term;
    }
    dp_free(da);
    *distance = total;
    return s;
}

/* d distance / d v of a side with a tape: d_v (3, h, w) += */
static dpsim_status side_backward(const dpsim_model *m, const side *s, int width, int height,
                                  double *d_v, errbuf *e)
{
    const size_t hw = (size_t)width * height;
    double *d_x = dp_calloc(3 * hw, sizeof(double));
    if (!d_x)
        return err_set(e, DPSIM_E_NOMEM, "out of memory");
    dpsim_status st = tape_backward(&s->mem->tape, s->d_tap, d_x, e);
    const int pixel_is_v = m->pixel && m->method == DPSIM_METHOD_DISTS;
    if (m->pixel && !pixel_is_v)
        for (size_t k = 0; k < 3 * hw; k++)
            d_x[k] += s->d_tap[0][k];
    for (int c = 0; c < 3 && st == DPSIM_OK; c++) {
        const double slope = model_preprocess_slope(m, c);
        for (size_t i = 0; i < hw; i++) {
            const size_t k = (size_t)c * hw + i;
            d_v[k] += d_x[k] * slope + (pixel_is_v ? s->d_tap[0][k] : 0.0);
        }
    }
    dp_free(d_x);
    return st;
}

/* The two sides of a gradient opened side by side, one per worker, each on one thread. */
typedef struct open_job {
    const dpsim_model *m;
    const float *v[2];
    int width, height, grad[2];
    const tap_dims *dims;
    side_mem *mem[2];
    side *s[2];
    dpsim_status status[2];
    errbuf err[2];
} open_job;

static void open_worker(void *arg, int worker)
{
    open_job *j = arg;
    if (worker < 2)
        j->status[worker] = side_open(j->m, j->v[worker], j->width, j->height, j->dims, NULL,
                                      j->grad[worker], j->mem[worker], j->s[worker],
                                      &j->err[worker]);
}

/*
 * Both sides' forward passes: side by side when the pool has two workers
 * and the images are small enough (as dpsim_extract_batch does; a small
 * image's layers are too small to split), else one after the other over
 * all the workers. The tapes' backward passes use all the workers either way.
 */
static dpsim_status open_sides(const dpsim_model *m, const float *a, const float *b, int width,
                               int height, const tap_dims *dims, worker_pool *workers,
                               const int grad[2], grad_work *work, side *sa, side *sb, errbuf *e)
{
    if (pool_size(workers) < 2 || !net_side_by_side(m, width, height)) {
        dpsim_status s =
            side_open(m, a, width, height, dims, workers, grad[0], &work->side[0], sa, e);
        return s != DPSIM_OK ? s : side_open(m, b, width, height, dims, workers, grad[1],
                                             &work->side[1], sb, e);
    }
    open_job j = {m, {a, b}, width, height, {grad[0], grad[1]}, dims,
                  {&work->side[0], &work->side[1]}, {sa, sb}, {DPSIM_OK, DPSIM_OK}, {{""}}};
    pool_run(workers, open_worker, &j);
    for (int i = 0; i < 2; i++) {
        if (j.status[i] != DPSIM_OK) {
            *e = j.err[i];
            return j.status[i];
        }
        work->side[i].tape.workers = workers;
    }
    return DPSIM_OK;
}

/* The shared body: a and b (unless fb, the target's features) run on work's tapes, with
   tap gradients for the gradients wanted. */
static dpsim_status run(const dpsim_model *m, const float *a, const float *b,
                        const dpsim_features *fb, int width, int height, worker_pool *workers,
                        grad_work *work, double *distance, float *grad_a, float *grad_b,
                        errbuf *e)
{
    const tap_dims dims = model_tap_dims(m, width, height);
    side sa = {0}, sb = {0};
    const int grad[2] = {!!grad_a, !!grad_b};
    dpsim_status s;
    if (!fb) {
        s = open_sides(m, a, b, width, height, &dims, workers, grad, work, &sa, &sb, e);
    } else {
        s = side_open(m, a, width, height, &dims, workers, grad[0], &work->side[0], &sa, e);
        memcpy(sb.tap, fb->tap, sizeof sb.tap);
    }
    /* both gradients in double first: outputs are written only once all succeeded */
    const size_t n = (size_t)3 * width * height;
    double d = 0.0, *d_v = s == DPSIM_OK ? dp_calloc(2 * n, sizeof(double)) : NULL; // (2, n)
    if (s == DPSIM_OK && !d_v)
        s = err_set(e, DPSIM_E_NOMEM, "out of memory");
    if (s == DPSIM_OK)
        s = terms(m, &dims, &sa, &sb, workers, &d, e);
    if (s == DPSIM_OK && grad_a)
        s = side_backward(m, &sa, width, height, d_v, e);
    if (s == DPSIM_OK && grad_b)
        s = side_backward(m, &sb, width, height, d_v + n, e);
    if (s == DPSIM_OK) {
        *distance = d;
        if (grad_a)
            to_float(d_v, n, grad_a);
        if (grad_b)
            to_float(d_v + n, n, grad_b);
    } else if (!e->msg[0])
        err_set(e, s, "out of memory for the features of a %dx%d image", width, height);
    dp_free(d_v);
    return s;
}

/* run on the context's working memory (made at its first gradient), or without a context
   on memory of this call */
static dpsim_status run_on(dpsim_ctx *ctx, const dpsim_model *m, const float *a, const float *b,
                           const dpsim_features *fb, int width, int height, double *distance,
                           float *grad_a, float *grad_b, errbuf *e)
{
    grad_work *work = ctx ? ctx->grad : dp_calloc(1, sizeof *work);
    if (ctx && !work)
        work = ctx->grad = dp_calloc(1, sizeof *work);
    if (!work)
        return err_set(e, DPSIM_E_NOMEM, "out of memory");
    dpsim_status s = run(m, a, b, fb, width, height, ctx ? ctx->workers : NULL, work, distance,
                         grad_a, grad_b, e);
    if (!ctx)
        grad_work_free(work);
    return s;
}

#define BF16_NO_GRADIENT                                                                       \
    "gradient: the model runs in bf16 precision, gradients are computed in fp32 only; load "  \
    "the model with precision fp32"

dpsim_status dpsim_gradient(dpsim_ctx *ctx, const dpsim_model *m, const float *a, const float *b,
                            int width, int height, double *distance, float *grad_a,
                            float *grad_b)
{
    ctx_clear(ctx);
    if (!m || !a || !b || !distance)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_gradient: NULL argument");
    if (m->precision != DPSIM_PRECISION_FP32)
        return ctx_fail(ctx, DPSIM_E_UNSUPPORTED, BF16_NO_GRADIENT);
    errbuf e = {{0}};
    dpsim_status s = model_check_image(m, a, width, height, &e);
    if (s == DPSIM_OK)
        s = model_check_image(m, b, width, height, &e);
    if (s == DPSIM_OK)
        s = run_on(ctx, m, a, b, NULL, width, height, distance, grad_a, grad_b, &e);
    return s == DPSIM_OK ? s : ctx_fail_err(ctx, s, &e);
}

dpsim_status dpsim_gradient_to(dpsim_ctx *ctx, const dpsim_model *m, const float *a, int width,
                               int height, const dpsim_features *target, double *distance,
                               float *grad_a)
{
    ctx_clear(ctx);
    if (!m || !a || !target || !distance)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_gradient_to: NULL argument");
    if (m->precision != DPSIM_PRECISION_FP32)
        return ctx_fail(ctx, DPSIM_E_UNSUPPORTED, BF16_NO_GRADIENT);
    if (target->fingerprint != model_fingerprint(m))
        return ctx_fail(ctx, DPSIM_E_INVAL,
                        "target features were extracted with another model (net, taps, "
                        "version or weights differ), expected features of this model");
    if (target->width != width || target->height != height)
        return ctx_fail(ctx, DPSIM_E_SHAPE,
                        "image size %dx%d, target features of a %dx%d image, expected equal "
                        "sizes",
                        width, height, target->width, target->height);
    errbuf e = {{0}};
    dpsim_status s = model_check_image(m, a, width, height, &e);
    if (s == DPSIM_OK)
        s = run_on(ctx, m, a, NULL, target, width, height, distance, grad_a, NULL, &e);
    return s == DPSIM_OK ? s : ctx_fail_err(ctx, s, &e);
}
