"""The onnxruntime-compatible surface: the same calling code runs with
`onnxruntime` or `ds` as the module and gives matching results."""

import os
import subprocess
import sys

import ml_dtypes
import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import helper, numpy_helper

import ds
from ds import _onnx_meta
from model_builder import REPO, save_model


@pytest.fixture(scope="module")
def two_in_two_out(tmp_path_factory):
    rng = np.random.default_rng(3)
    w = numpy_helper.from_array(rng.standard_normal((8, 4)).astype(np.float32), "w")
    table = numpy_helper.from_array(rng.standard_normal((10, 4)).astype(np.float32), "table")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["xw"]),
             helper.make_node("Gather", ["table", "ids"], ["emb"]),
             helper.make_node("Add", ["xw", "emb"], ["sum"]),
             helper.make_node("Relu", ["sum"], ["relu"]),
             helper.make_node("Softmax", ["sum"], ["probs"], axis=-1)]
    path = tmp_path_factory.mktemp("ort") / "model.onnx"
    return save_model(path, nodes, [("x", "f32", [3, 8]), ("ids", "i64", [3])],
                      [("relu", "f32", [3, 4]), ("probs", "f32", [3, 4])], [w, table])


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen")
    subprocess.run([sys.executable, os.path.join(REPO, "utils", "gen_models.py"), "--out",
                    str(out), "--only", "cnn"], check=True, stdout=subprocess.DEVNULL)
    return out / "cnn.onnx"


def use(module, path):
    """Code as written for onnxruntime, with the module swapped."""
    options = module.SessionOptions()
    options.intra_op_num_threads = 1
    session = module.InferenceSession(path, sess_options=options,
                                      providers=["CPUExecutionProvider"])
    types = {"tensor(float)": np.float32, "tensor(int64)": np.int64}
    rng = np.random.default_rng(0)
    feed = {}
    for arg in session.get_inputs():
        if arg.type == "tensor(int64)":
            feed[arg.name] = rng.integers(0, 10, arg.shape).astype(np.int64)
        else:
            feed[arg.name] = rng.standard_normal(arg.shape).astype(types[arg.type])
    names = [o.name for o in session.get_outputs()]
    return {
        "inputs": [(i.name, i.type, i.shape) for i in session.get_inputs()],
        "outputs": [(o.name, o.type, o.shape) for o in session.get_outputs()],
        "str": str(session.get_inputs()[0]),
        "providers": session.get_providers(),
        "all": session.run(None, feed),
        "reversed": session.run(list(reversed(names)), feed),
        "first": session.run(names[:1], feed, None),
    }


@pytest.mark.parametrize("model", ["two_in_two_out", "cnn"])
@pytest.mark.parametrize("as_bytes", [False, True])
def test_same_code_same_results(request, model, as_bytes):
    path = request.getfixturevalue(model)
    source = path.read_bytes() if as_bytes else str(path)
    ort, got = use(onnxruntime, source), use(ds, source)
    for key in ("inputs", "outputs", "str", "providers"):
        assert got[key] == ort[key], key
    for key in ("all", "reversed", "first"):
        assert len(got[key]) == len(ort[key])
        for g, o in zip(got[key], ort[key]):
            assert g.dtype == o.dtype and g.shape == o.shape
            np.testing.assert_allclose(g, o, rtol=1e-4, atol=1e-5)


def test_modelmeta(two_in_two_out, tmp_path):
    model = onnx.load(two_in_two_out)
    model.producer_name, model.domain, model.model_version = "maker", "org.example", 7
    model.doc_string, model.graph.doc_string = "about the model", "about the graph"
    helper.set_model_props(model, {"author": "me", "license": "MIT"})
    path = str(tmp_path / "meta.onnx")
    onnx.save(model, path)
    fields = ("producer_name", "domain", "version", "description", "graph_name",
              "graph_description", "custom_metadata_map")
    for source in (path, model.SerializeToString()):
        want = onnxruntime.InferenceSession(source).get_modelmeta()
        got = ds.InferenceSession(source).get_modelmeta()
        assert {f: getattr(got, f) for f in fields} == {f: getattr(want, f) for f in fields}


def test_artifact_and_onnxruntime_options(two_in_two_out, tmp_path):
    artifact = ds.compile(two_in_two_out, tmp_path / "model.dsx")
    options = onnxruntime.SessionOptions()  # onnxruntime's own options object works too
    options.intra_op_num_threads = 2
    session = ds.InferenceSession(artifact, options)
    assert session.get_providers() == ["CPUExecutionProvider"]
    assert session.get_modelmeta().producer_name == ""
    assert [o.name for o in session.get_outputs()] == ["relu", "probs"]


def test_providers(two_in_two_out):
    with pytest.raises(ValueError, match="unknown execution provider 'TensorrtExecutionProvider'"):
        ds.InferenceSession(two_in_two_out, providers=["TensorrtExecutionProvider"])
    session = ds.InferenceSession(two_in_two_out, providers=[("CPUExecutionProvider", {})])
    assert session.get_providers() == ["CPUExecutionProvider"]
    with pytest.raises(TypeError, match="unexpected keyword arguments"):
        ds.InferenceSession(two_in_two_out, provider=["CPUExecutionProvider"])
    assert "CPUExecutionProvider" in ds.get_available_providers()


def test_cuda_provider_targets_cuda(two_in_two_out):
    """CUDAExecutionProvider compiles for the cuda target; without a GPU it falls
    back to the next listed provider, with a warning, or raises NoDeviceError."""
    try:
        session = ds.InferenceSession(two_in_two_out, providers=["CUDAExecutionProvider"])
    except ds.NoDeviceError:
        with pytest.warns(UserWarning, match="CUDAExecutionProvider is not available"):
            session = ds.InferenceSession(
                two_in_two_out, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
        assert session.get_providers() == ["CPUExecutionProvider"]
    except ds.CompileError as e:
        pytest.skip(f"no cuda target in this build: {e}")
    else:
        assert session.get_providers() == ["CUDAExecutionProvider", "CPUExecutionProvider"]


def test_cuda_compile_error_falls_back(tmp_path):
    """A model the cuda target cannot compile (TopK with k a graph input: the
    size of its results is known only at run time) falls back to the next provider
    with a warning; as the last provider, the CompileError is raised."""
    path = save_model(tmp_path / "topk.onnx", [helper.make_node("TopK", ["x", "k"], ["v", "i"])],
                      [("x", "f32", [3, 4]), ("k", "i64", [1])],
                      [("v", "f32", [3, 2]), ("i", "i64", [3, 2])])
    try:
        ds.compile(path, tmp_path / "topk.dsx", target="cuda")
        pytest.skip("this build's cuda target compiles TopK")
    except ds.CompileError as e:
        if "node 'TopK_0'" not in str(e):
            pytest.skip(f"no cuda target in this build: {e}")
    with pytest.warns(UserWarning, match="CUDAExecutionProvider cannot compile this model .*TopK_0"):
        session = ds.InferenceSession(
            path, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert session.get_providers() == ["CPUExecutionProvider"]
    x = np.array([[1, 4, 2, 3], [0, -1, 5, 5], [2, 2, 2, 2]], np.float32)
    values, indices = session.run(None, {"x": x, "k": np.array([2], np.int64)})
    np.testing.assert_array_equal(values, [[4, 3], [5, 5], [2, 2]])
    np.testing.assert_array_equal(indices, [[1, 3], [2, 3], [0, 1]])
    with pytest.raises(ds.CompileError, match="TopK_0"):
        ds.InferenceSession(path, providers=["CUDAExecutionProvider"])


def _varint(value):
    out = b""
    while value >= 0x80:
        out, value = out + bytes([value & 0x7F | 0x80]), value >> 7
    return out + bytes([value])


def test_metadata_with_unknown_group_and_bad_files(two_in_two_out, tmp_path):
    """A protobuf group (wire type 3) after the model's fields is valid protobuf:
    onnx and the compiler accept it, and the metadata reader skips it (it used to
    reject it, and the rejection escaped as a BufferError from the mmap). A
    truncated or corrupt file raises CompileError."""
    model = onnx.load(two_in_two_out)
    model.graph.name = "named"
    group = _varint(99 << 3 | 3) + _varint(1 << 3) + _varint(5) + _varint(99 << 3 | 4)
    data = model.SerializeToString() + group
    path = tmp_path / "group.onnx"
    path.write_bytes(data)
    assert onnx.load(str(path)).graph.name == "named"
    assert ds.InferenceSession(str(path)).get_modelmeta().graph_name == "named"
    # The reader's own errors are ValueError, even with slices of the map alive.
    bad = tmp_path / "bad-wire.onnx"
    bad.write_bytes(model.SerializeToString() + _varint(99 << 3 | 7))
    with pytest.raises(ValueError, match="unsupported wire type 7"):
        _onnx_meta.read_file(str(bad))
    for name, contents in (("truncated", data[:len(data) // 2]), ("bad-wire", bad.read_bytes()),
                           ("garbage", b"\xff" * 64)):
        corrupt = tmp_path / f"{name}.onnx"
        corrupt.write_bytes(contents)
        with pytest.raises(ds.CompileError):
            ds.InferenceSession(str(corrupt))


def test_run_errors(two_in_two_out):
    session = ds.InferenceSession(two_in_two_out)
    feed = {"x": np.zeros((3, 8), np.float32), "ids": np.zeros(3, np.int64)}
    with pytest.raises(ValueError, match="invalid output name 'nope'; the outputs are 'relu', "
                                         "'probs'"):
        session.run(["nope"], feed)
    with pytest.raises(TypeError, match="input 'ids' must have dtype i64"):
        session.run(None, {**feed, "ids": np.zeros(3, np.int32)})


def test_bf16_metadata(tmp_path):
    path = save_model(tmp_path / "bf16.onnx", [helper.make_node("Identity", ["x"], ["y"])],
                      [("x", "bf16", [2])], [("y", "bf16", [2])])
    session = ds.InferenceSession(path)
    assert [(i.name, i.type, i.shape) for i in session.get_inputs()] == [
        ("x", "tensor(bfloat16)", [2])]
    x = np.array([1.5, -2], ml_dtypes.bfloat16)
    (y,) = session.run(None, {"x": x})
    assert y.dtype == ml_dtypes.bfloat16 and y.tolist() == x.tolist()
