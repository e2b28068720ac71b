/*
 * test_checkpoint.c - the PyTorch checkpoint reader: torch-written fixtures
 * (legacy and zip) against the values torch printed into expected.txt,
 * hostile files that must be refused with a specific message, truncations
 * and byte flips of every good fixture, and the real weights when
 * $DPSIM_WEIGHTS is set.
 */
#include "../check.h"
#include "testutil.h"

// ---- expected.txt ----

/*
 * expected.txt holds sections; "fixture F N" and "real F N TOTAL" open one
 * (the file read into cur), the lines after it check cur.
 */
typedef struct section {
    tensor_list list;
    int open; /* the file was read */
    size_t next; /* index of the tensor the next "tensor" line describes */
    char file[256];
} section;

static void close_section(section *sec)
{
    tensor_list_free(&sec->list);
    sec->open = 0;
    sec->next = 0;
}

static const tensor *check_shape(const tensor *t, char **tok)
{
    int ndim = atoi(tok[0]);
    CHECK_MSG(t->ndim == ndim, "%s: ndim %d, expected %d", t->name, t->ndim, ndim);
    for (int d = 0; d < ndim && d < t->ndim; d++)
        CHECK_MSG(t->shape[d] == atoll(tok[1 + d]), "%s: dim %d is %lld, expected %s", t->name,
                  d, (long long)t->shape[d], tok[1 + d]);
    return t;
}

/* tensor NAME NDIM D0.. NUMEL V0 V1 ...: the next tensor of a fixture, values bit-exact */
static void check_tensor_line(section *sec, char **tok, int n)
{
    if (!sec->open)
        return;
    CHECK_MSG(sec->next < sec->list.count, "%s: too few tensors", sec->file);
    if (sec->next >= sec->list.count)
        return;
    const tensor *t = &sec->list.items[sec->next++];
    CHECK_MSG(strcmp(t->name, tok[1]) == 0, "%s: tensor '%s', expected '%s'", sec->file, t->name,
              tok[1]);
    check_shape(t, tok + 2);
    int ndim = atoi(tok[2]);
    size_t numel = (size_t)atoll(tok[3 + ndim]);
    CHECK_MSG(t->numel == numel && n == 4 + ndim + (int)numel, "%s: %s numel %zu, expected %zu",
              sec->file, t->name, t->numel, numel);
    int bad = 0;
    for (size_t k = 0; k < numel && k < t->numel && 4 + ndim + (int)k < n; k++)
        bad += t->data[k] != (float)strtod(tok[4 + ndim + k], NULL);
    CHECK_MSG(bad == 0, "%s: %s has %d values that differ from torch", sec->file, t->name, bad);
}

static void check_real_line(section *sec, char **tok)
{
    if (!sec->open)
        return;
    const tensor *t = tensor_list_find(&sec->list, tok[2]);
    CHECK_MSG(t != NULL, "%s: no tensor '%s'", sec->file, tok[2]);
    if (!t)
        return;
    if (strcmp(tok[0], "rshape") == 0) {
        check_shape(t, tok + 3);
    } else if (strcmp(tok[0], "rvalue") == 0) {
        size_t k = (size_t)atoll(tok[3]);
        CHECK(k < t->numel);
        if (k < t->numel)
            CHECK_MSG(t->data[k] == (float)strtod(tok[4], NULL), "%s: %s[%zu] = %.9g, torch %s",
                      sec->file, t->name, k, t->data[k], tok[4]);
    } else {
        double sum = 0;
        for (size_t k = 0; k < t->numel; k++)
            sum += t->data[k];
        CHECK_REL(sum, strtod(tok[3], NULL), 1e-9, 1e-12);
    }
}

static void open_section(section *sec, const char *path, const char *file, size_t count)
{
    errbuf e = {{0}};
    snprintf(sec->file, sizeof sec->file, "%s", file);
    dpsim_status s = weights_read_file(path, &sec->list, &e);
    CHECK_MSG(s == DPSIM_OK, "%s: %s", file, e.msg);
    sec->open = s == DPSIM_OK;
    if (sec->open)
        CHECK_MSG(sec->list.count == count, "%s: %zu tensors, expected %zu", file,
                  sec->list.count, count);
}

static void run_expected(int *n_fixtures, int *n_real)
{
    size_t len;
    uint8_t *buf = read_fixture("expected.txt", &len);
    CHECK(buf != NULL);
    if (!buf)
        return;
    char *text = dp_malloc(len + 1);
    memcpy(text, buf, len);
    text[len] = '\0';
    dp_free(buf);
    const char *weights = getenv("DPSIM_WEIGHTS");
    section sec = {0};
    char *line_save, *line;
    static char *tok[1 << 14];
    for (line = strtok_r(text, "\n", &line_save); line; line = strtok_r(NULL, "\n", &line_save)) {
        if (line[0] == '#')
            continue;
        int n = 0;
        char *tok_save;
        for (char *t = strtok_r(line, " ", &tok_save); t && n < (int)(sizeof tok / sizeof *tok);
             t = strtok_r(NULL, " ", &tok_save))
            tok[n++] = t;
        if (strcmp(tok[0], "fixture") == 0) {
            close_section(&sec);
            open_section(&sec, fixture_path(tok[1]), tok[1], (size_t)atoll(tok[2]));
            ++*n_fixtures;
        } else if (strcmp(tok[0], "tensor") == 0) {
            check_tensor_line(&sec, tok, n);
        } else if (strcmp(tok[0], "real") == 0) {
            close_section(&sec);
            if (weights && *weights) {
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", weights, tok[1]);
                open_section(&sec, path, tok[1], (size_t)atoll(tok[2]));
                size_t total = 0;
                for (size_t k = 0; k < sec.list.count; k++)
                    total += sec.list.items[k].numel;
                if (sec.open)
                    CHECK_MSG(total == (size_t)atoll(tok[3]), "%s: %zu parameters, expected %s",
                              tok[1], total, tok[3]);
                ++*n_real;
            }
        } else {
            check_real_line(&sec, tok);
        }
    }
    close_section(&sec);
    dp_free(text);
}

// ---- real weights: structure the model loader relies on ----

static void test_real_structure(const char *weights)
{
    char path[4096];
    errbuf e = {{0}};
    tensor_list l = {0};
    snprintf(path, sizeof path, "%s/lpips/v0.1/alex.pth", weights);
    CHECK_MSG(weights_read_file(path, &l, &e) == DPSIM_OK, "%s", e.msg);
    static const int64_t channels[5] = {64, 192, 384, 256, 256};
    for (int k = 0; k < 5; k++) {
        char name[64];
        snprintf(name, sizeof name, "lin%d.model.1.weight", k);
        const tensor *t = tensor_list_find(&l, name);
        CHECK_MSG(t && t->ndim == 4 && t->shape[0] == 1 && t->shape[1] == channels[k] &&
                      t->shape[2] == 1 && t->shape[3] == 1,
                  "alex.pth: %s missing or misshapen", name);
    }
    tensor_list_free(&l);
    snprintf(path, sizeof path, "%s/squeezenet1_1/features.pth", weights);
    CHECK_MSG(weights_read_file(path, &l, &e) == DPSIM_OK, "%s", e.msg);
    CHECK(l.count == 50 && strcmp(l.items[0].name, "0.weight") == 0);
    tensor_list_free(&l);
}

// ---- hostile files ----

static const struct {
    const char *file, *needle;
} hostile[] = {
    {"bad_os_system.pth", "refuses pickle global 'os.system'; only tensor dicts are accepted"},
    {"bad_eval.pth", "refuses pickle global 'builtins.eval'"},
    {"bad_getattr.pth", "refuses pickle global '__builtin__.getattr'"},
    {"bad_zip_os_system.pt", "refuses pickle global 'os.system'"},
    {"bad_huge_string.pth", "absurd length: 2147483648 bytes needed"},
    {"bad_cycle.pth", "builds a cycle (a list inside itself)"},
    {"bad_cycle2.pth", "changes a list after storing it in another value (a possible cycle)"},
    {"bad_storage_count.pth", "needs 1099511627776 elements of 4 bytes"},
    {"bad_unlisted_storage.pth", "storage '0' is not in the file's storage list"},
    {"bad_unused_storage.pth", "storage '1' is listed but no tensor uses it"},
    {"bad_missing_data.pth", "before storage '1'"},
    {"bad_view_oob.pth", "tensor 'w' reaches element 9 of a storage of 4 elements"},
    {"bad_stride_oob.pth", "tensor 'w' reaches element 4 of a storage of 4 elements"},
    {"bad_toplevel_list.pth", "top-level object is a list, expected a dict of tensors"},
    {"bad_int_key.pth", "key 0 is an int, expected a str"},
    {"bad_dup_key.pth", "duplicate tensor name 'a'"},
    {"bad_trailing.pth", "4 unexpected bytes after the last storage"},
    {"bad_nontensor.pth", "'lr' is a float, expected a tensor"},
    {"bad_long_tensor.pth", "tensor 'idx' has dtype int64 (torch.LongStorage)"},
    {"bad_nested.pt", "'model' is a dict, expected a tensor"},
    {"bad_zip_deflate.pt", "is compressed (method 8), expected stored entries"},
    {"bad_zip_offset.pt", "has local header offset"},
    {"bad_zip_crc.pt", "fails its CRC-32 check"},
    {"bad_zip_bigendian.pt", "byteorder is not 'little'"},
    {"bad_expand_bomb.pth", "tensor 'w' (268435456 elements) makes the output larger"},
};

static void test_hostile_files(void)
{
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        tensor_list l = {0};
        errbuf e = {{0}};
        const char *path = fixture_path(hostile[i].file);
        dpsim_status s = weights_read_file(path, &l, &e);
        CHECK_MSG(s != DPSIM_OK, "%s was accepted", hostile[i].file);
        CHECK_MSG(strstr(e.msg, hostile[i].needle) != NULL, "%s: message '%s' lacks '%s'",
                  hostile[i].file, e.msg, hostile[i].needle);
        CHECK_MSG(strncmp(e.msg, "checkpoint '", 12) == 0, "%s: message '%s'", hostile[i].file,
                  e.msg);
        CHECK(list_is_empty(&l));
    }
}

/* Magic number, protocol version and an empty sys info dict: a legacy header. */
static size_t legacy_header(uint8_t *out)
{
    static const uint8_t head[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20,
                                   0x6a, 0xa8, 0x50, 0x19, '.',  0x80, 0x02, 'M',  0xe9, 0x03,
                                   '.',  0x80, 0x02, '}',  '.',  0x80, 0x02};
    memcpy(out, head, sizeof head);
    return sizeof head;
}

/* A legacy file whose object pickle is body (then STOP): must fail naming needle. */
static void check_body(const char *what, const uint8_t *body, size_t n, const char *needle)
{
    uint8_t *buf = dp_malloc(n + 64);
    size_t len = legacy_header(buf);
    memcpy(buf + len, body, n);
    len += n;
    buf[len++] = '.';
    tensor_list l = {0};
    errbuf e = {{0}};
    dpsim_status s = checkpoint_read_memory(buf, len, &l, &e);
    CHECK_MSG(s != DPSIM_OK && strstr(e.msg, needle), "%s: status %d, message '%s'", what, s,
              e.msg);
    CHECK(list_is_empty(&l));
    dp_free(buf);
}

static void test_hostile_memory(void)
{
    size_t n = 1000000;
    uint8_t *body = dp_malloc(2 * n + 16);
    memset(body, '(', n);
    check_body("10^6 MARKs", body, n, "nests deeper than 256 marks");
    memset(body, ']', n);
    check_body("10^6 EMPTY_LISTs", body, n, "stack is deeper than");
    body[0] = ']'; /* 10^6 fresh lists appended to one: a valid list, then no storage list */
    for (size_t k = 0; k < n; k++) {
        body[1 + 2 * k] = ']';
        body[2 + 2 * k] = 'a';
    }
    check_body("10^6 APPENDs", body, 1 + 2 * n, "ends before its STOP opcode");
    memcpy(body, "]q\x00", 3); /* BINPUT then 10^6 BINGETs */
    for (size_t k = 0; k < n; k++)
        memcpy(body + 3 + 2 * k, "h\x00", 2);
    check_body("10^6 BINGETs", body, 3 + 2 * n, "stack is deeper than");
    dp_free(body);

    check_body("LONG_BINPUT 2^32-1", (const uint8_t *)"]r\xff\xff\xff\xff", 6, "memo key");
    check_body("unset memo", (const uint8_t *)"h\x05", 2, "never stored");
    check_body("dict into itself", (const uint8_t *)"}q\x00X\x01\x00\x00\x00kh\x00s", 12,
               "cycle");
    check_body("APPEND with no list", (const uint8_t *)"Na", 2, "no container");
    check_body("SETITEM on a list", (const uint8_t *)"]NNs", 4, "expected a dict");
    check_body("TUPLE without MARK", (const uint8_t *)"Nt", 2, "needs a MARK");
    check_body("STOP with two values", (const uint8_t *)"NN", 2, "stops with 2 values");
    check_body("protocol 6", (const uint8_t *)"\x80\x06N", 3, "protocol 6");
    check_body("unknown opcode", (const uint8_t *)"I12\n", 4, "opcode 'I'");
    check_body("REDUCE on a storage class",
               (const uint8_t *)"ctorch\nFloatStorage\n)R", 22, "not a whitelisted function");
    check_body("REDUCE on an int", (const uint8_t *)"K\x01)R", 4, "an int, which is not");
    check_body("BUILD on a list", (const uint8_t *)"]}b", 3, "sets the state of a list");
    check_body("bad persistent id", (const uint8_t *)"NQ", 2, "persistent id");
    check_body("GLOBAL without newline", (const uint8_t *)"cos", 3, "unterminated");
    check_body("negative BINSTRING", (const uint8_t *)"T\xff\xff\xff\xff", 5, "negative length");
    check_body("negative LONG4", (const uint8_t *)"\x8b\x00\x00\x00\x80", 5, "negative length");
    check_body("huge BINUNICODE8", (const uint8_t *)"\x8d\xff\xff\xff\xff\xff\xff\xff\xff", 9,
               "absurd length");
    check_body("huge FRAME", (const uint8_t *)"\x95\x00\x00\x00\x00\x00\x00\x01\x00", 9,
               "absurd length");

    tensor_list l = {0};
    errbuf e = {{0}};
    CHECK(checkpoint_read_memory((const uint8_t *)"", 0, &l, &e) == DPSIM_E_FORMAT);
    CHECK(strstr(e.msg, "expected a torch.save file") != NULL);
    CHECK(checkpoint_read_memory((const uint8_t *)"PK\x03\x04", 4, &l, &e) == DPSIM_E_FORMAT);
    CHECK(strstr(e.msg, "zip:") != NULL);
    CHECK(checkpoint_read_memory(NULL, 0, &l, &e) == DPSIM_E_INVAL);
    CHECK(weights_read_file("fixtures/no-such-file.pth", &l, &e) == DPSIM_E_IO);
    CHECK(list_is_empty(&l));
}

// ---- damaged copies of the good fixtures ----

static const char *good[] = {
    "legacy_mixed.pth", "zip_mixed.pt", "legacy_module.pth", "zip_module.pt",
    "legacy_param.pth", "zip_param.pt", "legacy_proto4.pth", "zip_proto4.pt",
    "zip64_param.pt",   "legacy_view.pth",   "zip_byteorder.pt",
};

/* float32 tensors read in place are the ones read by copy (model loading reads this way). */
static void test_views(void)
{
    int views = 0;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        size_t len;
        uint8_t *buf = read_fixture(good[i], &len);
        CHECK(buf != NULL);
        if (buf)
            views += check_views_match(good[i], buf, len);
        dp_free(buf);
    }
    CHECK_MSG(views > 0, "no float32 tensor of the fixtures was read in place");
}

/* Every proper prefix must fail cleanly; every single-byte flip must not crash. */
static void test_damage(void)
{
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        size_t len;
        uint8_t *buf = read_fixture(good[i], &len);
        CHECK(buf != NULL);
        if (!buf)
            continue;
        int accepted = 0, silent = 0;
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *copy = dp_malloc(cut ? cut : 1); /* exact size: ASan sees overreads */
            memcpy(copy, buf, cut);
            tensor_list l = {0};
            errbuf e = {{0}};
            dpsim_status s = checkpoint_read_memory(copy, cut, &l, &e);
            accepted += s == DPSIM_OK;
            silent += s != DPSIM_OK && e.msg[0] == '\0';
            tensor_list_free(&l);
            dp_free(copy);
        }
        CHECK_MSG(accepted == 0 && silent == 0, "%s: %d truncations accepted, %d without message",
                  good[i], accepted, silent);
        silent = 0;
        for (size_t at = 0; at < len; at++) {
            static const uint8_t flips[] = {0xff, 0x01, 0x80};
            for (size_t f = 0; f < sizeof flips; f++) {
                buf[at] ^= flips[f];
                tensor_list l = {0};
                errbuf e = {{0}};
                silent += checkpoint_read_memory(buf, len, &l, &e) != DPSIM_OK && !e.msg[0];
                tensor_list_free(&l);
                buf[at] ^= flips[f];
            }
        }
        CHECK_MSG(silent == 0, "%s: %d byte flips failed without a message", good[i], silent);
        dp_free(buf);
    }
}

int main(void)
{
    int n_fixtures = 0, n_real = 0;
    run_expected(&n_fixtures, &n_real);
    CHECK(n_fixtures >= 12);
    test_hostile_files();
    test_hostile_memory();
    test_views();
    test_damage();
    const char *weights = getenv("DPSIM_WEIGHTS");
    if (weights && *weights) {
        CHECK_MSG(n_real == 4, "%d real weight files checked, expected 4", n_real);
        test_real_structure(weights);
    } else {
        printf("DPSIM_WEIGHTS is not set: real weight files not checked\n");
    }
    printf("%d fixtures and %d real weight files compared with torch\n", n_fixtures, n_real);
    return check_report();
}
