#!/usr/bin/env python3
"""Write malformed ONNX files, one per class of bad input the importer must reject.

Each file is built directly from protobuf fields (onnx.helper / TensorProto), so
nothing here is run through onnx.checker except the one valid model
(ext_ok.onnx + ext_ok.bin), which is the positive control for external data.

  truncated.onnx                 a valid model cut in half
  random.onnx                    4 KiB of seeded random bytes
  empty.onnx                     0 bytes
  no_graph.onnx                  ModelProto with an opset but no graph
  unknown_ops.onnx               nodes FooBar (foo_node) and Baz (baz_node) plus a valid Relu
  new_opset.onnx                 default-domain opset 99
  inconsistent_shapes.onnx       Add (bad_add) of [2,3] and [4,5]
  declared_output_mismatch.onnx  Relu of [2,3], graph output declared [5,7]
  dangling.onnx                  node uses_ghost reads 'ghost', which nothing defines
  cycle.onnx                     nodes cyc_a and cyc_b feed each other
  negative_dim.onnx              initializer w with dims [2,-3]
  overflow_dim.onnx              initializer w with dims [2**40, 2**40], no data
  raw_size_mismatch.onnx         initializer w float [2,3] with 10 bytes of raw_data
  ext_missing.onnx               w stored externally in missing.bin (not created)
  ext_escape.onnx                w stored externally at ../outside.bin (outside the model dir)
  ext_ok.onnx + ext_ok.bin       valid external data (offset/length set) used by a MatMul

Usage: gen_bad_models.py --out DIR
"""

import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8
F = TensorProto.FLOAT


def make_model(nodes, inputs, outputs, initializers=(), opset=OPSET, name="bad"):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                             ir_version=IR_VERSION, producer_name="ds-gen_bad_models")


def vi(name, shape, elem=F):
    return helper.make_tensor_value_info(name, elem, shape)


def save(out, name, model_or_bytes):
    path = os.path.join(out, name)
    data = model_or_bytes
    if not isinstance(data, (bytes, bytearray)):
        data = data.SerializeToString()
    with open(path, "wb") as f:
        f.write(data)
    return path


def parses(data):
    try:
        onnx.ModelProto().ParseFromString(data)
        return True
    except Exception:
        return False


def valid_matmul_model():
    """A valid model whose serialized bytes are mostly one raw_data blob."""
    rng = np.random.default_rng(7)
    w = numpy_helper.from_array(rng.standard_normal([64, 64]).astype(np.float32), "w")
    node = helper.make_node("MatMul", ["X", "w"], ["Y"], name="mm")
    model = make_model([node], [vi("X", [4, 64])], [vi("Y", [4, 64])], [w], name="valid")
    onnx.checker.check_model(model)
    return model


def tensor_w(dims, raw=b"", elem=F):
    t = TensorProto()
    t.name = "w"
    t.data_type = elem
    t.dims.extend(dims)
    if raw:
        t.raw_data = raw
    return t


def external_w(location, dims, offset=None, length=None):
    t = tensor_w(dims)
    t.data_location = TensorProto.EXTERNAL
    entries = [("location", location)]
    if offset is not None:
        entries.append(("offset", str(offset)))
    if length is not None:
        entries.append(("length", str(length)))
    for k, v in entries:
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


def matmul_with(w, k=4, n=3):
    node = helper.make_node("MatMul", ["X", "w"], ["Y"], name="mm")
    return make_model([node], [vi("X", [2, k])], [vi("Y", [2, n])], [w])


def add_with(w):
    node = helper.make_node("Add", ["X", "w"], ["Y"], name="add_w")
    return make_model([node], [vi("X", [2, 3])], [vi("Y", [2, 3])], [w])


def generate(out):
    os.makedirs(out, exist_ok=True)
    written = []

    # A valid model cut in half: the cut lands inside the weight's raw_data.
    data = valid_matmul_model().SerializeToString()
    truncated = data[: len(data) // 2]
    assert not parses(truncated), "truncated model unexpectedly parses"
    written.append(save(out, "truncated.onnx", truncated))

    # 4 KiB of random bytes (fixed seed); checked to be unparseable.
    noise = np.random.default_rng(1234).integers(0, 256, size=4096, dtype=np.uint8).tobytes()
    assert not parses(noise), "random bytes unexpectedly parse"
    written.append(save(out, "random.onnx", noise))

    # Zero bytes (protobuf would happily parse this as an empty ModelProto).
    written.append(save(out, "empty.onnx", b""))

    # Opset but no graph.
    m = onnx.ModelProto()
    m.ir_version = IR_VERSION
    m.producer_name = "ds-gen_bad_models"
    m.opset_import.append(helper.make_opsetid("", OPSET))
    written.append(save(out, "no_graph.onnx", m))

    # Two unknown ops and one valid Relu.
    nodes = [
        helper.make_node("FooBar", ["X"], ["a"], name="foo_node"),
        helper.make_node("Baz", ["a"], ["b"], name="baz_node"),
        helper.make_node("Relu", ["X"], ["c"], name="relu_node"),
    ]
    m = make_model(nodes, [vi("X", [2, 3])], [vi("b", [2, 3]), vi("c", [2, 3])])
    m.graph.value_info.append(vi("a", [2, 3]))
    written.append(save(out, "unknown_ops.onnx", m))

    # Default domain ("", i.e. ai.onnx) at an opset from the future.
    relu = helper.make_node("Relu", ["X"], ["Y"], name="relu_node")
    m = make_model([relu], [vi("X", [2, 3])], [vi("Y", [2, 3])], opset=99)
    written.append(save(out, "new_opset.onnx", m))

    # Shapes that do not broadcast; the output dims are symbolic, so only the
    # node itself is wrong.
    add = helper.make_node("Add", ["A", "B"], ["Y"], name="bad_add")
    m = make_model([add], [vi("A", [2, 3]), vi("B", [4, 5])], [vi("Y", ["d0", "d1"])])
    written.append(save(out, "inconsistent_shapes.onnx", m))

    # Declared graph output shape contradicts the inferred one.
    relu = helper.make_node("Relu", ["X"], ["Y"], name="relu_node")
    m = make_model([relu], [vi("X", [2, 3])], [vi("Y", [5, 7])])
    written.append(save(out, "declared_output_mismatch.onnx", m))

    # Input that no node, graph input or initializer defines.
    add = helper.make_node("Add", ["X", "ghost"], ["Y"], name="uses_ghost")
    m = make_model([add], [vi("X", [2, 3])], [vi("Y", [2, 3])])
    written.append(save(out, "dangling.onnx", m))

    # Two nodes that feed each other (every value is defined, but by a cycle).
    nodes = [
        helper.make_node("Add", ["X", "b"], ["a"], name="cyc_a"),
        helper.make_node("Relu", ["a"], ["b"], name="cyc_b"),
    ]
    m = make_model(nodes, [vi("X", [2, 3])], [vi("a", [2, 3])])
    written.append(save(out, "cycle.onnx", m))

    # Negative dimension; raw_data has the 24 bytes [2,3] would need.
    w = tensor_w([2, -3], raw=np.zeros(6, np.float32).tobytes())
    written.append(save(out, "negative_dim.onnx", add_with(w)))

    # Element count 2**80 overflows int64; no data at all.
    w = tensor_w([2 ** 40, 2 ** 40])
    written.append(save(out, "overflow_dim.onnx", add_with(w)))

    # float [2,3] needs 24 bytes, raw_data has 10.
    w = tensor_w([2, 3], raw=bytes(range(10)))
    written.append(save(out, "raw_size_mismatch.onnx", add_with(w)))

    # External data in a file that does not exist.
    w = external_w("missing.bin", [4, 3], offset=0, length=48)
    written.append(save(out, "ext_missing.onnx", matmul_with(w)))

    # External data path that leaves the model directory (file not created).
    w = external_w("../outside.bin", [4, 3], offset=0, length=48)
    written.append(save(out, "ext_escape.onnx", matmul_with(w)))

    # Valid external data: 64 bytes of padding, then the [4,3] float weight.
    weight = np.arange(12, dtype=np.float32).reshape(4, 3) / 10.0
    blob = weight.astype("<f4").tobytes()
    offset = 64
    with open(os.path.join(out, "ext_ok.bin"), "wb") as f:
        f.write(b"\xee" * offset + blob + b"\xee" * 16)
    w = external_w("ext_ok.bin", [4, 3], offset=offset, length=len(blob))
    path = save(out, "ext_ok.onnx", matmul_with(w))
    onnx.checker.check_model(path)
    loaded = onnx.load(path)   # resolves external data relative to the model
    got = numpy_helper.to_array(loaded.graph.initializer[0])
    assert np.array_equal(got, weight), "ext_ok.bin round trip failed"
    written += [path, os.path.join(out, "ext_ok.bin")]
    return written


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output directory (created if missing)")
    args = ap.parse_args(argv)
    for path in generate(args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
