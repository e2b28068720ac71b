/*
 * model.c - loading a model: options, trunk weights matched to the net's
 * layer table by torchvision name, LPIPS per-channel weights, provenance.
 * Every tensor is checked (present, shape, finite) before use, and every
 * failure names the file and the tensor.
 */
#define _GNU_SOURCE /* SCHED_IDLE */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ctx.h"
#include "core/fileio.h"
#include "core/sha256.h"
#include "model/model.h"
#include "weights/filesource.h"
#include "weights/tensors.h"

// ---- options ----

dpsim_status dpsim_model_options_init_abi(dpsim_model_options *opt, unsigned abi)
{
    if (!opt)
        return DPSIM_E_INVAL;
    if (abi != DPSIM_ABI_VERSION)
        return DPSIM_E_ABI;
    memset(opt, 0, sizeof *opt);
    opt->abi = abi;
    opt->net = DPSIM_NET_SQUEEZE;
    opt->version = DPSIM_LPIPS_V0_1;
    opt->use_lin = 1;
    opt->method = DPSIM_METHOD_SPATIAL;
    opt->normalize = -1;
    return DPSIM_OK;
}

static dpsim_status check_options(const dpsim_model_options *opt, const net_def **def, errbuf *e)
{
    if (opt->abi != DPSIM_ABI_VERSION)
        return err_set(e, DPSIM_E_ABI, "model options: ABI %u, the library expects %u", opt->abi,
                       DPSIM_ABI_VERSION);
    *def = net_def_get(opt->net);
    if (!*def)
        return err_set(e, DPSIM_E_INVAL, "model options: unknown net %d", (int)opt->net);
    if (opt->version != DPSIM_LPIPS_V0_1 && opt->version != DPSIM_LPIPS_V0_0)
        return err_set(e, DPSIM_E_INVAL, "model options: unknown LPIPS version %d",
                       (int)opt->version);
    if (!dpsim_precision_name(opt->precision))
        return err_set(e, DPSIM_E_INVAL, "model options: unknown precision %d",
                       (int)opt->precision);
    if (opt->precision == DPSIM_PRECISION_BF16 && !gemm_bf16_kernel_for(isa_active()))
        return err_set(e, DPSIM_E_UNSUPPORTED,
                       "model options: precision bf16 needs a CPU with AVX512-BF16 at the "
                       "avx512 level (this one runs %s%s%s), expected precision fp32 here",
                       isa_name(isa_active()), isa_detected() == ISA_AVX512 ? "" : ", no AVX-512",
                       isa_active() < isa_detected() ? ", lowered by $DPSIM_ISA" : "");
    if (!dpsim_method_name(opt->method))
        return err_set(e, DPSIM_E_INVAL, "model options: unknown method %d", (int)opt->method);
    if (opt->normalize < -1 || opt->normalize > 1 || opt->pixel_layer < 0 ||
        opt->pixel_layer > 1)
        return err_set(e, DPSIM_E_INVAL,
                       "model options: normalize %d and pixel_layer %d, expected -1, 0 or 1 "
                       "and 0 or 1",
                       opt->normalize, opt->pixel_layer);
    int pixel = opt->pixel_layer || opt->method == DPSIM_METHOD_DISTS;
    if (opt->n_taps < 0 || opt->n_taps + pixel > DPSIM_MAX_TAPS)
        return err_set(e, DPSIM_E_INVAL, "taps: %d given, expected 1 to %d", opt->n_taps,
                       DPSIM_MAX_TAPS - pixel);
    if (opt->method == DPSIM_METHOD_DISTS) {
        if (opt->net != DPSIM_NET_VGG16)
            return err_set(e, DPSIM_E_INVAL, "method dists: defined on vgg16 only, got %s",
                           (*def)->torchvision_name);
        if (opt->normalize == 1)
            return err_set(e, DPSIM_E_INVAL,
                           "method dists: has no channel normalisation, expected normalize "
                           "-1 or 0");
        if (opt->n_taps != 0)
            return err_set(e, DPSIM_E_INVAL,
                           "method dists: uses its own taps (pixel,3,8,15,22,29), expected "
                           "no custom taps");
    }
    for (int i = 0; i < opt->n_taps; i++) {
        if (opt->taps[i] < 0 || opt->taps[i] >= (*def)->n_layers)
            return err_set(e, DPSIM_E_INVAL, "taps: %d is not a layer of %s, expected 0 to %d",
                           opt->taps[i], (*def)->torchvision_name, (*def)->n_layers - 1);
        if (i > 0 && opt->taps[i] <= opt->taps[i - 1])
            return err_set(e, DPSIM_E_INVAL, "taps: must be strictly increasing, got %d after %d",
                           opt->taps[i], opt->taps[i - 1]);
    }
    return DPSIM_OK;
}

// ---- reading weights files ----

/*
 * A weights file: read in the parts its tensors need (weights/filesource.h)
 * and hashed whole on a thread of its own at the lowest priority, beside
 * loading: on the core single-threaded loading leaves idle, not against the
 * extractions. Nothing waits for the digest until something reads it
 * (model_await_hashes), and then that thread stops the hasher and finishes
 * the hash at its own priority; a model freed before that stops the hasher.
 */
typedef struct weights_file {
    file_source fs;
    file_hash hash;
    uint8_t *buf;           /* (FILE_SOURCE_HASH_BUFFER) the hash's reads */
    char *sha;              /* hex digest, complete after weights_file_finish */
    atomic_int stop;        /* set: the hasher stops after its current buffer */
    dpsim_status hash_status; /* the hasher's */
    pthread_t hasher;
    int threaded;           /* a hasher thread runs (until weights_file_stop); 0: none
                             * started (weights_file_finish hashes it all) */
} weights_file;

/*
 * This thread to the lowest priority: Linux's SCHED_IDLE, so that it runs
 * only on a core nothing else wants (a nice value of 19 still took slices
 * from the extraction's workers: VGG-16's first 88x88 pair beside the hash of
 * a torchvision file took 85-96 ms, at SCHED_IDLE 57-63); elsewhere nothing.
 */
static void lowest_priority(void)
{
#ifdef SCHED_IDLE
    const struct sched_param param = {0};
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &param); /* advice only */
#endif
}

static void *hash_thread(void *arg)
{
    weights_file *wf = arg;
    lowest_priority();
    wf->hash_status = file_source_hash(&wf->fs, &wf->hash, wf->buf, &wf->stop, NULL);
    return NULL;
}

/* Stop the hasher where it is (after its current buffer) and wait for it. */
static void weights_file_stop(weights_file *wf)
{
    atomic_store(&wf->stop, 1);
    if (wf->threaded)
        pthread_join(wf->hasher, NULL);
    wf->threaded = 0;
}

/* The digest into wf->sha (empty if the file could not be hashed): the rest hashed here. */
static void weights_file_finish(weights_file *wf)
{
    weights_file_stop(wf);
    if (wf->hash_status == DPSIM_OK)
        wf->hash_status = file_source_hash(&wf->fs, &wf->hash, wf->buf, NULL, NULL);
    if (wf->hash_status == DPSIM_OK)
        file_hash_hex(&wf->fs, &wf->hash, wf->sha, NULL);
}

/* Stop hashing, close the file and free wf (NULL: nothing). */
static void weights_file_close(weights_file *wf)
{
    if (!wf)
        return;
    weights_file_stop(wf);
    file_source_close(&wf->fs);
    dp_free(wf->buf);
    dp_free(wf);
}

/*
 * Once the caller is done with the tensors: give back the parts read, and
 * return wf for weights_file_finish, or, when loading failed, close it and
 * return NULL. NULL: nothing.
 */
static weights_file *weights_file_loaded(weights_file *wf, int loaded)
{
    if (!wf)
        return NULL;
    file_source_release(&wf->fs);
    if (!loaded) {
        weights_file_close(wf);
        return NULL;
    }
    return wf;
}

/*
 * Read the tensors of a weights file (PyTorch checkpoint or safetensors) that
 * list->want keeps into *list, float32 ones left in the file's bytes; its
 * digest goes to sha, hashed on a thread started now when background is set,
 * else by weights_file_finish. *wf: the file once opened (also on a parse
 * error; else NULL), for weights_file_loaded once the caller is done with list.
 */
static dpsim_status read_weights(const char *path, int background, tensor_list *list,
                                 weights_file **wf, char sha[65], errbuf *e)
{
    weights_file *f = *wf = dp_calloc(1, sizeof *f);
    if (f && !(f->buf = dp_malloc(FILE_SOURCE_HASH_BUFFER))) {
        dp_free(f);
        f = *wf = NULL;
    }
    if (!f)
        return err_set(e, DPSIM_E_NOMEM, "out of memory");
    f->sha = sha;
    file_hash_init(&f->hash);
    dpsim_status s = file_source_open(&f->fs, path, WEIGHTS_MAX_FILE_SIZE, e);
    if (s != DPSIM_OK) {
        dp_free(f->buf);
        dp_free(f);
        *wf = NULL;
        err_prefix(e, "weights");
        return s;
    }
    f->threaded = background && pthread_create(&f->hasher, NULL, hash_thread, f) == 0;
    s = weights_view_source(&f->fs.src, list, e);
    if (s != DPSIM_OK) {
        weights_error_name_file(e, path);
        return s;
    }
    if ((s = file_source_unchanged(&f->fs, e)) != DPSIM_OK)
        err_prefix(e, "weights");
    return s;
}

static void shape_str(const tensor *t, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < t->ndim && used < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%lld", i ? "x" : "",
                                 (long long)t->shape[i]);
    if (t->ndim == 0)
        snprintf(out, len, "scalar");
}

/* Whether the n values at v are all finite: one pass over their exponent bits. */
static int all_finite(const float *v, size_t n)
{
    const uint32_t exp_mask = 0x7f800000u; /* all ones: Inf or NaN */
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, v + i, sizeof bits);
        bad |= (bits & exp_mask) == exp_mask;
    }
    return !bad;
}

static dpsim_status check_finite(const char *path, const tensor *t, errbuf *e)
{
    if (all_finite(t->data, t->numel))
        return DPSIM_OK;
    size_t i = 0;
    while (isfinite(t->data[i]))
        i++;
    return err_set(e, DPSIM_E_FORMAT, "weights '%s': tensor '%s' holds %s at element %zu", path,
                   t->name, isnan(t->data[i]) ? "NaN" : "Inf", i);
}

/* Find `key` or `features.key`, check its shape is exactly dims[0..ndim) and its values finite. */
static dpsim_status find_tensor(const tensor_list *list, const char *path, const char *key,
                                int ndim, const int64_t *dims, const tensor **out, errbuf *e)
{
    char prefixed[160];
    snprintf(prefixed, sizeof prefixed, "features.%s", key);
    const tensor *t = tensor_list_find(list, prefixed);
    if (!t)
        t = tensor_list_find(list, key);
    char want[96] = "";
    for (int i = 0, used = 0; i < ndim; i++)
        used += snprintf(want + used, sizeof want - (size_t)used, "%s%lld", i ? "x" : "",
                         (long long)dims[i]);
    if (!t)
        return err_set(e, DPSIM_E_FORMAT,
                       "weights '%s': missing tensor '%s' (or '%s') of shape %s", path, key,
                       prefixed, want);
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == dims[i];
    if (!same) {
        char got[96];
        shape_str(t, got, sizeof got);
        return err_set(e, DPSIM_E_SHAPE,
                       "weights '%s': tensor '%s' has shape %s, expected %s (is this the "
                       "trunk of another net?)",
                       path, t->name, got, want);
    }
    dpsim_status s = check_finite(path, t, e);
    if (s == DPSIM_OK)
        *out = t;
    return s;
}

/*
 * h extended by the n bytes at p: a 64-bit hash, not a cryptographic one (it
 * tells weights apart for the fingerprint), in four lanes to run at memory speed.
 */
static uint64_t hash_values(uint64_t h, const void *p, size_t n)
{
    const uint64_t mul = 0x9e3779b97f4a7c15ULL;
    const uint8_t *b = p;
    uint64_t lane[4] = {h, h ^ 1, h ^ 2, h ^ 3};
    size_t i = 0;
    for (; n - i >= 32; i += 32)
        for (int k = 0; k < 4; k++) {
            uint64_t w;
            memcpy(&w, b + i + 8 * k, 8);
            lane[k] = (lane[k] ^ w) * mul;
            lane[k] ^= lane[k] >> 29;
        }
    h = n;
    for (int k = 0; k < 4; k++)
        h = (h ^ lane[k]) * mul;
    for (; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h ^ h >> 31;
}

/*
 * Whether t's data (a view into the pages read) may be packed over itself:
 * no other tensor of list shares any of its bytes (a checkpoint may point two
 * tensors at one storage, and the later one must still read the file's values).
 */
static int packs_in_place(const tensor_list *list, const tensor *t)
{
    if (!t->view)
        return 0;
    const uintptr_t lo = (uintptr_t)t->data, hi = lo + t->numel * sizeof(float);
    for (size_t i = 0; i < list->count; i++) {
        const tensor *u = &list->items[i];
        const uintptr_t ulo = (uintptr_t)u->data, uhi = ulo + u->numel * sizeof(float);
        if (u != t && u->numel && ulo < hi && lo < uhi)
            return 0;
    }
    return 1;
}

/*
 * Pack the convolution `stem` (weight and bias) of the file's tensors into
 * p->fast; with tmp (room for mr of its rows), over the weight itself where it
 * lies in the pages the file was read into.
 */
static dpsim_status take_conv(const tensor_list *list, const char *path, const char *stem,
                              int in_ch, int out_ch, int k, int stride, int pad,
                              const gemm_kernel *kern, float *tmp, conv_params *p,
                              uint64_t *values, errbuf *e)
{
    char key[128];
    p->shape = (conv2d_shape){in_ch, out_ch, k, stride, pad};
    int64_t wdims[4] = {out_ch, in_ch, k, k}, bdims[1] = {out_ch};
    const tensor *weight = NULL, *bias = NULL;
    snprintf(key, sizeof key, "%s.weight", stem);
    dpsim_status s = find_tensor(list, path, key, 4, wdims, &weight, e);
    if (s != DPSIM_OK)
        return s;
    snprintf(key, sizeof key, "%s.bias", stem);
    s = find_tensor(list, path, key, 1, bdims, &bias, e);
    if (s != DPSIM_OK)
        return s;
    *values = hash_values(*values, weight->data, weight->numel * sizeof(float));
    *values = hash_values(*values, bias->data, bias->numel * sizeof(float));
    if (tmp && packs_in_place(list, weight))
        return packed_conv_init_in_place(&p->fast, &p->shape, weight->data, bias->data, kern,
                                         tmp, e);
    return packed_conv_init(&p->fast, &p->shape, weight->data, bias->data, kern, e);
}

/* Is `name` (after an optional "features." prefix) a tensor this net expects? */
static int expected_name(const net_def *def, const char *name)
{
    if (strncmp(name, "features.", 9) == 0)
        name += 9;
    static const char *fire_parts[] = {"squeeze", "expand1x1", "expand3x3"};
    for (int i = 0; i < def->n_layers; i++) {
        const layer_def *l = &def->layers[i];
        char want[64];
        for (int part = 0; part < (l->op == OP_FIRE ? 3 : 1); part++) {
            if (l->op != OP_CONV && l->op != OP_FIRE)
                continue;
            for (int b = 0; b < 2; b++) {
                if (l->op == OP_FIRE)
                    snprintf(want, sizeof want, "%d.%s.%s", i, fire_parts[part],
                             b ? "bias" : "weight");
                else
                    snprintf(want, sizeof want, "%d.%s", i, b ? "bias" : "weight");
                if (strcmp(name, want) == 0)
                    return 1;
            }
        }
    }
    return 0;
}

/*
 * What tensor_list.want keeps of a trunk file: its net's tensors. The first
 * other name, bar a classifier's, is kept for load_trunk's error.
 */
typedef struct trunk_names {
    const net_def *def;
    char unexpected[NAME_MSG_LEN];
} trunk_names;

static int want_trunk_tensor(void *ctx, const char *name)
{
    trunk_names *t = ctx;
    if (expected_name(t->def, name))
        return 1;
    if (strncmp(name, "classifier.", 11) != 0 && !t->unexpected[0])
        name_for_msg(t->unexpected, name, strlen(name));
    return 0;
}

/* Floats of the longest row of list's tensors (numel over the first dimension: a
   convolution weight's in_ch * k * k). */
static size_t longest_row(const tensor_list *list)
{
    size_t most = 0;
    for (size_t i = 0; i < list->count; i++) {
        const tensor *t = &list->items[i];
        const size_t row = t->ndim > 0 && t->shape[0] > 0 ? t->numel / (size_t)t->shape[0] : 0;
        most = row > most ? row : most;
    }
    return most;
}

/*
 * m's layers from list. in_place: the tensors viewed in the file's pages are
 * packed there, over themselves (dpsim_model_load then keeps those pages).
 */
static dpsim_status load_trunk(dpsim_model *m, const tensor_list *list,
                               const trunk_names *names, int in_place, errbuf *e)
{
    const net_def *def = m->def;
    const char *path = m->trunk_path;
    const gemm_kernel *kern = m->kernel = m->precision == DPSIM_PRECISION_BF16
                                              ? gemm_bf16_kernel_for(isa_active())
                                              : gemm_kernel_for(isa_active());
    float *tmp = in_place ? dp_malloc((size_t)kern->mr * longest_row(list) * sizeof(float))
                          : NULL; /* a panel of mr rows */
    if (in_place && !tmp)
        return err_set(e, DPSIM_E_NOMEM, "out of memory for packing the trunk's weights");
    dpsim_status s = DPSIM_OK;
    for (int i = 0; i < def->n_layers && s == DPSIM_OK; i++) {
        const layer_def *l = &def->layers[i];
        layer_params *lp = &m->layers[i];
        uint64_t *values = &m->trunk_values;
        char stem[64];
        if (l->op == OP_CONV) {
            snprintf(stem, sizeof stem, "%d", i);
            s = take_conv(list, path, stem, l->in_ch, l->out_ch, l->kernel, l->stride, l->pad,
                          kern, tmp, &lp->conv[0], values, e);
        } else if (l->op == OP_FIRE) {
            snprintf(stem, sizeof stem, "%d.squeeze", i);
            s = take_conv(list, path, stem, l->in_ch, l->squeeze, 1, 1, 0, kern, tmp,
                          &lp->conv[0], values, e);
            snprintf(stem, sizeof stem, "%d.expand1x1", i);
            if (s == DPSIM_OK)
                s = take_conv(list, path, stem, l->squeeze, l->e1, 1, 1, 0, kern, tmp,
                              &lp->conv[1], values, e);
            snprintf(stem, sizeof stem, "%d.expand3x3", i);
            if (s == DPSIM_OK)
                s = take_conv(list, path, stem, l->squeeze, l->e3, 3, 1, 1, kern, tmp,
                              &lp->conv[2], values, e);
        }
    }
    dp_free(tmp);
    if (s != DPSIM_OK)
        return s;
    if (names->unexpected[0])
        return err_set(e, DPSIM_E_FORMAT,
                       "weights '%s': unexpected tensor '%s', expected a torchvision %s "
                       "state dict (features.N.weight/bias or N.weight/bias)",
                       path, names->unexpected, def->torchvision_name);
    return DPSIM_OK;
}

// ---- load / free ----

static dpsim_status resolve_path(dpsim_weights_kind kind, const dpsim_model_options *opt,
                                 const char *given, char **out, errbuf *e)
{
    char found[4096], searched[8192];
    if (given) {
        *out = dp_strdup(given);
    } else {
        if (dpsim_weights_locate(kind, opt->net, opt->version, found, sizeof found, searched,
                                 sizeof searched) != DPSIM_OK) {
            const net_def *def = net_def_get(opt->net);
            if (kind == DPSIM_WEIGHTS_TRUNK)
                return err_set(e, DPSIM_E_NOT_FOUND,
                               "%s trunk weights not found (looked at: %s); set DPSIM_WEIGHTS "
                               "to a folder holding %s/features.pth or %s, or run 'dpsim "
                               "weights fetch'",
                               def->torchvision_name, searched, def->torchvision_name,
                               def->official_file);
            if (kind == DPSIM_WEIGHTS_DISTS)
                return err_set(e, DPSIM_E_NOT_FOUND,
                               "DISTS weights not found (looked at: %s); set DPSIM_WEIGHTS to "
                               "a folder holding dists/weights.pt",
                               searched);
            return err_set(e, DPSIM_E_NOT_FOUND,
                           "LPIPS %s lin weights for %s not found (looked at: %s); set "
                           "DPSIM_WEIGHTS or run 'dpsim weights fetch'",
                           opt->version == DPSIM_LPIPS_V0_0 ? "v0.0" : "v0.1", def->name,
                           searched);
        }
        *out = dp_strdup(found);
    }
    return *out ? DPSIM_OK : err_set(e, DPSIM_E_NOMEM, "out of memory");
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    return h;
}

/*
 * Features depend on the net (and its DISTS variant), taps, pixel layer and
 * preprocessing, not on the comparison method or normalisation: models that
 * differ only there share features. The weights stay in (a hash of the trunk
 * tensors' values, so that no one waits for the file's digest; the lin file's
 * digest), so features are never compared under other weights. bf16 features
 * differ from fp32 ones.
 */
static void set_fingerprint(dpsim_model *m)
{
    char buf[1024], taps[DPSIM_MAX_TAPS * 6 + 1];
    model_taps_str(m, taps, sizeof taps);
    snprintf(buf, sizeof buf, "net=%s dists=%d taps=%s version=%d", m->def->torchvision_name,
             m->method == DPSIM_METHOD_DISTS, taps, (int)m->version);
    uint64_t h = fnv1a(0xcbf29ce484222325ULL, buf);
    if (m->precision != DPSIM_PRECISION_FP32)
        h = fnv1a(h, dpsim_precision_name(m->precision));
    h = (h ^ m->trunk_values) * 0x100000001b3ULL;
    m->fingerprint = fnv1a(h, m->lin_sha256);
}

void model_await_hashes(const dpsim_model *cm)
{
    dpsim_model *m = (dpsim_model *)cm; /* the lazily completed part, under its lock */
    if (atomic_load_explicit(&m->hashed, memory_order_acquire))
        return;
    pthread_mutex_lock(&m->hash_lock);
    if (!atomic_load_explicit(&m->hashed, memory_order_relaxed)) {
        weights_file_finish(m->trunk_hashing);
        weights_file_close(m->trunk_hashing);
        m->trunk_hashing = NULL;
        atomic_store_explicit(&m->hashed, 1, memory_order_release);
    }
    pthread_mutex_unlock(&m->hash_lock);
}

uint64_t model_fingerprint(const dpsim_model *m) { return m->fingerprint; }

dpsim_status dpsim_model_load(dpsim_ctx *ctx, const dpsim_model_options *opt, dpsim_model **out)
{
    ctx_clear(ctx);
    if (!opt || !out)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_model_load: NULL argument");
    errbuf *e = ctx ? &ctx->err : NULL;
    const net_def *def = NULL;
    dpsim_status s = check_options(opt, &def, e);
    if (s != DPSIM_OK)
        return s;
    const int spatial_family = opt->method == DPSIM_METHOD_SPATIAL ||
                               opt->method == DPSIM_METHOD_SPATIAL_MEAN ||
                               opt->method == DPSIM_METHOD_SPATIAL_SORT;
    /* which per-channel weights file: LPIPS lin (looked up), DISTS (looked up), or given */
    dpsim_weights_kind kind = opt->method == DPSIM_METHOD_DISTS ? DPSIM_WEIGHTS_DISTS
                                                                  : DPSIM_WEIGHTS_LIN;
    const int want_weights = opt->use_lin && (spatial_family || kind == DPSIM_WEIGHTS_DISTS ||
                                              opt->lin_path);
    if (spatial_family && opt->use_lin && opt->n_taps > 0 && !opt->lin_path) {
        int is_default = opt->n_taps == def->n_lpips_taps;
        for (int i = 0; is_default && i < opt->n_taps; i++)
            is_default = opt->taps[i] == def->lpips_taps[i];
        if (!is_default)
            return err_set(e, DPSIM_E_INVAL,
                           "taps: the LPIPS lin weights exist only for the default taps; use "
                           "no lin weights (baseline) or give a lin file made for these taps");
    }

    dpsim_model *m = dp_calloc(1, sizeof *m);
    if (!m)
        return err_set(e, DPSIM_E_NOMEM, "out of memory");
    pthread_mutex_init(&m->grad_lock, NULL);
    pthread_mutex_init(&m->hash_lock, NULL);
    m->def = opt->method == DPSIM_METHOD_DISTS ? net_def_dists() : def;
    m->version = opt->version;
    m->method = opt->method;
    m->precision = opt->precision;
    m->normalize = opt->normalize >= 0 ? opt->normalize
                                       : !(opt->method == DPSIM_METHOD_GRAM ||
                                           opt->method == DPSIM_METHOD_DISTS);
    m->pixel = opt->pixel_layer || opt->method == DPSIM_METHOD_DISTS;
    m->use_lin = want_weights;
    m->n_taps = m->pixel + (opt->n_taps ? opt->n_taps : def->n_lpips_taps);
    if (m->pixel) {
        m->taps[0] = -1;
        m->tap_channels[0] = 3;
    }
    for (int i = m->pixel; i < m->n_taps; i++) {
        m->taps[i] = opt->n_taps ? opt->taps[i - m->pixel] : def->lpips_taps[i - m->pixel];
        m->tap_channels[i] = net_layer_channels(def, m->taps[i]);
    }
    m->last_layer = m->taps[m->n_taps - 1];
    m->min_side = net_min_side(m->def, m->last_layer);

    trunk_names names = {.def = def};
    tensor_list list = {.want = want_trunk_tensor, .want_ctx = &names};
    weights_file *wf = NULL;
    s = resolve_path(DPSIM_WEIGHTS_TRUNK, opt, opt->trunk_path, &m->trunk_path, e);
    if (s == DPSIM_OK)
        s = read_weights(m->trunk_path, 1, &list, &wf, m->trunk_sha256, e);
    if (s == DPSIM_OK) /* the model keeps the pages read (NULL: a file read whole) */
        m->trunk_pages = file_source_take_pages(&wf->fs, &m->trunk_pages_len);
    if (s == DPSIM_OK)
        s = load_trunk(m, &list, &names, m->trunk_pages != NULL, e);
    tensor_list_free(&list);
    m->trunk_hashing = weights_file_loaded(wf, s == DPSIM_OK);
    if (s == DPSIM_OK && m->use_lin) {
        memset(&list, 0, sizeof list);
        wf = NULL;
        s = resolve_path(kind, opt, opt->lin_path, &m->lin_path, e);
        if (s == DPSIM_OK)
            s = read_weights(m->lin_path, 0, &list, &wf, m->lin_sha256, e);
        if (s == DPSIM_OK)
            s = term_weights_load(m, &list, m->lin_path, e);
        tensor_list_free(&list);
        /* small: hashed here, before going on */
        if ((wf = weights_file_loaded(wf, s == DPSIM_OK)))
            weights_file_finish(wf);
        weights_file_close(wf);
    }
    if (s != DPSIM_OK) {
        dpsim_model_free(m);
        return s;
    }
    set_fingerprint(m);
    *out = m;
    return DPSIM_OK;
}

void dpsim_model_free(dpsim_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < NET_MAX_LAYERS; i++)
        for (int j = 0; j < 3; j++) {
            packed_conv_free(&m->layers[i].conv[j].fast);
            packed_conv_grad_free(&m->layers[i].conv[j].grad);
        }
    file_pages_free(m->trunk_pages, m->trunk_pages_len); /* after the layers packed there */
    weights_file_close(m->trunk_hashing); /* no one asked for its digest: no one will */
    pthread_mutex_destroy(&m->grad_lock);
    pthread_mutex_destroy(&m->hash_lock);
    for (int k = 0; k < TERM_KINDS; k++)
        for (int i = 0; i < DPSIM_MAX_TAPS; i++)
            dp_free(m->weight[k][i]);
    dp_free(m->trunk_path);
    dp_free(m->lin_path);
    dp_free(m);
}

dpsim_status model_grad_prepare(const dpsim_model *cm, const int *h, const int *w, errbuf *e)
{
    dpsim_model *m = (dpsim_model *)cm; /* the lazily built part, under its lock */
    dpsim_status s = DPSIM_OK;
    pthread_mutex_lock(&m->grad_lock);
    for (int i = 0; i <= m->last_layer && s == DPSIM_OK; i++)
        for (int j = 0; j < 3 && s == DPSIM_OK; j++) {
            conv_params *p = &m->layers[i].conv[j];
            if (!p->fast.a)
                continue;
            if (!p->grad.shape.kernel)
                packed_conv_grad_init(&p->grad, &p->fast);
            if (!p->grad.t.kern && packed_conv_grad_direct(&p->fast, &p->grad, h[i], w[i]))
                s = packed_conv_grad_pack(&p->grad, &p->fast, e);
        }
    pthread_mutex_unlock(&m->grad_lock);
    return s;
}

// ---- accessors ----

dpsim_net dpsim_model_net(const dpsim_model *m) { return m->def->net; }
dpsim_method dpsim_model_method(const dpsim_model *m) { return m->method; }
int dpsim_model_n_taps(const dpsim_model *m) { return m->n_taps; }
int dpsim_model_min_size(const dpsim_model *m) { return m->min_side; }

dpsim_status dpsim_model_tap(const dpsim_model *m, int i, int *index, int *channels)
{
    if (!m || i < 0 || i >= m->n_taps)
        return DPSIM_E_INVAL;
    if (index)
        *index = m->taps[i];
    if (channels)
        *channels = m->tap_channels[i];
    return DPSIM_OK;
}

const char *dpsim_model_weights_path(const dpsim_model *m, int which)
{
    return which == 0 ? m->trunk_path : which == 1 ? m->lin_path : NULL;
}

const char *dpsim_model_weights_sha256(const dpsim_model *m, int which)
{
    model_await_hashes(m);
    if (which == 0)
        return m->trunk_sha256;
    return which == 1 && m->lin_path ? m->lin_sha256 : NULL;
}

void model_taps_str(const dpsim_model *m, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < m->n_taps && used < len; i++) {
        int n = m->taps[i] < 0 ? snprintf(out + used, len - used, "%spixel", i ? "," : "")
                               : snprintf(out + used, len - used, "%s%d", i ? "," : "",
                                          m->taps[i]);
        used += n > 0 ? (size_t)n : 0;
    }
}

size_t dpsim_model_provenance(const dpsim_model *m, char *buf, size_t len)
{
    model_await_hashes(m);
    char taps[DPSIM_MAX_TAPS * 6 + 1];
    model_taps_str(m, taps, sizeof taps);
    const int dists = m->method == DPSIM_METHOD_DISTS;
    const char *v = dists ? "-" : m->version == DPSIM_LPIPS_V0_0 ? "0.0" : "0.1";
    const char *pre = dists ? "(v-mean)/std" : m->version == DPSIM_LPIPS_V0_0 ? "2v-1"
                                                                       : "(2v-1-shift)/scale";
    char lin[32];
    if (m->lin_path)
        snprintf(lin, sizeof lin, "%.8s", m->lin_sha256);
    else
        snprintf(lin, sizeof lin, "none");
    int n = snprintf(buf, len,
                     "net=%s%s taps=%s method=%s norm=%s version=%s %s=%s trunk=%.8s "
                     "preprocess=%s eps=1e-10%s dpsim=%s",
                     m->def->torchvision_name, dists ? "-l2pool" : "", taps,
                     dpsim_method_name(m->method), m->normalize ? "on" : "off", v,
                     dists ? "alpha_beta" : "lin", lin,
                     m->trunk_sha256[0] ? m->trunk_sha256 : "unknown", pre,
                     m->precision == DPSIM_PRECISION_BF16 ? " precision=bf16" : "",
                     DPSIM_VERSION_STRING);
    return n < 0 ? 0 : (size_t)n;
}

// ---- net names ----

const char *dpsim_precision_name(dpsim_precision precision)
{
    return precision == DPSIM_PRECISION_FP32 ? "fp32"
           : precision == DPSIM_PRECISION_BF16 ? "bf16"
                                               : NULL;
}

dpsim_status dpsim_precision_parse(const char *name, dpsim_precision *out)
{
    if (!name || !out)
        return DPSIM_E_INVAL;
    if (strcmp(name, "fp32") == 0)
        *out = DPSIM_PRECISION_FP32;
    else if (strcmp(name, "bf16") == 0)
        *out = DPSIM_PRECISION_BF16;
    else
        return DPSIM_E_INVAL;
    return DPSIM_OK;
}

const char *dpsim_net_name(dpsim_net net)
{
    const net_def *def = net_def_get(net);
    return def ? def->name : NULL;
}

const char *dpsim_net_torchvision_name(dpsim_net net)
{
    const net_def *def = net_def_get(net);
    return def ? def->torchvision_name : NULL;
}

dpsim_status dpsim_net_parse(const char *name, dpsim_net *out)
{
    static const dpsim_net all[] = {DPSIM_NET_SQUEEZE, DPSIM_NET_ALEX, DPSIM_NET_VGG16};
    if (!name || !out)
        return DPSIM_E_INVAL;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const net_def *def = net_def_get(all[i]);
        if (strcmp(name, def->name) == 0 || strcmp(name, def->torchvision_name) == 0 ||
            (all[i] == DPSIM_NET_SQUEEZE && strcmp(name, "squeezenet") == 0) ||
            (all[i] == DPSIM_NET_VGG16 && strcmp(name, "vgg16") == 0)) {
            *out = all[i];
            return DPSIM_OK;
        }
    }
    return DPSIM_E_INVAL;
}

dpsim_status dpsim_file_sha256(dpsim_ctx *ctx, const char *path, char hex[65])
{
    ctx_clear(ctx);
    if (!path || !hex)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_file_sha256: NULL argument");
    errbuf *e = ctx ? &ctx->err : NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return err_set(e, DPSIM_E_IO, "'%s': cannot open for reading", path);
    sha256_state st;
    sha256_init(&st);
    uint8_t chunk[1 << 16];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0)
        sha256_update(&st, chunk, got);
    int failed = ferror(fp);
    fclose(fp);
    if (failed)
        return err_set(e, DPSIM_E_IO, "'%s': read error (is it a directory?)", path);
    sha256_final_hex(&st, hex);
    return DPSIM_OK;
}
