#!/usr/bin/python3
"""dpsim's NumPy binding against the library and the committed PyTorch vectors:
distances of tests/vectors/lpips.txt (real SqueezeNet cases), gradients of
tests/vectors/grad.txt, layouts and dtypes, features reuse, batches, errors.
Needs DPSIM_LIBRARY (or an installed libdpsim) and DPSIM_WEIGHTS; exits 77 (skip)
without numpy or the weights."""

import os
import sys

try:
    import numpy as np
except ImportError:
    print("skip: numpy is not importable")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("DPSIM_SOURCE_ROOT") or os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "python"))
import dpsim  # noqa: E402

VECTORS = os.path.join(ROOT, "tests", "vectors")
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


def parse(line):
    return dict(kv.split("=", 1) for kv in line.split())


def cases(name):
    with open(os.path.join(VECTORS, name)) as f:
        return [parse(l) for l in f if l.strip() and not l.startswith("#")]


# ---- the grad:S:WxH images of tools/scripts/gen_grad_vectors.py, in numpy ----

M64 = np.uint64


def splitmix64(z):
    with np.errstate(over="ignore"):
        z = z + M64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> M64(30))) * M64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> M64(27))) * M64(0x94D049BB133111EB)
        return z ^ (z >> M64(31))


def grad_image(spec):
    _, s, size = spec.split(":")
    s = M64(int(s))
    w, h = (int(t) for t in size.split("x"))
    c = np.arange(3, dtype=M64)[:, None, None]
    y = np.arange(h, dtype=M64)[None, :, None]
    x = np.arange(w, dtype=M64)[None, None, :]
    r = splitmix64((s << M64(48)) ^ (c << M64(40)) ^ (y << M64(20)) ^ x) & M64(63)
    p = ((x * M64(7) + y * M64(3) + c * M64(50) + r) % M64(256)).astype(np.float64)
    i = np.arange(3 * h * w, dtype=M64)
    u = (splitmix64((s << M64(48)) ^ (M64(7) << M64(32)) ^ i) >> M64(40)).astype(np.float64)
    u = (u / 16777216.0).reshape(3, h, w)
    return ((p + u) / 256.0).astype(np.float32)


def load_png(rel):
    from PIL import Image
    data = os.environ.get("DPSIM_DATA") or os.path.join(os.environ["DPSIM_WEIGHTS"], "..",
                                                        "data")
    return np.asarray(Image.open(os.path.join(data, rel)).convert("RGB"))


def test_distances():
    """the real-SqueezeNet parity cases (8-bit example images) through the binding"""
    try:
        import PIL  # noqa: F401
    except ImportError:
        print("note: PIL missing, distance vectors not checked")
        return
    metrics = {}
    n = 0
    for c in cases("lpips.txt"):
        if c["trunk"] != "real" or not c["a"].startswith("data:lpips_examples"):
            continue
        key = (c["version"], c["lin"])
        if key not in metrics:
            metrics[key] = dpsim.Metric(version=c["version"], lin=c["lin"] == "1")
        d = metrics[key].distance(load_png(c["a"][5:]), load_png(c["b"][5:]))
        want = float(c["distance"])
        check(abs(d - want) <= 1e-5 * abs(want), "%s: %.9g, want %.9g" % (c["case"], d, want))
        n += 1
    check(n >= 6, "only %d distance cases found" % n)


def test_gradients():
    """a sample of the autograd vectors (d/da and, where stored, d/db)"""
    for c in cases("grad.txt"):
        if c["trunk"] != "real":
            continue
        m = dpsim.Metric(method=c["method"], version=c["version"], lin=c["lin"] == "1",
                         normalize=None if c["norm"] == "-1" else c["norm"] == "1",
                         pixel_layer=c["pixel"] == "1",
                         taps=None if c["taps"] == "default" else
                         [int(t) for t in c["taps"].split(",")])
        a, b = grad_image(c["a"]), grad_image(c["b"])
        want = np.fromfile(os.path.join(VECTORS, c["grad"]), dtype="<f4")
        if c["both"] == "1":
            d, ga, gb = m.gradient(a, b, wrt="both")
            got = np.concatenate([ga.ravel(), gb.ravel()])
        else:
            d, ga = m.gradient(a, b)
            got = ga.ravel()
        err = np.abs(got - want).max() / np.abs(want).max()
        check(err <= 1e-4, "%s: gradient off by %.3g of its peak" % (c["case"], err))
        check(abs(d - float(c["distance"])) <= 1e-5 * float(c["distance"]),
              "%s: distance %.9g" % (c["case"], d))


def test_layouts_and_api():
    m = dpsim.Metric()
    a, b = grad_image("grad:1:24x20"), grad_image("grad:2:24x20")   # (3, H, W) float
    d_chw = m.distance(a, b)
    d_hwc = m.distance(a.transpose(1, 2, 0), b.transpose(1, 2, 0))
    check(d_chw == d_hwc, "layouts disagree: %r vs %r" % (d_chw, d_hwc))
    d, g = m.gradient(a.transpose(1, 2, 0), b.transpose(1, 2, 0))
    _, g2 = m.gradient(a, b)
    check(g.shape == (20, 24, 3) and np.array_equal(g.transpose(2, 0, 1), g2),
          "gradient layout")
    check(d == d_chw, "gradient's distance %r vs distance %r" % (d, d_chw))
    _, gb = m.gradient(a, b, wrt="b")
    _, gb2 = m.gradient(b, a)
    check(np.allclose(gb, gb2, rtol=0, atol=1e-6 * np.abs(gb).max()), "d/db vs d/da swapped")
    fa, fb = m.features(a), m.features(b)
    check(m.distance_features(fa, fb) == d_chw, "features reuse")
    d_to, g_to = m.gradient_to(a, fb)
    check(d_to == d and np.array_equal(g_to, g2), "gradient_to")
    # uint8 input is p / 255
    u8 = (a * 255).round().astype(np.uint8)
    check(m.distance(u8, b) == m.distance(u8.astype(np.float32) / np.float32(255), b), "uint8")
    # gray (H, W) is replicated
    check(m.distance(a[0], b[0]) == m.distance(np.stack([a[0]] * 3), np.stack([b[0]] * 3)),
          "gray")
    # batches: lists, stacked arrays, one b for all
    A = np.stack([a, b, a]); B = np.stack([b, a, a])
    ds = m.distance_batch(A, B)
    check(np.array_equal(ds, [m.distance(x, y) for x, y in zip(A, B)]), "distance_batch")
    check(ds[2] == 0.0, "d(x, x) = %r" % ds[2])
    ds1 = m.distance_batch(list(A), b)
    check(np.array_equal(ds1, [m.distance(x, b) for x in A]), "distance_batch, single b")
    dg, gs = m.gradient_batch(A, b)
    check(gs.shape == A.shape and np.array_equal(gs[0], g2) and dg[0] == d, "gradient_batch")
    # other methods and nets load and differ
    check(dpsim.Metric(method="sort").distance(a, b) != d, "sort equals spatial")
    # the thread count changes no bit
    big_a, big_b = grad_image("grad:1:96x80"), grad_image("grad:2:96x80")
    d1, g1 = dpsim.Metric(threads=1).gradient(big_a, big_b)
    d3, g3 = dpsim.Metric(threads=3).gradient(big_a, big_b)
    check(d1 == d3 and np.array_equal(g1, g3), "threads=1 and threads=3 differ")


def test_large_pair():
    """A pair whose features would take 48 MB or more: distance() runs it by bands of rows
    (dpsim_compare_images), the same within 1e-5 as its features compared; a mean-method
    metric goes through features and compares any sizes."""
    m = dpsim.Metric()
    a, b = grad_image("grad:3:1024x768"), grad_image("grad:4:1024x768")
    d = m.distance(a, b)
    d_feat = m.distance_features(m.features(a), m.features(b))
    check(abs(d - d_feat) <= 1e-5 * d_feat, "by bands %.9g, through features %.9g" % (d, d_feat))
    mean = dpsim.Metric(method="mean")
    check(mean.distance(a, b[:, :700, :900]) > 0, "mean on two sizes")


def test_errors():
    m = dpsim.Metric()
    small = np.zeros((8, 8, 3), np.float32)
    try:
        m.distance(small, small)
        check(False, "a too-small image was accepted")
    except dpsim.DpsimError as e:
        check("too small" in str(e) and e.status == -5, "message: %s" % e)
    ok = np.full((3, 32, 32), 0.5, np.float32)
    try:
        m.features_batch([ok, ok, small])
        check(False, "a too-small image in a batch was accepted")
    except dpsim.DpsimError as e:
        check("image 2 of the batch" in str(e) and e.status == -5, "message: %s" % e)
    check(m.features_batch([]) == [], "an empty batch")
    a, b = grad_image("grad:1:24x20"), grad_image("grad:2:24x22")
    try:
        m.gradient(a, b)
        check(False, "sizes differ but accepted")
    except dpsim.DpsimError as e:
        check("sizes differ" in str(e), "message: %s" % e)
    try:
        dpsim.Metric(trunk="/nonexistent/trunk.pth")
        check(False, "a missing trunk was accepted")
    except dpsim.DpsimError as e:
        check("/nonexistent/trunk.pth" in str(e), "message: %s" % e)
    for bad in (dict(net="resnet"), dict(method="l1"), dict(threads=0), dict(precision="fp16")):
        try:
            dpsim.Metric(**bad)
            check(False, "%r accepted" % bad)
        except ValueError:
            pass
    nan = a.copy()
    nan[0, 0, 0] = np.nan
    try:
        m.distance(nan, a)
        check(False, "NaN accepted")
    except dpsim.DpsimError as e:
        check("NaN" in str(e), "message: %s" % e)


def has_bf16():
    try:
        with open("/proc/cpuinfo") as f:
            return " avx512_bf16" in f.read()
    except OSError:
        return False


def test_precision():
    """precision="bf16": close to fp32 where the CPU has AVX512-BF16, else refused"""
    a, b = grad_image("grad:1:48x40"), grad_image("grad:2:48x40")
    if not has_bf16() or os.environ.get("DPSIM_ISA") in ("scalar", "avx2"):
        try:
            dpsim.Metric(precision="bf16")
            check(False, "bf16 accepted without AVX512-BF16")
        except dpsim.DpsimError as e:
            check("AVX512-BF16" in str(e) and e.status == -6, "message: %s" % e)
        return
    d32 = dpsim.Metric().distance(a, b)
    m = dpsim.Metric(precision="bf16")
    d16 = m.distance(a, b)
    check(abs(d16 - d32) <= 0.02 * abs(d32), "bf16 %.6g vs fp32 %.6g" % (d16, d32))
    try:
        m.gradient(a, b)
        check(False, "a bf16 gradient was computed")
    except dpsim.DpsimError as e:
        check("bf16" in str(e) and e.status == -6, "message: %s" % e)


def main():
    if not os.environ.get("DPSIM_WEIGHTS"):
        print("skip: set DPSIM_WEIGHTS")
        return 77
    print("libdpsim", dpsim.version())
    for t in (test_distances, test_gradients, test_layouts_and_api, test_large_pair,
              test_errors, test_precision):
        t()
        print("ran", t.__name__)
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
