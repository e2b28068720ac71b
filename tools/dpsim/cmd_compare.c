/*
 * cmd_compare.c - `dpsim compare A B`: decode both images, match their
 * sizes (error unless --resize/--crop), extract features, compare, print
 * the distance (stdout) and the provenance (stderr, and in JSON).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_options.h"
#include "compare_batch.h"
#include "sources.h"

/* in parts: ISO C guarantees string literals of 4095 bytes only */
static const char *const usage[] = {
    "usage: dpsim compare [options] A B\n"
    "       dpsim compare [options] DIR_A DIR_B          (pairs by relative path)\n"
    "       dpsim compare [options] --ref R DIR|FILES...  (one reference against many)\n"
    "       dpsim compare [options] --all-pairs DIR|FILES...\n"
    "       dpsim compare [options] --pairs MANIFEST.csv\n"
    "\n"
    "Print the perceptual distance between images A and B (0 = identical; larger\n"
    "= more different; default LPIPS v0.1 on SqueezeNet 1.1). Images: PNG, JPEG,\n"
    "BMP, GIF (first frame), WebP; gray is replicated to RGB and alpha is ignored.\n"
    "\n"
    "The batch forms extract every image's features once and reuse them. A folder\n"
    "means its image files (.png .jpg .jpeg .bmp .gif .webp, any case), found\n"
    "recursively, hidden entries skipped, sorted by relative path. Wherever images\n"
    "are expected a feature file (dpsim features, dpsim index) may stand instead.\n"
    "  DIR_A DIR_B        pair files with the same relative path (or feature records\n"
    "                     with the same name); names on one side only are errors\n"
    "                     (with --keep-going: reported, the rest scored, exit 1)\n"
    "  --ref R            compare R with every image of the inputs\n"
    "  --all-pairs        every unordered pair: N extractions for N(N-1)/2 distances\n"
    "  --matrix           with --all-pairs: print the N x N matrix, rows and columns\n"
    "                     in input order (text rows end with their name; CSV and\n"
    "                     JSON name them); the diagonal is 0\n"
    "  --pairs FILE.csv   a manifest: lines `image A,image B` (optional header a,b;\n"
    "                     CSV quoting); relative paths are from the manifest's folder;\n"
    "                     an entry SET.dpf:NAME is the record NAME of a feature file\n"
    "  --maps DIR         write a heatmap PNG per pair into DIR (NNNNNN-A-B.png)\n"
    "\n",
    "options:\n"
    MODEL_OPTIONS_HELP
    "  --dists-resize     dists: shrink both images so the short side is 256 (bilinear,\n"
    "                     antialiased); by default no resizing (single pair)\n"
    "  --per-layer        also print each tap's term\n"
    "  --map FILE.png     write the spatial distance map as a heatmap PNG (methods\n"
    "                     with a spatial term only; single pair)\n"
    "  --map-over         draw the heatmap over image A (with --map)\n"
    "  --map-raw FILE.npy write the map as float32 NumPy .npy, shape (height, width)\n"
    "  --resize           resize B to A's size (bilinear, antialiased when shrinking)\n"
    "  --crop             centre-crop both images to their common size\n"
    "  --json             print one JSON object instead of text\n"
    "  -h, --help         this help\n"
    "batch options:\n"
    BATCH_OPTIONS_HELP
    "\n",
    "output: the distance on the first stdout line (9 significant digits); with\n"
    "--per-layer one line per tap: `features.N <term>` (`pixel <term>` for the\n"
    "pixel layer); the terms sum to the distance. A provenance line (net, taps,\n"
    "method, normalisation, version, weight sha256 prefixes, preprocessing, and\n"
    "precision=bf16 with --precision bf16) goes to stderr.\n"
    "batch output: text `distance  A  B` per pair (per-layer `features.N=term`),\n"
    "then `# count .. mean .. std .. min .. max .. harmonic_mean ..` (libvmaf's\n"
    "harmonic mean n / sum(1/(1+d)) - 1); CSV with a header a,b,distance[,taps]\n"
    "[,map]; JSON with pairs, failed, summary, provenance and the extraction count.\n"
    "Pairs are listed in a fixed order (as paired, or i<j for --all-pairs).\n"
    "\n"
    "examples:\n"
    "  dpsim compare ref.png out.png\n"
    "  dpsim compare --net alex --version 0.0 a.png b.png\n"
    "  dpsim compare --no-lin --net vgg --taps 3,8,15 a.png b.png\n"
    "  dpsim compare --json --per-layer --map heat.png --map-over a.png b.png\n"
    "  dpsim compare --resize photo.jpg thumbnail.webp\n"
    "  dpsim compare --method mean --no-norm --per-layer a.png b.png\n"
    "  dpsim compare --method dists --dists-resize a.png b.png\n"
    "  dpsim compare --net vgg --precision bf16 a.png b.png   (faster, doc/PRECISION.md)\n"
    "  dpsim compare --csv -o scores.csv -j 4 originals/ decoded/\n"
    "  dpsim compare --ref ref.png --json candidates/\n"
    "  dpsim compare --all-pairs --matrix --csv photos/\n"
    "  dpsim compare --pairs pairs.csv --keep-going --maps heat/\n"
    "  dpsim compare --all-pairs set.dpf      (features saved by dpsim index)\n"
    "\n"
    "exit status: 0 success, 1 data or I/O error, 2 usage error\n",
    NULL,
};

typedef struct compare_args {
    model_opts mo;
    batch_opts bo;
    int per_layer, resize, crop, map_over, dists_resize, all_pairs;
    const char *map_png, *map_raw;
    const char *path_a, *path_b;
    compare_batch_args batch; /* the batch forms */
} compare_args;

enum { OPT_PER_LAYER = OPT_BATCH_END, OPT_MAP, OPT_MAP_OVER, OPT_MAP_RAW, OPT_RESIZE, OPT_CROP,
       OPT_DISTS_RESIZE, OPT_REF, OPT_ALL_PAIRS, OPT_PAIRS, OPT_MATRIX, OPT_MAPS };

static const struct option long_options[] = {
    MODEL_LONG_OPTIONS,
    BATCH_LONG_OPTIONS,
    {"per-layer", no_argument, NULL, OPT_PER_LAYER},
    {"map", required_argument, NULL, OPT_MAP},
    {"map-over", no_argument, NULL, OPT_MAP_OVER},
    {"map-raw", required_argument, NULL, OPT_MAP_RAW},
    {"resize", no_argument, NULL, OPT_RESIZE},
    {"crop", no_argument, NULL, OPT_CROP},
    {"dists-resize", no_argument, NULL, OPT_DISTS_RESIZE},
    {"ref", required_argument, NULL, OPT_REF},
    {"all-pairs", no_argument, NULL, OPT_ALL_PAIRS},
    {"pairs", required_argument, NULL, OPT_PAIRS},
    {"matrix", no_argument, NULL, OPT_MATRIX},
    {"maps", required_argument, NULL, OPT_MAPS},
    CLI_HELP_OPTION_END,
};

/* The single pair's own options (a cli_option_fn). Returns -2 if c is not one, else -1. */
static int parse_own(void *self, int c, const char *arg, const char *cmd)
{
    (void)cmd;
    compare_args *a = self;
    compare_batch_args *b = &a->batch;
    switch (c) {
    case OPT_PER_LAYER: a->per_layer = 1; return -1;
    case OPT_MAP: a->map_png = arg; return -1;
    case OPT_MAP_OVER: a->map_over = 1; return -1;
    case OPT_MAP_RAW: a->map_raw = arg; return -1;
    case OPT_RESIZE: a->resize = 1; return -1;
    case OPT_CROP: a->crop = 1; return -1;
    case OPT_DISTS_RESIZE: a->dists_resize = 1; return -1;
    case OPT_REF: b->ref = arg; b->mode = MODE_REF; return -1;
    case OPT_ALL_PAIRS: a->all_pairs = 1; b->mode = MODE_ALL; return -1;
    case OPT_PAIRS: b->manifest = arg; b->mode = MODE_MANIFEST; return -1;
    case OPT_MATRIX: b->matrix = 1; return -1;
    case OPT_MAPS: b->maps_dir = arg; return -1;
    default: return -2;
    }
}

/* Combinations the chosen method does not allow. Returns -1 to go on, or an exit code. */
static int check_method(compare_args *a)
{
    const dpsim_method m = a->mo.model.method;
    if ((a->map_png || a->map_raw || a->batch.maps_dir) && !method_has_spatial(m))
        return cli_usage_error("compare ", "--map/--map-raw/--maps: method %s has no spatial "
                               "term; a map exists for spatial, spatial+mean and spatial+sort",
                               dpsim_method_name(m));
    if (a->dists_resize && m != DPSIM_METHOD_DISTS)
        return cli_usage_error("compare ", "--dists-resize needs --method dists");
    return model_opts_check(&a->mo, "compare ");
}

/* Which form: single pair unless a batch option says otherwise or both inputs are
   folders or feature files. */
static int choose_mode(compare_args *a, int n_inputs, char **inputs)
{
    compare_batch_args *b = &a->batch;
    int forms = (b->ref != NULL) + a->all_pairs + (b->manifest != NULL);
    if (forms > 1)
        return cli_usage_error("compare ", "--ref, --all-pairs and --pairs exclude each other");
    if (b->mode == MODE_SINGLE && n_inputs == 2 &&
        (is_directory(inputs[0]) || is_feature_file(inputs[0])) &&
        (is_directory(inputs[1]) || is_feature_file(inputs[1])))
        b->mode = MODE_BY_NAME;
    if (b->mode == MODE_SINGLE && n_inputs != 2)
        return cli_usage_error("compare ", "expected two images, got %d argument%s", n_inputs,
                               n_inputs == 1 ? "" : "s");
    if ((b->mode == MODE_REF || b->mode == MODE_ALL) && n_inputs < 1)
        return cli_usage_error("compare ", "%s: expected images, folders or feature files "
                               "after the options", b->mode == MODE_REF ? "--ref" : "--all-pairs");
    if (b->mode == MODE_MANIFEST && n_inputs)
        return cli_usage_error("compare ", "--pairs: the manifest lists the images; got %d "
                               "more argument%s", n_inputs, n_inputs == 1 ? "" : "s");
    if (b->matrix && b->mode != MODE_ALL)
        return cli_usage_error("compare ", "--matrix needs --all-pairs");
    if (b->matrix && a->per_layer)
        return cli_usage_error("compare ", "--matrix holds totals only; drop --per-layer or "
                               "--matrix");
    return -1;
}

/* Options of one form used with the other. Returns -1 to go on, or an exit code. */
static int check_form_options(const compare_args *a)
{
    const int single = a->batch.mode == MODE_SINGLE;
    if (single && (a->bo.out_path || a->bo.jobs != 1 || a->bo.keep_going || a->bo.size_w ||
                   a->batch.maps_dir || a->bo.format == FORMAT_CSV))
        return cli_usage_error("compare ", "-o, --jobs, --keep-going, --size, --maps and --csv "
                               "are for the batch forms (folders, --ref, --all-pairs, --pairs)");
    if (!single && (a->map_png || a->map_raw || a->map_over))
        return cli_usage_error("compare ", "--map/--map-raw/--map-over are for a single pair; "
                               "the batch forms write maps with --maps DIR");
    if (!single && (a->resize || a->crop || a->dists_resize))
        return cli_usage_error("compare ", "--resize/--crop/--dists-resize depend on both images "
                               "of a pair; the batch forms resize every image with --size WxH");
    return -1;
}

/* Returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, compare_args *a)
{
    memset(a, 0, sizeof *a);
    model_opts_init(&a->mo);
    batch_opts_init(&a->bo);
    static const cli_command cmd = {"compare ", usage, BATCH_SHORT_OPTIONS, long_options};
    const cli_option_group groups[] = {
        {model_opts_parse, &a->mo}, {batch_opts_parse, &a->bo}, {parse_own, a}, {NULL, NULL}};
    int rc = cli_parse_options(&cmd, argc, argv, groups);
    if (rc >= 0)
        return rc;
    rc = choose_mode(a, argc - optind, argv + optind);
    if (rc < 0)
        rc = check_form_options(a);
    if (rc >= 0)
        return rc;
    if (a->resize && a->crop)
        return cli_usage_error("compare ", "--resize and --crop exclude each other");
    if (a->map_over && !a->map_png)
        return cli_usage_error("compare ", "--map-over needs --map FILE.png");
    if ((rc = check_method(a)) >= 0)
        return rc;
    a->batch.mo = &a->mo;
    a->batch.bo = &a->bo;
    a->batch.per_layer = a->per_layer;
    a->batch.inputs = argv + optind;
    a->batch.n_inputs = argc - optind;
    if (a->batch.mode == MODE_SINGLE) {
        a->path_a = argv[optind];
        a->path_b = argv[optind + 1];
    }
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
    if (args->bo.verbose)
        fprintf(stderr, "dpsim: --dists-resize: %dx%d -> %dx%d\n", w, h, nw, nh);
    dpsim_image_free(*a);
    dpsim_image_free(*b);
    *a = ra;
    *b = rb;
    return EXIT_OK;
}

static void print_tap_name(const dpsim_model *model, int i, FILE *out, int json)
{
    char name[32];
    tap_name(model, i, name, sizeof name);
    fprintf(out, json ? "\"%s\"" : "%s", name);
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

/* The single pair (a model_opts_run callback). */
static int run(dpsim_ctx *ctx, const void *arg)
{
    const compare_args *args = arg;
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
    if (args->bo.verbose) {
        describe_image(args->path_a, a);
        describe_image(args->path_b, b);
    }
    if ((rc = match_sizes(ctx, args, &a, &b)) != EXIT_OK)
        goto done;
    if (args->dists_resize && (rc = dists_resize(ctx, args, &a, &b)) != EXIT_OK)
        goto done;
    if ((rc = model_opts_load(ctx, &args->mo, args->bo.verbose, &model)) != EXIT_OK)
        goto done;
    rc = EXIT_DATA;
    if (args->map_png || args->map_raw) {
        map = malloc((size_t)a->width * a->height * sizeof(float));
        if (!map) {
            cli_error("out of memory for a %dx%d map", a->width, a->height);
            goto done;
        }
    }
    if (a->width == b->width && a->height == b->height) {
        /* one call: large pairs run by bands of rows, small ones side by side */
        const float *first = a->pixels, *second = b->pixels;
        s = dpsim_compare_images(ctx, model, 1, &first, &second, a->width, a->height, &d,
                                 per_tap, map);
    } else { /* mean and gram compare any sizes, through features */
        const float *pixels[2] = {a->pixels, b->pixels};
        int widths[2] = {a->width, b->width}, heights[2] = {a->height, b->height};
        dpsim_features *f[2];
        if ((s = dpsim_extract_batch(ctx, model, 2, pixels, widths, heights, f)) != DPSIM_OK) {
            cli_fail(ctx, s, "extract");
            goto done;
        }
        fa = f[0];
        fb = f[1];
        s = dpsim_compare(ctx, model, fa, fb, &d, per_tap, map);
    }
    if (s != DPSIM_OK) {
        cli_fail(ctx, s, "compare");
        goto done;
    }
    if ((rc = write_maps(ctx, args, map, a)) != EXIT_OK)
        goto done;

    char prov[1024];
    batch_opts_provenance(&args->bo, model, prov, sizeof prov);
    if (!args->bo.quiet)
        fprintf(stderr, "dpsim: %s\n", prov);
    if (!args->bo.quiet && dpsim_model_method(model) == DPSIM_METHOD_DISTS && !args->dists_resize)
        fprintf(stderr, "dpsim: dists: compared at %dx%d, not resized (--dists-resize shrinks "
                "to a short side of 256)\n", a->width, a->height);
    if (args->bo.format == FORMAT_JSON) {
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
    if (args.batch.mode != MODE_SINGLE)
        return compare_batch_run(&args.batch);
    return model_opts_run(&args.mo, run, &args);
}
