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
    with pytest.raises(ds.CompileError, match="precision 'fp8' is not available"):
        ds.compile(str(models_dir / "bert.onnx"), str(tmp_path / "x.dsx"), precision="fp8")
    assert not os.path.exists(tmp_path / "x.dsx")
