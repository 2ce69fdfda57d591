"""Determinism of the CPU backend: the same inputs give bit-identical outputs on
every run and at every thread count.

Every kernel partitions work so that each output element is computed by one
thread in a fixed order (reductions are split across rows, never along the
reduced axis; GEMMs split rows of the output), so the thread count may change
who computes an element but not how.
"""

import numpy as np
import pytest

import ds
from feeds import make_inputs

MODELS = ["cnn", "mobilenet", "bert", "gpt", "llama"]
THREADS = [1, 2, 3, 4, 7]


@pytest.mark.parametrize("name", MODELS)
def test_bit_identical_across_runs_and_threads(models_dir, name):
    path = str(models_dir / f"{name}.onnx")
    feeds = make_inputs(path)
    reference = None
    for threads in THREADS:
        session = ds.load(path, num_threads=threads)
        for run in range(3):
            got = session.run(feeds)
            if reference is None:
                reference = {k: v.copy() for k, v in got.items()}
                continue
            for output, value in got.items():
                assert value.dtype == reference[output].dtype
                assert value.tobytes() == reference[output].tobytes(), (
                    f"{name}: output {output} differs at {threads} threads, run {run}: "
                    f"max |diff| {np.max(np.abs(value - reference[output]))}")


def test_bit_identical_gemm_and_reductions(tmp_path):
    """Shapes large enough that every thread count splits the GEMM and the
    reductions differently (OpenBLAS sees different row counts per call)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)
    w = numpy_helper.from_array(rng.standard_normal([768, 768]).astype(np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]),
             helper.make_node("Softmax", ["h"], ["p"], axis=-1),
             helper.make_node("ReduceSum", ["h"], ["s"], keepdims=0),
             helper.make_node("LayerNormalization", ["h", "g", "b"], ["n"], axis=-1)]
    g = numpy_helper.from_array(np.ones([768], np.float32), "g")
    b = numpy_helper.from_array(np.zeros([768], np.float32), "b")
    graph = helper.make_graph(
        nodes, "det", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [509, 768])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("p", "s", "n")],
        [w, g, b])
    path = str(tmp_path / "det.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    feeds = {"x": rng.standard_normal([509, 768]).astype(np.float32)}
    reference = ds.load(path, num_threads=1).run(feeds)
    for threads in THREADS[1:]:
        got = ds.load(path, num_threads=threads).run(feeds)
        for output, value in got.items():
            assert value.tobytes() == reference[output].tobytes(), (
                f"output {output} differs at {threads} threads: "
                f"max |diff| {np.max(np.abs(value - reference[output]))}")
