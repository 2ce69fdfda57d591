"""Real architectures (random weights) through ds, compared with onnxruntime.

fp32 bounds: rtol 1e-4, atol 1e-5 (the issue's bound for the CPU backend).
"""

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import ds

ONNX_TO_NUMPY = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.INT64: np.int64}
MODELS = ["cnn", "mobilenet", "bert", "gpt", "llama"]


def make_inputs(model_path, seed=0):
    """Random feeds: floats in [-1, 1), token ids below 100, masks with padding."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for value in onnx.load(model_path, load_external_data=False).graph.input:
        t = value.type.tensor_type
        shape = [d.dim_value for d in t.shape.dim]
        dtype = ONNX_TO_NUMPY[t.elem_type]
        if value.name == "attention_mask":
            mask = np.ones(shape, dtype)
            mask[..., -3:] = 0  # padded positions
            feeds[value.name] = mask
        elif dtype == np.int64:
            feeds[value.name] = rng.integers(0, 100, shape, dtype=np.int64)
        else:
            feeds[value.name] = rng.uniform(-1, 1, shape).astype(dtype)
    return feeds


@pytest.mark.parametrize("name", MODELS)
def test_matches_onnxruntime(models_dir, name):
    path = str(models_dir / f"{name}.onnx")
    feeds = make_inputs(path)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    expected = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"]).run(None, feeds)
    session = ds.load(path, num_threads=2)
    got = session.run(feeds)
    names = [o["name"] for o in session.outputs]
    assert len(got) == len(expected)
    for output_name, reference in zip(names, expected):
        actual = got[output_name]
        assert actual.shape == reference.shape
        np.testing.assert_allclose(actual, reference, rtol=1e-4, atol=1e-5,
                                   err_msg=f"{name}: output {output_name}")
