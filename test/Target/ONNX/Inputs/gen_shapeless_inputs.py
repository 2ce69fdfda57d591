"""Models whose graph inputs are declared without a shape (older ONNX test data
and some exporters write them so): Clip's bounds and Range's arguments
(scalars), a Slice's starts (a vector, whose length is unknown) and an Add
operand (no rank follows from it)."""
import os
import sys

from onnx import TensorProto, helper, save

out = sys.argv[1]
F, I = TensorProto.FLOAT, TensorProto.INT64


def model(name, nodes, inputs, outputs):
    g = helper.make_graph(nodes, name, inputs, outputs)
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), os.path.join(out, name + ".onnx"))


model("clip", [helper.make_node("Clip", ["x", "min", "max"], ["y"])],
      [helper.make_tensor_value_info("x", F, [3, 4]), helper.make_tensor_value_info("min", F, None),
       helper.make_tensor_value_info("max", F, None)],
      [helper.make_tensor_value_info("y", F, [3, 4])])
model("slice", [helper.make_node("Slice", ["x", "starts", "ends"], ["y"])],
      [helper.make_tensor_value_info("x", F, [6]), helper.make_tensor_value_info("starts", I, None),
       helper.make_tensor_value_info("ends", I, [1])],
      [helper.make_tensor_value_info("y", F, None)])
model("range", [helper.make_node("Range", ["start", "limit", "delta"], ["y"])],
      [helper.make_tensor_value_info(n, I, None) for n in ("start", "limit", "delta")],
      [helper.make_tensor_value_info("y", I, None)])
model("add", [helper.make_node("Add", ["x", "b"], ["y"])],
      [helper.make_tensor_value_info("x", F, [3]), helper.make_tensor_value_info("b", F, None)],
      [helper.make_tensor_value_info("y", F, [3])])
