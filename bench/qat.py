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
import json, sys
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
import torch.ao.quantization as tq

cfg = json.loads(sys.stdin.readline())
torch.set_num_threads(cfg["threads"])
torch.manual_seed(0)
torch.backends.quantized.engine = "qnnpack"
data = np.load(cfg["data"])
xs, ys, test_x, test_y = data["xs"], data["ys"], data["test_x"], data["test_y"]


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


model = Net()
opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=0.9)
for i in range(cfg["float_steps"]):
    train_step(model, opt, i % len(xs))
torch.onnx.export(model, (torch.tensor(xs[0]),), cfg["float_onnx"], input_names=["x"],
                  output_names=["logits"], opset_version=13)
float_accuracy = accuracy(model)

qat = tq.fuse_modules_qat(model.train(), [["c1", "r1"], ["c2", "r2"]])
qat.qconfig = tq.QConfig(activation=tq.default_fake_quant, weight=tq.default_weight_fake_quant)
tq.prepare_qat(qat, inplace=True)
with torch.no_grad():  # observe, then freeze the scales
    for i in range(cfg["observe_batches"]):
        qat(torch.tensor(xs[i]))
qat.apply(tq.disable_observer)
ptq_accuracy = accuracy(tq.convert(qat.eval(), inplace=False))
torch.onnx.export(qat, (torch.tensor(xs[0]),), cfg["qat_onnx"], input_names=["x"],
                  output_names=["logits"], opset_version=13, do_constant_folding=False)
print(json.dumps({"float": float_accuracy, "ptq": ptq_accuracy,
                  "parameters": [n for n, _ in qat.named_parameters()]}), flush=True)
qat.train()
opt = torch.optim.SGD(qat.parameters(), lr=cfg["qat_lr"], momentum=0.9)
for line in sys.stdin:
    if line.strip() == "done":
        break
    print(json.dumps(train_step(qat, opt, int(line))), flush=True)
print(json.dumps(accuracy(tq.convert(qat.eval(), inplace=False))), flush=True)
'''


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
    parser.add_argument("--keep", metavar="DIR",
                        help="keep the ONNX files (f32, fake-quantized, trained) in DIR")
    args = parser.parse_args()
    if subprocess.run(["/usr/bin/python3", "-c", "import torch"], capture_output=True).returncode:
        sys.exit("needs PyTorch for /usr/bin/python3 (apt install python3-torch)")
    rng = np.random.default_rng(0)
    batch = 32
    # Smooth class templates: noise blurred by a 3 x 3 box, twice.
    templates = rng.normal(0, 1, (10, 1, 12, 12))
    for _ in range(2):
        padded = np.pad(templates, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
        templates = sum(padded[:, :, i:i + 12, j:j + 12] for i in range(3) for j in range(3)) / 9
    templates /= templates.std(axis=(1, 2, 3), keepdims=True)
    train_x, train_y = make_data(rng, 200 * batch, templates)
    test_x, test_y = make_data(rng, 64 * batch, templates)
    xs, ys = train_x.reshape(200, batch, 1, 12, 12), train_y.reshape(200, batch)
    with tempfile.TemporaryDirectory(prefix="ds-qat-") as scratch:
        paths = {k: os.path.join(scratch, k) for k in
                 ("data.npz", "float.onnx", "qat.onnx", "trained.onnx")}
        np.savez(paths["data.npz"], xs=xs, ys=ys, test_x=test_x, test_y=test_y)
        worker = subprocess.Popen(
            ["/usr/bin/python3", "-W", "ignore", "-c", WORKER], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"))
        worker.stdin.write(json.dumps({
            "threads": args.threads, "data": paths["data.npz"], "lr": 0.05, "qat_lr": 0.01,
            "float_steps": args.float_steps, "observe_batches": 8,
            "float_onnx": paths["float.onnx"], "qat_onnx": paths["qat.onnx"]}) + "\n")
        worker.stdin.flush()
        theirs = json.loads(worker.stdout.readline())

        float_ds = accuracy(ds.load(paths["float.onnx"], num_threads=args.threads), test_x,
                            test_y, batch)
        calibration = [{"x": xs[i]} for i in range(8)]
        ptq_ds = accuracy(ds.load(paths["float.onnx"], quantize="static",
                                  calibration_data=calibration, num_threads=args.threads),
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
            for name in ("float.onnx", "qat.onnx", "trained.onnx"):
                shutil.copy(paths[name], os.path.join(args.keep, name))

    print(f"QAT of the exported fake-quantized CNN, {args.qat_steps} SGD steps after "
          f"{args.float_steps} f32 steps, batch {batch}, {args.threads} threads\n")
    print("| QAT step | ds loss | PyTorch loss |")
    print("|---:|---:|---:|")
    for i in sorted({0, 9, 49, args.qat_steps - 1}):
        if i < args.qat_steps:
            print(f"| {i + 1} | {ours[i]:.6f} | {their_losses[i]:.6f} |")
    rel = max(abs(a - b) / abs(b) for a, b in zip(ours, their_losses))
    print(f"\nlargest relative difference of the QAT losses: {rel:.2e}\n")
    print("| model | ds test accuracy | PyTorch test accuracy |")
    print("|---|---:|---:|")
    print(f"| f32 | {float_ds:.4f} | {theirs['float']:.4f} |")
    print(f"| int8, post-training quantization of the f32 weights | {ptq_ds:.4f} | "
          f"{theirs['ptq']:.4f} |")
    print(f"| int8 after quantization-aware training | {qat_ds:.4f} | {qat_theirs:.4f} |")


if __name__ == "__main__":
    main()
