"""Gradients compiled by ds against PyTorch's autograd on PyTorch-written
models: a CNN (batch norm, depthwise conv, max and average pooling), a
BERT-style encoder (padding mask), a GPT-style decoder (causal mask, tied
QKV split) and a LLaMA-style decoder (RMSNorm, rotary embeddings, grouped-
query attention, SwiGLU), and learned quantization scales (LSQ) against
PyTorch's learnable fake quantization. torch_reference.py builds each in PyTorch 1.13
(Debian's python3-torch under /usr/bin/python3), exports it, and computes
the loss and every parameter's gradient; ds compiles the exported file with
gradients=True and must agree on the loss and on each gradient.

Skipped where /usr/bin/python3 has no PyTorch, unless DS_REQUIRE_TORCH=1
(CI sets it: there the comparison must run)."""

import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import ds

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from torch_python import TORCH_PYTHON, needs_torch  # noqa: E402

pytestmark = needs_torch


@pytest.fixture(scope="module")
def reference_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("torch")


def reference(name, out):
    done = subprocess.run(TORCH_PYTHON + [os.path.join(HERE, "torch_reference.py"), name, str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    data = np.load(out / f"{name}.npz")
    feeds = {k[5:]: data[k] for k in data.files if k.startswith("feed/")}
    grads = {k[5:]: data[k] for k in data.files if k.startswith("grad/")}
    return str(out / f"{name}.onnx"), feeds, str(data["loss_function"]), float(data["loss"]), grads


# Attention layers per model: raised before differentiation, each one's
# backward is one fused ds.attention_grad unless fused_attention_grad=False.
ATTENTION_LAYERS = {"cnn": 0, "bert": 2, "gpt": 2, "llama": 2}


@pytest.mark.parametrize("name,fused", [("cnn", True), ("bert", True), ("gpt", True),
                                        ("llama", True), ("gpt", False), ("llama", False)])
def test_gradients_match_pytorch_autograd(reference_dir, name, fused):
    path, feeds, loss_function, torch_loss, torch_grads = reference(name, reference_dir)
    stages = ds.cost_report(path, gradients=True, loss_function=loss_function,
                            fused_attention_grad=fused)
    program = next(stage for stage in stages if stage["stage"] == "autodiff")
    kinds = [op["op"] for op in program["ops"]]
    assert kinds.count("ds.attention_grad") == (ATTENTION_LAYERS[name] if fused else 0), kinds
    assert kinds.count("ds.attention") == ATTENTION_LAYERS[name], kinds
    artifact = ds.compile(path, gradients=True, loss_function=loss_function,
                          fused_attention_grad=fused)
    try:
        out = ds.Session(artifact).run(feeds)
    finally:
        os.remove(artifact)
    np.testing.assert_allclose(float(out["loss"]), torch_loss, rtol=2e-6)
    ours = {k[:-len(".grad")]: v for k, v in out.items() if k.endswith(".grad")}
    missing = sorted(set(torch_grads) - set(ours))
    assert not missing, f"ds has no gradient for {missing}"
    # Batch-norm statistics are averaged, not trained (ds.statistic).
    assert not [k for k in ours if "running_" in k], sorted(ours)
    # Both sides sum in f32 in different orders: each gradient is compared
    # at its own scale (a wrong rule is off by O(1) of it), with a floor from
    # the largest gradient of the model for gradients that are zero but for
    # rounding (a key projection's bias: softmax ignores a per-row shift).
    largest = max(float(np.abs(g).max()) for g in torch_grads.values())
    assert largest > 0, "PyTorch's gradients are all zero: the check would be empty"
    for param, expected in torch_grads.items():
        got = ours[param]
        assert got.shape == expected.shape, (param, got.shape, expected.shape)
        assert np.isfinite(got).all(), param
        scale = max(float(np.abs(expected).max()), 1e-3 * largest)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4 * scale, err_msg=param)


@pytest.mark.parametrize("name", ["gpt", "llama"])
@pytest.mark.parametrize("plan", ["sqrt", "budget"])
def test_checkpointed_transformer_gradients_are_bit_identical(reference_dir, name, plan):
    """ds-rematerialize on an exported transformer's gradient program: √n
    checkpoints at its separators (the residual stream, kept alive for the
    recomputations: pinned values the backward itself does not read), or a
    budget of half the peak. The recomputed ops run the same kernels on the
    same inputs, so every output is the same bytes; the peak drops (under a
    budget halfway between √n's peak and store-all's, to fit it), and each
    recomputed value is recomputed once (about one forward more, not the
    several the plan before separators took)."""
    path, feeds, loss_function, _, _ = reference(name, reference_dir)
    options = dict(gradients=True, loss_function=loss_function)
    stages = ds.cost_report(path, **options)
    before_fusion = [s for s in stages if s["stage"] != "fusion"][-1]
    peak, flops = before_fusion["memory"]["peak_bytes"], stages[-1]["total"]["flops"]
    forward = stages[0]["total"]["flops"]  # the imported model: one forward pass
    extra = dict(remat_strategy="sqrt")
    if plan == "budget":
        root = ds.cost_report(path, **options, **extra)
        low = next(s for s in root if s["stage"] == "rematerialization")["memory"]["peak_bytes"]
        extra = dict(remat_budget=(peak + low) // 2)
    remat = ds.cost_report(path, **options, **extra)
    after = next(s for s in remat if s["stage"] == "rematerialization")
    assert after["memory"]["peak_bytes"] < peak, (after["memory"]["peak_bytes"], peak)
    if plan == "budget":
        assert after["memory"]["peak_bytes"] <= extra["remat_budget"]
    assert remat[-1]["total"]["flops"] - flops <= 1.25 * forward, (
        remat[-1]["total"]["flops"], flops, forward)
    outputs = []
    for compile_options in (options, {**options, **extra}):
        artifact = ds.compile(path, **compile_options)
        try:
            outputs.append(ds.Session(artifact).run(feeds))
        finally:
            os.remove(artifact)
    expected, got = outputs
    assert expected.keys() == got.keys()
    for key in expected:
        assert got[key].tobytes() == expected[key].tobytes(), key


def qdq_matmul_model(path, values):
    """y = DQ(Q(x)) @ DQ(Q(W)): x uint8 with a per-tensor scale and zero
    point 128, W int8 with per-column scales (axis 1), as a QAT export
    writes fake quantization."""
    inits = [numpy_helper.from_array(values[k], k) for k in ("W", "s_x", "zp_x", "s_w", "zp_w")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s_x", "zp_x"], ["qx"]),
             helper.make_node("DequantizeLinear", ["qx", "s_x", "zp_x"], ["fx"]),
             helper.make_node("QuantizeLinear", ["W", "s_w", "zp_w"], ["qw"], axis=1),
             helper.make_node("DequantizeLinear", ["qw", "s_w", "zp_w"], ["fw"], axis=1),
             helper.make_node("MatMul", ["fx", "fw"], ["y"])]
    graph = helper.make_graph(
        nodes, "lsq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8, 6])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)]), path)


@pytest.mark.parametrize("lsq_grad_scale", [False, True])
def test_learned_quantization_scales_match_pytorch(reference_dir, lsq_grad_scale):
    rng = np.random.default_rng(5)
    values = {"x": rng.standard_normal((8, 16)).astype(np.float32),
              "W": (rng.standard_normal((16, 6)) * 0.3).astype(np.float32),
              # Scales small enough that some values clip at either end.
              "s_x": np.array(0.012, np.float32), "zp_x": np.array(128, np.uint8),
              "s_w": np.array([0.002, 0.004, 0.003, 0.005, 0.0025, 0.006], np.float32),
              "zp_w": np.zeros(6, np.int8),
              "target": rng.standard_normal((8, 6)).astype(np.float32)}
    np.savez(reference_dir / "lsq_inputs.npz", **values)
    path = str(reference_dir / "lsq.onnx")
    qdq_matmul_model(path, values)
    reference = "lsq_scaled" if lsq_grad_scale else "lsq"
    done = subprocess.run(TORCH_PYTHON + [os.path.join(HERE, "torch_reference.py"), reference,
                                          str(reference_dir)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    expected = np.load(reference_dir / f"{reference}.npz")
    artifact = ds.compile(path, gradients=True, loss_function="mse",
                          gradient_parameters=["W", "s_x", "s_w"], lsq_grad_scale=lsq_grad_scale)
    try:
        out = ds.Session(artifact).run({"x": values["x"], "target": values["target"]})
    finally:
        os.remove(artifact)
    np.testing.assert_allclose(float(out["loss"]), float(expected["loss"]), rtol=1e-5)
    clipped = np.abs(np.round(values["W"] / values["s_w"])) > 127
    assert 0 < clipped.sum() < clipped.size, "no clipped weights: the outside rule goes unchecked"
    for name in ("W", "s_x", "s_w"):
        want = expected[f"grad/{name}"]
        scale = float(np.abs(want).max())
        np.testing.assert_allclose(out[f"{name}.grad"], want, rtol=0, atol=1e-4 * scale,
                                   err_msg=name)
