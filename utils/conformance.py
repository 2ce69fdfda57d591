#!/usr/bin/env python3
"""Run ds-opt over the ONNX backend node-test suite and report import coverage.

Every test directory holding a model.onnx is imported with `ds-opt model.onnx`
(stdout discarded) and classified:

  imported     exit status 0
  unsupported  non-zero exit and stderr names `unsupported ONNX op 'X'`
  error        any other non-zero exit (the first stderr line is kept)
  timeout      no answer within --timeout seconds

With --execute, each imported test is compiled and run on its own inputs:
passed (the runtime ran its steps and matched the expected outputs), folded
(matched, but the artifact has no steps: constants folded at compile time or
inputs passed through, so counted apart from the executed tests), failed,
compile_error, run_error or timeout.

Prints a Markdown table per op type (how many tests using the op landed in each
class), totals and the import rate; --json writes per-test results and the
summary. The exit status is 0 unless --min-rate or --required-ops is given and
not met (1), or the arguments are unusable (2).

Usage: conformance.py --ds-opt PATH [--data DIR] [--json OUT.json] [--jobs N]
                      [--filter REGEX] [--timeout S] [--min-rate X]
                      [--required-ops FILE] [--verbose]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import onnx

STATUSES = ("imported", "unsupported", "error", "timeout")
UNSUPPORTED_RE = re.compile(r"unsupported ONNX op '([^']+)'")
DEFAULT_DOMAINS = ("", "ai.onnx")


def default_data_dir():
    return os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "node")


def op_key(domain, op_type):
    """Default-domain ops by bare name, others as 'domain.OpType'."""
    return op_type if domain in DEFAULT_DOMAINS else f"{domain}.{op_type}"


def collect_ops(graph, ops, domains):
    """Op types of a graph, including those in If/Loop/Scan bodies."""
    for node in graph.node:
        ops.add(op_key(node.domain, node.op_type))
        domains.add(node.domain or "ai.onnx")
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                collect_ops(attr.g, ops, domains)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    collect_ops(g, ops, domains)


def model_info(path):
    info = {"ops": [], "domains": [], "opsets": {}}
    try:
        model = onnx.load(path, load_external_data=False)
    except Exception as e:  # the suite should always load; record it if not
        info["load_error"] = str(e).splitlines()[0] if str(e) else type(e).__name__
        return info
    ops, domains = set(), set()
    collect_ops(model.graph, ops, domains)
    for f in model.functions:   # model-local functions may be called by nodes
        for node in f.node:
            domains.add(node.domain or "ai.onnx")
    for imp in model.opset_import:
        name = imp.domain or "ai.onnx"
        domains.add(name)
        info["opsets"][name] = imp.version
    info["ops"] = sorted(ops)
    info["domains"] = sorted(domains)
    return info


def first_line(text):
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


INTEGER_TYPES = {onnx.TensorProto.INT64, onnx.TensorProto.INT32}


def shape_input_bindings(model_path, test_dir):
    """--ds-bind-input flags that freeze the integer graph inputs of a node test
    (axes, split sizes, pads, k...) to the values of its first data set. In the
    node suite these are graph inputs, while real exporters emit them as
    constants; the result records which tests needed this."""
    model = onnx.load(model_path, load_external_data=False)
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    flags = []
    for index, value in enumerate(inputs):
        pb = os.path.join(test_dir, "test_data_set_0", f"input_{index}.pb")
        tensor_type = value.type.tensor_type
        dims = [d.dim_value for d in tensor_type.shape.dim]
        # Float parameters (Resize scales, OneHot depth) decide shapes too.
        small_float_vector = (tensor_type.elem_type == onnx.TensorProto.FLOAT and index > 0
                              and (not dims or (len(dims) == 1 and 0 < dims[0] <= 8)))
        if (tensor_type.elem_type in INTEGER_TYPES or small_float_vector) and os.path.isfile(pb):
            flags.append(f"--ds-bind-input={value.name}={pb}")
    return flags


def run_test(ds_opt, name, test_dir, timeout):
    path = os.path.join(test_dir, "model.onnx")
    result = {"name": name}
    result.update(model_info(path))
    start = time.monotonic()
    try:
        proc = subprocess.run([ds_opt, path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              timeout=timeout)
        stderr = proc.stderr.decode("utf-8", errors="replace")
        if proc.returncode != 0 and "must be a constant" in stderr:
            flags = shape_input_bindings(path, test_dir)
            if flags:
                proc = subprocess.run([ds_opt, path, *flags], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, timeout=timeout)
                result["bound_inputs"] = [f.split("=", 2)[1] for f in flags]
    except subprocess.TimeoutExpired:
        result.update(status="timeout", seconds=round(time.monotonic() - start, 3))
        return result
    result["seconds"] = round(time.monotonic() - start, 3)
    result["exit_code"] = proc.returncode
    stderr = proc.stderr.decode("utf-8", errors="replace")
    if proc.returncode == 0:
        result["status"] = "imported"
        return result
    named = sorted(set(UNSUPPORTED_RE.findall(stderr)))
    if named:
        result["status"] = "unsupported"
        result["unsupported_ops"] = named
        return result
    result["status"] = "error"
    msg = first_line(stderr)
    if proc.returncode < 0:
        msg = f"killed by signal {-proc.returncode}" + (f": {msg}" if msg else "")
    result["error"] = msg or f"exit code {proc.returncode}, no message"
    return result


# passed: the runtime ran the compiled steps and matched the expected outputs.
# folded: the compiled artifact has no steps (every output a constant folded at
# compile time, or an input passed through); its values matched, but nothing
# ran on the runtime, so it is counted apart from the executed tests.
EXEC_STATUSES = ("passed", "folded", "failed", "compile_error", "run_error", "timeout",
                 "not_imported")
STEPS_RE = re.compile(r"\b(\d+) steps\)")


def execute_test(result, tools_dir, test_dir, timeout, workdir):
    """Compiles an imported test with ds-compile and runs it with ds-run on the
    test's own inputs, comparing with its expected outputs (rtol 1e-3,
    atol 1e-7, the suite's defaults). Sets result["exec"], "exec_detail" and
    "steps" (the artifact's step count, from ds-compile's summary line)."""
    if result["status"] != "imported":
        result["exec"] = "not_imported"
        return result
    model_path = os.path.join(test_dir, "model.onnx")
    data_dir = os.path.join(test_dir, "test_data_set_0")
    artifact = os.path.join(workdir, result["name"] + ".dsx")
    bound = result.get("bound_inputs", [])
    compile_cmd = [os.path.join(tools_dir, "ds-compile"), model_path, "-o", artifact]
    compile_cmd += [f"--ds-bind-input={name}={os.path.join(data_dir, f'input_{i}.pb')}"
                    for i, name in enumerate(graph_input_names(model_path)) if name in bound]
    run_cmd = [os.path.join(tools_dir, "ds-run"), artifact, "--expect-dir", data_dir,
               "--runs", "1", "--warmup", "0", "--threads", "1", "--quiet"]
    run_cmd += [f"--input={name}={os.path.join(data_dir, f'input_{i}.pb')}"
                for i, name in enumerate(graph_input_names(model_path)) if name not in bound]
    try:
        proc = subprocess.run(compile_cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0 and "dynamic dims" in proc.stderr and not bound:
            # Shapes that depend on input data (Reshape's shape, Slice's starts,
            # TopK's k...) are compiled for the test's values, as an exporter
            # would have emitted them as constants.
            bound = [f.split("=", 2)[1] for f in shape_input_bindings(model_path, test_dir)]
            if bound:
                retry = execute_test(dict(result, bound_inputs=bound), tools_dir, test_dir,
                                     timeout, workdir)
                retry["bound_inputs"] = result.get("bound_inputs", [])
                retry["bound_for_execution"] = bound
                return retry
        if proc.returncode != 0:
            result.update(exec="compile_error", exec_detail=first_line(proc.stderr))
            return result
        steps = STEPS_RE.search(proc.stdout)
        if not steps:   # the signal for "folded" must not silently go missing
            result.update(exec="compile_error",
                          exec_detail="no '(N steps)' in ds-compile's output: "
                          + first_line(proc.stdout))
            return result
        result["steps"] = int(steps.group(1))
        proc = subprocess.run(run_cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        result.update(exec="timeout")
        return result
    if os.path.exists(artifact):
        os.remove(artifact)
    if proc.returncode == 0 and "PASS" in proc.stdout:
        result["exec"] = "passed" if result["steps"] else "folded"
    elif proc.returncode == 3:
        result.update(exec="failed", exec_detail=first_line(proc.stdout))
    else:
        detail = first_line(proc.stderr) or first_line(proc.stdout)
        if proc.returncode < 0:
            detail = f"killed by signal {-proc.returncode}: {detail}"
        result.update(exec="run_error", exec_detail=detail)
    return result


def graph_input_names(model_path):
    model = onnx.load(model_path, load_external_data=False)
    initializers = {t.name for t in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in initializers]


def summarize_execution(results):
    counts = {s: sum(1 for r in results if r.get("exec") == s) for s in EXEC_STATUSES}
    per_op = {}
    for r in results:
        for op in r["ops"]:
            row = per_op.setdefault(op, {"tests": 0, **{s: 0 for s in EXEC_STATUSES}})
            row["tests"] += 1
            row[r.get("exec", "not_imported")] += 1
    total = len(results)
    correct = counts["passed"] + counts["folded"]
    return {"tests": total, **counts,
            # ran at least one step on the runtime (whatever the outcome)
            "executed": sum(1 for r in results if r.get("steps")),
            "folded_after_binding": sum(1 for r in results if r.get("exec") == "folded" and
                                        (r.get("bound_inputs") or r.get("bound_for_execution"))),
            # right values, executed or folded; and executed only
            "pass_rate": correct / total if total else 0.0,
            "executed_pass_rate": counts["passed"] / total if total else 0.0,
            "per_op": dict(sorted(per_op.items()))}


def print_execution_report(summary, out):
    w = out.write
    w("| op | tests | passed | folded | failed | compile error | run error | not imported |\n")
    w("|---|---:|---:|---:|---:|---:|---:|---:|\n")
    for op, row in summary["per_op"].items():
        w(f"| {op} | {row['tests']} | {row['passed']} | {row['folded']} | {row['failed']} | "
          f"{row['compile_error']} | {row['run_error']} | {row['not_imported']} |\n")
    w(f"\n**Execution:** {summary['tests']} tests: {summary['passed']} passed on the runtime, "
      f"{summary['folded']} folded (no runtime steps: every output a compile-time constant or "
      f"an input passed through, values checked; {summary['folded_after_binding']} of them only "
      f"after freezing inputs to the test's values), {summary['failed']} wrong results, {summary['compile_error']} compile errors, "
      f"{summary['run_error']} run errors, {summary['timeout']} timeouts, "
      f"{summary['not_imported']} not imported\n\n")
    w(f"**Pass rate:** {100.0 * summary['pass_rate']:.1f}% right values "
      f"({summary['passed']} + {summary['folded']} folded of {summary['tests']}); "
      f"{100.0 * summary['executed_pass_rate']:.1f}% executed and right "
      f"({summary['passed']}/{summary['tests']})\n")


def find_tests(data_dir, pattern):
    tests = []
    for name in sorted(os.listdir(data_dir)):
        test_dir = os.path.join(data_dir, name)
        if not os.path.isfile(os.path.join(test_dir, "model.onnx")):
            continue
        if pattern and not pattern.search(name):
            continue
        tests.append((name, test_dir))
    return tests


def summarize(results):
    per_op = {}
    for r in results:
        for op in r["ops"]:
            row = per_op.setdefault(op, {"tests": 0, **{s: 0 for s in STATUSES}})
            row["tests"] += 1
            row[r["status"]] += 1
    totals = {s: sum(1 for r in results if r["status"] == s) for s in STATUSES}
    total = len(results)
    unsupported_named = {}
    for r in results:
        for op in r.get("unsupported_ops", []):
            unsupported_named[op] = unsupported_named.get(op, 0) + 1
    return {
        "tests": total,
        **totals,
        "import_rate": (totals["imported"] / total) if total else 0.0,
        "per_op": dict(sorted(per_op.items())),
        "unsupported_ops_named": dict(sorted(unsupported_named.items())),
    }


def print_report(summary, out):
    w = out.write
    w("| op | tests | imported | unsupported | error | timeout |\n")
    w("|---|---:|---:|---:|---:|---:|\n")
    for op, row in summary["per_op"].items():
        w(f"| {op} | {row['tests']} | {row['imported']} | {row['unsupported']} "
          f"| {row['error']} | {row['timeout']} |\n")
    w("\n")
    w(f"**Totals:** {summary['tests']} tests: {summary['imported']} imported, "
      f"{summary['unsupported']} unsupported, {summary['error']} error, "
      f"{summary['timeout']} timeout\n\n")
    w(f"**Import rate:** {100.0 * summary['import_rate']:.1f}% "
      f"({summary['imported']}/{summary['tests']})\n")


def read_known_failures(path):
    """test name -> reason; every entry must give a reason."""
    known = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, reason = line.partition("#")
            if not reason.strip():
                raise SystemExit(f"{path}:{number}: known failure without a reason")
            known[name.strip()] = reason.strip()
    return known


def failure_reason(result):
    """One line saying why a test does not pass, from its diagnostics."""
    if result["status"] == "unsupported":
        return "unsupported op: " + ", ".join(result.get("unsupported_ops", []))
    if result["status"] != "imported":
        text = result.get("error", result["status"])
    else:
        text = f"{result.get('exec')}: {result.get('exec_detail', '')}"
    text = re.sub(r"\S*/(test_[^/ ]+)/", r"\1/", text)   # drop machine paths
    text = re.sub(r"^\S+\.onnx: error: ", "", text)
    return text.replace("#", "").strip()[:200]


def write_expected_failures(path, reasons):
    with open(path, "w") as f:
        f.write("# Node tests that do not pass on the CPU runtime, one reason each.\n"
                "# utils/conformance.py --execute --expected-exec-failures fails when a test\n"
                "# fails without being listed or passes while listed; regenerate with\n"
                "# --update-expected-exec-failures (existing reasons are kept).\n")
        for name in sorted(reasons):
            f.write(f"{name}  # {reasons[name]}\n")


def read_op_list(path):
    ops = set()
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0]
            ops.update(line.split())
    return ops


def parse_rate(text):
    """A fraction in [0, 1]; values above 1 are read as a percentage."""
    value = float(text)
    if value > 1.0:
        value /= 100.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"rate out of range: {text}")
    return value


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ds-opt", required=True, help="path to the ds-opt binary")
    ap.add_argument("--data", default=default_data_dir(),
                    help="node-test directory (default: the installed onnx package's)")
    ap.add_argument("--json", help="write per-test results and the summary here")
    ap.add_argument("--jobs", type=int, default=2, help="parallel ds-opt runs (default 2)")
    ap.add_argument("--filter", help="only tests whose name matches this regex (re.search)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per test (default 60)")
    ap.add_argument("--min-rate", type=parse_rate,
                    help="exit 1 if the import rate is below this (0.8 or 80 both mean 80%%)")
    ap.add_argument("--required-ops", help="file of op types, one per line; every test whose "
                    "ops are all listed must import, else exit 1")
    ap.add_argument("--known-failures", help="file of `test_name  # reason` lines: required "
                    "tests listed there are reported but do not fail the run")
    ap.add_argument("--execute", action="store_true",
                    help="also compile and run every imported test with ds-compile / ds-run "
                    "(found beside ds-opt) and compare with its expected outputs")
    ap.add_argument("--expected-exec-failures",
                    help="with --execute: file of `test_name  # reason` lines naming every test "
                    "that does not pass; an unlisted failure or a listed test that passes "
                    "fails the run")
    ap.add_argument("--update-expected-exec-failures", action="store_true",
                    help="rewrite that file from this run (keeping existing reasons)")
    ap.add_argument("--min-pass-rate", type=parse_rate,
                    help="with --execute: exit 1 if the execution pass rate is below this")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="list every test that did not import, with the reason")
    args = ap.parse_args(argv)

    ds_opt = os.path.abspath(args.ds_opt)
    if not (os.path.isfile(ds_opt) and os.access(ds_opt, os.X_OK)):
        print(f"conformance: ds-opt not found or not executable: {args.ds_opt}", file=sys.stderr)
        return 2
    if not os.path.isdir(args.data):
        print(f"conformance: no such data directory: {args.data}", file=sys.stderr)
        return 2
    pattern = re.compile(args.filter) if args.filter else None
    required = read_op_list(args.required_ops) if args.required_ops else None

    tests = find_tests(args.data, pattern)
    if not tests:
        print(f"conformance: no tests found in {args.data}", file=sys.stderr)
        return 2

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda t: run_test(ds_opt, t[0], t[1], args.timeout), tests))
    elapsed = time.monotonic() - start

    exec_summary = None
    if args.execute:
        import tempfile
        tools_dir = os.path.dirname(ds_opt)
        by_name = dict(tests)
        with tempfile.TemporaryDirectory() as workdir, \
                ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = list(pool.map(
                lambda r: execute_test(r, tools_dir, by_name[r["name"]], args.timeout, workdir),
                results))
        exec_summary = summarize_execution(results)

    summary = summarize(results)
    summary["seconds"] = round(elapsed, 1)
    print_report(summary, sys.stdout)
    if exec_summary:
        summary["execution"] = exec_summary
        print("\n## Execution on the CPU runtime\n")
        print_execution_report(exec_summary, sys.stdout)

    if args.verbose:
        print("\n## Not imported\n")
        for r in results:
            if r["status"] == "imported":
                continue
            why = r.get("error") or ", ".join(r.get("unsupported_ops", [])) or ""
            print(f"- {r['name']}: {r['status']}" + (f": {why}" if why else ""))

    exit_code = 0
    failures = []
    known = read_known_failures(args.known_failures) if args.known_failures else {}
    if required is not None:
        expected = []
        for r in results:
            if r["ops"] and set(r["ops"]) <= required and r["status"] != "imported":
                (expected if r["name"] in known else failures).append(r)
        summary["required_expected_failures"] = {r["name"]: known[r["name"]] for r in expected}
        if expected:
            print(f"\n## Required tests in the known-failures list ({len(expected)})\n")
            for r in expected:
                print(f"- {r['name']}: {known[r['name']]}")
        stale = sorted(n for n in known if any(r["name"] == n and r["status"] == "imported"
                                               for r in results))
        if stale:
            print("\n## Known failures that now import (remove them from the list)\n")
            for n in stale:
                print(f"- {n}")
            failures.extend(r for r in results if r["name"] in stale)
        required_tests = [r for r in results if r["ops"] and set(r["ops"]) <= required]
        passed = sum(1 for r in required_tests if r["status"] == "imported")
        summary["required_failures"] = [r["name"] for r in failures]
        if failures:
            print(f"\n## Required tests that did not import ({len(failures)})\n")
            for r in failures:
                why = r.get("error") or ", ".join(r.get("unsupported_ops", []))
                print(f"- {r['name']} [{' '.join(r['ops'])}]: {r['status']}"
                      + (f": {why}" if why else ""))
            exit_code = 1
        else:
            print("\nAll tests using only required ops imported (or are known failures).")
        # Plain closing line over the required-op tests; known failures count as skipped.
        print(f"\nconformance: {passed} passed, {len(failures)} failed, {len(expected)} skipped")

    if exec_summary and args.verbose:
        print("\n## Imported but not passing\n")
        for r in results:
            if r.get("exec") not in ("passed", "folded", "not_imported"):
                print(f"- {r['name']}: {r['exec']}: {r.get('exec_detail', '')}")
    if exec_summary and args.expected_exec_failures:
        failing = {r["name"]: failure_reason(r) for r in results
                   if r.get("exec") not in ("passed", "folded")}
        known = {}
        if os.path.exists(args.expected_exec_failures):
            known = read_known_failures(args.expected_exec_failures)
        if args.update_expected_exec_failures:
            write_expected_failures(args.expected_exec_failures,
                                    {n: known.get(n, why) for n, why in failing.items()})
            print(f"\nwrote {len(failing)} expected failures to {args.expected_exec_failures}")
        else:
            unexpected = sorted(set(failing) - set(known))
            stale = sorted(set(known) - set(failing))
            summary["execution"]["expected_failures"] = len(set(failing) & set(known))
            if unexpected:
                print(f"\n## Tests that do not pass and are not expected to fail ({len(unexpected)})\n")
                for n in unexpected:
                    print(f"- {n}: {failing[n]}")
                exit_code = 1
            if stale:
                print(f"\n## Expected failures that now pass (remove them) ({len(stale)})\n")
                for n in stale:
                    print(f"- {n}")
                exit_code = 1
            passed = exec_summary["passed"] + exec_summary["folded"]
            print(f"\nexecution: {passed} passed ({exec_summary['folded']} of them folded), "
                  f"{len(unexpected) + len(stale)} failed, "
                  f"{len(set(failing) & set(known))} skipped")
    if exec_summary and args.min_pass_rate is not None and \
            exec_summary["pass_rate"] < args.min_pass_rate:
        print(f"\nExecution pass rate {100.0 * exec_summary['pass_rate']:.1f}% is below the "
              f"minimum {100.0 * args.min_pass_rate:.1f}%.")
        exit_code = 1

    if args.min_rate is not None and summary["import_rate"] < args.min_rate:
        print(f"\nImport rate {100.0 * summary['import_rate']:.1f}% is below the minimum "
              f"{100.0 * args.min_rate:.1f}%.")
        exit_code = 1

    if args.json:
        report = {
            "ds_opt": ds_opt,
            "data": os.path.abspath(args.data),
            "onnx_version": onnx.__version__,
            "timeout_s": args.timeout,
            "summary": summary,
            "tests": results,
        }
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1, sort_keys=False)
            f.write("\n")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
