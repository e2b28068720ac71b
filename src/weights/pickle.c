/*
 * pickle.c - the restricted pickle interpreter behind the checkpoint reader.
 * Invariants: every read is checked against the buffer length; the value
 * stack, mark stack, memo, node arena and child slots are capped; a value
 * stored inside another is frozen and a frozen container never changes, so
 * the tree is acyclic and any walk of it terminates. Nothing recurses.
 */
#include "weights/pickle.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

// ---- limits ----

#define MAX_NODES (1u << 21)  /* values in one pickle */
#define MAX_SLOTS (1u << 24)  /* child references over all containers */
#define MAX_STACK (1u << 17)  /* torch batches SETITEMS by 1000, so a few thousand suffice */
#define MAX_MARKS 256         /* nesting depth of MARK-based tuples, lists and dicts */
#define MAX_MEMO (1u << 21)   /* memo keys */
#define MAX_GLOBAL_PART 128   /* module or name of a GLOBAL */

// ---- whitelist ----

enum {
    CALL_NONE, /* a storage type: only a marker inside a persistent id */
    CALL_ORDERED_DICT,
    CALL_REBUILD_TENSOR,
    CALL_REBUILD_TENSOR_V2,
    CALL_REBUILD_PARAMETER,
    CALL_REBUILD_PARAMETER_WITH_STATE,
};

#define STORAGE(name, size, is_float, dtype, dtype_name) \
    {"torch", name, CALL_NONE, size, is_float, dtype, dtype_name}

static const pk_global globals[] = {
    {"collections", "OrderedDict", CALL_ORDERED_DICT, 0, 0, TENSOR_F32, NULL},
    {"torch._utils", "_rebuild_tensor", CALL_REBUILD_TENSOR, 0, 0, TENSOR_F32, NULL},
    {"torch._utils", "_rebuild_tensor_v2", CALL_REBUILD_TENSOR_V2, 0, 0, TENSOR_F32, NULL},
    {"torch._utils", "_rebuild_parameter", CALL_REBUILD_PARAMETER, 0, 0, TENSOR_F32, NULL},
    {"torch._utils", "_rebuild_parameter_with_state", CALL_REBUILD_PARAMETER_WITH_STATE, 0, 0,
     TENSOR_F32, NULL},
    STORAGE("FloatStorage", 4, 1, TENSOR_F32, "float32"),
    STORAGE("DoubleStorage", 8, 1, TENSOR_F64, "float64"),
    STORAGE("HalfStorage", 2, 1, TENSOR_F16, "float16"),
    STORAGE("BFloat16Storage", 2, 1, TENSOR_BF16, "bfloat16"),
    STORAGE("LongStorage", 8, 0, TENSOR_F32, "int64"),
    STORAGE("IntStorage", 4, 0, TENSOR_F32, "int32"),
    STORAGE("ShortStorage", 2, 0, TENSOR_F32, "int16"),
    STORAGE("CharStorage", 1, 0, TENSOR_F32, "int8"),
    STORAGE("ByteStorage", 1, 0, TENSOR_F32, "uint8"),
    STORAGE("BoolStorage", 1, 0, TENSOR_F32, "bool"),
    STORAGE("ComplexFloatStorage", 8, 0, TENSOR_F32, "complex64"),
    STORAGE("ComplexDoubleStorage", 16, 0, TENSOR_F32, "complex128"),
};

static const pk_global *find_global(const uint8_t *module, size_t module_len,
                                    const uint8_t *name, size_t name_len)
{
    for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++) {
        const pk_global *g = &globals[i];
        if (strlen(g->module) == module_len && memcmp(g->module, module, module_len) == 0 &&
            strlen(g->name) == name_len && memcmp(g->name, name, name_len) == 0)
            return g;
    }
    return NULL;
}

// ---- reader state ----

typedef struct reader {
    const uint8_t *buf;
    size_t len, pos;
    size_t op_pos; /* offset of the opcode being run, for messages */
    pickle_doc *doc;
    uint32_t *stack; /* node indices */
    size_t sp, stack_cap;
    size_t marks[MAX_MARKS]; /* stack heights */
    size_t n_marks;
    uint32_t *memo; /* node index + 1, 0 for unset */
    size_t memo_cap, memo_count;
    size_t slots; /* child references so far */
    errbuf *e;
} reader;

static dpsim_status fail(reader *r, dpsim_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static dpsim_status fail(reader *r, dpsim_status status, const char *fmt, ...)
{
    char msg[ERRBUF_LEN / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(r->e, status, "pickle at offset %zu %s", r->op_pos, msg);
}

static dpsim_status nomem(reader *r)
{
    return fail(r, DPSIM_E_NOMEM, "needs more memory than is available");
}

/* Make sure n more bytes follow the opcode. */
static dpsim_status need(reader *r, uint64_t n)
{
    if (n > r->len - r->pos)
        return fail(r, DPSIM_E_FORMAT,
                    "is truncated or has an absurd length: %llu bytes needed, %zu left",
                    (unsigned long long)n, r->len - r->pos);
    return DPSIM_OK;
}

static uint64_t take_le(reader *r, int n) /* caller checked need(r, n) */
{
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; k--)
        v = v << 8 | r->buf[r->pos + k];
    r->pos += n;
    return v;
}

// ---- arena ----

static dpsim_status new_node(reader *r, pk_kind kind, uint32_t *out)
{
    pickle_doc *d = r->doc;
    if (d->n_nodes == d->cap_nodes) {
        if (d->cap_nodes >= MAX_NODES)
            return fail(r, DPSIM_E_LIMIT, "holds more than %u values", MAX_NODES);
        size_t cap = d->cap_nodes ? d->cap_nodes * 2 : 256;
        pk_node *grown = dp_realloc(d->nodes, cap * sizeof *grown);
        if (!grown)
            return nomem(r);
        d->nodes = grown;
        d->cap_nodes = cap;
    }
    pk_node *n = &d->nodes[d->n_nodes];
    memset(n, 0, sizeof *n);
    n->kind = (uint8_t)kind;
    *out = (uint32_t)d->n_nodes++;
    return DPSIM_OK;
}

static pk_node *node(reader *r, uint32_t i) { return &r->doc->nodes[i]; }

static const char *kind_word(pk_kind kind)
{
    switch (kind) {
    case PK_NONE:
        return "None";
    case PK_BOOL:
        return "a bool";
    case PK_INT:
        return "an int";
    case PK_BIGINT:
        return "a big int";
    case PK_FLOAT:
        return "a float";
    case PK_STR:
        return "a str";
    case PK_BYTES:
        return "bytes";
    case PK_TUPLE:
        return "a tuple";
    case PK_LIST:
        return "a list";
    case PK_DICT:
        return "a dict";
    case PK_GLOBAL:
        return "a global";
    case PK_STORAGE:
        return "a storage";
    case PK_TENSOR:
        return "a tensor";
    }
    return "a value";
}

const char *pickle_kind_name(const pickle_doc *doc, uint32_t i)
{
    return kind_word((pk_kind)doc->nodes[i].kind);
}

/* Store child in container (a tuple being built, a list or a dict). */
static dpsim_status adopt(reader *r, uint32_t parent, uint32_t child)
{
    pk_node *p = node(r, parent);
    if (child == parent)
        return fail(r, DPSIM_E_FORMAT, "builds a cycle (%s inside itself)", kind_word(p->kind));
    if (p->frozen)
        return fail(r, DPSIM_E_FORMAT,
                    "changes %s after storing it in another value (a possible cycle)",
                    kind_word(p->kind));
    if (r->slots >= MAX_SLOTS)
        return fail(r, DPSIM_E_LIMIT, "holds more than %u references", MAX_SLOTS);
    if (p->len == p->cap) {
        uint32_t cap = p->cap ? p->cap * 2 : 4;
        uint32_t *grown = dp_realloc(p->u.items, (size_t)cap * sizeof *grown);
        if (!grown)
            return nomem(r);
        p->u.items = grown;
        p->cap = cap;
    }
    p->u.items[p->len++] = child;
    node(r, child)->frozen = 1;
    r->slots++;
    return DPSIM_OK;
}

// ---- stack ----

static dpsim_status push(reader *r, uint32_t i)
{
    if (r->sp == r->stack_cap) {
        if (r->stack_cap >= MAX_STACK)
            return fail(r, DPSIM_E_LIMIT, "stack is deeper than %u values", MAX_STACK);
        size_t cap = r->stack_cap ? r->stack_cap * 2 : 256;
        uint32_t *grown = dp_realloc(r->stack, cap * sizeof *grown);
        if (!grown)
            return nomem(r);
        r->stack = grown;
        r->stack_cap = cap;
    }
    r->stack[r->sp++] = i;
    return DPSIM_OK;
}

static dpsim_status push_new(reader *r, pk_kind kind, uint32_t *out)
{
    dpsim_status s = new_node(r, kind, out);
    return s ? s : push(r, *out);
}

/* Values above the innermost mark, or 0 values when the opcode has to pop one. */
static size_t floor_of(const reader *r) { return r->n_marks ? r->marks[r->n_marks - 1] : 0; }

static dpsim_status pop(reader *r, uint32_t *out)
{
    if (r->sp <= floor_of(r))
        return fail(r, DPSIM_E_FORMAT, "pops from an empty stack");
    *out = r->stack[--r->sp];
    return DPSIM_OK;
}

static dpsim_status top(reader *r, uint32_t *out)
{
    if (r->sp <= floor_of(r))
        return fail(r, DPSIM_E_FORMAT, "reads from an empty stack");
    *out = r->stack[r->sp - 1];
    return DPSIM_OK;
}

/* Pop the innermost mark; the values above it are stack[*first .. sp). */
static dpsim_status pop_mark(reader *r, size_t *first)
{
    if (!r->n_marks)
        return fail(r, DPSIM_E_FORMAT, "needs a MARK that is not there");
    *first = r->marks[--r->n_marks];
    return DPSIM_OK;
}

// ---- scalars and strings ----

static dpsim_status push_int(reader *r, int64_t v)
{
    uint32_t i = 0;
    dpsim_status s = push_new(r, PK_INT, &i);
    if (!s)
        node(r, i)->u.i = v;
    return s;
}

/* Read a little-endian length of len_bytes bytes (a signed one must be >= 0). */
static dpsim_status read_len(reader *r, int len_bytes, int is_signed, uint64_t *n)
{
    dpsim_status s = need(r, (uint64_t)len_bytes);
    if (s)
        return s;
    *n = take_le(r, len_bytes);
    if (is_signed && *n >> 31)
        return fail(r, DPSIM_E_FORMAT, "has a negative length");
    return DPSIM_OK;
}

/* LONG1/LONG4: a length, then that many little-endian two's complement bytes. */
static dpsim_status push_long(reader *r, int len_bytes)
{
    uint64_t n = 0;
    dpsim_status s = read_len(r, len_bytes, len_bytes == 4, &n);
    if (s || (s = need(r, n)))
        return s;
    if (n > 8) {
        uint32_t i = 0;
        if ((s = push_new(r, PK_BIGINT, &i)))
            return s;
        node(r, i)->u.s.p = r->buf + r->pos;
        node(r, i)->u.s.n = (size_t)n;
        r->pos += (size_t)n;
        return DPSIM_OK;
    }
    uint64_t v = n ? take_le(r, (int)n) : 0;
    if (n && n < 8 && (v >> (8 * n - 1)) & 1) /* sign-extend */
        v |= ~(uint64_t)0 << (8 * n);
    int64_t sv;
    memcpy(&sv, &v, sizeof sv);
    return push_int(r, sv);
}

/* A str or bytes value of a length given in len_bytes bytes. */
static dpsim_status push_string(reader *r, pk_kind kind, int len_bytes, int is_signed)
{
    uint64_t n = 0;
    uint32_t i = 0;
    dpsim_status s = read_len(r, len_bytes, is_signed, &n);
    if (s || (s = need(r, n)) || (s = push_new(r, kind, &i)))
        return s;
    node(r, i)->u.s.p = r->buf + r->pos;
    node(r, i)->u.s.n = (size_t)n;
    r->pos += (size_t)n;
    return DPSIM_OK;
}

static dpsim_status push_float(reader *r) /* BINFLOAT: 8 bytes, big-endian */
{
    uint32_t i = 0;
    dpsim_status s = need(r, 8);
    if (s || (s = push_new(r, PK_FLOAT, &i)))
        return s;
    uint64_t bits = 0;
    for (int k = 0; k < 8; k++)
        bits = bits << 8 | r->buf[r->pos + k];
    r->pos += 8;
    memcpy(&node(r, i)->u.f, &bits, sizeof bits);
    return DPSIM_OK;
}

static int str_is(const pk_node *n, const char *s)
{
    return n->kind == PK_STR && n->u.s.n == strlen(s) && memcmp(n->u.s.p, s, n->u.s.n) == 0;
}

// ---- memo ----

static dpsim_status memo_put(reader *r, uint64_t key)
{
    uint32_t v = 0;
    dpsim_status s = top(r, &v);
    if (s)
        return s;
    if (key >= MAX_MEMO)
        return fail(r, DPSIM_E_LIMIT, "memo key %llu is above the limit of %u",
                    (unsigned long long)key, MAX_MEMO);
    if (key >= r->memo_cap) {
        size_t cap = r->memo_cap ? r->memo_cap : 256;
        while (cap <= key)
            cap *= 2;
        uint32_t *grown = dp_realloc(r->memo, cap * sizeof *grown);
        if (!grown)
            return nomem(r);
        memset(grown + r->memo_cap, 0, (cap - r->memo_cap) * sizeof *grown);
        r->memo = grown;
        r->memo_cap = cap;
    }
    if (!r->memo[key])
        r->memo_count++;
    r->memo[key] = v + 1;
    return DPSIM_OK;
}

static dpsim_status memo_get(reader *r, uint64_t key)
{
    if (key >= r->memo_cap || !r->memo[key])
        return fail(r, DPSIM_E_FORMAT, "reads memo key %llu, which was never stored",
                    (unsigned long long)key);
    return push(r, r->memo[key] - 1);
}

// ---- containers ----

/* TUPLE/LIST/DICT from stack[first..sp) (the values are consumed). */
static dpsim_status build_from(reader *r, pk_kind kind, size_t first)
{
    size_t n = r->sp - first;
    if (kind == PK_DICT && n % 2)
        return fail(r, DPSIM_E_FORMAT, "builds a dict from an odd number of values");
    uint32_t c = 0;
    dpsim_status s = new_node(r, kind, &c);
    for (size_t k = first; !s && k < r->sp; k++)
        s = adopt(r, c, r->stack[k]);
    if (s)
        return s;
    r->sp = first;
    return push(r, c);
}

static dpsim_status build_tuple_n(reader *r, size_t n)
{
    if (r->sp - floor_of(r) < n)
        return fail(r, DPSIM_E_FORMAT, "builds a %zu-tuple from fewer values", n);
    return build_from(r, PK_TUPLE, r->sp - n);
}

/* APPEND(S)/SETITEM(S): add stack[first..sp) to the list or dict at stack[first - 1]. */
static dpsim_status add_items(reader *r, size_t first, pk_kind want)
{
    if (first <= floor_of(r))
        return fail(r, DPSIM_E_FORMAT, "adds items with no container below them");
    uint32_t c = r->stack[first - 1];
    if (node(r, c)->kind != want)
        return fail(r, DPSIM_E_FORMAT, "adds items to %s, expected %s",
                    kind_word(node(r, c)->kind), kind_word(want));
    if (want == PK_DICT && (r->sp - first) % 2)
        return fail(r, DPSIM_E_FORMAT, "sets dict items from an odd number of values");
    for (size_t k = first; k < r->sp; k++) {
        dpsim_status s = adopt(r, c, r->stack[k]);
        if (s)
            return s;
    }
    r->sp = first;
    return DPSIM_OK;
}

/* APPEND/SETITEM: the last n values go into the container below them. */
static dpsim_status add_last(reader *r, size_t n, pk_kind want)
{
    if (r->sp - floor_of(r) < n + 1)
        return fail(r, DPSIM_E_FORMAT, "adds items with no container below them");
    return add_items(r, r->sp - n, want);
}

// ---- globals ----

/* Read one '\n'-terminated part of a GLOBAL operand. */
static dpsim_status global_part(reader *r, const uint8_t **p, size_t *n)
{
    size_t left = r->len - r->pos;
    size_t max = left < MAX_GLOBAL_PART + 1 ? left : MAX_GLOBAL_PART + 1;
    const uint8_t *nl = memchr(r->buf + r->pos, '\n', max);
    if (!nl)
        return fail(r, DPSIM_E_FORMAT, "has a GLOBAL name that is unterminated or too long");
    *p = r->buf + r->pos;
    *n = (size_t)(nl - *p);
    r->pos += *n + 1;
    return DPSIM_OK;
}

static dpsim_status push_global(reader *r, const uint8_t *module, size_t module_len,
                                const uint8_t *name, size_t name_len)
{
    const pk_global *g = find_global(module, module_len, name, name_len);
    if (!g) {
        char m[NAME_MSG_LEN], n[NAME_MSG_LEN];
        return err_set(r->e, DPSIM_E_FORMAT,
                       "refuses pickle global '%s.%s'; only tensor dicts are accepted",
                       name_for_msg(m, module, module_len), name_for_msg(n, name, name_len));
    }
    uint32_t i = 0;
    dpsim_status s = push_new(r, PK_GLOBAL, &i);
    if (!s)
        node(r, i)->u.global = g;
    return s;
}

static dpsim_status op_global(reader *r)
{
    const uint8_t *module = NULL, *name = NULL;
    size_t module_len = 0, name_len = 0;
    dpsim_status s = global_part(r, &module, &module_len);
    if (!s)
        s = global_part(r, &name, &name_len);
    return s ? s : push_global(r, module, module_len, name, name_len);
}

static dpsim_status op_stack_global(reader *r)
{
    uint32_t module = 0, name = 0;
    dpsim_status s = pop(r, &name);
    if (!s)
        s = pop(r, &module);
    if (s)
        return s;
    const pk_node *m = node(r, module), *n = node(r, name);
    if (m->kind != PK_STR || n->kind != PK_STR)
        return fail(r, DPSIM_E_FORMAT, "STACK_GLOBAL needs two strs");
    return push_global(r, m->u.s.p, m->u.s.n, n->u.s.p, n->u.s.n);
}

// ---- persistent ids ----

static int get_int(const pk_node *n, int64_t *v)
{
    if (n->kind != PK_INT || n->u.i < 0)
        return 0;
    *v = n->u.i;
    return 1;
}

/* ('storage', type, key, location, numel[, None | (view_key, offset, view_numel)]) */
static dpsim_status op_persid(reader *r)
{
    uint32_t pid = 0;
    dpsim_status s = pop(r, &pid);
    if (s)
        return s;
    const pk_node *t = node(r, pid);
    const uint32_t *it = t->u.items;
    if (t->kind != PK_TUPLE || (t->len != 5 && t->len != 6) || !str_is(node(r, it[0]), "storage"))
        return fail(r, DPSIM_E_FORMAT, "persistent id is not a ('storage', ...) tuple");
    const pk_node *type = node(r, it[1]), *key = node(r, it[2]), *loc = node(r, it[3]);
    pk_storage st = {0};
    if (type->kind != PK_GLOBAL || type->u.global->callable != CALL_NONE)
        return fail(r, DPSIM_E_FORMAT, "storage type is %s, expected a torch storage class",
                    kind_word(type->kind));
    if (key->kind != PK_STR || loc->kind != PK_STR || !get_int(node(r, it[4]), &st.numel))
        return fail(r, DPSIM_E_FORMAT, "storage id needs a str key, a str location and a size");
    st.type = type->u.global;
    st.key = key->u.s.p;
    st.key_len = key->u.s.n;
    st.view_numel = st.numel;
    if (t->len == 6 && node(r, it[5])->kind != PK_NONE) {
        const pk_node *v = node(r, it[5]);
        if (v->kind != PK_TUPLE || v->len != 3 || node(r, v->u.items[0])->kind != PK_STR ||
            !get_int(node(r, v->u.items[1]), &st.view_offset) ||
            !get_int(node(r, v->u.items[2]), &st.view_numel) ||
            st.view_numel > st.numel - st.view_offset || st.view_offset > st.numel)
            return fail(r, DPSIM_E_FORMAT, "storage view is not (key, offset, size) inside "
                                           "its storage");
    }
    pickle_doc *d = r->doc;
    if (d->n_storages == d->cap_storages) {
        size_t cap = d->cap_storages ? d->cap_storages * 2 : 64;
        pk_storage *grown = dp_realloc(d->storages, cap * sizeof *grown);
        if (!grown)
            return nomem(r);
        d->storages = grown;
        d->cap_storages = cap;
    }
    uint32_t i = 0;
    if ((s = push_new(r, PK_STORAGE, &i)))
        return s;
    d->storages[d->n_storages] = st;
    node(r, i)->u.aux = (uint32_t)d->n_storages++;
    return DPSIM_OK;
}

// ---- calls ----

/* A tuple of ndim non-negative ints into dims. */
static int get_dims(reader *r, uint32_t i, int64_t dims[TENSOR_MAX_DIMS], int *ndim)
{
    const pk_node *t = node(r, i);
    if (t->kind != PK_TUPLE || t->len > TENSOR_MAX_DIMS)
        return 0;
    for (uint32_t k = 0; k < t->len; k++)
        if (!get_int(node(r, t->u.items[k]), &dims[k]))
            return 0;
    *ndim = (int)t->len;
    return 1;
}

/* _rebuild_tensor(storage, offset, size, stride) and _v2(..., requires_grad, hooks[, meta]) */
static dpsim_status call_rebuild_tensor(reader *r, const pk_node *args, int v2)
{
    const uint32_t *a = args->u.items;
    int ok = v2 ? args->len == 6 || args->len == 7 : args->len == 4;
    if (!ok)
        return fail(r, DPSIM_E_FORMAT, "calls _rebuild_tensor with %u arguments", args->len);
    pk_tensor t = {0};
    int stride_dims = 0;
    if (node(r, a[0])->kind != PK_STORAGE || !get_int(node(r, a[1]), &t.offset) ||
        !get_dims(r, a[2], t.shape, &t.ndim) || !get_dims(r, a[3], t.stride, &stride_dims) ||
        stride_dims != t.ndim)
        return fail(r, DPSIM_E_FORMAT, "calls _rebuild_tensor without (storage, offset, size, "
                                       "stride) of at most %d dimensions", TENSOR_MAX_DIMS);
    t.storage = a[0];
    pickle_doc *d = r->doc;
    if (d->n_tensors == d->cap_tensors) {
        size_t cap = d->cap_tensors ? d->cap_tensors * 2 : 64;
        pk_tensor *grown = dp_realloc(d->tensors, cap * sizeof *grown);
        if (!grown)
            return nomem(r);
        d->tensors = grown;
        d->cap_tensors = cap;
    }
    uint32_t i = 0;
    dpsim_status s = push_new(r, PK_TENSOR, &i);
    if (s)
        return s;
    d->tensors[d->n_tensors] = t;
    node(r, i)->u.aux = (uint32_t)d->n_tensors++;
    return DPSIM_OK;
}

/* OrderedDict() or OrderedDict(iterable of (key, value) pairs) */
static dpsim_status call_ordered_dict(reader *r, const pk_node *args)
{
    if (args->len > 1)
        return fail(r, DPSIM_E_FORMAT, "calls OrderedDict with %u arguments", args->len);
    uint32_t n_args = args->len, pairs = n_args ? args->u.items[0] : 0, dict = 0;
    dpsim_status s = push_new(r, PK_DICT, &dict); /* may move the nodes: args is stale now */
    if (s || n_args == 0)
        return s;
    pk_kind kind = (pk_kind)node(r, pairs)->kind;
    if (kind != PK_LIST && kind != PK_TUPLE)
        return fail(r, DPSIM_E_FORMAT, "calls OrderedDict with %s, expected a list of pairs",
                    kind_word(kind));
    for (uint32_t k = 0; k < node(r, pairs)->len; k++) {
        const pk_node *pair = node(r, node(r, pairs)->u.items[k]);
        if ((pair->kind != PK_LIST && pair->kind != PK_TUPLE) || pair->len != 2)
            return fail(r, DPSIM_E_FORMAT, "calls OrderedDict with an item that is not a pair");
        uint32_t key = pair->u.items[0], value = pair->u.items[1];
        if ((s = adopt(r, dict, key)) || (s = adopt(r, dict, value)))
            return s;
    }
    return DPSIM_OK;
}

static dpsim_status op_reduce(reader *r)
{
    uint32_t fn = 0, args = 0;
    dpsim_status s = pop(r, &args);
    if (!s)
        s = pop(r, &fn);
    if (s)
        return s;
    const pk_node *f = node(r, fn), *a = node(r, args);
    if (f->kind != PK_GLOBAL || f->u.global->callable == CALL_NONE)
        return fail(r, DPSIM_E_FORMAT, "calls %s, which is not a whitelisted function",
                    f->kind == PK_GLOBAL ? f->u.global->name : kind_word(f->kind));
    if (a->kind != PK_TUPLE)
        return fail(r, DPSIM_E_FORMAT, "calls %s with %s, expected an argument tuple",
                    f->u.global->name, kind_word(a->kind));
    switch (f->u.global->callable) {
    case CALL_ORDERED_DICT:
        return call_ordered_dict(r, a);
    case CALL_REBUILD_TENSOR:
        return call_rebuild_tensor(r, a, 0);
    case CALL_REBUILD_TENSOR_V2:
        return call_rebuild_tensor(r, a, 1);
    default: /* _rebuild_parameter(data, requires_grad, hooks[, state]): the tensor itself */
        if (a->len != (f->u.global->callable == CALL_REBUILD_PARAMETER ? 3u : 4u) ||
            node(r, a->u.items[0])->kind != PK_TENSOR)
            return fail(r, DPSIM_E_FORMAT, "calls %s without a tensor", f->u.global->name);
        return push(r, a->u.items[0]);
    }
}

/* BUILD: only the attribute dict torch sets on an OrderedDict (_metadata), ignored. */
static dpsim_status op_build(reader *r)
{
    uint32_t state = 0, obj = 0;
    dpsim_status s = pop(r, &state);
    if (!s)
        s = top(r, &obj);
    if (s)
        return s;
    pk_kind sk = (pk_kind)node(r, state)->kind;
    if (node(r, obj)->kind != PK_DICT || (sk != PK_DICT && sk != PK_NONE && sk != PK_TUPLE))
        return fail(r, DPSIM_E_FORMAT, "sets the state of %s from %s, expected a dict's "
                                       "attributes", pickle_kind_name(r->doc, obj), kind_word(sk));
    return DPSIM_OK;
}

// ---- interpreter ----

static dpsim_status step(reader *r, uint8_t op, int *stop)
{
    dpsim_status s;
    uint32_t i = 0;
    size_t first = 0;
    switch (op) {
    case 0x80: /* PROTO */
        if ((s = need(r, 1)))
            return s;
        if (r->buf[r->pos] > 5)
            return fail(r, DPSIM_E_FORMAT, "protocol %d is not supported, expected 2 to 5",
                        r->buf[r->pos]);
        r->pos++;
        return DPSIM_OK;
    case 0x95: /* FRAME: a length hint, checked and skipped */
        if ((s = need(r, 8)))
            return s;
        return need(r, take_le(r, 8));
    case '.': /* STOP */
        if (r->n_marks || r->sp != 1)
            return fail(r, DPSIM_E_FORMAT, "stops with %zu values and %zu marks, expected one "
                                           "value", r->sp, r->n_marks);
        r->doc->root = r->stack[0];
        *stop = 1;
        return DPSIM_OK;
    case '(': /* MARK */
        if (r->n_marks == MAX_MARKS)
            return fail(r, DPSIM_E_LIMIT, "nests deeper than %d marks", MAX_MARKS);
        r->marks[r->n_marks++] = r->sp;
        return DPSIM_OK;
    case '0': /* POP */
        return pop(r, &i);
    case '1': /* POP_MARK */
        if ((s = pop_mark(r, &first)))
            return s;
        r->sp = first;
        return DPSIM_OK;
    case '2': /* DUP */
        return (s = top(r, &i)) ? s : push(r, i);
    case 'N':
        return push_new(r, PK_NONE, &i);
    case 0x88: /* NEWTRUE */
    case 0x89: /* NEWFALSE */
        if (!(s = push_new(r, PK_BOOL, &i)))
            node(r, i)->u.i = op == 0x88;
        return s;
    case 'J': /* BININT: signed */
        if ((s = need(r, 4)))
            return s;
        {
            int64_t v = (int64_t)take_le(r, 4);
            return push_int(r, v >= 0x80000000 ? v - 0x100000000 : v);
        }
    case 'K': /* BININT1 */
        return (s = need(r, 1)) ? s : push_int(r, (int64_t)take_le(r, 1));
    case 'M': /* BININT2 */
        return (s = need(r, 2)) ? s : push_int(r, (int64_t)take_le(r, 2));
    case 0x8a: /* LONG1 */
        return push_long(r, 1);
    case 0x8b: /* LONG4 */
        return push_long(r, 4);
    case 'G': /* BINFLOAT */
        return push_float(r);
    case 'U': /* SHORT_BINSTRING (a Python 2 str) */
        return push_string(r, PK_STR, 1, 0);
    case 'T': /* BINSTRING */
        return push_string(r, PK_STR, 4, 1);
    case 0x8c: /* SHORT_BINUNICODE */
        return push_string(r, PK_STR, 1, 0);
    case 'X': /* BINUNICODE */
        return push_string(r, PK_STR, 4, 0);
    case 0x8d: /* BINUNICODE8 */
        return push_string(r, PK_STR, 8, 0);
    case 'C': /* SHORT_BINBYTES */
        return push_string(r, PK_BYTES, 1, 0);
    case 'B': /* BINBYTES */
        return push_string(r, PK_BYTES, 4, 0);
    case 0x8e: /* BINBYTES8 */
        return push_string(r, PK_BYTES, 8, 0);
    case ')': /* EMPTY_TUPLE */
        return push_new(r, PK_TUPLE, &i);
    case 0x85: /* TUPLE1 */
    case 0x86: /* TUPLE2 */
    case 0x87: /* TUPLE3 */
        return build_tuple_n(r, (size_t)(op - 0x84));
    case 't': /* TUPLE */
        return (s = pop_mark(r, &first)) ? s : build_from(r, PK_TUPLE, first);
    case ']': /* EMPTY_LIST */
        return push_new(r, PK_LIST, &i);
    case 'l': /* LIST */
        return (s = pop_mark(r, &first)) ? s : build_from(r, PK_LIST, first);
    case 'a': /* APPEND */
        return add_last(r, 1, PK_LIST);
    case 'e': /* APPENDS */
        return (s = pop_mark(r, &first)) ? s : add_items(r, first, PK_LIST);
    case '}': /* EMPTY_DICT */
        return push_new(r, PK_DICT, &i);
    case 'd': /* DICT */
        return (s = pop_mark(r, &first)) ? s : build_from(r, PK_DICT, first);
    case 's': /* SETITEM */
        return add_last(r, 2, PK_DICT);
    case 'u': /* SETITEMS */
        return (s = pop_mark(r, &first)) ? s : add_items(r, first, PK_DICT);
    case 'q': /* BINPUT */
        return (s = need(r, 1)) ? s : memo_put(r, take_le(r, 1));
    case 'r': /* LONG_BINPUT */
        return (s = need(r, 4)) ? s : memo_put(r, take_le(r, 4));
    case 0x94: /* MEMOIZE */
        return memo_put(r, r->memo_count);
    case 'h': /* BINGET */
        return (s = need(r, 1)) ? s : memo_get(r, take_le(r, 1));
    case 'j': /* LONG_BINGET */
        return (s = need(r, 4)) ? s : memo_get(r, take_le(r, 4));
    case 'c': /* GLOBAL */
        return op_global(r);
    case 0x93: /* STACK_GLOBAL */
        return op_stack_global(r);
    case 'R': /* REDUCE */
        return op_reduce(r);
    case 'b': /* BUILD */
        return op_build(r);
    case 'Q': /* BINPERSID */
        return op_persid(r);
    default:
        if (op > 0x20 && op < 0x7f)
            return fail(r, DPSIM_E_FORMAT, "opcode '%c' (0x%02x) is not supported in a tensor "
                                           "dict", op, op);
        return fail(r, DPSIM_E_FORMAT, "opcode 0x%02x is not supported in a tensor dict", op);
    }
}

dpsim_status pickle_read(pickle_doc *doc, const uint8_t *buf, size_t len, size_t *pos,
                         errbuf *e)
{
    memset(doc, 0, sizeof *doc);
    reader r = {.buf = buf, .len = len, .pos = *pos, .doc = doc, .e = e};
    dpsim_status s = DPSIM_OK;
    int stop = 0;
    while (!s && !stop) {
        r.op_pos = r.pos;
        if (r.pos >= r.len) {
            s = fail(&r, DPSIM_E_FORMAT, "ends before its STOP opcode");
            break;
        }
        s = step(&r, r.buf[r.pos++], &stop);
    }
    dp_free(r.stack);
    dp_free(r.memo);
    if (s) {
        pickle_doc_free(doc);
        return s;
    }
    *pos = r.pos;
    return DPSIM_OK;
}

void pickle_doc_free(pickle_doc *doc)
{
    for (size_t i = 0; i < doc->n_nodes; i++) {
        pk_kind k = (pk_kind)doc->nodes[i].kind;
        if (k == PK_TUPLE || k == PK_LIST || k == PK_DICT)
            dp_free(doc->nodes[i].u.items);
    }
    dp_free(doc->nodes);
    dp_free(doc->storages);
    dp_free(doc->tensors);
    memset(doc, 0, sizeof *doc);
}
