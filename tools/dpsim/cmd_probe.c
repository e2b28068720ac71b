/*
 * cmd_probe.c - `dpsim probe`: the flaw probes of thesis chapter 4 (SPEC
 * section 9). For every method x normalisation x net whose weights are
 * found, count the cases where the distorted image is closer to the
 * original than every reference (invert, translate, rotate) or closer than
 * the image with other content (stain), and print the table.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "probe.h"

static const char usage[] =
    "usage: dpsim probe [options]\n"
    "\n"
    "Run the flaw probes of thesis chapter 4 on generated 64x64 images: black/white\n"
    "patterns vs their inversions, a structured patch vs the same patch translated,\n"
    "a scene vs its rotations (22.5, 45, 67.5, 90, 180 degrees), each against seven\n"
    "references (black, gray, white, red, green, blue, noise); and colour stains: an\n"
    "image vs the same content on a recoloured or stained background, against the\n"
    "same background with other content. A case passes when the distorted version\n"
    "is closer to the original. Every method runs with and without channel\n"
    "normalisation, unweighted (all channel weights 1).\n"
    "\n"
    "options:\n"
    "  --net LIST         squeeze (default), alex, vgg, comma-separated, or all (the\n"
    "                     nets whose trunk weights are found); dists runs on vgg\n"
    "  --json             print one JSON object instead of the table\n"
    "  --save-images DIR  write every image as PNG to DIR (created if missing)\n"
    "  -h, --help         this help\n"
    "\n"
    "exit status: 0 success, 1 data or I/O error, 2 usage error\n";

enum { IMG_REF = 0, IMG_INV = IMG_REF + PROBE_N_REFS, IMG_TR = IMG_INV + 2 * PROBE_N_INVERT,
       IMG_ROT = IMG_TR + 2 * PROBE_N_TRANSLATE,
       IMG_ST = IMG_ROT + PROBE_N_SCENES * (1 + PROBE_N_ANGLES),
       N_IMAGES = IMG_ST + 3 * PROBE_N_STAIN };

typedef struct probe_row {
    dpsim_method method;
    int norm; /* 1 on, 0 off, -1 not applicable (dists) */
    dpsim_net net;
    int invert, translate, rotate, stain;
} probe_row;

/* every image of the sets, in the IMG_* order */
static void list_images(const probe_sets *p, const float **img, char names[][32])
{
    for (int i = 0; i < PROBE_N_REFS; i++) {
        img[IMG_REF + i] = p->refs[i];
        snprintf(names[IMG_REF + i], 32, "ref_%s", p->ref_names[i]);
    }
    for (int k = 0; k < PROBE_N_INVERT; k++)
        for (int j = 0; j < 2; j++) {
            img[IMG_INV + 2 * k + j] = p->invert[k][j];
            snprintf(names[IMG_INV + 2 * k + j], 32, "invert_%02d_%s", k, j ? "b" : "a");
        }
    for (int k = 0; k < PROBE_N_TRANSLATE; k++)
        for (int j = 0; j < 2; j++) {
            img[IMG_TR + 2 * k + j] = p->translate[k][j];
            snprintf(names[IMG_TR + 2 * k + j], 32, "translate_%02d_%s", k, j ? "b" : "a");
        }
    for (int k = 0; k < PROBE_N_SCENES; k++)
        for (int j = 0; j <= PROBE_N_ANGLES; j++) {
            img[IMG_ROT + (1 + PROBE_N_ANGLES) * k + j] = p->rotate[k][j];
            snprintf(names[IMG_ROT + (1 + PROBE_N_ANGLES) * k + j], 32, "rotate_%02d_%d", k, j);
        }
    for (int k = 0; k < PROBE_N_STAIN; k++)
        for (int j = 0; j < 3; j++) {
            img[IMG_ST + 3 * k + j] = p->stain[k][j];
            snprintf(names[IMG_ST + 3 * k + j], 32, "stain_%02d_%s", k,
                     j == 0 ? "a" : j == 1 ? "similar" : "other");
        }
}

static int save_images(dpsim_ctx *ctx, const char *dir, const float **img, char names[][32])
{
    mkdir(dir, 0777);
    unsigned char *rgb = malloc(PROBE_PIXELS);
    if (!rgb) {
        cli_error("out of memory");
        return EXIT_DATA;
    }
    const int plane = PROBE_SIDE * PROBE_SIDE;
    for (int i = 0; i < N_IMAGES; i++) {
        for (int k = 0; k < plane; k++)
            for (int ch = 0; ch < 3; ch++)
                rgb[3 * k + ch] = (unsigned char)(img[i][ch * plane + k] * 255.0f + 0.5f);
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.png", dir, names[i]);
        dpsim_status s = dpsim_png_write_rgb8(ctx, path, rgb, PROBE_SIDE, PROBE_SIDE);
        if (s != DPSIM_OK) {
            free(rgb);
            return cli_fail(ctx, s, "save-images");
        }
    }
    free(rgb);
    return EXIT_OK;
}

static double dist(dpsim_ctx *ctx, const dpsim_model *m, dpsim_features **f, int a, int b)
{
    double d = 0.0;
    dpsim_compare(ctx, m, f[a], f[b], &d, NULL, NULL);
    return d;
}

/* the distance from image a to its nearest reference */
static double nearest_ref(dpsim_ctx *ctx, const dpsim_model *m, dpsim_features **f, int a)
{
    double best = dist(ctx, m, f, a, IMG_REF);
    for (int r = 1; r < PROBE_N_REFS; r++) {
        double d = dist(ctx, m, f, a, IMG_REF + r);
        best = d < best ? d : best;
    }
    return best;
}

/* pass when d(a, b) is below d(a, every reference) */
static int beats_refs(dpsim_ctx *ctx, const dpsim_model *m, dpsim_features **f, int a, int b)
{
    return dist(ctx, m, f, a, b) < nearest_ref(ctx, m, f, a);
}

/*
 * Count one row's passes. f holds the features of every image for this net,
 * extracted on the first row (features do not depend on method or norm).
 */
static int run_row(dpsim_ctx *ctx, const float **img, probe_row *row, dpsim_features **f)
{
    dpsim_model_options opt;
    dpsim_model_options_init(&opt);
    opt.net = row->net;
    opt.method = row->method;
    opt.normalize = row->norm;
    opt.use_lin = 0;
    dpsim_model *m = NULL;
    dpsim_status s = dpsim_model_load(ctx, &opt, &m);
    for (int i = 0; s == DPSIM_OK && i < N_IMAGES; i++)
        if (!f[i])
            s = dpsim_extract(ctx, m, img[i], PROBE_SIDE, PROBE_SIDE, &f[i]);
    if (s == DPSIM_OK) {
        for (int k = 0; k < PROBE_N_INVERT; k++)
            row->invert += beats_refs(ctx, m, f, IMG_INV + 2 * k, IMG_INV + 2 * k + 1);
        for (int k = 0; k < PROBE_N_TRANSLATE; k++)
            row->translate += beats_refs(ctx, m, f, IMG_TR + 2 * k, IMG_TR + 2 * k + 1);
        for (int k = 0; k < PROBE_N_SCENES; k++) {
            const int base = IMG_ROT + (1 + PROBE_N_ANGLES) * k;
            const double ref = nearest_ref(ctx, m, f, base);
            for (int a = 1; a <= PROBE_N_ANGLES; a++)
                row->rotate += dist(ctx, m, f, base, base + a) < ref;
        }
        for (int k = 0; k < PROBE_N_STAIN; k++)
            row->stain += dist(ctx, m, f, IMG_ST + 3 * k, IMG_ST + 3 * k + 1) <
                          dist(ctx, m, f, IMG_ST + 3 * k, IMG_ST + 3 * k + 2);
    }
    dpsim_model_free(m);
    return s == DPSIM_OK ? EXIT_OK : cli_fail(ctx, s, "probe");
}

static const char *norm_name(int norm) { return norm < 0 ? "-" : norm ? "on" : "off"; }

static void print_table(const probe_row *rows, int n)
{
    printf("%-13s %-4s %-14s %6s %9s %6s %5s\n", "method", "norm", "net", "invert", "translate",
           "rotate", "stain");
    for (int i = 0; i < n; i++) {
        const probe_row *r = &rows[i];
        printf("%-13s %-4s %-14s %3d/%-2d %7d/%-1d %3d/%-2d %3d/%-1d\n",
               dpsim_method_name(r->method), norm_name(r->norm),
               dpsim_net_torchvision_name(r->net), r->invert, PROBE_N_INVERT, r->translate,
               PROBE_N_TRANSLATE, r->rotate, PROBE_N_ROTATE, r->stain, PROBE_N_STAIN);
    }
}

static void print_json(const probe_row *rows, int n)
{
    printf("{\"side\":%d,\"weights\":\"none (all channel weights 1)\",\"cases\":{\"invert\":%d,"
           "\"translate\":%d,\"rotate\":%d,\"stain\":%d},\"rows\":[",
           PROBE_SIDE, PROBE_N_INVERT, PROBE_N_TRANSLATE, PROBE_N_ROTATE, PROBE_N_STAIN);
    for (int i = 0; i < n; i++) {
        const probe_row *r = &rows[i];
        printf("%s{\"method\":\"%s\",\"norm\":\"%s\",\"net\":\"%s\",\"invert\":%d,"
               "\"translate\":%d,\"rotate\":%d,\"stain\":%d}",
               i ? "," : "", dpsim_method_name(r->method), norm_name(r->norm),
               dpsim_net_torchvision_name(r->net), r->invert, r->translate, r->rotate, r->stain);
    }
    printf("],\"dpsim_version\":\"%s\"}\n", dpsim_version_string());
}

/* Parse --net: a list of names or "all" (nets whose trunk is found). */
static int parse_nets(const char *arg, dpsim_net *nets, int *n)
{
    static const dpsim_net all[] = {DPSIM_NET_SQUEEZE, DPSIM_NET_ALEX, DPSIM_NET_VGG16};
    *n = 0;
    if (strcmp(arg, "all") == 0) {
        char path[4096];
        for (int i = 0; i < 3; i++)
            if (dpsim_weights_locate(DPSIM_WEIGHTS_TRUNK, all[i], DPSIM_LPIPS_V0_1, path,
                                     sizeof path, NULL, 0) == DPSIM_OK)
                nets[(*n)++] = all[i];
        return 1;
    }
    char buf[256];
    snprintf(buf, sizeof buf, "%s", arg);
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        if (*n == 3 || dpsim_net_parse(t, &nets[*n]) != DPSIM_OK)
            return 0;
        (*n)++;
    }
    return *n > 0;
}

int cmd_probe(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"net", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"save-images", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    dpsim_net nets[3] = {DPSIM_NET_SQUEEZE};
    int n_nets = 1, json = 0, c;
    const char *save_dir = NULL;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (!parse_nets(optarg, nets, &n_nets))
                return cli_usage_error("probe ", "--net '%s': expected squeeze, alex, vgg "
                                       "(comma-separated) or all", optarg);
            break;
        case 'j': json = 1; break;
        case 's': save_dir = optarg; break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default:
            return cli_usage_error("probe ", "option '%s' is unknown or needs a value",
                                   argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage_error("probe ", "unexpected argument '%s'", argv[optind]);
    if (n_nets == 0) {
        cli_error("no trunk weights found for any net");
        cli_hint("set DPSIM_WEIGHTS or run 'dpsim weights fetch'");
        return EXIT_DATA;
    }
    dpsim_ctx *ctx = NULL;
    probe_sets *sets = malloc(sizeof *sets);
    if (!sets || dpsim_ctx_create(&ctx, NULL) != DPSIM_OK) {
        free(sets);
        cli_error("out of memory");
        return EXIT_DATA;
    }
    probe_build(sets);
    const float *img[N_IMAGES];
    char names[N_IMAGES][32];
    list_images(sets, img, names);
    int rc = save_dir ? save_images(ctx, save_dir, img, names) : EXIT_OK;

    static const dpsim_method methods[] = {DPSIM_METHOD_SPATIAL, DPSIM_METHOD_MEAN,
                                           DPSIM_METHOD_SORT, DPSIM_METHOD_SPATIAL_MEAN,
                                           DPSIM_METHOD_SPATIAL_SORT, DPSIM_METHOD_GRAM};
    probe_row rows[3 * (6 * 2 + 1)];
    static dpsim_features *feats[4][N_IMAGES]; /* per net, and dists */
    int n_rows = 0;
    for (size_t mi = 0; rc == EXIT_OK && mi < sizeof methods / sizeof methods[0]; mi++)
        for (int norm = 1; norm >= 0; norm--)
            for (int k = 0; rc == EXIT_OK && k < n_nets; k++) {
                rows[n_rows] = (probe_row){methods[mi], norm, nets[k], 0, 0, 0, 0};
                rc = run_row(ctx, img, &rows[n_rows++], feats[k]);
            }
    for (int k = 0; rc == EXIT_OK && k < n_nets; k++)
        if (nets[k] == DPSIM_NET_VGG16) {
            rows[n_rows] = (probe_row){DPSIM_METHOD_DISTS, -1, nets[k], 0, 0, 0, 0};
            rc = run_row(ctx, img, &rows[n_rows++], feats[3]);
        }
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < N_IMAGES; i++)
            dpsim_features_free(feats[k][i]);
    if (rc == EXIT_OK) {
        if (json)
            print_json(rows, n_rows);
        else
            print_table(rows, n_rows);
        rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_DATA;
    }
    dpsim_ctx_free(ctx);
    free(sets);
    return rc;
}
