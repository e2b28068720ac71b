"""ctypes declarations of libdpsim's public API (include/dpsim/dpsim.h, grad.h)."""

import ctypes
import ctypes.util
import os

ABI_VERSION = 2  # DPSIM_ABI_VERSION of include/dpsim/version.h.in
MAX_TAPS = 32    # DPSIM_MAX_TAPS

NETS = {"squeeze": 0, "squeezenet1_1": 0, "alex": 1, "alexnet": 1, "vgg": 2, "vgg16": 2}
VERSIONS = {"0.1": 0, "0.0": 1}
METHODS = {"spatial": 0, "mean": 1, "sort": 2, "spatial+mean": 3, "spatial+sort": 4,
           "gram": 5, "dists": 6}
PRECISIONS = {"fp32": 0, "bf16": 1}


class ModelOptions(ctypes.Structure):
    """dpsim_model_options, in field order. The library may append fields in a later ABI:
    the object handed to it is a larger zeroed buffer that starts with this layout."""
    _fields_ = [
        ("abi", ctypes.c_uint),
        ("net", ctypes.c_int),
        ("version", ctypes.c_int),
        ("use_lin", ctypes.c_int),
        ("n_taps", ctypes.c_int),
        ("taps", ctypes.c_int * MAX_TAPS),
        ("trunk_path", ctypes.c_char_p),
        ("lin_path", ctypes.c_char_p),
        ("method", ctypes.c_int),
        ("normalize", ctypes.c_int),
        ("pixel_layer", ctypes.c_int),
        ("precision", ctypes.c_int),  # ABI 2
    ]


class Config(ctypes.Structure):
    """dpsim_config."""
    _fields_ = [("abi", ctypes.c_uint), ("n_threads", ctypes.c_int)]


class OptionsBuffer(ctypes.Union):
    _fields_ = [("opt", ModelOptions), ("_room", ctypes.c_char * 4096)]


def _candidates():
    env = os.environ.get("DPSIM_LIBRARY")
    if env:
        return [env]
    names = []
    found = ctypes.util.find_library("dpsim")
    if found:
        names.append(found)
    names += ["libdpsim.so.0", "libdpsim.so", "libdpsim.dylib"]
    return names


def load():
    errors = []
    for name in _candidates():
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError as e:
            errors.append("%s: %s" % (name, e))
    else:
        raise OSError("libdpsim not found (tried %s); build it with meson and set "
                      "DPSIM_LIBRARY=/path/to/libdpsim.so, or install it (meson install)"
                      % "; ".join(errors))
    _declare(lib)
    return lib


def _declare(lib):
    P, I, D, F = ctypes.c_void_p, ctypes.c_int, ctypes.c_double, ctypes.c_float
    fp = ctypes.POINTER(F)
    dp = ctypes.POINTER(D)
    sigs = {
        "dpsim_strerror": (ctypes.c_char_p, [I]),
        "dpsim_version_string": (ctypes.c_char_p, []),
        "dpsim_ctx_create": (I, [ctypes.POINTER(P), P]),
        "dpsim_config_init_abi": (I, [ctypes.POINTER(Config), ctypes.c_uint]),
        "dpsim_ctx_free": (None, [P]),
        "dpsim_ctx_last_error": (ctypes.c_char_p, [P]),
        "dpsim_model_options_init_abi": (I, [ctypes.POINTER(OptionsBuffer), ctypes.c_uint]),
        "dpsim_model_load": (I, [P, ctypes.POINTER(OptionsBuffer), ctypes.POINTER(P)]),
        "dpsim_model_free": (None, [P]),
        "dpsim_model_n_taps": (I, [P]),
        "dpsim_model_min_size": (I, [P]),
        "dpsim_model_provenance": (ctypes.c_size_t, [P, ctypes.c_char_p, ctypes.c_size_t]),
        "dpsim_extract": (I, [P, P, fp, I, I, ctypes.POINTER(P)]),
        "dpsim_extract_batch": (I, [P, P, I, ctypes.POINTER(fp), ctypes.POINTER(I),
                                    ctypes.POINTER(I), ctypes.POINTER(P)]),
        "dpsim_features_free": (None, [P]),
        "dpsim_features_width": (I, [P]),
        "dpsim_features_height": (I, [P]),
        "dpsim_compare": (I, [P, P, P, P, dp, dp, fp]),
        "dpsim_compare_images": (I, [P, P, I, ctypes.POINTER(fp), ctypes.POINTER(fp), I, I, dp,
                                     dp, fp]),
        "dpsim_gradient": (I, [P, P, fp, fp, I, I, dp, fp, fp]),
        "dpsim_gradient_to": (I, [P, P, fp, I, I, P, dp, fp]),
    }
    for name, (res, args) in sigs.items():
        f = getattr(lib, name)
        f.restype = res
        f.argtypes = args
