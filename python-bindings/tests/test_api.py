"""The Python API: metadata, running, and errors as exceptions."""

import numpy as np
import pytest

import ds


def test_compile_load_run(add_model, tmp_path):
    artifact = ds.compile(add_model, tmp_path / "add.dsx")
    session = ds.load(artifact, num_threads=1)
    assert session.inputs == [{"name": "a", "dtype": "f32", "shape": [2, 3]},
                              {"name": "b", "dtype": "f32", "shape": [3]}]
    assert session.outputs[0]["name"] == "sum"
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.array([10, 20, 30], np.float32)
    out = session.run({"a": a, "b": b})
    np.testing.assert_array_equal(out["sum"], a + b)


def test_outputs_survive_the_next_run(add_model):
    session = ds.load(add_model)
    b = np.zeros(3, np.float32)
    first = session.run({"a": np.ones((2, 3), np.float32), "b": b})["sum"]
    session.run({"a": np.full((2, 3), 5, np.float32), "b": b})
    np.testing.assert_array_equal(first, np.ones((2, 3), np.float32))


@pytest.mark.parametrize("feeds, kind, message", [
    ({"a": np.zeros((2, 3), np.float64), "b": np.zeros(3, np.float32)}, TypeError,
     "input 'a' must have dtype f32 (numpy float32), got float64"),
    ({"a": np.zeros((3, 2), np.float32), "b": np.zeros(3, np.float32)}, ValueError,
     "input 'a' has shape (3, 2), expected (2, 3)"),
    ({"a": np.zeros((2, 3), np.float32)}, ValueError,
     "missing input 'b': expected f32 (numpy float32) of shape (3,)"),
    ({"a": np.zeros((2, 3), np.float32), "b": np.zeros(3, np.float32),
      "c": np.zeros(1, np.float32)}, ValueError, "the model has no input named 'c'; its inputs are 'a', 'b'"),
])
def test_bad_inputs_raise(add_model, feeds, kind, message):
    session = ds.load(add_model)
    with pytest.raises(kind) as info:
        session.run(feeds)
    assert isinstance(info.value, ds.Error)
    assert str(info.value) == message


def test_bad_artifact_raises(tmp_path):
    bad = tmp_path / "bad.dsx"
    bad.write_bytes(b"not an artifact at all" * 10)
    with pytest.raises(ds.Error, match="not a ds artifact"):
        ds.load(bad)


def test_compile_error_raises(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00\x01garbage")
    with pytest.raises(ds.CompileError, match="failed to parse ONNX model"):
        ds.compile(bad)
