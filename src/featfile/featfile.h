/*
 * featfile.h (private) - the feature file layout shared by the writer and
 * the reader (doc/FEATURES.md): fixed header fields and their offsets.
 */
#ifndef DPSIM_FEATFILE_FEATFILE_H
#define DPSIM_FEATFILE_FEATFILE_H

#include <stdint.h>

#include "dpsim/featfile.h"
#include "model/model.h"

/* Fixed part of the header; the tap table and two strings follow. */
enum {
    FF_OFF_VERSION = 8,
    FF_OFF_HEADER_SIZE = 12,
    FF_OFF_FINGERPRINT = 16,
    FF_OFF_NET = 24,
    FF_OFF_FLAGS = 28,
    FF_OFF_LPIPS_VERSION = 32,
    FF_OFF_N_TAPS = 36,
    FF_OFF_N_RECORDS = 40,
    FF_OFF_WRITER_VERSION = 48,
    FF_OFF_RESERVED = 52,
    FF_OFF_TRUNK_SHA = 56,
    FF_OFF_LIN_SHA = 120,
    FF_FIXED_SIZE = 184, /* then n_taps x (i32 index, u32 channels) */
    FF_TAP_ENTRY = 8,
    FF_SHA_LEN = 64
};

enum { FF_FLAG_DISTS = 1u, FF_FLAG_PIXEL = 2u, FF_FLAG_BF16 = 4u, FF_FLAGS_KNOWN = 7u };

/* What the header says about the extracting model. */
typedef struct ff_settings {
    uint64_t fingerprint;
    dpsim_net net;
    unsigned flags;
    dpsim_lpips_version version;
    int n_taps;
    int taps[DPSIM_MAX_TAPS];     /* -1 = pixel */
    int channels[DPSIM_MAX_TAPS];
    char trunk_sha256[FF_SHA_LEN + 1];
    char lin_sha256[FF_SHA_LEN + 1]; /* "" when the model has none */
} ff_settings;

/** The settings of a loaded model, as a header would store them. */
void ff_settings_of_model(const dpsim_model *m, ff_settings *s);

/** The layer table features were computed on (DISTS variant or the plain net); NULL if unknown. */
const net_def *ff_settings_net_def(const ff_settings *s);

/**
 * Feature tensor sides of tap t for an input of width x height under s;
 * returns 0 if the input is too small for the tap.
 */
int ff_tap_sides(const ff_settings *s, const net_def *def, int t, int width, int height,
                 int *h, int *w);

static inline void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

#endif
