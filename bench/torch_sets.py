#!/usr/bin/python3
"""The PyTorch side of the set benchmarks, done the naive way an `lpips` user does: every
pair goes through the model (tools/scripts/lpips_ref.py, the official arithmetic).

  2afc CAT       a BAPPS 2AFC category (CAT/{ref,p0,p1}/NAME.png, CAT/judge/NAME.npy): per
                 triplet d(ref,p0) and d(ref,p1), scored as `dpsim eval 2afc` does
  all-pairs DIR  every unordered pair i<j of DIR's .png files in name order

Prints one JSON line: {"score": 2AFC score x100 (2afc only), "distances": [...]} (2afc: d0, d1
per triplet; all-pairs: in i<j order).
Usage: torch_sets.py 2afc|all-pairs PATH NET [--trunk real|random:SEED] [--threads 2]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "scripts"))
import lpips_ref  # noqa: E402


def distance(model, a, b):
    with torch.no_grad():
        return float(model(a, b)[0][0])


def load(path):
    return lpips_ref.im2tensor(lpips_ref.load_image(path))


def two_afc(model, cat):
    """(score x100, [d0, d1 per triplet]) of a 2AFC category."""
    scores, dists = [], []
    for name in sorted(os.listdir(os.path.join(cat, "ref"))):
        ref, p0, p1 = (load(os.path.join(cat, sub, name)) for sub in ("ref", "p0", "p1"))
        d0, d1 = distance(model, ref, p0), distance(model, ref, p1)
        h = float(np.load(os.path.join(cat, "judge", os.path.splitext(name)[0] + ".npy"))[0])
        scores.append(h if d1 < d0 else 1 - h if d1 > d0 else 0.5)
        dists += [d0, d1]
    return 100 * sum(scores) / len(scores), dists


def all_pairs(model, folder):
    """Distances of every pair i<j of the folder's .png files in name order."""
    names = sorted(f for f in os.listdir(folder) if f.endswith(".png"))
    images = [load(os.path.join(folder, f)) for f in names]
    return [distance(model, images[i], images[j])
            for i in range(len(images)) for j in range(i + 1, len(images))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=["2afc", "all-pairs"])
    ap.add_argument("path")
    ap.add_argument("net")
    ap.add_argument("--trunk")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    trunk = args.trunk or ("real" if args.net == "squeeze" else "random:1")
    model = lpips_ref.LPIPSRef(net=args.net, version="0.1", lin=True, trunk=trunk)
    if args.mode == "2afc":
        score, dists = two_afc(model, args.path)
        print(json.dumps({"score": score, "distances": dists}))
    else:
        print(json.dumps({"distances": all_pairs(model, args.path)}))


if __name__ == "__main__":
    main()
