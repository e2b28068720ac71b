/*
 * trainer.c - the learning core (trainer.h): LPIPS's recipe, written out.
 * Forward per triplet: d0, d1 from the cached differences (dropout on each
 * element, kept ones scaled by 1/(1-p)); head on [d0, d1, d0-d1,
 * d0/(d1+0.1), d1/(d0+0.1)]; BCE against h. Backward by hand to the head
 * and the channel weights; Adam (PyTorch's update with bias correction);
 * clamp of the channel weights only. Sequential and in double: bit-for-bit
 * reproducible for a seed.
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "train/trainer.h"

#define ADAM_EPS 1e-8
#define HEAD_EPS 0.1 /* d0 / (d1 + eps) in the head's input */
#define SYNC_SCALE 10.0

dpsim_status triplet_cache_add(triplet_cache *c, const pair_diffs *p0, const pair_diffs *p1,
                               double h, errbuf *e)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        pair_diffs *a = dp_realloc(c->p0, cap * sizeof *a);
        if (a)
            c->p0 = a;
        pair_diffs *b = a ? dp_realloc(c->p1, cap * sizeof *b) : NULL;
        if (b)
            c->p1 = b;
        double *hh = b ? dp_realloc(c->h, cap * sizeof *hh) : NULL;
        if (!hh)
            return err_set(e, DPSIM_E_NOMEM, "out of memory for %zu cached triplets", cap);
        c->h = hh;
        c->cap = cap;
    }
    c->p0[c->n] = *p0;
    c->p1[c->n] = *p1;
    c->h[c->n++] = h;
    return DPSIM_OK;
}

void triplet_cache_free(triplet_cache *c)
{
    for (size_t i = 0; i < c->n; i++) {
        pair_diffs_free(&c->p0[i]);
        pair_diffs_free(&c->p1[i]);
    }
    dp_free(c->p0);
    dp_free(c->p1);
    dp_free(c->h);
    memset(c, 0, sizeof *c);
}

static double uniform_pm(dpsim_rng *rng, double bound)
{
    return (2.0 * dpsim_rng_uniform(rng) - 1.0) * bound;
}

dpsim_status trainer_init(trainer *t, const dpsim_model *m, const dpsim_train_options *opt,
                          int from_model, errbuf *e)
{
    memset(t, 0, sizeof *t);
    dpsim_status s = weight_layout_make(m, &t->layout, e);
    if (s != DPSIM_OK)
        return s;
    t->opt = *opt;
    const size_t nw = t->layout.n_weights, np = nw + HEAD_PARAMS;
    t->w = dp_malloc(nw * sizeof(double));
    t->m = dp_calloc(np, sizeof(double));
    t->v = dp_calloc(np, sizeof(double));
    t->grad = dp_malloc(np * sizeof(double));
    t->masked = dp_malloc(2 * nw * sizeof(double));
    if (!t->w || !t->m || !t->v || !t->grad || !t->masked) {
        trainer_free(t);
        return err_set(e, DPSIM_E_NOMEM, "out of memory for %zu weights", nw);
    }
    for (int b = 0; b < t->layout.n_blocks; b++) {
        const float *src = from_model ? m->weight[t->layout.kind[b]][t->layout.tap[b]] : NULL;
        for (int c = 0; c < t->layout.channels[b]; c++)
            t->w[t->layout.offset[b] + (size_t)c] =
                !from_model ? 1.0 / t->layout.channels[b] : src ? src[c] : 1.0;
    }
    dpsim_rng_seed(&t->rng, opt->seed);
    const double b1 = 1.0 / sqrt(5.0), b2 = 1.0 / sqrt((double)HEAD_HIDDEN);
    for (int i = HEAD_W1; i < HEAD_W2; i++)
        t->head[i] = uniform_pm(&t->rng, b1);
    for (int i = HEAD_W2; i < HEAD_PARAMS; i++)
        t->head[i] = uniform_pm(&t->rng, b2);
    return DPSIM_OK;
}

void trainer_free(trainer *t)
{
    dp_free(t->w);
    dp_free(t->m);
    dp_free(t->v);
    dp_free(t->grad);
    dp_free(t->masked);
    memset(t, 0, sizeof *t);
}

double trainer_distance(const trainer *t, const pair_diffs *p)
{
    double d = 0.0;
    for (size_t i = 0; i < t->layout.n_weights; i++)
        d += t->w[i] * p->s[i];
    return d;
}

double trainer_score(const trainer *t, const triplet_cache *c)
{
    if (c->n == 0)
        return NAN;
    double sum = 0.0;
    for (size_t i = 0; i < c->n; i++) {
        double d0 = trainer_distance(t, &c->p0[i]), d1 = trainer_distance(t, &c->p1[i]);
        sum += d1 < d0 ? c->h[i] : d0 < d1 ? 1.0 - c->h[i] : 0.5;
    }
    return sum / (double)c->n;
}

double trainer_lr(const dpsim_train_options *opt, int epoch)
{
    if (epoch <= opt->epochs)
        return opt->lr;
    int k = epoch - opt->epochs; /* 1-based within the decay */
    return opt->lr * (double)(opt->decay_epochs - k + 1) / opt->decay_epochs;
}

/* Masked channel means of a pair into out (n_weights); returns the distance. */
static double forward_pair(trainer *t, const pair_diffs *p, double *out)
{
    const double keep = 1.0 - t->opt.dropout;
    if (!p->d || t->opt.dropout <= 0.0) {
        for (size_t i = 0; i < t->layout.n_weights; i++)
            out[i] = p->s[i];
    } else {
        const float *d = p->d;
        for (int b = 0; b < t->layout.n_blocks; b++) {
            const int pos = p->positions[b];
            for (int c = 0; c < t->layout.channels[b]; c++, d += pos) {
                double sum = 0.0;
                for (int i = 0; i < pos; i++)
                    if (dpsim_rng_uniform(&t->rng) < keep)
                        sum += d[i];
                out[t->layout.offset[b] + (size_t)c] = sum / (keep * pos);
            }
        }
    }
    double dist = 0.0;
    for (size_t i = 0; i < t->layout.n_weights; i++)
        dist += t->w[i] * out[i];
    return dist;
}

static double leaky(double x) { return x > 0.0 ? x : 0.2 * x; }

/*
 * Head forward and backward for one triplet: adds d(loss)/d(head) into
 * grad_head and returns the loss; *g0, *g1 get d(loss)/d(d0), d(loss)/d(d1).
 */
static double head_step(const double *hp, double d0, double d1, double h, double *grad_head,
                        double *g0, double *g1)
{
    const double x[5] = {d0, d1, d0 - d1, d0 / (d1 + HEAD_EPS), d1 / (d0 + HEAD_EPS)};
    double a1[HEAD_HIDDEN], h1[HEAD_HIDDEN], a2[HEAD_HIDDEN], h2[HEAD_HIDDEN];
    for (int j = 0; j < HEAD_HIDDEN; j++) {
        double s = hp[HEAD_B1 + j];
        for (int k = 0; k < 5; k++)
            s += hp[HEAD_W1 + 5 * j + k] * x[k];
        a1[j] = s;
        h1[j] = leaky(s);
    }
    double z = hp[HEAD_B3];
    for (int j = 0; j < HEAD_HIDDEN; j++) {
        double s = hp[HEAD_B2 + j];
        for (int k = 0; k < HEAD_HIDDEN; k++)
            s += hp[HEAD_W2 + HEAD_HIDDEN * j + k] * h1[k];
        a2[j] = s;
        h2[j] = leaky(s);
        z += hp[HEAD_W3 + j] * h2[j];
    }
    const double p = 1.0 / (1.0 + exp(-z));
    /* BCE with PyTorch's clamp of each log at -100 */
    const double loss = -(h * fmax(log(p), -100.0) + (1.0 - h) * fmax(log1p(-p), -100.0));
    const double dz = p - h;
    double dh1[HEAD_HIDDEN] = {0}, dx[5] = {0};
    grad_head[HEAD_B3] += dz;
    for (int j = 0; j < HEAD_HIDDEN; j++) {
        grad_head[HEAD_W3 + j] += dz * h2[j];
        const double da2 = dz * hp[HEAD_W3 + j] * (a2[j] > 0.0 ? 1.0 : 0.2);
        grad_head[HEAD_B2 + j] += da2;
        for (int k = 0; k < HEAD_HIDDEN; k++) {
            grad_head[HEAD_W2 + HEAD_HIDDEN * j + k] += da2 * h1[k];
            dh1[k] += da2 * hp[HEAD_W2 + HEAD_HIDDEN * j + k];
        }
    }
    for (int j = 0; j < HEAD_HIDDEN; j++) {
        const double da1 = dh1[j] * (a1[j] > 0.0 ? 1.0 : 0.2);
        grad_head[HEAD_B1 + j] += da1;
        for (int k = 0; k < 5; k++) {
            grad_head[HEAD_W1 + 5 * j + k] += da1 * x[k];
            dx[k] += da1 * hp[HEAD_W1 + 5 * j + k];
        }
    }
    const double e1 = d1 + HEAD_EPS, e0 = d0 + HEAD_EPS;
    *g0 = dx[0] + dx[2] + dx[3] / e1 - dx[4] * d1 / (e0 * e0);
    *g1 = dx[1] - dx[2] - dx[3] * d0 / (e1 * e1) + dx[4] / e0;
    return loss;
}

/* sync loss 10 * BCE(sigmoid(d0 - d1), J): adds its gradient, returns it */
static double sync_step(double d0, double d1, double j, double *g0, double *g1)
{
    const double z = d0 - d1, p = 1.0 / (1.0 + exp(-z));
    const double loss = -(j * fmax(log(p), -100.0) + (1.0 - j) * fmax(log1p(-p), -100.0));
    *g0 += SYNC_SCALE * (p - j);
    *g1 -= SYNC_SCALE * (p - j);
    return SYNC_SCALE * loss;
}

/* Adam on params (n) with grad, moments at offset; lr at step t->step */
static void adam(trainer *t, double *params, size_t n, size_t offset, double lr)
{
    const double b1 = t->opt.beta1, b2 = t->opt.beta2;
    const double c1 = 1.0 - pow(b1, (double)t->step), c2 = 1.0 - pow(b2, (double)t->step);
    for (size_t i = 0; i < n; i++) {
        double g = t->grad[offset + i], *m = &t->m[offset + i], *v = &t->v[offset + i];
        *m = b1 * *m + (1.0 - b1) * g;
        *v = b2 * *v + (1.0 - b2) * g * g;
        params[i] -= lr * (*m / c1) / (sqrt(*v / c2) + ADAM_EPS);
    }
}

void shuffle_indices(dpsim_rng *rng, size_t *order, size_t n)
{
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)dpsim_rng_below(rng, i), tmp = order[i - 1];
        order[i - 1] = order[j];
        order[j] = tmp;
    }
}

double trainer_gradient(trainer *t, const triplet_cache *c, const size_t *idx, size_t n,
                        int sync)
{
    const size_t nw = t->layout.n_weights;
    double total = 0.0;
    memset(t->grad, 0, (nw + HEAD_PARAMS) * sizeof(double));
    for (size_t k = 0; k < n; k++) {
        const size_t i = idx[k];
        double *m0 = t->masked, *m1 = t->masked + nw, g0, g1;
        const double d0 = forward_pair(t, &c->p0[i], m0), d1 = forward_pair(t, &c->p1[i], m1);
        total += head_step(t->head, d0, d1, c->h[i], t->grad + nw, &g0, &g1);
        if (sync)
            total += sync_step(d0, d1, c->h[i], &g0, &g1);
        for (size_t j = 0; j < nw; j++)
            t->grad[j] += g0 * m0[j] + g1 * m1[j];
    }
    for (size_t j = 0; j < nw + HEAD_PARAMS; j++) /* the loss is the mean over the batch */
        t->grad[j] /= (double)n;
    return total;
}

dpsim_status trainer_epoch(trainer *t, const triplet_cache *c, const batch_source *src,
                           double lr, int sync, double *loss, errbuf *e)
{
    const size_t nw = t->layout.n_weights, batch = (size_t)t->opt.batch;
    size_t *order = dp_malloc((c->n ? c->n : 1) * sizeof(size_t) + batch * sizeof(size_t));
    double total = 0.0;
    if (!order)
        return err_set(e, DPSIM_E_NOMEM, "out of memory for the order of %zu triplets", c->n);
    size_t *local = order + c->n; /* (batch): 0..n-1, a filled batch's own indices */
    for (size_t k = 0; k < batch; k++)
        local[k] = k;
    shuffle_indices(&t->rng, order, c->n);
    dpsim_status s = DPSIM_OK;
    for (size_t start = 0; start < c->n && s == DPSIM_OK; start += batch) {
        const size_t n = start + batch < c->n ? batch : c->n - start;
        if (src) {
            triplet_cache filled = {0};
            s = src->fill(src->user, order + start, n, &filled);
            if (s == DPSIM_OK)
                total += trainer_gradient(t, &filled, local, n, sync);
            triplet_cache_free(&filled);
            if (s != DPSIM_OK)
                break;
        } else {
            total += trainer_gradient(t, c, order + start, n, sync);
        }
        t->step++;
        adam(t, t->w, nw, 0, lr);
        adam(t, t->head, HEAD_PARAMS, nw, lr);
        for (size_t j = 0; j < nw; j++) /* only the channel weights are clamped */
            if (t->w[j] < 0.0)
                t->w[j] = 0.0;
    }
    dp_free(order);
    *loss = c->n ? total / (double)c->n : 0.0;
    return s;
}
