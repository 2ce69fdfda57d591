#!/usr/bin/env python3
"""Training through attention: memory and step time of the gradient program
ds compiles for a PyTorch-exported causal self-attention layer, with the
fused backward (ds.attention_grad: probabilities recomputed tile by tile)
and with the backward composed of matmuls and a softmax (each layer's
[heads, S, S] probabilities held), next to PyTorch's eager autograd.

The layer (exported by torch.onnx.export under /usr/bin/python3 with
Debian's PyTorch 1.13, which also runs the eager side): pre-norm,
x + Wo · attention(Wq x, Wk x, Wv x) with a causal mask, then MSE against a
target; one step is forward and backward (every weight's gradient, no
optimizer update on either side). --layers of them in a row.

A third ds row trains the same layers under a block layout (ds-sparsify-
attention: --local-blocks blocks of --block-size ending at each query
block's diagonal and the first --global-blocks; the fraction of the causal
pairs it keeps is printed): a different model, so no gradient error, but
the memory and time a sparse pattern buys in training.

Memory: for ds, the planned peak of the program's intermediates (what the
arena holds at its fullest: activations, probabilities, gradients); for
PyTorch, the bytes autograd saves for backward (saved_tensors_hooks). Step
times: medians over --runs rounds in which the engines take turns (one step
each, the first round untimed), same threads, same weights and inputs; the
largest difference of any weight's gradient from PyTorch's, relative to
that weight's largest gradient.

  python3 bench/attention_training.py [--lengths 512 1024 2048] [--threads 2]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import ds

WORKER = r'''
import json, math, sys, time
import numpy as np, torch
from torch import nn
cfg = json.loads(sys.stdin.readline())
torch.set_num_threads(cfg["threads"])
torch.manual_seed(0)
S, H, HEADS, LAYERS = cfg["seq"], cfg["hidden"], cfg["heads"], cfg["layers"]
class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(H)
        self.q, self.k, self.v, self.o = (nn.Linear(H, H) for _ in range(4))
        self.register_buffer("mask", torch.triu(torch.full((S, S), float("-inf")), 1))
    def forward(self, x):
        b, t, _ = x.shape
        d = H // HEADS
        h = self.norm(x)
        q, k, v = (f(h).reshape(b, t, HEADS, d).transpose(1, 2) for f in (self.q, self.k, self.v))
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d) + self.mask, dim=-1)
        return x + self.o((att @ v).transpose(1, 2).reshape(b, t, H))
model = nn.Sequential(*[Layer() for _ in range(LAYERS)])
x = torch.randn(1, S, H)
target = torch.randn(1, S, H)
# Unfolded, so that each weight keeps its parameter's name in the file.
torch.onnx.export(model, (x,), cfg["onnx"], input_names=["x"], output_names=["y"],
                  opset_version=17, do_constant_folding=False,
                  training=torch.onnx.TrainingMode.PRESERVE)
np.save(cfg["x"], x.numpy()); np.save(cfg["target"], target.numpy())
params = dict(model.named_parameters())
def step():
    for p in params.values():
        p.grad = None
    loss = ((model(x) - target) ** 2).mean()
    loss.backward()
    return loss
seen = {}
def pack(t):
    seen[t.data_ptr()] = t.numel() * t.element_size()
    return t
with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
    loss = step()
np.savez(cfg["grads"], **{n: p.grad.numpy() for n, p in params.items()})
print(json.dumps({"version": torch.__version__, "saved": sum(seen.values()),
                  "loss": float(loss)}), flush=True)
for line in sys.stdin:
    start = time.perf_counter(); step()
    print(json.dumps(time.perf_counter() - start), flush=True)
'''


def torch_worker(scratch, args, seq):
    python = "/usr/bin/python3"
    if not os.path.exists(python) or subprocess.run(
            [python, "-c", "import torch"], capture_output=True).returncode != 0:
        sys.exit("needs PyTorch under /usr/bin/python3 (Debian's python3-torch): it exports "
                 "the model")
    files = {name: os.path.join(scratch, f"{name}.{ext}") for name, ext in
             (("onnx", "onnx"), ("x", "npy"), ("target", "npy"), ("grads", "npz"))}
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")  # no spinning pool while ds runs
    worker = subprocess.Popen([python, "-W", "ignore", "-c", WORKER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env)
    worker.stdin.write(json.dumps({**files, "threads": args.threads, "seq": seq,
                                   "hidden": args.hidden, "heads": args.heads,
                                   "layers": args.layers}) + "\n")
    worker.stdin.flush()
    info = json.loads(worker.stdout.readline())
    return worker, info, files


def grad_error(out, grads):
    """Largest |ds - PyTorch| over every weight's gradient, relative to that
    weight's largest |PyTorch| gradient, floored at 1e-3 of the model's
    largest (a key projection's bias has gradient 0 but for rounding: the
    softmax ignores a shift of a row's scores)."""
    largest = max(float(np.abs(grads[name]).max()) for name in grads.files)
    worst = 0.0
    for name in grads.files:
        want = grads[name]
        got = out[f"{name}.grad"]
        scale = max(float(np.abs(want).max()), 1e-3 * largest)
        worst = max(worst, float(np.abs(got - want).max()) / scale)
    return worst


def kept_fraction(seq, args):
    """The causal (query, key) pairs the block layout keeps, over all causal
    pairs (blocks b: query block r keeps key blocks r - local + 1 .. r and
    the first `global`; within the diagonal block, the causal triangle)."""
    b, kept = args.block_size, 0
    for i in range(seq):
        r = i // b
        blocks = set(range(max(0, r - args.local_blocks + 1), r + 1))
        blocks |= set(range(min(args.global_blocks, r + 1)))
        kept += sum(min(i + 1, (c + 1) * b) - c * b for c in blocks)
    return kept / (seq * (seq + 1) / 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[512, 1024, 2048])
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--block-size", type=int, default=64)
    parser.add_argument("--local-blocks", type=int, default=2)
    parser.add_argument("--global-blocks", type=int, default=1)
    args = parser.parse_args()
    print(f"causal self-attention layers x {args.layers}, hidden {args.hidden}, {args.heads} "
          f"heads, batch 1, {args.threads} threads; forward + backward per step\n")
    print("| S | engine | backward | peak MB | vs PyTorch | step ms | vs PyTorch | grad error |")
    print("|---:|---|---|---:|---:|---:|---:|---:|")
    for seq in args.lengths:
        with tempfile.TemporaryDirectory(prefix="ds-attn-train-") as scratch:
            worker, info, files = torch_worker(scratch, args, seq)
            feeds = {"x": np.load(files["x"]), "target": np.load(files["target"])}
            grads = np.load(files["grads"])
            rows, steps = {}, {}
            blocks = dict(attention_local_blocks=args.local_blocks,
                          attention_global_blocks=args.global_blocks,
                          attention_block_size=args.block_size)
            for name, fused, sparse in (("fused", True, {}), ("composed", False, {}),
                                        ("fused, block layout", True, blocks)):
                options = dict(gradients=True, loss_function="mse", fused_attention_grad=fused,
                               **sparse)
                report = ds.cost_report(files["onnx"], **options)[-1]
                artifact = ds.compile(files["onnx"], os.path.join(scratch, f"{len(steps)}.dsx"),
                                      **options)
                session = ds.Session(artifact, num_threads=args.threads)
                out = session.run(feeds)
                rows[name] = (report["memory"]["peak_bytes"],
                              None if sparse else grad_error(out, grads))
                steps[name] = lambda s=session: s.run(feeds)

            def torch_step():
                worker.stdin.write("step\n")
                worker.stdin.flush()
                return json.loads(worker.stdout.readline())

            times = {name: [] for name in (*steps, "torch")}
            order = list(times)
            for round_ in range(1 + args.runs):
                shift = round_ % len(order)
                for name in order[shift:] + order[:shift]:
                    if name == "torch":
                        elapsed = torch_step()
                    else:
                        start = time.perf_counter()
                        steps[name]()
                        elapsed = time.perf_counter() - start
                    if round_ >= 1:
                        times[name].append(elapsed)
                    time.sleep(0.002)
            worker.stdin.close()
            worker.wait()
            median = {name: statistics.median(t) * 1e3 for name, t in times.items()}
            saved = info["saved"]
            for name, (peak, error) in rows.items():
                shown = "—" if error is None else f"{error:.1e}"
                if error is None:
                    name += f" ({kept_fraction(seq, args):.2f} of the pairs)"
                print(f"| {seq} | ds | {name} | {peak / 1e6:.1f} | {peak / saved:.2f} "
                      f"| {median[name.split(' (')[0]]:.1f} "
                      f"| {median[name.split(' (')[0]] / median['torch']:.2f} | {shown} |")
            print(f"| {seq} | PyTorch {info['version']} eager | autograd | {saved / 1e6:.1f} "
                  f"| 1.00 | {median['torch']:.1f} | 1.00 | |")


if __name__ == "__main__":
    main()
