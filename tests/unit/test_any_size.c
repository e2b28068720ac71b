/*
 * test_any_size.c - the mean and gram methods compare images of different
 * sizes (channel means and Gram matrices do not depend on positions),
 * checked against both recomputed here from the features; the other
 * methods refuse them.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "modeltest.h"
#include "model/model.h"

static char tmpdir[] = "/tmp/dpsim-test-any-size-XXXXXX";

static dpsim_model *load(dpsim_ctx *ctx, const char *trunk, dpsim_method method, int norm)
{
    dpsim_model_options opt;
    dpsim_model_options_init(&opt);
    opt.trunk_path = trunk;
    opt.use_lin = 0;
    opt.method = method;
    opt.normalize = norm;
    dpsim_model *m = NULL;
    CHECK_MSG(dpsim_model_load(ctx, &opt, &m) == DPSIM_OK, "%s", dpsim_ctx_last_error(ctx));
    return m;
}

/* z (c, hw) of one tap, unit-normalised along channels when norm, in double */
static double *unit(const float *z, int c, size_t hw, int norm)
{
    double *out = malloc((size_t)c * hw * sizeof(double));
    for (size_t k = 0; k < hw; k++) {
        double n = 0.0;
        for (int i = 0; i < c; i++)
            n += (double)z[i * hw + k] * z[i * hw + k];
        double inv = norm ? 1.0 / (sqrt(n) + 1e-10) : 1.0;
        for (int i = 0; i < c; i++)
            out[i * hw + k] = z[i * hw + k] * inv;
    }
    return out;
}

/* The gram term of tap t, from scratch: unit weights. */
static double gram_oracle(const dpsim_features *a, const dpsim_features *b, int t, int norm)
{
    const int c = a->c[t];
    size_t hwa = (size_t)a->h[t] * a->w[t], hwb = (size_t)b->h[t] * b->w[t];
    double *za = unit(a->tap[t], c, hwa, norm), *zb = unit(b->tap[t], c, hwb, norm), sum = 0.0;
    for (int i = 0; i < c; i++)
        for (int j = 0; j < c; j++) {
            double ga = 0.0, gb = 0.0;
            for (size_t k = 0; k < hwa; k++)
                ga += za[i * hwa + k] * za[j * hwa + k];
            for (size_t k = 0; k < hwb; k++)
                gb += zb[i * hwb + k] * zb[j * hwb + k];
            double d = ga / (double)hwa - gb / (double)hwb;
            sum += d * d;
        }
    free(za);
    free(zb);
    return sum / ((double)c * c);
}

/* The mean term of tap t, from scratch: unit weights. */
static double mean_oracle(const dpsim_features *a, const dpsim_features *b, int t, int norm)
{
    double sum = 0.0, na = 0.0, nb = 0.0;
    double *ma = calloc((size_t)a->c[t], sizeof(double)), *mb = calloc((size_t)a->c[t], sizeof(double));
    for (int c = 0; c < a->c[t]; c++) {
        size_t hwa = (size_t)a->h[t] * a->w[t], hwb = (size_t)b->h[t] * b->w[t];
        for (size_t i = 0; i < hwa; i++)
            ma[c] += a->tap[t][c * hwa + i];
        for (size_t i = 0; i < hwb; i++)
            mb[c] += b->tap[t][c * hwb + i];
        ma[c] /= (double)hwa;
        mb[c] /= (double)hwb;
        na += ma[c] * ma[c];
        nb += mb[c] * mb[c];
    }
    double ia = norm ? 1.0 / (sqrt(na) + 1e-10) : 1.0, ib = norm ? 1.0 / (sqrt(nb) + 1e-10) : 1.0;
    for (int c = 0; c < a->c[t]; c++)
        sum += (ma[c] * ia - mb[c] * ib) * (ma[c] * ia - mb[c] * ib);
    free(ma);
    free(mb);
    return sum;
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        return 1;
    char trunk[512];
    snprintf(trunk, sizeof trunk, "%s/squeeze.safetensors", tmpdir);
    write_trunk(DPSIM_NET_SQUEEZE, 7, trunk);
    dpsim_ctx *ctx;
    CHECK(dpsim_ctx_create(&ctx, NULL) == DPSIM_OK);
    for (int run = 0; run < 4; run++) {
        const int norm = run & 1, gram = run >> 1;
        dpsim_model *m = load(ctx, trunk, gram ? DPSIM_METHOD_GRAM : DPSIM_METHOD_MEAN, norm);
        if (!m)
            break;
        dpsim_features *a = extract_gen(ctx, m, 1, 48, 40), *b = extract_gen(ctx, m, 2, 33, 57);
        double d = -1, d2 = -1, per_tap[DPSIM_MAX_TAPS], sum = 0;
        CHECK(dpsim_compare(ctx, m, a, b, &d, per_tap, NULL) == DPSIM_OK);
        CHECK(dpsim_compare(ctx, m, b, a, &d2, NULL, NULL) == DPSIM_OK);
        CHECK(d > 0 && d == d2);
        for (int t = 0; t < dpsim_model_n_taps(m); t++) {
            double want = gram ? gram_oracle(a, b, t, norm) : mean_oracle(a, b, t, norm);
            CHECK_REL(per_tap[t], want, 1e-9, 1e-300);
            sum += per_tap[t];
        }
        CHECK_REL(d, sum, 1e-12, 1e-300);
        float map[48 * 40];
        CHECK(dpsim_compare(ctx, m, a, b, &d, NULL, map) != DPSIM_OK); /* no map for these */
        /* other methods need equal sizes, and say which do not */
        static const dpsim_method others[] = {DPSIM_METHOD_SPATIAL, DPSIM_METHOD_SORT,
                                              DPSIM_METHOD_SPATIAL_MEAN,
                                              DPSIM_METHOD_SPATIAL_SORT};
        for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
            dpsim_model *o = load(ctx, trunk, others[i], -1);
            CHECK(o && dpsim_compare(ctx, o, a, b, &d, NULL, NULL) == DPSIM_E_SHAPE);
            CHECK(strstr(dpsim_ctx_last_error(ctx), "methods mean and gram compare any sizes"));
            dpsim_model_free(o);
        }
        dpsim_features_free(a);
        dpsim_features_free(b);
        dpsim_model_free(m);
    }
    dpsim_ctx_free(ctx);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    CHECK(system(cmd) == 0);
    return check_report();
}
