/*
 * batch.c - the batch engine (see batch.h): extraction of shared items up
 * front, then the pairs, both spread over worker threads that take the next
 * index from a shared counter and write only their own slots.
 */
#include "batch.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "progress.h"

void batch_init(batch *b, const dpsim_model *model)
{
    memset(b, 0, sizeof *b);
    b->model = model;
    b->jobs = 1;
    b->threads = 1;
}

void batch_free(batch *b)
{
    for (size_t i = 0; i < b->n_items; i++) {
        free(b->items[i].name);
        free(b->items[i].path);
        free(b->items[i].error);
        dpsim_features_free(b->items[i].owned);
    }
    for (size_t i = 0; i < b->n_pairs; i++) {
        free(b->pairs[i].per_tap);
        free(b->pairs[i].map_path);
        free(b->pairs[i].error);
    }
    for (size_t i = 0; i < b->n_files; i++)
        dpsim_featfile_free(b->files[i]);
    free(b->items);
    free(b->pairs);
    free(b->files);
    memset(b, 0, sizeof *b);
}

/* Room for one more element in a growing array. */
static int grow(void **array, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 1;
    size_t new_cap = *cap ? 2 * *cap : 16;
    void *p = realloc(*array, new_cap * size);
    if (!p)
        return 0;
    *array = p;
    *cap = new_cap;
    return 1;
}

static size_t add_item(batch *b, const char *name, const char *path, const dpsim_features *f)
{
    if (!grow((void **)&b->items, &b->cap_items, b->n_items, sizeof *b->items))
        return (size_t)-1;
    batch_item *it = &b->items[b->n_items];
    memset(it, 0, sizeof *it);
    it->name = strdup(name);
    it->path = path ? strdup(path) : NULL;
    it->feats = f;
    if (!it->name || (path && !it->path)) {
        free(it->name);
        free(it->path);
        return (size_t)-1;
    }
    return b->n_items++;
}

size_t batch_add_image(batch *b, const char *name, const char *path)
{
    return add_item(b, name, path, NULL);
}

size_t batch_add_features(batch *b, const char *name, const dpsim_features *f)
{
    return add_item(b, name, NULL, f);
}

int batch_adopt_file(batch *b, dpsim_featfile *ff)
{
    dpsim_featfile **p = realloc(b->files, (b->n_files + 1) * sizeof *p);
    if (!p)
        return 0;
    b->files = p;
    b->files[b->n_files++] = ff;
    return 1;
}

int batch_add_pair(batch *b, size_t a, size_t item_b)
{
    if (!grow((void **)&b->pairs, &b->cap_pairs, b->n_pairs, sizeof *b->pairs))
        return 0;
    batch_pair *p = &b->pairs[b->n_pairs++];
    memset(p, 0, sizeof *p);
    p->a = a;
    p->b = item_b;
    b->items[a].uses++;
    b->items[item_b].uses++;
    return 1;
}

void batch_prep(const batch *b, char *out, size_t len)
{
    if (b->size_w > 0)
        snprintf(out, len, "size=%dx%d", b->size_w, b->size_h);
    else if (len)
        out[0] = '\0';
}

// ---- the shared run state ----

typedef struct run_state {
    batch *b;
    pthread_mutex_t lock;
    pthread_cond_t sunk;        /* the sink moved on, or the run stopped */
    size_t next, count;         /* next job index of the phase, number of jobs */
    const size_t *jobs;         /* phase 1: item indices; phase 2: NULL (pair i) */
    unsigned char *done;        /* (count) finished phase 1 jobs, for the sink */
    size_t next_sink;           /* the next phase 1 job to hand to the sink */
    int stop;                   /* set on the first failure without keep_going */
    int fatal;                  /* a worker could not start (no context) */
    int sink_failed;            /* the sink reported a failure */
    progress bar;
} run_state;

/* A new message "fmt..." (NULL only when out of memory). */
__attribute__((format(printf, 1, 2)))
static char *message(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s) {
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return s;
}

static char *ctx_message(const dpsim_ctx *ctx, dpsim_status s, const char *path)
{
    const char *detail = dpsim_ctx_last_error(ctx);
    if (!*detail)
        detail = dpsim_strerror(s);
    return strstr(detail, path) ? message("%s", detail) : message("image '%s': %s", path, detail);
}

/* Decode, resize to the fixed size if asked, extract. On failure *error is set. */
static dpsim_features *extract_item(run_state *st, dpsim_ctx *ctx, const batch_item *it,
                                    char **error)
{
    const batch *b = st->b;
    dpsim_image *im = NULL;
    dpsim_features *f = NULL;
    dpsim_status s = dpsim_image_read(ctx, it->path, &im);
    if (s == DPSIM_OK && b->size_w > 0 && (im->width != b->size_w || im->height != b->size_h)) {
        dpsim_image *r;
        s = dpsim_image_resize(ctx, im, b->size_w, b->size_h, &r);
        if (s == DPSIM_OK) {
            dpsim_image_free(im);
            im = r;
        }
    }
    if (s == DPSIM_OK)
        s = dpsim_extract(ctx, b->model, im->pixels, im->width, im->height, &f);
    dpsim_image_free(im);
    if (s != DPSIM_OK) {
        *error = ctx_message(ctx, s, it->path);
        return NULL;
    }
    pthread_mutex_lock(&st->lock);
    st->b->extractions++;
    pthread_mutex_unlock(&st->lock);
    return f;
}

/* Phase 1: extract and keep item i (a feature-file record is there already). 1 on success. */
static int item_job(run_state *st, dpsim_ctx *ctx, size_t i)
{
    batch_item *it = &st->b->items[i];
    if (it->feats)
        return 1;
    it->owned = extract_item(st, ctx, it, &it->error);
    it->feats = it->owned;
    return it->owned != NULL;
}

/* With the lock held: hand finished items to the sink in order, free what was extracted. */
static void drain(run_state *st)
{
    batch *b = st->b;
    while (st->next_sink < st->count && st->done[st->next_sink] && !st->sink_failed) {
        batch_item *it = &b->items[st->jobs[st->next_sink++]];
        if (!it->feats)
            continue; /* failed: reported at the end */
        if (b->sink(b->sink_user, it) != 0)
            st->sink_failed = st->stop = 1;
        else
            b->n_sunk++;
        dpsim_features_free(it->owned);
        it->owned = NULL;
        it->feats = NULL;
    }
    pthread_cond_broadcast(&st->sunk);
}

/* Features of item i for one pair: kept ones, or extracted now into *tmp. */
static const dpsim_features *pair_features(run_state *st, dpsim_ctx *ctx, size_t i,
                                           dpsim_features **tmp)
{
    batch_item *it = &st->b->items[i];
    if (it->feats || it->error)
        return it->feats;
    *tmp = extract_item(st, ctx, it, &it->error); /* used by this pair only: no race */
    return *tmp;
}

/* "NNNNNN-a-b.png" with characters outside [A-Za-z0-9._-] replaced by '_' */
static char *map_path(const batch *b, size_t i)
{
    const batch_pair *p = &b->pairs[i];
    char *path = message("%s/%06zu-%.80s-%.80s.png", b->maps_dir, i + 1, b->items[p->a].name,
                         b->items[p->b].name);
    if (!path)
        return NULL;
    for (char *c = path + strlen(b->maps_dir) + 1; *c; c++)
        if (!(('a' <= *c && *c <= 'z') || ('A' <= *c && *c <= 'Z') || ('0' <= *c && *c <= '9') ||
              *c == '.' || *c == '-' || *c == '_'))
            *c = '_';
    return path;
}

static char *write_map(batch *b, dpsim_ctx *ctx, size_t i, const float *map, int w, int h)
{
    batch_pair *p = &b->pairs[i];
    p->map_path = map_path(b, i);
    if (!p->map_path)
        return message("out of memory");
    dpsim_status s = heatmap_write_png(ctx, p->map_path, map, w, h, NULL);
    return s == DPSIM_OK ? NULL : ctx_message(ctx, s, p->map_path);
}

/* Phase 2: pair i. Returns 1 on success. */
static int pair_job(run_state *st, dpsim_ctx *ctx, size_t i)
{
    batch *b = st->b;
    batch_pair *p = &b->pairs[i];
    const batch_item *ia = &b->items[p->a], *ib = &b->items[p->b];
    dpsim_features *ta = NULL, *tb = NULL;
    const dpsim_features *fa = pair_features(st, ctx, p->a, &ta);
    const dpsim_features *fb = fa ? pair_features(st, ctx, p->b, &tb) : NULL;
    float *map = NULL;
    if (!fa || !fb) {
        const batch_item *bad = fa ? ib : ia;
        p->error = message("%s", bad->error ? bad->error : "skipped");
        goto done;
    }
    if (b->per_tap && !(p->per_tap = calloc((size_t)dpsim_model_n_taps(b->model),
                                            sizeof(double)))) {
        p->error = message("out of memory");
        goto done;
    }
    int w = dpsim_features_width(fa), h = dpsim_features_height(fa);
    if (b->maps_dir && !(map = malloc((size_t)w * h * sizeof(float)))) {
        p->error = message("out of memory for a %dx%d map", w, h);
        goto done;
    }
    dpsim_status s = dpsim_compare(ctx, b->model, fa, fb, &p->distance, p->per_tap, map);
    if (s != DPSIM_OK)
        p->error = message("'%s' vs '%s': %s", ia->name, ib->name, dpsim_ctx_last_error(ctx));
    else if (map)
        p->error = write_map(b, ctx, i, map, w, h);
done:
    free(map);
    dpsim_features_free(ta);
    dpsim_features_free(tb);
    return p->error == NULL;
}

static void *worker(void *arg)
{
    run_state *st = arg;
    dpsim_ctx *ctx = NULL;
    dpsim_config config;
    dpsim_config_init(&config);
    config.n_threads = st->b->threads;
    if (dpsim_ctx_create(&ctx, &config) != DPSIM_OK) {
        pthread_mutex_lock(&st->lock);
        st->fatal = st->stop = 1;
        pthread_cond_broadcast(&st->sunk);
        pthread_mutex_unlock(&st->lock);
        return NULL;
    }
    const int sink = st->jobs && st->b->sink;
    const size_t window = 2 * (size_t)(st->b->jobs < 1 ? 1 : st->b->jobs);
    for (;;) {
        pthread_mutex_lock(&st->lock);
        while (sink && !st->stop && st->next < st->count && st->next - st->next_sink >= window)
            pthread_cond_wait(&st->sunk, &st->lock); /* bound what waits for the sink */
        if (st->stop || st->next >= st->count) {
            pthread_cond_broadcast(&st->sunk);
            pthread_mutex_unlock(&st->lock);
            break;
        }
        size_t job = st->next++;
        pthread_mutex_unlock(&st->lock);
        int ok = st->jobs ? item_job(st, ctx, st->jobs[job]) : pair_job(st, ctx, job);
        pthread_mutex_lock(&st->lock);
        if (!ok && !st->b->keep_going)
            st->stop = 1;
        progress_add(&st->bar, 1);
        if (sink) {
            st->done[job] = 1;
            drain(st);
        }
        pthread_mutex_unlock(&st->lock);
    }
    dpsim_ctx_free(ctx);
    return NULL;
}

/* Run count jobs of one phase on b->jobs threads (the calling thread is one of them). */
static void run_phase(run_state *st, const size_t *jobs, size_t count)
{
    st->jobs = jobs;
    st->next = 0;
    st->count = count;
    int n = st->b->jobs < 1 ? 1 : st->b->jobs;
    if ((size_t)n > count)
        n = count ? (int)count : 1;
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    int started = 0;
    for (int t = 1; threads && t < n; t++, started++)
        if (pthread_create(&threads[t], NULL, worker, st) != 0)
            break;
    worker(st);
    for (int t = 1; t <= started; t++)
        pthread_join(threads[t], NULL);
    free(threads);
}

/* Print the failures in index order: all with keep_going, else the first. */
static void report(batch *b)
{
    int all = b->keep_going, printed = 0;
    for (size_t i = 0; i < b->n_items && (all || !printed); i++)
        if (b->items[i].error) {
            cli_error("%s", b->items[i].error);
            b->n_failed_items++;
            printed = 1;
        }
    int size_hint = 0;
    for (size_t i = 0; i < b->n_pairs; i++) {
        batch_pair *p = &b->pairs[i];
        if (!p->error)
            continue;
        b->n_failed_pairs++;
        if (b->items[p->a].error || b->items[p->b].error || (!all && printed))
            continue;
        cli_error("%s", p->error);
        size_hint |= strstr(p->error, "sizes differ") != NULL;
        printed = 1;
    }
    if (size_hint)
        cli_hint("--size WxH resizes every image to one size before extraction; --method mean "
                 "and --method gram compare images of any size");
}

int batch_run(batch *b)
{
    size_t *shared = malloc((b->n_items ? b->n_items : 1) * sizeof *shared), n_shared = 0;
    if (!shared) {
        cli_error("out of memory for %zu items", b->n_items);
        return EXIT_DATA;
    }
    for (size_t i = 0; i < b->n_items; i++) /* with a sink, file records pass through too */
        if ((!b->items[i].feats || b->sink) && (b->items[i].uses > 1 || b->items[i].keep))
            shared[n_shared++] = i;
    run_state st = {.b = b};
    if (b->sink && !(st.done = calloc(n_shared ? n_shared : 1, 1))) {
        free(shared);
        cli_error("out of memory for %zu items", b->n_items);
        return EXIT_DATA;
    }
    pthread_mutex_init(&st.lock, NULL);
    pthread_cond_init(&st.sunk, NULL);
    progress_start(&st.bar, b->n_pairs ? "steps" : "images", (long)(n_shared + b->n_pairs),
                   b->quiet);
    run_phase(&st, shared, n_shared);
    if (!st.stop)
        run_phase(&st, NULL, b->n_pairs);
    progress_end(&st.bar);
    pthread_cond_destroy(&st.sunk);
    pthread_mutex_destroy(&st.lock);
    free(shared);
    free(st.done);
    if (st.sink_failed)
        return EXIT_DATA;
    if (st.fatal) {
        cli_error("cannot create a context for a worker (out of memory)");
        return EXIT_DATA;
    }
    report(b);
    return b->n_failed_items || b->n_failed_pairs || st.stop ? EXIT_DATA : EXIT_OK;
}
