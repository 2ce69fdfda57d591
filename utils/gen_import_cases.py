#!/usr/bin/env python3
"""Write small ONNX models that exercise particular importer paths; the lit test
test/Target/ONNX/import-cases.test checks the ds IR of each.

  dynamic_batch.onnx   [batch, 16, 64] input; exporter-style Shape -> Gather ->
                       Concat -> Reshape for a head split, then Transpose
  softmax_v11.onnx     opset-11 Softmax on a 3-D input (flattens at the axis)
  gemm.onnx            Gemm with transB=1, alpha, beta and a bias
  conv_transpose.onnx  ConvTranspose with output_shape and SAME-style pads
  constants.onnx       Constant nodes with value_float / value_ints / tensor
  int4.onnx            int4 initializer with packed raw_data, DequantizeLinear
  named.onnx           nodes with names, to check locations
  compress.onnx        Compress with and without an axis (nonzero + gather)

Usage: gen_import_cases.py --out DIR
"""

import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT
I64 = TensorProto.INT64


def save(model, out, name):
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, name))


def model(nodes, inputs, outputs, inits=(), opset=17):
    graph = helper.make_graph(nodes, "case", inputs, outputs, initializer=list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                             ir_version=8)


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def i64(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def dynamic_batch(out):
    nodes = [
        helper.make_node("Shape", ["x"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "zero"], ["b"], axis=0, name="batch"),
        helper.make_node("Unsqueeze", ["b", "zero_axes"], ["b1"], name="unsq"),
        helper.make_node("Concat", ["b1", "tail"], ["new_shape"], axis=0, name="cat"),
        helper.make_node("Reshape", ["x", "new_shape"], ["r"], name="split_heads"),
        helper.make_node("Transpose", ["r"], ["y"], perm=[0, 2, 1, 3], name="to_heads"),
    ]
    m = model(nodes, [vi("x", F, ["batch", 16, 64])], [vi("y", F, ["batch", 4, 16, 16])],
              [i64("zero", 0), i64("zero_axes", [0]), i64("tail", [16, 4, 16])])
    save(m, out, "dynamic_batch.onnx")


def softmax_v11(out):
    m = model([helper.make_node("Softmax", ["x"], ["y"], axis=1)],
              [vi("x", F, [2, 3, 4])], [vi("y", F, [2, 3, 4])], opset=11)
    save(m, out, "softmax_v11.onnx")


def gemm(out):
    w = numpy_helper.from_array(np.ones((8, 4), np.float32), "w")
    c = numpy_helper.from_array(np.ones((8,), np.float32), "c")
    m = model([helper.make_node("Gemm", ["a", "w", "c"], ["y"], transB=1, alpha=0.5, beta=2.0)],
              [vi("a", F, [3, 4])], [vi("y", F, [3, 8])], [w, c])
    save(m, out, "gemm.onnx")


def conv_transpose(out):
    w = numpy_helper.from_array(np.ones((2, 3, 3, 3), np.float32), "w")
    m = model([helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2],
                                output_shape=[10, 8])],
              [vi("x", F, [1, 2, 5, 4])], [vi("y", F, [1, 3, 10, 8])], [w])
    save(m, out, "conv_transpose.onnx")


def constants(out):
    nodes = [
        helper.make_node("Constant", [], ["f"], value_float=2.5),
        helper.make_node("Constant", [], ["s"], value_ints=[2, 3]),
        helper.make_node("Constant", [], ["t"], value=numpy_helper.from_array(
            np.arange(6, dtype=np.float32).reshape(2, 3))),
        helper.make_node("Mul", ["t", "f"], ["m"]),
        helper.make_node("Reshape", ["m", "s"], ["y"]),
    ]
    m = model(nodes, [], [vi("y", F, [2, 3])])
    save(m, out, "constants.onnx")


def resize_constant_scales(out):
    # PyTorch's export of F.interpolate(scale_factor=2) without constant
    # folding: the scales are a Concat of two Constant nodes, and a weight
    # initializer next to it (a Mul by it stays unfolded until
    # canonicalization).
    w = numpy_helper.from_array(np.full((1, 3, 1, 1), 0.5, np.float32), "w")
    nodes = [
        helper.make_node("Constant", [], ["ones"], value=numpy_helper.from_array(
            np.ones(2, np.float32))),
        helper.make_node("Constant", [], ["factors"], value=numpy_helper.from_array(
            np.array([2.0, 2.0], np.float32))),
        helper.make_node("Concat", ["ones", "factors"], ["scales"], axis=0),
        helper.make_node("Mul", ["w", "w"], ["w2"]),
        helper.make_node("Resize", ["x", "", "scales"], ["r"], mode="nearest"),
        helper.make_node("Mul", ["r", "w2"], ["y"]),
    ]
    m = model(nodes, [vi("x", F, [1, 3, 4, 4])], [vi("y", F, [1, 3, 8, 8])], [w], opset=13)
    save(m, out, "resize_constant_scales.onnx")


def int4(out):
    # Values -8..7 packed two per byte, low nibble first.
    values = [v & 0xF for v in (-8, 7, 1, -1)]
    packed = bytes([values[0] | (values[1] << 4),
                    values[2] | (values[3] << 4)])
    q = helper.make_tensor("q", TensorProto.INT4, [4], packed, raw=True)
    scale = numpy_helper.from_array(np.array(0.5, np.float32), "scale")
    m = model([helper.make_node("DequantizeLinear", ["q", "scale"], ["y"])], [],
              [vi("y", F, [4])], [q, scale], opset=21)
    save(m, out, "int4.onnx")


def named(out):
    m = model([helper.make_node("Relu", ["x"], ["r"], name="encoder/act"),
               helper.make_node("Neg", ["r"], ["y"])],
              [vi("x", F, [4])], [vi("y", F, [4])])
    save(m, out, "named.onnx")


def compress(out):
    # Compress along axis 1 of a 3x4 input, and without an axis (flattened).
    m = model([helper.make_node("Compress", ["x", "c"], ["y"], axis=1),
               helper.make_node("Compress", ["x", "c"], ["z"])],
              [vi("x", F, [3, 4]), vi("c", TensorProto.BOOL, [4])],
              [vi("y", F, [3, None]), vi("z", F, [None])])
    save(m, out, "compress.onnx")


def reduce_axes_input(out):
    # Axes as a graph input (keepdims both ways, a boolean ReduceMax), an
    # empty one of static length (noop), and axes of unknown length.
    m = model([helper.make_node("ReduceSum", ["x", "axes"], ["kept"]),
               helper.make_node("ReduceMean", ["x", "axes"], ["dropped"], keepdims=0),
               helper.make_node("ReduceMax", ["b", "axes"], ["any"], keepdims=0),
               helper.make_node("ReduceSum", ["x", "none"], ["same"], noop_with_empty_axes=1)],
              [vi("x", F, [2, 1, 4]), vi("b", TensorProto.BOOL, [2, 1, 4]),
               vi("axes", TensorProto.INT64, [2]), vi("none", TensorProto.INT64, [0])],
              [vi("kept", F, [None] * 3), vi("dropped", F, [None]),
               vi("any", TensorProto.BOOL, [None]), vi("same", F, [2, 1, 4])], opset=20)
    save(m, out, "reduce_axes_input.onnx")
    m = model([helper.make_node("ReduceSum", ["x", "axes"], ["y"])],
              [vi("x", F, [2, 4]), vi("axes", TensorProto.INT64, [None])],
              [vi("y", F, [None, None])], opset=18)
    save(m, out, "reduce_axes_unknown_count.onnx")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for make in (dynamic_batch, softmax_v11, gemm, conv_transpose, constants, int4, named,
                 compress, resize_constant_scales, reduce_axes_input):
        make(args.out)


if __name__ == "__main__":
    main()
