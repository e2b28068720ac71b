/*
 * precision_accuracy.c - the accuracy cost of the opt-in bf16 precision:
 * LPIPS v0.1 distances of real image pairs computed in fp32 and in bf16 for
 * the three nets, and how far they differ. SqueezeNet runs its real weights;
 * AlexNet and VGG-16, whose pretrained trunks are not available here, the
 * pseudo-random trunk random:1 of doc/VECTORS.md (real lin weights for all).
 * Pairs: examples/ref.png with blur.png and noise.png (96x80), the LPIPS
 * example triplet ex_ref with ex_p0 and ex_p1 (64x64; its 2AFC judgement is
 * printed in both precisions), five TID2013 pairs and the piq pairs (512x384).
 * Prints a Markdown table per net (doc/PRECISION.md holds a run's output).
 * Usage: precision_accuracy [-t THREADS] SOURCE_ROOT DATA_DIR   (DPSIM_WEIGHTS set)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/model.h"
#include "unit/testgen.h"

typedef struct pair_spec {
    const char *a, *b; /* relative to the source root (examples/) or the data folder */
    int in_data;
} pair_spec;

static const pair_spec pairs[] = {
    {"examples/ref.png", "examples/blur.png", 0},
    {"examples/ref.png", "examples/noise.png", 0},
    {"lpips_examples/ex_ref.png", "lpips_examples/ex_p0.png", 1},
    {"lpips_examples/ex_ref.png", "lpips_examples/ex_p1.png", 1},
    {"tid2013_pairs/ref/I03.bmp", "tid2013_pairs/dist/I03.bmp", 1},
    {"tid2013_pairs/ref/I04.bmp", "tid2013_pairs/dist/I04.bmp", 1},
    {"tid2013_pairs/ref/I06.bmp", "tid2013_pairs/dist/I06.bmp", 1},
    {"tid2013_pairs/ref/I08.bmp", "tid2013_pairs/dist/I08.bmp", 1},
    {"tid2013_pairs/ref/I19.bmp", "tid2013_pairs/dist/I19.bmp", 1},
    {"piq_pairs/I01.BMP", "piq_pairs/i01_01_5.bmp", 1},
    {"piq_pairs/goldhill.gif", "piq_pairs/goldhill_jpeg.gif", 1},
};
enum { N_PAIRS = sizeof pairs / sizeof pairs[0], TRIPLET_P0 = 2, TRIPLET_P1 = 3 };

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static dpsim_model *load(dpsim_ctx *ctx, dpsim_net net, const char *trunk, dpsim_precision p)
{
    dpsim_model_options opt;
    dpsim_model_options_init(&opt);
    opt.net = net;
    opt.precision = p;
    char path[512];
    if (!gen_trunk_path(trunk, net, path, sizeof path)) {
        fprintf(stderr, "%s: no %s trunk\n", dpsim_net_name(net), trunk);
        return NULL;
    }
    opt.trunk_path = path;
    dpsim_model *m = NULL;
    if (dpsim_model_load(ctx, &opt, &m) != DPSIM_OK)
        fprintf(stderr, "%s %s: %s\n", dpsim_net_name(net), dpsim_precision_name(p),
                dpsim_ctx_last_error(ctx));
    return m;
}

static int distance(dpsim_ctx *ctx, const dpsim_model *m, const dpsim_image *a,
                    const dpsim_image *b, double *d)
{
    dpsim_features *fa = NULL, *fb = NULL;
    int ok = dpsim_extract(ctx, m, a->pixels, a->width, a->height, &fa) == DPSIM_OK &&
             dpsim_extract(ctx, m, b->pixels, b->width, b->height, &fb) == DPSIM_OK &&
             dpsim_compare(ctx, m, fa, fb, d, NULL, NULL) == DPSIM_OK;
    if (!ok)
        fprintf(stderr, "%s\n", dpsim_ctx_last_error(ctx));
    dpsim_features_free(fa);
    dpsim_features_free(fb);
    return ok;
}

int main(int argc, char **argv)
{
    int threads = 2;
    for (int c; (c = getopt(argc, argv, "t:")) != -1;) {
        if (c != 't')
            return 2;
        threads = atoi(optarg);
    }
    if (argc - optind != 2 || threads < 1) {
        fprintf(stderr, "usage: %s [-t THREADS] SOURCE_ROOT DATA_DIR\n", argv[0]);
        return 2;
    }
    const char *root = argv[optind], *data = argv[optind + 1];
    dpsim_config cfg;
    dpsim_config_init(&cfg);
    cfg.n_threads = threads;
    dpsim_ctx *ctx;
    if (dpsim_ctx_create(&ctx, &cfg) != DPSIM_OK)
        return 1;
    dpsim_image *img[N_PAIRS][2];
    for (int i = 0; i < N_PAIRS; i++)
        for (int s = 0; s < 2; s++) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", pairs[i].in_data ? data : root,
                     s ? pairs[i].b : pairs[i].a);
            if (dpsim_image_read(ctx, path, &img[i][s]) != DPSIM_OK) {
                fprintf(stderr, "%s\n", dpsim_ctx_last_error(ctx));
                return 1;
            }
        }
    static const struct {
        dpsim_net net;
        const char *trunk;
    } nets[] = {{DPSIM_NET_SQUEEZE, "real"}, {DPSIM_NET_ALEX, "random:1"},
                {DPSIM_NET_VGG16, "random:1"}};
    int rc = 0;
    for (size_t n = 0; n < sizeof nets / sizeof nets[0]; n++) {
        dpsim_model *m32 = load(ctx, nets[n].net, nets[n].trunk, DPSIM_PRECISION_FP32);
        dpsim_model *m16 = load(ctx, nets[n].net, nets[n].trunk, DPSIM_PRECISION_BF16);
        if (!m32 || !m16) {
            dpsim_model_free(m32);
            dpsim_model_free(m16);
            rc = 1;
            continue;
        }
        printf("\n%s (trunk %s), LPIPS v0.1:\n\n", dpsim_net_name(nets[n].net), nets[n].trunk);
        printf("| pair | size | fp32 | bf16 | relative difference |\n|---|---|---|---|---|\n");
        double d32[N_PAIRS], d16[N_PAIRS], rel[N_PAIRS];
        for (int i = 0; i < N_PAIRS; i++) {
            if (!distance(ctx, m32, img[i][0], img[i][1], &d32[i]) ||
                !distance(ctx, m16, img[i][0], img[i][1], &d16[i]))
                return 1;
            rel[i] = (d16[i] - d32[i]) / d32[i];
            printf("| %s - %s | %dx%d | %.6f | %.6f | %+.3f%% |\n", strrchr(pairs[i].a, '/') + 1,
                   strrchr(pairs[i].b, '/') + 1, img[i][0]->width, img[i][0]->height, d32[i],
                   d16[i], 100 * rel[i]);
        }
        double mag[N_PAIRS];
        for (int i = 0; i < N_PAIRS; i++)
            mag[i] = rel[i] < 0 ? -rel[i] : rel[i];
        qsort(mag, N_PAIRS, sizeof mag[0], cmp_double);
        int same = 0, all = 0;
        for (int i = 0; i < N_PAIRS; i++)
            for (int j = i + 1; j < N_PAIRS; j++) {
                all++;
                same += (d32[i] < d32[j]) == (d16[i] < d16[j]);
            }
        printf("\n%s: |relative difference| max %.3f%%, median %.3f%%; %d of %d orderings of "
               "two pairs kept; 2AFC triplet ex_ref: fp32 picks %s, bf16 picks %s\n",
               dpsim_net_name(nets[n].net), 100 * mag[N_PAIRS - 1], 100 * mag[N_PAIRS / 2], same,
               all, d32[TRIPLET_P0] < d32[TRIPLET_P1] ? "p0" : "p1",
               d16[TRIPLET_P0] < d16[TRIPLET_P1] ? "p0" : "p1");
        dpsim_model_free(m32);
        dpsim_model_free(m16);
    }
    for (int i = 0; i < N_PAIRS; i++)
        for (int s = 0; s < 2; s++)
            dpsim_image_free(img[i][s]);
    dpsim_ctx_free(ctx);
    gen_trunk_cleanup();
    return rc;
}
