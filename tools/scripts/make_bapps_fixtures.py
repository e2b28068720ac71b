#!/usr/bin/python3
"""Write small BAPPS-layout fixtures (64x64) whose scores are known by construction.

2AFC (tests/eval/fixtures/2afc/val/<cat>/{ref,p0,p1}/NNNNNN.png, judge/NNNNNN.npy):
  p0_is_ref  p0 == ref, so d0 = 0 < d1 for any metric: score = 1 - h
  ties       p0 == p1, so d0 == d1: score = 0.5 whatever h is
  p1_is_ref  p1 == ref: score = h; every judgment the same (1.0)
JND (tests/eval/fixtures/jnd/val/mixed/{p0,p1}/NNNNNN.png, same/NNNNNN.npy):
  two identical pairs (distance 0) first, then pairs with noise of growing
  amplitude, which any perceptual metric orders the same way.
MOS (tests/eval/fixtures/mos/mos.csv): one reference, distortions of growing
  noise, MOS falling with the noise: SROCC = KROCC = -1.
expected.json holds the scores computed here from the design (not from a metric).
Run: /usr/bin/python3 tools/scripts/make_bapps_fixtures.py
"""
import json
import os
import shutil

import numpy as np
from PIL import Image

ROOT = os.path.join(os.path.dirname(__file__), '..', '..', 'tests', 'eval', 'fixtures')
rng = np.random.default_rng(20240611)


def texture():
    """A smooth random colour texture in [0.2, 0.8]."""
    y, x = np.mgrid[0:64, 0:64] / 64.0
    img = np.zeros((64, 64, 3))
    for c in range(3):
        for _ in range(4):
            fx, fy, ph = rng.uniform(1, 6), rng.uniform(1, 6), rng.uniform(0, 6.3)
            img[..., c] += np.sin(2 * np.pi * (fx * x + fy * y) + ph)
    return 0.5 + 0.3 * img / np.abs(img).max()


def noisy(img, amp):
    return np.clip(img + amp * rng.standard_normal(img.shape), 0, 1)


def save_png(path, img):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.round(img * 255).astype(np.uint8)).save(path)


def save_npy(path, value, dtype):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, np.array([value], dtype=dtype))


def voc_ap(rec, prec):
    mrec = np.concatenate(([0.], rec, [1.]))
    mpre = np.concatenate(([0.], prec, [0.]))
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def make_2afc(expected):
    cats = {
        'p0_is_ref': [0.0, 0.25, 1.0, 0.6],
        'ties': [0.0, 0.3, 1.0],
        'p1_is_ref': [1.0, 1.0, 1.0],
    }
    scores, all_scores = {}, []
    for cat, hs in cats.items():
        per = []
        for i, h in enumerate(hs):
            ref = texture()
            other = noisy(ref, 0.1 + 0.05 * i)
            if cat == 'p0_is_ref':
                p0, p1, s = ref, other, 1 - h
            elif cat == 'ties':
                p0, p1, s = other, other, 0.5
            else:
                p0, p1, s = other, ref, h
            d = os.path.join(ROOT, '2afc', 'val', cat)
            name = '%06d' % i
            save_png(os.path.join(d, 'ref', name + '.png'), ref)
            save_png(os.path.join(d, 'p0', name + '.png'), p0)
            save_png(os.path.join(d, 'p1', name + '.png'), p1)
            save_npy(os.path.join(d, 'judge', name + '.npy'), h, np.float32 if i % 2 else np.float64)
            per.append(s)
        scores['val/' + cat] = float(np.mean(per))
        all_scores += per
    expected['2afc'] = {'categories': scores, 'overall': float(np.mean(list(scores.values()))),
                        'pooled': float(np.mean(all_scores))}


def make_jnd(expected):
    pairs = [(0.0, 1.0), (0.0, 0.8), (0.03, 0.6), (0.12, 0.0), (0.35, 0.3), (0.8, 0.0)]
    d = os.path.join(ROOT, 'jnd', 'val', 'mixed')
    for i, (amp, same) in enumerate(pairs):
        a = texture()
        b = a if amp == 0 else noisy(a, amp)
        save_png(os.path.join(d, 'p0', '%06d.png' % i), a)
        save_png(os.path.join(d, 'p1', '%06d.png' % i), b)
        save_npy(os.path.join(d, 'same', '%06d.npy' % i), same, np.float32)
    same = np.array([s for _, s in pairs])  # already in distance order
    tp, fp = np.cumsum(same), np.cumsum(1 - same)
    ap = voc_ap(tp / same.sum(), tp / (tp + fp))
    expected['jnd'] = {'categories': {'val/mixed': ap}, 'overall': ap, 'pooled': ap}


def make_mos(expected):
    d = os.path.join(ROOT, 'mos')
    ref = texture()
    save_png(os.path.join(d, 'ref.png'), ref)
    rows = ['reference,distorted,score,comment']
    for i, amp in enumerate([0.02, 0.06, 0.12, 0.25, 0.5, 0.9]):
        save_png(os.path.join(d, 'dist%d.png' % i), noisy(ref, amp))
        rows.append('ref.png,dist%d.png,%.2f,"noise, amplitude %.2f"' % (i, 5 - 5 * amp, amp))
    with open(os.path.join(d, 'mos.csv'), 'w') as f:
        f.write('\n'.join(rows) + '\n')
    expected['mos'] = {'srocc': -1.0, 'krocc': -1.0}


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    expected = {}
    make_2afc(expected)
    make_jnd(expected)
    make_mos(expected)
    with open(os.path.join(ROOT, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write('\n')


if __name__ == '__main__':
    main()
