/*
 * test_featfile.c - feature files on pseudo-random SqueezeNet trunks: a
 * bit-exact round trip (features, names, distances, and the file rewritten
 * byte for byte), refusal of features made with other settings (trunk, lin,
 * taps, version) naming the setting, the writer's own checks, and the reader
 * on every truncation and on damaged header fields.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "featfile/featfile.h"
#include "modeltest.h"

static char tmpdir[] = "/tmp/dpsim-test-featfile-XXXXXX";

static void tmp_path(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", tmpdir, name);
}

static dpsim_model *load(dpsim_ctx *ctx, const char *trunk, const char *taps, int v0)
{
    dpsim_model_options opt;
    dpsim_model_options_init(&opt);
    opt.trunk_path = trunk;
    opt.use_lin = 0;
    opt.version = v0 ? DPSIM_LPIPS_V0_0 : DPSIM_LPIPS_V0_1;
    if (taps) {
        opt.n_taps = 2;
        opt.taps[0] = 1;
        opt.taps[1] = 4;
    }
    dpsim_model *m = NULL;
    CHECK_MSG(dpsim_model_load(ctx, &opt, &m) == DPSIM_OK, "%s", dpsim_ctx_last_error(ctx));
    return m;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    *len = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (fread(buf, 1, *len, fp) != *len) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    return buf;
}

static int same_features(const dpsim_features *a, const dpsim_features *b)
{
    if (a->width != b->width || a->height != b->height || a->n_taps != b->n_taps ||
        a->fingerprint != b->fingerprint)
        return 0;
    for (int t = 0; t < a->n_taps; t++)
        if (a->c[t] != b->c[t] || a->h[t] != b->h[t] || a->w[t] != b->w[t] ||
            memcmp(a->tap[t], b->tap[t], sizeof(float) * a->c[t] * a->h[t] * a->w[t]) != 0)
            return 0;
    return 1;
}

static void write_set(dpsim_ctx *ctx, const dpsim_model *m, const char *path, const char *prep,
                      dpsim_features **f, const char *const *names, int n)
{
    dpsim_featfile_writer *w = NULL;
    CHECK(dpsim_featfile_writer_open(ctx, path, m, prep, &w) == DPSIM_OK);
    for (int i = 0; i < n; i++)
        CHECK(dpsim_featfile_writer_add(ctx, w, names[i], f[i]) == DPSIM_OK);
    CHECK(dpsim_featfile_writer_commit(ctx, w) == DPSIM_OK);
}

static void test_round_trip(dpsim_ctx *ctx, const dpsim_model *m, const char *path)
{
    const char *names[3] = {"a.png", "sub/b, \"quoted\".png", "c.png"};
    dpsim_features *f[3] = {extract_gen(ctx, m, 1, 40, 33), extract_gen(ctx, m, 2, 40, 33),
                            extract_gen(ctx, m, 3, 17, 21)};
    write_set(ctx, m, path, "size=40x33", f, names, 3);
    dpsim_featfile *ff = NULL;
    CHECK(dpsim_featfile_read(ctx, path, &ff) == DPSIM_OK);
    if (!ff)
        return;
    CHECK(dpsim_featfile_count(ff) == 3);
    CHECK(strcmp(dpsim_featfile_prep(ff), "size=40x33") == 0);
    CHECK(strstr(dpsim_featfile_provenance(ff), "squeezenet1_1") != NULL);
    CHECK(dpsim_featfile_check(ctx, ff, m) == DPSIM_OK);
    CHECK(dpsim_featfile_name(ff, 3) == NULL && dpsim_featfile_features(ff, 3) == NULL);
    for (size_t i = 0; i < 3; i++) {
        CHECK(strcmp(dpsim_featfile_name(ff, i), names[i]) == 0);
        CHECK(same_features(dpsim_featfile_features(ff, i), f[i]));
    }
    double d0, d1;
    CHECK(dpsim_compare(ctx, m, f[0], f[1], &d0, NULL, NULL) == DPSIM_OK);
    CHECK(dpsim_compare(ctx, m, dpsim_featfile_features(ff, 0), dpsim_featfile_features(ff, 1),
                        &d1, NULL, NULL) == DPSIM_OK);
    CHECK_MSG(memcmp(&d0, &d1, sizeof d0) == 0, "%.17g vs %.17g", d0, d1);
    /* written again from what was read: the same bytes */
    char again[512];
    tmp_path(again, sizeof again, "again.dpf");
    dpsim_features *g[3];
    for (int i = 0; i < 3; i++)
        g[i] = (dpsim_features *)dpsim_featfile_features(ff, (size_t)i);
    write_set(ctx, m, again, "size=40x33", g, names, 3);
    size_t la = 0, lb = 0;
    uint8_t *a = slurp(path, &la), *b = slurp(again, &lb);
    CHECK(a && b && la == lb && memcmp(a, b, la) == 0);
    free(a);
    free(b);
    dpsim_featfile_free(ff);
    for (int i = 0; i < 3; i++)
        dpsim_features_free(f[i]);
}

static void expect_check_fails(dpsim_ctx *ctx, const char *path, const dpsim_model *other,
                               const char *words)
{
    dpsim_featfile *ff = NULL;
    CHECK(dpsim_featfile_read(ctx, path, &ff) == DPSIM_OK);
    CHECK(dpsim_featfile_check(ctx, ff, other) == DPSIM_E_INVAL);
    CHECK_MSG(strstr(dpsim_ctx_last_error(ctx), words) != NULL, "'%s' lacks '%s'",
              dpsim_ctx_last_error(ctx), words);
    /* and the library itself refuses to compare them */
    double d;
    dpsim_features *f = extract_gen(ctx, other, 1, 40, 33);
    CHECK(dpsim_compare(ctx, other, dpsim_featfile_features(ff, 0), f, &d, NULL, NULL) ==
          DPSIM_E_INVAL);
    dpsim_features_free(f);
    dpsim_featfile_free(ff);
}

static void test_mismatch(dpsim_ctx *ctx, const char *path, const char *trunk2, const char *trunk)
{
    dpsim_model *other = load(ctx, trunk2, NULL, 0);
    expect_check_fails(ctx, path, other, "trunk weights");
    dpsim_model_free(other);
    other = load(ctx, trunk, "1,4", 0);
    expect_check_fails(ctx, path, other, "taps=1,4,7,9,10,11,12");
    dpsim_model_free(other);
    other = load(ctx, trunk, NULL, 1);
    expect_check_fails(ctx, path, other, "LPIPS version 0.1");
    dpsim_model_free(other);
}

static void test_writer(dpsim_ctx *ctx, const dpsim_model *m, const dpsim_model *other)
{
    char path[512];
    tmp_path(path, sizeof path, "w.dpf");
    dpsim_featfile_writer *w = NULL;
    CHECK(dpsim_featfile_writer_open(ctx, path, m, NULL, &w) == DPSIM_OK);
    dpsim_features *f = extract_gen(ctx, other, 1, 20, 20);
    CHECK(dpsim_featfile_writer_add(ctx, w, "x", f) == DPSIM_E_INVAL);
    CHECK(dpsim_featfile_writer_add(ctx, w, "", f) == DPSIM_E_LIMIT);
    dpsim_featfile_writer_abort(w);
    CHECK(access(path, F_OK) != 0); /* nothing left behind */
    dpsim_features_free(f);
    CHECK(dpsim_featfile_writer_open(ctx, tmpdir, m, NULL, &w) == DPSIM_E_IO);
}

static void test_damage(dpsim_ctx *ctx, const char *path)
{
    size_t len = 0;
    uint8_t *data = slurp(path, &len);
    CHECK(data != NULL);
    if (!data)
        return;
    dpsim_featfile *ff = NULL;
    for (size_t n = 0; n < len; n += 1 + n / 64) { /* every short prefix, then sparser */
        dpsim_status s = dpsim_featfile_read_memory(ctx, data, n, "t", &ff);
        CHECK_MSG(s == DPSIM_E_FORMAT && ff == NULL, "prefix %zu: %d", n, (int)s);
    }
    uint8_t *copy = malloc(len + 1);
    memcpy(copy, data, len);
    copy[len] = 0;
    CHECK(dpsim_featfile_read_memory(ctx, copy, len + 1, "t", &ff) == DPSIM_E_FORMAT);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "after the last record") != NULL);
    static const struct { size_t off; uint8_t value; dpsim_status want; const char *words; } damage[] = {
        {0, 'X', DPSIM_E_FORMAT, "not a dpsim feature file"},
        {FF_OFF_VERSION, 2, DPSIM_E_UNSUPPORTED, "format version 2"},
        {FF_OFF_HEADER_SIZE, 1, DPSIM_E_FORMAT, "header size"},
        {FF_OFF_NET, 9, DPSIM_E_FORMAT, "not a known net"},
        {FF_OFF_FLAGS, 8, DPSIM_E_FORMAT, "flags"},
        {FF_OFF_N_TAPS, 0, DPSIM_E_FORMAT, "taps"},
        {FF_OFF_N_RECORDS + 7, 0x40, DPSIM_E_FORMAT, "records claimed"},
        {FF_OFF_TRUNK_SHA, 'G', DPSIM_E_FORMAT, "trunk sha256"},
        {FF_FIXED_SIZE, 32, DPSIM_E_FORMAT, "tap 0 has index 32"},
        {FF_FIXED_SIZE + 4, 65, DPSIM_E_FORMAT, "channels"},
    };
    for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
        memcpy(copy, data, len);
        copy[damage[i].off] = damage[i].value;
        dpsim_status s = dpsim_featfile_read_memory(ctx, copy, len, "t", &ff);
        CHECK_MSG(s == damage[i].want && ff == NULL, "damage %zu: status %d", i, (int)s);
        CHECK_MSG(strstr(dpsim_ctx_last_error(ctx), damage[i].words) != NULL, "'%s' lacks '%s'",
                  dpsim_ctx_last_error(ctx), damage[i].words);
    }
    CHECK(dpsim_featfile_read(ctx, "/nonexistent/x.dpf", &ff) == DPSIM_E_IO);
    free(copy);
    free(data);
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        return 1;
    char trunk[512], trunk2[512], path[512];
    tmp_path(trunk, sizeof trunk, "squeeze.safetensors");
    tmp_path(trunk2, sizeof trunk2, "squeeze2.safetensors");
    tmp_path(path, sizeof path, "set.dpf");
    write_trunk(DPSIM_NET_SQUEEZE, 5, trunk);
    write_trunk(DPSIM_NET_SQUEEZE, 6, trunk2);
    dpsim_ctx *ctx;
    CHECK(dpsim_ctx_create(&ctx, NULL) == DPSIM_OK);
    dpsim_model *m = load(ctx, trunk, NULL, 0), *m2 = load(ctx, trunk2, NULL, 0);
    if (m && m2) {
        test_round_trip(ctx, m, path);
        test_mismatch(ctx, path, trunk2, trunk);
        test_writer(ctx, m, m2);
        test_damage(ctx, path);
    }
    dpsim_model_free(m);
    dpsim_model_free(m2);
    dpsim_ctx_free(ctx);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    CHECK(system(cmd) == 0);
    return check_report();
}
