#!/usr/bin/env python3
"""Check that importing a large weight does not copy it more than once.

Writes a model whose MatMul weight has --mb MiB (inline raw_data, or external
data with --external), imports it with `ds-opt` (weights elided when printed)
and compares the child's peak RSS with the weight size. The protobuf parse
holds the bytes once and the importer hands that buffer to a dense_resource
blob; external data is memory-mapped. A second copy would push the peak past
the limit: weight * 1.5 + --baseline-mb.

Usage: check_import_memory.py --ds-opt PATH --out DIR [--mb 256] [--external]
"""

import argparse
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

COLS = 1024


def write_model(path, mib, external):
    rows = mib * 1024 * 1024 // (4 * COLS)
    weight = helper.make_tensor("w", TensorProto.FLOAT, [rows, COLS],
                                np.ones((rows, COLS), np.float32).tobytes(), raw=True)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "big",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, rows])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, COLS])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    if external:
        onnx.save(model, path, save_as_external_data=True, location="big.bin",
                  size_threshold=0)
    else:
        onnx.save(model, path)
    return rows * COLS * 4


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ds-opt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mb", type=int, default=256)
    ap.add_argument("--baseline-mb", type=int, default=120,
                    help="allowance for the process itself (MLIR, protobuf, allocator)")
    ap.add_argument("--external", action="store_true")
    ap.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "big.onnx")
    if args.generate_only:
        write_model(path, args.mb, args.external)
        return 0
    # The model is written by a separate process: a child forked from a process
    # that held the weights would inherit their pages in its peak RSS.
    generate = [sys.executable, __file__, "--ds-opt", args.ds_opt, "--out", args.out,
                "--mb", str(args.mb), "--generate-only"] + (["--external"] if args.external else [])
    subprocess.run(generate, check=True)
    size = (args.mb * 1024 * 1024 // (4 * COLS)) * COLS * 4
    ds_opt = shutil.which(args.ds_opt) or args.ds_opt
    with open(os.path.join(args.out, "ds-opt.out"), "wb") as out:
        proc = subprocess.Popen([ds_opt, path], stdout=out, stderr=subprocess.PIPE)
        stderr = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.stderr.write(stderr.decode())
        return 1
    with open(os.path.join(args.out, "ds-opt.out"), "rb") as f:
        if b"dense_resource<w>" not in f.read():
            print("the weight was not imported as a dense_resource blob")
            return 1
    peak = usage.ru_maxrss * 1024
    limit = size * 1.5 + args.baseline_mb * 2**20
    kind = "external" if args.external else "inline"
    print(f"{kind} weight {size / 2**20:.0f} MiB: ds-opt peak RSS {peak / 2**20:.0f} MiB "
          f"(limit {limit / 2**20:.0f} MiB)")
    os.remove(path)
    if args.external:
        os.remove(os.path.join(args.out, "big.bin"))
    return 0 if peak <= limit else 1


if __name__ == "__main__":
    sys.exit(main())
