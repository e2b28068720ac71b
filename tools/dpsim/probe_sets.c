/*
 * probe_sets.c - the generated image sets of `dpsim probe` (SPEC section 9,
 * thesis chapter 4): black/white patterns and their inversions, a structured
 * patch translated, rotations, colour stains; and the seven references.
 * Everything is deterministic (a fixed xorshift for noise). Images are
 * (3, PROBE_SIDE, PROBE_SIDE) planar floats in [0,1].
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

#define S PROBE_SIDE
#define PLANE (S * S)

static uint32_t next(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

static void fill(float *im, float r, float g, float b)
{
    for (int i = 0; i < PLANE; i++) {
        im[i] = r;
        im[PLANE + i] = g;
        im[2 * PLANE + i] = b;
    }
}

static void put(float *im, int x, int y, float r, float g, float b)
{
    if (x < 0 || y < 0 || x >= S || y >= S)
        return;
    im[y * S + x] = r;
    im[PLANE + y * S + x] = g;
    im[2 * PLANE + y * S + x] = b;
}

/* Black/white pattern k (0..PROBE_N_INVERT-1) at (x, y): 1 white, 0 black. */
static int pattern(int k, int x, int y)
{
    int cx = x - S / 2, cy = y - S / 2, r2 = cx * cx + cy * cy;
    switch (k) {
    case 0: return ((x / 8) + (y / 8)) & 1;          /* checkerboard */
    case 1: return (y / 6) & 1;                      /* horizontal stripes */
    case 2: return (x / 6) & 1;                      /* vertical stripes */
    case 3: return ((x + y) / 8) & 1;                /* diagonal stripes */
    case 4: return r2 < (S / 4) * (S / 4);           /* disc */
    case 5: return ((int)sqrt((double)r2) / 5) & 1;  /* rings */
    case 6: return x > y;                            /* two triangles */
    case 7: return (x % 16 < 4) || (y % 16 < 4);     /* grid */
    case 8: return abs(cx) + abs(cy) < S / 3;        /* diamond */
    case 9: return x < S / 2;                        /* halves */
    default: return (x / 4 + y / 16) & 1;            /* bricks */
    }
}

/* A structured w x w patch (kind k) at (x0, y0): coloured shapes on its own. */
static void patch(float *im, int k, int x0, int y0, int w)
{
    uint32_t st = 0x9e3779b9u + (uint32_t)k * 7919u;
    for (int y = 0; y < w; y++)
        for (int x = 0; x < w; x++) {
            float v;
            switch (k % 5) {
            case 0: v = (float)(((x / 3) + (y / 3)) & 1); break;
            case 1: v = (float)((x * x + y * y) % 17 < 8); break;
            case 2: v = (float)(next(&st) & 1); break;
            case 3: v = (float)((x / 2) & 1) * (float)(y < w / 2); break;
            default: v = (float)(abs(x - w / 2) + abs(y - w / 2) < w / 3); break;
            }
            put(im, x0 + x, y0 + y, v, 0.2f + 0.6f * v * (float)(k & 1), 1.0f - v);
        }
}

/* Rotation base k: an asymmetric scene of three shapes on a light background. */
static void scene(float *im, int k)
{
    fill(im, 0.9f, 0.9f, 0.85f);
    patch(im, k, 8, 8, 20);
    patch(im, k + 1, 36, 12, 16);
    patch(im, k + 3, 20, 38, 22);
}

/* out = in rotated by deg around the centre (nearest neighbour); outside: in's corner colour. */
static void rotate(const float *in, double deg, float *out)
{
    const double a = deg * 3.14159265358979323846 / 180.0, c = cos(a), s = sin(a);
    const double m = (S - 1) / 2.0;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            double dx = x - m, dy = y - m;
            int sx = (int)lround(c * dx + s * dy + m), sy = (int)lround(-s * dx + c * dy + m);
            int inside = sx >= 0 && sy >= 0 && sx < S && sy < S;
            for (int ch = 0; ch < 3; ch++)
                out[ch * PLANE + y * S + x] =
                    inside ? in[ch * PLANE + sy * S + sx] : in[ch * PLANE];
        }
}

/* Add n soft coloured stains (discs) with a seed. */
static void stains(float *im, uint32_t seed, int n)
{
    for (int i = 0; i < n; i++) {
        int cx = (int)(next(&seed) % S), cy = (int)(next(&seed) % S), r = 5 + (int)(next(&seed) % 8);
        float col[3] = {(float)(next(&seed) % 256) / 255.0f, (float)(next(&seed) % 256) / 255.0f,
                        (float)(next(&seed) % 256) / 255.0f};
        for (int y = cy - r; y <= cy + r; y++)
            for (int x = cx - r; x <= cx + r; x++)
                if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r && x >= 0 && y >= 0 &&
                    x < S && y < S)
                    for (int ch = 0; ch < 3; ch++)
                        im[ch * PLANE + y * S + x] = 0.5f * im[ch * PLANE + y * S + x] + 0.5f * col[ch];
            }
}

static const float stain_bg[PROBE_N_STAIN][3] = {
    {1.0f, 0.7f, 0.3f}, {0.4f, 0.85f, 0.4f}, {0.4f, 0.55f, 1.0f}, {0.9f, 0.9f, 0.6f},
    {0.35f, 0.35f, 0.35f}};

void probe_build(probe_sets *p)
{
    static const char *const ref_names[PROBE_N_REFS] = {"black", "gray", "white", "red",
                                                        "green", "blue", "noise"};
    static const float ref_col[6][3] = {{0, 0, 0}, {0.5f, 0.5f, 0.5f}, {1, 1, 1},
                                        {1, 0, 0}, {0, 1, 0},          {0, 0, 1}};
    for (int r = 0; r < 6; r++)
        fill(p->refs[r], ref_col[r][0], ref_col[r][1], ref_col[r][2]);
    uint32_t st = 12345u;
    for (int i = 0; i < 3 * PLANE; i++)
        p->refs[6][i] = (float)(next(&st) % 256) / 255.0f;
    memcpy(p->ref_names, ref_names, sizeof ref_names);

    for (int k = 0; k < PROBE_N_INVERT; k++)
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                float v = (float)pattern(k, x, y);
                put(p->invert[k][0], x, y, v, v, v);
                put(p->invert[k][1], x, y, 1 - v, 1 - v, 1 - v);
            }
    for (int k = 0; k < PROBE_N_TRANSLATE; k++) {
        fill(p->translate[k][0], 0.85f, 0.9f, 1.0f);
        fill(p->translate[k][1], 0.85f, 0.9f, 1.0f);
        patch(p->translate[k][0], k, 4, 4, 24);
        patch(p->translate[k][1], k, S - 28, S - 28, 24);
    }
    static const double angles[PROBE_N_ANGLES] = {22.5, 45.0, 67.5, 90.0, 180.0};
    for (int k = 0; k < PROBE_N_SCENES; k++) {
        scene(p->rotate[k][0], k);
        for (int a = 0; a < PROBE_N_ANGLES; a++)
            rotate(p->rotate[k][0], angles[a], p->rotate[k][1 + a]);
    }
    for (int k = 0; k < PROBE_N_STAIN; k++) {
        float *orig = p->stain[k][0], *similar = p->stain[k][1], *other = p->stain[k][2];
        fill(orig, 1.0f, 1.0f, 1.0f);
        patch(orig, k, 20, 20, 24);
        fill(similar, stain_bg[k][0], stain_bg[k][1], stain_bg[k][2]);
        stains(similar, 777u + (uint32_t)k, 3 + 2 * (k % 3));
        patch(similar, k, 20, 20, 24);
        fill(other, 1.0f, 1.0f, 1.0f);
        patch(other, k + 2, 20, 20, 24);
    }
}
