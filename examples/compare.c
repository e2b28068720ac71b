/*
 * compare.c - the C API in one page: LPIPS (SqueezeNet 1.1, v0.1) between
 * two image files. Build: cc compare.c $(pkg-config --cflags --libs dpsim)
 */
#include <stdio.h>

#include <dpsim/dpsim.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s A B\n", argv[0]);
        return 2;
    }
    dpsim_ctx *ctx = NULL;
    dpsim_model *model = NULL;
    dpsim_image *a = NULL, *b = NULL;
    dpsim_features *fa = NULL, *fb = NULL;
    dpsim_model_options opt;
    double d;
    int rc = 1;
    if (dpsim_ctx_create(&ctx, NULL) != DPSIM_OK)
        return 1;
    dpsim_model_options_init(&opt); /* defaults; weights from $DPSIM_WEIGHTS or the caches */
    if (dpsim_model_load(ctx, &opt, &model) == DPSIM_OK &&
        dpsim_image_read(ctx, argv[1], &a) == DPSIM_OK &&
        dpsim_image_read(ctx, argv[2], &b) == DPSIM_OK &&
        dpsim_extract(ctx, model, a->pixels, a->width, a->height, &fa) == DPSIM_OK &&
        dpsim_extract(ctx, model, b->pixels, b->width, b->height, &fb) == DPSIM_OK &&
        dpsim_compare(ctx, model, fa, fb, &d, NULL, NULL) == DPSIM_OK) {
        printf("%.9g\n", d);
        rc = 0;
    } else {
        fprintf(stderr, "error: %s\n", dpsim_ctx_last_error(ctx));
    }
    dpsim_features_free(fa);
    dpsim_features_free(fb);
    dpsim_image_free(a);
    dpsim_image_free(b);
    dpsim_model_free(model);
    dpsim_ctx_free(ctx);
    return rc;
}
