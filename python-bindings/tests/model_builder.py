"""Small ONNX models built in the tests (a module of its own: test/e2e has a
conftest.py too, so `from conftest import ...` would be ambiguous)."""

import os

import onnx
from onnx import TensorProto, helper

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# ONNX element types by the runtime's dtype names.
ONNX_TYPES = {
    "f32": TensorProto.FLOAT, "f64": TensorProto.DOUBLE, "f16": TensorProto.FLOAT16,
    "bf16": TensorProto.BFLOAT16, "i64": TensorProto.INT64, "i32": TensorProto.INT32,
    "i16": TensorProto.INT16, "i8": TensorProto.INT8, "ui64": TensorProto.UINT64,
    "ui32": TensorProto.UINT32, "ui16": TensorProto.UINT16, "ui8": TensorProto.UINT8,
    "i1": TensorProto.BOOL, "f8E4M3FN": TensorProto.FLOAT8E4M3FN,
    "f8E5M2": TensorProto.FLOAT8E5M2, "f8E4M3FNUZ": TensorProto.FLOAT8E4M3FNUZ,
    "f8E5M2FNUZ": TensorProto.FLOAT8E5M2FNUZ, "i4": TensorProto.INT4, "ui4": TensorProto.UINT4,
    "i2": TensorProto.INT2, "ui2": TensorProto.UINT2,
}


def save_model(path, nodes, inputs, outputs, initializers=(), opset=17):
    """inputs/outputs: [(name, runtime dtype name, shape)]. Returns path."""
    def infos(values):
        return [helper.make_tensor_value_info(n, ONNX_TYPES[t], s) for n, t, s in values]
    graph = helper.make_graph(nodes, "test", infos(inputs), infos(outputs), list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = {17: 8, 23: 11, 25: 12}[opset]
    onnx.save(model, path)
    return path
