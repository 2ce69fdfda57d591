#!/usr/bin/env python3
"""Gradient checkpointing on a deep residual chain and on a GPT-style
decoder: memory and step time of ds's compiled gradient program under each
rematerialization strategy, next to PyTorch (CPU, eager) with and without
torch.utils.checkpoint.

--model chain: x_{i+1} = x_i + tanh(x_i W_i), --blocks of them at --batch x
--hidden, MSE against a target. --model gpt: --blocks pre-norm decoder
blocks (fused QKV projection, causal attention through a mask buffer,
GELU MLP) written in PyTorch and exported by torch.onnx.export (Debian's
PyTorch 1.13), --batch x --seq tokens of width --hidden, MSE against a
target. One step is forward + backward (every weight's gradient; no
optimizer update on either side). ds compiles each with gradients=True and
remat_strategy none (store all), sqrt (Chen's checkpoints), greedy under a
budget of 2·√n/n and of half the store-all peak (as the pass measures it,
before fusion), and optimal where the graph is small enough; PyTorch runs
store-all and checkpoint_sequential with √n segments. Memory: for ds, the
planned peak of the intermediates of the program that runs (every value the
step allocates, gradients included: what the arena holds at its fullest);
for PyTorch, the largest total of tensors saved for backward alive at
once over the step (saved_tensors_hooks, the recomputation during backward
included; parameters excluded), its activation memory. FLOPs from ds's cost model. Step times are medians over
--runs turns of --turn-steps back-to-back steps (the first quarter of each
turn untimed), ds and PyTorch taking turns (PyTorch runs in a worker process
under /usr/bin/python3 with Debian's python3-torch, same weights, same
threads); without it the chain's PyTorch columns are left out (the GPT
model needs it: it exports the model). For the GPT model, the last column
is the largest difference of any weight's gradient from PyTorch's, relative
to that weight's largest gradient.

  python3 bench/training_memory.py [--model chain] [--blocks 16 32 64] [--threads 2]
  python3 bench/training_memory.py --model gpt [--blocks 4 8 16]
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

# Both workers answer "<segments> <count>" with the seconds of `count`
# steps; their first line reports the version and the bytes saved for
# backward per segment count.
SAVED_BYTES = r"""
import weakref
def saved_bytes(segments):
    # The largest total of tensors saved for backward alive at once, over the
    # whole step: checkpoint_sequential's recomputation during backward saves
    # again, and what a node's backward consumed is freed. Storage counted
    # once however many tensors view it; parameters are not activations.
    params = {p.data_ptr() for p in parameters()}
    holders, state = {}, {"live": 0, "peak": 0}
    def release(key, nbytes):
        holders[key] -= 1
        if holders[key] == 0:
            state["live"] -= nbytes
    def pack(t):
        key = t.data_ptr()
        if key in params:
            return t
        nbytes = t.numel() * t.element_size()
        if holders.get(key, 0) == 0:
            state["live"] += nbytes
            state["peak"] = max(state["peak"], state["live"])
        holders[key] = holders.get(key, 0) + 1
        weakref.finalize(t, release, key, nbytes)
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        forward(segments).backward()
    return state["peak"]
def serve(extra):
    print(json.dumps({"version": torch.__version__, **extra,
                      "saved": {str(s): saved_bytes(s) for s in cfg["segments"]}}), flush=True)
    for line in sys.stdin:
        segments, count = map(int, line.split())
        elapsed = []
        for _ in range(count):
            start = time.perf_counter(); step(segments)
            elapsed.append(time.perf_counter() - start)
        print(json.dumps(elapsed), flush=True)
"""

CHAIN_WORKER = r"""
import json, sys, time
import numpy as np, torch
from torch.utils.checkpoint import checkpoint_sequential
cfg = json.loads(sys.stdin.readline())
torch.set_num_threads(cfg["threads"])
weights = [torch.tensor(w, requires_grad=True) for w in np.load(cfg["weights"])]
parameters = lambda: weights
x = torch.tensor(np.load(cfg["x"])); target = torch.tensor(np.load(cfg["target"]))
# Checkpointed runs feed an input that requires grad: with reentrant
# checkpointing, segments whose inputs do not would leave their weights
# without gradients. Store-all runs do not compute dx (nor does ds).
x_checkpointed = x.clone().requires_grad_()
class Block(torch.nn.Module):
    def __init__(self, w):
        super().__init__(); self.w = w
    def forward(self, h):
        return h + torch.tanh(h @ self.w)
blocks = torch.nn.Sequential(*[Block(w) for w in weights])
def forward(segments):
    for w in weights:
        w.grad = None
    x_checkpointed.grad = None
    y = checkpoint_sequential(blocks, segments, x_checkpointed) if segments else blocks(x)
    return ((y - target) ** 2).mean()
def step(segments):
    forward(segments).backward()
    assert all(w.grad is not None for w in weights)
""" + SAVED_BYTES + "serve({})\n"

GPT_WORKER = r"""
import json, math, sys, time
import numpy as np, torch
from torch import nn
from torch.utils.checkpoint import checkpoint_sequential
cfg = json.loads(sys.stdin.readline())
torch.set_num_threads(cfg["threads"])
torch.manual_seed(0)
B, S, H, HEADS = cfg["batch"], cfg["seq"], cfg["hidden"], cfg["heads"]
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(H), nn.LayerNorm(H)
        self.qkv, self.proj = nn.Linear(H, 3 * H), nn.Linear(H, H)
        self.fc, self.out = nn.Linear(H, 4 * H), nn.Linear(4 * H, H)
        self.register_buffer("mask", torch.triu(torch.full((S, S), float("-inf")), 1))
    def forward(self, x):
        b, t, _ = x.shape
        d = H // HEADS
        q, k, v = self.qkv(self.ln1(x)).split(H, dim=-1)
        q, k, v = (z.reshape(b, t, HEADS, d).transpose(1, 2) for z in (q, k, v))
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d) + self.mask, dim=-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, t, H))
        return x + self.out(nn.functional.gelu(self.fc(self.ln2(x))))
model = nn.Sequential(*[Block() for _ in range(cfg["blocks"])])
x = torch.randn(B, S, H)
target = torch.randn(B, S, H)
# Unfolded, so that each weight keeps its parameter's name in the file.
torch.onnx.export(model, (x,), cfg["onnx"], input_names=["x"], output_names=["y"],
                  opset_version=17, do_constant_folding=False,
                  training=torch.onnx.TrainingMode.PRESERVE)
np.save(cfg["x"], x.numpy()); np.save(cfg["target"], target.numpy())
params = dict(model.named_parameters())
parameters = lambda: params.values()
# Reentrant checkpointing needs an input that requires grad; store-all runs
# do not compute dx (nor does ds).
x_checkpointed = x.clone().requires_grad_()
def forward(segments):
    for p in params.values():
        p.grad = None
    x_checkpointed.grad = None
    y = checkpoint_sequential(model, segments, x_checkpointed) if segments else model(x)
    return ((y - target) ** 2).mean()
def step(segments):
    forward(segments).backward()
forward(0).backward()
np.savez(cfg["grads"], **{n: p.grad.numpy() for n, p in params.items()})
""" + SAVED_BYTES + "serve({})\n"


def torch_python():
    python = "/usr/bin/python3"
    if not os.path.exists(python) or subprocess.run(
            [python, "-c", "import torch"], capture_output=True).returncode != 0:
        return None
    return python


def start_worker(source, cfg):
    python = torch_python()
    if python is None:
        return None, None
    # A passive OpenMP pool: a spinning one would hold the cores while ds runs.
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    worker = subprocess.Popen([python, "-W", "ignore", "-c", source], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env)
    worker.stdin.write(json.dumps(cfg) + "\n")
    worker.stdin.flush()
    return worker, json.loads(worker.stdout.readline())


def chain_case(scratch, n, args, rng):
    """The chain's program, feeds and PyTorch worker."""
    weights = [(rng.standard_normal((args.hidden, args.hidden)) * 0.5 / math.sqrt(args.hidden))
               .astype(np.float32) for _ in range(n)]
    x = rng.standard_normal((args.batch, args.hidden)).astype(np.float32)
    target = rng.standard_normal((args.batch, args.hidden)).astype(np.float32)
    model = os.path.join(scratch, "chain.mlir")
    residual_chain(model, weights, args.batch)
    files = {}
    for name, value in (("weights", np.stack(weights)), ("x", x), ("target", target)):
        files[name] = os.path.join(scratch, f"{name}.npy")
        np.save(files[name], value)
    worker, info = start_worker(CHAIN_WORKER, {**files, "threads": args.threads,
                                               "segments": [0, segments_for(n)]})
    return model, {"x": x, "target": target}, worker, info, None


def gpt_case(scratch, n, args, rng):
    """The exported decoder, its feeds, PyTorch's gradients and worker."""
    if torch_python() is None:
        sys.exit("--model gpt needs PyTorch under /usr/bin/python3 (Debian's python3-torch): "
                 "it exports the model")
    files = {name: os.path.join(scratch, f"{name}.{ext}") for name, ext in
             (("onnx", "onnx"), ("x", "npy"), ("target", "npy"), ("grads", "npz"))}
    worker, info = start_worker(GPT_WORKER, {
        **files, "threads": args.threads, "segments": [0, segments_for(n)], "blocks": n,
        "batch": args.batch, "seq": args.seq, "hidden": args.hidden, "heads": args.heads})
    feeds = {"x": np.load(files["x"]), "target": np.load(files["target"])}
    return files["onnx"], feeds, worker, info, np.load(files["grads"])


def segments_for(blocks):
    return max(1, round(math.sqrt(blocks)))


def grad_error(out, grads):
    """Largest |ds - PyTorch| over every weight's gradient, relative to that
    weight's largest |PyTorch| gradient, floored at 1e-3 of the model's
    largest (a key projection's bias has gradient 0 but for rounding)."""
    largest = max(float(np.abs(grads[name]).max()) for name in grads.files)
    worst = 0.0
    for name in grads.files:
        scale = max(float(np.abs(grads[name]).max()), 1e-3 * largest)
        worst = max(worst, float(np.abs(out[f"{name}.grad"] - grads[name]).max()) / scale)
    return worst


def timed_turns(sessions, feeds, worker, segments, args):
    """Median ms per step for each ds session and PyTorch segment count.
    Each turn runs --turn-steps steps back to back, as a training loop does,
    and times the last three quarters: after the other engine's turn this
    2-core VM takes several steps to give a process both cores steadily
    again (steps up to 2x slower), which a training loop, once running,
    does not see."""
    times = {name: [] for name in sessions}
    if worker:
        times.update({f"torch {s}": [] for s in segments})
    order = list(times)
    per_turn = max(4, args.turn_steps)
    for round_ in range(1 + args.runs):
        for name in order[round_ % len(order):] + order[:round_ % len(order)]:
            if name.startswith("torch "):
                worker.stdin.write(f"{name.split()[1]} {per_turn}\n")
                worker.stdin.flush()
                elapsed = json.loads(worker.stdout.readline())
            else:
                elapsed = []
                for _ in range(per_turn):
                    start = time.perf_counter()
                    sessions[name].run(feeds)
                    elapsed.append(time.perf_counter() - start)
            if round_ >= 1:
                times[name].extend(elapsed[per_turn // 4:])
    return {name: statistics.median(t) * 1e3 for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=["chain", "gpt"], default="chain")
    parser.add_argument("--blocks", type=int, nargs="+")
    parser.add_argument("--batch", type=int)
    parser.add_argument("--hidden", type=int)
    parser.add_argument("--seq", type=int, default=128, help="gpt: tokens per sequence")
    parser.add_argument("--heads", type=int, default=4, help="gpt: attention heads")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=10, help="turns per engine and strategy")
    parser.add_argument("--turn-steps", type=int,
                        help="steps per turn, back to back; the first quarter is not timed")
    parser.add_argument("--no-fuse", action="store_true",
                        help="compile ds's programs without fusion groups (op by op)")
    parser.add_argument("--plot", help="PNG of memory over the steps of the first size's √n "
                                       "compile, stage by stage (needs matplotlib)")
    args = parser.parse_args()
    gpt = args.model == "gpt"
    defaults = dict(blocks=[4, 8, 16], batch=4, hidden=128, turn_steps=8) if gpt else \
        dict(blocks=[16, 32, 64], batch=256, hidden=64, turn_steps=24)
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    rng = np.random.default_rng(0)
    shape = (f"GPT-style decoder, batch {args.batch}, {args.seq} tokens, hidden {args.hidden}, "
             f"{args.heads} heads" if gpt else
             f"residual chain, batch {args.batch}, hidden {args.hidden}")
    print(f"{shape}, {args.threads} threads, ds {'op by op' if args.no_fuse else 'fused'}; "
          "peak MB (ds: intermediates planned; PyTorch: saved for backward), "
          "extra FLOPs over store-all, median step ms\n")
    print("| blocks | engine | strategy | peak MB | vs store-all | extra FLOPs | step ms "
          "| vs store-all |" + (" grad error |" if gpt else ""))
    print("|---:|---|---|---:|---:|---:|---:|---:|" + ("---:|" if gpt else ""))
    for n in args.blocks:
        with tempfile.TemporaryDirectory(prefix="ds-train-") as scratch:
            model, feeds, worker, torch_info, grads = (gpt_case if gpt else chain_case)(
                scratch, n, args, rng)
            base = dict(gradients=True, loss_function="mse", fuse=not args.no_fuse)
            stages = ds.cost_report(model, **base)
            store_all = stages[-1]
            # The budgets apply where the pass runs: before fusion.
            before_fusion = [s for s in stages if s["stage"] != "fusion"][-1]
            peak = before_fusion["memory"]["peak_bytes"]
            plans = {"store all": {}, "sqrt": dict(remat_strategy="sqrt"),
                     "greedy ≤ 2√n/n": dict(remat_budget=int(peak * 2 * math.sqrt(n) / n)),
                     "greedy ≤ 1/2": dict(remat_budget=int(peak / 2)),
                     "optimal ≤ 2√n/n": dict(remat_budget=int(peak * 2 * math.sqrt(n) / n),
                                             remat_strategy="optimal")}
            rows, sessions, errors = {}, {}, {}
            for name, extra in plans.items():
                try:
                    staged = ds.cost_report(model, **base, **extra)
                except ds.CompileError as error:
                    rows[name] = str(error).split("error: ")[-1].split(";")[0][:60]
                    continue
                report = staged[-1]
                if args.plot and name == "sqrt" and n == args.blocks[0]:
                    model_name = "GPT-style decoder" if gpt else "residual chain"
                    ds.plot_memory(staged, args.plot, title=f"{model_name}, {n} blocks: gradient "
                                   "with √n checkpoints, by stage")
                artifact = ds.compile(model, os.path.join(scratch, f"{len(sessions)}.dsx"),
                                      **base, **extra)
                sessions[name] = ds.Session(artifact, num_threads=args.threads)
                rows[name] = report
                if grads is not None:
                    errors[name] = grad_error(sessions[name].run(feeds), grads)
            segments = [0, segments_for(n)]
            median = timed_turns(sessions, feeds, worker, segments, args)
            if worker:
                worker.stdin.close()
                worker.wait()
            peak0 = store_all["memory"]["peak_bytes"]
            flops0 = store_all["total"]["flops"]
            for name, row in rows.items():
                if isinstance(row, str):
                    print(f"| {n} | ds | {name} | {row} | | | | |" + (" |" if gpt else ""))
                    continue
                peak, flops = row["memory"]["peak_bytes"], row["total"]["flops"]
                print(f"| {n} | ds | {name} | {peak / 1e6:.2f} | {peak / peak0:.2f} "
                      f"| +{100 * (flops / flops0 - 1):.0f}% | {median[name]:.2f} "
                      f"| {median[name] / median['store all']:.2f} |"
                      + (f" {errors[name]:.1e} |" if gpt else ""))
            if worker:
                saved0 = torch_info["saved"]["0"]
                for s in segments:
                    saved = torch_info["saved"][str(s)]
                    label = "store all" if s == 0 else f"checkpoint_sequential({s})"
                    print(f"| {n} | PyTorch {torch_info['version']} | {label} | {saved / 1e6:.2f} "
                          f"| {saved / saved0:.2f} | | {median[f'torch {s}']:.2f} "
                          f"| {median[f'torch {s}'] / median['torch 0']:.2f} |"
                          + (" |" if gpt else ""))


if __name__ == "__main__":
    main()
