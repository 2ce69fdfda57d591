"""Real architectures (random weights) through ds, compared with onnxruntime.

fp32 bounds: rtol 1e-4, atol 1e-5 (the issue's bound for the CPU backend).
"""

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import ds
from feeds import make_inputs

MODELS = ["cnn", "mobilenet", "bert", "gpt", "llama"]


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
