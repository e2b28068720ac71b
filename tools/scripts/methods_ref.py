#!/usr/bin/python3
"""Reference of every comparison method of SPEC section 3 in PyTorch, on top of lpips_ref.py's
networks, preprocessing and pseudo-random trunks. The networks run in float32 (as in dpsim and
the reference code); the comparison terms run in float64 on those float32 features, because
float32 terms (sorting ties aside, DISTS's E[xy] - E[x]E[y] cancels badly) are themselves off by
up to 1e-4 relative on deep taps, more than the 1e-5 parity tolerance.

  spatial        LPIPS (lpips_ref.LPIPSRef arithmetic)
  mean           channel means over H, W, then unit-normalised along channels (thesis code order)
  sort           each channel's H*W values sorted descending, normalised per rank, then spatial
  spatial+mean   spatial + mean, spatial+sort: spatial + sort (summed per tap)
  gram           G = Z Z^T / (H W) (Z normalised only with norm=1); sum_i w_i sum_j dG^2 / C^2
  dists          the official DISTS arithmetic (DISTS_pytorch, Ding et al. 2020): VGG-16 stages
                 with L2 pooling, taps [x, relu1_2, ..., relu5_3], alpha/beta from weights.pt

Weights: the LPIPS lin file for the spatial term of spatial* methods when lin=1 (the pixel tap
then has weight 1); every other term uses weight 1. norm: 1 on, 0 off; -1 is the method's
default (off for gram). pixel: 1 adds the preprocessed input as tap 0 (dists always has the
raw input v there). Per-tap terms: dists tap k = sum_c alpha'(1 - t) + beta'(1 - s), so the
terms sum to the distance.

  /usr/bin/python3 tools/scripts/methods_ref.py a.png b.png --method sort --norm 0
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lpips_ref as L  # noqa: E402

METHODS = ["spatial", "mean", "sort", "spatial+mean", "spatial+sort", "gram", "dists"]


def unit(f, eps=1e-10):
    """n(f) along channels of (N, C, ...)."""
    return f / (torch.sqrt(torch.sum(f ** 2, dim=1, keepdim=True)) + eps)


def spatial_term(f0, f1, norm, w):
    """(N,C,H,W) pair -> (N,) mean over positions of sum_c w (n0 - n1)^2."""
    if norm:
        f0, f1 = unit(f0), unit(f1)
    d = (f0 - f1) ** 2
    m = F.conv2d(d, w) if w is not None else d.sum(dim=1, keepdim=True)
    return m.mean([2, 3]).flatten()


def mean_term(f0, f1, norm, w):
    return spatial_term(f0.mean([2, 3], keepdim=True), f1.mean([2, 3], keepdim=True), norm, w)


def sort_term(f0, f1, norm, w):
    def srt(f):
        return f.flatten(2).sort(dim=2, descending=True).values.unsqueeze(-1)
    return spatial_term(srt(f0), srt(f1), norm, w)


def gram_term(f0, f1, norm, w):
    if norm:
        f0, f1 = unit(f0), unit(f1)
    n, c, h, wd = f0.shape

    def gram(f):
        z = f.reshape(n, c, h * wd)
        return torch.bmm(z, z.transpose(1, 2)) / (h * wd)
    d = ((gram(f0) - gram(f1)) ** 2).sum(2)  # (N, C)
    if w is not None:
        d = d * w.reshape(1, c)
    return d.sum(1) / (c * c)


TERMS = {"spatial": spatial_term, "mean": mean_term, "sort": sort_term, "gram": gram_term}


class L2pooling(nn.Module):
    """DISTS_pytorch L2pooling(filter_size=5, stride=2, channels)."""

    def __init__(self, channels, filter_size=5, stride=2):
        super().__init__()
        self.padding = (filter_size - 2) // 2
        self.stride = stride
        a = np.hanning(filter_size)[1:-1]
        g = torch.Tensor(a[:, None] * a[None, :])
        g = g / torch.sum(g)
        self.register_buffer("filter", g[None, None, :, :].repeat((channels, 1, 1, 1)))

    def forward(self, x):
        out = F.conv2d(x ** 2, self.filter, stride=self.stride, padding=self.padding,
                       groups=x.shape[1])
        return (out + 1e-12).sqrt()


class DISTSRef(nn.Module):
    """DISTS_pytorch.DISTS forward arithmetic with the trunk of lpips_ref.make_trunk."""

    def __init__(self, trunk="random:1", weights=None):
        super().__init__()
        f = L.make_trunk("vgg", trunk)
        self.stage1 = nn.Sequential(*[f[i] for i in range(0, 4)])
        self.stage2 = nn.Sequential(L2pooling(64), *[f[i] for i in range(5, 9)])
        self.stage3 = nn.Sequential(L2pooling(128), *[f[i] for i in range(10, 16)])
        self.stage4 = nn.Sequential(L2pooling(256), *[f[i] for i in range(17, 23)])
        self.stage5 = nn.Sequential(L2pooling(512), *[f[i] for i in range(24, 30)])
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, -1, 1, 1))
        self.chns = [3, 64, 128, 256, 512, 512]
        if weights is None:
            weights = os.path.join(L.weights_dir(), "dists", "weights.pt")
        sd = torch.load(weights, map_location="cpu")
        self.register_buffer("alpha", sd["alpha"].float())
        self.register_buffer("beta", sd["beta"].float())
        self.eval()

    def forward_once(self, x):
        h = (x - self.mean) / self.std
        feats = [x]
        for stage in [self.stage1, self.stage2, self.stage3, self.stage4, self.stage5]:
            h = stage(h)
            feats.append(h.clone())
        return feats

    def forward(self, x, y):
        feats0 = [f.double() for f in self.forward_once(x)]
        feats1 = [f.double() for f in self.forward_once(y)]
        c1 = c2 = 1e-6
        a64, b64 = self.alpha.double(), self.beta.double()
        w_sum = a64.sum() + b64.sum()
        alpha = torch.split(a64 / w_sum, self.chns, dim=1)
        beta = torch.split(b64 / w_sum, self.chns, dim=1)
        per_tap, dist1, dist2 = [], 0, 0
        for k in range(len(self.chns)):
            x_mean = feats0[k].mean([2, 3], keepdim=True)
            y_mean = feats1[k].mean([2, 3], keepdim=True)
            S1 = (2 * x_mean * y_mean + c1) / (x_mean ** 2 + y_mean ** 2 + c1)
            d1 = (alpha[k] * S1).sum(1, keepdim=True)
            x_var = ((feats0[k] - x_mean) ** 2).mean([2, 3], keepdim=True)
            y_var = ((feats1[k] - y_mean) ** 2).mean([2, 3], keepdim=True)
            xy_cov = (feats0[k] * feats1[k]).mean([2, 3], keepdim=True) - x_mean * y_mean
            S2 = (2 * xy_cov + c2) / (x_var + y_var + c2)
            d2 = (beta[k] * S2).sum(1, keepdim=True)
            dist1, dist2 = dist1 + d1, dist2 + d2
            per_tap.append((alpha[k].sum() + beta[k].sum() - d1 - d2).flatten())
        return (1 - (dist1 + dist2)).flatten(), per_tap


class MethodRef(nn.Module):
    """Any method but dists, on an lpips_ref.LPIPSRef trunk (same preprocessing and taps)."""

    def __init__(self, method, net="squeeze", version="0.1", lin=True, trunk="real", taps=None,
                 norm=-1, pixel=False):
        super().__init__()
        self.method, self.pixel = method, pixel
        self.norm = (0 if method == "gram" else 1) if norm == -1 else norm
        spatial_lin = lin and method.startswith("spatial")
        self.base = L.LPIPSRef(net, version, spatial_lin, trunk, taps)
        self.terms = method.split("+")

    def features(self, x):
        feats = self.base.tap_features(x)
        if self.pixel:
            pre = (x - self.base.shift) / self.base.scale if self.base.version == "0.1" else x
            feats = [pre] + feats
        return feats

    def forward(self, x, y):
        f0 = [f.double() for f in self.features(x)]
        f1 = [f.double() for f in self.features(y)]
        per_tap = []
        for k in range(len(f0)):
            t = 0
            for term in self.terms:
                w = None
                if term == "spatial" and len(self.base.lins):
                    kk = k - (1 if self.pixel else 0)
                    w = self.base.lins[kk].double() if kk >= 0 else None
                t = t + TERMS[term](f0[k], f1[k], self.norm, w)
            per_tap.append(t)
        total = 0
        for t in per_tap:
            total = total + t
        return total, per_tap


def make(method, net="squeeze", version="0.1", lin=True, trunk="real", taps=None, norm=-1,
         pixel=False):
    """dists runs wholly in float64: through its L2-pooling VGG, float32 rounding of the deepest
    tap moves that tap's term by ~1e-5 relative (dpsim's float32 trunk is within ~1e-6 of the
    float64 run, the float32 reference is not)."""
    if method == "dists":
        return DISTSRef(trunk).double()
    return MethodRef(method, net, version, lin, trunk, taps, norm, pixel)


def to_input(img, method):
    """uint8 (H, W, 3) -> (1, 3, H, W) float32: LPIPS im2tensor, or v = p / 255 for dists."""
    if method == "dists":
        return torch.from_numpy(img.astype(np.float32) / np.float32(255.0)).permute(2, 0, 1)[None]
    return L.im2tensor(img)


def distance(model, method, ia, ib):
    dtype = torch.float64 if method == "dists" else torch.float32
    with torch.no_grad():
        d, pt = model(to_input(ia, method).to(dtype), to_input(ib, method).to(dtype))
    return float(d[0]), [float(t[0]) for t in pt]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--method", default="spatial", choices=METHODS)
    ap.add_argument("--net", default="squeeze")
    ap.add_argument("--version", default="0.1")
    ap.add_argument("--baseline", action="store_true")
    ap.add_argument("--trunk", default="real")
    ap.add_argument("--norm", type=int, default=-1)
    ap.add_argument("--pixel", action="store_true")
    args = ap.parse_args(argv)
    model = make(args.method, args.net, args.version, not args.baseline, args.trunk, None,
                 args.norm, args.pixel)
    d, pt = distance(model, args.method, L.load_image(args.a), L.load_image(args.b))
    print("%.10g" % d)
    print(" ".join("%.10g" % v for v in pt))
    return 0


if __name__ == "__main__":
    sys.exit(main())
