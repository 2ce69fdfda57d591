"""A cuda artifact through the Python API: runs on a GPU, skips visibly elsewhere."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import ds


def _add_model(tmp_path, rows, cols):
    """sum = a + b with a [rows, cols] and b [cols], as an ONNX file."""
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["sum"])], "add",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [rows, cols]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, [cols])],
        [helper.make_tensor_value_info("sum", TensorProto.FLOAT, [rows, cols])])
    model = tmp_path / "add.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), model)
    return model


def test_cuda_add_or_no_device(tmp_path):
    model = _add_model(tmp_path, 4, 256)
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


def test_run_device_names_inputs_and_outputs(tmp_path):
    session = ds.load(ds.compile(_add_model(tmp_path, 4, 8), tmp_path / "add.dsx"))
    a = np.zeros((4, 8), np.float32)
    with pytest.raises(ds.InputError, match="no input named 'c'"):
        session.run_device({"a": a, "b": a[0], "c": a})
    with pytest.raises(ds.InputError, match="input 'b' is missing"):
        session.run_device({"a": a})
    with pytest.raises(ds.InputError, match="exactly the model's outputs"):
        session.run_device({"a": a, "b": a[0]}, outputs={"out": a})
    # Host arrays are not device arrays: refused before anything runs.
    with pytest.raises(TypeError):
        session.run_device({"a": a, "b": a[0]}, outputs={"sum": a})


def test_run_device_with_torch_cuda_tensors(tmp_path):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device for torch")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])], "mm",
        [helper.make_tensor_value_info("a", TensorProto.BFLOAT16, [64, 32]),
         helper.make_tensor_value_info("b", TensorProto.BFLOAT16, [32, 48])],
        [helper.make_tensor_value_info("c", TensorProto.BFLOAT16, [64, 48])])
    model = tmp_path / "mm.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), model)
    try:
        session = ds.load(ds.compile(model, tmp_path / "mm.dsx", target="cuda"))
    except ds.Error as e:
        pytest.skip(f"no cuda artifact here: {e}")
    a = torch.randn(64, 32, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(32, 48, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):  # eager, then graph replays, on torch's stream
        c = session.run_device({"a": a, "b": b})["c"]
        torch.testing.assert_close(c, a @ b, rtol=2e-2, atol=2e-2)
