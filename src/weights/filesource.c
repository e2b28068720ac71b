/*
 * filesource.c - a weights file read in the parts its readers ask for
 * (filesource.h). Invariant: map[b * BLOCK ...] holds the file's bytes
 * exactly where have[b] is 1; nothing else of the mapping is ever read.
 * The hasher reads only fd, len, path and opened, which nothing changes
 * until file_source_close.
 */
#include "weights/filesource.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fileio.h"

enum {
    BLOCK = 1 << 16,      /* bytes read at once at least, and the unit of have */
    MAX_PREAD = 1 << 30,  /* bytes one pread call asks for at most */
    HUGE_PAGE = 2 << 20,
    WHOLE_HUGE = 128 << 20 /* files up to this size are read nearly whole: huge pages throughout */
};

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* dst = the n bytes of the file at off. */
static dpsim_status read_at(const file_source *f, uint8_t *dst, size_t n, size_t off, errbuf *e)
{
    while (n) {
        ssize_t got = pread(f->fd, dst, min_size(n, MAX_PREAD), (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return err_set(e, DPSIM_E_IO, "'%s': read error at offset %zu: %s", f->path, off,
                           strerror(errno));
        if (got == 0)
            return err_set(e, DPSIM_E_IO, "'%s': ends at offset %zu, before its %zu bytes (it "
                                          "changed while it was read)", f->path, off, f->len);
        dst += got;
        off += (size_t)got;
        n -= (size_t)got;
    }
    return DPSIM_OK;
}

/*
 * Ask for transparent huge pages over the whole 2 MB pages of map[from, to):
 * VGG-16's 58 MB of weights took 14 000 page faults in 4 KB pages. Only
 * inside a part read: a huge page is resident as soon as one byte is.
 */
static void advise_huge(uint8_t *map, size_t from, size_t to)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t lo = ((uintptr_t)(map + from) + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    const uintptr_t hi = (uintptr_t)(map + to) & ~(uintptr_t)(HUGE_PAGE - 1);
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_HUGEPAGE); /* advice only */
#endif
}

/* byte_source.fill: read the blocks of [off, off + n) not read yet, a run of them at a time. */
static dpsim_status fill(void *ctx, size_t off, size_t n, errbuf *e)
{
    file_source *f = ctx;
    if (off > f->len || n > f->len - off)
        return err_set(e, DPSIM_E_INVAL, "'%s': bytes %zu to %zu asked of a %zu-byte file",
                       f->path, off, off + n, f->len);
    const size_t last = (off + n - 1) / BLOCK;
    for (size_t b = off / BLOCK; b <= last;) {
        if (f->have[b]) {
            b++;
            continue;
        }
        size_t end = b;
        while (end <= last && !f->have[end])
            end++;
        const size_t from = b * BLOCK, to = min_size(end * (size_t)BLOCK, f->len);
        advise_huge(f->map, from, to);
        dpsim_status s = read_at(f, f->map + from, to - from, from, e);
        if (s)
            return s;
        memset(f->have + b, 1, end - b);
        b = end;
    }
    return DPSIM_OK;
}

/*
 * byte_source.place: move the parts read so that map + off is a multiple of
 * align. Runs of blocks read are a block apart at least, so each moves alone.
 */
static int place(void *ctx, size_t off, size_t align)
{
    file_source *f = ctx;
    if (align > SOURCE_MAX_ALIGN || (align & (align - 1)))
        return 0;
    uint8_t *start = f->map - f->shift;
    const size_t shift = (align - ((uintptr_t)start + off) % align) % align;
    const size_t blocks = (f->len + BLOCK - 1) / BLOCK;
    for (size_t b = 0; b < blocks;) {
        if (!f->have[b]) {
            b++;
            continue;
        }
        size_t end = b;
        while (end < blocks && f->have[end])
            end++;
        const size_t from = b * BLOCK, to = min_size(end * (size_t)BLOCK, f->len);
        memmove(start + shift + from, f->map + from, to - from);
        b = end;
    }
    f->map = start + shift;
    f->shift = shift;
    f->src.buf = f->map;
    return 1;
}

/* Bytes of the mapping reserved for a file of len bytes: room to move them (place). */
static size_t mapping_len(size_t len) { return len + SOURCE_MAX_ALIGN; }

/*
 * bytes of address space (no memory until written), starting on a huge page
 * so that the advice covers a file's first and last megabytes too (VGG-16's
 * weights at a 4 KB boundary took 1 000 page faults more); MAP_FAILED if
 * there is none.
 */
static void *reserve(size_t bytes)
{
    const size_t size = (bytes + 4095) & ~(size_t)4095;
    uint8_t *raw = mmap(NULL, size + HUGE_PAGE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED)
        return MAP_FAILED;
    uint8_t *start = (uint8_t *)(((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (start > raw)
        munmap(raw, (size_t)(start - raw));
    munmap(start + size, (size_t)(raw + HUGE_PAGE - start));
    return start;
}

dpsim_status file_source_open(file_source *f, const char *path, size_t max, errbuf *e)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->path = path;
    struct stat st;
    if (stat(path, &st) != 0)
        return err_set(e, DPSIM_E_IO, "'%s': %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) { /* a pipe, say (a directory fails there) */
        dpsim_status s = file_read_all(path, max, &f->map, &f->len, e);
        f->src = (byte_source){.buf = f->map, .len = f->len};
        return s;
    }
    if ((uintmax_t)st.st_size > max)
        return err_set(e, DPSIM_E_LIMIT, "'%s': larger than the limit of %zu bytes", path, max);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, DPSIM_E_IO, "'%s': %s", path, strerror(errno));
    if (fstat(fd, &f->opened) != 0 || !S_ISREG(f->opened.st_mode) ||
        (uintmax_t)f->opened.st_size > max) {
        close(fd);
        return err_set(e, DPSIM_E_IO, "'%s': changed while it was opened", path);
    }
    st = f->opened;
    f->len = (size_t)st.st_size;
    void *map = reserve(mapping_len(f->len));
    const size_t blocks = (f->len + BLOCK - 1) / BLOCK;
    f->have = dp_calloc(blocks ? blocks : 1, 1);
    if (map == MAP_FAILED || !f->have) {
        if (map != MAP_FAILED)
            file_pages_free(map, mapping_len(f->len));
        dp_free(f->have);
        close(fd);
        memset(f, 0, sizeof *f);
        f->fd = -1;
        return err_set(e, DPSIM_E_NOMEM, "'%s': out of memory for its %zu bytes", path,
                       (size_t)st.st_size);
    }
    if (f->len <= WHOLE_HUGE)
        advise_huge(map, 0, f->len);
    f->fd = fd;
    f->map = map;
    f->src = (byte_source){.buf = f->map, .len = f->len, .fill = fill, .place = place, .ctx = f};
    return DPSIM_OK;
}

void file_source_close(file_source *f)
{
    if (f->fd >= 0) {
        file_source_release(f);
        close(f->fd);
    } else {
        dp_free(f->map);
    }
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

static int stopped(const atomic_int *stop)
{
    return stop && atomic_load_explicit(stop, memory_order_relaxed);
}

static int same_time(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

dpsim_status file_source_unchanged(const file_source *f, errbuf *e)
{
    struct stat now;
    if (f->fd < 0)
        return DPSIM_OK; /* read whole, at once */
    if (fstat(f->fd, &now) != 0 || now.st_size != f->opened.st_size ||
        !same_time(now.st_mtim, f->opened.st_mtim) || !same_time(now.st_ctim, f->opened.st_ctim))
        return err_set(e, DPSIM_E_IO, "'%s': changed while it was read", f->path);
    return DPSIM_OK;
}

void file_source_release(file_source *f)
{
    size_t len = 0;
    uint8_t *pages = file_source_take_pages(f, &len);
    file_pages_free(pages, len); /* len set first: argument order is unspecified */
}

uint8_t *file_source_take_pages(file_source *f, size_t *len)
{
    if (f->fd < 0 || !f->map)
        return NULL; /* read whole: the hasher reads that buffer; or already given back */
    uint8_t *pages = f->map - f->shift;
    *len = mapping_len(f->len);
    dp_free(f->have);
    f->map = NULL;
    f->shift = 0;
    f->have = NULL;
    f->src = (byte_source){0};
    return pages;
}

void file_pages_free(uint8_t *pages, size_t len)
{
    if (pages)
        munmap(pages, len);
}

void file_hash_init(file_hash *h)
{
    sha256_init(&h->st);
    h->done = 0;
}

dpsim_status file_source_hash(const file_source *f, file_hash *h, uint8_t *buf,
                              const atomic_int *stop, errbuf *e)
{
    while (h->done < f->len && !stopped(stop)) {
        const size_t n = min_size(FILE_SOURCE_HASH_BUFFER, f->len - h->done);
        if (f->fd < 0) { /* read whole */
            sha256_update(&h->st, f->map + h->done, n);
        } else {
            dpsim_status s = read_at(f, buf, n, h->done, e);
            if (s)
                return s;
            sha256_update(&h->st, buf, n);
        }
        h->done += n;
    }
    return DPSIM_OK;
}

dpsim_status file_hash_hex(const file_source *f, file_hash *h, char hex[65], errbuf *e)
{
    hex[0] = '\0';
    if (h->done != f->len)
        return err_set(e, DPSIM_E_IO, "'%s': hashed %zu of its %zu bytes", f->path, h->done,
                       f->len);
    dpsim_status s = file_source_unchanged(f, e);
    if (s == DPSIM_OK)
        sha256_final_hex(&h->st, hex);
    return s;
}
