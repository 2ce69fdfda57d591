#!/usr/bin/env python3
"""Loss curves of ds.TrainingSession against PyTorch on the same model, the
same initial weights and the same batches.

The model is the residual chain of bench/training_memory.py (x_{i+1} = x_i +
tanh(x_i W_i)) trained to map random inputs to a fixed random teacher's
outputs with MSE, for --steps steps of SGD with momentum and of AdamW
(weight decay on). PyTorch (Debian's python3-torch under /usr/bin/python3)
runs in a worker process with the same weights and batches; the table gives
the loss at a few steps, the largest relative difference between the two
curves over the run, and both engines' median step time (ds in this
process, PyTorch in its worker, taking turns, same threads).

  python3 bench/training_curve.py [--blocks 8] [--steps 300] [--threads 2]
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=8)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if subprocess.run(["/usr/bin/python3", "-c", "import torch"], capture_output=True).returncode:
        sys.exit("needs PyTorch for /usr/bin/python3 (apt install python3-torch)")
    rng = np.random.default_rng(0)
    n, b, d = args.blocks, args.batch, args.hidden
    weights = [(rng.standard_normal((d, d)) * 0.5 / math.sqrt(d)).astype(np.float32)
               for _ in range(n)]
    teacher = (rng.standard_normal((d, d)) / math.sqrt(d)).astype(np.float32)
    xs = rng.standard_normal((args.steps, b, d)).astype(np.float32)
    ts = np.tanh(xs @ teacher).astype(np.float32)
    configs = {"sgd": dict(lr=0.05, momentum=0.9, weight_decay=0.0),
               "adamw": dict(lr=3e-3, momentum=0.0, weight_decay=0.01)}
    print(f"residual chain of {n} blocks, batch {b}, hidden {d}, {args.steps} steps, "
          f"{args.threads} threads; fp32\n")
    print("| optimizer | step | ds loss | PyTorch loss |")
    print("|---|---:|---:|---:|")
    summary = []
    with tempfile.TemporaryDirectory(prefix="ds-curve-") as scratch:
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
            env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
            worker = subprocess.Popen(["/usr/bin/python3", "-W", "ignore", "-c", WORKER],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                      env=env)
            worker.stdin.write(json.dumps({**{k: os.path.join(scratch, k + ".npy") for k in files},
                                           "threads": args.threads, "optimizer": optimizer,
                                           **hyper}) + "\n")
            worker.stdin.flush()
            ours, theirs, our_times, their_times = [], [], [], []
            for i in range(args.steps):
                start = time.perf_counter()
                ours.append(session.step({"x": xs[i], "target": ts[i]}))
                our_times.append(time.perf_counter() - start)
                worker.stdin.write(f"{i}\n")
                worker.stdin.flush()
                loss, elapsed = json.loads(worker.stdout.readline())
                theirs.append(loss)
                their_times.append(elapsed)
            worker.stdin.close()
            worker.wait()
            for i in sorted({0, 9, 99, args.steps - 1}):
                if i < args.steps:
                    print(f"| {optimizer} | {i + 1} | {ours[i]:.6f} | {theirs[i]:.6f} |")
            rel = max(abs(a - t) / abs(t) for a, t in zip(ours, theirs))
            summary.append((optimizer, rel, statistics.median(our_times) * 1e3,
                            statistics.median(their_times) * 1e3))
    print("\n| optimizer | largest relative difference over the run | ds step ms | PyTorch step ms |")
    print("|---|---:|---:|---:|")
    for optimizer, rel, ours, theirs in summary:
        print(f"| {optimizer} | {rel:.2e} | {ours:.3f} | {theirs:.3f} |")


if __name__ == "__main__":
    main()
