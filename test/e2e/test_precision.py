"""Mixed precision (ds.compile(precision=...), ds-assign-precision) on the five
generated architectures against onnxruntime in fp32: the outputs keep their
float32 type and shape, are finite where the reference is, and their error is
at most twice that of the naive computation of the same model in the same
type (utils/gen_models.py --precision: every op in fp16 / bf16, which ds also
runs). precision="fp32" is the identity; an unknown one is refused."""

import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest

import ds

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from feeds import make_inputs  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = ["bert", "gpt", "llama", "cnn", "mobilenet"]


@pytest.fixture(scope="module")
def low_precision_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("lowp")
    subprocess.run([sys.executable, os.path.join(REPO, "utils", "gen_models.py"), "--out", str(out),
                    "--precision", "f16", "bf16"], check=True, stdout=subprocess.DEVNULL)
    return out


def cosine(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("precision, suffix", [("fp16", "f16"), ("bf16", "bf16")])
def test_mixed_precision_error_is_bounded(models_dir, low_precision_dir, name, precision, suffix):
    path = str(models_dir / f"{name}.onnx")
    feeds = make_inputs(path)
    reference = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feeds)
    mixed = list(ds.load(path, precision=precision).run(feeds).values())
    naive = list(ds.load(str(low_precision_dir / f"{name}.{suffix}.onnx")).run(feeds).values())
    assert len(mixed) == len(reference)
    for got, slow, ref in zip(mixed, naive, reference):
        assert got.dtype == ref.dtype == np.float32 and got.shape == ref.shape
        np.testing.assert_array_equal(np.isfinite(got), np.isfinite(ref))
        err = np.abs(got - ref).max()
        naive_err = np.abs(slow - ref).max()
        assert err <= 2 * naive_err, (name, precision, err, naive_err)
        assert cosine(got, ref) > 0.999


@pytest.mark.parametrize("name", ["bert", "cnn"])
def test_fp32_policy_is_the_identity(models_dir, tmp_path, name):
    path = str(models_dir / f"{name}.onnx")
    default = ds.compile(path, str(tmp_path / "default.dsx"))
    fp32 = ds.compile(path, str(tmp_path / "fp32.dsx"), precision="fp32")
    with open(default, "rb") as a, open(fp32, "rb") as b:
        assert a.read() == b.read()


def test_unknown_precision_is_refused(models_dir, tmp_path):
    with pytest.raises(ds.CompileError, match="precision 'fp4' is not available"):
        ds.compile(str(models_dir / "bert.onnx"), str(tmp_path / "x.dsx"), precision="fp4")
    assert not os.path.exists(tmp_path / "x.dsx")


def test_fp8_rounds_contraction_operands_as_an_fp8_gemm_sees_them(tmp_path):
    """precision="fp8" against numpy with ml_dtypes' float8_e4m3fn: each
    matmul operand scaled by max |x| / 448, rounded to e4m3, scaled back,
    then multiplied in f32."""
    import ml_dtypes
    from onnx import TensorProto, helper, numpy_helper
    import onnx
    rng = np.random.default_rng(3)
    w = rng.normal(0, 0.5, (32, 16)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")], "fp8",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8, 16])],
        [numpy_helper.from_array(w, "w")])
    path = str(tmp_path / "fc.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    x = rng.normal(0, 2.0, (8, 32)).astype(np.float32)

    def rounded(a):
        scale = np.float32(np.abs(a).max() / np.float32(448))
        return (a / scale).astype(ml_dtypes.float8_e4m3fn).astype(np.float32) * scale

    want = rounded(x) @ rounded(w)
    got = ds.load(path, precision="fp8").run({"x": x})["y"]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert np.abs(got - x @ w).max() > 1e-3  # fp8 really rounds


@pytest.mark.parametrize("model", ["bert", "gpt", "cnn"])
def test_fp8_accuracy_and_size(models_dir, tmp_path, model):
    """fp8 (emulated) on the generated models: close to fp32 (cosine >= 0.99),
    finite, and the artifact smaller than fp32's (weights stored in fp8)."""
    path = str(models_dir / f"{model}.onnx")
    feeds = make_inputs(path)
    ref = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feeds)
    fp8 = ds.compile(path, str(tmp_path / "fp8.dsx"), precision="fp8")
    fp32 = ds.compile(path, str(tmp_path / "fp32.dsx"))
    assert os.path.getsize(fp8) < 0.6 * os.path.getsize(fp32)
    got = list(ds.Session(fp8).run(feeds).values())
    for g, r in zip(got, ref):
        assert g.dtype == r.dtype and g.shape == r.shape and np.isfinite(g).all()
        g64, r64 = g.astype(np.float64).ravel(), r.astype(np.float64).ravel()
        assert g64 @ r64 / (np.linalg.norm(g64) * np.linalg.norm(r64)) >= 0.99
