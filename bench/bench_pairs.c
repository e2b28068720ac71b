/*
 * bench_pairs.c - time LPIPS on image pairs through the public API: the model
 * is loaded once, then a unit of BATCH pairs is one dpsim_compare_images
 * call on them, or with -g one dpsim_gradient per pair (forward of both
 * images, backward to image a).
 * Pairs are timed in units of BATCH pairs (pair i of a unit: images seeded
 * 2i+1 and 2i+2), after WARMUP untimed units (default 1).
 * Prints one JSON line: ms per pair (median, min and max over the timed
 * units, divided by BATCH), load time, peak RSS, the distances of the last
 * unit.
 * -p bf16 loads the model in the opt-in bf16 precision (default fp32).
 * Usage: bench_pairs [-t THREADS] [-b BATCH] [-w WARMUP] [-g] [-p fp32|bf16] NET SIZE UNITS
 *                    [TRUNK_FILE]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <dpsim/dpsim.h>

#define MAX_BATCH 64

typedef struct {
    int threads, batch, warmup, grad, n, units;
    const char *net, *trunk, *precision;
} args;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* (3, n, n) in [0,1]: a smooth pattern plus hashed noise, different per seed */
static void make_image(float *px, int n, uint32_t seed)
{
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++) {
                uint32_t h = (uint32_t)(x * 73856093u) ^ (uint32_t)(y * 19349663u) ^
                             (seed * 83492791u) ^ (uint32_t)c;
                h ^= h >> 13;
                h *= 0x5bd1e995u;
                h ^= h >> 15;
                px[((size_t)c * n + y) * n + x] =
                    (float)(((x * 3 + y * 5 + c * 40) % 192) + (h & 63)) / 255.0f;
            }
}

static int parse_args(int argc, char **argv, args *a)
{
    *a = (args){.threads = 1, .batch = 1, .warmup = 1, .precision = "fp32"};
    for (int c; (c = getopt(argc, argv, "t:b:w:gp:")) != -1;) {
        if (c == 't')
            a->threads = atoi(optarg);
        else if (c == 'b')
            a->batch = atoi(optarg);
        else if (c == 'w')
            a->warmup = atoi(optarg);
        else if (c == 'g')
            a->grad = 1;
        else if (c == 'p')
            a->precision = optarg;
        else
            return 0;
    }
    if (argc - optind < 3 || a->threads < 1 || a->batch < 1 || a->batch > MAX_BATCH ||
        a->warmup < 0)
        return 0;
    a->net = argv[optind];
    a->n = atoi(argv[optind + 1]);
    a->units = atoi(argv[optind + 2]);
    a->trunk = argc - optind > 3 ? argv[optind + 3] : NULL;
    return a->n > 0 && a->units > 0;
}

/*
 * One unit: the distances of pairs (img[2i], img[2i+1]), i < batch, in one
 * dpsim_compare_images call (grad: one dpsim_gradient per pair, grad the
 * scratch for d/da).
 */
static int run_unit(dpsim_ctx *ctx, const dpsim_model *model, const args *a,
                    const float *const *img, float *grad, double *d)
{
    if (grad) {
        for (int i = 0; i < a->batch; i++)
            if (dpsim_gradient(ctx, model, img[2 * i], img[2 * i + 1], a->n, a->n, &d[i], grad,
                               NULL) != DPSIM_OK)
                return 0;
        return 1;
    }
    const float *first[MAX_BATCH], *second[MAX_BATCH];
    for (int i = 0; i < a->batch; i++) {
        first[i] = img[2 * i];
        second[i] = img[2 * i + 1];
    }
    return dpsim_compare_images(ctx, model, a->batch, first, second, a->n, a->n, d, NULL,
                                NULL) == DPSIM_OK;
}

int main(int argc, char **argv)
{
    args a;
    if (!parse_args(argc, argv, &a)) {
        fprintf(stderr, "usage: %s [-t THREADS] [-b BATCH] [-w WARMUP] [-g] [-p fp32|bf16] NET "
                "SIZE UNITS [TRUNK_FILE]\n", argv[0]);
        return 2;
    }
    dpsim_model_options opt;
    dpsim_model_options_init(&opt);
    if (dpsim_net_parse(a.net, &opt.net) != DPSIM_OK ||
        dpsim_precision_parse(a.precision, &opt.precision) != DPSIM_OK)
        return 2;
    opt.trunk_path = a.trunk;
    dpsim_config cfg;
    dpsim_config_init(&cfg);
    cfg.n_threads = a.threads;
    dpsim_ctx *ctx;
    dpsim_model *model;
    if (dpsim_ctx_create(&ctx, &cfg) != DPSIM_OK)
        return 1;
    double t0 = now_ms();
    if (dpsim_model_load(ctx, &opt, &model) != DPSIM_OK) {
        fprintf(stderr, "%s\n", dpsim_ctx_last_error(ctx));
        return 1;
    }
    double load_ms = now_ms() - t0;
    size_t px = (size_t)3 * a.n * a.n;
    float *img = malloc(2 * a.batch * px * sizeof *img);
    float *grad = a.grad ? malloc(px * sizeof *grad) : NULL;
    double *times = malloc((size_t)a.units * sizeof *times);
    double *d = calloc((size_t)a.batch, sizeof *d);
    if (!img || (a.grad && !grad) || !times || !d)
        return 1;
    const float *images[2 * MAX_BATCH];
    for (int i = 0; i < 2 * a.batch; i++) {
        make_image(img + i * px, a.n, (uint32_t)i + 1);
        images[i] = img + i * px;
    }
    for (int u = -a.warmup; u < a.units; u++) { /* u < 0: warm-up */
        t0 = now_ms();
        if (!run_unit(ctx, model, &a, images, grad, d)) {
            fprintf(stderr, "%s\n", dpsim_ctx_last_error(ctx));
            return 1;
        }
        if (u >= 0)
            times[u] = (now_ms() - t0) / a.batch;
    }
    qsort(times, (size_t)a.units, sizeof *times, cmp_double);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"ms_per_pair\": %.4f, \"min_ms\": %.4f, \"max_ms\": %.4f, \"load_ms\": %.2f, "
           "\"peak_rss_kb\": %ld, \"distances\": [",
           times[a.units / 2], times[0], times[a.units - 1], load_ms, ru.ru_maxrss);
    for (int i = 0; i < a.batch; i++)
        printf("%s%.9g", i ? ", " : "", d[i]);
    printf("]}\n");
    free(img), free(grad), free(times), free(d);
    dpsim_model_free(model);
    dpsim_ctx_free(ctx);
    return 0;
}
