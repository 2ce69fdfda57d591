#!/usr/bin/env python3
"""Dynamic-shape artifacts: their cost against static ones, and decode steps.

Two tables, each engine timed in one process, runs interleaved (one run of
each engine in turn, so drift hits all alike), same thread count:

1. The BERT-style encoder exported with dynamic batch and sequence
   (test/e2e/models/bert_dynamic.onnx): one dynamic ds artifact against a ds
   artifact compiled for exactly that shape (--ds-input-shape) and against
   onnxruntime, at several batch x sequence shapes. Median latency in ms.
2. The GPT-style decoder with a KV cache (test/e2e/models/gpt_kv.onnx): the
   latency of one single-token decode step with a past of P tokens (random
   key/value caches of that length, the same feeds for both engines), ds
   against onnxruntime.

Usage: bench/dynamic_shapes.py [--threads N] [--runs N] [--build-dir build]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

import ds

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interleave import interleaved, ort_session  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(REPO, "test", "e2e", "models")
SHAPES = [(1, 1), (1, 7), (1, 128), (3, 128), (8, 512)]
PASTS = [0, 16, 128, 500]  # the model has 512 positions


def compile_artifact(build, model, out, shapes=()):
    cmd = [os.path.join(build, "bin", "ds-compile"), model, "-o", out]
    cmd += [f"--ds-input-shape={s}" for s in shapes]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return out


def encoder_table(args, scratch):
    model = os.path.join(MODELS, "bert_dynamic.onnx")
    dynamic = ds.load(compile_artifact(args.build_dir, model, os.path.join(scratch, "dyn.dsx")),
                      num_threads=args.threads)
    reference = ort_session(model, args.threads)
    rng = np.random.default_rng(0)
    print("| batch x sequence | ds dynamic ms | ds static ms | dynamic / static | ORT ms | "
          "dynamic / ORT |")
    print("|---|---:|---:|---:|---:|---:|")
    for batch, seq in SHAPES:
        spec = f"{batch}x{seq}"
        static = ds.load(compile_artifact(
            args.build_dir, model, os.path.join(scratch, f"static_{spec}.dsx"),
            [f"input_ids:{spec}", f"attention_mask:{spec}"]), num_threads=args.threads)
        feeds = {"input_ids": rng.integers(0, 100, (batch, seq)).astype(np.int64),
                 "attention_mask": np.ones((batch, seq), np.int64)}
        runs = max(5, args.runs // max(1, batch * seq // 128))
        t = interleaved({"dyn": lambda: dynamic.run(feeds), "static": lambda: static.run(feeds),
                         "ort": lambda: reference.run(None, feeds)}, runs)
        print(f"| {batch} x {seq} | {t['dyn'] * 1e3:.3f} | {t['static'] * 1e3:.3f} | "
              f"{t['dyn'] / t['static']:.2f} | {t['ort'] * 1e3:.3f} | {t['dyn'] / t['ort']:.2f} |")


def decode_table(args, scratch):
    model = os.path.join(MODELS, "gpt_kv.onnx")
    session = ds.load(compile_artifact(args.build_dir, model, os.path.join(scratch, "gpt.dsx")),
                      num_threads=args.threads)
    reference = ort_session(model, args.threads)
    names = [f"past_key_values.{i}.{k}" for i in range(2) for k in ("key", "value")]
    print()
    print("| past tokens | ds decode step ms | ORT decode step ms | ds / ORT |")
    print("|---:|---:|---:|---:|")
    rng = np.random.default_rng(1)
    for past in PASTS:
        feeds = {"input_ids": rng.integers(0, 100, (1, 1)).astype(np.int64)}
        for name in names:
            feeds[name] = rng.standard_normal((1, 4, past, 16)).astype(np.float32)
        t = interleaved({"ds": lambda: session.run(feeds),
                         "ort": lambda: reference.run(None, feeds)}, args.runs)
        print(f"| {past} | {t['ds'] * 1e3:.3f} | {t['ort'] * 1e3:.3f} | {t['ds'] / t['ort']:.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    args = parser.parse_args()
    print(f"threads {args.threads}, onnxruntime {ort.__version__}, median of interleaved runs\n")
    with tempfile.TemporaryDirectory(prefix="ds-bench-") as scratch:
        encoder_table(args, scratch)
        decode_table(args, scratch)


if __name__ == "__main__":
    sys.exit(main())
