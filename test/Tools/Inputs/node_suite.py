"""Writes a tiny ONNX node-suite directory (model.onnx + test_data_set_0 with
input_0.pb and output_0.pb per test) for utils/conformance.py's own tests.

usage: node_suite.py DIR
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T, helper, numpy_helper

X = np.arange(6, dtype=np.float32).reshape(2, 3)


def test(name, node, out_type, out_dims, value):
    d = os.path.join(sys.argv[1], name, "test_data_set_0")
    os.makedirs(d)
    graph = helper.make_graph([node], name, [helper.make_tensor_value_info("x", T.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", out_type, out_dims)])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
              os.path.join(d, "..", "model.onnx"))
    for file, tensor in (("input_0.pb", numpy_helper.from_array(X, "x")),
                         ("output_0.pb", numpy_helper.from_array(value, "y"))):
        with open(os.path.join(d, file), "wb") as f:
            f.write(tensor.SerializeToString())


test("test_relu", helper.make_node("Relu", ["x"], ["y"]), T.FLOAT, [2, 3], X)
test("test_shape", helper.make_node("Shape", ["x"], ["y"]), T.INT64, [2], np.array([2, 3], np.int64))
test("test_relu_wrong", helper.make_node("Relu", ["x"], ["y"]), T.FLOAT, [2, 3], X + 1)
test("test_cast_f16_wrong", helper.make_node("Cast", ["x"], ["y"], to=T.FLOAT16), T.FLOAT16, [2, 3],
     (X + 1).astype(np.float16))
