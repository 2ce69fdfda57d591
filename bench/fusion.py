#!/usr/bin/env python3
"""What the fusion groups buy on the CPU: ds with ds-fuse's groups run in
tiles, ds op by op (the same program compiled with fuse=False), onnxruntime.

Every engine runs in this one process, runs interleaved (one run of each in
turn, so drift hits all alike), same thread count, same inputs; onnxruntime's
pool does not spin between runs so that turns do not steal each other's
cores. Models: the generated ones (utils/gen_models.py, random weights; with
--bert-base the 12-layer BERT-base at sequence 128) and the PyTorch-exported
BERT-style encoder with dynamic batch and sequence, run at 3 x 128 and 8 x 512
(one artifact for both). Prints a
Markdown table: median ms and the ratios; the largest difference between the
fused and the op-by-op outputs, and between fused and onnxruntime.

Usage: bench/fusion.py [--threads N] [--runs N] [--bert-base]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import ds

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interleave import interleaved, ort_session  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "test", "e2e"))
from feeds import make_inputs  # noqa: E402

GENERATED = ["cnn", "mobilenet", "bert", "gpt", "llama"]


def max_diff(a, b):
    return max(float(np.max(np.abs(x.astype(np.float64) - y))) if x.size else 0.0
               for x, y in zip(a, b))


def row(name, path, feeds, scratch, args):
    reference = ort_session(path, args.threads)
    names = [o.name for o in reference.get_outputs()]
    fused = ds.load(ds.compile(path, os.path.join(scratch, name + ".dsx")),
                    num_threads=args.threads)
    alone = ds.load(ds.compile(path, os.path.join(scratch, name + "-op-by-op.dsx"), fuse=False),
                    num_threads=args.threads)
    def outputs_of(session):
        def run():
            got = session.run(feeds)
            return [got[n] for n in names]
        return run
    outputs = {"fused": outputs_of(fused), "op by op": outputs_of(alone),
               "ort": lambda: reference.run(None, feeds)}
    got = {k: fn() for k, fn in outputs.items()}
    ms = {name: seconds * 1000 for name, seconds in interleaved(outputs, args.runs).items()}
    return (f"| {name} | {ms['fused']:.3f} | {ms['op by op']:.3f} | {ms['ort']:.3f} | "
            f"{ms['fused'] / ms['op by op']:.2f} | {ms['fused'] / ms['ort']:.2f} | "
            f"{max_diff(got['fused'], got['op by op']):.1e} | "
            f"{max_diff(got['fused'], got['ort']):.1e} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--bert-base", action="store_true",
                        help="also the 12-layer BERT-base (sequence 128)")
    args = parser.parse_args()
    models = GENERATED + (["bert_base"] if args.bert_base else [])
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([sys.executable, os.path.join(REPO, "utils", "gen_models.py"), "--out",
                        scratch, "--only", *models], check=True, stdout=subprocess.DEVNULL)
        for name in models:
            path = os.path.join(scratch, name + ".onnx")
            rows.append(row(name, path, make_inputs(path), scratch, args))
        exported = os.path.join(REPO, "test", "e2e", "models", "bert_dynamic.onnx")
        rng = np.random.default_rng(0)
        for batch, sequence in ((3, 128), (8, 512)):
            feeds = {"input_ids": rng.integers(0, 100, (batch, sequence)).astype(np.int64),
                     "attention_mask": np.ones((batch, sequence), np.int64)}
            rows.append(row(f"bert_dynamic (PyTorch export) {batch}x{sequence}", exported, feeds,
                            scratch, args))
    print(f"threads: {args.threads}, runs: {args.runs} (interleaved, after 3 warm-up rounds); "
          "median ms\n")
    print("| model | ds fused | ds op by op | ORT | fused / op by op | fused / ORT | "
          "max diff fused vs op by op | max diff fused vs ORT |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for line in rows:
        print(line)


if __name__ == "__main__":
    main()
