#!/usr/bin/env python3
"""What each technique buys, per model, from ds's own cost report.

For every model: the cost after import and after each efficiency pass the
chosen options run (ds.cost_report: FLOPs, bytes moved, roofline time on
this CPU and on an H200, peak bytes of the intermediates), as a Markdown
table. Then rematerialization: the peak and the extra FLOPs of each
strategy (greedy and optimal at --budget-fraction of the store-all peak,
√n without a budget) on a training-step-shaped chain (--chain-length
activations read back in reverse) and on the models. A memory-over-time
plot of one model's stages goes to --plot (PNG; needs matplotlib).

The roofline is an estimate from the op shapes (docs/cost-model.md), not a
timing: bench/compare_ort.py and the others time the runs.

  python3 bench/cost_report.py [--models DIR] [--precision bf16] [--plot memory.png]
"""

import argparse
import os
import subprocess
import sys
import tempfile

import ds

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "test", "e2e"))
from chains import activation_chain  # noqa: E402


def mb(n):
    return f"{n / 1e6:.2f}"


def stages_table(name, stages):
    print(f"\n### {name}\n")
    print("| stage | GFLOP | MB moved | cpu roofline ms | H200 roofline ms | peak MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for s in stages:
        t = s["total"]
        print(f"| {s['stage']} | {t['flops'] / 1e9:.3f} | {mb(t['bytes_read'] + t['bytes_written'])} "
              f"| {t['cpu_seconds'] * 1e3:.3f} | {t['gpu_seconds'] * 1e3:.4f} "
              f"| {mb(s['memory']['peak_bytes'])} |")


def remat_row(name, path, fraction, shapes=None):
    # The stage before rematerialization (after attention raising) is the
    # store-all program the strategies start from.
    base = ds.cost_report(path, fuse=False, input_shapes=shapes)[-1]
    peak, flops = base["memory"]["peak_bytes"], base["total"]["flops"]
    cells = [name, mb(peak)]
    for strategy in ("greedy", "sqrt", "optimal"):
        budget = None if strategy == "sqrt" else int(peak * fraction)
        try:
            stages = ds.cost_report(path, fuse=False, remat_budget=budget,
                                    remat_strategy=strategy, input_shapes=shapes)
            before, after = stages[-2], stages[-1]
            assert after["stage"] == "rematerialization"
            extra = after["total"]["flops"] / before["total"]["flops"] - 1
            cells.append(f"{mb(after['memory']['peak_bytes'])} (+{100 * extra:.0f}%)")
        except ds.CompileError as error:
            text = str(error)
            cells.append("refused: " + ("too many values" if "small graphs" in text
                                        else text.split("smallest peak found is ")[-1]
                                        .split(" (")[0] + " reachable"))
    print("| " + " | ".join(cells) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", help="folder of .onnx models (default: generated ones "
                        "and test/e2e/models)")
    parser.add_argument("--precision", default="bf16", help="precision policy to show")
    parser.add_argument("--budget-fraction", type=float, default=0.5)
    parser.add_argument("--chain-length", type=int, default=32)
    parser.add_argument("--plot", help="PNG of memory over time (first model's stages)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ds-cost-") as scratch:
        folder = args.models
        paths = []
        if folder is None:
            folder = os.path.join(scratch, "models")
            subprocess.run([sys.executable, os.path.join(REPO, "utils", "gen_models.py"),
                            "--out", folder], check=True, stdout=subprocess.DEVNULL)
            paths += [os.path.join(REPO, "test", "e2e", "models", m)
                      for m in ("llama_gqa.onnx", "causal_attention.onnx")]
        paths = sorted(os.path.join(folder, f) for f in os.listdir(folder)
                       if f.endswith(".onnx")) + paths

        print(f"## Cost by stage (precision={args.precision}, cpu roofline: "
              "this machine, all cores)")
        first = None
        for path in paths:
            name = os.path.basename(path)[:-5]
            try:
                stages = ds.cost_report(path, precision=args.precision,
                                        input_shapes=shapes_for(path))
            except ds.CompileError as error:
                print(f"\n### {name}\n\nnot reported: {str(error).splitlines()[0]}")
                continue
            stages_table(name, stages)
            first = first or (name, stages)

        print(f"\n## Rematerialization (peak MB of the intermediates, extra FLOPs; "
              f"greedy / optimal at {args.budget_fraction:g} of the store-all peak, "
              "sqrt without a budget)\n")
        print("| program | store-all peak | greedy | sqrt | optimal |")
        print("|---|---:|---:|---:|---:|")
        chain = activation_chain(os.path.join(scratch, "chain.mlir"), args.chain_length, 128)
        remat_row(f"chain of {args.chain_length} (128x128 f32)", chain, args.budget_fraction)
        small = activation_chain(os.path.join(scratch, "chain8.mlir"), 8, 128)
        remat_row("chain of 8 (128x128 f32)", small, args.budget_fraction)
        for path in paths:
            remat_row(os.path.basename(path)[:-5], path, args.budget_fraction, shapes_for(path))

        if args.plot and first:
            ds.plot_memory(first[1], args.plot, title=f"{first[0]}: intermediates alive")
            print(f"\nmemory over time of {first[0]}: {args.plot}")


def shapes_for(path):
    """The checked-in exports have dynamic dims: cost them at a fixed size."""
    name = os.path.basename(path)
    if name == "llama_gqa.onnx":
        return {"hidden_states": "1x128x64"}
    if name == "causal_attention.onnx":
        return {"q": "1x2x512x16", "k": "1x2x512x16", "v": "1x2x512x16"}
    return None


if __name__ == "__main__":
    main()
