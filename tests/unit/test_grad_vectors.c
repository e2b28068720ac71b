/*
 * test_grad_vectors.c - the whole gradient chain against PyTorch autograd
 * (tests/vectors/grad.txt from tools/scripts/gen_grad_vectors.py): every
 * net, method, normalisation, version and the pixel layer. Per case:
 * max |g - g_ref| <= 1e-4 max |g_ref| for d/da (and d/db where stored), the
 * distance within 1e-5 relative of the reference and within 1e-12 of
 * dpsim_compare on the same images, and (where d/db is stored)
 * dpsim_gradient_to (target features) giving the same d/da bit for bit.
 * Needs $DPSIM_WEIGHTS (lin files, DISTS weights, the real SqueezeNet);
 * exits 77 (skip) without it. Usage: test_grad_vectors [CASE_SUBSTRING]
 */
#include "gradtest.h"
#include "vecfile.h"

#define GRAD_REL 1e-4
#define DIST_REL 1e-5

typedef struct gcase {
    char id[128], a[64], b[64], grad[160];
    vec_model m;
    int w, h, both;
    double distance;
} gcase;

static const vec_key case_keys[] = {
    VEC_KEY_STR("case", gcase, id),    VEC_MODEL_KEYS(gcase, m),
    VEC_KEY_STR("a", gcase, a),        VEC_KEY_STR("b", gcase, b),
    VEC_KEY_STR("grad", gcase, grad),  VEC_KEY_INT("both", gcase, both),
    VEC_KEY_SIZE("size", gcase, w, h), VEC_KEY_REAL("distance", gcase, distance),
    VEC_KEY_END,
};

static const char *parse_case(char *line, void *arg)
{
    gcase *c = arg;
    memset(c, 0, sizeof *c);
    return vec_parse_case(line, case_keys, c) && c->id[0] ? c->id : NULL;
}

static double worst_grad, worst_dist;

/* max |g - want| / max |want| over n values */
static double grad_error(const float *g, const float *want, size_t n)
{
    double peak = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        peak = fmax(peak, fabs(want[i]));
        worst = fmax(worst, fabs((double)g[i] - want[i]));
    }
    return worst / peak;
}

static void run_case(dpsim_ctx *ctx, const void *arg, const char *vec_dir)
{
    const gcase *c = arg;
    dpsim_model_options opt;
    vec_model_options(&c->m, c->id, &opt);
    char trunk[512];
    CHECK_MSG(gen_trunk_path(c->m.trunk, opt.net, trunk, sizeof trunk), "%s: trunk", c->id);
    opt.trunk_path = trunk;
    dpsim_model *m = NULL;
    CHECK_MSG(dpsim_model_load(ctx, &opt, &m) == DPSIM_OK, "%s: %s", c->id,
              dpsim_ctx_last_error(ctx));
    const size_t n = (size_t)3 * c->w * c->h;
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    float *ga = malloc(n * sizeof(float)), *gb = malloc(n * sizeof(float));
    float *ga2 = malloc(n * sizeof(float)), *want = malloc(2 * n * sizeof(float));
    dpsim_features *fa = NULL, *fb = NULL;
    if (!m)
        goto done;
    grad_image(strtoull(c->a + 5, NULL, 10), c->w, c->h, a);
    grad_image(strtoull(c->b + 5, NULL, 10), c->w, c->h, b);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", vec_dir, c->grad);
    FILE *fp = fopen(path, "rb");
    size_t got = fp ? fread(want, sizeof(float), (c->both ? 2 : 1) * n, fp) : 0;
    if (fp)
        fclose(fp);
    CHECK_MSG(got == (c->both ? 2 : 1) * n, "%s: cannot read %s", c->id, path);
    double d = -1.0, d_cmp = -2.0, d_to = -3.0;
    CHECK_MSG(dpsim_gradient(ctx, m, a, b, c->w, c->h, &d, ga, c->both ? gb : NULL) == DPSIM_OK,
              "%s: %s", c->id, dpsim_ctx_last_error(ctx));
    CHECK(dpsim_extract(ctx, m, a, c->w, c->h, &fa) == DPSIM_OK);
    CHECK(dpsim_extract(ctx, m, b, c->w, c->h, &fb) == DPSIM_OK);
    CHECK(dpsim_compare(ctx, m, fa, fb, &d_cmp, NULL, NULL) == DPSIM_OK);
    CHECK_REL(d, d_cmp, 1e-12, 1e-300);
    if (c->both) { /* (a sample: it costs another pass) */
        CHECK(dpsim_gradient_to(ctx, m, a, c->w, c->h, fb, &d_to, ga2) == DPSIM_OK);
        CHECK(d_to == d);
        CHECK_MSG(memcmp(ga, ga2, n * sizeof(float)) == 0, "%s: gradient_to differs", c->id);
    }
    CHECK_REL(d, c->distance, DIST_REL, 1e-300);
    double ea = grad_error(ga, want, n), eb = c->both ? grad_error(gb, want + n, n) : 0.0;
    fprintf(stderr, "%-32s distance rel %.2e  grad a %.2e  grad b %.2e\n", c->id,
            fabs(d - c->distance) / fabs(c->distance), ea, c->both ? eb : NAN);
    CHECK_MSG(ea <= GRAD_REL, "%s: d/da max error %.3g of its peak", c->id, ea);
    CHECK_MSG(eb <= GRAD_REL, "%s: d/db max error %.3g of its peak", c->id, eb);
    worst_grad = fmax(worst_grad, fmax(ea, eb));
    worst_dist = fmax(worst_dist, fabs(d - c->distance) / fabs(c->distance));
done:
    dpsim_features_free(fa);
    dpsim_features_free(fb);
    dpsim_model_free(m);
    free(a), free(b), free(ga), free(gb), free(ga2), free(want);
}

int main(int argc, char **argv)
{
    if (!getenv("DPSIM_WEIGHTS")) {
        printf("skip: set DPSIM_WEIGHTS (lin files, DISTS weights, SqueezeNet)\n");
        return 77;
    }
    const char *root = getenv("DPSIM_SOURCE_ROOT"), *only = argc > 1 ? argv[1] : NULL;
    char vec_dir[1024], file[1100];
    snprintf(vec_dir, sizeof vec_dir, "%s/tests/vectors", root ? root : ".");
    snprintf(file, sizeof file, "%s/grad.txt", vec_dir);
    FILE *fp = fopen(file, "r");
    CHECK_MSG(fp != NULL, "cannot open %s", file);
    if (!fp)
        return check_report();
    gcase c;
    int n = vec_run_file(fp, only, &c, parse_case, run_case, vec_dir);
    gen_trunk_cleanup();
    CHECK_MSG(n > 0, "no cases in %s", file);
    printf("%d cases; largest relative error: gradient %.2e (of its peak), distance %.2e\n", n,
           worst_grad, worst_dist);
    return check_report();
}
