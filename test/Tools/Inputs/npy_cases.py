"""Writes .npy files, good and hostile, and runs `ds-run MODEL --input x=FILE`
on each (MODEL takes x: f32[2x3] and returns y = 2 * x to OUT/y.npy), printing
one line per case: its name, ds-run's exit status and first stderr line, and for
good files whether y came back right.

usage: npy_cases.py DIR DS_RUN MODEL
"""
import os
import struct
import subprocess
import sys

import numpy as np

X = np.arange(6, dtype=np.float32).reshape(2, 3)


def npy(header, data=b"", version=(1, 0), magic=b"\x93NUMPY", length=None):
    """A .npy file with this header text; `length` overrides the stored length."""
    body = header.encode("latin1")
    body += b" " * ((64 - (10 + len(body) + 1) % 64) % 64) + b"\n"
    n = len(body) if length is None else length
    size = struct.pack("<H", n) if version[0] == 1 else struct.pack("<I", n)
    return magic + bytes(version) + size + body + data


def header(descr="'<f4'", order="False", shape="(2, 3)"):
    return "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (descr, order, shape)


DATA = X.tobytes()
HOSTILE = {
    "bad-magic": npy(header(), DATA, magic=b"\x93NUMPZ"),
    "version-9": npy(header(), DATA, version=(9, 0)),
    "header-length-huge": npy(header(), DATA, version=(2, 0), length=0xFFFFFFF0),
    "header-past-end": npy(header(), b"", length=4000),
    "dim-float": npy(header(shape="(4.5, 64)"), DATA),
    "dim-negative": npy(header(shape="(-1, 3)"), DATA),
    "dim-hex": npy(header(shape="(0x2, 3)"), DATA),
    "dim-overflow": npy(header(shape="(99999999999999999999, 1)"), DATA),
    "shape-product-wraps": npy(header(shape="(4294967296, 4294967296)"), DATA),
    "shape-huge": npy(header(shape="(1000000000000,)"), DATA),
    "shape-not-tuple": npy(header(shape="6"), DATA),
    "shape-1d-no-comma": npy(header(shape="(6)"), DATA),
    "shape-list": npy(header(shape="[2, 3]"), DATA),
    "missing-key": npy("{'descr': '<f4', 'shape': (2, 3), }", DATA),
    "extra-key": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1, }", DATA),
    "repeated-key": npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", DATA),
    "order-not-bool": npy(header(order="'yes'"), DATA),
    "descr-complex": npy(header(descr="'<c8'"), DATA),
    "descr-structured": npy(header(descr="[('a', '<f4')]"), DATA),
    "descr-no-byte-order": npy(header(descr="'|f4'"), DATA),
    "text-after-dict": npy(header() + " import os", DATA),
    "truncated-data": npy(header(), DATA[:-1]),
    "trailing-data": npy(header(), DATA + b"\0"),
    "nul-in-header": npy(header(descr="'<f4\0'"), DATA),
    "empty-file": b"",
}


def good():
    out = {}
    for name, kwargs in [("v1", {}), ("v2", {"version": (2, 0)}), ("v3", {"version": (3, 0)})]:
        path = os.path.join(sys.argv[1], name + ".npy")
        with open(path, "wb") as f:
            np.lib.format.write_array(f, X, **kwargs)
        out[name] = path
    out["big-endian"] = X.astype(">f4")
    out["fortran-order"] = np.asfortranarray(X)
    return out


def run(name, path):
    outdir = os.path.join(sys.argv[1], "out-" + name)
    os.makedirs(outdir, exist_ok=True)
    proc = subprocess.run([sys.argv[2], sys.argv[3], "--input", "x=" + path, "--quiet",
                           "--output-dir", outdir], capture_output=True, text=True)
    line = (proc.stderr.strip().splitlines() or [""])[0].replace(sys.argv[1] + "/", "")
    if proc.returncode == 0:
        y = np.load(os.path.join(outdir, "y.npy"))
        line = "y %s" % ("right" if np.array_equal(y, 2 * X) else "WRONG: %s" % y)
    print("%s: exit %d: %s" % (name, proc.returncode, line))


def main():
    for name, content in HOSTILE.items():
        path = os.path.join(sys.argv[1], name + ".npy")
        with open(path, "wb") as f:
            f.write(content)
        run(name, path)
    for name, value in good().items():
        path = value if isinstance(value, str) else os.path.join(sys.argv[1], name + ".npy")
        if not isinstance(value, str):
            np.save(path, value)
        run(name, path)


if __name__ == "__main__":
    main()
