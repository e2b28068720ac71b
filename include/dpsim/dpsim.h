/*
 * dpsim.h - deep perceptual similarity (LPIPS and friends) in C11.
 *
 * The flow is: create a context (one per thread), load a model (immutable,
 * shareable by any number of threads and contexts), extract the features of
 * each image once, then compare any two feature objects as often as needed.
 *
 *     dpsim_ctx *ctx;  dpsim_model *model;  dpsim_model_options opt;
 *     dpsim_ctx_create(&ctx, NULL);
 *     dpsim_model_options_init(&opt);                  // SqueezeNet 1.1, LPIPS v0.1
 *     if (dpsim_model_load(ctx, &opt, &model) != DPSIM_OK)
 *         fprintf(stderr, "%s\n", dpsim_ctx_last_error(ctx));
 *     dpsim_features *fa, *fb;
 *     dpsim_extract(ctx, model, pixels_a, w, h, &fa);  // pixels: (3, h, w) floats in [0,1]
 *     dpsim_extract(ctx, model, pixels_b, w, h, &fb);
 *     double d;
 *     dpsim_compare(ctx, model, fa, fb, &d, NULL, NULL);
 *
 * Threads: a dpsim_model is read-only after dpsim_model_load and may be used
 * from any number of threads at once. A dpsim_ctx holds scratch memory and the
 * last error message: never use one context from two threads at the same time.
 * dpsim_features are read-only after extraction and may be shared too.
 *
 * Memory: the caller owns every buffer it passes in; the library keeps no
 * caller pointer after a call returns. Objects the library allocates are freed
 * with their matching *_free function, which accepts NULL. On failure every
 * out-parameter is left untouched.
 *
 * Errors: every fallible function returns a dpsim_status. dpsim_strerror()
 * names the class of error; dpsim_ctx_last_error() holds the detail (which
 * file, which tensor, what was expected). The library never prints, never
 * exits and never aborts on bad input.
 */
#ifndef DPSIM_DPSIM_H
#define DPSIM_DPSIM_H

#include <stddef.h>
#include <stdint.h>

#include "dpsim/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(DPSIM_BUILDING_DLL)
#define DPSIM_API __declspec(dllexport)
#elif defined(__GNUC__)
#define DPSIM_API __attribute__((visibility("default")))
#else
#define DPSIM_API
#endif

/* ---- status codes (values are pinned) ---- */

typedef enum dpsim_status {
    DPSIM_OK = 0,
    DPSIM_E_INVAL = -1,       /* an argument is invalid (NULL, out of range, ...) */
    DPSIM_E_NOMEM = -2,       /* an allocation failed */
    DPSIM_E_IO = -3,          /* a file could not be opened, read or written */
    DPSIM_E_FORMAT = -4,      /* a file's content is malformed or unsupported */
    DPSIM_E_SHAPE = -5,       /* sizes do not fit (image too small, size mismatch, tensor shape) */
    DPSIM_E_UNSUPPORTED = -6, /* a valid request this build cannot do */
    DPSIM_E_ABI = -7,         /* header and library versions disagree */
    DPSIM_E_NOT_FOUND = -8,   /* weights or another needed file were not found */
    DPSIM_E_LIMIT = -9        /* an input exceeds a documented limit (e.g. image size) */
} dpsim_status;

/** Short, static description of a status code. Never NULL. */
DPSIM_API const char *dpsim_strerror(dpsim_status status);

/** MAJOR*10000 + MINOR*100 + PATCH of the linked library. */
DPSIM_API unsigned dpsim_version_number(void);
/** "MAJOR.MINOR.PATCH" of the linked library. */
DPSIM_API const char *dpsim_version_string(void);

/* ---- context: scratch memory and last error, one per thread ---- */

typedef struct dpsim_ctx dpsim_ctx;

typedef struct dpsim_config {
    unsigned abi;  /* set by dpsim_config_init */
    int n_threads; /* worker threads for one extraction; 0 or 1 = the calling thread only */
} dpsim_config;

DPSIM_API dpsim_status dpsim_config_init_abi(dpsim_config *config, unsigned abi);
static inline dpsim_status dpsim_config_init(dpsim_config *config)
{
    return dpsim_config_init_abi(config, DPSIM_ABI_VERSION);
}

/**
 * Create a context. @param config NULL for defaults.
 * @return DPSIM_OK, DPSIM_E_NOMEM, DPSIM_E_ABI or DPSIM_E_INVAL.
 */
DPSIM_API dpsim_status dpsim_ctx_create(dpsim_ctx **out, const dpsim_config *config);
DPSIM_API void dpsim_ctx_free(dpsim_ctx *ctx);
/** Detail of the last failure in this context ("" if none). Valid until the next call with ctx. */
DPSIM_API const char *dpsim_ctx_last_error(const dpsim_ctx *ctx);

/* ---- networks ---- */

typedef enum dpsim_net {
    DPSIM_NET_SQUEEZE = 0, /* torchvision squeezenet1_1 */
    DPSIM_NET_ALEX = 1,    /* torchvision alexnet */
    DPSIM_NET_VGG16 = 2    /* torchvision vgg16 */
} dpsim_net;

typedef enum dpsim_lpips_version {
    DPSIM_LPIPS_V0_1 = 0, /* x = 2v-1, then (x - shift) / scale: the current LPIPS */
    DPSIM_LPIPS_V0_0 = 1  /* x = 2v-1 fed to the net as is (historic; reproduces old papers) */
} dpsim_lpips_version;

/** Short name ("squeeze", "alex", "vgg") or NULL for an unknown net. */
DPSIM_API const char *dpsim_net_name(dpsim_net net);
/** torchvision name ("squeezenet1_1", "alexnet", "vgg16") or NULL. */
DPSIM_API const char *dpsim_net_torchvision_name(dpsim_net net);
/** Parse "squeeze"/"squeezenet1_1", "alex"/"alexnet", "vgg"/"vgg16". */
DPSIM_API dpsim_status dpsim_net_parse(const char *name, dpsim_net *out);

#define DPSIM_MAX_TAPS 32

/* ---- comparison methods (SPEC section 3, thesis chapter 4) ---- */

typedef enum dpsim_method {
    DPSIM_METHOD_SPATIAL = 0,      /* LPIPS: position by position (default) */
    DPSIM_METHOD_MEAN = 1,         /* each channel replaced by its spatial mean */
    DPSIM_METHOD_SORT = 2,         /* each channel's values sorted (descending), compared by rank */
    DPSIM_METHOD_SPATIAL_MEAN = 3, /* spatial + mean, each term with its own weights */
    DPSIM_METHOD_SPATIAL_SORT = 4, /* spatial + sort, each term with its own weights */
    DPSIM_METHOD_GRAM = 5,         /* Gram (style) matrices Z Z^T / (H W) */
    DPSIM_METHOD_DISTS = 6         /* DISTS texture + structure on VGG-16 with L2 pooling */
} dpsim_method;

/** "spatial", "mean", "sort", "spatial+mean", "spatial+sort", "gram", "dists"; NULL if unknown. */
DPSIM_API const char *dpsim_method_name(dpsim_method method);
/** Parse a name as written by dpsim_method_name. @return DPSIM_OK or DPSIM_E_INVAL. */
DPSIM_API dpsim_status dpsim_method_parse(const char *name, dpsim_method *out);

/* ---- model: trunk weights + per-channel weights + settings, immutable ---- */

typedef struct dpsim_model dpsim_model;

/* Arithmetic of the network's convolutions. */
typedef enum dpsim_precision {
    DPSIM_PRECISION_FP32 = 0, /* float weights and activations (default) */
    DPSIM_PRECISION_BF16 = 1  /* opt-in: weights and convolution inputs rounded to bfloat16,
                                 products summed in float; needs a CPU with AVX512-BF16;
                                 up to 1.2x faster (small images; not where fp32 runs
                                 Winograd), distances within ~0.3% (measured,
                                 doc/PRECISION.md) */
} dpsim_precision;

/** "fp32", "bf16"; NULL if unknown. */
DPSIM_API const char *dpsim_precision_name(dpsim_precision precision);
/** Parse "fp32" or "bf16". @return DPSIM_OK or DPSIM_E_INVAL. */
DPSIM_API dpsim_status dpsim_precision_parse(const char *name, dpsim_precision *out);

typedef struct dpsim_model_options {
    unsigned abi;                /* set by dpsim_model_options_init */
    dpsim_net net;               /* default DPSIM_NET_SQUEEZE */
    dpsim_lpips_version version; /* default DPSIM_LPIPS_V0_1 */
    int use_lin;                 /* 1 (default): learned LPIPS weights; 0: all ones (baseline) */
    int n_taps;                  /* 0 (default): the LPIPS taps of the net */
    int taps[DPSIM_MAX_TAPS];    /* `features` indices, strictly increasing */
    const char *trunk_path;      /* NULL: look up (see dpsim_weights_locate) */
    const char *lin_path;        /* NULL: look up; ignored when use_lin == 0 */
    /* Fields below were added with the comparison methods (see doc/WEIGHTS.md). */
    dpsim_method method;         /* default DPSIM_METHOD_SPATIAL */
    int normalize;               /* -1 (default): the method's own rule: on for spatial, mean,
                                    sort and their sums, off for gram, none for dists;
                                    0: off; 1: on (unit norm along channels; not for dists) */
    int pixel_layer;             /* 1: add the preprocessed input as an extra first tap
                                    ("pixel", index -1); default 0; dists always has it */
    /* Added in ABI 2. */
    dpsim_precision precision;   /* DPSIM_PRECISION_FP32 (default) or the opt-in
                                    DPSIM_PRECISION_BF16 (DPSIM_E_UNSUPPORTED on a CPU
                                    without AVX512-BF16, or under $DPSIM_ISA below avx512);
                                    bf16 models compute no gradients */
} dpsim_model_options;

DPSIM_API dpsim_status dpsim_model_options_init_abi(dpsim_model_options *opt, unsigned abi);
static inline dpsim_status dpsim_model_options_init(dpsim_model_options *opt)
{
    return dpsim_model_options_init_abi(opt, DPSIM_ABI_VERSION);
}

/**
 * Load a model: read and validate the trunk and (if use_lin) the per-channel
 * weights, repack them for computation. Checkpoints are PyTorch files (legacy
 * or zip format, read without executing anything) or safetensors.
 * Custom taps with use_lin need a lin file whose tensors match those taps.
 * @return DPSIM_OK; DPSIM_E_NOT_FOUND when weights are not found (the detail
 *   lists where they were looked for); DPSIM_E_FORMAT/E_SHAPE for bad files;
 *   DPSIM_E_UNSUPPORTED for bf16 precision where the CPU cannot run it.
 */
DPSIM_API dpsim_status dpsim_model_load(dpsim_ctx *ctx, const dpsim_model_options *opt,
                                        dpsim_model **out);
DPSIM_API void dpsim_model_free(dpsim_model *model);

DPSIM_API dpsim_net dpsim_model_net(const dpsim_model *model);
DPSIM_API dpsim_method dpsim_model_method(const dpsim_model *model);
DPSIM_API int dpsim_model_n_taps(const dpsim_model *model);
/** `features` index and channel count of tap i (0 <= i < n_taps); the pixel layer has index -1. */
DPSIM_API dpsim_status dpsim_model_tap(const dpsim_model *model, int i, int *index, int *channels);
/** Smallest accepted input width/height (square inputs; each side is checked alone). */
DPSIM_API int dpsim_model_min_size(const dpsim_model *model);
/**
 * One-line provenance: net, taps, method, version, preprocessing, eps and
 * weight sha256 prefixes, and "precision=bf16" for a bf16 model (nothing for fp32). Writes at most len bytes including the NUL.
 * @return the length of the full line (like snprintf).
 */
DPSIM_API size_t dpsim_model_provenance(const dpsim_model *model, char *buf, size_t len);
/** Full path and hex sha256 of the trunk (which = 0) or lin (which = 1) file; NULL if none. */
DPSIM_API const char *dpsim_model_weights_path(const dpsim_model *model, int which);
DPSIM_API const char *dpsim_model_weights_sha256(const dpsim_model *model, int which);

/* ---- features: what the net extracts from one image ---- */

typedef struct dpsim_features dpsim_features;

/**
 * Run the net on one image and keep the tap activations.
 * @param pixels (3, height, width) planar float, row-major, values in [0,1]; caller-owned.
 * @return DPSIM_OK; DPSIM_E_SHAPE if the image is smaller than dpsim_model_min_size;
 *   DPSIM_E_LIMIT if it is larger than DPSIM_MAX_PIXELS.
 */
DPSIM_API dpsim_status dpsim_extract(dpsim_ctx *ctx, const dpsim_model *model,
                                     const float *pixels, int width, int height,
                                     dpsim_features **out);
/**
 * dpsim_extract on n images: out[i] gets the features of pixels[i]
 * ((3, heights[i], widths[i]), as for dpsim_extract), bit-identical to what
 * dpsim_extract gives. Images of one size up to 128x128 go through the net
 * together, 32 at a time, each convolution one GEMM over all their pixels
 * (a small image's layers are too small to fill the kernels alone). Other
 * images whose activations take at most 32 MB (SqueezeNet and AlexNet up to
 * 512x512, VGG-16 up to 256x256) are extracted side by side, one per thread
 * of the context; larger ones one after another over all threads. On failure every
 * out[i] is NULL and the error names the first image that failed ("image 3
 * of the batch: ...").
 */
DPSIM_API dpsim_status dpsim_extract_batch(dpsim_ctx *ctx, const dpsim_model *model, int n,
                                           const float *const *pixels, const int *widths,
                                           const int *heights, dpsim_features **out);
DPSIM_API void dpsim_features_free(dpsim_features *features);
DPSIM_API int dpsim_features_width(const dpsim_features *features);
DPSIM_API int dpsim_features_height(const dpsim_features *features);

/**
 * Distance between two feature sets made by the same model from images of the
 * same size (any sizes for DPSIM_METHOD_MEAN and DPSIM_METHOD_GRAM: channel
 * means and Gram matrices do not depend on positions). Features do not depend
 * on the method or normalisation: a model that differs from the extracting one
 * only there accepts them too.
 * @param distance out: the total distance.
 * @param per_tap  NULL, or caller buffer of dpsim_model_n_taps(model) terms
 *                 (for spatial+mean and spatial+sort each is the sum of both
 *                 terms of that tap; for dists, 1 - total is their sum).
 * @param map      NULL, or caller buffer (height, width): the spatial distance
 *                 map (LPIPS spatial=True: each tap's weighted squared
 *                 difference upsampled bilinearly to the input size, summed).
 *                 Defined for the spatial term only: spatial+X maps its spatial
 *                 term; other methods return DPSIM_E_UNSUPPORTED for a map.
 */
DPSIM_API dpsim_status dpsim_compare(dpsim_ctx *ctx, const dpsim_model *model,
                                     const dpsim_features *a, const dpsim_features *b,
                                     double *distance, double *per_tap, float *map);

/**
 * Distances of n pairs of images of one size, pair i being a[i] and b[i]
 * (3, height, width) in [0,1]: what dpsim_extract and dpsim_compare give
 * (within 1e-5 relative), without keeping features. With the spatial method
 * (the LPIPS default), pairs whose features would be large run the trunk over
 * bands of rows, both images in step, each tap's term summed as its rows
 * appear: memory grows with the width, not the area (VGG-16 on a 1024x1024
 * pair: 63 MB of rows and bands instead of the 1 GB of both images'
 * features). Other methods, and pairs whose features would take less than
 * 48 MB, go through features, extracted as dpsim_extract_batch does.
 * @param distances (n) out
 * @param per_tap   NULL, or (n, dpsim_model_n_taps(model)) out: as dpsim_compare's
 * @param maps      NULL, or (n, height, width) out: each pair's distance map
 *                  as dpsim_compare's (spatial, spatial+mean and spatial+sort)
 * Nothing is written on failure; an image that fails is named by its pair.
 */
DPSIM_API dpsim_status dpsim_compare_images(dpsim_ctx *ctx, const dpsim_model *model, int n,
                                            const float *const *a, const float *const *b,
                                            int width, int height, double *distances,
                                            double *per_tap, float *maps);

/* ---- images: decoding, resizing, writing ---- */

/**
 * Largest accepted image: at most DPSIM_MAX_SIDE pixels per side and
 * DPSIM_MAX_PIXELS pixels in all (width * height). A file whose header claims
 * more is refused with DPSIM_E_LIMIT before any pixel memory is allocated.
 */
#define DPSIM_MAX_PIXELS (64 * 1024 * 1024)
#define DPSIM_MAX_SIDE 65535

typedef struct dpsim_image {
    int width;
    int height;
    float *pixels;    /* (3, height, width) planar, row-major, values in [0,1] */
    int src_channels; /* channels in the file: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA;
                         palettised files count as 3, or 4 with transparency */
    int src_bits;     /* bits per channel in the file: 8 or 16 (palette and < 8-bit: 8) */
    int alpha_dropped;/* 1 if the file had an alpha channel or transparency, which was ignored */
    char format[8];   /* "png", "jpeg", "bmp", "gif", "webp"; "" for dpsim_image_create */
} dpsim_image;

/**
 * Decode an image file, chosen by content (magic bytes), not by name:
 *  - PNG: 8/16-bit gray, gray+alpha, RGB, RGBA, palette (with tRNS), interlaced;
 *    16-bit samples keep their precision; no gamma correction is applied.
 *  - JPEG: gray and YCbCr, baseline and progressive. CMYK/YCCK is refused with
 *    DPSIM_E_UNSUPPORTED (it needs colour management).
 *  - BMP: uncompressed 1/4/8-bit palettised, 16/32-bit BI_RGB or BI_BITFIELDS,
 *    24-bit, bottom-up or top-down. RLE is refused with DPSIM_E_UNSUPPORTED.
 *  - GIF: the first frame, drawn at its position on a black logical screen;
 *    transparent pixels stay black.
 *  - WebP: lossy and lossless still images (animations are refused).
 * Values: an 8-bit sample p becomes (float)p / 255.0f, a 16-bit one
 * (float)p / 65535.0f. Gray is replicated to R, G and B; alpha is ignored (not
 * composited) and alpha_dropped says so. Files larger than 1 GiB are refused.
 * @param out on success a new image, freed with dpsim_image_free; untouched on failure.
 * @return DPSIM_OK; DPSIM_E_IO (missing, unreadable, a directory); DPSIM_E_FORMAT
 *         (empty, truncated, malformed, not an image); DPSIM_E_UNSUPPORTED;
 *         DPSIM_E_LIMIT; DPSIM_E_NOMEM; DPSIM_E_INVAL (NULL argument).
 *         A truncated file always fails (a PNG needs its IEND, a JPEG its EOI,
 *         a GIF its trailer). The detail names the file:
 *         "image 'a.png': truncated PNG data (libpng: ...)".
 */
DPSIM_API dpsim_status dpsim_image_read(dpsim_ctx *ctx, const char *path, dpsim_image **out);
/** Same from memory; name is used in error messages only (NULL: "<memory>"). */
DPSIM_API dpsim_status dpsim_image_read_memory(dpsim_ctx *ctx, const void *data, size_t size,
                                               const char *name, dpsim_image **out);
/**
 * A new black image (owned by the library; free with dpsim_image_free).
 * @return DPSIM_OK, DPSIM_E_INVAL (a side < 1), DPSIM_E_LIMIT or DPSIM_E_NOMEM.
 */
DPSIM_API dpsim_status dpsim_image_create(dpsim_ctx *ctx, int width, int height, dpsim_image **out);
/** Free an image made by the library. NULL is allowed. */
DPSIM_API void dpsim_image_free(dpsim_image *image);
/**
 * Bilinear resize (antialiased when shrinking) to width x height into a new
 * image, defined exactly as PyTorch's
 * interpolate(x, size=(height, width), mode='bilinear', align_corners=False,
 * antialias=True): when enlarging, plain bilinear with align_corners=False;
 * when shrinking, a triangle filter widened by the scale factor; the same size
 * gives an identical copy. The source description fields are copied.
 * @return DPSIM_OK, DPSIM_E_INVAL, DPSIM_E_LIMIT or DPSIM_E_NOMEM.
 */
DPSIM_API dpsim_status dpsim_image_resize(dpsim_ctx *ctx, const dpsim_image *in, int width,
                                          int height, dpsim_image **out);
/**
 * Centre crop to width x height into a new image. The window starts at
 * ((in->width - width) / 2, (in->height - height) / 2), rounded down.
 * @return DPSIM_OK; DPSIM_E_SHAPE if the crop is larger than the image;
 *         DPSIM_E_INVAL; DPSIM_E_NOMEM.
 */
DPSIM_API dpsim_status dpsim_image_crop_center(dpsim_ctx *ctx, const dpsim_image *in, int width,
                                               int height, dpsim_image **out);
/**
 * Write 8-bit RGB (interleaved, (height, width, 3)) as PNG to path. The file is
 * written under a temporary name in the same folder and renamed on success, so
 * a failure never leaves a partial file or harms an existing one.
 * @return DPSIM_OK, DPSIM_E_IO, DPSIM_E_INVAL, DPSIM_E_LIMIT or DPSIM_E_NOMEM.
 */
DPSIM_API dpsim_status dpsim_png_write_rgb8(dpsim_ctx *ctx, const char *path, const uint8_t *rgb,
                                            int width, int height);

/* ---- weights files ---- */

typedef enum dpsim_weights_kind {
    DPSIM_WEIGHTS_TRUNK = 0, /* the network's `features` */
    DPSIM_WEIGHTS_LIN = 1,   /* LPIPS per-channel weights for (net, version) */
    DPSIM_WEIGHTS_DISTS = 2  /* DISTS alpha/beta (vgg16 only) */
} dpsim_weights_kind;

/**
 * Find a weights file without loading it. Order: $DPSIM_WEIGHTS, ~/.cache/dpsim,
 * ~/.cache/torch/hub/checkpoints (trunks only). Layout inside the first two:
 *   squeezenet1_1/features.pth | squeezenet1_1-b8a52dc0.pth
 *   alexnet/features.pth       | alexnet-owt-7be5be79.pth
 *   vgg16/features.pth         | vgg16-397923af.pth
 *   lpips/v0.1/{squeeze,alex,vgg}.pth, lpips/v0.0/{squeeze,alex,vgg}.pth
 *   dists/weights.pt
 * @param path out: the file found (NUL-terminated, at most len bytes).
 * @param searched out, may be NULL: the places looked at, separated by "; ".
 * @return DPSIM_OK or DPSIM_E_NOT_FOUND.
 */
DPSIM_API dpsim_status dpsim_weights_locate(dpsim_weights_kind kind, dpsim_net net,
                                            dpsim_lpips_version version, char *path, size_t len,
                                            char *searched, size_t searched_len);

/**
 * Write size bytes to path atomically: a temporary file in the same folder,
 * renamed over path only once everything is written. On failure path is
 * untouched and no temporary file remains.
 */
DPSIM_API dpsim_status dpsim_file_write_atomic(dpsim_ctx *ctx, const char *path, const void *data,
                                               size_t size);

/** Hex sha256 (65 bytes with NUL) of a file. */
DPSIM_API dpsim_status dpsim_file_sha256(dpsim_ctx *ctx, const char *path, char hex[65]);

#ifdef __cplusplus
}
#endif

#include "dpsim/featfile.h"
#include "dpsim/eval.h"    /* evaluation: 2AFC, JND, MOS */
#include "dpsim/distort.h" /* distortions and the random generator */
#include "dpsim/train.h"   /* training and adapting the per-channel weights */

#endif /* DPSIM_DPSIM_H */
#include "dpsim/grad.h" /* deep perceptual loss: gradients (issue 4) */
