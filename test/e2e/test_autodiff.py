"""Gradients compiled by ds (ds.compile(gradients=True), ds-autodiff) against
exact numpy derivatives (an MLP with MSE, a classifier with cross-entropy)
and against central finite differences on the generated BERT-, GPT- and
LLaMA-style models (GQA attention, rotary embeddings, RMS norm) and on
attention alone; gradient programs under rematerialization stay bit-identical; and
plain SGD on the compiled gradient lowers the loss."""

import os

import numpy as np
import pytest

import ds
from chains import residual_chain
from feeds import feeds_for, signature

MLP = """
func.func @main(%x: tensor<4x8xf32> {ds.name = "x"}) -> (tensor<4x3xf32> {ds.name = "y"}) {
  %w1 = ds.constant dense<0.1> : tensor<8x16xf32> loc("w1")
  %b1 = ds.constant dense<0.01> : tensor<16xf32> loc("b1")
  %w2 = ds.constant dense<-0.2> : tensor<16x3xf32> loc("w2")
  %h = ds.matmul %x, %w1 : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %hb = ds.binary add %h, %b1 : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %a = ds.unary tanh %hb : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %y = ds.matmul %a, %w2 : (tensor<4x16xf32>, tensor<16x3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}
"""


def session(path, **options):
    artifact = ds.compile(path, **options)
    try:
        return ds.Session(artifact)
    finally:
        os.remove(artifact)


def mlp_params(rng):
    return {"w1": rng.standard_normal((8, 16)).astype(np.float32) * 0.3,
            "b1": rng.standard_normal(16).astype(np.float32) * 0.1,
            "w2": rng.standard_normal((16, 3)).astype(np.float32) * 0.3}


def mlp_forward(x, p):
    a = np.tanh(x.astype(np.float64) @ p["w1"] + p["b1"])
    return a, a @ p["w2"]


def mlp_backward(x, p, a, dy):
    dh = (dy @ p["w2"].T) * (1 - a * a)
    return {"w1": x.T.astype(np.float64) @ dh, "b1": dh.sum(0), "w2": a.T @ dy}


@pytest.fixture
def mlp(tmp_path):
    path = tmp_path / "mlp.mlir"
    path.write_text(MLP)
    return str(path)


def test_mse_gradients_match_numpy(mlp):
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((4, 8)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32)
    p = mlp_params(rng)
    out = session(mlp, gradients=True, loss_function="mse").run({"x": x, "target": t, **p})
    a, y = mlp_forward(x, p)
    d = y - t
    np.testing.assert_allclose(out["loss"], (d * d).mean(), rtol=1e-5)
    for name, ref in mlp_backward(x, p, a, 2 * d / d.size).items():
        np.testing.assert_allclose(out[name + ".grad"], ref, rtol=1e-4, atol=1e-6)


def test_cross_entropy_gradients_match_numpy(mlp):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 8)).astype(np.float32)
    labels = np.array([0, 2, 1, 2], np.int64)
    p = mlp_params(rng)
    out = session(mlp, gradients=True, loss_function="cross-entropy").run(
        {"x": x, "labels": labels, **p})
    a, y = mlp_forward(x, p)
    z = y - y.max(1, keepdims=True)
    probs = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    loss = -np.log(probs[np.arange(4), labels]).mean()
    np.testing.assert_allclose(out["loss"], loss, rtol=1e-5)
    dy = probs.copy()
    dy[np.arange(4), labels] -= 1
    for name, ref in mlp_backward(x, p, a, dy / 4).items():
        np.testing.assert_allclose(out[name + ".grad"], ref, rtol=1e-4, atol=1e-6)


def test_parameters_default_to_the_model_weights(mlp):
    rng = np.random.default_rng(2)
    x, t = rng.standard_normal((4, 8)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32)
    grad = session(mlp, gradients=True, loss_function="mse")
    model = {"w1": np.full((8, 16), 0.1, np.float32), "b1": np.full(16, 0.01, np.float32),
             "w2": np.full((16, 3), -0.2, np.float32)}
    fed, default = grad.run({"x": x, "target": t, **model}), grad.run({"x": x, "target": t})
    for name in fed:
        assert np.array_equal(fed[name], default[name]), name


@pytest.mark.parametrize("name", ["cnn", "mobilenet", "bert", "gpt", "llama"])
def test_generated_models_match_finite_differences(models_dir, name):
    path = str(models_dir / f"{name}.onnx")
    grad = session(path, gradients=True, loss_function="mse")
    rng = np.random.default_rng(3)
    feeds = feeds_for(signature(path), seed=3)
    out_name = next(iter(ds.load(path).run(feeds)))
    y = ds.load(path).run(feeds)[out_name]
    feeds["target"] = (y + rng.standard_normal(y.shape).astype(np.float32)).astype(np.float32)
    base = grad.run(feeds)
    grads = {k[:-5]: v for k, v in base.items() if k.endswith(".grad")}
    assert grads, "no parameters"
    # One random direction over every parameter; central differences in f32
    # (the step is small enough for the curvature of the loss and large
    # enough to rise above f32 rounding).
    direction = {k: rng.standard_normal(g.shape).astype(np.float32) for k, g in grads.items()}
    values = {k: grad.defaults[k] for k in grads}  # the model's own weights
    step = 3e-4
    plus = grad.run({**feeds, **{k: values[k] + step * direction[k] for k in grads}})["loss"]
    minus = grad.run({**feeds, **{k: values[k] - step * direction[k] for k in grads}})["loss"]
    numeric = (float(plus) - float(minus)) / (2 * step)
    analytic = sum(float(np.sum(grads[k].astype(np.float64) * direction[k])) for k in grads)
    # The CNN's ReLUs and max pools have kinks a step may cross: f32 central
    # differences scatter by ~1.5% there (they converge on the analytic value
    # as the step shrinks, until f32 rounding takes over); the pooling rules
    # are checked exactly in test_pooling_gradient_matches_the_reference.
    tolerance = 0.02 if name in ("cnn", "mobilenet") else 0.01
    assert abs(numeric - analytic) <= tolerance * abs(analytic), (numeric, analytic)


def test_rematerialized_gradient_is_bit_identical(tmp_path):
    rng = np.random.default_rng(7)
    weights = [(rng.standard_normal((32, 32)) * 0.2).astype(np.float32) for _ in range(16)]
    path = residual_chain(tmp_path / "chain.mlir", weights, batch=256)
    rng = np.random.default_rng(4)
    feeds = {"x": rng.standard_normal((256, 32)).astype(np.float32),
             "target": rng.standard_normal((256, 32)).astype(np.float32)}
    options = dict(gradients=True, loss_function="mse", fuse=False)
    plain = ds.cost_report(path, **options)[-1]["memory"]["peak_bytes"]
    remat = ds.cost_report(path, remat_strategy="sqrt", **options)[-1]["memory"]["peak_bytes"]
    assert remat < 0.6 * plain, (remat, plain)
    expected = session(path, **options).run(feeds)
    got = session(path, remat_strategy="sqrt", **options).run(feeds)
    assert expected.keys() == got.keys() and len(got) == 17
    for name in expected:
        assert got[name].tobytes() == expected[name].tobytes(), name


def test_sgd_on_the_compiled_gradient_lowers_the_loss(mlp):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 8)).astype(np.float32)
    t = np.tanh(x @ rng.standard_normal((8, 3)).astype(np.float32))
    grad = session(mlp, gradients=True, loss_function="mse")
    p = mlp_params(rng)
    first = None
    for _ in range(200):
        out = grad.run({"x": x, "target": t, **p})
        first = first if first is not None else float(out["loss"])
        p = {k: v - 0.1 * out[k + ".grad"] for k, v in p.items()}
    assert float(out["loss"]) < 0.1 * first


def named_parameter(rng, name, shape, scale=1.0):
    """A random float constant named `name` (its initializer name: the
    parameter it becomes), reshaped to `shape`."""
    values = ", ".join(f"{v:.4f}" for v in rng.standard_normal(int(np.prod(shape))) * scale)
    flat, dims = f"tensor<{int(np.prod(shape))}xf32>", "x".join(map(str, shape))
    index = f"tensor<{len(shape)}xi64>"
    return [f"  %{name}f = ds.constant dense<[{values}]> : {flat} loc(\"{name}\")",
            f"  %{name}s = ds.constant dense<[{', '.join(map(str, shape))}]> : {index}",
            f"  %{name} = ds.reshape %{name}f, %{name}s : ({flat}, {index}) -> tensor<{dims}xf32>"]


def assert_each_matches_finite_differences(grad, feeds, base, names, rng, step=1e-3):
    """For each parameter on its own: a central difference of the loss along
    a random direction matches the compiled gradient within 1%."""
    for name in names:
        g = base[name + ".grad"].astype(np.float64)
        direction = rng.standard_normal(g.shape).astype(np.float32)
        value = grad.defaults[name]
        plus = float(grad.run({**feeds, name: value + step * direction})["loss"])
        minus = float(grad.run({**feeds, name: value - step * direction})["loss"])
        numeric, analytic = (plus - minus) / (2 * step), float(np.sum(g * direction))
        assert abs(numeric - analytic) <= 0.01 * abs(analytic) + 1e-4, (name, numeric, analytic)


def attention_model(path, causal, mask, extra=""):
    """q, k, v as parameters of one ds.attention (GQA: 4 query heads on 2
    kv heads), optionally causal and with an additive mask input; `extra`:
    more attributes (softcap, window, sinks)."""
    rng = np.random.default_rng(8)
    qt, kt = "tensor<1x4x8x8xf32>", "tensor<1x2x8x8xf32>"
    args = '%m: tensor<1x1x8x8xf32> {ds.name = "mask"}' if mask else ""
    lines = [f"func.func @main({args}) -> ({qt} {{ds.name = \"o\"}}) {{"]
    lines += (named_parameter(rng, "q", [1, 4, 8, 8]) + named_parameter(rng, "k", [1, 2, 8, 8])
              + named_parameter(rng, "v", [1, 2, 8, 8]))
    operands = "%q, %k, %v" + (", %m" if mask else "")
    types = f"{qt}, {kt}, {kt}" + (", tensor<1x1x8x8xf32>" if mask else "")
    listed = (["is_causal"] if causal else []) + ([extra] if extra else [])
    attrs = f" {{{', '.join(listed)}}}" if listed else ""
    lines += [f"  %o = ds.attention {operands}{attrs} : ({types}) -> {qt}",
              f"  return %o : {qt}", "}"]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.mark.parametrize("causal,mask,extra", [
    (True, False, ""), (False, True, ""),
    (False, True, "softcap = 2.0 : f64"),                               # Gemma's score capping
    (True, False, "window = 3 : i64, sink_tokens = 1 : i64"),           # StreamingLLM's pattern
])
def test_attention_gradient_matches_finite_differences(tmp_path, causal, mask, extra):
    path = attention_model(tmp_path / "attention.mlir", causal, mask, extra)
    grad = session(path, gradients=True, loss_function="mse")
    rng = np.random.default_rng(9)
    feeds = {"target": rng.standard_normal((1, 4, 8, 8)).astype(np.float32)}
    if mask:
        feeds["mask"] = np.where(rng.random((1, 1, 8, 8)) < 0.3, -1e4, 0.0).astype(np.float32)
    base = grad.run(feeds)
    assert sorted(k for k in base if k.endswith(".grad")) == ["k.grad", "q.grad", "v.grad"]
    assert_each_matches_finite_differences(grad, feeds, base, ("q", "k", "v"), rng)
    assert_fused_matches_composed(path, feeds, base)


def assert_fused_matches_composed(path, feeds, fused):
    """The fused backward kernel (the default) against the backward composed
    of ds ops, gradient by gradient."""
    composed = session(path, gradients=True, loss_function="mse",
                       fused_attention_grad=False).run(feeds)
    for name in ("q.grad", "k.grad", "v.grad"):
        np.testing.assert_allclose(fused[name], composed[name], rtol=1e-4,
                                   atol=1e-5 * float(np.abs(composed[name]).max()), err_msg=name)


def test_sparse_attention_gradient_matches_finite_differences(tmp_path):
    """ds.sparse_attention (per-head key lists with a repeat, causal): its
    gradient is dense attention's under the mask of the listed keys."""
    rng = np.random.default_rng(21)
    qt, kt = "tensor<1x4x6x8xf32>", "tensor<1x2x10x8xf32>"
    it = "tensor<1x4x6x3xi64>"
    lines = [f'func.func @main(%idx: {it} {{ds.name = "idx"}}) -> ({qt} {{ds.name = "o"}}) {{']
    lines += (named_parameter(rng, "q", [1, 4, 6, 8]) + named_parameter(rng, "k", [1, 2, 10, 8])
              + named_parameter(rng, "v", [1, 2, 10, 8]))
    lines += [f"  %o = ds.sparse_attention %q, %k, %v, %idx {{causal_offset = 4 : i64, is_causal}}"
              f" : ({qt}, {kt}, {kt}, {it}) -> {qt}", f"  return %o : {qt}", "}"]
    path = tmp_path / "sparse.mlir"
    path.write_text("\n".join(lines) + "\n")
    grad = session(str(path), gradients=True, loss_function="mse")
    idx = rng.integers(0, 10, (1, 4, 6, 3)).astype(np.int64)
    idx[0, 0, 0] = [2, 2, 0]  # a key listed twice counts once
    feeds = {"idx": idx, "target": rng.standard_normal((1, 4, 6, 8)).astype(np.float32)}
    base = grad.run(feeds)
    assert sorted(k for k in base if k.endswith(".grad")) == ["k.grad", "q.grad", "v.grad"]
    # Keys no query lists (or only past a diagonal) get no gradient at all.
    listed = np.zeros((2, 10), bool)
    for h in range(4):
        for i in range(6):
            for j in idx[0, h, i]:
                if j <= i + 4:
                    listed[h // 2, j] = True
    assert (~listed).any(), "every key is listed: the check below would be empty"
    assert np.all(base["v.grad"].reshape(2, 10, 8)[~listed] == 0)  # flat parameters
    assert_each_matches_finite_differences(grad, feeds, base, ("q", "k", "v"), rng)
    assert_fused_matches_composed(str(path), feeds, base)


@pytest.mark.parametrize("causal", [False, True])
def test_block_sparse_attention_gradient_matches_finite_differences(tmp_path, causal):
    """ds.block_sparse_attention (a layout per head, blocks of 3 over 7
    queries and 8 keys: partial last blocks, a bool mask on top): its
    gradient is dense attention's under the layout expanded to keys."""
    rng = np.random.default_rng(31)
    qt, kt, lt = "tensor<1x4x7x8xf32>", "tensor<1x2x8x8xf32>", "tensor<4x3x3xi1>"
    layout = rng.random((4, 3, 3)) < 0.6
    layout[:, :, 0] = True  # every query sees something
    text = ", ".join("[" + ", ".join("[" + ", ".join("true" if x else "false" for x in row) + "]"
                                      for row in head) + "]" for head in layout)
    lines = [f'func.func @main(%m: tensor<7x8xi1> {{ds.name = "mask"}}) -> '
             f'({qt} {{ds.name = "o"}}) {{']
    lines += (named_parameter(rng, "q", [1, 4, 7, 8]) + named_parameter(rng, "k", [1, 2, 8, 8])
              + named_parameter(rng, "v", [1, 2, 8, 8]))
    attrs = "block_size = 3 : i64" + (", causal_offset = 1 : i64, is_causal" if causal else "")
    lines += [f"  %l = ds.constant dense<[{text}]> : {lt}",
              f"  %o = ds.block_sparse_attention %q, %k, %v, %l, %m {{{attrs}}}"
              f" : ({qt}, {kt}, {kt}, {lt}, tensor<7x8xi1>) -> {qt}", f"  return %o : {qt}", "}"]
    path = tmp_path / "block_sparse.mlir"
    path.write_text("\n".join(lines) + "\n")
    grad = session(str(path), gradients=True, loss_function="mse")
    mask = rng.random((7, 8)) < 0.8
    mask[:, 0] = True
    feeds = {"mask": mask, "target": rng.standard_normal((1, 4, 7, 8)).astype(np.float32)}
    base = grad.run(feeds)
    assert sorted(k for k in base if k.endswith(".grad")) == ["k.grad", "q.grad", "v.grad"]
    assert_each_matches_finite_differences(grad, feeds, base, ("q", "k", "v"), rng)
    assert_fused_matches_composed(str(path), feeds, base)


def conv_model(path):
    """Two convolutions (stride 2 with padding; dilation 2), ReLU between:
    the second one's input gradient is the transposed convolution, both
    weights' gradients the batch-and-channel-swapped correlation."""
    rng = np.random.default_rng(10)
    lines = ['func.func @main(%x: tensor<2x3x9x9xf32> {ds.name = "x"}) -> (tensor<2x5x1x1xf32> {ds.name = "y"}) {']
    lines += (named_parameter(rng, "w1", [4, 3, 3, 3], 0.3) + named_parameter(rng, "b1", [4], 0.1)
              + named_parameter(rng, "w2", [5, 4, 3, 3], 0.3))
    lines += [
        "  %c1 = ds.conv %x, %w1, %b1 {dilations = array<i64: 1, 1>, group = 1 : i64, "
        "pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<2x3x9x9xf32>, "
        "tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<2x4x5x5xf32>",
        "  %r = ds.unary relu %c1 : (tensor<2x4x5x5xf32>) -> tensor<2x4x5x5xf32>",
        "  %c2 = ds.conv %r, %w2 {dilations = array<i64: 2, 2>, group = 1 : i64, "
        "pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<2x4x5x5xf32>, "
        "tensor<5x4x3x3xf32>) -> tensor<2x5x1x1xf32>",
        "  return %c2 : tensor<2x5x1x1xf32>", "}"]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_convolution_gradients_match_finite_differences(tmp_path):
    path = conv_model(tmp_path / "conv.mlir")
    grad = session(path, gradients=True, loss_function="mse")
    rng = np.random.default_rng(11)
    feeds = {"x": rng.standard_normal((2, 3, 9, 9)).astype(np.float32),
             "target": rng.standard_normal((2, 5, 1, 1)).astype(np.float32)}
    base = grad.run(feeds)
    assert sorted(k for k in base if k.endswith(".grad")) == ["b1.grad", "w1.grad", "w2.grad"]
    assert_each_matches_finite_differences(grad, feeds, base, ("w1", "b1", "w2"), rng)


def test_concat_gradient_is_each_inputs_slice(tmp_path):
    path = tmp_path / "concat.mlir"
    path.write_text("""
func.func @main(%x: tensor<2x8xf32> {ds.name = "x"}) -> (tensor<f32> {ds.name = "loss"}) {
  %a = ds.constant dense<0.5> : tensor<2x3xf32> loc("a")
  %b = ds.constant dense<0.25> : tensor<2x5xf32> loc("b")
  %c = ds.concat %a, %b {axis = -1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
  %t = ds.unary tanh %c : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %m = ds.binary mul %t, %x : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %l = ds.reduce sum %m {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x8xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
""")
    x = np.random.default_rng(12).standard_normal((2, 8)).astype(np.float32)
    out = session(str(path), gradients=True).run({"x": x})
    c = np.concatenate([np.full((2, 3), 0.5), np.full((2, 5), 0.25)], axis=1)
    expected = x * (1 - np.tanh(c) ** 2)
    np.testing.assert_allclose(out["a.grad"], expected[:, :3], rtol=1e-5)
    np.testing.assert_allclose(out["b.grad"], expected[:, 3:], rtol=1e-5)


def constant_parameter(name, values):
    """A float constant named `name` holding `values` (any shape)."""
    shape = values.shape
    flat, dims = f"tensor<{values.size}xf32>", "x".join(map(str, shape))
    index = f"tensor<{len(shape)}xi64>"
    text = ", ".join(f"{float(v):.6e}" for v in values.ravel())
    return [f"  %{name}f = ds.constant dense<[{text}]> : {flat} loc(\"{name}\")",
            f"  %{name}s = ds.constant dense<[{', '.join(map(str, shape))}]> : {index}",
            f"  %{name} = ds.reshape %{name}f, %{name}s : ({flat}, {index}) -> tensor<{dims}xf32>"]


def grouped_conv_model(path):
    """An input parameter through a grouped convolution (2 groups, stride 2)
    and a depthwise one (6 groups, dilation 2): the parameter's gradient is
    the grouped transposed convolution, the weights' the grouped correlation."""
    rng = np.random.default_rng(13)
    lines = ['func.func @main() -> (tensor<2x6x2x2xf32> {ds.name = "y"}) {']
    lines += (named_parameter(rng, "x", [2, 4, 7, 7]) + named_parameter(rng, "w1", [6, 2, 3, 3], 0.3)
              + named_parameter(rng, "b1", [6], 0.1) + named_parameter(rng, "w2", [6, 1, 3, 3], 0.3))
    lines += [
        "  %c1 = ds.conv %x, %w1, %b1 {dilations = array<i64: 1, 1>, group = 2 : i64, "
        "pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<2x4x7x7xf32>, "
        "tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<2x6x4x4xf32>",
        "  %r = ds.unary tanh %c1 : (tensor<2x6x4x4xf32>) -> tensor<2x6x4x4xf32>",
        "  %c2 = ds.conv %r, %w2 {dilations = array<i64: 2, 2>, group = 6 : i64, "
        "pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<2x6x4x4xf32>, "
        "tensor<6x1x3x3xf32>) -> tensor<2x6x2x2xf32>",
        "  return %c2 : tensor<2x6x2x2xf32>", "}"]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_grouped_convolution_gradients_match_finite_differences(tmp_path):
    grad = session(grouped_conv_model(tmp_path / "grouped.mlir"), gradients=True,
                   loss_function="mse")
    rng = np.random.default_rng(14)
    feeds = {"target": rng.standard_normal((2, 6, 2, 2)).astype(np.float32)}
    base = grad.run(feeds)
    names = ("x", "w1", "b1", "w2")
    assert sorted(k for k in base if k.endswith(".grad")) == sorted(n + ".grad" for n in names)
    assert_each_matches_finite_differences(grad, feeds, base, names, rng)


def pool_output_size(size, kernel, stride, begin, end, ceil):
    span = size + begin + end - kernel
    out = (-(-span // stride) if ceil else span // stride) + 1
    if ceil and (out - 1) * stride >= size + begin:  # the last window would start in the padding
        out -= 1
    return out


def pool_backward(x, dy, kind, kernel, stride, pads, include_pad, p=2):
    """The reference: each output's gradient to the first maximum of its
    window (PyTorch's choice among ties), spread over it / its count, or for
    y = (sum |x|^p)^(1/p) weighted by y^(1-p) |x|^(p-1) sign(x)."""
    dx = np.zeros_like(x, dtype=np.float64)
    (top, left, bottom, right), (h, w) = pads, x.shape[2:]
    for n, c, oh, ow in np.ndindex(*dy.shape):
        h0, w0 = oh * stride - top, ow * stride - left
        cells = [(i, j) for i in range(h0, h0 + kernel) for j in range(w0, w0 + kernel)
                 if 0 <= i < h and 0 <= j < w]
        if kind == "max":
            i, j = max(cells, key=lambda p: (x[n, c][p], -cells.index(p)))
            dx[n, c, i, j] += dy[n, c, oh, ow]
            continue
        if kind == "lp":
            window = np.array([float(x[n, c][q]) for q in cells])
            y = np.sum(np.abs(window) ** p) ** (1 / p)
            for (i, j), v in zip(cells, window):
                if y > 0:
                    dx[n, c, i, j] += dy[n, c, oh, ow] * y ** (1 - p) * abs(v) ** (p - 1) * np.sign(v)
            continue
        if include_pad:
            count = ((min(h0 + kernel, h + bottom) - max(h0, -top))
                     * (min(w0 + kernel, w + right) - max(w0, -left)))
        else:
            count = len(cells)
        for i, j in cells:
            dx[n, c, i, j] += dy[n, c, oh, ow] / count
    return dx


@pytest.mark.parametrize("kind,kernel,stride,pads,ceil,include_pad,ties,p", [
    ("max", 3, 2, (1, 1, 1, 1), False, False, False, 2),
    ("max", 3, 2, (0, 0, 0, 0), True, False, False, 2),   # ceil mode: a window past the end
    ("max", 2, 1, (0, 1, 0, 1), False, False, True, 2),   # ties go to the first maximum
    ("avg", 3, 2, (1, 1, 1, 1), False, True, False, 2),
    ("avg", 3, 2, (1, 0, 1, 0), True, False, False, 2),
    ("avg", 2, 2, (0, 0, 0, 0), False, False, False, 2),
    ("lp", 3, 2, (1, 1, 1, 1), False, False, False, 2),
    ("lp", 2, 1, (0, 1, 0, 1), False, False, False, 1),
    ("lp", 3, 2, (0, 0, 0, 0), True, False, False, 3),
])
def test_pooling_gradient_matches_the_reference(tmp_path, kind, kernel, stride, pads, ceil,
                                               include_pad, ties, p):
    rng = np.random.default_rng(15)
    shape = (2, 3, 8, 7)
    x = (rng.integers(0, 3, shape) if ties else rng.standard_normal(shape)).astype(np.float32)
    out = (2, 3) + tuple(pool_output_size(s, kernel, stride, pads[i], pads[i + 2], ceil)
                         for i, s in enumerate(shape[2:]))
    tx, ty = "tensor<2x3x8x7xf32>", f"tensor<{'x'.join(map(str, out))}xf32>"
    lines = [f'func.func @main(%c: {ty} {{ds.name = "c"}}) -> (tensor<f32> {{ds.name = "loss"}}) {{']
    lines += constant_parameter("x", x)
    lines += [
        f"  %y = ds.pool {kind} %x {{ceil_mode = {str(ceil).lower()}, count_include_pad = "
        f"{str(include_pad).lower()}, dilations = array<i64: 1, 1>, kernel_shape = array<i64: "
        f"{kernel}, {kernel}>, p = {p} : i64, pads = array<i64: {', '.join(map(str, pads))}>, strides = "
        f"array<i64: {stride}, {stride}>}} : ({tx}) -> {ty}",
        f"  %m = ds.binary mul %y, %c : ({ty}, {ty}) -> {ty}",
        f"  %l = ds.reduce sum %m {{axes = array<i64: 0, 1, 2, 3>, keepdims = false}} : ({ty}) -> tensor<f32>",
        "  return %l : tensor<f32>", "}"]
    path = tmp_path / "pool.mlir"
    path.write_text("\n".join(lines) + "\n")
    grad = session(str(path), gradients=True)
    dy = rng.standard_normal(out).astype(np.float32)
    got = grad.run({"c": dy})["x.grad"].reshape(shape)  # the flat constant is the parameter
    # ONNX's pads are (top, left, bottom, right).
    expected = pool_backward(x, dy, kind, kernel, stride, (pads[0], pads[1], pads[2], pads[3]),
                             include_pad, p)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind,attrs,derivative", [
    ("hard_swish", "", lambda x: np.where(x < -3, 0.0, np.where(x <= 3, x / 3 + 0.5, 1.0))),
    ("hard_sigmoid", " {alpha = 0.25 : f64, beta = 0.5 : f64}",
     lambda x: np.where((0.25 * x + 0.5 > 0) & (0.25 * x + 0.5 < 1), 0.25, 0.0)),
])
def test_hard_activation_gradients_are_pytorchs(tmp_path, kind, attrs, derivative):
    """MobileNetV3's activations: PyTorch's derivative, corners included."""
    x = np.array([-5, -3, -2.5, -2, -1, 0, 0.5, 1.9, 2, 3, 4.5, 7], np.float32)
    t = "tensor<12xf32>"
    lines = [f'func.func @main(%c: {t} {{ds.name = "c"}}) -> (tensor<f32> {{ds.name = "loss"}}) {{']
    lines += constant_parameter("x", x)
    lines += [f"  %y = ds.unary {kind} %x{attrs} : ({t}) -> {t}",
              f"  %m = ds.binary mul %y, %c : ({t}, {t}) -> {t}",
              f"  %l = ds.reduce sum %m {{axes = array<i64: 0>, keepdims = false}} : ({t}) -> tensor<f32>",
              "  return %l : tensor<f32>", "}"]
    path = tmp_path / "hard.mlir"
    path.write_text("\n".join(lines) + "\n")
    c = np.linspace(0.5, 2.0, 12).astype(np.float32)
    got = session(str(path), gradients=True).run({"c": c})["x.grad"]
    np.testing.assert_allclose(got, c * derivative(x.astype(np.float64)), rtol=1e-6, atol=0)


def test_shared_initializers_train_as_separate_parameters(tmp_path):
    """PyTorch's exporter writes parameters with equal initial values as one
    initializer plus Identity copies; each copy is its own parameter. A
    constant holding -inf (a mask buffer) is not a parameter by default."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    nodes = [helper.make_node("Identity", ["a"], ["b"]),
             helper.make_node("Mul", ["x", "a"], ["xa"]),
             helper.make_node("Mul", ["xa", "b"], ["xab"]),
             helper.make_node("Add", ["xab", "mask"], ["masked"]),
             helper.make_node("Softmax", ["masked"], ["y"], axis=-1)]
    inits = [numpy_helper.from_array(np.full(4, 0.5, np.float32), "a"),
             numpy_helper.from_array(np.array([0, 0, -np.inf, -np.inf], np.float32), "mask")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], inits)
    path = tmp_path / "shared.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    grad = session(str(path), gradients=True, loss_function="mse")
    x = np.array([1.0, -2.0, 3.0, 0.5], np.float32)
    target = np.array([0.2, 0.8, 0.0, 0.0], np.float32)
    out = grad.run({"x": x, "target": target})
    assert sorted(k for k in out if k.endswith(".grad")) == ["a.grad", "b.grad"]
    # y = softmax(x a b + mask): d loss / d a = x b s, d loss / d b = x a s for
    # s = d loss / d (x a b); with a = b both are x * 0.5 * s.
    np.testing.assert_array_equal(out["a.grad"], out["b.grad"])
    assert np.any(out["a.grad"] != 0)
    # Training them moves both, independently of each other.
    trained = ds.TrainingSession(str(path), optimizer="sgd", optimizer_options={"lr": 0.1},
                                 loss_function="mse")
    trained.set_parameters({"b": np.full(4, 2.0, np.float32)})
    trained.step({"x": x, "target": target})
    after = trained.parameters()
    assert not np.array_equal(after["a"], after["b"])
    assert set(after) == {"a", "b"}


def test_fake_quantization_passes_the_straight_through_gradient(tmp_path):
    """dequantize(quantize(w)) with per-channel scales and zero points: the
    gradient is PyTorch FakeQuantize's, dY where round(w / s) + zp lies in
    int8's range and 0 where it clips."""
    w = np.array([[0.1, -0.2, 7.0], [0.3, -8.0, 0.05], [1.0, 2.0, 3.0], [-1.0, -5.2, -3.9]],
                 np.float32)
    scale = np.array([0.05, 0.04, 0.03], np.float32)
    zero = np.array([0, 1, -1], np.int8)
    path = tmp_path / "fq.mlir"
    lines = ['func.func @main(%x: tensor<2x4xf32> {ds.name = "x"}) -> (tensor<f32> {ds.name = "loss"}) {']
    lines += constant_parameter("w", w)
    lines += [
        "  %s = ds.constant dense<[5.000000e-02, 4.000000e-02, 3.000000e-02]> : tensor<3xf32>",
        "  %zp = ds.constant dense<[0, 1, -1]> : tensor<3xi8>",
        "  %q = ds.quantize %w, %s, %zp {axis = 1 : i64, block_size = 0 : i64} : "
        "(tensor<4x3xf32>, tensor<3xf32>, tensor<3xi8>) -> tensor<4x3xi8>",
        "  %dq = ds.dequantize %q, %s, %zp {axis = 1 : i64, block_size = 0 : i64} : "
        "(tensor<4x3xi8>, tensor<3xf32>, tensor<3xi8>) -> tensor<4x3xf32>",
        "  %y = ds.matmul %x, %dq : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>",
        "  %y2 = ds.binary mul %y, %y : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>",
        "  %l = ds.reduce sum %y2 {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x3xf32>) -> tensor<f32>",
        "  return %l : tensor<f32>", "}"]
    path.write_text("\n".join(lines) + "\n")
    x = np.random.default_rng(16).standard_normal((2, 4)).astype(np.float32)
    got = session(str(path), gradients=True).run({"x": x})["w.grad"].reshape(4, 3)
    levels = np.round(w / scale) + zero
    fake = (np.clip(levels, -128, 127) - zero) * scale
    y = x.astype(np.float64) @ fake
    expected = np.where((levels >= -128) & (levels <= 127), x.T.astype(np.float64) @ (2 * y), 0.0)
    assert (expected == 0).sum() == 4, "the case clips four weights"
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_float8_fake_quantization_passes_gradients_inside_its_range(tmp_path):
    """dequantize(quantize(w)) to f8E4M3FN, saturating: w / s rounds to fp8
    (440 -> 448, 33 -> 32) and clips at 448; the gradient passes where
    |w / s| <= 448 and is 0 beyond."""
    path = tmp_path / "fp8.mlir"
    path.write_text("""
func.func @main(%x: tensor<6xf32> {ds.name = "x"}) -> (tensor<f32> {ds.name = "loss"}) {
  %w = ds.constant dense<[0.5, -1.0, 44.0, 45.0, -50.0, 3.3]> : tensor<6xf32> loc("w")
  %s = ds.constant dense<0.1> : tensor<f32>
  %q = ds.quantize %w, %s {axis = 1 : i64, block_size = 0 : i64, saturate} : (tensor<6xf32>, tensor<f32>) -> tensor<6xf8E4M3FN>
  %dq = ds.dequantize %q, %s {axis = 1 : i64, block_size = 0 : i64} : (tensor<6xf8E4M3FN>, tensor<f32>) -> tensor<6xf32>
  %y = ds.binary mul %x, %dq : (tensor<6xf32>, tensor<6xf32>) -> tensor<6xf32>
  %l = ds.reduce sum %y {axes = array<i64: 0>, keepdims = false} : (tensor<6xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
""")
    x = np.arange(1, 7, dtype=np.float32)
    out = session(str(path), gradients=True).run({"x": x})
    quantized = np.array([0.5, -1.0, 44.8, 44.8, -44.8, 3.2])
    np.testing.assert_allclose(out["loss"], np.dot(x, quantized), rtol=1e-6)
    np.testing.assert_array_equal(out["w.grad"], [1, 2, 3, 0, 0, 6])


@pytest.mark.parametrize("kind,axes,keepdims", [("max", [1], False), ("min", [0, 2], True),
                                                ("max", [0, 1, 2], False)])
def test_max_min_reduction_gradient_splits_among_ties(tmp_path, kind, axes, keepdims):
    """ds.reduce max / min: the gradient goes to the elements equal to the
    extreme, split evenly among ties (PyTorch's amax / amin)."""
    rng = np.random.default_rng(22)
    x = rng.integers(0, 3, (3, 4, 5)).astype(np.float32)  # many ties
    out_shape = [1 if i in axes else d for i, d in enumerate(x.shape)] if keepdims else \
        [d for i, d in enumerate(x.shape) if i not in axes]
    ty = f"tensor<{'x'.join(map(str, out_shape))}xf32>" if out_shape else "tensor<f32>"
    lines = [f'func.func @main(%c: {ty} {{ds.name = "c"}}) -> (tensor<f32> {{ds.name = "loss"}}) {{']
    lines += constant_parameter("x", x)
    all_axes = f"array<i64: {', '.join(map(str, range(len(out_shape))))}>" if out_shape else "array<i64>"
    lines += [
        f"  %y = ds.reduce {kind} %x {{axes = array<i64: {', '.join(map(str, axes))}>, keepdims = "
        f"{str(keepdims).lower()}}} : (tensor<3x4x5xf32>) -> {ty}",
        f"  %m = ds.binary mul %y, %c : ({ty}, {ty}) -> {ty}",
        f"  %l = ds.reduce sum %m {{axes = {all_axes}, keepdims = false}} : ({ty}) -> tensor<f32>",
        "  return %l : tensor<f32>", "}"]
    path = tmp_path / "reduce.mlir"
    path.write_text("\n".join(lines) + "\n")
    dy = rng.standard_normal(out_shape).astype(np.float32)
    got = session(str(path), gradients=True).run({"c": dy})["x.grad"].reshape(x.shape)
    extreme = (x.max if kind == "max" else x.min)(axis=tuple(axes), keepdims=True)
    hit = x == extreme
    spread = np.reshape(dy, extreme.shape) / hit.sum(axis=tuple(axes), keepdims=True)
    np.testing.assert_allclose(got, np.where(hit, spread, 0), rtol=1e-6, atol=1e-7)
    assert (hit.sum(axis=tuple(axes)) > 1).any(), "no ties: the split goes unchecked"
