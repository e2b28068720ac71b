#!/usr/bin/python3
"""Reference LPIPS (spatial method) in PyTorch, reproducing the official `lpips` package.

The official package (richzhang/PerceptualSimilarity, `lpips`) is not installed on these
machines, so this file re-implements its arithmetic step for step (see doc/VECTORS.md):

  * input   x = float32(p / 127.5 - 1), p uint8, computed in float64 (lpips.im2tensor)
  * v0.1    x = (x - shift) / scale, float32 (lpips.ScalingLayer); v0.0: no scaling
  * trunk   torchvision <net>().features in eval mode, tap outputs after given indices
  * per tap n(f) = f / (sqrt(sum_c f^2) + 1e-10); diff = (n(f0) - n(f1))^2
            lin: 1x1 conv C->1 without bias (lin{l}.model.1.weight); baseline: sum over C
            term = mean over H, W;  distance = sum of terms in tap order
  * map     each tap's (1,1,h,w) map upsampled bilinearly (align_corners=False) to the
            input size, summed over taps (LPIPS spatial=True)

Also defines the pseudo-random trunk weights and generated test images that the C side
reproduces by formula (splitmix64 based, see doc/VECTORS.md).

Command line:
  /usr/bin/python3 tools/scripts/lpips_ref.py a.png b.png --net squeeze --version 0.1
  /usr/bin/python3 tools/scripts/lpips_ref.py --check      (official-figure check)
Images may be file paths, `data:REL` (relative to $DPSIM_DATA) or `gen:S:WxH`.
Weights are read from $DPSIM_WEIGHTS (default: ../shared/weights next to the repository).
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

_REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def weights_dir():
    return os.environ.get("DPSIM_WEIGHTS") or os.path.join(_REPO, "..", "shared", "weights")


def data_dir():
    return os.environ.get("DPSIM_DATA") or os.path.join(_REPO, "..", "shared", "data")


# ----------------------------------------------------------------------------------------
# Pseudo-random numbers (splitmix64 finaliser), uint64 wraparound arithmetic in numpy.

_U64 = np.uint64
_M64 = (1 << 64) - 1


def splitmix64(z):
    """splitmix64 finaliser of a uint64 numpy array (or python int), mod 2^64."""
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = z + _U64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
        z = z ^ (z >> _U64(31))
    return z


def _splitmix64_int(z):
    """Pure-python version, used to self-check the numpy one."""
    z = (z + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def gen_image(seed, w, h):
    """Generated test image "gen:S:WxH", uint8 (H, W, 3).

    pixel(c, y, x) = (x*7 + y*3 + c*50 + (h(z) & 63)) % 256, z = (S<<48) ^ (c<<40) ^ (y<<20) ^ x
    """
    c = np.arange(3, dtype=np.uint64)[:, None, None]
    y = np.arange(h, dtype=np.uint64)[None, :, None]
    x = np.arange(w, dtype=np.uint64)[None, None, :]
    z = (_U64(seed) << _U64(48)) ^ (c << _U64(40)) ^ (y << _U64(20)) ^ x
    r = splitmix64(z) & _U64(63)
    v = (x * _U64(7) + y * _U64(3) + c * _U64(50) + r) % _U64(256)
    return np.ascontiguousarray(v.astype(np.uint8).transpose(1, 2, 0))


def random_values(seed, k, n):
    """u in [0,1) for elements 0..n-1 of tensor number k: (h(z) >> 40) / 2^24,
    z = (seed << 48) ^ (k << 32) ^ i."""
    i = np.arange(n, dtype=np.uint64)
    z = (_U64(seed) << _U64(48)) ^ (_U64(k) << _U64(32)) ^ i
    return (splitmix64(z) >> _U64(40)).astype(np.float64) / 16777216.0


def trunk_convs(features):
    """The convolutions of a torchvision `features` Sequential in the numbering order:
    features index order; inside a fire module: squeeze, expand1x1, expand3x3."""
    convs = []
    for m in features:
        if isinstance(m, nn.Conv2d):
            convs.append(m)
        elif isinstance(m, torchvision.models.squeezenet.Fire):
            convs += [m.squeeze, m.expand1x1, m.expand3x3]
    return convs


def init_random_trunk_(features, seed):
    """Fill the trunk with the pseudo-random weights of doc/VECTORS.md (in place).

    Tensors are numbered k = 0, 1, ...: for each conv in order, weight (k = 2j) then bias
    (k = 2j + 1). weight = float32((2u - 1) * sqrt(6 / fan_in)), bias = float32((2u - 1) * 0.1),
    both computed in float64 and rounded once to float32.
    """
    k = 0
    with torch.no_grad():
        for conv in trunk_convs(features):
            w = conv.weight
            fan_in = w.shape[1] * w.shape[2] * w.shape[3]
            u = random_values(seed, k, w.numel())
            wv = ((2.0 * u - 1.0) * np.sqrt(6.0 / float(fan_in))).astype(np.float32)
            w.copy_(torch.from_numpy(wv.reshape(tuple(w.shape))))
            k += 1
            b = conv.bias
            u = random_values(seed, k, b.numel())
            bv = ((2.0 * u - 1.0) * 0.1).astype(np.float32)
            b.copy_(torch.from_numpy(bv.reshape(tuple(b.shape))))
            k += 1
    return features


# ----------------------------------------------------------------------------------------
# Networks

DEFAULT_TAPS = {
    "squeeze": [1, 4, 7, 9, 10, 11, 12],
    "alex": [1, 4, 7, 9, 11],
    "vgg": [3, 8, 15, 22, 29],
}

_TV = {
    "squeeze": torchvision.models.squeezenet1_1,
    "alex": torchvision.models.alexnet,
    "vgg": torchvision.models.vgg16,
}


def _load_state(path):
    sd = torch.load(path, map_location="cpu")
    if isinstance(sd, dict) and "state_dict" in sd:
        sd = sd["state_dict"]
    return sd


def make_trunk(net, trunk="real", wdir=None):
    """torchvision <net>().features in eval mode, with weights from `trunk`:
    "real" (SqueezeNet only here: squeezenet1_1/features.pth), "random:SEED", or a path to a
    state dict (full torchvision model with `features.` keys, or features-only)."""
    if net not in _TV:
        raise ValueError("unknown net %r" % net)
    features = _TV[net]().features
    wdir = wdir or weights_dir()
    if trunk.startswith("random:"):
        init_random_trunk_(features, int(trunk.split(":", 1)[1]))
    else:
        if trunk == "real":
            if net != "squeeze":
                raise ValueError("no real %s trunk on this machine: give a checkpoint path" % net)
            path = os.path.join(wdir, "squeezenet1_1", "features.pth")
        else:
            path = trunk
        sd = _load_state(path)
        if any(k.startswith("features.") for k in sd):
            sd = {k[len("features."):]: v for k, v in sd.items() if k.startswith("features.")}
        features.load_state_dict(sd, strict=True)
    features.eval()
    for p in features.parameters():
        p.requires_grad_(False)
    return features


def load_lin(net, version, wdir=None):
    """LPIPS lin weights [(1,C,1,1) float32 tensors] from lpips/v<version>/<net>.pth."""
    wdir = wdir or weights_dir()
    sd = _load_state(os.path.join(wdir, "lpips", "v" + version, net + ".pth"))
    lins = []
    for l in range(len(DEFAULT_TAPS[net])):
        key = "lin%d.model.1.weight" % l
        if key not in sd:
            raise KeyError("lin file for %s v%s lacks %s" % (net, version, key))
        w = sd[key].float()
        if (w < 0).any():
            raise ValueError("negative lin weight in %s" % key)
        lins.append(w)
    if len(sd) != len(lins):
        raise KeyError("unexpected keys in lin file: %s" % sorted(sd))
    return lins


SHIFT = [-.030, -.088, -.188]
SCALE = [.458, .448, .450]


class LPIPSRef(nn.Module):
    """LPIPS spatial method, the official arithmetic.

    net: squeeze|alex|vgg; version: "0.1"|"0.0"; lin: learned weights (True) or baseline
    (False: sum over channels); trunk: see make_trunk; taps: None (default taps) or a list of
    features indices (lin must then be False unless the lin channel counts match).
    """

    def __init__(self, net="squeeze", version="0.1", lin=True, trunk="real", taps=None,
                 wdir=None):
        super().__init__()
        self.net, self.version, self.use_lin = net, version, lin
        self.taps = list(DEFAULT_TAPS[net] if taps is None else taps)
        if sorted(set(self.taps)) != self.taps:
            raise ValueError("taps must be strictly increasing: %r" % (self.taps,))
        self.features = make_trunk(net, trunk, wdir)
        if not (0 <= self.taps[0] and self.taps[-1] < len(self.features)):
            raise ValueError("tap out of range for %s: %r" % (net, self.taps))
        # Same construction as lpips.ScalingLayer: float32 tensors.
        self.register_buffer("shift", torch.Tensor(SHIFT)[None, :, None, None])
        self.register_buffer("scale", torch.Tensor(SCALE)[None, :, None, None])
        self.lins = nn.ParameterList()
        if lin:
            for w in load_lin(net, version, wdir):
                self.lins.append(nn.Parameter(w, requires_grad=False))
            if len(self.lins) != len(self.taps):
                raise ValueError("lin weights need the default taps")
        self.eval()

    def tap_features(self, x):
        if self.version == "0.1":
            x = (x - self.shift) / self.scale
        outs = []
        for i, layer in enumerate(self.features):
            if i > self.taps[-1]:
                break
            x = layer(x)
            if i in self.taps:
                # clone: a later in-place relu must not alter a tap taken after a conv
                outs.append(x.clone())
        return outs

    @staticmethod
    def normalize_tensor(f, eps=1e-10):
        norm_factor = torch.sqrt(torch.sum(f ** 2, dim=1, keepdim=True))
        return f / (norm_factor + eps)

    def forward(self, in0, in1, want_map=False):
        """Returns (distance (N,), per_tap [(N,) per tap], map (N,1,H,W) or None)."""
        outs0, outs1 = self.tap_features(in0), self.tap_features(in1)
        HW = tuple(in0.shape[2:])
        per_tap, maps = [], []
        for kk in range(len(self.taps)):
            d = (self.normalize_tensor(outs0[kk]) - self.normalize_tensor(outs1[kk])) ** 2
            if self.use_lin:
                m = F.conv2d(d, self.lins[kk])
            else:
                m = d.sum(dim=1, keepdim=True)
            per_tap.append(m.mean([2, 3], keepdim=True))
            if want_map:
                maps.append(nn.Upsample(size=HW, mode="bilinear", align_corners=False)(m))
        val = 0
        for r in per_tap:
            val += r
        smap = None
        if want_map:
            smap = 0
            for r in maps:
                smap += r
        return val.flatten(), [r.flatten() for r in per_tap], smap


def to_double(model):
    """The same reference in float64 (identical float32 weights and constants, cast)."""
    return model.double()


# ----------------------------------------------------------------------------------------
# Images

def load_image(spec, ddir=None):
    """uint8 (H, W, 3) from a path, `data:REL` or `gen:S:WxH`."""
    if spec.startswith("gen:"):
        _, s, size = spec.split(":")
        w, h = size.lower().split("x")
        return gen_image(int(s), int(w), int(h))
    if spec.startswith("data:"):
        spec = os.path.join(ddir or data_dir(), spec[len("data:"):])
    from PIL import Image
    return np.asarray(Image.open(spec).convert("RGB"))


def im2tensor(img, dtype=torch.float32):
    """lpips.im2tensor: (p / 127.5 - 1) in float64, cast to float32, shape (1,3,H,W).
    dtype=float64 keeps the float32-rounded values (for the float64 comparison run)."""
    t = torch.Tensor((img / (255. / 2.) - 1.)[:, :, :, np.newaxis].transpose((3, 2, 0, 1)))
    return t.to(dtype)


def distance(a, b, net="squeeze", version="0.1", lin=True, trunk="real", taps=None,
             want_map=False, double=False, model=None):
    """Convenience: distance of two image specs or uint8 arrays. Returns (d, per_tap, map)
    as python float, list of floats and numpy (H, W) array or None."""
    if model is None:
        model = LPIPSRef(net, version, lin, trunk, taps)
        if double:
            to_double(model)
    dtype = torch.float64 if double else torch.float32
    ia = load_image(a) if isinstance(a, str) else a
    ib = load_image(b) if isinstance(b, str) else b
    if ia.shape != ib.shape:
        raise ValueError("image sizes differ: %s vs %s" % (ia.shape, ib.shape))
    with torch.no_grad():
        d, pt, m = model(im2tensor(ia, dtype), im2tensor(ib, dtype), want_map)
    return (float(d[0]), [float(t[0]) for t in pt],
            None if m is None else m[0, 0].numpy().copy())


# ----------------------------------------------------------------------------------------
# Official-figure check

# Figures computed with the official LPIPS code (lpips.LPIPS(net='squeeze', version=...)) on
# the shared SqueezeNet weights, lpips_examples triplet, 6 decimals.
OFFICIAL = [
    ("0.1", "ex_ref.png", "ex_p0.png", 0.711047),
    ("0.1", "ex_ref.png", "ex_p1.png", 0.147902),
    ("0.0", "ex_ref.png", "ex_p0.png", 0.396770),
    ("0.0", "ex_ref.png", "ex_p1.png", 0.086290),
]


def self_check_rng():
    for z in [0, 1, 12345, (1 << 48) ^ (7 << 32) ^ 99, _M64]:
        assert int(splitmix64(np.uint64(z))) == _splitmix64_int(z), "splitmix64 mismatch"


def official_check(verbose=True, tol=1e-6):
    """Assert the implementation reproduces the official figures; returns [(v, a, b, fig, d)]."""
    self_check_rng()
    rows, bad = [], []
    models = {}
    for version, a, b, fig in OFFICIAL:
        if version not in models:
            models[version] = LPIPSRef("squeeze", version, True, "real")
        d, _, _ = distance("data:lpips_examples/" + a, "data:lpips_examples/" + b,
                           model=models[version])
        rows.append((version, a, b, fig, d))
        ok = abs(d - fig) <= tol
        if verbose:
            print("official check v%s %s/%s: official %.6f ours %.8f |diff| %.2e %s"
                  % (version, a, b, fig, d, abs(d - fig), "ok" if ok else "FAIL"))
        if not ok:
            bad.append((version, a, b, fig, d))
    if bad:
        raise AssertionError("LPIPS reference does not reproduce the official figures: %r" % bad)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a", nargs="?")
    ap.add_argument("b", nargs="?")
    ap.add_argument("--net", default="squeeze", choices=sorted(_TV))
    ap.add_argument("--version", default="0.1", choices=["0.1", "0.0"])
    ap.add_argument("--baseline", action="store_true", help="no lin weights (lpips=False)")
    ap.add_argument("--trunk", default="real", help="real | random:SEED | checkpoint path")
    ap.add_argument("--taps", default=None, help="comma-separated features indices")
    ap.add_argument("--per-tap", action="store_true", help="also print the per-tap terms")
    ap.add_argument("--map", metavar="OUT.f32", help="write the distance map (raw float32 LE)")
    ap.add_argument("--double", action="store_true", help="run in float64")
    ap.add_argument("--check", action="store_true", help="run the official-figure check")
    args = ap.parse_args(argv)
    if args.check:
        official_check()
        if args.a is None:
            return 0
    if args.a is None or args.b is None:
        ap.error("two images are required")
    taps = None if args.taps in (None, "default") else [int(t) for t in args.taps.split(",")]
    d, pt, m = distance(args.a, args.b, args.net, args.version, not args.baseline, args.trunk,
                        taps, want_map=bool(args.map), double=args.double)
    print("%.10g" % d)
    if args.per_tap:
        print(" ".join("%.10g" % v for v in pt))
    if args.map:
        m.astype("<f4").tofile(args.map)
    return 0


if __name__ == "__main__":
    sys.exit(main())
