/*
 * nn.h - scalar reference kernels on planar float32 tensors.
 * Layout everywhere: (C, H, W) row-major, one image at a time. These kernels
 * are the oracle for any faster path: clear loops, double accumulation.
 */
#ifndef DPSIM_NN_NN_H
#define DPSIM_NN_NN_H

#include <stddef.h>

typedef struct conv2d_shape {
    int in_ch, out_ch; /* C_in, C_out */
    int kernel;        /* square kernel side */
    int stride, pad;   /* same in both directions */
} conv2d_shape;

/** Output side of a convolution: floor((in + 2 pad - k) / s) + 1, or <= 0 if none. */
int conv2d_out_size(const conv2d_shape *s, int in);

/**
 * out = conv(in, weight) + bias.
 * @param out    (out_ch, Ho, Wo)
 * @param in     (in_ch, H, W)
 * @param weight (out_ch, in_ch, k, k)
 * @param bias   (out_ch)
 * @param acc    scratch (Ho * Wo) doubles
 */
void conv2d_forward(const conv2d_shape *s, const float *in, int h, int w, const float *weight,
                    const float *bias, float *out, double *acc);

/** x = max(x, 0) over n values, in place. */
void relu_forward(float *x, size_t n);

typedef struct maxpool_shape {
    int kernel, stride;
    int ceil_mode; /* PyTorch ceil_mode: last partial window kept unless it starts past the input */
} maxpool_shape;

/** Output side of a max-pool (PyTorch pooling_output_shape with pad 0), or <= 0 if none. */
int maxpool_out_size(const maxpool_shape *s, int in);

/** @param in (c, h, w) -> out (c, Ho, Wo); windows clipped to the input. */
void maxpool_forward(const maxpool_shape *s, const float *in, int c, int h, int w, float *out);

/**
 * DISTS L2 pooling, per channel: out = sqrt(conv(in^2, g) + 1e-12) with
 * g = [[1,2,1],[2,4,2],[1,2,1]] / 16, stride 2, zero padding 1.
 * @param in (c, h, w) -> out (c, (h - 1) / 2 + 1, (w - 1) / 2 + 1)
 */
void l2pool_forward(const float *in, int c, int h, int w, float *out);

/**
 * Per position, the reciprocal of the LPIPS channel norm: 1 / (sqrt(sum_c z^2) + eps).
 * @param z   (c, h*w)
 * @param inv (h*w) out
 */
void channel_inv_norm(const float *z, int c, size_t hw, double eps, double *inv);

/**
 * Bilinear upsampling like PyTorch interpolate(mode='bilinear',
 * align_corners=False) with an explicit output size.
 * @param in (ih, iw) -> out (oh, ow), added into out (accumulates).
 */
void upsample_bilinear_add(const float *in, int ih, int iw, float *out, int oh, int ow);

#endif
