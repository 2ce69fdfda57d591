#!/usr/bin/env python3
"""How much of what the CPU backend runs compiles for CUDA, over the ONNX node suite.

Reads the JSON that utils/conformance.py --execute --json wrote, takes every
test that executed and matched on the CPU (not the ones folded to constants),
compiles it with `ds-compile --target=cuda` (the same bound inputs; NVRTC
included) and prints how many compile, with the failures grouped by their
first error line. --emulate also runs each compiled test's kernels under
utils/cuda_host_emulate.py on the test's own inputs and compares with the CPU
backend (NaN where the CPU has none is a mismatch). Exit status 1 below
--min-rate (of compiled, or with --emulate of matching, tests).

  utils/cuda_coverage.py --conformance-json conformance.json --ds-compile build/bin/ds-compile \
      [--emulate --ds-run build/bin/ds-run]
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conformance import (default_data_dir, first_line, graph_input_names, parse_rate,  # noqa: E402
                         shape_input_bindings)

# A CUDA compile error for a size that the CPU computes from an input's value
# while a run binds it (Reduce axes, Split sizes, Resize sizes...).
DATA_DEPENDENT_RE = re.compile(r"only a run knows|known only at run time")


def compile_for_cuda(compiler, data_dir, result, workdir, timeout):
    """(name, error or None, the inputs bound). Sizes that only an input's value
    decides are bound to the test's values and compiled again: CUDA takes
    sizes at launch only where they follow from the input shapes."""
    test_dir = os.path.join(data_dir, result["name"])
    model = os.path.join(test_dir, "model.onnx")
    inputs = os.path.join(test_dir, "test_data_set_0")
    bound = result.get("bound_for_execution") or result.get("bound_inputs") or []
    artifact = os.path.join(workdir, result["name"] + ".dsx")
    while True:
        cmd = [compiler, model, "-o", artifact, "--target=cuda", "--quiet"]
        cmd += [f"--ds-bind-input={name}={os.path.join(inputs, f'input_{i}.pb')}"
                for i, name in enumerate(graph_input_names(model)) if name in bound]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return result["name"], "timeout", bound
        if os.path.exists(artifact):
            os.remove(artifact)
        if proc.returncode == 0:
            return result["name"], None, bound
        if not bound and DATA_DEPENDENT_RE.search(proc.stderr):
            bound = [f.split("=", 2)[1] for f in shape_input_bindings(model, test_dir)]
            if bound:
                continue
        return result["name"], first_line(proc.stderr) or f"exit {proc.returncode}", bound


def emulate(args, result):
    """(name, None) when the emulated CUDA kernels match the CPU backend, else (name, why)."""
    test_dir = os.path.join(args.data, result["name"])
    model = os.path.join(test_dir, "model.onnx")
    inputs = os.path.join(test_dir, "test_data_set_0")
    bound = result.get("bound_for_cuda") or []
    cmd = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                        "cuda_host_emulate.py"), model,
           "--ds-compile", args.ds_compile, "--ds-run", args.ds_run]
    for i, name in enumerate(graph_input_names(model)):
        flag = "--bind" if name in bound else "--inputs"
        cmd += [flag, f"{name}={os.path.join(inputs, f'input_{i}.pb')}"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return result["name"], "emulation timeout"
    if proc.returncode == 0 and ": match" in proc.stdout:
        return result["name"], None
    lines = [l for l in (proc.stdout + proc.stderr).splitlines() if l.strip()]
    detail = next((l for l in lines if "differs" in l), lines[-1] if lines else "?")
    return result["name"], ("mismatch: " if "differs" in detail else "emulation error: ") + detail


def reason_key(message):
    """The error without the file / node prefix and numbers, to group alike failures."""
    message = re.sub(r"^.*?error: ", "", message)
    message = re.sub(r"node '[^']*': ", "", message)
    message = re.sub(r"tensor<[^>]*>", "tensor<...>", message)
    return re.sub(r"\d+", "N", message)[:140]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conformance-json", required=True)
    ap.add_argument("--ds-compile", required=True)
    ap.add_argument("--data", default=default_data_dir())
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--filter", help="only tests whose name matches this regex")
    ap.add_argument("--json", help="write per-test results here")
    ap.add_argument("--min-rate", type=parse_rate, help="fail below this fraction (0.9 or 90%%)")
    ap.add_argument("--emulate", action="store_true",
                    help="also run the compiled kernels under the host emulation")
    ap.add_argument("--ds-run", help="ds-run, for --emulate")
    args = ap.parse_args(argv)

    results = json.load(open(args.conformance_json))
    results = results["tests"] if isinstance(results, dict) else results
    runs = [r for r in results if r.get("exec") == "passed"]
    if args.filter:
        runs = [r for r in runs if re.search(args.filter, r["name"])]
    if not runs:
        print("no executed tests in the conformance JSON (run conformance.py --execute)")
        return 1
    with tempfile.TemporaryDirectory() as workdir, ThreadPoolExecutor(args.jobs) as pool:
        compiled = list(pool.map(lambda r: compile_for_cuda(args.ds_compile, args.data, r,
                                                            workdir, args.timeout), runs))
    outcome = {name: why for name, why, _ in compiled}
    bound_for_cuda = {name: bound for name, _, bound in compiled}
    for r in runs:
        r["bound_for_cuda"] = bound_for_cuda[r["name"]]
    rebound = sorted(name for name, bound in bound_for_cuda.items() if bound)
    failed = {name: why for name, why in outcome.items() if why}
    rate = 1 - len(failed) / len(outcome)
    print(f"CUDA: {len(outcome) - len(failed)} of {len(outcome)} tests that run on the CPU compile "
          f"with --target=cuda ({100 * rate:.1f}%); {len(rebound)} of them with --ds-bind-input "
          f"(a size that an input's value decides)")
    groups = collections.defaultdict(list)
    for name, why in failed.items():
        groups[reason_key(why)].append(name)
    for why, names in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        print(f"  {len(names):4d}  {why}  (e.g. {', '.join(sorted(names)[:3])})")
    report = {"compiled": len(outcome) - len(failed), "tests": len(outcome), "failed": failed,
              "bound_inputs": rebound}
    if args.emulate:
        if not args.ds_run:
            ap.error("--emulate needs --ds-run")
        compiled = [r for r in runs if not outcome[r["name"]]]
        with ThreadPoolExecutor(args.jobs) as pool:
            emulated = dict(pool.map(lambda r: emulate(args, r), compiled))
        wrong = {name: why for name, why in emulated.items() if why}
        rate = (len(emulated) - len(wrong)) / len(outcome)
        print(f"CUDA, host emulation: {len(emulated) - len(wrong)} of {len(outcome)} match the "
              f"CPU backend on the tests' own inputs ({100 * rate:.1f}%)")
        for name, why in sorted(wrong.items()):
            print(f"  {name}: {why[:160]}")
        report["emulation_failed"] = wrong
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 1 if args.min_rate is not None and rate < args.min_rate else 0


if __name__ == "__main__":
    sys.exit(main())
