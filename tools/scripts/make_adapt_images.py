#!/usr/bin/python3
"""Write the image sets of the README's adaptation example (not committed).

  make_adapt_images.py OUT
OUT/skimage: 64x64 crops of the colour photographs in scikit-image's data
  (astronaut, chelsea, coffee, rocket, motorcycle, retina, ...), a grid of
  non-overlapping crops per photo, each downscaled from 128x128.
OUT/shared: 64x64 crops, the same way, of the TID2013 references, PIQ pairs and
  LPIPS examples in $DPSIM_DATA (default ../shared/data next to the repository): a second,
  different set.
Needs python3-skimage (apt install python3-skimage) and python3-pil.
"""
import os
import sys

import numpy as np
from PIL import Image
import skimage.data as sd

PHOTOS = ['astronaut', 'chelsea', 'coffee', 'rocket', 'motorcycle_left', 'retina',
          'immunohistochemistry', 'hubble_deep_field', 'colorwheel', 'cat']


def crops(img, out_dir, stem, size=128, out=64, limit=8):
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    img = img[..., :3]
    n = 0
    for y in range(0, img.shape[0] - size + 1, size):
        for x in range(0, img.shape[1] - size + 1, size):
            if n == limit:
                return
            patch = Image.fromarray(img[y:y + size, x:x + size].astype(np.uint8))
            patch.resize((out, out), Image.BILINEAR).save(
                os.path.join(out_dir, '%s_%02d.png' % (stem, n)))
            n += 1


def main():
    out = sys.argv[1]
    a, b = os.path.join(out, 'skimage'), os.path.join(out, 'shared')
    os.makedirs(a, exist_ok=True)
    os.makedirs(b, exist_ok=True)
    for name in PHOTOS:
        if hasattr(sd, name):
            crops(getattr(sd, name)(), a, name)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    data = os.environ.get('DPSIM_DATA', os.path.join(root, '..', 'shared', 'data'))
    for sub in ['tid2013_pairs/ref', 'piq_pairs', 'lpips_examples']:
        d = os.path.join(data, sub)
        for f in sorted(os.listdir(d)):
            if f.lower().endswith(('.png', '.bmp', '.gif')) and 'jpeg' not in f and 'ex_p' not in f:
                crops(Image.open(os.path.join(d, f)).convert('RGB'), b,
                      os.path.splitext(f)[0], size=96, limit=6)


if __name__ == '__main__':
    main()
