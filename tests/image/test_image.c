/*
 * test_image.c - the image API against committed fixtures made by
 * tools/scripts/make_image_fixtures.py: pixel-exact decodes of every lossless
 * layout, lossy ones against PIL, resize against torch interpolate (antialias),
 * crop, PNG writing, and failure paths (truncation at every offset, corrupt
 * bytes, limits, bad paths). With DPSIM_DATA (or DPSIM_WEIGHTS) set, the real images in
 * that folder are checked against PIL's size and byte sum.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"
#include "dpsim/dpsim.h"

#define MAX_FIXTURES 64

static char fixture_dir[1024];
static char tmp_dir[256];

typedef struct fixture {
    char file[64];
    char format[8];
    int width, height, src_channels, src_bits, alpha_dropped;
    double tol;
    char expected[64];
} fixture;

static fixture fixtures[MAX_FIXTURES];
static int n_fixtures;

// ---- helpers ----

static void path_join(char *out, size_t len, const char *dir, const char *name)
{
    int n = snprintf(out, len, "%s/%s", dir, name);
    CHECK_MSG(n > 0 && (size_t)n < len, "path too long: %s/%s", dir, name);
}

/* Whole file into a malloc'd buffer; NULL if it cannot be read. */
static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    *size = (size_t)n;
    return buf;
}

static uint8_t *slurp_fixture(const char *name, size_t *size)
{
    char path[1200];
    path_join(path, sizeof path, fixture_dir, name);
    uint8_t *buf = slurp(path, size);
    CHECK_MSG(buf != NULL, "cannot read fixture %s", path);
    return buf;
}

/* float32 little-endian file -> malloc'd floats; *count elements */
static float *read_f32(const char *name, size_t *count)
{
    size_t size;
    uint8_t *raw = slurp_fixture(name, &size);
    if (!raw)
        return NULL;
    *count = size / 4;
    float *v = malloc(sizeof *v * (*count ? *count : 1));
    for (size_t i = 0; i < *count; i++) {
        uint32_t u = (uint32_t)raw[4 * i] | (uint32_t)raw[4 * i + 1] << 8 |
                     (uint32_t)raw[4 * i + 2] << 16 | (uint32_t)raw[4 * i + 3] << 24;
        memcpy(&v[i], &u, 4);
    }
    free(raw);
    return v;
}

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    CHECK_MSG(fp != NULL, "cannot create %s", path);
    if (!fp)
        return;
    CHECK(fwrite(data, 1, size, fp) == size);
    fclose(fp);
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* number of entries in tmp_dir whose name contains ".tmp-" (leftovers of atomic writes) */
static int count_temporaries(void)
{
    DIR *d = opendir(tmp_dir);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *ent; (ent = readdir(d)) != NULL;)
        n += strstr(ent->d_name, ".tmp-") != NULL;
    closedir(d);
    return n;
}

static void load_manifest(void)
{
    char path[1200], line[512];
    path_join(path, sizeof path, fixture_dir, "expected.txt");
    FILE *fp = fopen(path, "r");
    CHECK_MSG(fp != NULL, "cannot read %s", path);
    if (!fp)
        return;
    while (fgets(line, sizeof line, fp) && n_fixtures < MAX_FIXTURES) {
        fixture *f = &fixtures[n_fixtures];
        if (line[0] == '#')
            continue;
        if (sscanf(line, "%63s %7s %d %d %d %d %d %lf %63s", f->file, f->format, &f->width,
                   &f->height, &f->src_channels, &f->src_bits, &f->alpha_dropped, &f->tol,
                   f->expected) == 9)
            n_fixtures++;
    }
    fclose(fp);
    CHECK_MSG(n_fixtures >= 30, "only %d fixtures in the manifest", n_fixtures);
}

/* Decoding must fail with status want (0: any failure), leave out alone and say something. */
static void expect_fail(dpsim_ctx *ctx, dpsim_status got, dpsim_status want, dpsim_image *out,
                        const char *what)
{
    CHECK_MSG(got != DPSIM_OK && (want == 0 || got == want), "%s: status %d, expected %d", what,
              (int)got, (int)want);
    CHECK_MSG(out == (dpsim_image *)&fixtures, "%s: out-param touched on failure", what);
    CHECK_MSG(dpsim_ctx_last_error(ctx)[0] != '\0', "%s: no error detail", what);
}

static void expect_msg(dpsim_ctx *ctx, const char *needle)
{
    const char *msg = dpsim_ctx_last_error(ctx);
    CHECK_MSG(strstr(msg, needle) != NULL, "message '%s' lacks '%s'", msg, needle);
}

// ---- decoding the fixtures ----

static void test_fixtures(dpsim_ctx *ctx)
{
    for (int i = 0; i < n_fixtures; i++) {
        const fixture *f = &fixtures[i];
        char path[1200];
        path_join(path, sizeof path, fixture_dir, f->file);
        dpsim_image *img = NULL;
        dpsim_status s = dpsim_image_read(ctx, path, &img);
        CHECK_MSG(s == DPSIM_OK, "%s: %s", f->file, dpsim_ctx_last_error(ctx));
        if (s != DPSIM_OK)
            continue;
        CHECK_MSG(img->width == f->width && img->height == f->height, "%s: %dx%d", f->file,
                  img->width, img->height);
        CHECK_MSG(img->src_channels == f->src_channels, "%s: src_channels %d, expected %d",
                  f->file, img->src_channels, f->src_channels);
        CHECK_MSG(img->src_bits == f->src_bits, "%s: src_bits %d", f->file, img->src_bits);
        CHECK_MSG(img->alpha_dropped == f->alpha_dropped, "%s: alpha_dropped %d", f->file,
                  img->alpha_dropped);
        CHECK_MSG(strcmp(img->format, f->format) == 0, "%s: format '%s'", f->file, img->format);
        size_t n;
        float *want = read_f32(f->expected, &n);
        size_t npx = (size_t)3 * (size_t)f->width * (size_t)f->height;
        CHECK_MSG(want && n == npx, "%s: expected file has %zu values", f->file, n);
        if (want && n == npx && img->width == f->width && img->height == f->height) {
            double maxdiff = 0;
            size_t first_bad = npx;
            for (size_t k = 0; k < npx; k++) {
                double d = fabs((double)img->pixels[k] - (double)want[k]);
                if (d > f->tol && first_bad == npx)
                    first_bad = k;
                maxdiff = fmax(maxdiff, d);
            }
            CHECK_MSG(first_bad == npx, "%s: max |diff| %.3g > %.3g (first at %zu: %.9g vs %.9g)",
                      f->file, maxdiff, f->tol, first_bad,
                      first_bad < npx ? img->pixels[first_bad] : 0.0,
                      first_bad < npx ? want[first_bad] : 0.0);
        }
        free(want);

        /* the same bytes from memory give the same image */
        size_t size;
        uint8_t *data = slurp_fixture(f->file, &size);
        dpsim_image *img2 = NULL;
        if (data) {
            s = dpsim_image_read_memory(ctx, data, size, NULL, &img2);
            CHECK_MSG(s == DPSIM_OK, "%s from memory: %s", f->file, dpsim_ctx_last_error(ctx));
        }
        if (img2)
            CHECK_MSG(memcmp(img2->pixels, img->pixels, sizeof(float) * npx) == 0,
                      "%s: memory and file decodes differ", f->file);
        dpsim_image_free(img2);
        free(data);
        dpsim_image_free(img);
    }
}

/* Every prefix of every fixture must fail cleanly; so must the fixture with bytes mangled
   (any status, but no crash and no leak under ASan). */
static void test_truncated_and_corrupt(dpsim_ctx *ctx)
{
    int checked = 0;
    for (int i = 0; i <= n_fixtures; i++) {
        const char *name = i < n_fixtures ? fixtures[i].file : "jpeg_cmyk.jpg";
        size_t size;
        uint8_t *data = slurp_fixture(name, &size);
        if (!data)
            continue;
        int succeeded = 0;
        size_t first_ok = 0;
        for (size_t len = 0; len < size; len++) {
            /* a fresh copy of exactly len bytes so ASan sees any read past the end */
            uint8_t *part = malloc(len ? len : 1);
            memcpy(part, data, len);
            dpsim_image *img = (dpsim_image *)&fixtures;
            dpsim_status s = dpsim_image_read_memory(ctx, part, len, name, &img);
            if (s == DPSIM_OK) {
                if (!succeeded++)
                    first_ok = len;
                dpsim_image_free(img);
            } else {
                CHECK(img == (dpsim_image *)&fixtures);
                checked++;
                if (s != DPSIM_E_FORMAT && s != DPSIM_E_UNSUPPORTED)
                    CHECK_MSG(0, "%s truncated to %zu: status %d (%s)", name, len, (int)s,
                              dpsim_ctx_last_error(ctx));
            }
            free(part);
        }
        CHECK_MSG(succeeded == 0, "%s: %d truncations decoded, first at %zu of %zu bytes", name,
                  succeeded, first_ok, size);

        /* deterministic corruption: each byte in turn set to a few values */
        static const uint8_t values[] = {0x00, 0xff, 0x7f, 0x80};
        uint8_t *copy = malloc(size);
        for (size_t pos = 0; pos < size; pos += 1 + pos / 64) {
            for (size_t v = 0; v < sizeof values; v++) {
                memcpy(copy, data, size);
                copy[pos] = values[v];
                dpsim_image *img = NULL;
                if (dpsim_image_read_memory(ctx, copy, size, name, &img) == DPSIM_OK)
                    dpsim_image_free(img);
            }
        }
        free(copy);
        free(data);
    }
    CHECK(checked > 10000);
}

static void test_errors(dpsim_ctx *ctx)
{
    char path[1200];
    dpsim_image *img = (dpsim_image *)&fixtures;

    path_join(path, sizeof path, tmp_dir, "empty.png");
    write_file(path, "", 0);
    expect_fail(ctx, dpsim_image_read(ctx, path, &img), DPSIM_E_FORMAT, img, "empty file");
    expect_msg(ctx, "empty.png");
    expect_msg(ctx, "empty file");

    path_join(path, sizeof path, tmp_dir, "notes.txt");
    const char text[] = "this is not an image, just some text\n";
    write_file(path, text, sizeof text - 1);
    expect_fail(ctx, dpsim_image_read(ctx, path, &img), DPSIM_E_FORMAT, img, "text file");
    expect_msg(ctx, "image '");
    expect_msg(ctx, "notes.txt': not a supported image (expected PNG, JPEG, BMP, GIF or WebP)");

    expect_fail(ctx, dpsim_image_read(ctx, tmp_dir, &img), DPSIM_E_IO, img, "directory");
    expect_msg(ctx, "directory");
    path_join(path, sizeof path, tmp_dir, "missing.png");
    expect_fail(ctx, dpsim_image_read(ctx, path, &img), DPSIM_E_IO, img, "missing file");
    expect_msg(ctx, "missing.png");

    path_join(path, sizeof path, fixture_dir, "bad_huge.bmp");
    expect_fail(ctx, dpsim_image_read(ctx, path, &img), DPSIM_E_LIMIT, img, "huge BMP");
    expect_msg(ctx, "100000x100000");
    path_join(path, sizeof path, fixture_dir, "bad_huge_ihdr.png");
    expect_fail(ctx, dpsim_image_read(ctx, path, &img), DPSIM_E_LIMIT, img, "huge PNG");
    expect_msg(ctx, "bad_huge_ihdr.png");
    path_join(path, sizeof path, fixture_dir, "bad_rle8.bmp");
    expect_fail(ctx, dpsim_image_read(ctx, path, &img), DPSIM_E_UNSUPPORTED, img, "RLE BMP");
    expect_msg(ctx, "RLE");
    path_join(path, sizeof path, fixture_dir, "jpeg_cmyk.jpg");
    expect_fail(ctx, dpsim_image_read(ctx, path, &img), DPSIM_E_UNSUPPORTED, img, "CMYK JPEG");
    expect_msg(ctx, "CMYK");

    /* a BMP header within the side limit but over the pixel limit, and one with no data */
    size_t size;
    uint8_t *bmp = slurp_fixture("bmp_rgb24.bmp", &size);
    if (bmp) {
        uint8_t hdr[54];
        memcpy(hdr, bmp, sizeof hdr);
        hdr[18] = 0x60, hdr[19] = 0xea, hdr[20] = 0, hdr[21] = 0; /* width 60000 */
        hdr[22] = 0x60, hdr[23] = 0xea, hdr[24] = 0, hdr[25] = 0; /* height 60000 */
        expect_fail(ctx, dpsim_image_read_memory(ctx, hdr, sizeof hdr, "big.bmp", &img),
                    DPSIM_E_LIMIT, img, "60000^2 BMP");
        hdr[18] = 0x00, hdr[19] = 0x20;                           /* 8192 x 8192: allowed */
        hdr[22] = 0x00, hdr[23] = 0x20;
        expect_fail(ctx, dpsim_image_read_memory(ctx, hdr, sizeof hdr, "big.bmp", &img),
                    DPSIM_E_FORMAT, img, "BMP without pixel data");
        expect_msg(ctx, "image 'big.bmp': truncated BMP pixel data");
        hdr[22] = 0, hdr[23] = 0;                                  /* height 0 */
        expect_fail(ctx, dpsim_image_read_memory(ctx, hdr, sizeof hdr, "zero.bmp", &img),
                    DPSIM_E_FORMAT, img, "zero-height BMP");
        free(bmp);
    }

    /* content decides, not the name */
    uint8_t *png = slurp_fixture("png_rgb8.png", &size);
    if (png) {
        dpsim_image *ok = NULL;
        CHECK(dpsim_image_read_memory(ctx, png, size, "photo.jpg", &ok) == DPSIM_OK);
        CHECK(ok && strcmp(ok->format, "png") == 0);
        dpsim_image_free(ok);
        expect_fail(ctx, dpsim_image_read_memory(ctx, png, 40, "cut.png", &img), DPSIM_E_FORMAT,
                    img, "truncated PNG");
        expect_msg(ctx, "image 'cut.png': truncated PNG data (libpng: ");
        expect_fail(ctx, dpsim_image_read_memory(ctx, png, 5, "cut.png", &img), DPSIM_E_FORMAT,
                    img, "truncated PNG signature");
        expect_msg(ctx, "truncated PNG data");
        free(png);
    }

    static const char riff_webp[] = "RIFF\x10\0\0\0WE", riff_wave[] = "RIFF\x10\0\0\0WAVEfmt ";
    expect_fail(ctx, dpsim_image_read_memory(ctx, riff_webp, sizeof riff_webp - 1, "a.webp", &img),
                DPSIM_E_FORMAT, img, "cut WebP signature");
    expect_msg(ctx, "image 'a.webp': truncated WebP data");
    expect_fail(ctx, dpsim_image_read_memory(ctx, riff_wave, sizeof riff_wave - 1, "a.wav", &img),
                DPSIM_E_FORMAT, img, "RIFF WAVE");
    expect_msg(ctx, "not a supported image");

    expect_fail(ctx, dpsim_image_read(ctx, NULL, &img), DPSIM_E_INVAL, img, "NULL path");
    CHECK(dpsim_image_read(ctx, "x.png", NULL) == DPSIM_E_INVAL);
    expect_fail(ctx, dpsim_image_read_memory(ctx, NULL, 10, "x", &img), DPSIM_E_INVAL, img,
                "NULL data");
    expect_fail(ctx, dpsim_image_read_memory(ctx, NULL, 0, NULL, &img), DPSIM_E_FORMAT, img,
                "no data");
    /* a NULL context is allowed: there is just no detail */
    CHECK(dpsim_image_read(NULL, tmp_dir, &img) == DPSIM_E_IO);
    dpsim_image_free(NULL);
}

// ---- resize, crop, create ----

static void test_resize(dpsim_ctx *ctx)
{
    char path[1200], line[256];
    dpsim_image *src = NULL;
    path_join(path, sizeof path, fixture_dir, "resize_src.png");
    CHECK_MSG(dpsim_image_read(ctx, path, &src) == DPSIM_OK, "%s", dpsim_ctx_last_error(ctx));
    path_join(path, sizeof path, fixture_dir, "resize.txt");
    FILE *fp = fopen(path, "r");
    CHECK(fp != NULL);
    int cases = 0;
    while (src && fp && fgets(line, sizeof line, fp)) {
        int w, h;
        char name[64];
        if (line[0] == '#' || sscanf(line, "%d %d %63s", &w, &h, name) != 3)
            continue;
        size_t n;
        float *want = read_f32(name, &n);
        dpsim_image *out = NULL;
        dpsim_status s = dpsim_image_resize(ctx, src, w, h, &out);
        CHECK_MSG(s == DPSIM_OK, "resize %dx%d: %s", w, h, dpsim_ctx_last_error(ctx));
        if (want && out && n == (size_t)3 * (size_t)w * (size_t)h) {
            double maxdiff = 0;
            for (size_t k = 0; k < n; k++)
                maxdiff = fmax(maxdiff, fabs((double)out->pixels[k] - (double)want[k]));
            CHECK_MSG(maxdiff <= 1e-5, "resize %dx%d: max |diff| vs torch %.3g", w, h, maxdiff);
            CHECK(out->width == w && out->height == h && strcmp(out->format, "png") == 0);
            if (w == src->width && h == src->height)
                CHECK_MSG(memcmp(out->pixels, src->pixels, sizeof(float) * n) == 0,
                          "resize to the same size is not the identity");
            cases++;
        }
        dpsim_image_free(out);
        free(want);
    }
    if (fp)
        fclose(fp);
    CHECK(cases >= 5);

    dpsim_image *out = (dpsim_image *)&fixtures;
    if (src) {
        expect_fail(ctx, dpsim_image_resize(ctx, src, 0, 5, &out), DPSIM_E_INVAL, out,
                    "resize to 0x5");
        expect_fail(ctx, dpsim_image_resize(ctx, src, 70000, 5, &out), DPSIM_E_LIMIT, out,
                    "resize to 70000x5");
        expect_fail(ctx, dpsim_image_resize(ctx, NULL, 5, 5, &out), DPSIM_E_INVAL, out,
                    "resize NULL");
        /* extreme shrink and enlarge stay finite and in range */
        dpsim_image *a = NULL, *b = NULL;
        CHECK(dpsim_image_resize(ctx, src, 1, 30, &a) == DPSIM_OK);
        CHECK(a && dpsim_image_resize(ctx, a, 400, 3, &b) == DPSIM_OK);
        for (size_t k = 0; b && k < (size_t)3 * 400 * 3; k++)
            if (!(b->pixels[k] >= 0.0f && b->pixels[k] <= 1.0f)) {
                CHECK_MSG(0, "resize chain: value %g at %zu", b->pixels[k], k);
                break;
            }
        dpsim_image_free(a);
        dpsim_image_free(b);
    }
    dpsim_image_free(src);
}

static void test_crop_create(dpsim_ctx *ctx)
{
    dpsim_image *img = NULL, *out = NULL;
    CHECK(dpsim_image_create(ctx, 13, 11, &img) == DPSIM_OK);
    if (!img)
        return;
    CHECK(img->width == 13 && img->height == 11 && img->format[0] == '\0');
    int zeros = 1;
    for (size_t k = 0; k < (size_t)3 * 13 * 11; k++) {
        zeros &= img->pixels[k] == 0.0f;
        img->pixels[k] = (float)k;
    }
    CHECK(zeros);
    /* 13x11 -> 6x4: offset ((13 - 6) / 2, (11 - 4) / 2) = (3, 3) */
    CHECK(dpsim_image_crop_center(ctx, img, 6, 4, &out) == DPSIM_OK);
    int same = out != NULL;
    for (int c = 0; out && c < 3; c++)
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 6; x++)
                same &= out->pixels[(c * 4 + y) * 6 + x] == (float)((c * 11 + y + 3) * 13 + x + 3);
    CHECK_MSG(same, "crop 13x11 -> 6x4 took the wrong window");
    dpsim_image_free(out);
    out = NULL;
    CHECK(dpsim_image_crop_center(ctx, img, 13, 11, &out) == DPSIM_OK);
    CHECK(out && memcmp(out->pixels, img->pixels, sizeof(float) * 3 * 13 * 11) == 0);
    dpsim_image_free(out);

    out = (dpsim_image *)&fixtures;
    expect_fail(ctx, dpsim_image_crop_center(ctx, img, 14, 11, &out), DPSIM_E_SHAPE, out,
                "crop larger");
    expect_msg(ctx, "14x11");
    expect_fail(ctx, dpsim_image_crop_center(ctx, img, 5, -1, &out), DPSIM_E_INVAL, out,
                "crop negative");
    expect_fail(ctx, dpsim_image_create(ctx, 0, 4, &out), DPSIM_E_INVAL, out, "create 0x4");
    expect_fail(ctx, dpsim_image_create(ctx, 65536, 1, &out), DPSIM_E_LIMIT, out,
                "create 65536x1");
    expect_fail(ctx, dpsim_image_create(ctx, 65535, 65535, &out), DPSIM_E_LIMIT, out,
                "create 65535^2");
    dpsim_image_free(img);
}

// ---- PNG writing ----

static void test_png_write(dpsim_ctx *ctx)
{
    enum { W = 13, H = 11 };
    uint8_t rgb[H * W * 3]; /* (H, W, 3) */
    for (size_t k = 0; k < sizeof rgb; k++)
        rgb[k] = (uint8_t)(k * 37 + k / 7);
    char path[1200];
    path_join(path, sizeof path, tmp_dir, "out.png");
    CHECK_MSG(dpsim_png_write_rgb8(ctx, path, rgb, W, H) == DPSIM_OK, "%s",
              dpsim_ctx_last_error(ctx));
    dpsim_image *img = NULL;
    CHECK(dpsim_image_read(ctx, path, &img) == DPSIM_OK);
    int same = img && img->width == W && img->height == H && img->src_channels == 3;
    for (int c = 0; same && c < 3; c++)
        for (int i = 0; i < W * H; i++)
            same &= img->pixels[c * W * H + i] == (float)rgb[i * 3 + c] / 255.0f;
    CHECK_MSG(same, "PNG round trip changed the pixels");
    dpsim_image_free(img);

    /* failures: nothing is created, an existing file stays as it was */
    char bad[1300];
    path_join(bad, sizeof bad, tmp_dir, "no/such/dir/out.png");
    CHECK(dpsim_png_write_rgb8(ctx, bad, rgb, W, H) == DPSIM_E_IO);
    expect_msg(ctx, "no/such/dir/out.png");
    CHECK(!file_exists(bad));
    path_join(bad, sizeof bad, tmp_dir, "out.png/inside.png"); /* parent is a file */
    CHECK(dpsim_png_write_rgb8(ctx, bad, rgb, W, H) == DPSIM_E_IO);
    CHECK(dpsim_png_write_rgb8(ctx, tmp_dir, rgb, W, H) == DPSIM_E_IO); /* a directory */
    CHECK(dpsim_png_write_rgb8(ctx, path, NULL, W, H) == DPSIM_E_INVAL);
    CHECK(dpsim_png_write_rgb8(ctx, path, rgb, 0, H) == DPSIM_E_INVAL);
    CHECK(dpsim_png_write_rgb8(ctx, path, rgb, 70000, 1) == DPSIM_E_LIMIT);

    size_t before_size, after_size;
    uint8_t *before = slurp(path, &before_size);
    enum { BW = 300, BH = 300 };
    uint8_t *noise = malloc(BW * BH * 3);
    uint32_t x = 12345;
    for (size_t k = 0; k < BW * BH * 3; k++) {
        x = x * 1664525u + 1013904223u;
        noise[k] = (uint8_t)(x >> 24);
    }
    /* the disk "fills up" after 4 KiB: the write fails midway */
    struct rlimit old, small;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    small = old;
    small.rlim_cur = 4096;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
    dpsim_status s = dpsim_png_write_rgb8(ctx, path, noise, BW, BH);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, old_handler);
    CHECK_MSG(s == DPSIM_E_IO, "write past the file size limit: status %d", (int)s);
    expect_msg(ctx, "out.png");
    uint8_t *after = slurp(path, &after_size);
    CHECK_MSG(before && after && before_size == after_size &&
                  memcmp(before, after, before_size) == 0,
              "a failed write changed the existing file");
    CHECK_MSG(count_temporaries() == 0, "a failed write left a temporary file");
    free(before);
    free(after);
    free(noise);
}

// ---- the real images in ../shared/data ----

static void test_shared_data(dpsim_ctx *ctx)
{
    /* the shared data folder: $DPSIM_DATA, else next to $DPSIM_WEIGHTS */
    const char *root = getenv("DPSIM_DATA"), *weights = getenv("DPSIM_WEIGHTS");
    char from_weights[1024];
    if ((!root || !*root) && weights && *weights) {
        snprintf(from_weights, sizeof from_weights, "%s/../data", weights);
        root = from_weights;
    }
    if (!root || !*root) {
        printf("note: DPSIM_DATA and DPSIM_WEIGHTS not set, real-image checks skipped\n");
        return;
    }
    char path[1200], line[512];
    path_join(path, sizeof path, fixture_dir, "shared_data.txt");
    FILE *fp = fopen(path, "r");
    CHECK(fp != NULL);
    int n = 0;
    while (fp && fgets(line, sizeof line, fp)) {
        char rel[256];
        int w, h;
        long long sum;
        if (line[0] == '#' || sscanf(line, "%255s %d %d %lld", rel, &w, &h, &sum) != 4)
            continue;
        path_join(path, sizeof path, root, rel);
        dpsim_image *img = NULL;
        dpsim_status s = dpsim_image_read(ctx, path, &img);
        CHECK_MSG(s == DPSIM_OK, "%s: %s", rel, dpsim_ctx_last_error(ctx));
        if (!img)
            continue;
        CHECK_MSG(img->width == w && img->height == h, "%s: %dx%d, expected %dx%d", rel,
                  img->width, img->height, w, h);
        long long got = 0;
        for (size_t k = 0; k < (size_t)3 * (size_t)img->width * (size_t)img->height; k++)
            got += lroundf(img->pixels[k] * 255.0f);
        CHECK_MSG(got == sum, "%s: byte sum %lld, PIL says %lld", rel, got, sum);
        dpsim_image_free(img);
        n++;
    }
    if (fp)
        fclose(fp);
    CHECK(n >= 5);
}

static void remove_tmp_dir(void)
{
    DIR *d = opendir(tmp_dir);
    if (!d)
        return;
    char path[1200];
    for (struct dirent *ent; (ent = readdir(d)) != NULL;) {
        if (strcmp(ent->d_name, ".") && strcmp(ent->d_name, "..")) {
            path_join(path, sizeof path, tmp_dir, ent->d_name);
            unlink(path);
        }
    }
    closedir(d);
    rmdir(tmp_dir);
}

int main(void)
{
    const char *src_root = getenv("DPSIM_SOURCE_ROOT");
    if (src_root && *src_root)
        snprintf(fixture_dir, sizeof fixture_dir, "%s/tests/image/fixtures", src_root);
    else
        snprintf(fixture_dir, sizeof fixture_dir, "fixtures");
    const char *tmp = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/dpsim-test-image-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmp_dir)) {
        fprintf(stderr, "cannot create a temporary folder: %s\n", strerror(errno));
        return 1;
    }
    dpsim_ctx *ctx = NULL;
    CHECK(dpsim_ctx_create(&ctx, NULL) == DPSIM_OK);
    load_manifest();
    test_fixtures(ctx);
    test_truncated_and_corrupt(ctx);
    test_errors(ctx);
    test_resize(ctx);
    test_crop_create(ctx);
    test_png_write(ctx);
    test_shared_data(ctx);
    dpsim_ctx_free(ctx);
    remove_tmp_dir();
    return check_report();
}
