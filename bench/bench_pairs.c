/*
 * bench_pairs.c - time LPIPS on image pairs through the public API: the model
 * is loaded once, then each pair is two extractions and one comparison.
 * Prints one JSON line: ms per pair (median of the timed pairs), load time,
 * peak RSS. Usage: bench_pairs NET SIZE PAIRS [TRUNK_FILE]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <dpsim/dpsim.h>

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

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s NET SIZE PAIRS [TRUNK_FILE]\n", argv[0]);
        return 2;
    }
    dpsim_model_options opt;
    dpsim_model_options_init(&opt);
    if (dpsim_net_parse(argv[1], &opt.net) != DPSIM_OK)
        return 2;
    int n = atoi(argv[2]), pairs = atoi(argv[3]);
    if (n <= 0 || pairs <= 0)
        return 2;
    opt.trunk_path = argc > 4 ? argv[4] : NULL;
    dpsim_ctx *ctx;
    dpsim_model *model;
    if (dpsim_ctx_create(&ctx, NULL) != DPSIM_OK)
        return 1;
    double t0 = now_ms();
    if (dpsim_model_load(ctx, &opt, &model) != DPSIM_OK) {
        fprintf(stderr, "%s\n", dpsim_ctx_last_error(ctx));
        return 1;
    }
    double load_ms = now_ms() - t0;
    float *a = malloc((size_t)3 * n * n * sizeof(float)), *b = malloc((size_t)3 * n * n * 4);
    double *times = malloc((size_t)(pairs + 1) * sizeof(double)), d = 0;
    if (!a || !b || !times)
        return 1;
    make_image(a, n, 1);
    make_image(b, n, 2);
    for (int i = 0; i <= pairs; i++) { /* pair 0 is the warm-up */
        dpsim_features *fa, *fb;
        t0 = now_ms();
        if (dpsim_extract(ctx, model, a, n, n, &fa) != DPSIM_OK ||
            dpsim_extract(ctx, model, b, n, n, &fb) != DPSIM_OK ||
            dpsim_compare(ctx, model, fa, fb, &d, NULL, NULL) != DPSIM_OK) {
            fprintf(stderr, "%s\n", dpsim_ctx_last_error(ctx));
            return 1;
        }
        times[i] = now_ms() - t0;
        dpsim_features_free(fa);
        dpsim_features_free(fb);
    }
    qsort(times + 1, (size_t)pairs, sizeof(double), cmp_double);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"ms_per_pair\": %.4f, \"min_ms\": %.4f, \"max_ms\": %.4f, \"load_ms\": %.2f, "
           "\"peak_rss_kb\": %ld, \"distance\": %.9g}\n",
           times[1 + pairs / 2], times[1], times[pairs], load_ms, ru.ru_maxrss, d);
    free(a), free(b), free(times);
    dpsim_model_free(model);
    dpsim_ctx_free(ctx);
    return 0;
}
