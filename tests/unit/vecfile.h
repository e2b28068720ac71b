/*
 * vecfile.h - reading the vector files of tests/vectors (doc/VECTORS.md):
 * one case a line of "key=value" tokens, and a table per test saying which
 * field of its case struct each key fills and how; the model keys every
 * file shares and the model options they give; the loop over a file's cases.
 */
#ifndef DPSIM_TESTS_VECFILE_H
#define DPSIM_TESTS_VECFILE_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dpsim/dpsim.h"

typedef enum vec_type {
    VEC_STR,   /* a char array, copied (truncated to its size) */
    VEC_INT,   /* an int (atoi) */
    VEC_REAL,  /* a double (strtod) */
    VEC_SIZE,  /* "WxH" into two ints */
    VEC_REALS, /* "x,y,..." into a double array and an int count */
} vec_type;

typedef struct vec_key {
    const char *key;
    vec_type type;
    size_t offset;  /* the field (VEC_SIZE: w) */
    size_t size;    /* VEC_STR: the array's size; VEC_REALS: its length */
    size_t offset2; /* VEC_SIZE: h; VEC_REALS: the count */
} vec_key;

#define VEC_FIELD_SIZE(type, field) sizeof(((type *)0)->field)
#define VEC_KEY_STR(key, type, field)                                                          \
    {key, VEC_STR, offsetof(type, field), VEC_FIELD_SIZE(type, field), 0}
#define VEC_KEY_INT(key, type, field) {key, VEC_INT, offsetof(type, field), 0, 0}
#define VEC_KEY_REAL(key, type, field) {key, VEC_REAL, offsetof(type, field), 0, 0}
#define VEC_KEY_SIZE(key, type, w, h) {key, VEC_SIZE, offsetof(type, w), 0, offsetof(type, h)}
#define VEC_KEY_REALS(key, type, field, count)                                                 \
    {key, VEC_REALS, offsetof(type, field),                                                    \
     VEC_FIELD_SIZE(type, field) / sizeof(double), offsetof(type, count)}
#define VEC_KEY_END {NULL, VEC_STR, 0, 0, 0}

/* Fill c from one line (changed in place) by the keys' table (ending with VEC_KEY_END);
   unknown keys are ignored. Returns 0 on a token without '='. */
static inline int vec_parse_case(char *line, const vec_key *keys, void *c)
{
    char *base = c;
    for (char *tok = strtok(line, " \n"); tok; tok = strtok(NULL, " \n")) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return 0;
        *eq = '\0';
        const char *v = eq + 1;
        const vec_key *k = keys;
        while (k->key && strcmp(k->key, tok) != 0)
            k++;
        if (!k->key)
            continue;
        char *f = base + k->offset;
        switch (k->type) {
        case VEC_STR: snprintf(f, k->size, "%s", v); break;
        case VEC_INT: *(int *)(void *)f = atoi(v); break;
        case VEC_REAL: *(double *)(void *)f = strtod(v, NULL); break;
        case VEC_SIZE: sscanf(v, "%dx%d", (int *)(void *)f, (int *)(void *)(base + k->offset2));
            break;
        case VEC_REALS: {
            double *x = (double *)(void *)f;
            int *n = (int *)(void *)(base + k->offset2);
            for (char *p = (char *)v; *p && *n < (int)k->size;) {
                x[(*n)++] = strtod(p, &p);
                if (*p == ',')
                    p++;
            }
            break;
        }
        }
    }
    return 1;
}

/* The model of a case. */
typedef struct vec_model {
    char net[16], version[8], trunk[32], method[16], taps[128];
    int lin, norm, pixel;
} vec_model;

/* The keys of a vec_model held in field m of type. */
#define VEC_MODEL_KEYS(type, m)                                                                \
    VEC_KEY_STR("net", type, m.net), VEC_KEY_STR("version", type, m.version),                 \
    VEC_KEY_STR("trunk", type, m.trunk), VEC_KEY_STR("method", type, m.method),               \
    VEC_KEY_STR("taps", type, m.taps), VEC_KEY_INT("lin", type, m.lin),                       \
    VEC_KEY_INT("norm", type, m.norm), VEC_KEY_INT("pixel", type, m.pixel)

/* The model options of case id (all but the trunk's path); net and method CHECKed. */
static inline void vec_model_options(const vec_model *m, const char *id, dpsim_model_options *opt)
{
    dpsim_model_options_init(opt);
    CHECK_MSG(dpsim_net_parse(m->net, &opt->net) == DPSIM_OK, "%s: net %s", id, m->net);
    CHECK_MSG(dpsim_method_parse(m->method, &opt->method) == DPSIM_OK, "%s: method %s", id,
              m->method);
    opt->version = strcmp(m->version, "0.0") == 0 ? DPSIM_LPIPS_V0_0 : DPSIM_LPIPS_V0_1;
    opt->use_lin = m->lin;
    opt->normalize = m->norm;
    opt->pixel_layer = m->pixel;
    if (strcmp(m->taps, "default") != 0) {
        char taps[128];
        snprintf(taps, sizeof taps, "%s", m->taps);
        for (char *t = strtok(taps, ","); t; t = strtok(NULL, ","))
            opt->taps[opt->n_taps++] = atoi(t);
    }
}

/* Fill case c from a line (changed in place); return its id, or NULL if the line is none. */
typedef const char *(*vec_parse_fn)(char *line, void *c);
/* Run one case. */
typedef void (*vec_run_fn)(dpsim_ctx *ctx, const void *c, const char *vec_dir);

/*
 * Run the cases of fp (closed here) whose id contains only (NULL: all) in a
 * new context, each parsed into c. DPSIM_VECTORS_EVERY=k runs every k-th case
 * only: the sanitizer builds, ten times slower, check memory safety on a
 * sample of the cases. Returns the number of cases run.
 */
static inline int vec_run_file(FILE *fp, const char *only, void *c, vec_parse_fn parse,
                               vec_run_fn run, const char *vec_dir)
{
    const char *env = getenv("DPSIM_VECTORS_EVERY");
    const int every = env && atoi(env) > 0 ? atoi(env) : 1;
    dpsim_ctx *ctx;
    CHECK(dpsim_ctx_create(&ctx, NULL) == DPSIM_OK);
    int seen = 0, n = 0;
    char line[8192];
    while (fgets(line, sizeof line, fp)) {
        const char *id = line[0] == '#' ? NULL : parse(line, c);
        if (!id || (only && !strstr(id, only)) || seen++ % every)
            continue;
        run(ctx, c, vec_dir);
        n++;
    }
    fclose(fp);
    dpsim_ctx_free(ctx);
    return n;
}

#endif
