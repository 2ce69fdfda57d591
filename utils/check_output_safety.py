#!/usr/bin/env python3
"""Checks that ds-compile writes its artifact safely: concurrent compiles to one
path, and a compile killed while writing, never leave a corrupt file.

  concurrent   ROUNDS x 8 ds-compile processes write one path at once; after each
               round the file must equal a lone compile's byte for byte and load
               and run in ds-run.
  interrupted  a previous artifact sits at the path; a compile of a larger model
               is killed by RLIMIT_FSIZE (SIGXFSZ) half way through writing; the
               previous artifact must be byte-identical afterwards.
Either way no temporary file may be left in the folder.

  usage: check_output_safety.py --ds-compile ds-compile --ds-run ds-run --out DIR
"""
import argparse
import os
import resource
import signal
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def matmul_model(path, n, seed):
    """X[4,n] @ W[n,n]: n*n*4 bytes of weights."""
    w = np.random.default_rng(seed).standard_normal([n, n]).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"], name="mm")], "m",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [4, n])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [4, n])],
        [numpy_helper.from_array(w, "W")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def leftovers(folder):
    return sorted(name for name in os.listdir(folder) if ".tmp-" in name)


def concurrent(args, model, rounds):
    reference = os.path.join(args.out, "reference.dsx")
    subprocess.run([args.ds_compile, model, "-o", reference, "--quiet"], check=True)
    target = os.path.join(args.out, "shared.dsx")
    expected = read(reference)
    for round in range(rounds):
        procs = [subprocess.Popen([args.ds_compile, model, "-o", target, "--quiet"])
                 for _ in range(8)]
        codes = [p.wait() for p in procs]
        if any(codes):
            return f"round {round}: exit codes {codes}"
        if read(target) != expected:
            return f"round {round}: the artifact differs from a lone compile's"
        run = subprocess.run([args.ds_run, target, "--runs", "1", "--warmup", "0", "--quiet"],
                             capture_output=True, text=True)
        if run.returncode:
            return f"round {round}: ds-run failed: {run.stderr}"
    return None


def interrupted(args, small, large):
    target = os.path.join(args.out, "previous.dsx")
    subprocess.run([args.ds_compile, small, "-o", target, "--quiet"], check=True)
    before = read(target)

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 10, 256 << 10))

    run = subprocess.run([args.ds_compile, large, "-o", target, "--quiet"], preexec_fn=limit,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if run.returncode == 0:
        return "the compile was not stopped by the file size limit"
    if read(target) != before:
        return f"the previous artifact changed (now {os.path.getsize(target)} bytes)"
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ds-compile", required=True)
    ap.add_argument("--ds-run", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    small, large = os.path.join(args.out, "small.onnx"), os.path.join(args.out, "large.onnx")
    matmul_model(small, 16, 1)
    matmul_model(large, 512, 2)  # 1 MiB of weights

    failures = 0
    for name, check in (("concurrent", lambda: concurrent(args, large, args.rounds)),
                        ("interrupted", lambda: interrupted(args, small, large))):
        error = check()
        left = leftovers(args.out)
        if not error and left:
            error = f"temporary files left behind: {left}"
        print(f"{name}: {'FAIL ' + error if error else 'ok'}")
        failures += bool(error)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
