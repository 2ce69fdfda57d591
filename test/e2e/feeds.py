"""Random inputs for the generated models, shared by the end-to-end tests and
bench/compare_ort.py (kept free of engine imports so benchmark workers stay lean)."""

import numpy as np
import onnx

ONNX_TO_NUMPY = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.INT64: np.int64}


def signature(model_path):
    """(name, numpy dtype, shape) of each graph input."""
    graph = onnx.load(model_path, load_external_data=False).graph
    initializers = {t.name for t in graph.initializer}
    return [(v.name, ONNX_TO_NUMPY[v.type.tensor_type.elem_type],
             [d.dim_value for d in v.type.tensor_type.shape.dim])
            for v in graph.input if v.name not in initializers]


def feeds_for(inputs, seed=0):
    """Random feeds for (name, dtype, shape) inputs: floats in [-1, 1), token
    ids below 100, attention masks with the last positions padded."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for name, dtype, shape in inputs:
        if name == "attention_mask":
            mask = np.ones(shape, dtype)
            mask[..., -3:] = 0
            feeds[name] = mask
        elif dtype == np.int64:
            feeds[name] = rng.integers(0, 100, shape, dtype=np.int64)
        else:
            feeds[name] = rng.uniform(-1, 1, shape).astype(dtype)
    return feeds


def make_inputs(model_path, seed=0):
    return feeds_for(signature(model_path), seed)
