"""Checks the container of a cuda artifact without a GPU: format version 5,
target cuda, three images (two cubins, one PTX) stored aligned inside the
constants section. Reads only the header and the metadata's tail, which the
compiler writes as: ... steps, u32 target, u32 image count, per image
str arch, u64 offset, u64 size, then u32 dim symbol count (0: a cuda
artifact has static shapes), u32 step count and a u8 op class per step,
then u32 fusion group count (0: groups are cpu steps)."""
import struct
import sys

path = sys.argv[1]
data = open(path, "rb").read()
magic, version, header, size, _, meta_off, meta_size, const_off, const_size = struct.unpack_from(
    "<8sIIQQQQQQ", data, 0)
assert magic == b"DSXARTF\0", magic
assert version == 5, version
assert size == len(data), (size, len(data))
meta = data[meta_off:meta_off + meta_size]
groups, = struct.unpack_from("<I", meta, len(meta) - 4)
assert groups == 0, groups
meta = meta[:len(meta) - 4]
# The tail: u32 symbol count (0), u32 step count n, n op classes (all 0:
# cuda steps carry none). Find n from the end.
for n in range(1, len(meta) - 8):
    count, = struct.unpack_from("<I", meta, len(meta) - n - 4)
    symbols, = struct.unpack_from("<I", meta, len(meta) - n - 8)
    if count == n and symbols == 0 and meta[len(meta) - n:] == b"\0" * n:
        break
else:
    raise AssertionError("no op class table at the end of the metadata")
meta = meta[:len(meta) - n - 8]
# Find the image table from the end: each image is str arch + 2 x u64.
archs = [b"sm_80", b"sm_90a", b"compute_80"]
tail = b"".join(struct.pack("<I", len(a)) + a + b"\0" * 16 for a in archs)
table = len(meta) - len(tail)
target, count = struct.unpack_from("<II", meta, table - 8)
assert (target, count) == (1, 3), (target, count)
pos = table
for arch in archs:
    (n,) = struct.unpack_from("<I", meta, pos)
    name = meta[pos + 4:pos + 4 + n]
    assert name == arch, name
    offset, length = struct.unpack_from("<QQ", meta, pos + 4 + n)
    pos += 4 + n + 16
    assert offset % 64 == 0 and offset + length <= const_size, (offset, length)
    image = data[const_off + offset:const_off + offset + length]
    if arch.startswith(b"sm_"):
        assert image[:4] == b"\x7fELF", arch
    else:
        assert b".target sm_80" in image, "PTX without .target"
print("%s: cuda artifact, images %s" % (path.split("/")[-1], ", ".join(a.decode() for a in archs)))
