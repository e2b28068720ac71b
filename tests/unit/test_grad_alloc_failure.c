/*
 * test_grad_alloc_failure.c - allocation-failure injection on the gradient
 * API (built only with -Dalloc_failure_injection=true, like
 * test_alloc_failure.c): dpsim_gradient (both images; on a context, which
 * keeps its memory between calls, and without one, which starts cold) and
 * dpsim_gradient_to run once per n with the n-th and every later
 * allocation failing, for each
 * method family (spatial with the pixel layer, mean, sort, gram, dists; the
 * spatial+X sums add no allocation of their own) on a pseudo-random trunk. Each failing run must return
 * DPSIM_E_NOMEM with a message and leave the distance and gradients
 * untouched; under ASan, leaks on error paths are reported.
 */
#include "allocsweep.h"
#include "gradtest.h"

#define W 20
#define H 18
#define N (3 * W * H)

static dpsim_ctx *ctx;
static dpsim_model *model;
static dpsim_features *target;
static float a[N], b[N], ga[N], gb[N];

static int untouched(double d)
{
    return d == -1.0 && ga[0] == -1.0f && gb[0] == -1.0f;
}

static dpsim_status gradient_on(dpsim_ctx *c)
{
    double d = -1.0;
    ga[0] = gb[0] = -1.0f;
    dpsim_status s = dpsim_gradient(c, model, a, b, W, H, &d, ga, gb);
    if (s != DPSIM_OK)
        CHECK(untouched(d));
    return s;
}

/* The context keeps what its calls reserved, so its sweep fails the allocations a warm
   context still makes; without one every call starts from nothing, so every allocation of
   a cold call fails once. */
static dpsim_status op_gradient(void) { return gradient_on(ctx); }

static dpsim_status op_gradient_cold(void) { return gradient_on(NULL); }

static dpsim_status op_gradient_to(void)
{
    double d = -1.0;
    ga[0] = gb[0] = -1.0f;
    dpsim_status s = dpsim_gradient_to(ctx, model, a, W, H, target, &d, ga);
    if (s != DPSIM_OK)
        CHECK(untouched(d));
    return s;
}

int main(void)
{
    CHECK(dpsim_ctx_create(&ctx, NULL) == DPSIM_OK);
    grad_image(1, W, H, a);
    grad_image(2, W, H, b);
    for (int method = DPSIM_METHOD_SPATIAL; method <= DPSIM_METHOD_DISTS; method++) {
        if (method == DPSIM_METHOD_SPATIAL_MEAN || method == DPSIM_METHOD_SPATIAL_SORT)
            continue;
        dpsim_model_options opt;
        dpsim_model_options_init(&opt);
        opt.method = (dpsim_method)method;
        opt.net = method == DPSIM_METHOD_DISTS ? DPSIM_NET_VGG16 : DPSIM_NET_SQUEEZE;
        opt.use_lin = 0;
        opt.pixel_layer = method == DPSIM_METHOD_SPATIAL;
        char path[512];
        CHECK(gen_trunk_path("random:1", opt.net, path, sizeof path));
        opt.trunk_path = path;
        CHECK_MSG(dpsim_model_load(ctx, &opt, &model) == DPSIM_OK, "%s",
                  dpsim_ctx_last_error(ctx));
        CHECK(dpsim_extract(ctx, model, b, W, H, &target) == DPSIM_OK);
        char what[64];
        snprintf(what, sizeof what, "gradient %s", dpsim_method_name(method));
        alloc_sweep(ctx, what, op_gradient, DPSIM_OK);
        snprintf(what, sizeof what, "gradient %s, no context", dpsim_method_name(method));
        alloc_sweep(NULL, what, op_gradient_cold, DPSIM_OK);
        snprintf(what, sizeof what, "gradient_to %s", dpsim_method_name(method));
        alloc_sweep(ctx, what, op_gradient_to, DPSIM_OK);
        dpsim_features_free(target);
        dpsim_model_free(model);
    }
    dpsim_ctx_free(ctx);
    gen_trunk_cleanup();
    return check_report();
}
