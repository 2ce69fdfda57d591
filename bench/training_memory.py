#!/usr/bin/env python3
"""Gradient checkpointing on a deep residual chain: memory and step time of
ds's compiled gradient program under each rematerialization strategy, next
to PyTorch (CPU, eager) with and without torch.utils.checkpoint.

The model: x_{i+1} = x_i + tanh(x_i W_i), --blocks of them at --batch x
--hidden, MSE against a target; one step is forward + backward (the
gradients of every W_i; no optimizer update on either side). ds compiles it
with gradients=True and remat_strategy none (store all), sqrt (Chen's
checkpoints), greedy under a budget of 2·√n/n of the store-all peak (as
the pass measures it, before fusion), and optimal where the graph is
small enough. Memory: for ds, the planned peak
of the intermediates of the program that runs (every value the step
allocates, gradients included: what the arena holds at its fullest); for
PyTorch, the bytes saved for backward (saved_tensors_hooks), its
activation memory. FLOPs from ds's cost model. Step times are medians over
--runs turns of --turn-steps back-to-back steps (the first quarter of
each turn untimed), ds and PyTorch taking turns (PyTorch runs in a worker process under
/usr/bin/python3 with Debian's python3-torch, same weights, same threads);
without it the PyTorch columns are left out.

  python3 bench/training_memory.py [--blocks 16 32 64] [--threads 2]
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

WORKER = r'''
import json, sys, time
import numpy as np, torch
from torch.utils.checkpoint import checkpoint_sequential
cfg = json.loads(sys.stdin.readline())
torch.set_num_threads(cfg["threads"])
weights = [torch.tensor(w, requires_grad=True) for w in np.load(cfg["weights"])]
# The input requires grad: with reentrant checkpointing, segments whose
# inputs do not would leave their weights without gradients.
x = torch.tensor(np.load(cfg["x"])).requires_grad_(); target = torch.tensor(np.load(cfg["target"]))
class Block(torch.nn.Module):
    def __init__(self, w):
        super().__init__(); self.w = w
    def forward(self, h):
        return h + torch.tanh(h @ self.w)
blocks = torch.nn.Sequential(*[Block(w) for w in weights])
def step(segments):
    for w in weights:
        w.grad = None
    y = checkpoint_sequential(blocks, segments, x) if segments else blocks(x)
    loss = ((y - target) ** 2).mean()
    loss.backward()
    assert all(w.grad is not None for w in weights)
    return loss
def saved_bytes(segments):
    seen = {}
    def pack(t):
        seen[t.data_ptr()] = t.numel() * t.element_size()
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        for w in weights:
            w.grad = None
        y = checkpoint_sequential(blocks, segments, x) if segments else blocks(x)
        loss = ((y - target) ** 2).mean()
    loss.backward()
    return sum(seen.values())
print(json.dumps({"version": torch.__version__,
                  "saved": {str(s): saved_bytes(s) for s in cfg["segments"]}}), flush=True)
for line in sys.stdin:
    segments, count = map(int, line.split())
    elapsed = []
    for _ in range(count):
        start = time.perf_counter(); step(segments)
        elapsed.append(time.perf_counter() - start)
    print(json.dumps(elapsed), flush=True)
'''


def torch_worker(scratch, weights, x, target, threads, segments):
    python = "/usr/bin/python3"
    if not os.path.exists(python) or subprocess.run(
            [python, "-c", "import torch"], capture_output=True).returncode != 0:
        return None, None
    files = {}
    for name, value in (("weights", np.stack(weights)), ("x", x), ("target", target)):
        files[name] = os.path.join(scratch, f"{name}.npy")
        np.save(files[name], value)
    # A passive OpenMP pool: a spinning one would hold the cores while ds runs.
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    worker = subprocess.Popen([python, "-W", "ignore", "-c", WORKER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env)
    worker.stdin.write(json.dumps({**files, "threads": threads, "segments": segments}) + "\n")
    worker.stdin.flush()
    return worker, json.loads(worker.stdout.readline())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=10, help="turns per engine and strategy")
    parser.add_argument("--turn-steps", type=int, default=24,
                        help="steps per turn, back to back; the first quarter is not timed")
    parser.add_argument("--no-fuse", action="store_true",
                        help="compile ds's programs without fusion groups (op by op)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"residual chain, batch {args.batch}, hidden {args.hidden}, {args.threads} threads, "
          f"ds {'op by op' if args.no_fuse else 'fused'}; "
          "peak MB (ds: intermediates planned; PyTorch: saved for backward), "
          "extra FLOPs over store-all, median step ms\n")
    print("| blocks | engine | strategy | peak MB | vs store-all | extra FLOPs | step ms | vs store-all |")
    print("|---:|---|---|---:|---:|---:|---:|---:|")
    for n in args.blocks:
        weights = [(rng.standard_normal((args.hidden, args.hidden)) * 0.5 / math.sqrt(args.hidden))
                   .astype(np.float32) for _ in range(n)]
        x = rng.standard_normal((args.batch, args.hidden)).astype(np.float32)
        target = rng.standard_normal((args.batch, args.hidden)).astype(np.float32)
        with tempfile.TemporaryDirectory(prefix="ds-train-") as scratch:
            model = os.path.join(scratch, "chain.mlir")
            residual_chain(model, weights, args.batch)
            base = dict(gradients=True, loss_function="mse", fuse=not args.no_fuse)
            stages = ds.cost_report(model, **base)
            store_all = stages[-1]
            # The budget applies where the pass runs: before fusion.
            before_fusion = [s for s in stages if s["stage"] != "fusion"][-1]
            budget = int(before_fusion["memory"]["peak_bytes"] * 2 * math.sqrt(n) / n)
            plans = {"store all": {}, "sqrt": dict(remat_strategy="sqrt"),
                     f"greedy ≤ 2√n/n": dict(remat_budget=budget),
                     "optimal ≤ 2√n/n": dict(remat_budget=budget, remat_strategy="optimal")}
            rows, sessions = {}, {}
            for name, extra in plans.items():
                try:
                    report = ds.cost_report(model, **base, **extra)[-1]
                except ds.CompileError as error:
                    rows[name] = str(error).split("error: ")[-1].split(";")[0][:60]
                    continue
                artifact = ds.compile(model, os.path.join(scratch, f"{len(sessions)}.dsx"),
                                      **base, **extra)
                sessions[name] = ds.Session(artifact, num_threads=args.threads)
                rows[name] = report
            segments = [0, max(1, round(math.sqrt(n)))]
            worker, torch_info = torch_worker(scratch, weights, x, target, args.threads, segments)
            feeds = {"x": x, "target": target}
            times = {name: [] for name in sessions}
            if worker:
                times.update({f"torch {s}": [] for s in segments})
            order = list(times)
            # Each turn runs --turn-steps steps back to back, as a training
            # loop does, and times the last three quarters: after the other
            # engine's turn this 2-core VM takes several steps to give a
            # process both cores steadily again (steps up to 2x slower),
            # which a training loop, once running, does not see.
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

            if worker:
                worker.stdin.close()
                worker.wait()
            median = {name: statistics.median(t) * 1e3 for name, t in times.items()}
            peak0 = store_all["memory"]["peak_bytes"]
            flops0 = store_all["total"]["flops"]
            for name, row in rows.items():
                if isinstance(row, str):
                    print(f"| {n} | ds | {name} | {row} | | | | |")
                    continue
                peak, flops = row["memory"]["peak_bytes"], row["total"]["flops"]
                print(f"| {n} | ds | {name} | {peak / 1e6:.2f} | {peak / peak0:.2f} "
                      f"| +{100 * (flops / flops0 - 1):.0f}% | {median[name]:.2f} "
                      f"| {median[name] / median['store all']:.2f} |")
            if worker:
                saved0 = torch_info["saved"]["0"]
                for s in segments:
                    saved = torch_info["saved"][str(s)]
                    label = "store all" if s == 0 else f"checkpoint_sequential({s})"
                    print(f"| {n} | PyTorch {torch_info['version']} | {label} | {saved / 1e6:.2f} "
                          f"| {saved / saved0:.2f} | | {median[f'torch {s}']:.2f} "
                          f"| {median[f'torch {s}'] / median['torch 0']:.2f} |")


if __name__ == "__main__":
    main()
