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
  output_negative_dim.onnx       Relu whose declared output Y has a dim of -3
  output_dim_limit.onnx          Relu whose declared output Y has 2^42 elements
  fill_2e39.onnx, fill_2e28.onnx ConstantOfShape of 2^39 / 2^28 floats (valid)
  ext_fifo.onnx                  zero-element w whose external data fifo.bin is a FIFO

The committed corpus is test/corpus/onnx (with expected.txt); regenerate it with
  gen_bad_models.py --out test/corpus/onnx

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


class Corpus:
    """Collects the files with the ds-opt arguments and the diagnostic each must give."""

    def __init__(self, out):
        self.out = out
        self.entries = []   # (file, args, expected pieces or None for success)
        os.makedirs(out, exist_ok=True)

    def add(self, name, model_or_bytes, expect, args=()):
        save(self.out, name, model_or_bytes)
        self.entries.append((name, list(args), expect))

    def write_manifest(self):
        lines = ["# file<TAB>ds-opt arguments<TAB>expected diagnostic ('&&' joins pieces that",
                 "# must all appear; OK = the file must import). Written by utils/gen_bad_models.py."]
        for name, args, expect in self.entries:
            lines.append("\t".join([name, " ".join(args) or "-",
                                    "OK" if expect is None else " && ".join(expect)]))
        with open(os.path.join(self.out, "expected.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")


def field(number, payload):
    """A length-delimited protobuf field (wire type 2)."""
    def varint(v):
        out = bytearray()
        while True:
            out.append((v & 0x7F) | (0x80 if v > 0x7F else 0))
            v >>= 7
            if not v:
                return bytes(out)
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def single(op, inputs, outputs, name=None, opset=OPSET, **attrs):
    """A one-node model; inputs/outputs are (name, shape[, elem]) tuples."""
    node = helper.make_node(op, [i[0] for i in inputs], [o[0] for o in outputs],
                            name=name or op.lower() + "_node", **attrs)
    return make_model([node], [vi(*i) for i in inputs], [vi(*o) for o in outputs], opset=opset)


def with_attr(model, attr):
    model.graph.node[0].attribute.append(attr)
    return model


def generate_foundation(c):
    """The classes of the foundation issue."""
    data = valid_matmul_model().SerializeToString()
    truncated = data[: len(data) // 2]
    assert not parses(truncated), "truncated model unexpectedly parses"
    c.add("truncated.onnx", truncated, ["failed to parse ONNX model"])

    noise = np.random.default_rng(1234).integers(0, 256, size=4096, dtype=np.uint8).tobytes()
    assert not parses(noise), "random bytes unexpectedly parse"
    c.add("random.onnx", noise, ["failed to parse ONNX model"])

    # Zero bytes (protobuf would happily parse this as an empty ModelProto).
    c.add("empty.onnx", b"", ["model file is empty"])

    m = onnx.ModelProto()
    m.ir_version = IR_VERSION
    m.producer_name = "ds-gen_bad_models"
    m.opset_import.append(helper.make_opsetid("", OPSET))
    c.add("no_graph.onnx", m, ["model has no graph"])

    nodes = [
        helper.make_node("FooBar", ["X"], ["a"], name="foo_node"),
        helper.make_node("Baz", ["a"], ["b"], name="baz_node"),
        helper.make_node("Relu", ["X"], ["c"], name="relu_node"),
    ]
    m = make_model(nodes, [vi("X", [2, 3])], [vi("b", [2, 3]), vi("c", [2, 3])])
    m.graph.value_info.append(vi("a", [2, 3]))
    c.add("unknown_ops.onnx", m, ["node 'foo_node': unsupported ONNX op 'FooBar'",
                                  "node 'baz_node': unsupported ONNX op 'Baz'",
                                  "2 unsupported ops"])

    relu = helper.make_node("Relu", ["X"], ["Y"], name="relu_node")
    m = make_model([relu], [vi("X", [2, 3])], [vi("Y", [2, 3])], opset=99)
    c.add("new_opset.onnx", m, ["model requires opset 99 of domain 'ai.onnx'"])

    # The output dims are symbolic, so only the node itself is wrong.
    add = helper.make_node("Add", ["A", "B"], ["Y"], name="bad_add")
    m = make_model([add], [vi("A", [2, 3]), vi("B", [4, 5])], [vi("Y", ["d0", "d1"])])
    c.add("inconsistent_shapes.onnx", m, ["node 'bad_add'", "not broadcast-compatible"])

    c.add("declared_output_mismatch.onnx", single("Relu", [("X", [2, 3])], [("Y", [5, 7])]),
          ["conflicts with declared type"])

    add = helper.make_node("Add", ["X", "ghost"], ["Y"], name="uses_ghost")
    m = make_model([add], [vi("X", [2, 3])], [vi("Y", [2, 3])])
    c.add("dangling.onnx", m, ["node 'uses_ghost'", "undefined value 'ghost'"])

    nodes = [
        helper.make_node("Add", ["X", "b"], ["a"], name="cyc_a"),
        helper.make_node("Relu", ["a"], ["b"], name="cyc_b"),
    ]
    m = make_model(nodes, [vi("X", [2, 3])], [vi("a", [2, 3])])
    c.add("cycle.onnx", m, ["graph has a cycle"])

    w = tensor_w([2, -3], raw=np.zeros(6, np.float32).tobytes())
    c.add("negative_dim.onnx", add_with(w), ["negative dimension -3"])

    # Element count 2**80 overflows int64; no data at all.
    c.add("overflow_dim.onnx", add_with(tensor_w([2 ** 40, 2 ** 40])), ["dims 1099511627776x1099511627776, more elements than the limit"])

    c.add("raw_size_mismatch.onnx", add_with(tensor_w([2, 3], raw=bytes(range(10)))),
          ["raw_data has 10 bytes but"])

    w = external_w("missing.bin", [4, 3], offset=0, length=48)
    c.add("ext_missing.onnx", matmul_with(w), ["cannot open external data"])

    # The file is never created: the path must be refused before it is opened.
    w = external_w("../outside.bin", [4, 3], offset=0, length=48)
    c.add("ext_escape.onnx", matmul_with(w), ["escapes the model directory"])

    # Valid external data: 64 bytes of padding, then the [4,3] float weight.
    weight = np.arange(12, dtype=np.float32).reshape(4, 3) / 10.0
    blob = weight.astype("<f4").tobytes()
    offset = 64
    with open(os.path.join(c.out, "ext_ok.bin"), "wb") as f:
        f.write(b"\xee" * offset + blob + b"\xee" * 16)
    w = external_w("ext_ok.bin", [4, 3], offset=offset, length=len(blob))
    model = matmul_with(w)
    c.add("ext_ok.onnx", model, None)
    path = os.path.join(c.out, "ext_ok.onnx")
    onnx.checker.check_model(path)
    got = numpy_helper.to_array(onnx.load(path).graph.initializer[0])
    assert np.array_equal(got, weight), "ext_ok.bin round trip failed"
    # The same model under a size limit that its external data exceeds.
    c.add("ext_over_limit.onnx", model, ["exceeds the limit of 200 bytes"],
          args=["--ds-max-model-bytes=200"])


def generate_hardening(c):
    """The classes of the hardening issue."""
    x23 = [("X", [2, 3])]
    # Attributes of the wrong type.
    c.add("attr_type_perm.onnx",
          with_attr(single("Transpose", x23, [("Y", [3, 2])]), helper.make_attribute("perm", [1.0, 0.0])),
          ["node 'transpose_node'", "attribute 'perm'", "FLOATS", "expected INTS"])
    c.add("attr_type_axis.onnx",
          with_attr(single("Softmax", x23, [("Y", [2, 3])]), helper.make_attribute("axis", "last")),
          ["node 'softmax_node'", "attribute 'axis'", "STRING", "expected INT"])
    c.add("attr_type_kernel.onnx",
          with_attr(single("MaxPool", [("X", [1, 1, 4, 4])], [("Y", [1, 1, 3, 3])]),
                    helper.make_attribute("kernel_shape", 2)),
          ["node 'maxpool_node'", "attribute 'kernel_shape'", "INT", "expected INTS"])
    # Axes out of range.
    c.add("axis_softmax.onnx", single("Softmax", x23, [("Y", [2, 3])], axis=5),
          ["node 'softmax_node'", "axis 5 is out of range for rank 2"])
    c.add("axis_concat.onnx",
          single("Concat", [("A", [2, 3]), ("B", [2, 3])], [("Y", [4, 3])], axis=-3),
          ["node 'concat_node'", "axis -3", "rank 2"])
    c.add("axis_gather.onnx",
          single("Gather", [("X", [2, 3]), ("I", [2], TensorProto.INT64)], [("Y", [2, 2])], axis=2),
          ["node 'gather_node'", "axis 2", "rank 2"])
    axes = numpy_helper.from_array(np.array([4], np.int64), "axes")
    m = single("ReduceSum", [("X", [2, 3]), ("axes", [1], TensorProto.INT64)], [("Y", [2, 3])])
    m.graph.initializer.append(axes)
    c.add("axis_reduce.onnx", m, ["node 'reducesum_node'", "axis 4", "rank 2"])
    c.add("perm_repeated.onnx", single("Transpose", x23, [("Y", [2, 2])], perm=[0, 0]),
          ["node 'transpose_node'", "permutation"])
    # Zero-sized dims: legal data (imports), but zero-sized windows and strides are not.
    node_a = helper.make_node("Relu", ["X"], ["a"], name="relu_node")
    node_b = helper.make_node("MatMul", ["a", "W"], ["Y"], name="mm_node")
    c.add("zero_dim_ok.onnx", make_model([node_a, node_b], [vi("X", [0, 3]), vi("W", [3, 4])],
                                          [vi("Y", [0, 4])]), None)
    c.add("zero_kernel.onnx",
          single("MaxPool", [("X", [1, 1, 4, 4])], [("Y", [1, 1, 4, 4])], kernel_shape=[0, 0]),
          ["node 'maxpool_node'", "kernel"])
    c.add("zero_stride.onnx",
          single("Conv", [("X", [1, 1, 4, 4]), ("W", [1, 1, 2, 2])], [("Y", [1, 1, 3, 3])],
                 strides=[0, 1]),
          ["node 'conv_node'", "stride"])
    # Shapes that do not broadcast or contract.
    c.add("matmul_mismatch.onnx",
          single("MatMul", [("A", [2, 3]), ("B", [4, 5])], [("Y", [2, 5])]),
          ["node 'matmul_node'", "3", "4"])
    c.add("where_mismatch.onnx",
          single("Where", [("C", [2, 3], TensorProto.BOOL), ("A", [3, 2]), ("B", [2, 3])],
                 [("Y", [2, 3])]),
          ["node 'where_node'", "not broadcast-compatible"])
    # Names: duplicates and empty ones.
    nodes = [helper.make_node("Relu", ["X"], ["a"], name="first"),
             helper.make_node("Neg", ["X"], ["a"], name="second")]
    c.add("duplicate_node_output.onnx",
          make_model(nodes, [vi("X", [2, 3])], [vi("a", [2, 3])]),
          ["value 'a' is defined more than once"])
    c.add("output_shadows_input.onnx", single("Relu", x23, [("X", [2, 3])]),
          ["value 'X' is defined more than once"])
    m = single("Relu", x23, [("Y", [2, 3])])
    m.graph.output.append(vi("Y", [2, 3]))
    c.add("duplicate_graph_output.onnx", m, ["graph output 'Y' is listed more than once"])
    m = single("Relu", x23, [("Y", [2, 3])])
    m.graph.input.append(vi("X", [2, 3]))
    c.add("duplicate_graph_input.onnx", m, ["graph input 'X' is listed more than once"])
    m = single("Relu", x23, [("Y", [2, 3])])
    m.graph.input.append(vi("", [2, 3]))
    c.add("empty_input_name.onnx", m, ["graph input #1 has an empty name"])
    m = single("Relu", x23, [("Y", [2, 3])])
    m.graph.output[0].name = ""
    c.add("empty_output_name.onnx", m, ["graph output #0 has an empty name"])
    w = numpy_helper.from_array(np.ones([2, 3], np.float32), "")
    m = single("Relu", x23, [("Y", [2, 3])])
    m.graph.initializer.append(w)
    c.add("empty_initializer_name.onnx", m, ["initializer #0 has an empty name"])
    # Subgraphs (control flow), which ds does not import.
    then_g = helper.make_graph([helper.make_node("Relu", ["X"], ["t"])], "then", [], [vi("t", [2, 3])])
    else_g = helper.make_graph([helper.make_node("Neg", ["X"], ["e"])], "else", [], [vi("e", [2, 3])])
    node = helper.make_node("If", ["C"], ["Y"], name="if_node", then_branch=then_g, else_branch=else_g)
    c.add("if_subgraph.onnx",
          make_model([node], [vi("C", [], TensorProto.BOOL), vi("X", [2, 3])], [vi("Y", [2, 3])]),
          ["node 'if_node'", "'If'", "subgraph"])
    body = helper.make_graph([helper.make_node("Identity", ["cond_in"], ["cond_out"]),
                              helper.make_node("Relu", ["v_in"], ["v_out"])], "body",
                             [vi("i", [], TensorProto.INT64), vi("cond_in", [], TensorProto.BOOL),
                              vi("v_in", [2, 3])],
                             [vi("cond_out", [], TensorProto.BOOL), vi("v_out", [2, 3])])
    node = helper.make_node("Loop", ["M", "", "X"], ["Y"], name="loop_node", body=body)
    c.add("loop_subgraph.onnx",
          make_model([node], [vi("M", [], TensorProto.INT64), vi("X", [2, 3])], [vi("Y", [2, 3])]),
          ["node 'loop_node'", "'Loop'", "subgraph"])
    c.add("graph_attr_on_relu.onnx",
          with_attr(single("Relu", x23, [("Y", [2, 3])]), helper.make_attribute("body", then_g)),
          ["node 'relu_node'", "attribute 'body'", "subgraph"])
    # Subgraphs nested 120 deep (encoded by hand: protobuf's Python runtime refuses the
    # depth too): the C++ parser's recursion limit must refuse the file, not the stack.
    graph = helper.make_graph([], "leaf", [], []).SerializeToString()
    for _ in range(120):
        attr = field(1, b"then_branch") + field(6, graph) + bytes([20 << 3, 5])  # type GRAPH
        node = field(1, b"C") + field(4, b"If") + field(5, attr)
        graph = field(1, node) + field(2, b"g")
    model = make_model([], [vi("C", [], TensorProto.BOOL)], [])
    model.ClearField("graph")
    c.add("deep_subgraph_nesting.onnx", model.SerializeToString() + field(7, graph),
          ["failed to parse ONNX model"])
    # String tensors.
    c.add("string_input.onnx", single("Identity", [("S", [2], TensorProto.STRING)],
                                      [("Y", [2], TensorProto.STRING)]),
          ["graph value 'S'", "unsupported element type STRING"])
    s_init = helper.make_tensor("s", TensorProto.STRING, [2], [b"a", b"b"])
    m = single("Relu", x23, [("Y", [2, 3])])
    m.graph.initializer.append(s_init)
    c.add("string_initializer.onnx", m, ["tensor 's'", "unsupported element type STRING"])
    node = helper.make_node("Constant", [], ["Y"], name="const_node",
                            value=helper.make_tensor("v", TensorProto.STRING, [1], [b"x"]))
    c.add("string_constant.onnx", make_model([node], [], [vi("Y", [1], TensorProto.STRING)]),
          ["unsupported element type STRING"])
    # Other value types and unknown element types.
    m = single("Relu", x23, [("Y", [2, 3])])
    m.graph.input[0].type.tensor_type.elem_type = 99
    c.add("unknown_elem_type.onnx", m, ["graph value 'X'", "unsupported element type data type 99"])
    m = single("Relu", x23, [("Y", [2, 3])])
    m.graph.input[0].type.tensor_type.ClearField("shape")
    c.add("unranked_input.onnx", m, ["graph input 'X' has no shape (unknown rank), and its use by 'Relu'"])
    seq = helper.make_tensor_sequence_value_info("S", F, [2])
    node = helper.make_node("SequenceLength", ["S"], ["Y"], name="len_node")
    c.add("sequence_input.onnx",
          make_model([node], [seq], [vi("Y", [], TensorProto.INT64)]),
          ["unsupported ONNX op 'SequenceLength'"])
    # Element types against the schema's type constraints (found by fuzzing the
    # importer: such nodes reached the decompositions), and a scalar attention mask.
    c.add("nllloss_int8_input.onnx",
          single("NegativeLogLikelihoodLoss", [("input", [3, 5, 2], TensorProto.INT8),
                                               ("target", [3, 2], TensorProto.INT64),
                                               ("weight", [5])], [("loss", [])]),
          ["node 'negativeloglikelihoodloss_node'",
           "input 0 ('input') has element type int8, which T does not allow (float16, float, double)"])
    c.add("attention_mixed_types.onnx",
          single("Attention", [("Q", [2, 3, 4, 8], TensorProto.FLOAT16), ("K", [2, 3, 6, 8]),
                               ("V", [2, 3, 6, 8])], [("Y", [2, 3, 4, 8], TensorProto.FLOAT16)],
                 opset=23),
          ["node 'attention_node'", "input 1 ('K') has element type float but T1 is float16 (input 0)"])
    c.add("convinteger_scalar_weight.onnx",
          single("ConvInteger", [("x", [1, 1, 3, 3], TensorProto.UINT8),
                                 ("w", [], TensorProto.UINT8)], [("y", [1, 1, 2, 2], TensorProto.INT32)]),
          ["node 'convinteger_node'", "X and W must have equal rank >= 3, got 1x1x3x3 and scalar"])
    c.add("cross_entropy_scalar_labels.onnx",
          single("SoftmaxCrossEntropyLoss", [("x", [3, 5]), ("y", [], TensorProto.INT64)],
                 [("loss", [])]),
          ["node 'softmaxcrossentropyloss_node'", "cannot unsqueeze scalar at axis 1"])
    c.add("attention_scalar_mask_ok.onnx",
          single("Attention", [("Q", [2, 3, 4, 8]), ("K", [2, 3, 6, 8]), ("V", [2, 3, 6, 8]),
                               ("attn_mask", [])], [("Y", [2, 3, 4, 8])], opset=23), None)
    # Keys of no heads with the scores asked for (found by fuzzing: the
    # scores' grouped-query expansion divided by the key's head count).
    node = helper.make_node("Attention", ["Q", "K", "V"], ["Y", "", "", "qk"],
                            name="attention_node", qk_matmul_output_mode=2)
    c.add("attention_zero_kv_heads.onnx",
          make_model([node], [vi("Q", [2, 3, 4, 8]), vi("K", [2, 0, 6, 8]), vi("V", [2, 0, 6, 8])],
                     [vi("Y", [2, 3, 4, 8]), vi("qk", [2, 3, 4, 6])], opset=23),
          ["node 'attention_node'"])
    # Limits.
    c.add("rank_limit.onnx", single("Relu", [("X", [1] * 40)], [("Y", [1] * 40)]),
          ["graph value 'X' has rank 40, more than the limit of 32 (--ds-max-rank)"])
    shape = numpy_helper.from_array(np.array([1 << 21, 1 << 21], np.int64), "shape")
    m = single("Expand", [("X", [1, 1]), ("shape", [2], TensorProto.INT64)], [("Y", [1 << 21, 1 << 21])])
    m.graph.initializer.append(shape)
    m.graph.input.pop()
    c.add("elements_limit.onnx", m,
          ["node 'expand_node'", "more elements than the limit of 1099511627776 (--ds-max-elements)"])
    nodes = [helper.make_node("Relu", ["X" if i == 0 else "h%d" % (i - 1)], ["h%d" % i],
                              name="relu_%d" % i) for i in range(50)]
    c.add("depth_limit.onnx", make_model(nodes, [vi("X", [2, 3])], [vi("h49", [2, 3])]),
          ["node 'relu_20'", "deeper than the limit of 20 dependent nodes"],
          args=["--ds-max-graph-depth=20"])
    c.add("model_bytes_limit.onnx", valid_matmul_model(),
          ["bytes, more than the limit of 1000 (--ds-max-model-bytes)"],
          args=["--ds-max-model-bytes=1000"])


def generate_outputs(c):
    """What ds-compile makes of a model: declared outputs, folds, external files."""
    # A declared output dim that is negative or over the limit fails the import.
    c.add("output_negative_dim.onnx", single("Relu", [("X", [2, 3])], [("Y", [2, -3])]),
          ["graph value 'Y' has negative dimension -3"])
    c.add("output_dim_limit.onnx", single("Relu", [("X", [2, 3])], [("Y", [1 << 21, 1 << 21])]),
          ["graph value 'Y' has dims 2097152x2097152, more elements than the limit of "
           "1099511627776 (--ds-max-elements)"])
    # ConstantOfShape of 2^39 and 2^28 floats in ~100 bytes: folding must not
    # turn them into stored constants (test/Tools/artifact-limits.test).
    for name, n in (("fill_2e39.onnx", 1 << 39), ("fill_2e28.onnx", 1 << 28)):
        shape = numpy_helper.from_array(np.array([n], np.int64), "shape")
        node = helper.make_node("ConstantOfShape", ["shape"], ["Y"], name="fill",
                                value=helper.make_tensor("value", F, [1], [1.5]))
        c.add(name, make_model([node], [], [vi("Y", [n])], [shape]), None,
              args=["--ds-compile-pipeline"])
    # A zero-element weight whose external data is a FIFO (made by
    # test/Target/ONNX/external-fifo.test; absent here).
    w = external_w("fifo.bin", [0, 3])
    node = helper.make_node("Concat", ["X", "w"], ["Y"], name="cat", axis=0)
    c.add("ext_fifo.onnx", make_model([node], [vi("X", [2, 3])], [vi("Y", [2, 3])], [w]),
          ["cannot open external data file 'fifo.bin' of tensor 'w'"])


def generate(out):
    c = Corpus(out)
    generate_foundation(c)
    generate_hardening(c)
    generate_outputs(c)
    c.write_manifest()
    return [os.path.join(out, e[0]) for e in c.entries]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output directory (created if missing)")
    args = ap.parse_args(argv)
    for path in generate(args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
