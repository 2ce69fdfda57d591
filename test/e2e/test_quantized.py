"""Models quantized by onnxruntime's own dynamic quantizer (quantize_dynamic:
DynamicQuantizeLinear + MatMulInteger around every weight matmul) compile to
ds.matmul_integer (ds-fold-integer-matmul) and match onnxruntime running the
same file with its graph optimizations off (the ONNX definition of every op):
int8 and uint8 weights, per tensor and per channel. Every output is compared."""

import os
import subprocess

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnxruntime.quantization import QuantType, quantize_dynamic

import ds

from feeds import make_inputs

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("DS_BUILD_DIR", os.path.join(REPO, "build"))


def reference(path, feeds):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"]).run(None, feeds)


@pytest.mark.parametrize("name", ["bert", "gpt"])
@pytest.mark.parametrize("weights, per_channel", [(QuantType.QInt8, False), (QuantType.QInt8, True),
                                                  (QuantType.QUInt8, True)])
def test_dynamic_int8_matches_onnxruntime(models_dir, tmp_path, name, weights, per_channel):
    quantized = str(tmp_path / f"{name}.int8.onnx")
    quantize_dynamic(str(models_dir / f"{name}.onnx"), quantized, weight_type=weights,
                     per_channel=per_channel)
    integer_matmuls = sum(n.op_type == "MatMulInteger" for n in onnx.load(quantized).graph.node)
    assert integer_matmuls > 0
    ir = subprocess.run([os.path.join(BUILD, "bin", "ds-opt"), quantized, "--ds-compile-pipeline=fuse=false"],
                        check=True, capture_output=True, text=True).stdout
    assert ir.count("ds.matmul_integer ") == integer_matmuls
    feeds = make_inputs(quantized)
    expected = reference(quantized, feeds)
    for threads in (1, 2):
        got = list(ds.load(quantized, num_threads=threads).run(feeds).values())
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert g.dtype == e.dtype and g.shape == e.shape
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)
