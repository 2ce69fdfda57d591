"""ds.TrainingSession: training steps compiled by ds (ds-autodiff +
ds-optimizer-step) against the same optimizers written in numpy (PyTorch's
SGD with momentum and AdamW update rules), batches in any order, learning-rate
changes between steps, and checkpoints that survive a crash mid-write and
refuse torn, corrupted or foreign files."""

import os

import numpy as np
import pytest

import ds
from test_autodiff import MLP, mlp_backward, mlp_forward


@pytest.fixture
def mlp(tmp_path):
    path = tmp_path / "mlp.mlir"
    path.write_text(MLP)
    return str(path)


def initial():
    return {"w1": np.full((8, 16), 0.1, np.float32), "b1": np.full(16, 0.01, np.float32),
            "w2": np.full((16, 3), -0.2, np.float32)}


def batches(count, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((4, 8)).astype(np.float32),
             rng.standard_normal((4, 3)).astype(np.float32)) for _ in range(count)]


def reference(optimizer, options, data, rates):
    """PyTorch's update rules in float64 numpy."""
    p = {k: v.astype(np.float64) for k, v in initial().items()}
    state = {k: [np.zeros_like(v), np.zeros_like(v)] for k, v in p.items()}
    losses = []
    for t, ((x, target), lr) in enumerate(zip(data, rates), start=1):
        a, y = mlp_forward(x, p)
        d = y - target
        losses.append((d * d).mean())
        grads = mlp_backward(x, p, a, 2 * d / d.size)
        for k in p:
            g = grads[k]
            if optimizer == "sgd":
                g = g + options.get("weight_decay", 0.0) * p[k]
                buf = state[k][0] = options["momentum"] * state[k][0] + g
                p[k] = p[k] - lr * buf
            else:
                b1, b2, eps, wd = options["beta1"], options["beta2"], options["eps"], options["weight_decay"]
                m = state[k][0] = b1 * state[k][0] + (1 - b1) * g
                v = state[k][1] = b2 * state[k][1] + (1 - b2) * g * g
                p[k] = p[k] * (1 - lr * wd) - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return losses, p


@pytest.mark.parametrize("optimizer,options", [
    ("sgd", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}),
    ("adamw", {"lr": 0.01, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8, "weight_decay": 0.05}),
])
def test_steps_match_the_optimizer_rules(mlp, optimizer, options):
    session = ds.TrainingSession(mlp, optimizer=optimizer, optimizer_options=options,
                                 loss_function="mse")
    assert session.batch_inputs == ["x", "target"]
    data = batches(30)
    rates = [options["lr"]] * 20 + [options["lr"] / 10] * 10  # a step schedule
    losses = []
    for (x, target), lr in zip(data, rates):
        session.learning_rate = lr
        losses.append(session.step({"x": x, "target": target}))
    expected, params = reference(optimizer, options, data, rates)
    np.testing.assert_allclose(losses, expected, rtol=2e-4)
    for name, value in session.parameters().items():
        np.testing.assert_allclose(value, params[name], rtol=2e-3, atol=1e-5)
    assert session.steps_done == 30 and losses[-1] < losses[0]


def test_checkpoint_resumes_the_same_trajectory(mlp, tmp_path):
    options = {"lr": 0.01}
    data = batches(20, seed=1)
    straight = ds.TrainingSession(mlp, optimizer="adamw", optimizer_options=options,
                                  loss_function="mse")
    expected = [straight.step({"x": x, "target": t}) for x, t in data]

    first = ds.TrainingSession(mlp, optimizer="adamw", optimizer_options=options,
                               loss_function="mse")
    for x, t in data[:10]:
        first.step({"x": x, "target": t})
    path = tmp_path / "run.ckpt"
    first.save(path)
    resumed = ds.TrainingSession(mlp, optimizer="adamw", optimizer_options=options,
                                 loss_function="mse")
    resumed.load(path)
    assert resumed.steps_done == 10
    got = [resumed.step({"x": x, "target": t}) for x, t in data[10:]]
    assert got == expected[10:]  # bit for bit: parameters, moments and step count restored


def test_batches_in_any_order(mlp):
    data = batches(8, seed=2)
    order = [3, 1, 7, 0, 6, 2, 5, 4]  # the application's curriculum
    session = ds.TrainingSession(mlp, optimizer="sgd", optimizer_options={"lr": 0.05},
                                 loss_function="mse")
    losses = [session.step({"x": data[i][0], "target": data[i][1]}) for i in order]
    expected, _ = reference("sgd", {"momentum": 0.0}, [data[i] for i in order], [0.05] * 8)
    np.testing.assert_allclose(losses, expected, rtol=2e-4)


def test_torn_corrupted_and_foreign_checkpoints_are_refused(mlp, tmp_path):
    session = ds.TrainingSession(mlp, optimizer="sgd", optimizer_options={"lr": 0.05},
                                 loss_function="mse")
    x, t = batches(1)[0]
    session.step({"x": x, "target": t})
    path = tmp_path / "run.ckpt"
    session.save(path)
    good = path.read_bytes()
    before = session.parameters()

    (tmp_path / "torn.ckpt").write_bytes(good[: len(good) // 2])
    with pytest.raises(ds.CheckpointError, match="not a readable checkpoint"):
        session.load(tmp_path / "torn.ckpt")
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF
    (tmp_path / "flipped.ckpt").write_bytes(bytes(flipped))
    with pytest.raises(ds.CheckpointError):
        session.load(tmp_path / "flipped.ckpt")
    adamw = ds.TrainingSession(mlp, optimizer="adamw", loss_function="mse")
    with pytest.raises(ds.CheckpointError, match="another model"):
        adamw.load(path)
    for name, value in session.parameters().items():  # nothing changed
        assert np.array_equal(value, before[name])



BIG_MLP = """
func.func @main(%x: tensor<64x512xf32> {ds.name = "x"}) -> (tensor<64x512xf32> {ds.name = "y"}) {
  %w = ds.constant dense<0.01> : tensor<512x512xf32> loc("w")
  %y = ds.matmul %x, %w : (tensor<64x512xf32>, tensor<512x512xf32>) -> tensor<64x512xf32>
  return %y : tensor<64x512xf32>
}
"""

CRASHING_WRITER = """
import sys, numpy as np, ds
session = ds.TrainingSession(sys.argv[1], optimizer="adamw", loss_function="mse")
x = np.ones((64, 512), np.float32)
t = np.zeros((64, 512), np.float32)
print("ready", flush=True)
while True:
    session.step({"x": x, "target": t})
    session.save(sys.argv[2])
"""


def test_a_crash_while_saving_leaves_a_whole_checkpoint(tmp_path):
    """A writer killed (SIGKILL) at random points of its save loop: the
    checkpoint on disk is always the previous one or the new one, whole; only
    the killed writer's temporary file may be left beside it."""
    import signal
    import subprocess
    import sys
    import time
    model = tmp_path / "big.mlir"
    model.write_text(BIG_MLP)
    path = tmp_path / "run.ckpt"
    script = tmp_path / "writer.py"
    script.write_text(CRASHING_WRITER)
    reader = ds.TrainingSession(str(model), optimizer="adamw", loss_function="mse")
    rng = np.random.default_rng(0)
    steps = []
    for attempt in range(4):
        child = subprocess.Popen([sys.executable, str(script), str(model), str(path)],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.3 + rng.uniform(0, 0.5))  # several saves of ~3 MB each
        child.send_signal(signal.SIGKILL)
        child.wait()
        reader.load(path)  # never torn
        steps.append(reader.steps_done)
    assert all(s > 0 for s in steps)
    leftovers = [f for f in os.listdir(tmp_path) if f.startswith(".ds-ckpt-")]
    assert len(leftovers) <= 4, leftovers


def test_bad_arguments(mlp):
    with pytest.raises(ds.CompileError, match="optimizer 'lion' is not available"):
        ds.TrainingSession(mlp, optimizer="lion", loss_function="mse")
    with pytest.raises(ValueError, match="unknown optimizer options"):
        ds.TrainingSession(mlp, optimizer="sgd", optimizer_options={"rate": 1},
                           loss_function="mse")
    session = ds.TrainingSession(mlp, optimizer="sgd", loss_function="mse")
    x, t = batches(1)[0]
    with pytest.raises(ValueError, match="which the session carries"):
        session.step({"x": x, "target": t, "w1": np.zeros((8, 16), np.float32)})
    with pytest.raises(ValueError, match="is float32\\[8, 16\\]"):
        session.set_parameters({"w1": np.zeros((8, 15), np.float32)})


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_training_follows_fp32(mlp, precision):
    """fp32 master weights (the parameters stay float32), contractions in
    16 bits: the loss curve stays within 1% of fp32's."""
    data = batches(60, seed=3)
    curves = {}
    for p in ("fp32", precision):
        session = ds.TrainingSession(mlp, optimizer="adamw", optimizer_options={"lr": 0.01},
                                     loss_function="mse", precision=p)
        curves[p] = [session.step({"x": x, "target": t}) for x, t in data]
        assert all(v.dtype == np.float32 for v in session.parameters().values())
    np.testing.assert_allclose(curves[precision], curves["fp32"], rtol=1e-2)


def test_loss_scaler_state_machine():
    scaler = ds.LossScaler(initial=2.0 ** 16, growth_interval=3)
    trace = []
    for finite in [True, False, False, True, True, True, True, False, True]:
        scaler.update(finite)
        trace.append(scaler.scale)
    assert trace == [2 ** 16, 2 ** 15, 2 ** 14, 2 ** 14, 2 ** 14, 2 ** 15, 2 ** 15, 2 ** 14, 2 ** 14]
    assert scaler.skipped_steps == 3
    default = ds.LossScaler()
    assert (default.scale, default.growth_interval) == (65536.0, 2000)
    for _ in range(1999):
        default.update(True)
    assert default.scale == 65536.0
    default.update(True)
    assert default.scale == 131072.0


def test_fp16_overflow_skips_the_step(mlp):
    """fp16 with dynamic loss scaling: an overflowing batch (inputs beyond
    fp16's range) leaves parameters, moments and the step count unchanged and
    halves the scale; training goes on and follows fp32."""
    session = ds.TrainingSession(mlp, optimizer="adamw", optimizer_options={"lr": 0.01},
                                 loss_function="mse", precision="fp16")
    assert session.loss_scaler is not None and "loss_scale" not in session.batch_inputs
    data = batches(40, seed=4)
    for x, t in data[:5]:
        session.step({"x": x, "target": t})
    before, moments = session.parameters(), session.optimizer_state()
    steps, scale, skipped = session.steps_done, session.loss_scaler.scale, session.loss_scaler.skipped_steps
    x, t = data[5]
    session.step({"x": x * 1e6, "target": t})  # overflows in fp16
    assert session.loss_scaler.skipped_steps == skipped + 1
    assert session.loss_scaler.scale == scale / 2 and session.steps_done == steps
    for name, value in session.parameters().items():
        assert np.array_equal(value, before[name])
    for name, value in session.optimizer_state().items():
        assert np.array_equal(value, moments[name])
    losses = [session.step({"x": x, "target": t}) for x, t in data[6:]]
    reference_session = ds.TrainingSession(mlp, optimizer="adamw", optimizer_options={"lr": 0.01},
                                           loss_function="mse")
    for x, t in data[:5]:
        reference_session.step({"x": x, "target": t})
    expected = [reference_session.step({"x": x, "target": t}) for x, t in data[6:]]
    skipped_later = session.loss_scaler.skipped_steps - skipped - 1
    assert skipped_later == 0, "the scale had settled"
    np.testing.assert_allclose(losses, expected, rtol=2e-2)


def shared_and_quantized_model(path):
    """y = DQ(Q(x)) @ DQ(Q(w)) + b with w's copy v (Identity, as PyTorch's
    exporter writes equal initial values) added: a fake-quantized layer for
    quantization-aware training."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(21)
    nodes = [helper.make_node("Identity", ["w"], ["v"]),
             helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
             helper.make_node("QuantizeLinear", ["w", "ws", "wz"], ["wq"]),
             helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["wd"]),
             helper.make_node("MatMul", ["xd", "wd"], ["h"]),
             helper.make_node("MatMul", ["x", "v"], ["g"]),
             helper.make_node("Add", ["h", "g"], ["hg"]),
             helper.make_node("Add", ["hg", "b"], ["y"])]
    inits = [numpy_helper.from_array((rng.standard_normal((8, 3)) * 0.3).astype(np.float32), "w"),
             numpy_helper.from_array(np.full(3, 0.1, np.float32), "b"),
             numpy_helper.from_array(np.array(0.02, np.float32), "xs"),
             numpy_helper.from_array(np.array(128, np.uint8), "xz"),
             numpy_helper.from_array(np.array(0.01, np.float32), "ws"),
             numpy_helper.from_array(np.array(0, np.int8), "wz")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 3])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return str(path)


def test_trained_weights_are_written_back_into_the_onnx_model(tmp_path):
    """Quantization-aware training on a QDQ model, then save_onnx: the trained
    file holds the session's parameters (the Identity copy as an initializer
    of its own) and compiles and runs like any model."""
    import onnx
    from onnx import numpy_helper
    source = shared_and_quantized_model(tmp_path / "qdq.onnx")
    session = ds.TrainingSession(source, optimizer="sgd", optimizer_options={"lr": 0.05},
                                 loss_function="mse")
    assert sorted(session.parameters()) == ["b", "v", "w"]
    rng = np.random.default_rng(22)
    x = rng.uniform(-1, 1, (4, 8)).astype(np.float32)
    target = rng.uniform(-1, 1, (4, 3)).astype(np.float32)
    losses = [session.step({"x": x, "target": target}) for _ in range(20)]
    assert losses[-1] < 0.5 * losses[0]
    trained = tmp_path / "trained.onnx"
    session.save_onnx(trained)
    model = onnx.load(str(trained))
    weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for name, value in session.parameters().items():
        assert np.array_equal(weights[name], value), name
    assert "Identity" not in [n.op_type for n in model.graph.node]
    # The trained model: the last step's loss was before its update; one more
    # forward pass reproduces the session's next loss.
    y = ds.load(str(trained)).run({"x": x})["y"]
    next_loss = session.step({"x": x, "target": target})
    assert abs(float(np.mean((y - target) ** 2)) - next_loss) <= 1e-4 * next_loss + 1e-6

    with pytest.raises(ds.CompileError, match="is the model being read"):
        session.save_onnx(source)
    assert onnx.load(source).graph.initializer[0].name == "w"  # untouched
