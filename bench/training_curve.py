#!/usr/bin/env python3
"""Loss curves of ds.TrainingSession against PyTorch on the same model, the
same initial weights and the same batches.

--model chain: the residual chain of bench/training_memory.py (x_{i+1} = x_i +
tanh(x_i W_i)) trained to map random inputs to a fixed random teacher's
outputs with MSE, with SGD with momentum and with AdamW (weight decay on).
--model gpt: a GPT-style decoder (token and position embeddings, pre-norm
blocks of causal self-attention and a GELU MLP, a final LayerNorm and an LM
head) written in PyTorch, exported by torch.onnx.export, and trained on the
exported ONNX file with cross-entropy and AdamW to predict the next token of
sequences t_{i+1} = (5 t_i + 3) mod vocab from random starts.

PyTorch (Debian's python3-torch under /usr/bin/python3) runs in a worker
process with the same weights and batches; the table gives the loss at a few
steps, the largest relative difference between the two curves over the run,
and both engines' median step time (ds in this process, PyTorch in its
worker, taking turns, same threads).

  python3 bench/training_curve.py [--model chain gpt] [--steps 300] [--threads 2]
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import ds

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "test", "e2e"))
from chains import residual_chain  # noqa: E402

CHAIN_WORKER = r'''
import json, sys, time
import numpy as np, torch
cfg = json.loads(sys.stdin.readline())
torch.set_num_threads(cfg["threads"])
weights = [torch.tensor(w, requires_grad=True) for w in np.load(cfg["weights"])]
xs, ts = np.load(cfg["xs"]), np.load(cfg["ts"])
if cfg["optimizer"] == "sgd":
    opt = torch.optim.SGD(weights, lr=cfg["lr"], momentum=cfg["momentum"])
else:
    opt = torch.optim.AdamW(weights, lr=cfg["lr"], weight_decay=cfg["weight_decay"])
for line in sys.stdin:
    i = int(line)
    start = time.perf_counter()
    opt.zero_grad()
    h = torch.tensor(xs[i])
    for w in weights:
        h = h + torch.tanh(h @ w)
    loss = ((h - torch.tensor(ts[i])) ** 2).mean()
    loss.backward()
    opt.step()
    print(json.dumps([loss.item(), time.perf_counter() - start]), flush=True)
'''


GPT_WORKER = r'''
import json, math, sys, time
import numpy as np, torch
import torch.nn as nn
import torch.nn.functional as F

cfg = json.loads(sys.stdin.readline())
torch.set_num_threads(cfg["threads"])
torch.manual_seed(cfg["seed"])
V, D, H, T, L = cfg["vocab"], cfg["hidden"], cfg["heads"], cfg["seq"], cfg["layers"]


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.qkv, self.proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
        self.fc, self.out = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)
        self.register_buffer("mask", torch.triu(torch.full((T, T), float("-inf")), 1))

    def forward(self, x):
        b = x.shape[0]
        q, k, v = self.qkv(self.ln1(x)).split(D, dim=2)
        q, k, v = (t.reshape(b, T, H, D // H).transpose(1, 2) for t in (q, k, v))
        att = torch.softmax(q @ k.transpose(-2, -1) * (1.0 / math.sqrt(D // H)) + self.mask, -1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, T, D))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(V, D)
        self.pos = nn.Parameter(torch.randn(T, D) * 0.02)
        self.blocks = nn.ModuleList(Block() for _ in range(L))
        self.ln = nn.LayerNorm(D)
        self.head = nn.Linear(D, V, bias=False)

    def forward(self, idx):
        x = self.tok(idx) + self.pos
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


model = GPT()
tokens, labels = np.load(cfg["tokens"]), np.load(cfg["labels"])
torch.onnx.export(model, (torch.tensor(tokens[0]),), cfg["onnx"], input_names=["idx"],
                  output_names=["logits"], opset_version=17, do_constant_folding=False)
names = [n for n, _ in model.named_parameters()]
print(json.dumps(names), flush=True)
opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], betas=(cfg["beta1"], cfg["beta2"]),
                        eps=cfg["eps"], weight_decay=cfg["weight_decay"])
for line in sys.stdin:
    i = int(line)
    start = time.perf_counter()
    opt.zero_grad()
    logits = model(torch.tensor(tokens[i]))
    loss = F.cross_entropy(logits.reshape(-1, V), torch.tensor(labels[i]).reshape(-1))
    loss.backward()
    opt.step()
    print(json.dumps([loss.item(), time.perf_counter() - start]), flush=True)
'''


def start_worker(code, config):
    worker = subprocess.Popen(["/usr/bin/python3", "-W", "ignore", "-c", code],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"))
    worker.stdin.write(json.dumps(config) + "\n")
    worker.stdin.flush()
    return worker


def compare(session, worker, batch, steps):
    """Steps both engines in turns; (ds losses, PyTorch losses, ds times, PyTorch times)."""
    ours, theirs, our_times, their_times = [], [], [], []
    for i in range(steps):
        start = time.perf_counter()
        ours.append(session.step(batch(i)))
        our_times.append(time.perf_counter() - start)
        worker.stdin.write(f"{i}\n")
        worker.stdin.flush()
        loss, elapsed = json.loads(worker.stdout.readline())
        theirs.append(loss)
        their_times.append(elapsed)
    worker.stdin.close()
    worker.wait()
    return ours, theirs, our_times, their_times


def report(label, steps, curves, summary):
    ours, theirs, our_times, their_times = curves
    for i in sorted({0, 9, 99, steps - 1}):
        if i < steps:
            print(f"| {label} | {i + 1} | {ours[i]:.6f} | {theirs[i]:.6f} |")
    rel = max(abs(a - t) / abs(t) for a, t in zip(ours, theirs))
    summary.append((label, rel, statistics.median(our_times) * 1e3,
                    statistics.median(their_times) * 1e3))


def run_chain(args, scratch, summary):
    rng = np.random.default_rng(0)
    n, b, d = args.blocks, args.batch, args.hidden
    weights = [(rng.standard_normal((d, d)) * 0.5 / math.sqrt(d)).astype(np.float32)
               for _ in range(n)]
    teacher = (rng.standard_normal((d, d)) / math.sqrt(d)).astype(np.float32)
    xs = rng.standard_normal((args.steps, b, d)).astype(np.float32)
    ts = np.tanh(xs @ teacher).astype(np.float32)
    configs = {"sgd": dict(lr=0.05, momentum=0.9, weight_decay=0.0),
               "adamw": dict(lr=3e-3, momentum=0.0, weight_decay=0.01)}
    model = os.path.join(scratch, "chain.mlir")
    residual_chain(model, weights, b)
    files = {"weights": np.stack(weights), "xs": xs, "ts": ts}
    for name, value in files.items():
        np.save(os.path.join(scratch, name + ".npy"), value)
    for optimizer, hyper in configs.items():
        options = {"lr": hyper["lr"], "momentum": hyper["momentum"],
                   "weight_decay": hyper["weight_decay"]}
        if optimizer == "adamw":
            options.pop("momentum")
        session = ds.TrainingSession(model, optimizer=optimizer, optimizer_options=options,
                                     loss_function="mse", num_threads=args.threads)
        worker = start_worker(CHAIN_WORKER, {
            **{k: os.path.join(scratch, k + ".npy") for k in files},
            "threads": args.threads, "optimizer": optimizer, **hyper})
        curves = compare(session, worker, lambda i: {"x": xs[i], "target": ts[i]}, args.steps)
        report(f"chain ({n} blocks, batch {b}, hidden {d}), {optimizer}", args.steps, curves,
               summary)


def run_gpt(args, scratch, summary):
    vocab, seq, batch = 32, 16, 16
    rng = np.random.default_rng(0)
    tokens = [rng.integers(0, vocab, (args.steps, batch, 1))]
    for _ in range(seq):
        tokens.append((tokens[-1] * 5 + 3) % vocab)
    tokens = np.concatenate(tokens, axis=2).astype(np.int64)
    inputs, labels = tokens[:, :, :seq], tokens[:, :, 1:]
    np.save(os.path.join(scratch, "tokens.npy"), inputs)
    np.save(os.path.join(scratch, "labels.npy"), labels)
    hyper = dict(lr=3e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01)
    onnx_path = os.path.join(scratch, "gpt.onnx")
    worker = start_worker(GPT_WORKER, {
        "threads": args.threads, "seed": 0, "vocab": vocab, "hidden": 32, "heads": 2,
        "seq": seq, "layers": 2, "tokens": os.path.join(scratch, "tokens.npy"),
        "labels": os.path.join(scratch, "labels.npy"), "onnx": onnx_path, **hyper})
    parameters = json.loads(worker.stdout.readline())  # once the export is written
    worker.stdin.close()
    worker.wait()
    for precision in args.precision:
        # PyTorch trains in f32 each time: ds's 16-bit runs are compared
        # with the f32 curve (the goal: within 1%).
        worker = start_worker(GPT_WORKER, {
            "threads": args.threads, "seed": 0, "vocab": vocab, "hidden": 32, "heads": 2,
            "seq": seq, "layers": 2, "tokens": os.path.join(scratch, "tokens.npy"),
            "labels": os.path.join(scratch, "labels.npy"), "onnx": onnx_path, **hyper})
        json.loads(worker.stdout.readline())
        session = ds.TrainingSession(onnx_path, optimizer="adamw", optimizer_options=hyper,
                                     loss_function="cross-entropy", num_threads=args.threads,
                                     precision=precision)
        if sorted(session.parameters()) != sorted(parameters):
            sys.exit(f"ds trains {sorted(session.parameters())}, PyTorch {sorted(parameters)}")
        curves = compare(session, worker, lambda i: {"idx": inputs[i], "labels": labels[i]},
                         args.steps)
        scaler = session.loss_scaler
        scaling = (f" with loss scaling ({scaler.skipped_steps} steps skipped, final scale "
                   f"2^{math.log2(scaler.scale):.0f})" if scaler else "")
        report(f"gpt (torch.onnx.export, {len(parameters)} parameters), adamw, ds {precision}"
               f"{scaling}", args.steps, curves, summary)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", nargs="+", choices=["chain", "gpt"], default=["chain", "gpt"])
    parser.add_argument("--blocks", type=int, default=8)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", nargs="+", choices=["fp32", "bf16", "fp16"],
                        default=["fp32", "bf16", "fp16"],
                        help="ds's precision for the GPT-style model (PyTorch's is f32)")
    args = parser.parse_args()
    if subprocess.run(["/usr/bin/python3", "-c", "import torch"], capture_output=True).returncode:
        sys.exit("needs PyTorch for /usr/bin/python3 (apt install python3-torch)")
    print(f"{args.steps} steps, {args.threads} threads; PyTorch f32\n")
    print("| model, optimizer | step | ds loss | PyTorch loss |")
    print("|---|---:|---:|---:|")
    summary = []
    with tempfile.TemporaryDirectory(prefix="ds-curve-") as scratch:
        if "chain" in args.model:
            run_chain(args, scratch, summary)
        if "gpt" in args.model:
            run_gpt(args, scratch, summary)
    print("\n| model, optimizer | largest relative difference over the run | ds step ms | "
          "PyTorch step ms |")
    print("|---|---:|---:|---:|")
    for label, rel, ours, theirs in summary:
        print(f"| {label} | {rel:.2e} | {ours:.3f} | {theirs:.3f} |")


if __name__ == "__main__":
    main()
