/*
 * cmd_compare.c - `dpsim compare A B`: decode both images, match their
 * sizes (error unless --resize/--crop), extract features, compare, print
 * the distance (stdout) and the provenance (stderr, and in JSON).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: dpsim compare [options] A B\n"
    "\n"
    "Print the perceptual distance between images A and B (0 = identical; larger\n"
    "= more different; default LPIPS v0.1 on SqueezeNet 1.1). Images: PNG, JPEG,\n"
    "BMP, GIF (first frame), WebP; gray is replicated to RGB and alpha is ignored.\n"
    "\n"
    "options:\n"
    "  --net NAME         squeeze (default; SqueezeNet 1.1), alex (AlexNet), vgg (VGG-16)\n"
    "  --method M         spatial (default; LPIPS), mean, sort, spatial+mean, spatial+sort,\n"
    "                     gram, dists (VGG-16 with L2 pooling; implies --net vgg)\n"
    "  --no-norm          no unit normalisation along channels (spatial, mean, sort)\n"
    "  --norm             force it on (gram is unnormalised by default)\n"
    "  --pixel-layer      add the preprocessed input as an extra first tap `pixel`\n"
    "  --dists-resize     dists: shrink both images so the short side is 256 (bilinear,\n"
    "                     antialiased); by default no resizing\n"
    "  --version V        LPIPS version 0.1 (default) or 0.0 (not for dists)\n"
    "  --no-lin           unweighted baseline: every channel weight is 1\n"
    "  --taps LIST        `features` indices to compare, e.g. 3,8,15 (default: LPIPS taps)\n"
    "  --trunk FILE       network weights (PyTorch .pth or .safetensors) for this run\n"
    "  --lin FILE         per-channel weights: an LPIPS lin file (spatial term), DISTS\n"
    "                     weights.pt (dists), or a dpsim weights file (doc/WEIGHTS.md)\n"
    "  --per-layer        also print each tap's term\n"
    "  --map FILE.png     write the spatial distance map as a heatmap PNG (methods\n"
    "                     with a spatial term only)\n"
    "  --map-over         draw the heatmap over image A (with --map)\n"
    "  --map-raw FILE.npy write the map as float32 NumPy .npy, shape (height, width)\n"
    "  --resize           resize B to A's size (bilinear, antialiased when shrinking)\n"
    "  --crop             centre-crop both images to their common size\n"
    "  --json             print one JSON object instead of text\n"
    "  -v, --verbose      say what was decoded (formats, dropped alpha, weights files)\n"
    "  -q, --quiet        do not print the provenance line\n"
    "  -h, --help         this help\n"
    "\n"
    "output: the distance on the first stdout line (9 significant digits); with\n"
    "--per-layer one line per tap: `features.N <term>` (`pixel <term>` for the\n"
    "pixel layer); the terms sum to the distance. A provenance line (net, taps,\n"
    "method, normalisation, version, weight sha256 prefixes, preprocessing) goes\n"
    "to stderr.\n"
    "\n"
    "examples:\n"
    "  dpsim compare ref.png out.png\n"
    "  dpsim compare --net alex --version 0.0 a.png b.png\n"
    "  dpsim compare --no-lin --net vgg --taps 3,8,15 a.png b.png\n"
    "  dpsim compare --json --per-layer --map heat.png --map-over a.png b.png\n"
    "  dpsim compare --resize photo.jpg thumbnail.webp\n"
    "  dpsim compare --method mean --no-norm --per-layer a.png b.png\n"
    "  dpsim compare --method dists --dists-resize a.png b.png\n"
    "\n"
    "exit status: 0 success, 1 data or I/O error, 2 usage error\n";

typedef struct compare_args {
    dpsim_model_options model;
    int per_layer, json, verbose, quiet, resize, crop, map_over;
    int net_given, version_given, norm_flag, dists_resize; /* norm_flag: 0 none, 1 --norm, 2 --no-norm */
    const char *map_png, *map_raw;
    const char *path_a, *path_b;
} compare_args;

enum { OPT_NET = 256, OPT_VERSION, OPT_NO_LIN, OPT_TAPS, OPT_TRUNK, OPT_LIN, OPT_PER_LAYER,
       OPT_MAP, OPT_MAP_OVER, OPT_MAP_RAW, OPT_RESIZE, OPT_CROP, OPT_JSON, OPT_METHOD,
       OPT_NORM, OPT_NO_NORM, OPT_PIXEL, OPT_DISTS_RESIZE };

static const struct option long_options[] = {
    {"net", required_argument, NULL, OPT_NET},
    {"version", required_argument, NULL, OPT_VERSION},
    {"no-lin", no_argument, NULL, OPT_NO_LIN},
    {"taps", required_argument, NULL, OPT_TAPS},
    {"trunk", required_argument, NULL, OPT_TRUNK},
    {"lin", required_argument, NULL, OPT_LIN},
    {"per-layer", no_argument, NULL, OPT_PER_LAYER},
    {"map", required_argument, NULL, OPT_MAP},
    {"map-over", no_argument, NULL, OPT_MAP_OVER},
    {"map-raw", required_argument, NULL, OPT_MAP_RAW},
    {"resize", no_argument, NULL, OPT_RESIZE},
    {"crop", no_argument, NULL, OPT_CROP},
    {"json", no_argument, NULL, OPT_JSON},
    {"method", required_argument, NULL, OPT_METHOD},
    {"norm", no_argument, NULL, OPT_NORM},
    {"no-norm", no_argument, NULL, OPT_NO_NORM},
    {"pixel-layer", no_argument, NULL, OPT_PIXEL},
    {"dists-resize", no_argument, NULL, OPT_DISTS_RESIZE},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Combinations the chosen method does not allow. Returns -1 to go on, or an exit code. */
static int check_method(compare_args *a)
{
    const dpsim_method m = a->model.method;
    const char *name = dpsim_method_name(m);
    int spatial = m == DPSIM_METHOD_SPATIAL || m == DPSIM_METHOD_SPATIAL_MEAN ||
                  m == DPSIM_METHOD_SPATIAL_SORT;
    if ((a->map_png || a->map_raw) && !spatial)
        return cli_usage_error("compare ", "--map/--map-raw: method %s has no spatial term; a "
                               "map exists for spatial, spatial+mean and spatial+sort", name);
    if (a->dists_resize && m != DPSIM_METHOD_DISTS)
        return cli_usage_error("compare ", "--dists-resize needs --method dists");
    if (m != DPSIM_METHOD_DISTS)
        return -1;
    if (a->net_given && a->model.net != DPSIM_NET_VGG16)
        return cli_usage_error("compare ", "--method dists: defined on vgg only, got --net %s",
                               dpsim_net_name(a->model.net));
    if (a->norm_flag)
        return cli_usage_error("compare ", "--method dists: has no channel normalisation, "
                               "--norm/--no-norm do not apply");
    if (a->model.pixel_layer)
        return cli_usage_error("compare ", "--method dists: always has the pixel layer, "
                               "--pixel-layer does not apply");
    if (a->version_given)
        return cli_usage_error("compare ", "--method dists: has its own preprocessing, "
                               "--version does not apply");
    if (a->model.n_taps)
        return cli_usage_error("compare ", "--method dists: uses its own taps "
                               "(pixel,3,8,15,22,29), --taps does not apply");
    a->model.net = DPSIM_NET_VGG16;
    return -1;
}

/* Returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, compare_args *a)
{
    memset(a, 0, sizeof *a);
    dpsim_model_options_init(&a->model);
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "vqh", long_options, NULL)) != -1) {
        switch (c) {
        case OPT_NET:
            if (dpsim_net_parse(optarg, &a->model.net) != DPSIM_OK)
                return cli_usage_error("compare ", "--net '%s': expected squeeze, alex or vgg",
                                       optarg);
            a->net_given = 1;
            break;
        case OPT_METHOD:
            if (dpsim_method_parse(optarg, &a->model.method) != DPSIM_OK)
                return cli_usage_error("compare ", "--method '%s': expected spatial, mean, sort, "
                                       "spatial+mean, spatial+sort, gram or dists", optarg);
            break;
        case OPT_NORM:
        case OPT_NO_NORM:
            if (a->norm_flag && a->norm_flag != (c == OPT_NORM ? 1 : 2))
                return cli_usage_error("compare ", "--norm and --no-norm exclude each other");
            a->norm_flag = c == OPT_NORM ? 1 : 2;
            a->model.normalize = c == OPT_NORM;
            break;
        case OPT_PIXEL: a->model.pixel_layer = 1; break;
        case OPT_DISTS_RESIZE: a->dists_resize = 1; break;
        case OPT_VERSION:
            if (strcmp(optarg, "0.1") == 0)
                a->model.version = DPSIM_LPIPS_V0_1;
            else if (strcmp(optarg, "0.0") == 0)
                a->model.version = DPSIM_LPIPS_V0_0;
            else
                return cli_usage_error("compare ", "--version '%s': expected 0.1 or 0.0", optarg);
            a->version_given = 1;
            break;
        case OPT_NO_LIN: a->model.use_lin = 0; break;
        case OPT_TAPS:
            if (!parse_taps(optarg, a->model.taps, &a->model.n_taps, DPSIM_MAX_TAPS))
                return cli_usage_error("compare ", "--taps '%s': expected a comma-separated "
                                       "list of layer indices such as 3,8,15", optarg);
            break;
        case OPT_TRUNK: a->model.trunk_path = optarg; break;
        case OPT_LIN: a->model.lin_path = optarg; break;
        case OPT_PER_LAYER: a->per_layer = 1; break;
        case OPT_MAP: a->map_png = optarg; break;
        case OPT_MAP_OVER: a->map_over = 1; break;
        case OPT_MAP_RAW: a->map_raw = optarg; break;
        case OPT_RESIZE: a->resize = 1; break;
        case OPT_CROP: a->crop = 1; break;
        case OPT_JSON: a->json = 1; break;
        case 'v': a->verbose = 1; break;
        case 'q': a->quiet = 1; break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default:
            if (optopt)
                return cli_usage_error("compare ", "option '-%c' is unknown or needs a value",
                                       optopt);
            return cli_usage_error("compare ", "option '%s' is unknown or needs a value",
                                   argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("compare ", "expected two images, got %d argument%s",
                               argc - optind, argc - optind == 1 ? "" : "s");
    if (a->resize && a->crop)
        return cli_usage_error("compare ", "--resize and --crop exclude each other");
    if (a->map_over && !a->map_png)
        return cli_usage_error("compare ", "--map-over needs --map FILE.png");
    if (!a->model.use_lin && a->model.lin_path)
        return cli_usage_error("compare ", "--lin and --no-lin exclude each other");
    int rc = check_method(a);
    if (rc >= 0)
        return rc;
    a->path_a = argv[optind];
    a->path_b = argv[optind + 1];
    return -1;
}

static void describe_image(const char *path, const dpsim_image *im)
{
    fprintf(stderr, "dpsim: %s: %s %dx%d, %d channel%s, %d-bit%s\n", path, im->format, im->width,
            im->height, im->src_channels, im->src_channels == 1 ? "" : "s", im->src_bits,
            im->alpha_dropped ? ", alpha channel ignored" : "");
}

/* Bring b to a's size as asked; *a and *b may be replaced (the old ones freed). */
static int match_sizes(dpsim_ctx *ctx, const compare_args *args, dpsim_image **a,
                       dpsim_image **b)
{
    if ((*a)->width == (*b)->width && (*a)->height == (*b)->height)
        return EXIT_OK;
    if (!args->resize && !args->crop) {
        cli_error("image sizes differ: '%s' is %dx%d, '%s' is %dx%d; expected equal sizes",
                  args->path_a, (*a)->width, (*a)->height, args->path_b, (*b)->width,
                  (*b)->height);
        cli_hint("--resize resizes B to A's size, --crop centre-crops both to the common size");
        return EXIT_DATA;
    }
    dpsim_status s;
    if (args->resize) {
        dpsim_image *r;
        s = dpsim_image_resize(ctx, *b, (*a)->width, (*a)->height, &r);
        if (s != DPSIM_OK)
            return cli_fail(ctx, s, "resize");
        dpsim_image_free(*b);
        *b = r;
        return EXIT_OK;
    }
    int w = (*a)->width < (*b)->width ? (*a)->width : (*b)->width;
    int h = (*a)->height < (*b)->height ? (*a)->height : (*b)->height;
    dpsim_image *ca, *cb;
    s = dpsim_image_crop_center(ctx, *a, w, h, &ca);
    if (s != DPSIM_OK)
        return cli_fail(ctx, s, "crop");
    s = dpsim_image_crop_center(ctx, *b, w, h, &cb);
    if (s != DPSIM_OK) {
        dpsim_image_free(ca);
        return cli_fail(ctx, s, "crop");
    }
    dpsim_image_free(*a);
    dpsim_image_free(*b);
    *a = ca;
    *b = cb;
    return EXIT_OK;
}

/* "features.N" or "pixel", JSON-quoted when json != 0 */
/* --dists-resize: if the short side exceeds 256, scale both by 256 / short side (piq's rule). */
static int dists_resize(dpsim_ctx *ctx, const compare_args *args, dpsim_image **a,
                        dpsim_image **b)
{
    int w = (*a)->width, h = (*a)->height, short_side = w < h ? w : h;
    if (short_side <= 256)
        return EXIT_OK;
    int nw = (int)((double)w * 256.0 / short_side), nh = (int)((double)h * 256.0 / short_side);
    dpsim_image *ra = NULL, *rb = NULL;
    dpsim_status s = dpsim_image_resize(ctx, *a, nw, nh, &ra);
    if (s == DPSIM_OK)
        s = dpsim_image_resize(ctx, *b, nw, nh, &rb);
    if (s != DPSIM_OK) {
        dpsim_image_free(ra);
        return cli_fail(ctx, s, "dists-resize");
    }
    if (args->verbose)
        fprintf(stderr, "dpsim: --dists-resize: %dx%d -> %dx%d\n", w, h, nw, nh);
    dpsim_image_free(*a);
    dpsim_image_free(*b);
    *a = ra;
    *b = rb;
    return EXIT_OK;
}

static void print_tap_name(const dpsim_model *model, int i, FILE *out, int json)
{
    int index;
    dpsim_model_tap(model, i, &index, NULL);
    const char *q = json ? "\"" : "";
    if (index < 0)
        fprintf(out, "%spixel%s", q, q);
    else
        fprintf(out, "%sfeatures.%d%s", q, index, q);
}

static void print_json(const compare_args *args, const dpsim_model *model, const char *prov,
                       double d, const double *per_tap, int w, int h)
{
    printf("{\"a\":");
    json_string(stdout, args->path_a);
    printf(",\"b\":");
    json_string(stdout, args->path_b);
    printf(",\"width\":%d,\"height\":%d,\"distance\":%.17g", w, h, d);
    if (args->per_layer) {
        printf(",\"per_layer\":[");
        for (int i = 0; i < dpsim_model_n_taps(model); i++) {
            int index, channels;
            dpsim_model_tap(model, i, &index, &channels);
            printf("%s{\"tap\":%d,\"name\":", i ? "," : "", index);
            print_tap_name(model, i, stdout, 1);
            printf(",\"channels\":%d,\"distance\":%.17g}", channels, per_tap[i]);
        }
        printf("]");
    }
    printf(",\"provenance\":");
    json_string(stdout, prov);
    printf(",\"trunk\":{\"path\":");
    json_string(stdout, dpsim_model_weights_path(model, 0));
    printf(",\"sha256\":\"%s\"}", dpsim_model_weights_sha256(model, 0));
    if (dpsim_model_weights_path(model, 1)) {
        printf(",\"lin\":{\"path\":");
        json_string(stdout, dpsim_model_weights_path(model, 1));
        printf(",\"sha256\":\"%s\"}", dpsim_model_weights_sha256(model, 1));
    }
    printf(",\"dpsim_version\":\"%s\"}\n", dpsim_version_string());
}

static int write_maps(dpsim_ctx *ctx, const compare_args *args, const float *map,
                      const dpsim_image *a)
{
    if (args->map_png) {
        dpsim_status s = heatmap_write_png(ctx, args->map_png, map, a->width, a->height,
                                           args->map_over ? a->pixels : NULL);
        if (s != DPSIM_OK)
            return cli_fail(ctx, s, "map");
    }
    if (args->map_raw) {
        char err[512];
        if (npy_write_f32(args->map_raw, map, a->height, a->width, err, sizeof err) != 0) {
            cli_error("%s", err);
            return EXIT_DATA;
        }
    }
    return EXIT_OK;
}

static int run(dpsim_ctx *ctx, const compare_args *args)
{
    dpsim_model *model = NULL;
    dpsim_image *a = NULL, *b = NULL;
    dpsim_features *fa = NULL, *fb = NULL;
    float *map = NULL;
    double per_tap[DPSIM_MAX_TAPS], d = 0.0;
    int rc = EXIT_DATA;
    dpsim_status s;

    if ((s = dpsim_image_read(ctx, args->path_a, &a)) != DPSIM_OK ||
        (s = dpsim_image_read(ctx, args->path_b, &b)) != DPSIM_OK) {
        rc = cli_fail(ctx, s, "image");
        goto done;
    }
    if (args->verbose) {
        describe_image(args->path_a, a);
        describe_image(args->path_b, b);
    }
    if ((rc = match_sizes(ctx, args, &a, &b)) != EXIT_OK)
        goto done;
    if (args->dists_resize && (rc = dists_resize(ctx, args, &a, &b)) != EXIT_OK)
        goto done;
    rc = EXIT_DATA;
    if ((s = dpsim_model_load(ctx, &args->model, &model)) != DPSIM_OK) {
        cli_fail(ctx, s, "weights");
        goto done;
    }
    if (args->verbose) {
        fprintf(stderr, "dpsim: trunk %s\n", dpsim_model_weights_path(model, 0));
        if (dpsim_model_weights_path(model, 1))
            fprintf(stderr, "dpsim: lin %s\n", dpsim_model_weights_path(model, 1));
    }
    if ((s = dpsim_extract(ctx, model, a->pixels, a->width, a->height, &fa)) != DPSIM_OK ||
        (s = dpsim_extract(ctx, model, b->pixels, b->width, b->height, &fb)) != DPSIM_OK) {
        cli_fail(ctx, s, "extract");
        goto done;
    }
    if (args->map_png || args->map_raw) {
        map = malloc((size_t)a->width * a->height * sizeof(float));
        if (!map) {
            cli_error("out of memory for a %dx%d map", a->width, a->height);
            goto done;
        }
    }
    if ((s = dpsim_compare(ctx, model, fa, fb, &d, per_tap, map)) != DPSIM_OK) {
        cli_fail(ctx, s, "compare");
        goto done;
    }
    if ((rc = write_maps(ctx, args, map, a)) != EXIT_OK)
        goto done;

    char prov[1024];
    dpsim_model_provenance(model, prov, sizeof prov);
    if (!args->quiet)
        fprintf(stderr, "dpsim: %s\n", prov);
    if (!args->quiet && dpsim_model_method(model) == DPSIM_METHOD_DISTS && !args->dists_resize)
        fprintf(stderr, "dpsim: dists: compared at %dx%d, not resized (--dists-resize shrinks "
                "to a short side of 256)\n", a->width, a->height);
    if (args->json) {
        print_json(args, model, prov, d, per_tap, a->width, a->height);
    } else {
        printf("%.9g\n", d);
        for (int i = 0; args->per_layer && i < dpsim_model_n_taps(model); i++) {
            print_tap_name(model, i, stdout, 0);
            printf(" %.9g\n", per_tap[i]);
        }
    }
    rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_DATA;
done:
    free(map);
    dpsim_features_free(fa);
    dpsim_features_free(fb);
    dpsim_model_free(model);
    dpsim_image_free(a);
    dpsim_image_free(b);
    return rc;
}

int cmd_compare(int argc, char **argv)
{
    compare_args args;
    int rc = parse_args(argc, argv, &args);
    if (rc >= 0)
        return rc;
    dpsim_ctx *ctx;
    if (dpsim_ctx_create(&ctx, NULL) != DPSIM_OK) {
        cli_error("cannot create a context (out of memory)");
        return EXIT_DATA;
    }
    rc = run(ctx, &args);
    dpsim_ctx_free(ctx);
    return rc;
}
