/*
 * test_model.c - the model/extract/compare API on pseudo-random trunks:
 * metric properties (d(a,a) = 0, symmetry, d >= 0, per-tap terms sum to the
 * distance, the map's mean near the distance), and every rejection path
 * with its status and a message naming the problem.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "modeltest.h"

static char tmpdir[] = "/tmp/dpsim-test-model-XXXXXX";

static void tmp_path(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", tmpdir, name);
}

/* A lin file for the default taps of a net; value(c) for every channel, optional damage. */
static void write_lin(dpsim_net net, const char *path, float value, int bad_tap, int bad_shape)
{
    const net_def *def = net_def_get(net);
    tensor_list list = {0};
    for (int t = 0; t < def->n_lpips_taps; t++) {
        int c = net_layer_channels(def, def->lpips_taps[t]) + (t == bad_tap && bad_shape);
        float *w = malloc((size_t)c * sizeof(float));
        for (int i = 0; i < c; i++)
            w[i] = value * (float)(1 + i % 3);
        if (t == bad_tap && !bad_shape)
            w[c / 2] = -0.5f;
        char name[64];
        snprintf(name, sizeof name, "lin%d.model.1.weight", t);
        int64_t shape[4] = {1, c, 1, 1};
        CHECK(tensor_list_add(&list, name, 4, shape, w, NULL) == DPSIM_OK);
        free(w);
    }
    CHECK(safetensors_write_file(path, &list, NULL, NULL) == DPSIM_OK);
    tensor_list_free(&list);
}

static dpsim_status load(dpsim_ctx *ctx, dpsim_net net, const char *trunk, const char *lin,
                         dpsim_model **m)
{
    dpsim_model_options opt;
    dpsim_model_options_init(&opt);
    opt.net = net;
    opt.trunk_path = trunk;
    opt.lin_path = lin;
    opt.use_lin = lin != NULL;
    return dpsim_model_load(ctx, &opt, m);
}

static double distance(dpsim_ctx *ctx, const dpsim_model *m, const float *a, const float *b,
                       int w, int h, double *per_tap, float *map)
{
    dpsim_features *fa = NULL, *fb = NULL;
    double d = -1;
    CHECK(dpsim_extract(ctx, m, a, w, h, &fa) == DPSIM_OK);
    CHECK(dpsim_extract(ctx, m, b, w, h, &fb) == DPSIM_OK);
    if (fa && fb)
        CHECK(dpsim_compare(ctx, m, fa, fb, &d, per_tap, map) == DPSIM_OK);
    dpsim_features_free(fa);
    dpsim_features_free(fb);
    return d;
}

static void test_properties(dpsim_ctx *ctx, const char *trunk, const char *lin)
{
    dpsim_model *m = NULL;
    CHECK(load(ctx, DPSIM_NET_SQUEEZE, trunk, lin, &m) == DPSIM_OK);
    if (!m)
        return;
    const int w = 45, h = 38;
    float *a = malloc(3 * w * h * 4), *b = malloc(3 * w * h * 4), *map = malloc(w * h * 4);
    gen_image(1, w, h, a);
    gen_image(2, w, h, b);
    double per_tap[DPSIM_MAX_TAPS], sum = 0;
    double dab = distance(ctx, m, a, b, w, h, per_tap, map);
    double dba = distance(ctx, m, b, a, w, h, NULL, NULL);
    double daa = distance(ctx, m, a, a, w, h, NULL, NULL);
    CHECK_MSG(dab > 0, "d(a,b) = %g", dab);
    CHECK_MSG(daa == 0.0, "d(a,a) = %g", daa);
    CHECK_MSG(dab == dba, "d(a,b) = %.17g, d(b,a) = %.17g", dab, dba);
    for (int t = 0; t < dpsim_model_n_taps(m); t++) {
        CHECK(per_tap[t] >= 0);
        sum += per_tap[t];
    }
    CHECK_REL(sum, dab, 1e-12, 1e-12);
    double mean = 0;
    for (int i = 0; i < w * h; i++) {
        CHECK(map[i] >= 0);
        mean += map[i];
    }
    mean /= w * h;
    CHECK_MSG(fabs(mean - dab) < 0.5 * dab, "map mean %g far from distance %g", mean, dab);

    /* features are reusable: same distance when extracted once and compared twice */
    dpsim_features *fa, *fb;
    double d1, d2;
    CHECK(dpsim_extract(ctx, m, a, w, h, &fa) == DPSIM_OK);
    CHECK(dpsim_extract(ctx, m, b, w, h, &fb) == DPSIM_OK);
    CHECK(dpsim_compare(ctx, m, fa, fb, &d1, NULL, NULL) == DPSIM_OK);
    CHECK(dpsim_compare(ctx, m, fa, fb, &d2, NULL, NULL) == DPSIM_OK);
    CHECK(d1 == d2 && d1 == dab);
    CHECK(dpsim_features_width(fa) == w && dpsim_features_height(fa) == h);

    /* features of another size cannot be compared */
    dpsim_features *small;
    CHECK(dpsim_extract(ctx, m, a, w - 1, h, &small) == DPSIM_OK);
    double untouched = 123;
    CHECK(dpsim_compare(ctx, m, fa, small, &untouched, NULL, NULL) == DPSIM_E_SHAPE);
    CHECK(untouched == 123);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "45x38") != NULL);

    /* features of another model are refused */
    dpsim_model *other = NULL;
    CHECK(load(ctx, DPSIM_NET_SQUEEZE, trunk, NULL, &other) == DPSIM_OK);
    if (other) {
        CHECK(dpsim_compare(ctx, other, fa, fb, &untouched, NULL, NULL) == DPSIM_E_INVAL);
        CHECK(strstr(dpsim_ctx_last_error(ctx), "another model") != NULL);
    }
    dpsim_model_free(other);
    dpsim_features_free(small);
    dpsim_features_free(fa);
    dpsim_features_free(fb);

    /* all-black and constant images give finite distances */
    memset(a, 0, 3 * w * h * 4);
    for (int i = 0; i < 3 * w * h; i++)
        b[i] = 0.5f;
    double dk = distance(ctx, m, a, b, w, h, NULL, NULL);
    CHECK_MSG(isfinite(dk) && dk >= 0, "black vs gray: %g", dk);

    /* too small, NaN pixels, absurd sizes */
    dpsim_features *f = NULL;
    CHECK(dpsim_extract(ctx, m, a, 16, 16, &f) == DPSIM_E_SHAPE && f == NULL);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "at least 17x17") != NULL);
    a[5] = NAN;
    CHECK(dpsim_extract(ctx, m, a, w, h, &f) == DPSIM_E_INVAL && f == NULL);
    CHECK(dpsim_extract(ctx, m, a, 0, h, &f) == DPSIM_E_SHAPE);
    CHECK(dpsim_extract(ctx, m, a, 70000, 70000, &f) == DPSIM_E_LIMIT);
    CHECK(dpsim_model_min_size(m) == 17);
    free(a), free(b), free(map);
    dpsim_model_free(m);
}

static void test_rejections(dpsim_ctx *ctx, const char *sq_trunk, const char *alex_trunk,
                            const char *lin)
{
    dpsim_model *m = NULL;
    char path[512];
    /* a trunk for another net */
    CHECK(load(ctx, DPSIM_NET_SQUEEZE, alex_trunk, NULL, &m) == DPSIM_E_SHAPE && !m);
    CHECK_MSG(strstr(dpsim_ctx_last_error(ctx), "features.0.weight") != NULL, "%s",
              dpsim_ctx_last_error(ctx));
    CHECK(load(ctx, DPSIM_NET_ALEX, sq_trunk, NULL, &m) != DPSIM_OK && !m);
    /* missing file, directory, garbage */
    CHECK(load(ctx, DPSIM_NET_SQUEEZE, "/nonexistent/w.pth", NULL, &m) == DPSIM_E_IO);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "/nonexistent/w.pth") != NULL);
    CHECK(load(ctx, DPSIM_NET_SQUEEZE, tmpdir, NULL, &m) == DPSIM_E_IO);
    tmp_path(path, sizeof path, "garbage.pth");
    FILE *fp = fopen(path, "wb");
    fputs("this is not a checkpoint", fp);
    fclose(fp);
    CHECK(load(ctx, DPSIM_NET_SQUEEZE, path, NULL, &m) == DPSIM_E_FORMAT);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "garbage.pth") != NULL);
    /* lin files: negative weight, wrong shape, for the wrong net */
    tmp_path(path, sizeof path, "neg.safetensors");
    write_lin(DPSIM_NET_SQUEEZE, path, 0.1f, 3, 0);
    CHECK(load(ctx, DPSIM_NET_SQUEEZE, sq_trunk, path, &m) == DPSIM_E_FORMAT);
    CHECK_MSG(strstr(dpsim_ctx_last_error(ctx), "lin3.model.1.weight") &&
                  strstr(dpsim_ctx_last_error(ctx), "negative"),
              "%s", dpsim_ctx_last_error(ctx));
    tmp_path(path, sizeof path, "shape.safetensors");
    write_lin(DPSIM_NET_SQUEEZE, path, 0.1f, 2, 1);
    CHECK(load(ctx, DPSIM_NET_SQUEEZE, sq_trunk, path, &m) == DPSIM_E_SHAPE);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "lin2.model.1.weight") != NULL);
    tmp_path(path, sizeof path, "alexlin.safetensors");
    write_lin(DPSIM_NET_ALEX, path, 0.1f, -1, 0);
    CHECK(load(ctx, DPSIM_NET_SQUEEZE, sq_trunk, path, &m) != DPSIM_OK);
    CHECK(load(ctx, DPSIM_NET_SQUEEZE, sq_trunk, lin, &m) == DPSIM_OK);
    dpsim_model_free(m);
    m = NULL;
    /* options: bad taps, custom taps with the default lin, bad ABI */
    dpsim_model_options opt;
    dpsim_model_options_init(&opt);
    opt.trunk_path = sq_trunk;
    opt.use_lin = 0;
    opt.n_taps = 2;
    opt.taps[0] = 4;
    opt.taps[1] = 2;
    CHECK(dpsim_model_load(ctx, &opt, &m) == DPSIM_E_INVAL);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "increasing") != NULL);
    opt.taps[1] = 13;
    CHECK(dpsim_model_load(ctx, &opt, &m) == DPSIM_E_INVAL);
    opt.taps[1] = 12;
    CHECK(dpsim_model_load(ctx, &opt, &m) == DPSIM_OK);
    CHECK(m && dpsim_model_n_taps(m) == 2);
    int index = -1, channels = -1;
    CHECK(m && dpsim_model_tap(m, 1, &index, &channels) == DPSIM_OK && index == 12 &&
          channels == 512);
    dpsim_model_free(m);
    m = NULL;
    opt.use_lin = 1;
    CHECK(dpsim_model_load(ctx, &opt, &m) == DPSIM_E_INVAL);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "default taps") != NULL);
    opt.abi = 0;
    CHECK(dpsim_model_load(ctx, &opt, &m) == DPSIM_E_ABI && !m);
}

static void test_provenance(dpsim_ctx *ctx, const char *trunk, const char *lin)
{
    dpsim_model *m = NULL;
    CHECK(load(ctx, DPSIM_NET_SQUEEZE, trunk, lin, &m) == DPSIM_OK);
    if (!m)
        return;
    char line[512], hex[65];
    size_t n = dpsim_model_provenance(m, line, sizeof line);
    CHECK(n == strlen(line));
    CHECK(strstr(line, "net=squeezenet1_1") && strstr(line, "taps=1,4,7,9,10,11,12") &&
          strstr(line, "version=0.1") && strstr(line, "eps=1e-10"));
    CHECK(dpsim_file_sha256(ctx, trunk, hex) == DPSIM_OK);
    CHECK(!strcmp(hex, dpsim_model_weights_sha256(m, 0)));
    char prefix[16];
    snprintf(prefix, sizeof prefix, "trunk=%.8s", hex);
    CHECK(strstr(line, prefix) != NULL);
    CHECK(!strcmp(dpsim_model_weights_path(m, 0), trunk));
    char tiny[8];
    CHECK(dpsim_model_provenance(m, tiny, sizeof tiny) == n && strlen(tiny) == 7);
    dpsim_model_free(m);
}

/* Writes the file `from` into the FIFO `fifo` (opened for writing even if `from` is not there) */
typedef struct feeder {
    const char *fifo, *from;
} feeder;

static void *feed(void *arg)
{
    const feeder *f = arg;
    FILE *out = fopen(f->fifo, "wb"), *in = fopen(f->from, "rb");
    char buf[65536];
    for (size_t n; in && out && (n = fread(buf, 1, sizeof buf, in)) > 0;)
        fwrite(buf, 1, n, out);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    return NULL;
}

/*
 * A trunk read from a regular file is packed in place, in the pages it was
 * read into; from a pipe (read whole, its digest taken from that buffer) it is
 * not. Both give the same fingerprint, digest and bits.
 */
static void test_in_place(dpsim_ctx *ctx, dpsim_net net, const char *trunk)
{
    char fifo[600];
    snprintf(fifo, sizeof fifo, "%s/pipe-%s", tmpdir, dpsim_net_name(net));
    CHECK(mkfifo(fifo, 0600) == 0);
    feeder f = {fifo, trunk};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, feed, &f) == 0);
    dpsim_model *piped = NULL, *filed = NULL;
    CHECK(load(ctx, net, fifo, NULL, &piped) == DPSIM_OK);
    pthread_join(t, NULL);
    unlink(fifo);
    CHECK(load(ctx, net, trunk, NULL, &filed) == DPSIM_OK);
    if (!piped || !filed) {
        dpsim_model_free(piped);
        dpsim_model_free(filed);
        return;
    }
    int in_place = 0, piped_in_place = 0;
    for (int i = 0; i < NET_MAX_LAYERS; i++)
        for (int j = 0; j < 3; j++) {
            in_place += filed->layers[i].conv[j].fast.a_in_place;
            piped_in_place += piped->layers[i].conv[j].fast.a_in_place;
        }
    CHECK_MSG(in_place > 0 && piped_in_place == 0 && filed->trunk_pages && !piped->trunk_pages,
              "%s: %d layers packed in place from the file, %d from the pipe",
              dpsim_net_name(net), in_place, piped_in_place);
    CHECK(model_fingerprint(filed) == model_fingerprint(piped));
    const char *da = dpsim_model_weights_sha256(filed, 0);
    const char *db = dpsim_model_weights_sha256(piped, 0);
    CHECK(da && db && strlen(da) == 64 && strcmp(da, db) == 0);
    enum { W = 70, H = 66 };
    float *img = malloc(2 * 3 * W * H * sizeof(float));
    gen_image(7, W, H, img);
    gen_image(8, W, H, img + 3 * W * H);
    double ta[DPSIM_MAX_TAPS], tb[DPSIM_MAX_TAPS];
    const double a = distance(ctx, filed, img, img + 3 * W * H, W, H, ta, NULL);
    const double b = distance(ctx, piped, img, img + 3 * W * H, W, H, tb, NULL);
    CHECK_MSG(a == b && memcmp(ta, tb, dpsim_model_n_taps(filed) * sizeof(double)) == 0,
              "%s: packed in place %.17g, from a pipe %.17g", dpsim_net_name(net), a, b);
    free(img);
    dpsim_model_free(piped);
    dpsim_model_free(filed);
}

static void test_locate(void)
{
    char path[1024], searched[4096], dir[600];
    snprintf(dir, sizeof dir, "%s/w", tmpdir);
    setenv("DPSIM_WEIGHTS", dir, 1);
    setenv("HOME", tmpdir, 1);
    CHECK(dpsim_weights_locate(DPSIM_WEIGHTS_TRUNK, DPSIM_NET_ALEX, DPSIM_LPIPS_V0_1, path,
                               sizeof path, searched, sizeof searched) == DPSIM_E_NOT_FOUND);
    CHECK(strstr(searched, "/w/alexnet/features.pth") && strstr(searched, "alexnet-owt-7be5be79") &&
          strstr(searched, ".cache/torch/hub/checkpoints/alexnet-owt-7be5be79.pth"));
    /* the torch hub cache is found by torchvision's name */
    char hub[700];
    snprintf(hub, sizeof hub, "%s/.cache", tmpdir);
    mkdir(hub, 0777);
    strcat(hub, "/torch");
    mkdir(hub, 0777);
    strcat(hub, "/hub");
    mkdir(hub, 0777);
    strcat(hub, "/checkpoints");
    mkdir(hub, 0777);
    strcat(hub, "/alexnet-owt-7be5be79.pth");
    fclose(fopen(hub, "wb"));
    CHECK(dpsim_weights_locate(DPSIM_WEIGHTS_TRUNK, DPSIM_NET_ALEX, DPSIM_LPIPS_V0_1, path,
                               sizeof path, NULL, 0) == DPSIM_OK);
    CHECK(!strcmp(path, hub));
    /* $DPSIM_WEIGHTS comes first */
    mkdir(dir, 0777);
    char mine[700];
    snprintf(mine, sizeof mine, "%s/alexnet", dir);
    mkdir(mine, 0777);
    strcat(mine, "/features.pth");
    fclose(fopen(mine, "wb"));
    CHECK(dpsim_weights_locate(DPSIM_WEIGHTS_TRUNK, DPSIM_NET_ALEX, DPSIM_LPIPS_V0_1, path,
                               sizeof path, NULL, 0) == DPSIM_OK);
    CHECK(!strcmp(path, mine));
    CHECK(dpsim_weights_locate(DPSIM_WEIGHTS_LIN, DPSIM_NET_ALEX, DPSIM_LPIPS_V0_0, path,
                               sizeof path, searched, sizeof searched) == DPSIM_E_NOT_FOUND);
    CHECK(strstr(searched, "lpips/v0.0/alex.pth") != NULL);
    /* a model with no weights anywhere says where it looked */
    dpsim_ctx *ctx;
    dpsim_ctx_create(&ctx, NULL);
    dpsim_model_options opt;
    dpsim_model_options_init(&opt);
    dpsim_model *m = NULL;
    CHECK(dpsim_model_load(ctx, &opt, &m) == DPSIM_E_NOT_FOUND && !m);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "squeezenet1_1/features.pth") != NULL);
    dpsim_ctx_free(ctx);
    unlink(hub);
    unlink(mine);
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        return 1;
    char sq[512], alex[512], lin[512];
    tmp_path(sq, sizeof sq, "squeeze.safetensors");
    tmp_path(alex, sizeof alex, "alex.safetensors");
    tmp_path(lin, sizeof lin, "lin.safetensors");
    write_trunk(DPSIM_NET_SQUEEZE, 5, sq);
    write_trunk(DPSIM_NET_ALEX, 5, alex);
    write_lin(DPSIM_NET_SQUEEZE, lin, 0.05f, -1, 0);
    dpsim_ctx *ctx;
    CHECK(dpsim_ctx_create(&ctx, NULL) == DPSIM_OK);
    test_properties(ctx, sq, lin);
    test_rejections(ctx, sq, alex, lin);
    test_provenance(ctx, sq, lin);
    test_in_place(ctx, DPSIM_NET_SQUEEZE, sq);
    test_in_place(ctx, DPSIM_NET_ALEX, alex);
    const char *w = getenv("DPSIM_WEIGHTS");
    if (w && *w) { /* a legacy file whose storages lie at 1 mod 4: moved, then packed in place */
        char real[1024];
        snprintf(real, sizeof real, "%s/squeezenet1_1/features.pth", w);
        test_in_place(ctx, DPSIM_NET_SQUEEZE, real);
    }
    dpsim_ctx_free(ctx);
    test_locate();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    CHECK(system(cmd) == 0);
    return check_report();
}
