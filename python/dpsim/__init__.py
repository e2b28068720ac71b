"""dpsim: deep perceptual similarity and loss (LPIPS, DISTS and the thesis's methods) on
SqueezeNet 1.1, AlexNet and VGG-16, through libdpsim (C).

    m = dpsim.Metric(net="squeeze", method="spatial", version="0.1")
    m.distance(a, b); m.gradient(a, b); m.features(a); m.distance_features(fa, fb)

Images are NumPy arrays (H, W, 3) or (3, H, W), uint8 (p / 255) or float in [0, 1]; a
(H, W) array is gray. Gradients are with respect to the float values v in [0, 1] and come
back in the input's layout (float32). See include/dpsim/grad.h for what is differentiated.
"""

import ctypes
import os

import numpy as np

from . import _lib

__all__ = ["Metric", "Features", "DpsimError", "version"]

_L = None


def _libdpsim():
    global _L
    if _L is None:
        _L = _lib.load()
    return _L


class DpsimError(Exception):
    """A libdpsim failure: .status is the dpsim_status code, str() the library's detail."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def version():
    """libdpsim's version string."""
    return _libdpsim().dpsim_version_string().decode()


def _check(lib, ctx, status, what):
    if status != 0:
        detail = lib.dpsim_ctx_last_error(ctx).decode(errors="replace") if ctx else ""
        kind = lib.dpsim_strerror(status).decode()
        raise DpsimError(status, "%s: %s" % (what, detail or kind))


def _as_planar(img, layout="auto"):
    """image -> ((3, H, W) float32 C-contiguous, how to give a gradient back)."""
    a = np.asarray(img)
    if a.ndim == 2:
        a, layout, gray = np.stack([a] * 3), "chw", True
    else:
        gray = False
    if a.ndim != 3:
        raise ValueError("image: expected an (H, W, 3) or (3, H, W) array, got shape %s"
                         % (a.shape,))
    if layout == "auto":
        if a.shape[2] == 3 and a.shape[0] != 3:
            layout = "hwc"
        elif a.shape[0] == 3:
            layout = "chw"
        else:
            raise ValueError("image: expected an (H, W, 3) or (3, H, W) array, got shape %s"
                             % (a.shape,))
    if layout not in ("hwc", "chw"):
        raise ValueError("layout: expected 'auto', 'hwc' or 'chw', got %r" % (layout,))
    if layout == "hwc":
        if a.shape[2] != 3:
            raise ValueError("image: layout hwc needs shape (H, W, 3), got %s" % (a.shape,))
        a = a.transpose(2, 0, 1)
    elif a.shape[0] != 3:
        raise ValueError("image: layout chw needs shape (3, H, W), got %s" % (a.shape,))
    if a.dtype == np.uint8:
        v = a.astype(np.float32) / np.float32(255.0)
    elif a.dtype.kind == "f":
        v = a.astype(np.float32)
    else:
        raise TypeError("image: expected uint8 or float values, got %s" % a.dtype)
    return np.ascontiguousarray(v), ("gray" if gray else layout)


def _from_planar(g, layout):
    if layout == "gray":
        return g.sum(axis=0)
    return np.ascontiguousarray(g.transpose(1, 2, 0)) if layout == "hwc" else g


def _fptr(a):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


class Features:
    """What the net extracts from one image (made by Metric.features); reusable with any
    Metric that differs only in method or normalisation."""

    def __init__(self, lib, ptr, width, height):
        self._lib, self._ptr, self.width, self.height = lib, ptr, width, height

    def __del__(self):
        if getattr(self, "_ptr", None):
            self._lib.dpsim_features_free(self._ptr)
            self._ptr = None


class Metric:
    """A loaded metric (net, method, version, weights) with its own library context.

    net: "squeeze" | "alex" | "vgg"; method: "spatial", "mean", "sort", "spatial+mean",
    "spatial+sort", "gram", "dists" (implies vgg); version: "0.1" | "0.0";
    lin: learned per-channel weights (False: all ones); normalize: None (the method's
    default), True or False; pixel_layer: add the preprocessed input as a tap;
    taps: features indices; trunk, lin_path: explicit weight files; threads: the
    library's threads for each extraction and gradient (default: all CPUs; the results
    are the same bits for any number); precision: "fp32" (default) or the opt-in "bf16"
    (CPUs with AVX512-BF16 only, else DpsimError; up to 1.4x faster, distances within ~0.3%,
    no gradients; see doc/PRECISION.md).
    Not thread-safe: use one Metric per thread.
    """

    def __init__(self, net="squeeze", method="spatial", version="0.1", lin=True,
                 normalize=None, pixel_layer=False, taps=None, trunk=None, lin_path=None,
                 threads=None, precision="fp32"):
        lib = self._lib = _libdpsim()
        self._ctx = ctypes.c_void_p()
        self._model = ctypes.c_void_p()
        config = _lib.Config()
        _check(lib, None, lib.dpsim_config_init_abi(ctypes.byref(config), _lib.ABI_VERSION),
               "context settings (library ABI differs from this binding's)")
        config.n_threads = int(threads) if threads is not None else (os.cpu_count() or 1)
        if not 1 <= config.n_threads <= 256:
            raise ValueError("threads: expected 1 to 256, got %r" % threads)
        _check(lib, None, lib.dpsim_ctx_create(ctypes.byref(self._ctx), ctypes.byref(config)),
               "context")
        buf = _lib.OptionsBuffer()
        _check(lib, self._ctx, lib.dpsim_model_options_init_abi(ctypes.byref(buf),
                                                                _lib.ABI_VERSION),
               "model options (library ABI differs from this binding's)")
        o = buf.opt
        if method == "dists" and net == "squeeze":
            net = "vgg"
        for name, table, value in (("net", _lib.NETS, net), ("version", _lib.VERSIONS, version),
                                   ("method", _lib.METHODS, method),
                                   ("precision", _lib.PRECISIONS, precision)):
            if value not in table:
                raise ValueError("%s: %r is not one of %s" % (name, value, sorted(table)))
            setattr(o, name, table[value])
        o.use_lin = 1 if lin else 0
        o.normalize = -1 if normalize is None else int(bool(normalize))
        o.pixel_layer = int(bool(pixel_layer))
        if taps:
            if len(taps) > _lib.MAX_TAPS:
                raise ValueError("taps: at most %d" % _lib.MAX_TAPS)
            o.n_taps = len(taps)
            for i, t in enumerate(taps):
                o.taps[i] = int(t)
        self._paths = [p.encode() if p else None for p in (trunk, lin_path)]
        o.trunk_path, o.lin_path = self._paths
        _check(lib, self._ctx, lib.dpsim_model_load(self._ctx, ctypes.byref(buf),
                                                    ctypes.byref(self._model)), "model")
        self.net, self.method, self.version = net, method, version

    def __del__(self):
        lib = getattr(self, "_lib", None)
        if lib is None:
            return
        if getattr(self, "_model", None):
            lib.dpsim_model_free(self._model)
            self._model = None
        if getattr(self, "_ctx", None):
            lib.dpsim_ctx_free(self._ctx)
            self._ctx = None

    @property
    def min_size(self):
        """Smallest accepted image side."""
        return self._lib.dpsim_model_min_size(self._model)

    @property
    def provenance(self):
        """net, taps, method, version, preprocessing, eps and weight hashes in one line."""
        buf = ctypes.create_string_buffer(1024)
        self._lib.dpsim_model_provenance(self._model, buf, len(buf))
        return buf.value.decode()

    def features(self, img, layout="auto"):
        v, _ = _as_planar(img, layout)
        out = ctypes.c_void_p()
        _check(self._lib, self._ctx, self._lib.dpsim_extract(self._ctx, self._model, _fptr(v),
                                                             v.shape[2], v.shape[1],
                                                             ctypes.byref(out)), "features")
        return Features(self._lib, out, v.shape[2], v.shape[1])

    def distance_features(self, fa, fb):
        d = ctypes.c_double()
        _check(self._lib, self._ctx, self._lib.dpsim_compare(self._ctx, self._model, fa._ptr,
                                                             fb._ptr, ctypes.byref(d), None,
                                                             None), "compare")
        return d.value

    def distance(self, a, b, layout="auto"):
        """The distance of two images: one library call for images of one size
        (dpsim_compare_images: large images run by bands of rows, no features kept);
        through features otherwise (methods mean and gram compare any sizes)."""
        va, _ = _as_planar(a, layout)
        vb, _ = _as_planar(b, layout)
        if va.shape != vb.shape:
            return self.distance_features(self.features(a, layout), self.features(b, layout))
        d = ctypes.c_double()
        image = ctypes.POINTER(ctypes.c_float) * 1
        _check(self._lib, self._ctx, self._lib.dpsim_compare_images(
            self._ctx, self._model, 1, image(_fptr(va)), image(_fptr(vb)), va.shape[2],
            va.shape[1], ctypes.byref(d), None, None), "distance")
        return d.value

    def gradient(self, a, b, wrt="a", layout="auto"):
        """(distance, gradient): d distance / d a (wrt="a"), / d b ("b"), or both
        (wrt="both": (distance, grad_a, grad_b)), each in its image's layout."""
        if wrt not in ("a", "b", "both"):
            raise ValueError("wrt: expected 'a', 'b' or 'both', got %r" % (wrt,))
        va, la = _as_planar(a, layout)
        vb, lb = _as_planar(b, layout)
        if va.shape != vb.shape:
            raise DpsimError(-5, "gradient: image sizes differ: %dx%d and %dx%d, expected "
                             "equal sizes" % (va.shape[2], va.shape[1], vb.shape[2],
                                              vb.shape[1]))
        ga = np.zeros_like(va) if wrt in ("a", "both") else None
        gb = np.zeros_like(vb) if wrt in ("b", "both") else None
        d = ctypes.c_double()
        _check(self._lib, self._ctx, self._lib.dpsim_gradient(
            self._ctx, self._model, _fptr(va), _fptr(vb), va.shape[2], va.shape[1],
            ctypes.byref(d), _fptr(ga) if ga is not None else None,
            _fptr(gb) if gb is not None else None), "gradient")
        if wrt == "a":
            return d.value, _from_planar(ga, la)
        if wrt == "b":
            return d.value, _from_planar(gb, lb)
        return d.value, _from_planar(ga, la), _from_planar(gb, lb)

    def gradient_to(self, a, target, layout="auto"):
        """(distance, d distance / d a) to target Features (extracted once)."""
        va, la = _as_planar(a, layout)
        g = np.zeros_like(va)
        d = ctypes.c_double()
        _check(self._lib, self._ctx, self._lib.dpsim_gradient_to(
            self._ctx, self._model, _fptr(va), va.shape[2], va.shape[1], target._ptr,
            ctypes.byref(d), _fptr(g)), "gradient")
        return d.value, _from_planar(g, la)

    # ---- batches: sequences or stacked arrays (N, H, W, 3) / (N, 3, H, W) ----

    def features_batch(self, imgs, layout="auto"):
        """Features of every image, in one library call (dpsim_extract_batch: small
        images are extracted side by side, one per thread)."""
        planar = [_as_planar(x, layout)[0] for x in imgs]
        n = len(planar)
        ptrs = (ctypes.POINTER(ctypes.c_float) * max(n, 1))(*[_fptr(v) for v in planar])
        widths = (ctypes.c_int * max(n, 1))(*[v.shape[2] for v in planar])
        heights = (ctypes.c_int * max(n, 1))(*[v.shape[1] for v in planar])
        out = (ctypes.c_void_p * max(n, 1))()
        _check(self._lib, self._ctx, self._lib.dpsim_extract_batch(
            self._ctx, self._model, n, ptrs, widths, heights, out), "features_batch")
        return [Features(self._lib, ctypes.c_void_p(out[i]), widths[i], heights[i])
                for i in range(n)]

    def distance_batch(self, a, b, layout="auto"):
        """Distances of pairs a[i], b[i]; a single b is compared with every a[i]
        (its features extracted once)."""
        single = np.asarray(b).ndim in (2, 3) and not isinstance(b, (list, tuple))
        fa = self.features_batch(a, layout)
        fb = self.features_batch([b] if single else b, layout)
        return np.array([self.distance_features(x, fb[0] if single else fb[i])
                         for i, x in enumerate(fa)], dtype=np.float64)

    def gradient_batch(self, a, b, layout="auto"):
        """(distances (N,), gradients d/da[i] stacked like a)."""
        single = np.asarray(b).ndim in (2, 3) and not isinstance(b, (list, tuple))
        ds, gs = [], []
        if single:
            fb = self.features(b, layout)
            for x in a:
                d, g = self.gradient_to(x, fb, layout)
                ds.append(d)
                gs.append(g)
        else:
            for x, y in zip(a, b):
                d, g = self.gradient(x, y, "a", layout)
                ds.append(d)
                gs.append(g)
        return np.array(ds, dtype=np.float64), np.stack(gs)
