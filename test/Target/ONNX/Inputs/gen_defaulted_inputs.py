"""Writes models whose graph inputs have defaults (initializers listed as inputs).

  add.onnx      Y = X + B, B an input with default [1, 2, 3] (IR v8): B stays an input
  reshape.onnx  Y = Reshape(X, S), S an input with default [3, 2]: S decides the
                output shape, so the compiler freezes it (with a warning)
  ir3.onnx      as add.onnx at IR v3, where every initializer had to be an input:
                B is a weight, not an overridable input
  weights.onnx  Y = X * W + B with both initializers listed as inputs, as exporters
                write weights with keep_initializers_as_inputs
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]


def model(nodes, inputs, outputs, inits, ir=8):
    graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = ir
    onnx.checker.check_model(m)
    return m


x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 3])
b = helper.make_tensor_value_info("B", TensorProto.FLOAT, [3])
y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 3])
b_init = numpy_helper.from_array(np.array([1, 2, 3], np.float32), "B")
add = [helper.make_node("Add", ["X", "B"], ["Y"], name="add")]
onnx.save(model(add, [x, b], [y], [b_init]), f"{out}/add.onnx")
onnx.save(model(add, [x, b], [y], [b_init], ir=3), f"{out}/ir3.onnx")

s = helper.make_tensor_value_info("S", TensorProto.INT64, [2])
y2 = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [3, 2])
s_init = numpy_helper.from_array(np.array([3, 2], np.int64), "S")
reshape = [helper.make_node("Reshape", ["X", "S"], ["Y"], name="reshape")]
onnx.save(model(reshape, [x, s], [y2], [s_init]), f"{out}/reshape.onnx")

w = helper.make_tensor_value_info("W", TensorProto.FLOAT, [3])
w_init = numpy_helper.from_array(np.array([2, 2, 2], np.float32), "W")
affine = [helper.make_node("Mul", ["X", "W"], ["XW"], name="mul"),
          helper.make_node("Add", ["XW", "B"], ["Y"], name="add")]
onnx.save(model(affine, [x, w, b], [y], [w_init, b_init]), f"{out}/weights.onnx")
