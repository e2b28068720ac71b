#!/usr/bin/python3
"""Write the image-decoder test fixtures to tests/image/fixtures/.

Run with Debian's python3 (python3-pil, numpy, torch):
    /usr/bin/python3 tools/scripts/make_image_fixtures.py

One small picture (13x11, odd sizes) is saved in every supported layout. PNG,
BMP and GIF files whose layout PIL cannot write are produced by the tiny
writers below. Beside each fixture the expected decode is stored as raw
float32 little-endian, (3, H, W) planar, computed as np.float32(p) / 255 (or
/ 65535): lossless files from the source arrays (cross-checked against PIL
where PIL decodes them), lossy files from PIL's decode. expected.txt lists the
fixtures with their size, source description and tolerance. The resize
references come from torch.nn.functional.interpolate(mode='bilinear',
align_corners=False, antialias=True). shared_data.txt holds the size and the
byte sum of PIL's RGB decode of the real images in ../shared/data.
"""
import os
import struct
import sys
import zlib

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "tests", "image", "fixtures")
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))

W, H = 13, 11


# ---- the source picture ----

def source():
    y, x = np.mgrid[0:H, 0:W]
    rgb = np.stack([(x * 20 + y * 3) % 256,
                    (y * 23 + x * 5) % 256,
                    (x * y * 7 + 40) % 256], axis=-1).astype(np.uint8)  # (H, W, 3)
    rgb[0, 0] = (0, 0, 0)
    rgb[H - 1, W - 1] = (255, 255, 255)
    alpha = ((x * 17 + y * 29) % 256).astype(np.uint8)                   # (H, W)
    alpha[0, 1] = 255
    gray = ((x * 19 + y * 7) % 256).astype(np.uint8)
    gray[0, 0], gray[H - 1, W - 1] = 0, 255
    rgb16 = (rgb.astype(np.uint32) * 257 + (x * y % 257)[..., None]).clip(0, 65535)
    rgb16 = rgb16.astype(np.uint16)
    rgb16[H - 1, W - 1] = (65535, 65535, 65535)
    alpha16 = (alpha.astype(np.uint32) * 251 + y.astype(np.uint32)).astype(np.uint16)
    gray16 = (gray.astype(np.uint32) * 257 + (x * 3 + y) % 200).clip(0, 65535).astype(np.uint16)
    return rgb, alpha, gray, rgb16, alpha16, gray16


def planar(arr, maxval):
    """(H, W) gray or (H, W, 3) RGB integers -> (3, H, W) float32 as the C code computes it."""
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    return (arr.astype(np.float32) / np.float32(maxval)).transpose(2, 0, 1).copy()


# ---- a minimal PNG writer (any colour type and depth, all five filters, Adam7) ----

def png_chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_rows(rows, bpp):
    """rows: list of bytes (one scanline each); filter type = row index % 5."""
    out = bytearray()
    prev = bytes(len(rows[0])) if rows else b""
    for i, row in enumerate(rows):
        ftype = i % 5
        f = bytearray(len(row))
        for j, v in enumerate(row):
            a = row[j - bpp] if j >= bpp else 0
            b = prev[j]
            c = prev[j - bpp] if j >= bpp else 0
            pred = (0, a, b, (a + b) // 2, paeth(a, b, c))[ftype]
            f[j] = (v - pred) & 0xFF
        out.append(ftype)
        out += f
        prev = row
    return bytes(out)


def pack_samples(samples, depth):
    """samples: (h, w*channels) integers -> list of packed scanlines."""
    rows = []
    for r in samples:
        if depth == 16:
            rows.append(b"".join(struct.pack(">H", int(v)) for v in r))
        elif depth == 8:
            rows.append(bytes(int(v) for v in r))
        else:
            per = 8 // depth
            b = bytearray()
            for k in range(0, len(r), per):
                byte = 0
                for m in range(per):
                    v = int(r[k + m]) if k + m < len(r) else 0
                    byte |= v << (8 - depth * (m + 1))
                b.append(byte)
            rows.append(bytes(b))
    return rows


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]  # (x0, y0, dx, dy)


def write_png(path, samples, ctype, depth, plte=None, trns=None, interlace=False):
    """samples: (H, W, C) or (H, W) integer array in the PNG's sample layout."""
    s = samples if samples.ndim == 3 else samples[..., None]
    h, w, c = s.shape
    bpp = max(1, c * depth // 8)
    if interlace:
        data = b""
        for x0, y0, dx, dy in ADAM7:
            sub = s[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                data += filter_rows(pack_samples(sub.reshape(sub.shape[0], -1), depth), bpp)
    else:
        data = filter_rows(pack_samples(s.reshape(h, -1), depth), bpp)
    out = b"\x89PNG\r\n\x1a\n"
    out += png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, int(interlace)))
    if plte is not None:
        out += png_chunk(b"PLTE", bytes(np.asarray(plte, np.uint8).ravel()))
    if trns is not None:
        out += png_chunk(b"tRNS", trns)
    out += png_chunk(b"IDAT", zlib.compress(data, 9))
    out += png_chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(out)


# ---- a minimal BMP writer ----

def bmp_bytes(pixels_rows, width, height, bpp, header_size=40, compression=0, masks=None,
              palette=None, top_down=False, masks_after_header=False):
    """pixels_rows: list of row byte strings, top row first (already packed, unpadded)."""
    stride = (width * bpp + 31) // 32 * 4
    rows = pixels_rows if top_down else pixels_rows[::-1]
    data = b"".join(r + bytes(stride - len(r)) for r in rows)
    info = struct.pack("<IiiHHIIiiII", header_size, width, -height if top_down else height, 1,
                       bpp, compression, len(data), 2835, 2835,
                       len(palette) if palette is not None else 0, 0)
    extra = b""
    if header_size > 40:
        m = list(masks or (0, 0, 0, 0)) + [0] * 4
        info += struct.pack("<IIII", *m[:4])
        info += bytes(header_size - len(info))  # colour space fields, all zero (LCS_CALIBRATED_RGB)
    elif masks_after_header:
        extra = b"".join(struct.pack("<I", v) for v in masks)
    pal = b""
    if palette is not None:
        pal = b"".join(bytes((int(b), int(g), int(r), 0)) for r, g, b in palette)
    off = 14 + len(info) + len(extra) + len(pal)
    head = b"BM" + struct.pack("<IHHI", off + len(data), 0, 0, off)
    return head + info + extra + pal + data


def scale_field(v, maxv):
    return (v * 255 + maxv // 2) // maxv


# ---- a minimal GIF writer (uncompressed-style LZW: literal codes, clear before growth) ----

def lzw_literal(indices, min_code=8):
    clear, end = 1 << min_code, (1 << min_code) + 1
    bits, nbits, out = 0, 0, bytearray()
    width = min_code + 1

    def emit(code):
        nonlocal bits, nbits
        bits |= code << nbits
        nbits += width
        while nbits >= 8:
            out.append(bits & 0xFF)
            bits >>= 8
            nbits -= 8

    emit(clear)
    count = 0
    for v in indices:
        if count == (1 << width) - (1 << min_code) - 3:
            emit(clear)
            count = 0
        emit(int(v))
        count += 1
    emit(end)
    if nbits:
        out.append(bits & 0xFF)
    blocks = bytearray([min_code])
    for k in range(0, len(out), 255):
        part = out[k:k + 255]
        blocks.append(len(part))
        blocks += part
    blocks.append(0)
    return bytes(blocks)


def gif_frame(left, top, fw, fh, indices, local=None, interlace=False, transparent=None):
    gce = b""
    if transparent is not None:
        gce = b"\x21\xf9\x04" + bytes([1]) + struct.pack("<H", 10) + bytes([transparent, 0])
    flags = 0
    if local is not None:
        flags |= 0x80 | 7  # 256-entry local colour table
    if interlace:
        flags |= 0x40
    desc = b"\x2c" + struct.pack("<HHHHB", left, top, fw, fh, flags)
    order = list(range(fh))
    if interlace:
        order = (list(range(0, fh, 8)) + list(range(4, fh, 8)) + list(range(2, fh, 4)) +
                 list(range(1, fh, 2)))
    lines = np.concatenate([indices[r] for r in order])
    table = b"" if local is None else bytes(np.asarray(local, np.uint8).ravel())
    return gce + desc + table + lzw_literal(lines)


def gif_bytes(sw, sh, global_table, frames):
    head = b"GIF89a" + struct.pack("<HHBBB", sw, sh, 0x80 | 0x70 | 7, 0, 0)
    return head + bytes(np.asarray(global_table, np.uint8).ravel()) + b"".join(frames) + b";"


# ---- fixtures ----

manifest = []


def save_expected(name, fmt, expected, src_channels, src_bits, alpha_dropped, tol):
    _, h, w = expected.shape
    exp_name = os.path.splitext(name)[0] + ".f32"
    expected.astype("<f4").tofile(os.path.join(OUT, exp_name))
    manifest.append(f"{name} {fmt} {w} {h} {src_channels} {src_bits} {alpha_dropped} "
                    f"{tol:g} {exp_name}")


def pil_rgb(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def check_same(path, want):
    got = pil_rgb(path)
    want3 = want if want.ndim == 3 else np.stack([want] * 3, -1)
    assert np.array_equal(got, want3), path


def make_png(rgb, alpha, gray, rgb16, alpha16, gray16):
    p = lambda n: os.path.join(OUT, n)
    rgba = np.dstack([rgb, alpha])
    write_png(p("png_rgb8.png"), rgb, 2, 8)
    check_same(p("png_rgb8.png"), rgb)
    save_expected("png_rgb8.png", "png", planar(rgb, 255), 3, 8, 0, 0)

    write_png(p("png_rgba8.png"), rgba, 6, 8)
    check_same(p("png_rgba8.png"), rgb)
    save_expected("png_rgba8.png", "png", planar(rgb, 255), 4, 8, 1, 0)

    write_png(p("png_gray8.png"), gray, 0, 8)
    check_same(p("png_gray8.png"), gray)
    save_expected("png_gray8.png", "png", planar(gray, 255), 1, 8, 0, 0)

    write_png(p("png_graya8.png"), np.dstack([gray, alpha]), 4, 8)
    check_same(p("png_graya8.png"), gray)
    save_expected("png_graya8.png", "png", planar(gray, 255), 2, 8, 1, 0)

    write_png(p("png_gray8_trns.png"), gray, 0, 8, trns=struct.pack(">H", int(gray[2, 3])))
    save_expected("png_gray8_trns.png", "png", planar(gray, 255), 2, 8, 1, 0)

    g1 = (gray >= 128).astype(np.uint8)
    write_png(p("png_gray1.png"), g1, 0, 1)
    check_same(p("png_gray1.png"), g1 * 255)
    save_expected("png_gray1.png", "png", planar(g1 * 255, 255), 1, 8, 0, 0)

    g4 = gray >> 4
    write_png(p("png_gray4.png"), g4, 0, 4)
    check_same(p("png_gray4.png"), g4 * 17)
    save_expected("png_gray4.png", "png", planar(g4 * 17, 255), 1, 8, 0, 0)

    # palette: the picture quantised by PIL to <= 256 colours, plus a tRNS chunk
    pim = Image.fromarray(rgb).quantize(colors=40, method=Image.Quantize.MEDIANCUT, dither=0)
    idx = np.asarray(pim)
    pal = np.asarray(pim.getpalette()[: 3 * 40], np.uint8).reshape(-1, 3)
    write_png(p("png_pal8_trns.png"), idx, 3, 8, plte=pal, trns=bytes(range(0, 240, 6)))
    save_expected("png_pal8_trns.png", "png", planar(pal[idx], 255), 4, 8, 1, 0)

    idx4 = idx % 16
    write_png(p("png_pal4.png"), idx4, 3, 4, plte=pal[:16])
    check_same(p("png_pal4.png"), pal[:16][idx4])
    save_expected("png_pal4.png", "png", planar(pal[:16][idx4], 255), 3, 8, 0, 0)

    write_png(p("png_rgb16.png"), rgb16, 2, 16)
    save_expected("png_rgb16.png", "png", planar(rgb16, 65535), 3, 16, 0, 0)

    write_png(p("png_graya16.png"), np.dstack([gray16, alpha16]), 4, 16)
    save_expected("png_graya16.png", "png", planar(gray16, 65535), 2, 16, 1, 0)

    write_png(p("png_rgb8_interlaced.png"), rgb, 2, 8, interlace=True)
    check_same(p("png_rgb8_interlaced.png"), rgb)
    save_expected("png_rgb8_interlaced.png", "png", planar(rgb, 255), 3, 8, 0, 0)

    rgba16 = np.dstack([rgb16, alpha16])
    write_png(p("png_rgba16_interlaced.png"), rgba16, 6, 16, interlace=True)
    save_expected("png_rgba16_interlaced.png", "png", planar(rgb16, 65535), 4, 16, 1, 0)

    Image.fromarray(rgb).save(p("png_pil_rgb8.png"), optimize=True)
    save_expected("png_pil_rgb8.png", "png", planar(rgb, 255), 3, 8, 0, 0)

    # a valid PNG whose IHDR claims 100000 x 100000 (must be refused before allocating)
    out = b"\x89PNG\r\n\x1a\n"
    out += png_chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0))
    out += png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
    out += png_chunk(b"IEND", b"")
    with open(p("bad_huge_ihdr.png"), "wb") as f:
        f.write(out)


def make_jpeg(rgb, gray):
    p = lambda n: os.path.join(OUT, n)
    Image.fromarray(rgb).save(p("jpeg_baseline.jpg"), quality=90)
    save_expected("jpeg_baseline.jpg", "jpeg", planar(pil_rgb(p("jpeg_baseline.jpg")), 255),
                  3, 8, 0, 1e-6)
    Image.fromarray(rgb).save(p("jpeg_progressive.jpg"), quality=85, progressive=True,
                              subsampling=0)
    save_expected("jpeg_progressive.jpg", "jpeg",
                  planar(pil_rgb(p("jpeg_progressive.jpg")), 255), 3, 8, 0, 1e-6)
    Image.fromarray(gray).save(p("jpeg_gray.jpg"), quality=95)
    save_expected("jpeg_gray.jpg", "jpeg", planar(np.asarray(Image.open(p("jpeg_gray.jpg"))), 255),
                  1, 8, 0, 1e-6)
    Image.fromarray(rgb).convert("CMYK").save(p("jpeg_cmyk.jpg"), quality=90)


def make_bmp(rgb, alpha, gray):
    p = lambda n: os.path.join(OUT, n)
    h, w, _ = rgb.shape

    Image.fromarray(rgb).save(p("bmp_rgb24.bmp"))
    save_expected("bmp_rgb24.bmp", "bmp", planar(rgb, 255), 3, 8, 0, 0)

    pim = Image.fromarray(rgb).quantize(colors=50, method=Image.Quantize.MEDIANCUT, dither=0)
    pim.save(p("bmp_pal8.bmp"))
    check_same(p("bmp_pal8.bmp"), pil_rgb(p("bmp_pal8.bmp")))
    save_expected("bmp_pal8.bmp", "bmp", planar(np.asarray(pim.convert("RGB")), 255), 3, 8, 0, 0)

    Image.fromarray(gray).save(p("bmp_gray8.bmp"))
    save_expected("bmp_gray8.bmp", "bmp", planar(gray, 255), 3, 8, 0, 0)

    bw = Image.fromarray(gray).convert("1", dither=Image.Dither.NONE)
    bw.save(p("bmp_1bit.bmp"))
    save_expected("bmp_1bit.bmp", "bmp", planar(np.asarray(bw.convert("L")), 255), 3, 8, 0, 0)

    bgr_rows = [bytes(rgb[y, :, ::-1].ravel()) for y in range(h)]
    with open(p("bmp_rgb24_topdown.bmp"), "wb") as f:
        f.write(bmp_bytes(bgr_rows, w, h, 24, top_down=True))
    check_same(p("bmp_rgb24_topdown.bmp"), rgb)
    save_expected("bmp_rgb24_topdown.bmp", "bmp", planar(rgb, 255), 3, 8, 0, 0)

    with open(p("bmp_v4_rgb24.bmp"), "wb") as f:
        f.write(bmp_bytes(bgr_rows, w, h, 24, header_size=108))
    save_expected("bmp_v4_rgb24.bmp", "bmp", planar(rgb, 255), 3, 8, 0, 0)

    # 32-bit BI_RGB: the fourth byte is unused by definition (filled with the alpha here)
    bgrx = [bytes(np.dstack([rgb[y, :, ::-1][None], alpha[y][None, :, None]]).ravel())
            for y in range(h)]
    with open(p("bmp_rgb32.bmp"), "wb") as f:
        f.write(bmp_bytes(bgrx, w, h, 32))
    save_expected("bmp_rgb32.bmp", "bmp", planar(rgb, 255), 3, 8, 0, 0)

    # 32-bit V5 BI_BITFIELDS with an alpha mask, pixel layout A R G B from high to low byte
    masks = (0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000)
    v5 = []
    for y in range(h):
        r = b""
        for x in range(w):
            r8, g8, b8 = (int(v) for v in rgb[y, x])
            v = (int(alpha[y, x]) << 24) | (r8 << 16) | (g8 << 8) | b8
            r += struct.pack("<I", v)
        v5.append(r)
    with open(p("bmp_v5_argb32.bmp"), "wb") as f:
        f.write(bmp_bytes(v5, w, h, 32, header_size=124, compression=3, masks=masks))
    save_expected("bmp_v5_argb32.bmp", "bmp", planar(rgb, 255), 4, 8, 1, 0)

    # 32-bit BI_BITFIELDS with unusual 10-10-10 masks after a 40-byte header, top-down
    r10 = (rgb.astype(np.uint32) * 4 + 1).clip(0, 1023)
    rows = []
    for y in range(h):
        r = b""
        for x in range(w):
            v = (int(r10[y, x, 0]) << 20) | (int(r10[y, x, 1]) << 10) | int(r10[y, x, 2])
            r += struct.pack("<I", v)
        rows.append(r)
    with open(p("bmp_bitfields_101010.bmp"), "wb") as f:
        f.write(bmp_bytes(rows, w, h, 32, compression=3, top_down=True,
                          masks=(0x3FF00000, 0x000FFC00, 0x000003FF), masks_after_header=True))
    save_expected("bmp_bitfields_101010.bmp", "bmp", planar(scale_field(r10, 1023), 255),
                  3, 8, 0, 0)

    # 16-bit 5-6-5 (BI_BITFIELDS) and 5-5-5 (BI_RGB)
    r5, g6, b5 = rgb[..., 0] >> 3, rgb[..., 1] >> 2, rgb[..., 2] >> 3
    rows = [b"".join(struct.pack("<H", (int(r5[y, x]) << 11) | (int(g6[y, x]) << 5) | int(b5[y, x]))
                     for x in range(w)) for y in range(h)]
    with open(p("bmp_565.bmp"), "wb") as f:
        f.write(bmp_bytes(rows, w, h, 16, compression=3, masks=(0xF800, 0x07E0, 0x001F),
                          masks_after_header=True))
    exp565 = np.dstack([scale_field(r5.astype(int), 31), scale_field(g6.astype(int), 63),
                        scale_field(b5.astype(int), 31)])
    save_expected("bmp_565.bmp", "bmp", planar(exp565, 255), 3, 8, 0, 0)

    g5 = rgb[..., 1] >> 3
    rows = [b"".join(struct.pack("<H", (int(r5[y, x]) << 10) | (int(g5[y, x]) << 5) | int(b5[y, x]))
                     for x in range(w)) for y in range(h)]
    with open(p("bmp_555.bmp"), "wb") as f:
        f.write(bmp_bytes(rows, w, h, 16))
    exp555 = np.dstack([scale_field(v.astype(int), 31) for v in (r5, g5, b5)])
    save_expected("bmp_555.bmp", "bmp", planar(exp555, 255), 3, 8, 0, 0)

    # 4-bit palette, 12 colours used (biClrUsed = 12), top-down
    pal = [(int(v), int(255 - v), int((v * 3) % 256)) for v in range(0, 240, 20)]
    idx = (gray // 22).astype(np.uint8)  # 0..11
    rows = []
    for y in range(h):
        b = bytearray()
        for x in range(0, w, 2):
            hi = int(idx[y, x])
            lo = int(idx[y, x + 1]) if x + 1 < w else 0
            b.append((hi << 4) | lo)
        rows.append(bytes(b))
    with open(p("bmp_pal4_topdown.bmp"), "wb") as f:
        f.write(bmp_bytes(rows, w, h, 4, palette=pal, top_down=True))
    check_same(p("bmp_pal4_topdown.bmp"), np.asarray(pal, np.uint8)[idx])
    save_expected("bmp_pal4_topdown.bmp", "bmp", planar(np.asarray(pal, np.uint8)[idx], 255),
                  3, 8, 0, 0)

    # a header claiming 100000 x 100000 pixels in a 60-byte file
    head = bmp_bytes([b""], 1, 1, 24)
    head = head[:18] + struct.pack("<ii", 100000, 100000) + head[26:]
    with open(p("bad_huge.bmp"), "wb") as f:
        f.write(head)
    # an RLE8 file (rejected with a clear message)
    rle = bmp_bytes([bytes(w)] * h, w, h, 8, compression=1, palette=[(0, 0, 0)] * 2)
    with open(p("bad_rle8.bmp"), "wb") as f:
        f.write(rle)


def make_gif(rgb):
    p = lambda n: os.path.join(OUT, n)
    pim = Image.fromarray(rgb).quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=0)
    second = Image.fromarray(255 - rgb).quantize(colors=64, method=Image.Quantize.MEDIANCUT,
                                                 dither=0)
    pim.save(p("gif_anim.gif"), save_all=True, append_images=[second], duration=100, loop=0)
    with Image.open(p("gif_anim.gif")) as im:
        assert im.n_frames == 2
        im.seek(0)
        first = np.asarray(im.convert("RGB"))
    assert np.array_equal(first, np.asarray(pim.convert("RGB")))
    save_expected("gif_anim.gif", "gif", planar(first, 255), 3, 8, 0, 0)

    # first frame 7x5 at (3, 2) on a 13x11 screen, local colour table, interlaced,
    # transparent index 5; outside the frame and transparent pixels are black
    gpal = np.zeros((256, 3), np.uint8)
    gpal[:, 0] = np.arange(256)
    lpal = np.stack([np.arange(256) * 3 % 256, 255 - np.arange(256),
                     np.arange(256) * 7 % 256], -1).astype(np.uint8)
    fw, fh, left, top = 7, 5, 3, 2
    yy, xx = np.mgrid[0:fh, 0:fw]
    idx = ((xx * 11 + yy * 13) % 40).astype(np.uint8)
    idx[1, 1] = idx[3, 4] = 5
    frame1 = gif_frame(left, top, fw, fh, idx, local=lpal, interlace=True, transparent=5)
    frame2 = gif_frame(0, 0, W, H, np.full((H, W), 9, np.uint8))
    with open(p("gif_offset.gif"), "wb") as f:
        f.write(gif_bytes(W, H, gpal, [frame1, frame2]))
    exp = np.zeros((H, W, 3), np.uint8)
    sub = lpal[idx]
    sub[idx == 5] = 0
    exp[top:top + fh, left:left + fw] = sub
    save_expected("gif_offset.gif", "gif", planar(exp, 255), 4, 8, 1, 0)


def make_webp(rgb, alpha):
    p = lambda n: os.path.join(OUT, n)
    Image.fromarray(rgb).save(p("webp_lossless.webp"), lossless=True)
    check_same(p("webp_lossless.webp"), rgb)
    save_expected("webp_lossless.webp", "webp", planar(rgb, 255), 3, 8, 0, 0)
    a = np.maximum(alpha, 1)  # RGB under alpha 0 is not kept by the lossless encoder
    Image.fromarray(np.dstack([rgb, a])).save(p("webp_lossless_alpha.webp"), lossless=True)
    check_same(p("webp_lossless_alpha.webp"), rgb)
    save_expected("webp_lossless_alpha.webp", "webp", planar(rgb, 255), 4, 8, 1, 0)
    Image.fromarray(rgb).save(p("webp_lossy.webp"), quality=80)
    save_expected("webp_lossy.webp", "webp", planar(pil_rgb(p("webp_lossy.webp")), 255),
                  3, 8, 0, 1e-6)


def make_resize():
    p = lambda n: os.path.join(OUT, n)
    rw, rh = 40, 30
    y, x = np.mgrid[0:rh, 0:rw]
    noise = (np.sin(x * 12.9898 + y * 78.233) * 43758.5453) % 1.0
    img = np.stack([x * 6 + noise * 15, y * 8 + noise * 10, (x + y) * 3 + noise * 40], -1)
    img = np.clip(np.round(img), 0, 255).astype(np.uint8)
    write_png(p("resize_src.png"), img, 2, 8)
    t = torch.from_numpy(planar(img, 255))[None]
    lines = []
    for ow, oh in [(16, 12), (13, 11), (57, 43), (50, 20), (1, 1), (40, 30)]:
        out = torch.nn.functional.interpolate(t, size=(oh, ow), mode="bilinear",
                                              align_corners=False, antialias=True)
        name = f"resize_{ow}x{oh}.f32"
        out[0].numpy().astype("<f4").tofile(p(name))
        lines.append(f"{ow} {oh} {name}")
    with open(p("resize.txt"), "w") as f:
        f.write("# width height reference: torch interpolate bilinear, align_corners=False, "
                "antialias=True of resize_src.png\n")
        f.write("\n".join(lines) + "\n")


def make_shared_sums():
    files = ["piq_pairs/goldhill.gif", "piq_pairs/I01.BMP", "lpips_examples/ex_ref.png",
             "lpips_examples/ex_p0.png", "lpips_examples/ex_p1.png"]
    lines = ["# path (relative to DPSIM_DATA) width height sum of PIL's RGB bytes"]
    for rel in files:
        arr = pil_rgb(os.path.join(SHARED, rel))
        lines.append(f"{rel} {arr.shape[1]} {arr.shape[0]} {int(arr.astype(np.int64).sum())}")
    with open(os.path.join(OUT, "shared_data.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    rgb, alpha, gray, rgb16, alpha16, gray16 = source()
    make_png(rgb, alpha, gray, rgb16, alpha16, gray16)
    make_jpeg(rgb, gray)
    make_bmp(rgb, alpha, gray)
    make_gif(rgb)
    make_webp(rgb, alpha)
    make_resize()
    if os.path.isdir(SHARED):
        make_shared_sums()
    else:
        print(f"note: {SHARED} not found, shared_data.txt left as is", file=sys.stderr)
    with open(os.path.join(OUT, "expected.txt"), "w") as f:
        f.write("# file format width height src_channels src_bits alpha_dropped max_abs_error "
                "expected (float32 LE, (3, H, W))\n")
        f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
