/*
 * test_eval.c - the scorers against hand-computed cases, the .npy and CSV
 * readers (good and hostile inputs), the BAPPS folder listing, and the
 * fixtures' known scores through the real SqueezeNet when weights exist.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dpsim/dpsim.h"
#include "check.h"

static void test_2afc(void)
{
    /* d1 < d0 -> h; d0 < d1 -> 1 - h; equal -> 0.5 */
    const double d0[4] = {1.0, 0.2, 0.5, 0.3}, d1[4] = {0.5, 0.4, 0.5, 0.1};
    const double h[4] = {0.8, 0.25, 0.9, 0.0};
    double s = -1;
    CHECK(dpsim_score_2afc(d0, d1, h, 4, &s) == DPSIM_OK);
    CHECK_REL(s, (0.8 + 0.75 + 0.5 + 0.0) / 4, 1e-15, 1e-15);
    /* all ties: 0.5 whatever the judges said */
    const double same[3] = {0.7, 0.7, 0.7}, hs[3] = {0.0, 1.0, 0.3};
    CHECK(dpsim_score_2afc(same, same, hs, 3, &s) == DPSIM_OK && s == 0.5);
    /* every judgment the same (all prefer p1): score = fraction with d1 < d0 */
    const double a0[4] = {1, 1, 1, 1}, a1[4] = {0.5, 2, 0.1, 3}, ones[4] = {1, 1, 1, 1};
    CHECK(dpsim_score_2afc(a0, a1, ones, 4, &s) == DPSIM_OK && s == 0.5);
    CHECK(dpsim_score_2afc(d0, d1, h, 0, &s) == DPSIM_E_INVAL);
    const double bad_h[1] = {1.5}, nan_d[1] = {NAN};
    CHECK(dpsim_score_2afc(d0, d1, bad_h, 1, &s) == DPSIM_E_INVAL);
    CHECK(dpsim_score_2afc(nan_d, d1, h, 1, &s) == DPSIM_E_INVAL);
}

static void test_jnd(void)
{
    /* sorted: d .1 (same 1), .2 (0), .3 (1): TP 1,1,2 FP 0,1,1; P 1, .5, 2/3; R .5,.5,1
       VOC: precision from the right: [1, 1, 2/3, 2/3, 0] -> .5*1 + .5*(2/3) */
    const double d[3] = {0.3, 0.1, 0.2}, same[3] = {1, 1, 0};
    double ap = -1;
    CHECK(dpsim_score_jnd(d, same, 3, &ap) == DPSIM_OK);
    CHECK_REL(ap, 0.5 + 0.5 * 2.0 / 3.0, 1e-15, 1e-15);
    /* perfect order: AP 1 */
    const double d2[4] = {1, 2, 3, 4}, s2[4] = {1, 1, 0, 0};
    CHECK(dpsim_score_jnd(d2, s2, 4, &ap) == DPSIM_OK && fabs(ap - 1.0) < 1e-15);
    /* ties keep input order: equal distances, same first then not -> 1; reversed -> lower */
    const double dt[2] = {1, 1}, st1[2] = {1, 0}, st2[2] = {0, 1};
    double ap1, ap2;
    CHECK(dpsim_score_jnd(dt, st1, 2, &ap1) == DPSIM_OK && ap1 == 1.0);
    CHECK(dpsim_score_jnd(dt, st2, 2, &ap2) == DPSIM_OK && fabs(ap2 - 0.5) < 1e-15);
    /* fractional judgments: one pair, same .4 -> P .4, R 1 -> AP .4 */
    const double one_d[1] = {0.5}, one_s[1] = {0.4};
    CHECK(dpsim_score_jnd(one_d, one_s, 1, &ap) == DPSIM_OK && fabs(ap - 0.4) < 1e-15);
    const double none[2] = {0, 0};
    CHECK(dpsim_score_jnd(d2, none, 2, &ap) == DPSIM_E_INVAL);
    CHECK(dpsim_score_jnd(d2, s2, 0, &ap) == DPSIM_E_INVAL);
}

static void test_mos(dpsim_ctx *ctx)
{
    /* monotone decreasing: SROCC = KROCC = -1; logistic fits exactly a logistic MOS */
    double d[8], mos[8];
    for (int i = 0; i < 8; i++) {
        d[i] = 0.1 * i;
        mos[i] = (1.0 - 5.0) / (1.0 + exp(-(d[i] - 0.35) / 0.1)) + 5.0;
    }
    dpsim_mos_stats st;
    CHECK(dpsim_score_mos(ctx, d, mos, 8, &st) == DPSIM_OK);
    CHECK_REL(st.srocc, -1.0, 1e-12, 1e-12);
    CHECK_REL(st.krocc, -1.0, 1e-12, 1e-12);
    CHECK_MSG(fabs(st.plcc - 1.0) < 1e-9, "plcc %.12g, fit %g %g %g %g", st.plcc, st.logistic[0],
              st.logistic[1], st.logistic[2], st.logistic[3]);
    CHECK_REL(st.logistic[2], 0.35, 1e-6, 1e-6);
    /* hand case: x = 1,2,3,4; y = 1,3,2,4: Spearman 0.8, Kendall (5-1)/6 */
    const double x[4] = {1, 2, 3, 4}, y[4] = {1, 3, 2, 4};
    CHECK(dpsim_score_mos(ctx, x, y, 4, &st) == DPSIM_OK);
    CHECK_REL(st.srocc, 0.8, 1e-12, 1e-12);
    CHECK_REL(st.krocc, 4.0 / 6.0, 1e-12, 1e-12);
    /* ties: average ranks; x = 1,1,2,3 y = 1,2,3,4 -> ranks 1.5,1.5,3,4 vs 1..4 */
    const double xt[4] = {1, 1, 2, 3};
    CHECK(dpsim_score_mos(ctx, xt, x, 4, &st) == DPSIM_OK);
    CHECK_REL(st.srocc, 4.5 / sqrt(4.5 * 5.0), 1e-12, 1e-12);
    CHECK_REL(st.krocc, 5.0 / sqrt(5.0 * 6.0), 1e-12, 1e-12);
    const double flat[4] = {2, 2, 2, 2};
    CHECK(dpsim_score_mos(ctx, flat, y, 4, &st) == DPSIM_E_INVAL);
    CHECK(dpsim_score_mos(ctx, x, y, 3, &st) == DPSIM_E_INVAL);
}

/* SROCC, KROCC and PLCC against SciPy (tools/scripts/make_mos_vectors.py) */
static void test_mos_vectors(dpsim_ctx *ctx, const char *root)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/eval/mos_vectors.txt", root);
    FILE *fp = fopen(path, "r");
    CHECK(fp != NULL);
    char line[256];
    int sets = 0;
    while (fp && fgets(line, sizeof line, fp)) {
        size_t n;
        if (sscanf(line, "set %zu", &n) != 1)
            continue;
        double d[64], mos[64], want[3];
        for (size_t i = 0; i < n && i < 64; i++)
            CHECK(fgets(line, sizeof line, fp) && sscanf(line, "%lf %lf", &d[i], &mos[i]) == 2);
        CHECK(fgets(line, sizeof line, fp) &&
              sscanf(line, "stats %lf %lf %lf", &want[0], &want[1], &want[2]) == 3);
        dpsim_mos_stats st;
        CHECK(n <= 64 && dpsim_score_mos(ctx, d, mos, n, &st) == DPSIM_OK);
        CHECK_REL(st.srocc, want[0], 1e-9, 1e-9);
        CHECK_REL(st.krocc, want[1], 1e-9, 1e-9);
        CHECK_REL(st.plcc, want[2], 1e-6, 1e-6); /* two least-squares fits */
        sets++;
    }
    CHECK(sets == 3);
    if (fp)
        fclose(fp);
}

/* an .npy file in memory: header dict text, then data bytes */
static size_t make_npy(uint8_t *buf, const char *dict, const void *data, size_t n)
{
    size_t hl = strlen(dict);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)hl;
    buf[9] = 0;
    memcpy(buf + 10, dict, hl);
    memcpy(buf + 10 + hl, data, n);
    return 10 + hl + n;
}

static void test_npy(dpsim_ctx *ctx)
{
    uint8_t buf[512];
    double v[4];
    size_t n = 0;
    float f = 0.625f;
    double dd = 0.375;
    size_t len = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n",
                          &f, 4);
    CHECK(dpsim_npy_parse(ctx, buf, len, "a", v, 4, &n) == DPSIM_OK && n == 1 && v[0] == 0.625);
    len = make_npy(buf, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }\n", &dd, 8);
    CHECK(dpsim_npy_parse(ctx, buf, len, "b", v, 4, &n) == DPSIM_OK && n == 1 && v[0] == 0.375);
    uint16_t half = 0x3800; /* 0.5 */
    len = make_npy(buf, "{'descr': '<f2', 'fortran_order': False, 'shape': (1, 1), }\n", &half,
                   2);
    CHECK(dpsim_npy_parse(ctx, buf, len, "c", v, 4, &n) == DPSIM_OK && n == 1 && v[0] == 0.5);
    /* hostile: truncated data, too many values, Fortran order, bad dtype, bad magic */
    len = make_npy(buf, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n", &dd, 4);
    CHECK(dpsim_npy_parse(ctx, buf, len, "t", v, 4, &n) == DPSIM_E_FORMAT);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "truncated") != NULL);
    len = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999,), }",
                   &f, 4);
    CHECK(dpsim_npy_parse(ctx, buf, len, "big", v, 4, &n) == DPSIM_E_LIMIT);
    len = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': "
                   "(99999999999,99999999999,99999999999), }", &f, 4);
    CHECK(dpsim_npy_parse(ctx, buf, len, "ovf", v, 4, &n) == DPSIM_E_FORMAT);
    len = make_npy(buf, "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", &f, 4);
    CHECK(dpsim_npy_parse(ctx, buf, len, "F", v, 4, &n) == DPSIM_E_FORMAT);
    len = make_npy(buf, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", &f, 4);
    CHECK(dpsim_npy_parse(ctx, buf, len, "be", v, 4, &n) == DPSIM_E_FORMAT);
    buf[8] = 200; /* header longer than the file */
    CHECK(dpsim_npy_parse(ctx, buf, len, "hl", v, 4, &n) == DPSIM_E_FORMAT);
    CHECK(dpsim_npy_parse(ctx, "PK\3\4", 4, "zip", v, 4, &n) == DPSIM_E_FORMAT);
    CHECK(dpsim_npy_read(ctx, "/nonexistent/x.npy", v, 4, &n) == DPSIM_E_IO);
}

static void test_csv(dpsim_ctx *ctx)
{
    static const char *const cols[2] = {"b", "a"};
    const char text[] = "# comment\na,b,c\r\n1,\"x,\"\"y\"\"\",3\n\n4,5,6\n";
    dpsim_csv *t;
    CHECK(dpsim_csv_parse(ctx, text, strlen(text), "t", cols, 2, &t) == DPSIM_OK);
    CHECK(dpsim_csv_rows(t) == 2);
    CHECK(strcmp(dpsim_csv_field(t, 0, 0), "x,\"y\"") == 0);
    CHECK(strcmp(dpsim_csv_field(t, 0, 1), "1") == 0);
    CHECK(strcmp(dpsim_csv_field(t, 1, 0), "5") == 0 && dpsim_csv_line(t, 1) == 5);
    CHECK(dpsim_csv_field(t, 2, 0) == NULL);
    dpsim_csv_free(t);
    const char missing[] = "a,c\n1,2\n", ragged[] = "a,b\n1\n", quote[] = "a,b\n\"1,2\n";
    CHECK(dpsim_csv_parse(ctx, missing, strlen(missing), "m", cols, 2, &t) == DPSIM_E_FORMAT);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "no column 'b'") != NULL);
    CHECK(dpsim_csv_parse(ctx, ragged, strlen(ragged), "r", cols, 2, &t) == DPSIM_E_FORMAT);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "line 2") != NULL);
    CHECK(dpsim_csv_parse(ctx, quote, strlen(quote), "q", cols, 2, &t) == DPSIM_E_FORMAT);
    CHECK(dpsim_csv_parse(ctx, "", 0, "e", cols, 2, &t) == DPSIM_E_FORMAT);
}

static void test_dataset(dpsim_ctx *ctx, const char *root)
{
    char dir[1024];
    dpsim_dataset *ds;
    snprintf(dir, sizeof dir, "%s/tests/eval/fixtures/2afc", root);
    CHECK(dpsim_dataset_open(ctx, DPSIM_DATASET_2AFC, dir, &ds) == DPSIM_OK);
    CHECK(dpsim_dataset_size(ds) == 10 && dpsim_dataset_n_categories(ds) == 3);
    CHECK(strcmp(dpsim_dataset_category(ds, 0), "val/p0_is_ref") == 0);
    CHECK(strcmp(dpsim_dataset_category(ds, 2), "val/ties") == 0);
    dpsim_dataset_item it;
    CHECK(dpsim_dataset_item_get(ds, 1, &it) == DPSIM_OK && it.judge == 0.25 &&
          strstr(it.p1, "p0_is_ref/p1/000001.png") && it.ref);
    /* scoring from given distances: p0_is_ref with d0 = 0 < d1 gives its known score */
    double dist[20], per[3], overall, pooled;
    for (int i = 0; i < 10; i++) {
        dpsim_dataset_item_get(ds, (size_t)i, &it);
        dist[2 * i] = it.category == 0 ? 0.0 : it.category == 1 ? 1.0 : 0.5;
        dist[2 * i + 1] = it.category == 0 ? 1.0 : it.category == 1 ? 0.0 : 0.5;
    }
    CHECK(dpsim_dataset_score(ctx, ds, dist, per, &overall, &pooled) == DPSIM_OK);
    CHECK_REL(per[0], 0.5375, 1e-7, 1e-7); /* judgments stored as float32 */
    CHECK(per[1] == 1.0 && per[2] == 0.5);
    CHECK_REL(pooled, 0.665, 1e-7, 1e-7);
    dpsim_dataset_free(ds);
    /* one category given directly; JND layout; the wrong kind; an empty folder */
    snprintf(dir, sizeof dir, "%s/tests/eval/fixtures/2afc/val/ties", root);
    CHECK(dpsim_dataset_open(ctx, DPSIM_DATASET_2AFC, dir, &ds) == DPSIM_OK);
    CHECK(dpsim_dataset_n_categories(ds) == 1 && strcmp(dpsim_dataset_category(ds, 0), ".") == 0);
    dpsim_dataset_free(ds);
    snprintf(dir, sizeof dir, "%s/tests/eval/fixtures/jnd", root);
    CHECK(dpsim_dataset_open(ctx, DPSIM_DATASET_JND, dir, &ds) == DPSIM_OK);
    CHECK(dpsim_dataset_size(ds) == 6 && dpsim_dataset_item_get(ds, 0, &it) == DPSIM_OK &&
          !it.ref && it.judge == 1.0);
    dpsim_dataset_free(ds);
    CHECK(dpsim_dataset_open(ctx, DPSIM_DATASET_2AFC, dir, &ds) == DPSIM_E_NOT_FOUND);
    char tmp[] = "/tmp/dpsim-eval-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    CHECK(dpsim_dataset_open(ctx, DPSIM_DATASET_2AFC, tmp, &ds) == DPSIM_E_NOT_FOUND);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "no 2AFC category") != NULL);
    char sub[1100];
    const char *const subs[] = {"p0", "p1", "ref", "judge"};
    for (int k = 0; k < 4; k++) {
        snprintf(sub, sizeof sub, "%s/%s", tmp, subs[k]);
        mkdir(sub, 0700);
    }
    CHECK(dpsim_dataset_open(ctx, DPSIM_DATASET_2AFC, tmp, &ds) == DPSIM_E_NOT_FOUND);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "no images") != NULL);
    for (int k = 0; k < 4; k++) {
        snprintf(sub, sizeof sub, "%s/%s", tmp, subs[k]);
        rmdir(sub);
    }
    rmdir(tmp);
}

/* the fixtures' scores through the real SqueezeNet equal the designed ones */
static void test_fixture_scores(dpsim_ctx *ctx, const char *root)
{
    dpsim_model_options opt;
    dpsim_model_options_init(&opt);
    dpsim_model *m;
    if (dpsim_model_load(ctx, &opt, &m) != DPSIM_OK) {
        printf("weights not found: fixture scores skipped\n");
        return;
    }
    char dir[1024];
    dpsim_dataset *ds;
    snprintf(dir, sizeof dir, "%s/tests/eval/fixtures/jnd", root);
    CHECK(dpsim_dataset_open(ctx, DPSIM_DATASET_JND, dir, &ds) == DPSIM_OK);
    double d[6], per[1], overall, pooled;
    CHECK(dpsim_dataset_distances(ctx, m, ds, d, NULL, NULL) == DPSIM_OK);
    CHECK(d[0] == 0.0 && d[1] == 0.0 && d[2] < d[3] && d[3] < d[4] && d[4] < d[5]);
    CHECK(dpsim_dataset_score(ctx, ds, d, per, &overall, &pooled) == DPSIM_OK);
    /* same = 1, .8, .6, 0, .3, 0 in that order: AP by hand (see make_bapps_fixtures.py) */
    const double same[6] = {1, .8, .6, 0, .3, 0};
    double tp = 0, fp = 0, tot = 2.7, prec[6], rec[6], ap = 0;
    for (int i = 0; i < 6; i++) {
        tp += same[i];
        fp += 1 - same[i];
        prec[i] = tp / (tp + fp);
        rec[i] = tp / tot;
    }
    for (int i = 4; i >= 0; i--)
        prec[i] = fmax(prec[i], prec[i + 1]);
    for (int i = 0; i < 6; i++)
        ap += (rec[i] - (i ? rec[i - 1] : 0)) * prec[i];
    CHECK_REL(per[0], ap, 1e-7, 1e-7); /* judgments stored as float32 */
    dpsim_dataset_free(ds);
    dpsim_model_free(m);
}

int main(void)
{
    const char *root = getenv("DPSIM_SOURCE_ROOT");
    dpsim_ctx *ctx;
    if (!root || dpsim_ctx_create(&ctx, NULL) != DPSIM_OK)
        return 1;
    test_2afc();
    test_jnd();
    test_mos(ctx);
    test_mos_vectors(ctx, root);
    test_npy(ctx);
    test_csv(ctx);
    test_dataset(ctx, root);
    test_fixture_scores(ctx, root);
    dpsim_ctx_free(ctx);
    return check_report();
}
