/*
 * test_alloc_failure.c - allocation-failure injection (built only with
 * -Dalloc_failure_injection=true). Each main API path runs once per n with
 * the n-th allocation and every later one failing, until it gets through
 * without reaching allocation n. Every run must return DPSIM_E_NOMEM (or the
 * path's own error for a bad input) with a message, and leave its
 * out-parameter untouched; run under ASan, detect_leaks finds what an error
 * path forgets to free.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allocsweep.h"
#include "check.h"
#include "core/ctx.h"
#include "model/stream.h"
#include "modeltest.h"
#include "testgen.h"

static dpsim_ctx *ctx;
static char tmpdir[] = "/tmp/dpsim-test-alloc-XXXXXX";
static char trunk_path[4200], lin_path[4200], bad_lin_path[4200], png_path[4200];
static char image_path[4200], feat_path[4200];
static dpsim_model *model;
static dpsim_features *feat_a, *feat_b;
static float pixels_a[3 * 64 * 64], pixels_b[3 * 64 * 64];
static dpsim_image *image;
static dpsim_model_options load_opt; /* what op_load loads */

/* ---- one API path each; the result (if any) is checked and freed ---- */

ALLOC_OP(op_ctx_create, dpsim_ctx, dpsim_ctx_create(&out, NULL), dpsim_ctx_free)
ALLOC_OP(op_load, dpsim_model, dpsim_model_load(ctx, &load_opt, &out), dpsim_model_free)
ALLOC_OP(op_image_read, dpsim_image, dpsim_image_read(ctx, image_path, &out), dpsim_image_free)
ALLOC_OP(op_resize, dpsim_image, dpsim_image_resize(ctx, image, 37, 23, &out), dpsim_image_free)
ALLOC_OP(op_extract, dpsim_features, dpsim_extract(ctx, model, pixels_a, 64, 64, &out),
         dpsim_features_free)

/* Sweep op_load on a trunk and lin file; both NULL: the real squeeze trunk (PyTorch zip
   checkpoint) and lin file, found by dpsim_weights_locate. */
static void sweep_load(const char *what, const char *trunk, const char *lin, dpsim_status want)
{
    dpsim_model_options_init(&load_opt);
    if (trunk) {
        load_opt.trunk_path = trunk;
        load_opt.lin_path = lin;
        load_opt.use_lin = lin != NULL;
    }
    alloc_sweep(ctx, what, op_load, want);
}

/* 1 if tmpdir holds a leftover temporary (of png_path or feat_path) */
static int temporary_left(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *ent;
    int found = 0;
    while (d && (ent = readdir(d)))
        found |= strstr(ent->d_name, ".tmp-") != NULL;
    if (d)
        closedir(d);
    return found;
}

/*
 * dpsim_extract_batch of three images on a context of one thread (its
 * allocations all on this thread, so the count is the same every run): of one
 * size, run through the net together; of two sizes, one after another. On
 * failure every out is NULL.
 */
static dpsim_ctx *ctx_1;

static dpsim_status extract_batch_of(const int *widths, const int *heights)
{
    const float *px[3] = {pixels_a, pixels_b, pixels_a};
    dpsim_features *out[3] = {alloc_untouched(), alloc_untouched(), alloc_untouched()};
    dpsim_status s = dpsim_extract_batch(ctx_1, model, 3, px, widths, heights, out);
    for (int i = 0; i < 3; i++) {
        CHECK(s == DPSIM_OK ? out[i] != NULL : out[i] == NULL);
        if (s == DPSIM_OK)
            dpsim_features_free(out[i]);
    }
    return s;
}

static dpsim_status op_extract_batch_same(void)
{
    static const int side[3] = {64, 64, 64};
    return extract_batch_of(side, side);
}

static dpsim_status op_extract_batch_mixed(void)
{
    static const int widths[3] = {64, 48, 64}, heights[3] = {64, 40, 64};
    return extract_batch_of(widths, heights);
}

static dpsim_status op_png_write(void)
{
    static uint8_t rgb[3 * 40 * 30];
    unlink(png_path);
    dpsim_status s = dpsim_png_write_rgb8(ctx, png_path, rgb, 40, 30);
    if (s != DPSIM_OK)
        CHECK(access(png_path, F_OK) != 0);
    CHECK(!temporary_left());
    return s;
}

static dpsim_status op_compare(void)
{
    static float map[64 * 64];
    double per_tap[DPSIM_MAX_TAPS], d = -7.0;
    dpsim_status s = dpsim_compare(ctx, model, feat_a, feat_b, &d, per_tap, map);
    if (s != DPSIM_OK)
        CHECK(d == -7.0);
    return s;
}

/* two 64x64 images compared through features (too small for bands) */
static dpsim_status op_compare_images(void)
{
    static float map[64 * 64];
    const float *a = pixels_a, *b = pixels_b;
    double per_tap[DPSIM_MAX_TAPS], d = -7.0;
    dpsim_status s = dpsim_compare_images(ctx, model, 1, &a, &b, 64, 64, &d, per_tap, map);
    if (s != DPSIM_OK)
        CHECK(d == -7.0);
    return s;
}

/* the same by bands of 40 pixels a step, alone and on the workers of a 2-thread context */
static dpsim_ctx *ctx_2;
static dpsim_status op_stream(void)
{
    static float map[64 * 64];
    const float *a = pixels_a, *b = pixels_b;
    double per_tap[DPSIM_MAX_TAPS], d = -7.0;
    errbuf e = {{0}};
    dpsim_status s = stream_compare(model, 1, &a, &b, 64, 64, 40, &d, per_tap, map,
                                    ctx_2 ? ctx_2->workers : NULL,
                                    ctx_2 ? ctx_2->scratch : NULL, &e);
    if (s != DPSIM_OK)
        CHECK(d == -7.0 && e.msg[0] != 0);
    return s;
}

/*
 * VGG-16 at 128x128 by bands on 2 threads: one group per image, conv4 by
 * Winograd on weights made on each call, once a step for both groups
 * (conv_batch_padded_weights), into the first group's buffer.
 */
enum { WINO_SIDE = 128 };
static dpsim_model *vgg;
static float *vgg_pixels; /* (2, 3, WINO_SIDE, WINO_SIDE) */
static dpsim_status op_stream_wino(void)
{
    const size_t px = 3 * WINO_SIDE * WINO_SIDE;
    const float *a = vgg_pixels, *b = vgg_pixels + px;
    double per_tap[DPSIM_MAX_TAPS], d = -7.0;
    errbuf e = {{0}};
    dpsim_status s = stream_compare(vgg, 1, &a, &b, WINO_SIDE, WINO_SIDE, 0, &d, per_tap, NULL,
                                    ctx_2->workers, ctx_2->scratch, &e);
    if (s != DPSIM_OK)
        CHECK(d == -7.0 && e.msg[0] != 0);
    return s;
}

static void sweep_stream_wino(void)
{
    char path[512];
    dpsim_model_options opt;
    dpsim_model_options_init(&opt);
    opt.net = DPSIM_NET_VGG16;
    opt.trunk_path = path;
    opt.use_lin = 0;
    const size_t px = 3 * WINO_SIDE * WINO_SIDE;
    vgg_pixels = malloc(2 * px * sizeof(float));
    CHECK(vgg_pixels && gen_trunk_path("random:5", DPSIM_NET_VGG16, path, sizeof path));
    CHECK(dpsim_model_load(NULL, &opt, &vgg) == DPSIM_OK);
    if (vgg && vgg_pixels) {
        gen_image(3, WINO_SIDE, WINO_SIDE, vgg_pixels);
        gen_image(4, WINO_SIDE, WINO_SIDE, vgg_pixels + px);
        ctx_2 = ctx_with(2);
        alloc_sweep(NULL, "compare by bands, VGG-16 Winograd made on each call", op_stream_wino,
                    DPSIM_OK);
        dpsim_ctx_free(ctx_2);
        ctx_2 = NULL;
    }
    dpsim_model_free(vgg);
    free(vgg_pixels);
    gen_trunk_cleanup();
}

static dpsim_status op_featfile_write(void)
{
    unlink(feat_path);
    dpsim_featfile_writer *w = alloc_untouched();
    dpsim_status s = dpsim_featfile_writer_open(ctx, feat_path, model, "size=64x64", &w);
    if (s != DPSIM_OK) {
        CHECK(w == alloc_untouched());
    } else {
        s = dpsim_featfile_writer_add(ctx, w, "a", feat_a);
        if (s == DPSIM_OK)
            s = dpsim_featfile_writer_add(ctx, w, "b", feat_b);
        if (s == DPSIM_OK)
            s = dpsim_featfile_writer_commit(ctx, w);
        else
            dpsim_featfile_writer_abort(w);
    }
    if (s != DPSIM_OK)
        CHECK(access(feat_path, F_OK) != 0);
    CHECK(!temporary_left());
    return s;
}

static dpsim_status op_featfile_read(void)
{
    dpsim_featfile *ff = alloc_untouched();
    dpsim_status s = dpsim_featfile_read(ctx, feat_path, &ff);
    if (s == DPSIM_OK) {
        CHECK(dpsim_featfile_count(ff) == 2 && dpsim_featfile_check(ctx, ff, model) == DPSIM_OK);
        dpsim_featfile_free(ff);
    } else {
        CHECK(ff == alloc_untouched());
    }
    return s;
}

static void write_weights(void)
{
    const net_def *def = net_def_get(DPSIM_NET_SQUEEZE);
    tensor_list trunk = {0}, lin = {0}, bad = {0};
    CHECK(gen_trunk(def, 5, &trunk));
    CHECK(safetensors_write_file(trunk_path, &trunk, NULL, NULL) == DPSIM_OK);
    for (int t = 0; t < def->n_lpips_taps; t++) {
        int c = net_layer_channels(def, def->lpips_taps[t]);
        float w[1024];
        for (int i = 0; i < c + 1; i++)
            w[i] = 0.1f * (float)(1 + i % 3);
        char name[64];
        snprintf(name, sizeof name, "lin%d.model.1.weight", t);
        int64_t shape[4] = {1, c, 1, 1};
        CHECK(tensor_list_add(&lin, name, 4, shape, w, NULL) == DPSIM_OK);
        shape[1] += t == def->n_lpips_taps - 1; /* the last tap one channel too wide */
        CHECK(tensor_list_add(&bad, name, 4, shape, w, NULL) == DPSIM_OK);
    }
    CHECK(safetensors_write_file(lin_path, &lin, NULL, NULL) == DPSIM_OK);
    CHECK(safetensors_write_file(bad_lin_path, &bad, NULL, NULL) == DPSIM_OK);
    tensor_list_free(&trunk);
    tensor_list_free(&lin);
    tensor_list_free(&bad);
}

static void set_image(const char *name)
{
    const char *root = getenv("DPSIM_SOURCE_ROOT");
    snprintf(image_path, sizeof image_path, "%s/tests/image/fixtures/%s", root ? root : ".",
             name);
}

int main(void)
{
    static const struct {
        const char *name;
        dpsim_status expected;
    } images[] = {
        {"png_rgb8.png", DPSIM_OK},          {"png_rgba16_interlaced.png", DPSIM_OK},
        {"png_pal8_trns.png", DPSIM_OK},     {"jpeg_baseline.jpg", DPSIM_OK},
        {"jpeg_progressive.jpg", DPSIM_OK},  {"jpeg_cmyk.jpg", DPSIM_E_UNSUPPORTED},
        {"bmp_pal8.bmp", DPSIM_OK},          {"bmp_v5_argb32.bmp", DPSIM_OK},
        {"gif_anim.gif", DPSIM_OK},          {"gif_offset.gif", DPSIM_OK},
        {"webp_lossy.webp", DPSIM_OK},       {"webp_lossless_alpha.webp", DPSIM_OK},
        {"bad_huge_ihdr.png", DPSIM_E_LIMIT},
    };
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(trunk_path, sizeof trunk_path, "%s/trunk.safetensors", tmpdir);
    snprintf(lin_path, sizeof lin_path, "%s/lin.safetensors", tmpdir);
    snprintf(bad_lin_path, sizeof bad_lin_path, "%s/bad_lin.safetensors", tmpdir);
    snprintf(png_path, sizeof png_path, "%s/out.png", tmpdir);
    snprintf(feat_path, sizeof feat_path, "%s/set.dpf", tmpdir);
    dp_alloc_fail_at(0);
    CHECK(dpsim_ctx_create(&ctx, NULL) == DPSIM_OK);
    write_weights();

    alloc_sweep(NULL, "ctx create", op_ctx_create, DPSIM_OK);
    sweep_load("model load (trunk + lin)", trunk_path, lin_path, DPSIM_OK);
    sweep_load("model load (lin of the wrong shape)", trunk_path, bad_lin_path, DPSIM_E_SHAPE);
    const char *weights = getenv("DPSIM_WEIGHTS");
    if (weights && *weights)
        sweep_load("model load (real squeeze weights)", NULL, NULL, DPSIM_OK);
    else
        printf("DPSIM_WEIGHTS not set: real weights not swept\n");

    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++) {
        char what[128];
        set_image(images[i].name);
        snprintf(what, sizeof what, "image read %s", images[i].name);
        alloc_sweep(ctx, what, op_image_read, images[i].expected);
    }
    set_image("png_rgb8.png");
    CHECK(dpsim_image_read(ctx, image_path, &image) == DPSIM_OK);
    if (image) {
        alloc_sweep(ctx, "image resize", op_resize, DPSIM_OK);
        dpsim_image_free(image);
    }
    alloc_sweep(ctx, "png write", op_png_write, DPSIM_OK);

    dpsim_model_options opt;
    dpsim_model_options_init(&opt);
    opt.trunk_path = trunk_path;
    opt.lin_path = lin_path;
    CHECK(dpsim_model_load(ctx, &opt, &model) == DPSIM_OK);
    gen_image(1, 64, 64, pixels_a);
    gen_image(2, 64, 64, pixels_b);
    if (model) {
        alloc_sweep(ctx, "extract", op_extract, DPSIM_OK);
        ctx_1 = ctx_with(1);
        alloc_sweep(ctx_1, "extract batch, one size", op_extract_batch_same, DPSIM_OK);
        alloc_sweep(ctx_1, "extract batch, two sizes", op_extract_batch_mixed, DPSIM_OK);
        dpsim_ctx_free(ctx_1);
        CHECK(dpsim_extract(ctx, model, pixels_a, 64, 64, &feat_a) == DPSIM_OK);
        CHECK(dpsim_extract(ctx, model, pixels_b, 64, 64, &feat_b) == DPSIM_OK);
        if (feat_a && feat_b) {
            alloc_sweep(ctx, "compare", op_compare, DPSIM_OK);
            alloc_sweep(ctx, "compare images", op_compare_images, DPSIM_OK);
            alloc_sweep(NULL, "compare by bands", op_stream, DPSIM_OK);
            ctx_2 = ctx_with(2);
            alloc_sweep(NULL, "compare by bands, 2 threads", op_stream, DPSIM_OK);
            dpsim_ctx_free(ctx_2);
            ctx_2 = NULL;
            sweep_stream_wino();
            alloc_sweep(ctx, "feature file write", op_featfile_write, DPSIM_OK);
            alloc_sweep(ctx, "feature file read", op_featfile_read, DPSIM_OK);
        }
    }
    dpsim_features_free(feat_a);
    dpsim_features_free(feat_b);
    dpsim_model_free(model);
    dpsim_ctx_free(ctx);
    unlink(trunk_path);
    unlink(lin_path);
    unlink(bad_lin_path);
    unlink(png_path);
    unlink(feat_path);
    rmdir(tmpdir);
    return check_report();
}
