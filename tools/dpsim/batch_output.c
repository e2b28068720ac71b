/*
 * batch_output.c - text, CSV and JSON writers for batch results (see
 * batch_output.h). Numbers: %.9g in text and CSV, %.17g (round-trip) in JSON.
 */
#include "batch_output.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int out_format_parse(const char *s, out_format *out)
{
    static const char *const names[] = {"text", "csv", "json"};
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (out_format)i;
            return 1;
        }
    return 0;
}

void summary_compute(const batch *b, summary *s)
{
    memset(s, 0, sizeof *s);
    double sum = 0.0, inv = 0.0;
    for (size_t i = 0; i < b->n_pairs; i++) {
        if (b->pairs[i].error)
            continue;
        double d = b->pairs[i].distance;
        if (s->count == 0 || d < s->min)
            s->min = d;
        if (s->count == 0 || d > s->max)
            s->max = d;
        sum += d;
        inv += 1.0 / (1.0 + d);
        s->count++;
    }
    if (s->count == 0)
        return;
    s->mean = sum / (double)s->count;
    double sq = 0.0;
    for (size_t i = 0; i < b->n_pairs; i++)
        if (!b->pairs[i].error)
            sq += (b->pairs[i].distance - s->mean) * (b->pairs[i].distance - s->mean);
    s->std = sqrt(sq / (double)s->count);
    s->harmonic_mean = (double)s->count / inv - 1.0;
}

void csv_string(FILE *fp, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

void tap_name(const dpsim_model *model, int i, char *out, size_t len)
{
    int index;
    dpsim_model_tap(model, i, &index, NULL);
    if (index < 0)
        snprintf(out, len, "pixel");
    else
        snprintf(out, len, "features.%d", index);
}

// ---- pairs ----

static void summary_text(FILE *fp, const summary *s)
{
    fprintf(fp, "# count %zu", s->count);
    if (s->count)
        fprintf(fp, "  mean %.9g  std %.9g  min %.9g  max %.9g  harmonic_mean %.9g", s->mean,
                s->std, s->min, s->max, s->harmonic_mean);
    fputc('\n', fp);
}

static void summary_json(FILE *fp, const summary *s)
{
    fprintf(fp, "\"summary\":{\"count\":%zu", s->count);
    if (s->count)
        fprintf(fp, ",\"mean\":%.17g,\"std\":%.17g,\"min\":%.17g,\"max\":%.17g,"
                "\"harmonic_mean\":%.17g", s->mean, s->std, s->min, s->max, s->harmonic_mean);
    else
        fputs(",\"mean\":null,\"std\":null,\"min\":null,\"max\":null,\"harmonic_mean\":null", fp);
    fputc('}', fp);
}

static void json_header(FILE *fp, const batch *b, const run_info *info)
{
    fprintf(fp, "{\"mode\":\"%s\",\"dpsim_version\":\"%s\",\"provenance\":", info->mode,
            dpsim_version_string());
    json_string(fp, info->provenance);
    fprintf(fp, ",\"extractions\":%ld,\"unmatched\":%zu,", b->extractions, info->unmatched);
}

static void json_failed(FILE *fp, const batch *b)
{
    fputs(",\"failed\":[", fp);
    int first = 1;
    for (size_t i = 0; i < b->n_pairs; i++) {
        const batch_pair *p = &b->pairs[i];
        if (!p->error)
            continue;
        fputs(first ? "{\"a\":" : ",{\"a\":", fp);
        json_string(fp, b->items[p->a].name);
        fputs(",\"b\":", fp);
        json_string(fp, b->items[p->b].name);
        fputs(",\"error\":", fp);
        json_string(fp, p->error);
        fputc('}', fp);
        first = 0;
    }
    fputc(']', fp);
}

static void row_text(FILE *fp, const batch *b, const batch_pair *p, int n_taps)
{
    fprintf(fp, "%.9g  %s  %s", p->distance, b->items[p->a].name, b->items[p->b].name);
    for (int t = 0; p->per_tap && t < n_taps; t++) {
        char name[32];
        tap_name(b->model, t, name, sizeof name);
        fprintf(fp, "  %s=%.9g", name, p->per_tap[t]);
    }
    if (p->map_path)
        fprintf(fp, "  map=%s", p->map_path);
    fputc('\n', fp);
}

static void row_csv(FILE *fp, const batch *b, const batch_pair *p, int n_taps)
{
    csv_string(fp, b->items[p->a].name);
    fputc(',', fp);
    csv_string(fp, b->items[p->b].name);
    fprintf(fp, ",%.9g", p->distance);
    for (int t = 0; b->per_tap && t < n_taps; t++)
        fprintf(fp, ",%.9g", p->per_tap[t]);
    if (b->maps_dir) {
        fputc(',', fp);
        csv_string(fp, p->map_path);
    }
    fputs("\r\n", fp);
}

static void row_json(FILE *fp, const batch *b, const batch_pair *p, int n_taps)
{
    fputs("{\"a\":", fp);
    json_string(fp, b->items[p->a].name);
    fputs(",\"b\":", fp);
    json_string(fp, b->items[p->b].name);
    fprintf(fp, ",\"distance\":%.17g", p->distance);
    if (p->per_tap) {
        fputs(",\"per_layer\":{", fp);
        for (int t = 0; t < n_taps; t++) {
            char name[32];
            tap_name(b->model, t, name, sizeof name);
            fprintf(fp, "%s\"%s\":%.17g", t ? "," : "", name, p->per_tap[t]);
        }
        fputc('}', fp);
    }
    if (p->map_path) {
        fputs(",\"map\":", fp);
        json_string(fp, p->map_path);
    }
    fputc('}', fp);
}

/* After the rows: the summary (text), or the array's end, the failures and the summary (JSON). */
static void footer(FILE *fp, const batch *b, out_format f, const summary *s)
{
    if (f == FORMAT_TEXT) {
        summary_text(fp, s);
    } else if (f == FORMAT_JSON) {
        fputc(']', fp);
        json_failed(fp, b);
        fputc(',', fp);
        summary_json(fp, s);
        fputs("}\n", fp);
    }
}

void output_pairs(FILE *fp, const batch *b, out_format f, const run_info *info)
{
    const int n_taps = dpsim_model_n_taps(b->model);
    summary s;
    summary_compute(b, &s);
    if (f == FORMAT_CSV) {
        fputs("a,b,distance", fp);
        for (int t = 0; b->per_tap && t < n_taps; t++) {
            char name[32];
            tap_name(b->model, t, name, sizeof name);
            fprintf(fp, ",%s", name);
        }
        fputs(b->maps_dir ? ",map\r\n" : "\r\n", fp);
    } else if (f == FORMAT_JSON) {
        json_header(fp, b, info);
        fputs("\"pairs\":[", fp);
    }
    int first = 1;
    for (size_t i = 0; i < b->n_pairs; i++) {
        const batch_pair *p = &b->pairs[i];
        if (p->error)
            continue;
        if (f == FORMAT_TEXT)
            row_text(fp, b, p, n_taps);
        else if (f == FORMAT_CSV)
            row_csv(fp, b, p, n_taps);
        else {
            if (!first)
                fputc(',', fp);
            row_json(fp, b, p, n_taps);
        }
        first = 0;
    }
    footer(fp, b, f, &s);
}

// ---- matrix ----

/* (n, n) distances by item, NaN where a pair failed, 0 on the diagonal. */
static double *matrix_of(const batch *b)
{
    size_t n = b->n_items;
    double *m = malloc((n ? n * n : 1) * sizeof *m);
    if (!m)
        return NULL;
    for (size_t i = 0; i < n * n; i++)
        m[i] = i % (n + 1) == 0 ? 0.0 : NAN;
    for (size_t i = 0; i < b->n_pairs; i++) {
        const batch_pair *p = &b->pairs[i];
        if (!p->error)
            m[p->a * n + p->b] = m[p->b * n + p->a] = p->distance;
    }
    return m;
}

int output_matrix(FILE *fp, const batch *b, out_format f, const run_info *info)
{
    const size_t n = b->n_items;
    double *m = matrix_of(b);
    if (!m) {
        cli_error("out of memory for a %zux%zu matrix", n, n);
        return EXIT_DATA;
    }
    summary s;
    summary_compute(b, &s);
    if (f == FORMAT_JSON) {
        json_header(fp, b, info);
        fputs("\"names\":[", fp);
        for (size_t i = 0; i < n; i++) {
            if (i)
                fputc(',', fp);
            json_string(fp, b->items[i].name);
        }
        fputs("],\"matrix\":[", fp);
    } else if (f == FORMAT_CSV) {
        fputs("name", fp);
        for (size_t i = 0; i < n; i++) {
            fputc(',', fp);
            csv_string(fp, b->items[i].name);
        }
        fputs("\r\n", fp);
    }
    for (size_t i = 0; i < n; i++) {
        if (f == FORMAT_JSON)
            fputs(i ? ",[" : "[", fp);
        else if (f == FORMAT_CSV)
            csv_string(fp, b->items[i].name);
        for (size_t j = 0; j < n; j++) {
            double d = m[i * n + j];
            /* CSV rows start with the name, so every value has a comma before it */
            const char *sep = f == FORMAT_CSV ? "," : j == 0 ? "" : f == FORMAT_TEXT ? " " : ",";
            if (isnan(d))
                fprintf(fp, "%s%s", sep, f == FORMAT_JSON ? "null" : f == FORMAT_TEXT ? "-" : "");
            else
                fprintf(fp, f == FORMAT_JSON ? "%s%.17g" : "%s%.9g", sep, d);
        }
        if (f == FORMAT_JSON)
            fputc(']', fp);
        else if (f == FORMAT_CSV)
            fputs("\r\n", fp);
        else
            fprintf(fp, "  %s\n", b->items[i].name);
    }
    footer(fp, b, f, &s);
    free(m);
    return EXIT_OK;
}

int output_commit(dpsim_ctx *ctx, const char *path, const char *buf, size_t len)
{
    if (!path || strcmp(path, "-") == 0) {
        if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
            cli_error("standard output: write failed");
            return EXIT_DATA;
        }
        return EXIT_OK;
    }
    dpsim_status s = dpsim_file_write_atomic(ctx, path, buf, len);
    return s == DPSIM_OK ? EXIT_OK : cli_fail(ctx, s, "output");
}
