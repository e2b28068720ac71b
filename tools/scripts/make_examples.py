#!/usr/bin/python3
"""Make the example images in examples/ (committed; rerun to regenerate, output is stable).

ref.png    96x80 synthetic scene: sky gradient, sun, hills, a house, a striped fence
blur.png   ref with a Gaussian blur (radius 1.5)
noise.png  ref with uniform noise of +-40 levels (seed 1)
small.png  64x48 crop of ref (for size-mismatch examples)
tiny.png   16x16, below SqueezeNet's 17x17 minimum
Usage: /usr/bin/python3 tools/scripts/make_examples.py
"""
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples")


def scene(w=96, h=80):
    y = np.linspace(0, 1, h)[:, None, None]
    sky = (1 - y) * np.array([90, 150, 235]) + y * np.array([200, 225, 250])
    img = Image.fromarray(np.broadcast_to(sky, (h, w, 3)).astype(np.uint8))
    d = ImageDraw.Draw(img)
    d.ellipse([68, 6, 86, 24], fill=(250, 210, 60))
    d.polygon([(0, 58), (20, 42), (44, 54), (70, 40), (96, 52), (96, 80), (0, 80)], fill=(70, 140, 60))
    d.rectangle([22, 44, 46, 66], fill=(200, 80, 60))
    d.polygon([(18, 46), (34, 32), (50, 46)], fill=(110, 50, 40))
    d.rectangle([30, 54, 37, 66], fill=(60, 40, 30))
    d.rectangle([25, 48, 29, 52], fill=(240, 240, 200))
    for x in range(52, 96, 5):
        d.rectangle([x, 60, x + 2, 72], fill=(235, 235, 230))
    d.line([(52, 64), (96, 64)], fill=(235, 235, 230), width=1)
    return img


def main():
    os.makedirs(OUT, exist_ok=True)
    ref = scene()
    ref.save(os.path.join(OUT, "ref.png"), optimize=True)
    ref.filter(ImageFilter.GaussianBlur(1.5)).save(os.path.join(OUT, "blur.png"), optimize=True)
    rng = np.random.default_rng(1)
    a = np.asarray(ref).astype(np.int16) + rng.integers(-40, 41, size=(80, 96, 3))
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(os.path.join(OUT, "noise.png"), optimize=True)
    ref.crop((16, 16, 80, 64)).save(os.path.join(OUT, "small.png"), optimize=True)
    ref.resize((16, 16), Image.BILINEAR).save(os.path.join(OUT, "tiny.png"), optimize=True)


if __name__ == "__main__":
    main()
