/*
 * compare.c - dpsim_compare: check that two feature sets belong together,
 * then run the model's comparison method.
 */
#include "core/ctx.h"
#include "model/model.h"

dpsim_status dpsim_compare(dpsim_ctx *ctx, const dpsim_model *m, const dpsim_features *a,
                           const dpsim_features *b, double *distance, double *per_tap, float *map)
{
    ctx_clear(ctx);
    if (!m || !a || !b || !distance)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_compare: NULL argument");
    if (a->fingerprint != m->fingerprint || b->fingerprint != m->fingerprint)
        return ctx_fail(ctx, DPSIM_E_INVAL,
                        "features were extracted with another model (net, taps, version or "
                        "weights differ), expected features of this model");
    if (a->width != b->width || a->height != b->height)
        return ctx_fail(ctx, DPSIM_E_SHAPE,
                        "image sizes differ: %dx%d and %dx%d, expected equal sizes (resize or "
                        "crop first)",
                        a->width, a->height, b->width, b->height);
    return lpips_distance(m, a, b, distance, per_tap, map, ctx ? &ctx->err : NULL);
}
