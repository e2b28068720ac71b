/*
 * csv.c - a small, defensive CSV reader for the MOS and triplet lists:
 * header row with column names, quoted fields, every row as wide as the
 * header, sizes bounded before allocation.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/ctx.h"
#include "core/fileio.h"

#define CSV_MAX_BYTES ((size_t)16 << 20)
#define CSV_MAX_ROWS ((size_t)10000000)
#define CSV_MAX_FIELDS 256

struct dpsim_csv {
    int n_cols;       /* requested columns */
    size_t n_rows;
    char **cell;      /* (n_rows, n_cols), each a NUL-terminated copy */
    size_t *line;     /* (n_rows) 1-based line numbers */
};

typedef struct cursor {
    const char *p, *end;
    size_t line;
} cursor;

/* One field into out (cap bytes); stops at ',' or end of line. Returns 0 on a bad quote. */
static int read_field(cursor *c, char *out, size_t cap, size_t *len)
{
    size_t n = 0;
    int ok = 1;
    if (c->p < c->end && *c->p == '"') {
        c->p++;
        for (;;) {
            if (c->p >= c->end)
                return 0;
            if (*c->p == '"') {
                if (c->p + 1 < c->end && c->p[1] == '"') {
                    c->p++;
                } else {
                    c->p++;
                    break;
                }
            } else if (*c->p == '\n') {
                c->line++;
            }
            if (n + 1 < cap)
                out[n++] = *c->p;
            else
                ok = 0;
            c->p++;
        }
        if (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
            return 0;
    } else {
        while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') {
            if (*c->p == '"' || *c->p == '\0')
                return 0;
            if (n + 1 < cap)
                out[n++] = *c->p;
            else
                ok = 0;
            c->p++;
        }
    }
    out[n] = '\0';
    *len = n;
    return ok;
}

/* Fields of one line into fields[] (copies in buf); returns the count or -1 on error. */
static int read_line(cursor *c, char *buf, size_t cap, char **fields, int max)
{
    int n = 0;
    size_t used = 0;
    for (;;) {
        size_t len;
        if (n == max || used >= cap || !read_field(c, buf + used, cap - used, &len))
            return -1;
        fields[n++] = buf + used;
        used += len + 1;
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == '\r')
            c->p++;
        if (c->p < c->end && *c->p == '\n')
            c->p++;
        else if (c->p < c->end)
            return -1;
        c->line++;
        return n;
    }
}

static int skippable(const cursor *c)
{
    return *c->p == '#' || *c->p == '\n' || *c->p == '\r';
}

static void skip_line(cursor *c)
{
    while (c->p < c->end && *c->p != '\n')
        c->p++;
    if (c->p < c->end)
        c->p++;
    c->line++;
}

void dpsim_csv_free(dpsim_csv *csv)
{
    if (!csv)
        return;
    for (size_t i = 0; i < csv->n_rows * (size_t)csv->n_cols; i++)
        dp_free(csv->cell[i]);
    dp_free(csv->cell);
    dp_free(csv->line);
    dp_free(csv);
}

static dpsim_status add_row(dpsim_csv *t, size_t *cap, char **fields, const int *map,
                            size_t line, errbuf *e)
{
    if (t->n_rows == *cap) {
        size_t ncap = *cap ? 2 * *cap : 64;
        char **cells = dp_realloc(t->cell, ncap * (size_t)t->n_cols * sizeof *cells);
        if (cells)
            t->cell = cells;
        size_t *lines = cells ? dp_realloc(t->line, ncap * sizeof *lines) : NULL;
        if (!lines)
            return err_set(e, DPSIM_E_NOMEM, "out of memory");
        t->line = lines;
        *cap = ncap;
    }
    char **row = t->cell + t->n_rows * (size_t)t->n_cols;
    for (int k = 0; k < t->n_cols; k++) {
        row[k] = dp_strdup(fields[map[k]]);
        if (!row[k]) {
            for (int j = 0; j < k; j++)
                dp_free(row[j]);
            return err_set(e, DPSIM_E_NOMEM, "out of memory");
        }
    }
    t->line[t->n_rows++] = line;
    return DPSIM_OK;
}

static dpsim_status parse(const char *text, size_t size, const char *name,
                          const char *const *columns, int n_columns, dpsim_csv *t, errbuf *e)
{
    cursor c = {text, text + size, 1};
    char *buf = dp_malloc(size + CSV_MAX_FIELDS + 1), *fields[CSV_MAX_FIELDS];
    if (!buf)
        return err_set(e, DPSIM_E_NOMEM, "out of memory");
    while (c.p < c.end && skippable(&c))
        skip_line(&c);
    int map[CSV_MAX_FIELDS], width = c.p < c.end ? read_line(&c, buf, size + CSV_MAX_FIELDS, fields,
                                                             CSV_MAX_FIELDS) : 0;
    dpsim_status s = DPSIM_OK;
    if (width <= 0)
        s = err_set(e, DPSIM_E_FORMAT, "csv '%s': no header row, expected column names", name);
    for (int k = 0; s == DPSIM_OK && k < n_columns; k++) {
        map[k] = -1;
        for (int f = 0; f < width; f++)
            if (strcmp(fields[f], columns[k]) == 0)
                map[k] = f;
        if (map[k] < 0)
            s = err_set(e, DPSIM_E_FORMAT, "csv '%s': no column '%s' in the header (line %zu)",
                        name, columns[k], c.line - 1);
    }
    size_t cap = 0;
    while (s == DPSIM_OK && c.p < c.end) {
        if (skippable(&c)) {
            skip_line(&c);
            continue;
        }
        size_t line = c.line;
        int n = read_line(&c, buf, size + CSV_MAX_FIELDS, fields, CSV_MAX_FIELDS);
        if (n != width)
            s = err_set(e, DPSIM_E_FORMAT, "csv '%s': line %zu has %s, expected %d fields like "
                        "the header", name, line, n < 0 ? "a malformed field" : "another width",
                        width);
        else if (t->n_rows == CSV_MAX_ROWS)
            s = err_set(e, DPSIM_E_LIMIT, "csv '%s': more than %zu rows", name, CSV_MAX_ROWS);
        else
            s = add_row(t, &cap, fields, map, line, e);
    }
    dp_free(buf);
    return s;
}

dpsim_status dpsim_csv_parse(dpsim_ctx *ctx, const void *data, size_t size, const char *name,
                             const char *const *columns, int n_columns, dpsim_csv **out)
{
    ctx_clear(ctx);
    if ((!data && size) || !columns || n_columns < 1 || n_columns > CSV_MAX_FIELDS || !out)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_csv_parse: invalid argument");
    if (size > CSV_MAX_BYTES)
        return ctx_fail(ctx, DPSIM_E_LIMIT, "csv '%s': larger than %zu bytes", name ? name : "",
                        CSV_MAX_BYTES);
    dpsim_csv *t = dp_calloc(1, sizeof *t);
    if (!t)
        return ctx_fail(ctx, DPSIM_E_NOMEM, "out of memory");
    t->n_cols = n_columns;
    errbuf e = {{0}};
    dpsim_status s = parse(data ? data : "", size, name ? name : "<memory>", columns, n_columns,
                           t, &e);
    if (s != DPSIM_OK) {
        dpsim_csv_free(t);
        return ctx_fail_err(ctx, s, &e);
    }
    *out = t;
    return DPSIM_OK;
}

dpsim_status dpsim_csv_read(dpsim_ctx *ctx, const char *path, const char *const *columns,
                            int n_columns, dpsim_csv **out)
{
    ctx_clear(ctx);
    if (!path)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_csv_read: NULL path");
    errbuf e = {{0}};
    uint8_t *buf;
    size_t size;
    dpsim_status s = file_read_all(path, CSV_MAX_BYTES, &buf, &size, &e);
    if (s != DPSIM_OK) {
        err_prefix(&e, "csv");
        return ctx_fail_err(ctx, s, &e);
    }
    s = dpsim_csv_parse(ctx, buf, size, path, columns, n_columns, out);
    dp_free(buf);
    return s;
}

size_t dpsim_csv_rows(const dpsim_csv *csv) { return csv ? csv->n_rows : 0; }

const char *dpsim_csv_field(const dpsim_csv *csv, size_t row, int col)
{
    if (!csv || row >= csv->n_rows || col < 0 || col >= csv->n_cols)
        return NULL;
    return csv->cell[row * (size_t)csv->n_cols + (size_t)col];
}

size_t dpsim_csv_line(const dpsim_csv *csv, size_t row)
{
    return csv && row < csv->n_rows ? csv->line[row] : 0;
}
