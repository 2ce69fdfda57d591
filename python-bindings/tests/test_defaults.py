"""Inputs with a default value (issue 15, item 16): an ONNX initializer that is
also a graph input may be left out of the feed (its value is used) or fed
(the feed wins). ds.Session lists it among `inputs`, with the value in
`defaults`; InferenceSession lists it, as onnxruntime does, under
get_overridable_initializers() rather than get_inputs()."""

import numpy as np
import onnxruntime
import pytest
from onnx import helper, numpy_helper

import ds
from model_builder import save_model

BIAS = np.array([1, 2, 3], np.float32)
A = np.arange(6, dtype=np.float32).reshape(2, 3)


@pytest.fixture
def defaulted(tmp_path):
    return save_model(tmp_path / "defaulted.onnx", [helper.make_node("Add", ["a", "b"], ["y"])],
                      [("a", "f32", [2, 3]), ("b", "f32", [3])], [("y", "f32", [2, 3])],
                      [numpy_helper.from_array(BIAS, "b")])


def test_session_uses_the_default_unless_fed(defaulted):
    session = ds.load(defaulted, num_threads=1)
    assert [i["name"] for i in session.inputs] == ["a", "b"]
    np.testing.assert_array_equal(session.defaults["b"], BIAS)
    assert not session.defaults["b"].flags.writeable
    np.testing.assert_array_equal(session.run({"a": A})["y"], A + BIAS)
    other = np.array([10, 20, 30], np.float32)
    np.testing.assert_array_equal(session.run({"a": A, "b": other})["y"], A + other)
    with pytest.raises(ValueError, match="missing input 'a'"):
        session.run({"b": other})


@pytest.mark.parametrize("module", [ds, onnxruntime], ids=["ds", "onnxruntime"])
def test_inference_session_like_onnxruntime(defaulted, module):
    session = module.InferenceSession(str(defaulted), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["a"]
    assert [(i.name, i.type, i.shape) for i in session.get_overridable_initializers()] == [
        ("b", "tensor(float)", [3])]
    np.testing.assert_array_equal(session.run(None, {"a": A})[0], A + BIAS)
    np.testing.assert_array_equal(session.run(None, {"a": A, "b": -BIAS})[0], A - BIAS)
