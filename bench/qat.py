#!/usr/bin/env python3
"""Quantization-aware training in ds next to PyTorch's, and both next to
post-training quantization of the same weights.

A small CNN (QuantStub, Conv-ReLU, Conv-ReLU stride 2, global average pool,
Linear, DeQuantStub) classifies synthetic 12 x 12 images of 10 classes (a
random smooth template per class, random amplitude, Gaussian noise). PyTorch
1.13 (Debian's, under /usr/bin/python3, in a worker process) trains it in
f32, then:

- PTQ: ds quantizes the exported f32 model statically (calibrated on training
  images) and runs it with integer kernels; PyTorch converts its observed
  model (eager-mode post-training quantization, qnnpack).
- QAT: PyTorch prepares the trained model for QAT (fused Conv-ReLU,
  FakeQuantize on weights and activations), observes a few batches, freezes
  the scales and exports the fake-quantized model to ONNX (QuantizeLinear /
  DequantizeLinear pairs). ds trains that ONNX file (straight-through
  gradients through the fake quantization) while PyTorch trains its own
  copy on the same batches, taking turns; ds writes the trained weights back
  into the ONNX file (TrainingSession.save_onnx), compiles it to integer
  kernels and measures accuracy; PyTorch converts its QAT model.

  python3 bench/qat.py [--float-steps 400] [--qat-steps 150] [--threads 2]

Prints the QAT loss curves (ds and PyTorch) at a few steps with their largest
relative difference, and the test accuracy of each model.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

import ds

WORKER = r'''
import copy, json, sys
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
import torch.ao.quantization as tq

cfg = json.loads(sys.stdin.readline())
torch.set_num_threads(cfg["threads"])
torch.manual_seed(0)
torch.backends.quantized.engine = "qnnpack"
data = np.load(cfg["data"])
xs, ys, test_x, test_y = data["xs"], data["ys"], data["test_x"], data["test_y"]


class QLinear(nn.Module):
    """A Linear between QuantStub and DeQuantStub: eager-mode QAT quantizes its
    input, weight and output; what is around it stays f32."""
    def __init__(self, inputs, outputs):
        super().__init__()
        self.quant, self.lin, self.dequant = tq.QuantStub(), nn.Linear(inputs, outputs), tq.DeQuantStub()

    def forward(self, x):
        return self.dequant(self.lin(self.quant(x)))


class Encoder(nn.Module):
    """Token and position embeddings, one pre-norm block (self-attention, GELU
    MLP), mean pool, classifier; every Linear quantized."""
    def __init__(self, vocab=10, seq=12, d=32, heads=2, classes=8):
        super().__init__()
        self.d, self.h, self.seq = d, heads, seq
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Parameter(torch.randn(seq, d) * 0.1)
        self.ln1, self.ln2, self.ln = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = QLinear(d, 3 * d), QLinear(d, d)
        self.fc, self.out, self.head = QLinear(d, 4 * d), QLinear(4 * d, d), QLinear(d, classes)

    def forward(self, idx):
        b, d, h = idx.shape[0], self.d, self.h
        x = self.tok(idx) + self.pos
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (t.reshape(b, self.seq, h, d // h).transpose(1, 2) for t in (q, k, v))
        att = torch.softmax(q @ k.transpose(-2, -1) * (1.0 / (d // h) ** 0.5), -1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, self.seq, d))
        x = x + self.out(F.gelu(self.fc(self.ln2(x))))
        return self.head(self.ln(x).mean(1))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
        self.c1, self.r1 = nn.Conv2d(1, 8, 3, padding=1), nn.ReLU()
        self.c2, self.r2 = nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU()
        self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(16, 10)

    def forward(self, x):
        x = self.quant(x)
        x = self.r2(self.c2(self.r1(self.c1(x))))
        return self.dequant(self.fc(torch.flatten(self.pool(x), 1)))


def accuracy(model):
    with torch.no_grad():
        return float((model(torch.tensor(test_x)).argmax(1).numpy() == test_y).mean())


def train_step(model, opt, i):
    opt.zero_grad()
    loss = F.cross_entropy(model(torch.tensor(xs[i])), torch.tensor(ys[i]))
    loss.backward()
    opt.step()
    return loss.item()


def prepared(model):
    """A QAT copy of `model` with scales observed on a few batches, then frozen."""
    qat = copy.deepcopy(model).train()
    if cfg["model"] == "cnn":
        qat = tq.fuse_modules_qat(qat, [["c1", "r1"], ["c2", "r2"]])
    qconfig = tq.QConfig(activation=tq.default_fake_quant, weight=tq.default_weight_fake_quant)
    for module in ([qat] if cfg["model"] == "cnn" else
                   [m for m in qat.modules() if isinstance(m, QLinear)]):
        module.qconfig = qconfig  # the encoder quantizes its Linears only
    tq.prepare_qat(qat, inplace=True)
    with torch.no_grad():
        for i in range(cfg["observe_batches"]):
            qat(torch.tensor(xs[i]))
    qat.apply(tq.disable_observer)
    return qat


def ptq_accuracy(model):
    return accuracy(tq.convert(prepared(model).eval(), inplace=False))


model = Net() if cfg["model"] == "cnn" else Encoder()
opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=0.9)
for i in range(cfg["float_steps"]):
    train_step(model, opt, i % len(xs))
torch.onnx.export(model, (torch.tensor(xs[0]),), cfg["float_onnx"], input_names=["x"],
                  output_names=["logits"], opset_version=13)
# The same weights trained on in f32 for as many steps as QAT takes: what
# QAT's extra steps are worth without quantization.
longer = copy.deepcopy(model)
opt = torch.optim.SGD(longer.parameters(), lr=cfg["qat_lr"], momentum=0.9)
for step in range(cfg["qat_steps"]):
    train_step(longer, opt, (cfg["float_steps"] + step) % len(xs))
torch.onnx.export(longer, (torch.tensor(xs[0]),), cfg["longer_onnx"], input_names=["x"],
                  output_names=["logits"], opset_version=13)
qat = prepared(model)
torch.onnx.export(qat, (torch.tensor(xs[0]),), cfg["qat_onnx"], input_names=["x"],
                  output_names=["logits"], opset_version=13, do_constant_folding=False)
print(json.dumps({"float": accuracy(model), "ptq": ptq_accuracy(model),
                  "longer": accuracy(longer), "longer_ptq": ptq_accuracy(longer),
                  "parameters": [n for n, _ in qat.named_parameters()]}), flush=True)
qat.train()
opt = torch.optim.SGD(qat.parameters(), lr=cfg["qat_lr"], momentum=0.9)
for line in sys.stdin:
    if line.strip() == "done":
        break
    print(json.dumps(train_step(qat, opt, int(line))), flush=True)
print(json.dumps(accuracy(tq.convert(qat.eval(), inplace=False))), flush=True)
'''


def make_sequences(rng, count, vocab=10, seq=12, classes=8):
    """Tokens; the label is the most frequent of tokens 0..classes-1 (the
    smallest on ties)."""
    tokens = rng.integers(0, vocab, (count, seq))
    counts = np.stack([(tokens == c).sum(1) for c in range(classes)], axis=1)
    return tokens.astype(np.int64), counts.argmax(1).astype(np.int64)


def make_data(rng, count, templates):
    labels = rng.integers(0, len(templates), count)
    amplitude = rng.uniform(0.5, 1.5, (count, 1, 1, 1))
    images = templates[labels] * amplitude + rng.normal(0, 0.8, (count, 1, 12, 12))
    return images.astype(np.float32), labels.astype(np.int64)


def accuracy(session, test_x, test_y, batch):
    right = 0
    for start in range(0, len(test_x), batch):
        logits = next(iter(session.run({"x": test_x[start:start + batch]}).values()))
        right += int((logits.argmax(1) == test_y[start:start + batch]).sum())
    return right / len(test_x)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--float-steps", type=int, default=400)
    parser.add_argument("--qat-steps", type=int, default=150)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", nargs="+", choices=["cnn", "encoder"],
                        default=["cnn", "encoder"])
    parser.add_argument("--keep", metavar="DIR",
                        help="keep the ONNX files (f32, fake-quantized, trained) in DIR")
    args = parser.parse_args()
    if subprocess.run(["/usr/bin/python3", "-c", "import torch"], capture_output=True).returncode:
        sys.exit("needs PyTorch for /usr/bin/python3 (apt install python3-torch)")
    for model in args.model:
        run(args, model)


def run(args, model):
    rng = np.random.default_rng(0)
    batch = 32
    if model == "cnn":
        # Smooth class templates: noise blurred by a 3 x 3 box, twice.
        templates = rng.normal(0, 1, (10, 1, 12, 12))
        for _ in range(2):
            padded = np.pad(templates, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
            templates = sum(padded[:, :, i:i + 12, j:j + 12]
                            for i in range(3) for j in range(3)) / 9
        templates /= templates.std(axis=(1, 2, 3), keepdims=True)
        train_x, train_y = make_data(rng, 200 * batch, templates)
        test_x, test_y = make_data(rng, 64 * batch, templates)
    else:
        train_x, train_y = make_sequences(rng, 200 * batch)
        test_x, test_y = make_sequences(rng, 64 * batch)
    xs = train_x.reshape((200, batch) + train_x.shape[1:])
    ys = train_y.reshape(200, batch)
    with tempfile.TemporaryDirectory(prefix="ds-qat-") as scratch:
        paths = {k: os.path.join(scratch, k) for k in
                 ("data.npz", "float.onnx", "longer.onnx", "qat.onnx", "trained.onnx")}
        np.savez(paths["data.npz"], xs=xs, ys=ys, test_x=test_x, test_y=test_y)
        worker = subprocess.Popen(
            ["/usr/bin/python3", "-W", "ignore", "-c", WORKER], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"))
        worker.stdin.write(json.dumps({
            "model": model, "threads": args.threads, "data": paths["data.npz"],
            "lr": 0.05, "qat_lr": 0.01,
            "float_steps": args.float_steps, "observe_batches": 8,
            "qat_steps": args.qat_steps, "float_onnx": paths["float.onnx"],
            "longer_onnx": paths["longer.onnx"], "qat_onnx": paths["qat.onnx"]}) + "\n")
        worker.stdin.flush()
        theirs = json.loads(worker.stdout.readline())

        calibration = [{"x": xs[i]} for i in range(8)]
        ours_f32, ours_ptq = {}, {}
        for name in ("float", "longer"):
            ours_f32[name] = accuracy(ds.load(paths[name + ".onnx"], num_threads=args.threads),
                                      test_x, test_y, batch)
            ours_ptq[name] = accuracy(ds.load(paths[name + ".onnx"], quantize="static",
                                              calibration_data=calibration,
                                              num_threads=args.threads),
                                      test_x, test_y, batch)

        session = ds.TrainingSession(paths["qat.onnx"], optimizer="sgd",
                                     optimizer_options={"lr": 0.01, "momentum": 0.9},
                                     loss_function="cross-entropy",
                                     gradient_parameters=theirs["parameters"],
                                     num_threads=args.threads)
        ours, their_losses = [], []
        for step in range(args.qat_steps):
            i = (args.float_steps + step) % len(xs)
            ours.append(session.step({"x": xs[i], "labels": ys[i]}))
            worker.stdin.write(f"{i}\n")
            worker.stdin.flush()
            their_losses.append(json.loads(worker.stdout.readline()))
        worker.stdin.write("done\n")
        worker.stdin.flush()
        qat_theirs = json.loads(worker.stdout.readline())
        worker.wait()
        session.save_onnx(paths["trained.onnx"])
        qat_ds = accuracy(ds.load(paths["trained.onnx"], num_threads=args.threads), test_x,
                          test_y, batch)
        if args.keep:
            os.makedirs(args.keep, exist_ok=True)
            for name in ("float.onnx", "longer.onnx", "qat.onnx", "trained.onnx"):
                shutil.copy(paths[name], os.path.join(args.keep, f"{model}.{name}"))

    print(f"QAT of the exported fake-quantized {model}, {args.qat_steps} SGD steps after "
          f"{args.float_steps} f32 steps, batch {batch}, {args.threads} threads\n")
    print("| QAT step | ds loss | PyTorch loss |")
    print("|---:|---:|---:|")
    for i in sorted({0, 9, 49, args.qat_steps - 1}):
        if i < args.qat_steps:
            print(f"| {i + 1} | {ours[i]:.6f} | {their_losses[i]:.6f} |")
    diffs = [abs(a - b) / abs(b) for a, b in zip(ours, their_losses)]
    apart = next((i for i, d in enumerate(diffs) if d > 1e-4), None)
    # A value on a rounding boundary of a fake quantization (f32 sums in
    # another order) sends the two trajectories apart from there on.
    print(f"\nlargest relative difference of the QAT losses: {max(diffs):.2e}; "
          + ("within 1e-4 at every step" if apart is None else
             f"within {max(diffs[:apart] or [0]):.1e} until step {apart + 1}, where they part")
          + "\n")
    print("| model | ds test accuracy | PyTorch test accuracy |")
    print("|---|---:|---:|")
    total = args.float_steps + args.qat_steps
    print(f"| f32, {args.float_steps} steps | {ours_f32['float']:.4f} | {theirs['float']:.4f} |")
    print(f"| int8, post-training quantization of those weights | {ours_ptq['float']:.4f} | "
          f"{theirs['ptq']:.4f} |")
    print(f"| f32, {total} steps | {ours_f32['longer']:.4f} | {theirs['longer']:.4f} |")
    print(f"| int8, post-training quantization of those weights | {ours_ptq['longer']:.4f} | "
          f"{theirs['longer_ptq']:.4f} |")
    print(f"| int8, {args.float_steps} f32 steps + {args.qat_steps} QAT steps | {qat_ds:.4f} | "
          f"{qat_theirs:.4f} |\n")


if __name__ == "__main__":
    main()
