"""SmoothQuant (ds-smooth-quant, ds.calibrate(smooth_quant=...)): by itself it
leaves the fp32 model's results as they were (power-of-two factors make both
products exact), and on activations with outlier channels, the case it exists
for, it makes static int8 quantization markedly more accurate."""

import os
import subprocess

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import ds

from feeds import make_inputs

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("DS_BUILD_DIR", os.path.join(REPO, "build"))


def outlier_mlp(path, seed=0):
    """Two linear layers with GELU between them, a LayerNorm in front whose
    gain makes three of the 64 channels 40x larger than the rest while the
    next weights' rows for them are 40x smaller: what SmoothQuant's paper
    finds in large language models (the outliers carry no more of the result
    than the other channels, but set the activation's range)."""
    rng = np.random.default_rng(seed)
    outliers = [3, 17, 42]
    gain = np.ones(64, np.float32)
    gain[outliers] = 40.0
    w1 = rng.normal(0, 0.1, (64, 128)).astype(np.float32)
    w1[outliers] /= 40.0
    w2 = rng.normal(0, 0.1, (128, 32)).astype(np.float32)
    nodes = [helper.make_node("LayerNormalization", ["x", "gain", "bias"], ["n"], name="ln"),
             helper.make_node("MatMul", ["n", "w1"], ["h"], name="fc1"),
             helper.make_node("Gelu", ["h"], ["g"], name="gelu"),
             helper.make_node("MatMul", ["g", "w2"], ["y"], name="fc2")]
    graph = helper.make_graph(
        nodes, "outliers", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [16, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [16, 32])],
        [numpy_helper.from_array(gain, "gain"),
         numpy_helper.from_array(np.zeros(64, np.float32), "bias"),
         numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]), path)
    return path


def relative_error(got, ref):
    return float(np.linalg.norm(got - ref) / np.linalg.norm(ref))


def test_smoothing_alone_leaves_fp32_results_unchanged(models_dir, tmp_path):
    for name in ("bert", "gpt", "llama"):
        source = str(models_dir / f"{name}.onnx")
        samples = [make_inputs(source, seed=seed) for seed in range(4)]
        table = ds.calibrate(source, samples, str(tmp_path / f"{name}.table"), smooth_quant=0.5)
        smoothed = str(tmp_path / f"{name}.smoothed.mlir")
        subprocess.run([os.path.join(BUILD, "bin", "ds-opt"), source,
                        f"--pass-pipeline=builtin.module(func.func(ds-smooth-quant{{table={table}}}))",
                        "--emit-bytecode", "-o", smoothed], check=True)
        # The activations were smoothed (the text form, for the check only).
        text = subprocess.run([os.path.join(BUILD, "bin", "ds-opt"), smoothed],
                              check=True, capture_output=True, text=True).stdout
        assert "ds.binary mul" in text
        feeds = make_inputs(source, seed=9)
        plain = ds.load(source).run(feeds)
        after = ds.Session(ds.compile(smoothed, str(tmp_path / f"{name}.dsx"))).run(feeds)
        for key, value in plain.items():
            np.testing.assert_allclose(after[key], value, rtol=1e-6, atol=0)


def test_smooth_quant_tames_outlier_channels(tmp_path):
    source = outlier_mlp(str(tmp_path / "outliers.onnx"))
    rng = np.random.default_rng(1)
    samples = [{"x": rng.normal(0, 1, (16, 64)).astype(np.float32)} for _ in range(8)]
    feeds = {"x": rng.normal(0, 1, (16, 64)).astype(np.float32)}
    (ref,) = ort.InferenceSession(source, providers=["CPUExecutionProvider"]).run(None, feeds)
    plain = ds.load(source, quantize="static", calibration_data=samples).run(feeds)["y"]
    smooth = ds.load(source, quantize="static", calibration_data=samples,
                     smooth_quant=0.5).run(feeds)["y"]
    # The outlier channels stretch fc1's activation scale 40x, so per-tensor
    # int8 leaves the other 61 channels a handful of levels; smoothing moves
    # the outliers into fc1's (per-column quantized) weights.
    assert relative_error(smooth, ref) < 0.5 * relative_error(plain, ref)
    assert relative_error(smooth, ref) < 0.02


def test_ds_calibrate_smooth_quant_matches_the_python_api(tmp_path):
    source = outlier_mlp(str(tmp_path / "outliers.onnx"))
    rng = np.random.default_rng(2)
    for i in range(3):
        np.save(tmp_path / f"{i}.npy", rng.normal(0, 1, (16, 64)).astype(np.float32))
    os.makedirs(tmp_path / "data")
    for i in range(3):
        os.rename(tmp_path / f"{i}.npy", tmp_path / "data" / f"{i}.npy")
    cli = str(tmp_path / "cli.table")
    subprocess.run([os.path.join(BUILD, "bin", "ds-calibrate"), source, str(tmp_path / "data"),
                    "-o", cli, "--smooth-quant=0.5"], check=True, capture_output=True)
    python = ds.calibrate(source, tmp_path / "data", str(tmp_path / "py.table"),
                          smooth_quant=0.5)
    text = open(cli).read()
    assert "smooth-quant=0.5" in text and "\nabsmax " in text
    assert text == open(python).read()


def test_smooth_quant_needs_calibration(models_dir, tmp_path):
    source = str(models_dir / "bert.onnx")
    with pytest.raises(ValueError, match="smooth_quant is applied while calibrating"):
        ds.compile(source, str(tmp_path / "x.dsx"), quantize="static", smooth_quant=0.5)
    with pytest.raises(ValueError, match="alpha 1.5 is not in"):
        ds.calibrate(source, [make_inputs(source)], smooth_quant=1.5)
