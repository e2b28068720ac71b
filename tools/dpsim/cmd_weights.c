/*
 * cmd_weights.c - `dpsim weights [list]` shows which weights files are found
 * (path, sha256 prefix) and which are missing; `dpsim weights fetch`
 * downloads the official files and checks their sha256.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char usage[] =
    "usage: dpsim weights [list]\n"
    "       dpsim weights fetch [--net squeeze|alex|vgg|all] [--dir DIR]\n"
    "\n"
    "list (default): for every net, the trunk and LPIPS lin files found, with\n"
    "their sha256 prefix, and what is missing with the places looked at.\n"
    "\n"
    "fetch: download the official files (torchvision trunk, LPIPS v0.1 and v0.0\n"
    "lin weights) for --net (default squeeze) into DIR (default ~/.cache/dpsim),\n"
    "check their sha256 and keep them under the names dpsim looks for. Files\n"
    "already present are kept. Needs network access; never happens implicitly.\n"
    "\n"
    "where weights are looked for, in order:\n"
    "  1. --trunk / --lin given to a command\n"
    "  2. $DPSIM_WEIGHTS, a folder laid out as:\n"
    "       squeezenet1_1/features.pth  or  squeezenet1_1-b8a52dc0.pth\n"
    "       alexnet/features.pth        or  alexnet-owt-7be5be79.pth\n"
    "       vgg16/features.pth          or  vgg16-397923af.pth\n"
    "       lpips/v0.1/{squeeze,alex,vgg}.pth   lpips/v0.0/{squeeze,alex,vgg}.pth\n"
    "  3. ~/.cache/dpsim, same layout\n"
    "  4. the PyTorch hub cache ($TORCH_HOME/hub/checkpoints or\n"
    "     ~/.cache/torch/hub/checkpoints), torchvision's file names, trunks only\n"
    "\n"
    "examples:\n"
    "  dpsim weights\n"
    "  dpsim weights fetch --net all\n"
    "  DPSIM_WEIGHTS=/mnt/weights dpsim weights\n";

/* The official files: where torchvision and the LPIPS repository publish them. */
typedef struct official_file {
    dpsim_weights_kind kind;
    dpsim_net net;
    dpsim_lpips_version version;
    const char *name;   /* relative to the fetch folder */
    const char *url;
    const char *sha256; /* prefix (torchvision names carry 8 hex digits) or full */
} official_file;

#define LPIPS_URL "https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/"
static const official_file files[] = {
    {DPSIM_WEIGHTS_TRUNK, DPSIM_NET_SQUEEZE, DPSIM_LPIPS_V0_1, "squeezenet1_1-b8a52dc0.pth",
     "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth", "b8a52dc0"},
    {DPSIM_WEIGHTS_TRUNK, DPSIM_NET_ALEX, DPSIM_LPIPS_V0_1, "alexnet-owt-7be5be79.pth",
     "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth", "7be5be79"},
    {DPSIM_WEIGHTS_TRUNK, DPSIM_NET_VGG16, DPSIM_LPIPS_V0_1, "vgg16-397923af.pth",
     "https://download.pytorch.org/models/vgg16-397923af.pth", "397923af"},
    {DPSIM_WEIGHTS_LIN, DPSIM_NET_SQUEEZE, DPSIM_LPIPS_V0_1, "lpips/v0.1/squeeze.pth",
     LPIPS_URL "v0.1/squeeze.pth",
     "4a5350f23600cb79923ce65bb07cbf57dca461329894153e05a1346bd531cf76"},
    {DPSIM_WEIGHTS_LIN, DPSIM_NET_ALEX, DPSIM_LPIPS_V0_1, "lpips/v0.1/alex.pth",
     LPIPS_URL "v0.1/alex.pth", "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0"},
    {DPSIM_WEIGHTS_LIN, DPSIM_NET_VGG16, DPSIM_LPIPS_V0_1, "lpips/v0.1/vgg.pth",
     LPIPS_URL "v0.1/vgg.pth", "a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868"},
    {DPSIM_WEIGHTS_LIN, DPSIM_NET_SQUEEZE, DPSIM_LPIPS_V0_0, "lpips/v0.0/squeeze.pth",
     LPIPS_URL "v0.0/squeeze.pth",
     "c27abd3a0145541baa50990817df58d3759c3f8154949f42af3b59b4e042d0bf"},
    {DPSIM_WEIGHTS_LIN, DPSIM_NET_ALEX, DPSIM_LPIPS_V0_0, "lpips/v0.0/alex.pth",
     LPIPS_URL "v0.0/alex.pth", "18720f55913d0af89042f13faa7e536a6ce1444a0914e6db9461355ece1e8cd5"},
    {DPSIM_WEIGHTS_LIN, DPSIM_NET_VGG16, DPSIM_LPIPS_V0_0, "lpips/v0.0/vgg.pth",
     LPIPS_URL "v0.0/vgg.pth", "b9e4236260c3dd988fc79d2a48d645d885afcbb21f9fd595e6744cf7419b582c"},
};
#define N_FILES (sizeof files / sizeof files[0])

static void describe(const official_file *f, char *label, size_t len)
{
    if (f->kind == DPSIM_WEIGHTS_TRUNK)
        snprintf(label, len, "%s trunk", dpsim_net_torchvision_name(f->net));
    else
        snprintf(label, len, "lpips %s lin %s", f->version == DPSIM_LPIPS_V0_0 ? "v0.0" : "v0.1",
                 dpsim_net_name(f->net));
}

static int list(void)
{
    dpsim_ctx *ctx;
    if (dpsim_ctx_create(&ctx, NULL) != DPSIM_OK) {
        cli_error("cannot create a context (out of memory)");
        return EXIT_DATA;
    }
    const char *env = getenv("DPSIM_WEIGHTS");
    printf("DPSIM_WEIGHTS=%s\n", env && *env ? env : "(not set)");
    int missing = 0;
    for (size_t i = 0; i < N_FILES; i++) {
        const official_file *f = &files[i];
        char label[64], path[4096], searched[8192], hex[65];
        describe(f, label, sizeof label);
        if (dpsim_weights_locate(f->kind, f->net, f->version, path, sizeof path, searched,
                                 sizeof searched) != DPSIM_OK) {
            printf("%-22s missing   (looked at: %s)\n", label, searched);
            missing++;
        } else if (dpsim_file_sha256(ctx, path, hex) != DPSIM_OK) {
            printf("%-22s unreadable %s\n", label, path);
            missing++;
        } else {
            printf("%-22s found     %s  sha256 %.8s\n", label, path, hex);
        }
    }
    if (missing)
        printf("%d file%s missing: 'dpsim weights fetch --net all' downloads them, or copy them "
               "into $DPSIM_WEIGHTS with the layout in 'dpsim weights --help'\n",
               missing, missing == 1 ? "" : "s");
    dpsim_ctx_free(ctx);
    return EXIT_OK;
}

/* mkdir -p for the parent folders of path */
static int make_parents(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

static int fetch(int argc, char **argv)
{
    static const struct option opts[] = {{"net", required_argument, NULL, 'n'},
                                         {"dir", required_argument, NULL, 'd'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL, *net_name = "squeeze";
    int all = 0, c;
    dpsim_net net = DPSIM_NET_SQUEEZE;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'n')
            net_name = optarg;
        else if (c == 'd')
            dir = optarg;
        else if (c == 'h') {
            fputs(usage, stdout);
            return EXIT_OK;
        } else
            return cli_usage_error("weights ", "unknown option or missing value in 'weights fetch'");
    }
    if (optind != argc)
        return cli_usage_error("weights ", "unexpected argument '%s'", argv[optind]);
    if (strcmp(net_name, "all") == 0)
        all = 1;
    else if (dpsim_net_parse(net_name, &net) != DPSIM_OK)
        return cli_usage_error("weights ", "--net '%s': expected squeeze, alex, vgg or all",
                               net_name);
    char home_dir[4096];
    if (!dir) {
        const char *home = getenv("HOME");
        if (!home || !*home) {
            cli_error("HOME is not set; give the folder with --dir");
            return EXIT_USAGE;
        }
        snprintf(home_dir, sizeof home_dir, "%s/.cache/dpsim", home);
        dir = home_dir;
    }
    int failed = 0;
    for (size_t i = 0; i < N_FILES; i++) {
        const official_file *f = &files[i];
        if (!all && f->net != net)
            continue;
        char path[4096], err[1024], hex[65];
        snprintf(path, sizeof path, "%s/%s", dir, f->name);
        dpsim_ctx *ctx = NULL;
        int have = dpsim_ctx_create(&ctx, NULL) == DPSIM_OK &&
                   dpsim_file_sha256(ctx, path, hex) == DPSIM_OK &&
                   strncmp(hex, f->sha256, strlen(f->sha256)) == 0;
        dpsim_ctx_free(ctx);
        if (have) {
            fprintf(stderr, "dpsim: %s already present and verified\n", path);
            continue;
        }
        fprintf(stderr, "dpsim: downloading %s\n", f->url);
        if (make_parents(path) != 0)
            snprintf(err, sizeof err, "'%s': cannot create its folder: %s", path,
                     strerror(errno));
        else if (fetch_url(f->url, path, f->sha256, err, sizeof err) == 0)
            err[0] = '\0';
        if (err[0]) {
            cli_error("%s", err);
            cli_hint("without network access, download %s elsewhere and copy it to %s", f->url,
                     path);
            failed++;
            continue;
        }
        fprintf(stderr, "dpsim: saved %s\n", path);
    }
    return failed ? EXIT_DATA : EXIT_OK;
}

int cmd_weights(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "list") == 0)
        return argc <= 2 ? list() : cli_usage_error("weights ", "'weights list' takes no "
                                                    "arguments");
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "fetch") == 0)
        return fetch(argc - 1, argv + 1);
    return cli_usage_error("weights ", "unknown weights command '%s', expected list or fetch",
                           argv[1]);
}
