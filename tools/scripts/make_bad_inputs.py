#!/usr/bin/python3
"""Write the generated inputs of tests/cli/test_bad_inputs.sh into a folder.

Standard library only, so the CLI test can run it at test time:
    python3 tools/scripts/make_bad_inputs.py OUTDIR

Files (SqueezeNet 1.1 `features` shapes; values pseudo-random, fixed seed):
  trunk_ok.safetensors    a complete, finite squeeze trunk
  trunk_nan.safetensors   the same with one NaN in features.3.squeeze.weight
  trunk_inf.safetensors   the same with +Inf in features.12.expand3x3.bias
  trunk_short.safetensors the same without features.12 (a tensor missing)
  lin_ok.safetensors      LPIPS lin weights for the default squeeze taps
  lin_shape.safetensors   the same with lin6 one channel too wide
  lin_nan.safetensors     the same with a NaN in lin2
  zero_width.png          a PNG whose IHDR says width 0 (valid CRCs)
  huge.png                a PNG whose IHDR says 65536 x 65536 (a side too long)
  big.png                 a PNG whose IHDR says 40000 x 2000 (80M pixels, more
                          than DPSIM_MAX_PIXELS with both sides allowed)
LPIPS lin weights are non-negative, so lin tensors get |value|.
"""
import json
import math
import os
import random
import struct
import sys
import zlib

# (index, in, squeeze, expand1x1, expand3x3) of the Fire modules
FIRES = [(3, 64, 16, 64, 64), (4, 128, 16, 64, 64), (6, 128, 32, 128, 128),
         (7, 256, 32, 128, 128), (9, 256, 48, 192, 192), (10, 384, 48, 192, 192),
         (11, 384, 64, 256, 256), (12, 512, 64, 256, 256)]
LIN_CHANNELS = [64, 128, 256, 384, 384, 512, 512]


def conv(tensors, stem, cin, cout, k):
    tensors.append((stem + ".weight", [cout, cin, k, k]))
    tensors.append((stem + ".bias", [cout]))


def squeeze_shapes():
    t = []
    conv(t, "features.0", 3, 64, 3)
    for i, cin, s, e1, e3 in FIRES:
        conv(t, "features.%d.squeeze" % i, cin, s, 1)
        conv(t, "features.%d.expand1x1" % i, s, e1, 1)
        conv(t, "features.%d.expand3x3" % i, s, e3, 3)
    return t


def write_safetensors(path, tensors, special=None):
    """tensors: [(name, shape)]; special: {name: value put at element 0}."""
    rng = random.Random(1)
    header, blobs, offset = {}, [], 0
    for name, shape in tensors:
        n = math.prod(shape)
        fan_in = math.prod(shape[1:]) if len(shape) > 1 else 0
        scale = math.sqrt(6.0 / fan_in) if fan_in else 0.1
        values = [rng.uniform(-scale, scale) for _ in range(n)]
        if name.startswith("lin"):
            values = [abs(v) for v in values]
        if special and name in special:
            values[0] = special[name]
        blob = struct.pack("<%df" % n, *values)
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def lin_shapes(wide=None):
    return [("lin%d.model.1.weight" % i, [1, c + (i == wide), 1, 1])
            for i, c in enumerate(LIN_CHANNELS)]


def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data)))


def write_png_header_only(path, width, height):
    """A gray 8-bit PNG whose IDAT holds one empty row: only the header matters."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
                png_chunk(b"IDAT", zlib.compress(b"\0")) + png_chunk(b"IEND", b""))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    trunk = squeeze_shapes()
    write_safetensors(os.path.join(out, "trunk_ok.safetensors"), trunk)
    write_safetensors(os.path.join(out, "trunk_nan.safetensors"), trunk,
                      {"features.3.squeeze.weight": float("nan")})
    write_safetensors(os.path.join(out, "trunk_inf.safetensors"), trunk,
                      {"features.12.expand3x3.bias": float("inf")})
    write_safetensors(os.path.join(out, "trunk_short.safetensors"),
                      [t for t in trunk if not t[0].startswith("features.12.")])
    write_safetensors(os.path.join(out, "lin_ok.safetensors"), lin_shapes())
    write_safetensors(os.path.join(out, "lin_shape.safetensors"), lin_shapes(wide=6))
    write_safetensors(os.path.join(out, "lin_nan.safetensors"), lin_shapes(),
                      {"lin2.model.1.weight": float("nan")})
    write_png_header_only(os.path.join(out, "zero_width.png"), 0, 16)
    write_png_header_only(os.path.join(out, "huge.png"), 65536, 65536)
    write_png_header_only(os.path.join(out, "big.png"), 40000, 2000)


if __name__ == "__main__":
    main()
