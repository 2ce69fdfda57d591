"""Elementwise chains that the runtime fuses into tiles give the same results
as onnxruntime: whole-shape, scalar and bias-vector operands, a cast and a
compare/select inside the chain, large enough to be fused."""

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import ds


def test_fused_chain_matches_onnxruntime(tmp_path):
    shape = [8, 128, 96]
    rng = np.random.default_rng(3)
    bias = numpy_helper.from_array(rng.standard_normal(96).astype(np.float32), "bias")
    half = numpy_helper.from_array(np.array(0.5, np.float32), "half")
    zero = numpy_helper.from_array(np.array(0.0, np.float32), "zero")
    nodes = [
        helper.make_node("Add", ["x", "bias"], ["a"]),
        helper.make_node("Mul", ["a", "half"], ["b"]),
        helper.make_node("Erf", ["b"], ["c"]),
        helper.make_node("Add", ["c", "residual"], ["d"]),
        helper.make_node("Sigmoid", ["d"], ["e"]),
        helper.make_node("Greater", ["e", "half"], ["mask"]),
        helper.make_node("Where", ["mask", "e", "zero"], ["f"]),
        helper.make_node("Cast", ["f"], ["g"], to=TensorProto.DOUBLE),
        helper.make_node("Cast", ["g"], ["y"], to=TensorProto.FLOAT),
    ]
    graph = helper.make_graph(
        nodes, "chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape),
         helper.make_tensor_value_info("residual", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)], [bias, half, zero])
    path = str(tmp_path / "chain.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)

    feeds = {"x": rng.standard_normal(shape).astype(np.float32),
             "residual": rng.standard_normal(shape).astype(np.float32)}
    expected = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    for threads in (1, 2):
        got = ds.load(path, num_threads=threads).run(feeds)["y"]
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
