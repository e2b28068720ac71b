/*
 * test_filesource.c - weights read from a file in parts (weights/filesource.h)
 * against the same files read whole: every fixture gives the same tensors or
 * the same error; a tensor the list does not want is never read; the digest
 * is the file's, and a file cut or rewritten while it is read fails instead
 * of giving other bytes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/sha256.h"
#include "testutil.h"
#include "weights/filesource.h"

/* Read path in parts; the status, and the list or the message, into *l and e. */
static dpsim_status read_in_parts(const char *path, tensor_list *l, errbuf *e,
                                  file_source *f)
{
    dpsim_status s = file_source_open(f, path, WEIGHTS_MAX_FILE_SIZE, e);
    return s ? s : weights_view_source(&f->src, l, e);
}

/* The file read in parts gives what the bytes read whole give, tensors or error. */
static void check_same_as_whole(const char *path)
{
    size_t len = 0;
    uint8_t *buf = NULL;
    errbuf e1 = {{0}}, e2 = {{0}};
    CHECK_MSG(file_read_all(path, (size_t)1 << 30, &buf, &len, &e1) == DPSIM_OK, "%s", e1.msg);
    if (!buf)
        return;
    tensor_list whole = {0}, parts = {0};
    file_source f;
    dpsim_status sw = weights_read_memory(buf, len, &whole, &e1);
    dpsim_status sp = read_in_parts(path, &parts, &e2, &f);
    CHECK_MSG(sw == sp && !strcmp(e1.msg, e2.msg), "%s: whole %d '%s', in parts %d '%s'", path,
              sw, e1.msg, sp, e2.msg);
    CHECK_MSG(whole.count == parts.count, "%s: %zu tensors whole, %zu in parts", path,
              whole.count, parts.count);
    for (size_t i = 0; i < whole.count && i < parts.count; i++) {
        const tensor *a = &whole.items[i], *b = &parts.items[i];
        CHECK_MSG(!strcmp(a->name, b->name) && a->numel == b->numel && a->ndim == b->ndim &&
                      !memcmp(a->shape, b->shape, sizeof a->shape) &&
                      !memcmp(a->data, b->data, a->numel * sizeof(float)),
                  "%s: tensor '%s' differs", path, a->name);
    }
    tensor_list_free(&whole);
    tensor_list_free(&parts);
    file_source_close(&f);
    dp_free(buf);
}

/* Every fixture, good or bad, and the real weights' files when they are here. */
static void test_fixtures(void)
{
    char folder[4096];
    snprintf(folder, sizeof folder, "%s", fixture_path(""));
    DIR *d = opendir(folder);
    CHECK_MSG(d != NULL, "cannot list %s", folder);
    int n = 0;
    for (struct dirent *en; d && (en = readdir(d));) {
        const char *dot = strrchr(en->d_name, '.');
        if (!dot || (strcmp(dot, ".pth") && strcmp(dot, ".pt") && strcmp(dot, ".safetensors")))
            continue;
        check_same_as_whole(fixture_path(en->d_name));
        n++;
    }
    if (d)
        closedir(d);
    CHECK_MSG(n >= 30, "%d fixtures", n);
    const char *w = getenv("DPSIM_WEIGHTS");
    static const char *real[] = {"squeezenet1_1/features.pth", "lpips/v0.1/alex.pth",
                                 "lpips/v0.0/vgg.pth", "dists/weights.pt"};
    for (size_t i = 0; w && *w && i < sizeof real / sizeof real[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", w, real[i]);
        check_same_as_whole(path);
    }
}

// ---- storages off a multiple of 4 ----

/*
 * A legacy file's float32 storages share one offset mod 4, set by its
 * pickles: read in parts, they are moved onto a multiple of 4, so every
 * tensor is a view into the pages read, not a copy (legacy_module.pth lies
 * at 2 mod 4, legacy_proto4.pth and torchvision's SqueezeNet file at 1).
 */
static void check_views_aligned(const char *path)
{
    tensor_list l = {0};
    errbuf e = {{0}};
    file_source f;
    CHECK_MSG(read_in_parts(path, &l, &e, &f) == DPSIM_OK, "%s: %s", path, e.msg);
    CHECK_MSG(f.shift > 0, "%s: not moved", path);
    for (size_t i = 0; i < l.count; i++)
        CHECK_MSG(l.items[i].view && (uintptr_t)l.items[i].data % sizeof(float) == 0,
                  "%s: tensor '%s' %s at %p", path, l.items[i].name,
                  l.items[i].view ? "a view" : "a copy", (void *)l.items[i].data);
    tensor_list_free(&l);
    size_t len = 0;
    uint8_t *pages = file_source_take_pages(&f, &len);
    CHECK(pages && len == f.len + SOURCE_MAX_ALIGN);
    file_pages_free(pages, len);
    file_source_close(&f);
}

/* Moving the parts read keeps their bytes, puts buf + off on the alignment asked, and leaves
   the parts not read to be read where buf now lies. */
static void test_place(void)
{
    check_views_aligned(fixture_path("legacy_module.pth"));
    check_views_aligned(fixture_path("legacy_proto4.pth"));
    const char *w = getenv("DPSIM_WEIGHTS");
    if (w && *w) {
        char path[4096];
        snprintf(path, sizeof path, "%s/squeezenet1_1/features.pth", w);
        check_views_aligned(path);
    }
    const char *path = fixture_path("legacy_mixed.pth");
    size_t len = 0;
    uint8_t *whole = NULL;
    errbuf e = {{0}};
    CHECK(file_read_all(path, (size_t)1 << 30, &whole, &len, &e) == DPSIM_OK && len > 300);
    file_source f;
    CHECK(file_source_open(&f, path, WEIGHTS_MAX_FILE_SIZE, &e) == DPSIM_OK);
    if (!whole || !f.map) {
        dp_free(whole);
        file_source_close(&f);
        return;
    }
    /* the mapping starts on a huge page (so that the file's first 2 MB can be one) */
    CHECK_MSG((uintptr_t)f.map % (2u << 20) == 0 && f.shift == 0, "mapping at %p", (void *)f.map);
    CHECK(source_need(&f.src, 0, 100, &e) == DPSIM_OK);
    for (size_t align = 1; align <= SOURCE_MAX_ALIGN; align *= 2)
        for (size_t off = 0; off < 70; off += 23) {
            CHECK(source_align(&f.src, off, align));
            CHECK_MSG((uintptr_t)(f.src.buf + off) % align == 0 && f.src.buf == f.map &&
                          f.shift < SOURCE_MAX_ALIGN && !memcmp(f.map, whole, 100),
                      "offset %zu aligned to %zu: shift %zu", off, align, f.shift);
        }
    CHECK(!source_align(&f.src, 1, 2 * SOURCE_MAX_ALIGN) || (uintptr_t)(f.src.buf + 1) % 128 == 0);
    CHECK(source_need(&f.src, 0, len, &e) == DPSIM_OK && !memcmp(f.src.buf, whole, len));
    /* a buffer in memory does not move */
    const byte_source fixed = {.buf = whole, .len = len};
    CHECK(source_align(&fixed, 0, 4) && !source_align(&fixed, 1, 4));
    dp_free(whole);
    file_source_close(&f);
}

// ---- a file with a large tensor no one wants ----

static uint8_t hash_buf[FILE_SOURCE_HASH_BUFFER];

/* The file's digest through file_source_hash from where h is (NULL: the start). */
static dpsim_status digest(const file_source *f, file_hash *h, const atomic_int *stop,
                           char hex[65], errbuf *e)
{
    file_hash start;
    hex[0] = '\0';
    if (!h) {
        file_hash_init(&start);
        h = &start;
    }
    dpsim_status s = file_source_hash(f, h, hash_buf, stop, e);
    return s ? s : file_hash_hex(f, h, hex, e);
}

enum { SMALL = 100, LARGE = 1 << 20, BLOCK_BYTES = 1 << 16 };

static int want_small(void *ctx, const char *name)
{
    (*(int *)ctx)++;
    return strncmp(name, "small", 5) == 0;
}

/* small_a (SMALL), large (LARGE), small_b (SMALL): 4 MB of large between two small ones. */
static void write_mixed(const char *path)
{
    float *v = dp_malloc(LARGE * sizeof(float));
    CHECK(v != NULL);
    if (!v)
        return;
    for (size_t i = 0; i < LARGE; i++)
        v[i] = (float)i * 0.25f;
    tensor_list l = {0};
    errbuf e = {{0}};
    const int64_t small = SMALL, large = LARGE;
    CHECK(tensor_list_add(&l, "small_a", 1, &small, v, &e) == DPSIM_OK);
    CHECK(tensor_list_add(&l, "large", 1, &large, v, &e) == DPSIM_OK);
    CHECK(tensor_list_add(&l, "small_b", 1, &small, v + 7, &e) == DPSIM_OK);
    CHECK_MSG(safetensors_write_file(path, &l, NULL, &e) == DPSIM_OK, "%s", e.msg);
    tensor_list_free(&l);
    dp_free(v);
}

static size_t blocks_read(const file_source *f)
{
    size_t n = 0;
    for (size_t b = 0; b < (f->len + BLOCK_BYTES - 1) / BLOCK_BYTES; b++)
        n += f->have[b];
    return n;
}

static void whole_file_digest(const char *path, char hex[65])
{
    uint8_t *buf = NULL;
    size_t len = 0;
    errbuf e = {{0}};
    hex[0] = '\0';
    if (file_read_all(path, (size_t)1 << 30, &buf, &len, &e) == DPSIM_OK)
        sha256_hex(buf, len, hex);
    dp_free(buf);
}

static void test_unwanted_unread(const char *dir)
{
    char path[4096], want_hex[65], hex[65];
    snprintf(path, sizeof path, "%s/mixed.safetensors", dir);
    write_mixed(path);
    whole_file_digest(path, want_hex);
    int asked = 0;
    tensor_list l = {.want = want_small, .want_ctx = &asked};
    errbuf e = {{0}};
    file_source f;
    CHECK_MSG(read_in_parts(path, &l, &e, &f) == DPSIM_OK, "%s", e.msg);
    CHECK_MSG(asked == 3 && l.count == 2, "want asked %d times, %zu tensors kept", asked,
              l.count);
    const tensor *a = tensor_list_find(&l, "small_a"), *b = tensor_list_find(&l, "small_b");
    CHECK(a && b && !tensor_list_find(&l, "large"));
    CHECK(a && a->view && a->data[SMALL - 1] == (SMALL - 1) * 0.25f);
    CHECK(b && b->view && b->data[0] == 7 * 0.25f);
    /* the header's block, small_a's and small_b's: large's 64 blocks but 2 are never read */
    const size_t total = (f.len + BLOCK_BYTES - 1) / BLOCK_BYTES, read = blocks_read(&f);
    CHECK_MSG(total >= 64 && read <= 3, "%zu of %zu blocks read", read, total);
    CHECK(file_source_unchanged(&f, &e) == DPSIM_OK);
    tensor_list_free(&l);
    /* the digest covers every byte, read or not, before and after the parts are given back */
    CHECK(digest(&f, NULL, NULL, hex, &e) == DPSIM_OK);
    CHECK_MSG(!strcmp(hex, want_hex), "digest %s, sha256 of the file %s", hex, want_hex);
    uint8_t *was = f.map;
    const size_t mapped = f.len + SOURCE_MAX_ALIGN;
    file_source_release(&f);
    CHECK(f.map == NULL && f.have == NULL);
    /* given back whole: no page of the mapping is there any more */
    unsigned char resident;
    const uintptr_t last = ((uintptr_t)was + mapped - 1) & ~(uintptr_t)4095;
    CHECK(mincore(was, 1, &resident) != 0 && errno == ENOMEM);
    CHECK(mincore((void *)last, 1, &resident) != 0 && errno == ENOMEM);
    CHECK(digest(&f, NULL, NULL, hex, &e) == DPSIM_OK && !strcmp(hex, want_hex));
    /* a hasher told to stop leaves no digest; one that goes on from where another stopped
       (here, after the first 2 MB) gives the file's */
    atomic_int stop = 1;
    file_hash h;
    file_hash_init(&h);
    CHECK(digest(&f, &h, &stop, hex, &e) == DPSIM_E_IO && hex[0] == '\0' && h.done == 0);
    uint8_t *whole = NULL;
    size_t len = 0;
    CHECK(file_read_all(path, (size_t)1 << 30, &whole, &len, &e) == DPSIM_OK && len > 2 << 20);
    if (whole) {
        sha256_update(&h.st, whole, 2 << 20);
        h.done = 2 << 20;
        CHECK(digest(&f, &h, NULL, hex, &e) == DPSIM_OK && !strcmp(hex, want_hex));
    }
    dp_free(whole);
    file_source_close(&f);

    /* cut while read: the part asked for after the cut fails, and so does the digest */
    asked = 0;
    l = (tensor_list){.want = want_small, .want_ctx = &asked};
    CHECK(file_source_open(&f, path, WEIGHTS_MAX_FILE_SIZE, &e) == DPSIM_OK);
    CHECK(truncate(path, (off_t)(f.len / 2)) == 0);
    CHECK(weights_view_source(&f.src, &l, &e) == DPSIM_E_IO);
    CHECK_MSG(strstr(e.msg, "changed while it was read") != NULL, "%s", e.msg);
    CHECK(digest(&f, NULL, NULL, hex, &e) == DPSIM_E_IO && hex[0] == '\0');
    tensor_list_free(&l);
    file_source_close(&f);

    /* rewritten in place, to the same size, after it was opened: no digest, and loading fails */
    write_mixed(path);
    /* an hour old: the rewrite's time differs however coarse the file system's clock */
    const struct timespec old[2] = {{time(NULL) - 3600, 0}, {time(NULL) - 3600, 0}};
    CHECK(utimensat(AT_FDCWD, path, old, 0) == 0);
    CHECK(file_source_open(&f, path, WEIGHTS_MAX_FILE_SIZE, &e) == DPSIM_OK);
    CHECK(file_source_unchanged(&f, &e) == DPSIM_OK);
    FILE *fp = fopen(path, "r+b");
    CHECK(fp && fputc('{', fp) != EOF && fclose(fp) == 0);
    CHECK(file_source_unchanged(&f, &e) == DPSIM_E_IO);
    CHECK_MSG(strstr(e.msg, "changed while it was read") != NULL, "%s", e.msg);
    CHECK(digest(&f, NULL, NULL, hex, &e) == DPSIM_E_IO && hex[0] == '\0');
    file_source_close(&f);
    unlink(path);
}

// ---- not a regular file: read whole ----

typedef struct feeder {
    const char *fifo, *from;
} feeder;

/* Write the file into the FIFO (nothing if it cannot be read: the reader then sees an
   empty file instead of waiting for a writer forever). */
static void *feed(void *arg)
{
    const feeder *fd = arg;
    size_t len = 0;
    uint8_t *buf = NULL;
    errbuf e = {{0}};
    file_read_all(fd->from, (size_t)1 << 30, &buf, &len, &e);
    FILE *fp = fopen(fd->fifo, "wb");
    if (fp) {
        if (buf)
            fwrite(buf, 1, len, fp);
        fclose(fp);
    }
    dp_free(buf);
    return NULL;
}

static void test_pipe(const char *dir)
{
    char fifo[4096], hex[65], want_hex[65];
    snprintf(fifo, sizeof fifo, "%s/pipe", dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    feeder fd = {fifo, fixture_path("zip_mixed.pt")};
    whole_file_digest(fd.from, want_hex);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, feed, &fd) == 0);
    tensor_list l = {0};
    errbuf e = {{0}};
    file_source f;
    CHECK_MSG(read_in_parts(fifo, &l, &e, &f) == DPSIM_OK, "%s", e.msg);
    pthread_join(t, NULL);
    CHECK(f.fd < 0 && l.count > 0);
    CHECK(digest(&f, NULL, NULL, hex, &e) == DPSIM_OK && !strcmp(hex, want_hex));
    tensor_list_free(&l);
    file_source_close(&f);
    unlink(fifo);
}

int main(void)
{
    test_fixtures();
    test_place();
    char dir[] = "/tmp/dpsim-test-filesource-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    test_unwanted_unread(dir);
    test_pipe(dir);
    CHECK(rmdir(dir) == 0);
    return check_report();
}
