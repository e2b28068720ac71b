#!/usr/bin/python3
"""Write the small checkpoint fixtures under tests/weights/fixtures/.

Good files come from torch.save itself (legacy and zip formats); hostile ones
are written byte by byte. expected.txt lists every good fixture's tensors and
values, and (when the real weights are present, $DPSIM_WEIGHTS or
../shared/weights next to the repository) a few values torch reads from them, for the C tests.

Run: /usr/bin/python3 tools/scripts/make_checkpoint_fixtures.py
"""
import collections
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "weights", "fixtures")
WEIGHTS = os.environ.get("DPSIM_WEIGHTS", os.path.join(ROOT, "..", "shared", "weights"))

expected = []


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def record(name, tensors):
    """Add name's tensors (in file order) and their float32 values to expected.txt."""
    expected.append(f"fixture {name} {len(tensors)}")
    for key, t in tensors.items():
        t = t.detach()
        values = t.to(torch.float32).flatten().tolist()
        shape = " ".join(str(d) for d in t.shape)
        expected.append(f"tensor {key} {t.dim()} {shape} {t.numel()} "
                        + " ".join(repr(v) for v in values))


def save(name, obj, legacy, **kw):
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=not legacy, **kw)
    write(name, buf.getvalue())
    return buf.getvalue()


# ---- good files from torch.save ----

def good_files():
    torch.manual_seed(0)
    big = torch.randn(6, 7)
    base = torch.randn(3, 1)
    mixed = {
        "f32": torch.randn(2, 3, 4),
        "f64": torch.randn(3, 2, dtype=torch.float64),
        "transposed": torch.randn(3, 5).t(),
        "big": big,
        "offset": big[2:5, 1:4],  # shares big's storage, offset 15, strides (7, 1)
        "scalar": torch.tensor(3.5),
        "half": torch.randn(4).half(),
        "bf16": torch.randn(5).bfloat16(),
        "empty": torch.zeros(0, 3),
        "expanded": base.expand(3, 4),  # stride 0
        "last": torch.randn(2),
    }
    assert not mixed["transposed"].is_contiguous() and mixed["offset"].storage_offset() == 15

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(),
                                                torch.nn.Conv2d(4, 2, 1))

    module = Net().state_dict()  # an OrderedDict with _metadata
    param = {"w": torch.nn.Parameter(torch.randn(2, 2)), "b": torch.nn.Parameter(torch.randn(3))}

    for stem, obj in (("mixed", mixed), ("module", module), ("param", param)):
        save(f"legacy_{stem}.pth", obj, legacy=True)
        record(f"legacy_{stem}.pth", obj)
        save(f"zip_{stem}.pt", obj, legacy=False)
        record(f"zip_{stem}.pt", obj)
    save("legacy_proto4.pth", module, legacy=True, pickle_protocol=4)
    record("legacy_proto4.pth", module)
    save("zip_proto4.pt", module, legacy=False, pickle_protocol=4)
    record("zip_proto4.pt", module)
    write("zip64_param.pt", rezip_zip64(os.path.join(OUT, "zip_param.pt")))
    record("zip64_param.pt", param)
    record("zip_byteorder.pt", param)  # written by hostile_zips()

    sf = collections.OrderedDict(
        [("a32", torch.randn(2, 3)), ("b64", torch.randn(4, dtype=torch.float64)),
         ("c16", torch.randn(3).half()), ("dbf", torch.randn(2, 2).bfloat16()),
         ("scalar", torch.tensor(-1.25))])
    write("sf_mixed.safetensors", safetensors_bytes(sf, {"net": "test", "note": "a \"q\""}))
    record("sf_mixed.safetensors", sf)


def rezip_zip64(path):
    """The same stored entries, every size and offset moved into zip64 extra fields."""
    src = zipfile.ZipFile(path)
    out, central = bytearray(), bytearray()
    for info in src.infolist():
        data, name = src.read(info.filename), info.filename.encode()
        crc, offset = zipfile.crc32(data), len(out)
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF,
                           0xFFFFFFFF, len(name), len(extra)) + name + extra + data
        extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc,
                               0xFFFFFFFF, 0xFFFFFFFF, len(name), len(extra), 0, 0, 0, 0,
                               0xFFFFFFFF) + name + extra
    n, cd_offset = len(src.infolist()), len(out)
    out += central
    eocd64 = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(central),
                       cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, eocd64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return bytes(out)


def safetensors_bytes(tensors, metadata):
    names = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16",
             torch.bfloat16: "BF16"}
    header, data = {"__metadata__": metadata}, bytearray()
    for key, t in tensors.items():
        raw = t.contiguous().view(-1).view(torch.uint8).numpy().tobytes()
        header[key] = {"dtype": names[t.dtype], "shape": list(t.shape),
                       "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + bytes(data)


# ---- hand-written pickles ----

LEGACY_HEADER = (pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
                 + pickle.dumps(1001, protocol=2)
                 + pickle.dumps({"protocol_version": 1001, "little_endian": True,
                                 "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2))


def s(text):
    b = text.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def i(v):
    n = (v.bit_length() + 8) // 8
    return b"\x8a" + bytes([n]) + v.to_bytes(n, "little", signed=True)


def glob(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def ints(values):
    return b"(" + b"".join(i(v) for v in values) + b"t"


def tensor(key, numel, shape, stride, offset=0, storage="FloatStorage"):
    pid = b"(" + s("storage") + glob("torch", storage) + s(key) + s("cpu") + i(numel) + b"tQ"
    return (glob("torch._utils", "_rebuild_tensor_v2") + b"(" + pid + i(offset) + ints(shape)
            + ints(stride) + b"\x89" + glob("collections", "OrderedDict") + b")R" + b"tR")


def legacy(obj_ops, keys, storages):
    """Legacy file: header, object pickle, key list, then (count, float32 data) per storage."""
    out = LEGACY_HEADER + b"\x80\x02" + obj_ops + b"." + pickle.dumps(keys, protocol=2)
    for values in storages:
        out += struct.pack("<Q", len(values)) + struct.pack(f"<{len(values)}f", *values)
    return out


def view_file():
    """Old torch's storage views: pid ('storage', type, root_key, location, size, view)."""
    pid = (b"(" + s("storage") + glob("torch", "FloatStorage") + s("0") + s("cpu") + i(8)
           + b"(" + s("v") + i(2) + i(4) + b"ttQ")  # view = root elements [2, 6)
    obj = (b"}(" + s("v") + glob("torch._utils", "_rebuild_tensor") + b"(" + pid + i(1)
           + ints((2,)) + ints((2,)) + b"tRu")  # view elements 1 and 3
    write("legacy_view.pth", legacy(obj, ["0"], [[0, 1, 2, 3, 4, 5, 6, 7]]))
    record("legacy_view.pth", {"v": torch.tensor([3.0, 5.0])})


def one_tensor_dict(key="w", numel=4, shape=(4,), stride=(1,)):
    return b"}(" + s(key) + tensor("0", numel, shape, stride) + b"u"


def hostile_files():
    write("bad_os_system.pth", legacy(glob("os", "system") + s("ls") + b"\x85R", [], []))
    write("bad_eval.pth", legacy(glob("builtins", "eval") + s("1+1") + b"\x85R", [], []))
    write("bad_getattr.pth", legacy(s("__builtin__") + s("getattr") + b"\x93" + b")R", [], []))
    write("bad_huge_string.pth", LEGACY_HEADER + b"\x80\x02X" + struct.pack("<I", 1 << 31)
          + b"abc.")
    write("bad_cycle.pth", legacy(b"]q\x00h\x00a", [], []))
    # list L; dict D = {'k': L}; L.append(D): a cycle through two containers
    write("bad_cycle2.pth", legacy(b"]q\x00}q\x01" + s("k") + b"h\x00sa", [], []))
    write("bad_storage_count.pth", legacy(one_tensor_dict(numel=1 << 40), ["0"], [])
          + struct.pack("<Q", 1 << 40) + b"\0" * 16)
    write("bad_unlisted_storage.pth", legacy(one_tensor_dict(), ["1"], [[1, 2, 3, 4]]))
    write("bad_unused_storage.pth", legacy(one_tensor_dict(), ["0", "1"], [[1, 2, 3, 4]] * 2))
    both = (b"}(" + s("a") + tensor("0", 2, (2,), (1,)) + s("b") + tensor("1", 2, (2,), (1,))
            + b"u")
    write("bad_missing_data.pth", legacy(both, ["0", "1"], [[1, 2]]))
    write("bad_view_oob.pth", legacy(one_tensor_dict(shape=(10,)), ["0"], [[1, 2, 3, 4]]))
    write("bad_stride_oob.pth", legacy(one_tensor_dict(shape=(2, 2), stride=(3, 1)), ["0"],
                                       [[1, 2, 3, 4]]))
    write("bad_toplevel_list.pth", legacy(b"](" + tensor("0", 4, (4,), (1,)) + b"e", ["0"],
                                          [[1, 2, 3, 4]]))
    write("bad_int_key.pth", legacy(b"}(" + i(7) + tensor("0", 4, (4,), (1,)) + b"u", ["0"],
                                    [[1, 2, 3, 4]]))
    dup = b"}(" + s("a") + tensor("0", 4, (2,), (1,)) + s("a") + tensor("0", 4, (2,), (1,)) + b"u"
    write("bad_dup_key.pth", legacy(dup, ["0"], [[1, 2, 3, 4]]))
    write("bad_trailing.pth", legacy(one_tensor_dict(), ["0"], [[1, 2, 3, 4]]) + b"junk")
    # a 1 GiB output from one stored element, through stride 0
    write("bad_expand_bomb.pth", legacy(one_tensor_dict(numel=1, shape=(1 << 28,), stride=(0,)),
                                        ["0"], [[1]]))
    save("bad_nontensor.pth", {"w": torch.ones(2), "lr": 0.1}, legacy=True)
    save("bad_long_tensor.pth", {"idx": torch.arange(3)}, legacy=True)
    save("bad_nested.pt", {"model": {"w": torch.ones(2)}}, legacy=False)


def hostile_zips():
    good = open(os.path.join(OUT, "zip_param.pt"), "rb").read()
    src = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info.filename))
    write("bad_zip_deflate.pt", out.getvalue())

    # the central directory entry of data/0 points past the end of the file
    data = bytearray(good)
    entry = next(n for n in src.namelist() if n.endswith("/data/0"))
    name = entry.encode()
    at = data.rfind(b"PK\x01\x02", 0, data.rfind(name))
    assert data[at + 46:at + 46 + len(name)] == name
    struct.pack_into("<I", data, at + 42, len(data) + 100)
    write("bad_zip_offset.pt", bytes(data))

    # one flipped byte of tensor data
    data = bytearray(good)
    info = src.getinfo(entry)
    local_extra = struct.unpack_from("<H", data, info.header_offset + 28)[0]
    data[info.header_offset + 30 + len(name) + local_extra] ^= 0x40
    write("bad_zip_crc.pt", bytes(data))

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", b"\x80\x02" + glob("os", "system") + s("ls") + b"\x85R.")
    write("bad_zip_os_system.pt", out.getvalue())

    # newer torch adds a byteorder record
    for name, order in (("zip_byteorder.pt", b"little"), ("bad_zip_bigendian.pt", b"big")):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
            for info in src.infolist():
                z.writestr(info.filename, src.read(info.filename))
            z.writestr("archive/byteorder", order)
        write(name, out.getvalue())


# ---- the real weights, read by torch ----

def real_files():
    checks = {
        "squeezenet1_1/features.pth": ["0.weight", "12.expand3x3.bias"],
        "lpips/v0.1/alex.pth": ["lin0.model.1.weight", "lin4.model.1.weight"],
        "lpips/v0.0/vgg.pth": ["lin0.model.1.weight"],
        "dists/weights.pt": ["alpha", "beta"],
    }
    for rel, keys in checks.items():
        path = os.path.join(WEIGHTS, rel)
        if not os.path.exists(path):
            print(f"skipping {path}: not found", file=sys.stderr)
            continue
        d = torch.load(path, map_location="cpu")
        total = sum(t.numel() for t in d.values())
        expected.append(f"real {rel} {len(d)} {total}")
        for key in keys:
            t = d[key].to(torch.float32).flatten()
            shape = " ".join(str(x) for x in d[key].shape)
            expected.append(f"rshape {rel} {key} {d[key].dim()} {shape}")
            for idx in (0, 1, t.numel() // 2, t.numel() - 1):
                expected.append(f"rvalue {rel} {key} {idx} {t[idx].item()!r}")
            expected.append(f"rsum {rel} {key} {t.double().sum().item()!r}")


def main():
    os.makedirs(OUT, exist_ok=True)
    good_files()
    view_file()
    hostile_files()
    hostile_zips()
    real_files()
    with open(os.path.join(OUT, "expected.txt"), "w") as f:
        f.write("# written by tools/scripts/make_checkpoint_fixtures.py; values are float32\n")
        f.write("\n".join(expected) + "\n")
    print("\n".join(line[:100] for line in expected))


if __name__ == "__main__":
    main()
