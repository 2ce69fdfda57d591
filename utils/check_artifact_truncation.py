#!/usr/bin/env python3
"""Cuts a compiled artifact at every section and record boundary and checks that the
runtime refuses each piece with an "invalid artifact" diagnostic (exit status 1),
never a crash.

Each cut is tried twice: as is (the header's file size no longer matches) and with
the header's size and checksum patched to fit the shorter file, so that the
metadata reader itself meets the truncation. The boundaries come from walking the
format of include/ds-runtime/ds_artifact_format.h: the header fields, every value
record, the input/output lists, every step, the version-2 target and images, the
end of the metadata, and the start and end of every constant.

  usage: check_artifact_truncation.py --ds-run build/bin/ds-run model.dsx
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile

PRIME = 1099511628211
MASK = (1 << 64) - 1


def checksum(data):
    """dsx_checksum: FNV-1a's step over little-endian 64-bit words, then the length."""
    h = 14695981039346656037
    padded = data + b"\0" * (-len(data) % 8)
    for (word,) in struct.iter_unpack("<Q", padded):
        h = ((h ^ word) * PRIME) & MASK
    return ((h ^ len(data)) * PRIME) & MASK


class Reader:
    """Walks the metadata, remembering where each record ends."""

    def __init__(self, data, pos):
        self.data, self.pos, self.cuts = data, pos, set()

    def take(self, fmt):
        (value,) = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def skip(self, n):
        self.pos += n

    def str(self):
        self.skip(self.take("I"))

    def cut(self):
        self.cuts.add(self.pos)


def boundaries(data):
    """Offsets at which a section, field or record of the artifact ends."""
    version = struct.unpack_from("<I", data, 8)[0]
    meta_off, meta_size, const_off, const_size = struct.unpack_from("<4Q", data, 32)
    r = Reader(data, meta_off)
    r.cuts |= {0, 4, 8, 12, 16, 24, 32, 40, 48, 56, 64, meta_off + meta_size,
               const_off, const_off + const_size, len(data) - 1}
    for _ in range(r.take("I")):                        # values
        r.skip(4)
        r.skip(8 * r.take("I"))
        r.skip(16)
        r.str()
        r.cut()
    r.take("Q")                                         # arena bytes
    r.cut()
    r.skip(4 * r.take("I"))                             # inputs
    r.cut()
    n_out = r.take("I")                                 # outputs, then their names
    r.skip(4 * n_out)
    r.cut()
    for _ in range(n_out):
        r.str()
        r.cut()
    for _ in range(r.take("I")):                        # steps
        r.str()
        r.skip(4 * r.take("I"))
        r.skip(4 * r.take("I"))
        for _ in range(r.take("I")):
            r.str()
            tag = r.take("B")
            if tag in (0, 1):
                r.skip(8)
            elif tag in (2, 3):
                r.skip(8 * r.take("I"))
            elif tag == 4:
                r.str()
            elif tag == 5:
                r.skip(1)
                r.str()
        r.cut()
    if version >= 2:                                    # target, images
        r.skip(4)
        r.cut()
        for _ in range(r.take("I")):
            r.str()
            offset, size = r.take("Q"), r.take("Q")
            r.cut()
            r.cuts |= {const_off + offset, const_off + offset + size}
    return r.cuts | constant_boundaries(data, meta_off, const_off)


def constant_boundaries(data, meta_off, const_off):
    """Start and end of every constant's bytes."""
    r = Reader(data, meta_off)
    cuts = set()
    for _ in range(r.take("I")):
        r.skip(1)
        storage = r.take("B")
        r.skip(2)
        r.skip(8 * r.take("I"))
        offset, size = r.take("Q"), r.take("Q")
        r.str()
        if storage == 1:
            cuts |= {const_off + offset, const_off + offset + size}
    return cuts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ds-run", required=True)
    ap.add_argument("artifact")
    args = ap.parse_args(argv)
    data = open(args.artifact, "rb").read()
    cuts = sorted(c for c in boundaries(data) if 0 <= c < len(data))
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "cut.dsx")
        for cut in cuts:
            piece = data[:cut]
            variants = [("as cut", piece)]
            if cut >= 64:
                patched = bytearray(piece)
                struct.pack_into("<QQ", patched, 16, cut, checksum(bytes(piece[64:])))
                variants.append(("size and checksum patched", bytes(patched)))
            for how, blob in variants:
                with open(path, "wb") as f:
                    f.write(blob)
                run = subprocess.run([args.ds_run, path, "--runs", "1", "--warmup", "0", "--quiet"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     errors="replace", timeout=60)
                ok = run.returncode == 1 and "invalid artifact" in run.stderr
                if not ok:
                    failures += 1
                    print(f"FAIL cut at {cut} ({how}): exit {run.returncode}: {run.stderr.strip()}")
    print(f"{len(cuts)} cuts x 2: {failures} not refused as invalid artifacts")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
