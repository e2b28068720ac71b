/*
 * test_safetensors.c - safetensors write/read round trips (bit-exact values,
 * metadata kept), hostile headers that must be refused with a specific
 * message, truncations of a fixture, and the shared tensor list helpers.
 */
#include <math.h>
#include <unistd.h>

#include "../check.h"
#include "testutil.h"

// ---- tensor list and dtype helpers ----

static void test_list(void)
{
    tensor_list l = {0};
    errbuf e = {{0}};
    const int64_t shape[2] = {2, 3}, bad[2] = {2, -1}, huge[2] = {INT64_MAX, INT64_MAX};
    const float v[6] = {1, 2, 3, 4, 5, 6};
    CHECK(tensor_list_add(&l, "a", 2, shape, v, &e) == DPSIM_OK);
    CHECK(tensor_list_add(&l, "b", 2, shape, NULL, &e) == DPSIM_OK);
    CHECK(tensor_list_add(&l, "c", 0, NULL, NULL, &e) == DPSIM_OK);
    CHECK(tensor_list_add(&l, "x", 2, bad, NULL, &e) == DPSIM_E_SHAPE);
    CHECK(strstr(e.msg, "dimension 1 is -1") != NULL);
    CHECK(tensor_list_add(&l, "x", 9, shape, NULL, &e) == DPSIM_E_SHAPE);
    CHECK(tensor_list_add(&l, "x", 2, huge, NULL, &e) == DPSIM_E_SHAPE);
    CHECK(l.count == 3 && l.items[2].numel == 1 && l.items[2].data[0] == 0.0f);
    CHECK(l.items[1].data[5] == 0.0f && l.items[0].data[5] == 6.0f);
    CHECK(tensor_list_find(&l, "b") == &l.items[1] && tensor_list_find(&l, "z") == NULL);
    CHECK(tensor_list_check_unique(&l, &e) == DPSIM_OK);
    CHECK(tensor_list_add(&l, "a", 0, NULL, NULL, &e) == DPSIM_OK);
    CHECK(tensor_list_check_unique(&l, &e) == DPSIM_E_FORMAT);
    CHECK(strcmp(e.msg, "duplicate tensor name 'a'") == 0);
    tensor_list_free(&l);
    CHECK(list_is_empty(&l));
    tensor_list_free(NULL);

    char out[NAME_MSG_LEN], longname[300];
    CHECK(strcmp(name_for_msg(out, "a\nb\x80", 4), "a?b?") == 0);
    memset(longname, 'x', sizeof longname);
    CHECK(strlen(name_for_msg(out, longname, sizeof longname)) == NAME_MSG_LEN - 1);
    CHECK(strcmp(out + NAME_MSG_LEN - 4, "...") == 0);
}

static void test_convert(void)
{
    /* float16: 1, -2, 65504, smallest subnormal, -0, inf, nan */
    const uint8_t h[] = {0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00,
                         0x00, 0x80, 0x00, 0x7c, 0x01, 0x7e};
    float f[7];
    tensor_convert(f, h, 7, TENSOR_F16);
    CHECK(f[0] == 1.0f && f[1] == -2.0f && f[2] == 65504.0f && f[3] == 0x1p-24f);
    CHECK(f[4] == 0.0f && signbit(f[4]) && isinf(f[5]) && f[5] > 0 && isnan(f[6]));
    const uint8_t bf[] = {0x80, 0x3f, 0x49, 0xc0}; /* 1.0, -3.140625 */
    tensor_convert(f, bf, 2, TENSOR_BF16);
    CHECK(f[0] == 1.0f && f[1] == -3.140625f);
    double d[3] = {0.1, 1e300, -1e300};
    uint8_t raw[24];
    for (int k = 0; k < 3; k++) { /* little-endian bytes, whatever the host order */
        uint64_t bits;
        memcpy(&bits, &d[k], 8);
        for (int b = 0; b < 8; b++)
            raw[8 * k + b] = (uint8_t)(bits >> (8 * b));
    }
    tensor_convert(f, raw, 3, TENSOR_F64);
    CHECK(f[0] == 0.1f && isinf(f[1]) && f[1] > 0 && isinf(f[2]) && f[2] < 0);
    CHECK(tensor_dtype_size(TENSOR_F64) == 8 && tensor_dtype_size(TENSOR_BF16) == 2);
}

// ---- round trip ----

static const char *temp_path(void)
{
    static char path[4096];
    const char *dir = getenv("DPSIM_BUILD_ROOT");
    if (!dir || !*dir)
        dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    snprintf(path, sizeof path, "%s/test_safetensors_%ld.safetensors", dir, (long)getpid());
    return path;
}

static void test_round_trip(void)
{
    tensor_list l = {0}, back = {0};
    errbuf e = {{0}};
    const int64_t s4[4] = {1, 3, 2, 2}, s1[1] = {5}, s0[2] = {0, 3};
    float a[12], b[5] = {-0.0f, INFINITY, -INFINITY, 0x1p-149f, 3.0f};
    uint32_t nan_bits = 0x7fc12345u;
    for (int k = 0; k < 12; k++)
        a[k] = (float)k * 0.37f - 2.0f;
    memcpy(&b[4], &nan_bits, 4);
    CHECK(tensor_list_add(&l, "features.0.weight", 4, s4, a, &e) == DPSIM_OK);
    CHECK(tensor_list_add(&l, "odd \"name\"\\\n\x01 \xc3\xa9", 1, s1, b, &e) == DPSIM_OK);
    CHECK(tensor_list_add(&l, "empty", 2, s0, NULL, &e) == DPSIM_OK);
    CHECK(tensor_list_add(&l, "scalar", 0, NULL, &b[4], &e) == DPSIM_OK);
    const char *meta = "{\"net\":\"squeeze\",\"note\":\"a \\\"b\\\" \\u00e9\"}";
    const char *path = temp_path();
    CHECK_MSG(safetensors_write_file(path, &l, meta, &e) == DPSIM_OK, "%s", e.msg);
    CHECK_MSG(weights_read_file(path, &back, &e) == DPSIM_OK, "%s", e.msg);
    CHECK(back.count == l.count);
    for (size_t i = 0; i < l.count && i < back.count; i++) {
        const tensor *x = &l.items[i], *y = &back.items[i];
        CHECK(strcmp(x->name, y->name) == 0 && x->ndim == y->ndim && x->numel == y->numel);
        CHECK(memcmp(x->shape, y->shape, sizeof x->shape[0] * (size_t)x->ndim) == 0);
        CHECK_MSG(memcmp(x->data, y->data, x->numel * sizeof(float)) == 0, "%s differs",
                  x->name);
    }
    CHECK(back.metadata && strcmp(back.metadata, meta) == 0);
    tensor_list_free(&back);

    /* the header is padded to 8 bytes and weights_read_file detects the format */
    size_t len;
    uint8_t *buf;
    CHECK(file_read_all(path, 1 << 20, &buf, &len, &e) == DPSIM_OK);
    uint64_t n = 0;
    for (int k = 7; k >= 0; k--)
        n = n << 8 | buf[k];
    CHECK(n % 8 == 0 && buf[8] == '{' && len == 8 + n + (12 + 5 + 0 + 1) * 4);
    dp_free(buf);
    CHECK(weights_read_file(path, &back, &e) == DPSIM_OK && back.count == 4);
    tensor_list_free(&back);

    /* no metadata: none read back */
    CHECK(safetensors_write_file(path, &l, NULL, &e) == DPSIM_OK);
    CHECK(weights_read_file(path, &back, &e) == DPSIM_OK && back.metadata == NULL);
    tensor_list_free(&back);

    /* refused writes leave the previous file alone */
    CHECK(safetensors_write_file(path, &l, "{\"a\":1}", &e) == DPSIM_E_INVAL);
    CHECK(strstr(e.msg, "metadata is not a JSON object of string values") != NULL);
    CHECK(safetensors_write_file(path, &l, "{} x", &e) == DPSIM_E_INVAL);
    CHECK(tensor_list_add(&l, "empty", 0, NULL, NULL, &e) == DPSIM_OK);
    CHECK(safetensors_write_file(path, &l, NULL, &e) == DPSIM_E_INVAL);
    CHECK(strstr(e.msg, "duplicate tensor name 'empty'") != NULL);
    tensor_list_free(&l);
    CHECK(tensor_list_add(&l, "__metadata__", 0, NULL, NULL, &e) == DPSIM_OK);
    CHECK(safetensors_write_file(path, &l, NULL, &e) == DPSIM_E_INVAL);
    CHECK(weights_read_file(path, &back, &e) == DPSIM_OK && back.count == 4);
    tensor_list_free(&back);
    tensor_list_free(&l);
    CHECK(safetensors_write_file("/nonexistent-dir/x.safetensors", &l, NULL, &e) == DPSIM_E_IO);
    unlink(path);
}

// ---- hostile headers ----

/* 8-byte length of header, header, then data_len bytes of data. */
static dpsim_status read_st(const char *header, size_t data_len, errbuf *e)
{
    size_t n = strlen(header), len = 8 + n + data_len;
    uint8_t *buf = dp_calloc(len, 1);
    for (int k = 0; k < 8; k++)
        buf[k] = (uint8_t)((uint64_t)n >> (8 * k));
    memcpy(buf + 8, header, n);
    tensor_list l = {0};
    dpsim_status s = safetensors_read_memory(buf, len, &l, e);
    tensor_list_free(&l);
    dp_free(buf);
    return s;
}

static const struct {
    const char *header;
    size_t data_len;
    const char *needle;
} bad_headers[] = {
    {"[1,2]", 0, "has '[', expected '{'"},
    {"", 0, "ends early, expected '{'"},
    {"{\"a", 0, "unterminated string"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4,
     "data offsets [0, 8] outside the 4-byte data section"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
     "has 8 data bytes, expected 3 elements of 4 bytes"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "outside"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
     "tensor 'b' overlaps others"},
    {"{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, "dtype 'I64'"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4,
     "unknown field 'x'"},
    {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\"}}", 0, "repeated field 'dtype'"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "no data_offsets"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "1 data offsets"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
     "more than 8 integers"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
     "no non-negative integer"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, "fraction"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4,
     "too large"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4611686018427387904],"
     "\"data_offsets\":[0,4]}}", 4, "too many elements"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
     "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
     "duplicate tensor name 'a'"},
    {"{\"a\\u0000\":{}}", 0, "\\u0000"},
    {"{\"a\\ud800\":{}}", 0, "high surrogate"},
    {"{\"a\\udc00\":{}}", 0, "lone low surrogate"},
    {"{\"a\\x\":{}}", 0, "unknown escape"},
    {"{\"a\\u12g4\":{}}", 0, "bad \\u escape"},
    {"{\"a\tb\":{}}", 0, "raw control character"},
    {"{\"__metadata__\":{\"k\":1}}", 0, "expected '\"'"},
    {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, "__metadata__ twice"},
    {"{} x", 0, "bytes after its closing brace"},
    {"{\"a\":{}", 0, "no dtype"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4, "ends early"},
};

static void test_hostile(void)
{
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        errbuf e = {{0}};
        dpsim_status s = read_st(bad_headers[i].header, bad_headers[i].data_len, &e);
        CHECK_MSG(s != DPSIM_OK && strstr(e.msg, bad_headers[i].needle) != NULL,
                  "header %zu: status %d, message '%s', expected '%s'", i, s, e.msg,
                  bad_headers[i].needle);
    }
    errbuf e = {{0}};
    tensor_list l = {0};
    const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'};
    CHECK(safetensors_read_memory(huge, sizeof huge, &l, &e) == DPSIM_E_FORMAT);
    CHECK(strstr(e.msg, "header length 18446744073709551615 exceeds the file size (10 bytes)"));
    const uint8_t big[] = {0x00, 0x00, 0x00, 0x10, 0, 0, 0, 0, '{', '}'};
    CHECK(safetensors_read_memory(big, sizeof big, &l, &e) == DPSIM_E_FORMAT);
    CHECK(safetensors_read_memory(big, 3, &l, &e) == DPSIM_E_FORMAT);
    CHECK(strstr(e.msg, "too short") != NULL);
    CHECK(safetensors_read_memory(NULL, 0, &l, &e) == DPSIM_E_INVAL);
    CHECK(list_is_empty(&l));

    /* valid corner cases: empty header, empty tensor, metadata only */
    CHECK(read_st("{}", 0, &e) == DPSIM_OK);
    CHECK(read_st(" { \"a\" : { \"shape\" : [ 0 ] , \"dtype\" : \"BF16\" , "
                  "\"data_offsets\" : [ 0 , 0 ] } }   ",
                  0, &e) == DPSIM_OK);
    CHECK(read_st("{\"__metadata__\":{}}", 0, &e) == DPSIM_OK);
}

/* A fixture written outside dpsim (by the generator script), and all its truncations. */
static void test_fixture(void)
{
    size_t len;
    uint8_t *buf = read_fixture("sf_mixed.safetensors", &len);
    CHECK(buf != NULL);
    if (!buf)
        return;
    tensor_list l = {0};
    errbuf e = {{0}};
    CHECK_MSG(safetensors_read_memory(buf, len, &l, &e) == DPSIM_OK, "%s", e.msg);
    CHECK(l.metadata && strcmp(l.metadata, "{\"net\": \"test\", \"note\": \"a \\\"q\\\"\"}") == 0);
    tensor_list_free(&l);
    /* F32 in place, F64/F16/BF16 converted: the same values */
    const int views = check_views_match("sf_mixed.safetensors", buf, len);
    CHECK_MSG(views > 0, "sf_mixed.safetensors: no float32 tensor read in place");
    int accepted = 0;
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = dp_malloc(cut ? cut : 1);
        memcpy(copy, buf, cut);
        if (safetensors_read_memory(copy, cut, &l, &e) == DPSIM_OK)
            accepted++;
        tensor_list_free(&l);
        dp_free(copy);
    }
    CHECK_MSG(accepted == 0, "%d truncations accepted", accepted);
    dp_free(buf);
}

int main(void)
{
    test_list();
    test_convert();
    test_round_trip();
    test_hostile();
    test_fixture();
    return check_report();
}
