/*
 * test_grad_alloc_failure.c - allocation-failure injection on the gradient
 * API (built only with -Dalloc_failure_injection=true, like
 * test_alloc_failure.c): dpsim_gradient (both images; on a context, which
 * keeps its memory between calls, and without one, which starts cold) and
 * dpsim_gradient_to run once per n with the n-th and every later
 * allocation failing, for each
 * method family (spatial with the pixel layer, mean, sort, gram, dists; the
 * spatial+X sums add no allocation of their own) on a pseudo-random trunk,
 * and VGG-16 at a size whose backward runs its first layers by Winograd on
 * the forward's transformed weights (conv_wino_grad.c). Each failing run
 * must return DPSIM_E_NOMEM with a message and leave the distance and
 * gradients untouched; under ASan, leaks on error paths are reported.
 */
#include "allocsweep.h"
#include "gradtest.h"

#define W 20
#define H 18
#define W_WINO 36 /* VGG-16's conv1_2 on 18x17 tiles, conv2_2 on 9x9: Winograd both ways */
#define H_WINO 34
#define N (3 * W_WINO * H_WINO)

static dpsim_ctx *ctx;
static dpsim_model *model;
static dpsim_features *target;
static int w = W, h = H; /* the images' size */
static float a[N], b[N], ga[N], gb[N];

static int untouched(double d)
{
    return d == -1.0 && ga[0] == -1.0f && gb[0] == -1.0f;
}

static dpsim_status gradient_on(dpsim_ctx *c)
{
    double d = -1.0;
    ga[0] = gb[0] = -1.0f;
    dpsim_status s = dpsim_gradient(c, model, a, b, w, h, &d, ga, gb);
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
    dpsim_status s = dpsim_gradient_to(ctx, model, a, w, h, target, &d, ga);
    if (s != DPSIM_OK)
        CHECK(untouched(d));
    return s;
}

/* Every sweep of one model: net, method, the pixel layer, at the size w x h. */
static void sweep_model(dpsim_net net, dpsim_method method, int pixel)
{
    grad_image(1, w, h, a);
    grad_image(2, w, h, b);
    dpsim_model_options opt;
    dpsim_model_options_init(&opt);
    opt.method = method;
    opt.net = net;
    opt.use_lin = 0;
    opt.pixel_layer = pixel;
    char path[512];
    CHECK(gen_trunk_path("random:1", net, path, sizeof path));
    opt.trunk_path = path;
    CHECK_MSG(dpsim_model_load(ctx, &opt, &model) == DPSIM_OK, "%s", dpsim_ctx_last_error(ctx));
    CHECK(dpsim_extract(ctx, model, b, w, h, &target) == DPSIM_OK);
    char what[96];
    snprintf(what, sizeof what, "gradient %s %s %dx%d", dpsim_net_name(net),
             dpsim_method_name(method), w, h);
    alloc_sweep(ctx, what, op_gradient, DPSIM_OK);
    snprintf(what, sizeof what, "gradient %s %s %dx%d, no context", dpsim_net_name(net),
             dpsim_method_name(method), w, h);
    alloc_sweep(NULL, what, op_gradient_cold, DPSIM_OK);
    snprintf(what, sizeof what, "gradient_to %s %s %dx%d", dpsim_net_name(net),
             dpsim_method_name(method), w, h);
    alloc_sweep(ctx, what, op_gradient_to, DPSIM_OK);
    dpsim_features_free(target);
    dpsim_model_free(model);
}

int main(void)
{
    CHECK(dpsim_ctx_create(&ctx, NULL) == DPSIM_OK);
    for (int method = DPSIM_METHOD_SPATIAL; method <= DPSIM_METHOD_DISTS; method++)
        if (method != DPSIM_METHOD_SPATIAL_MEAN && method != DPSIM_METHOD_SPATIAL_SORT)
            sweep_model(method == DPSIM_METHOD_DISTS ? DPSIM_NET_VGG16 : DPSIM_NET_SQUEEZE,
                        (dpsim_method)method, method == DPSIM_METHOD_SPATIAL);
    w = W_WINO;
    h = H_WINO;
    sweep_model(DPSIM_NET_VGG16, DPSIM_METHOD_SPATIAL, 0);
    dpsim_ctx_free(ctx);
    gen_trunk_cleanup();
    return check_report();
}
