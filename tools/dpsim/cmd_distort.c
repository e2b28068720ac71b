/*
 * cmd_distort.c - `dpsim distort KIND [--param X | --seed N] IN OUT`: apply
 * one of the six distortions of SPEC section 8 with a given parameter or
 * one drawn from its interval by a seeded generator; write an 8-bit PNG.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: dpsim distort KIND [--param X | --seed N] IN OUT.png\n"
    "\n"
    "Apply one distortion of thesis chapter 5 to image IN and write OUT (8-bit PNG).\n"
    "KIND and its parameter (--param; without it, drawn uniformly in the interval\n"
    "with the seeded generator xoshiro256**, --seed N, default 0):\n"
    "  rotate     DEG      counter-clockwise about the centre, bilinear, black fill\n"
    "                      (drawn: 30 to 330)\n"
    "  translate  DX,DY    fractions of width and height, whole pixels, black fill\n"
    "                      (drawn: -0.5 to 0.5 each)\n"
    "  darken     F        brightness factor: values times F (drawn: 0.1 to 0.5)\n"
    "  hue        H        hue shift, fraction of the circle (drawn: -0.5 to 0.5)\n"
    "  blur       K,SIGMA  Gaussian, odd kernel K, reflected borders\n"
    "                      (drawn: K in 11, 13, ..., 21; sigma 4 to 10)\n"
    "  zoom       S        zoom in by S about the centre, bilinear (drawn: 1.1 to 2)\n"
    "The parameters used are printed on stderr (unless -q).\n"
    "\n"
    "options:\n"
    "  --param X          the parameter(s), as above\n"
    "  --seed N           seed of the draw (default 0)\n"
    "  -q, --quiet        do not print the parameters\n"
    "  -h, --help         this help\n"
    "\n"
    "examples:\n"
    "  dpsim distort rotate --param 90 in.png rotated.png\n"
    "  dpsim distort blur --param 15,6 in.png blurred.png\n"
    "  dpsim distort hue --seed 7 in.png out.png\n"
    "\n"
    "exit status: 0 success, 1 data or I/O error, 2 usage error\n";

enum { OPT_PARAM = 256, OPT_SEED };

/* "a" or "a,b" into p for kind; returns 0 when malformed */
static int parse_param(dpsim_distortion kind, const char *s, dpsim_distort_params *p)
{
    char *end;
    memset(p, 0, sizeof *p);
    const int two = kind == DPSIM_DISTORT_TRANSLATE || kind == DPSIM_DISTORT_BLUR;
    double first = strtod(s, &end);
    if (end == s || !isfinite(first))
        return 0;
    if (!two)
        return *end == '\0' && ((p->a = first), 1);
    if (*end != ',')
        return 0;
    const char *t = end + 1;
    double second = strtod(t, &end);
    if (end == t || *end || !isfinite(second))
        return 0;
    if (kind == DPSIM_DISTORT_BLUR) {
        if (first != floor(first) || first < 1 || first > 1001 || fmod(first, 2.0) != 1.0)
            return 0;
        p->k = (int)first;
        p->a = second;
    } else {
        p->a = first;
        p->b = second;
    }
    return 1;
}

static void describe(dpsim_distortion kind, const dpsim_distort_params *p)
{
    switch (kind) {
    case DPSIM_DISTORT_TRANSLATE:
        fprintf(stderr, "dpsim: translate %.6g,%.6g\n", p->a, p->b);
        break;
    case DPSIM_DISTORT_BLUR: fprintf(stderr, "dpsim: blur %d,%.6g\n", p->k, p->a); break;
    default: fprintf(stderr, "dpsim: %s %.6g\n", dpsim_distortion_name(kind), p->a); break;
    }
}

static int run(dpsim_distortion kind, const dpsim_distort_params *p, const char *in,
               const char *out)
{
    dpsim_ctx *ctx;
    if (dpsim_ctx_create(&ctx, NULL) != DPSIM_OK) {
        cli_error("cannot create a context");
        return EXIT_DATA;
    }
    dpsim_image *img;
    dpsim_status s = dpsim_image_read(ctx, in, &img);
    if (s != DPSIM_OK) {
        int rc = cli_fail(ctx, s, in);
        dpsim_ctx_free(ctx);
        return rc;
    }
    const size_t hw = (size_t)img->width * img->height;
    float *res = malloc(3 * hw * sizeof *res);
    uint8_t *rgb = malloc(3 * hw);
    int rc = EXIT_OK;
    if (!res || !rgb) {
        cli_error("out of memory for a %dx%d image", img->width, img->height);
        rc = EXIT_DATA;
    } else if ((s = dpsim_distort_apply(ctx, kind, p, img->pixels, img->width, img->height,
                                        res)) != DPSIM_OK) {
        rc = cli_fail(ctx, s, "distort");
    } else {
        for (size_t i = 0; i < hw; i++)
            for (int c = 0; c < 3; c++)
                rgb[3 * i + (size_t)c] = (uint8_t)lrintf(res[(size_t)c * hw + i] * 255.0f);
        if ((s = dpsim_png_write_rgb8(ctx, out, rgb, img->width, img->height)) != DPSIM_OK)
            rc = cli_fail(ctx, s, out);
    }
    free(res);
    free(rgb);
    dpsim_image_free(img);
    dpsim_ctx_free(ctx);
    return rc;
}

int cmd_distort(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"param", required_argument, NULL, OPT_PARAM},
        {"seed", required_argument, NULL, OPT_SEED},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *param = NULL, *seed_arg = NULL;
    int quiet = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "qh", long_options, NULL)) != -1) {
        switch (c) {
        case OPT_PARAM: param = optarg; break;
        case OPT_SEED: seed_arg = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default:
            return cli_usage_error("distort ", "option '%s' is unknown or needs a value",
                                   argv[optind - 1]);
        }
    }
    if (argc - optind != 3)
        return cli_usage_error("distort ", "expected KIND IN OUT, got %d argument%s",
                               argc - optind, argc - optind == 1 ? "" : "s");
    dpsim_distortion kind;
    if (dpsim_distortion_parse(argv[optind], &kind) != DPSIM_OK)
        return cli_usage_error("distort ", "kind '%s': expected rotate, translate, darken, hue, "
                               "blur or zoom", argv[optind]);
    if (param && seed_arg)
        return cli_usage_error("distort ", "--param and --seed exclude each other");
    dpsim_distort_params p;
    if (param && !parse_param(kind, param, &p))
        return cli_usage_error("distort ", "--param '%s': expected %s", param,
                               kind == DPSIM_DISTORT_TRANSLATE ? "DX,DY"
                               : kind == DPSIM_DISTORT_BLUR    ? "K,SIGMA with an odd K"
                                                               : "one number");
    if (!param) {
        char *end;
        unsigned long long seed = seed_arg ? strtoull(seed_arg, &end, 10) : 0;
        if (seed_arg && (*seed_arg == '\0' || *seed_arg == '-' || *end))
            return cli_usage_error("distort ", "--seed '%s': expected a non-negative integer",
                                   seed_arg);
        dpsim_rng rng;
        dpsim_rng_seed(&rng, (uint64_t)seed);
        dpsim_distort_draw(kind, &rng, &p);
    }
    if (!quiet)
        describe(kind, &p);
    return run(kind, &p, argv[optind + 1], argv[optind + 2]);
}
