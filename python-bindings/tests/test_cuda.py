"""A cuda artifact through the Python API: runs on a GPU, skips visibly elsewhere."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import ds


def test_cuda_add_or_no_device(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["sum"])], "add",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [4, 256]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, [256])],
        [helper.make_tensor_value_info("sum", TensorProto.FLOAT, [4, 256])])
    model = tmp_path / "add.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), model)
    try:
        artifact = ds.compile(model, tmp_path / "add.dsx", target="cuda")
    except ds.Error as e:
        pytest.skip(f"ds-compile --target=cuda is not available: {e}")
    try:
        session = ds.load(artifact)
    except ds.NoDeviceError as e:
        assert "no CUDA device" in str(e)
        pytest.skip(str(e))
    assert session.target == "cuda"
    a = np.random.default_rng(0).standard_normal((4, 256)).astype(np.float32)
    b = np.arange(256, dtype=np.float32)
    for _ in range(3):  # eager, then graph replays
        np.testing.assert_allclose(session.run({"a": a, "b": b})["sum"], a + b, rtol=1e-6)
