#!/usr/bin/env python3
"""Runs a tool on every file of a bad-input corpus and checks the diagnostic each must give.

The corpus directory holds the files and `expected.txt` (written by
utils/gen_bad_models.py): per line `file<TAB>arguments<TAB>expected`, where the
expected text is `OK` (the tool must succeed) or pieces joined by ` && ` that must
all appear on stderr of a failing run with exit status 1. A crash (signal, exit
status other than 0/1), a sanitizer report or a run over the time limit fails the
check, as does a corpus file without an entry or an entry without a file.

  usage: check_corpus.py --tool build/bin/ds-opt test/corpus/onnx
"""
import argparse
import os
import subprocess
import sys

CRASH_SIGNS = ("Sanitizer", "runtime error:", "Stack dump", "Assertion", "terminate called")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tool", required=True, help="tool to run on each file (ds-opt, ds-compile)")
    ap.add_argument("--tool-args", default="", help="arguments put before each file's own")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("corpus", help="directory with the files and expected.txt")
    args = ap.parse_args(argv)

    entries = []
    with open(os.path.join(args.corpus, "expected.txt")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, extra, expected = line.rstrip("\n").split("\t")
            entries.append((name, [] if extra == "-" else extra.split(), expected))
    failures = []
    listed = {e[0] for e in entries}
    for name in sorted(os.listdir(args.corpus)):
        if name.endswith(".onnx") and name not in listed:
            failures.append(f"{name}: in the corpus but not in expected.txt")
    for name, extra, expected in entries:
        path = os.path.join(args.corpus, name)
        if not os.path.exists(path):
            failures.append(f"{name}: listed in expected.txt but missing")
            continue
        cmd = [args.tool] + args.tool_args.split() + extra + [path]
        try:
            run = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 text=True, errors="replace", timeout=args.timeout)
        except subprocess.TimeoutExpired:
            failures.append(f"{name}: no result within {args.timeout:.0f} s (hang)")
            continue
        err = run.stderr
        if any(sign in err for sign in CRASH_SIGNS) or run.returncode not in (0, 1):
            failures.append(f"{name}: crashed (exit {run.returncode}):\n{err}")
        elif expected == "OK":
            if run.returncode != 0:
                failures.append(f"{name}: expected success, got exit 1:\n{err}")
        elif run.returncode != 1:
            failures.append(f"{name}: expected a diagnostic, but the tool succeeded")
        else:
            missing = [p for p in expected.split(" && ") if p not in err]
            if missing:
                failures.append(f"{name}: diagnostic lacks {missing}:\n{err}")
    for failure in failures:
        print("FAIL", failure)
    print(f"{len(entries) - len(failures)}/{len(entries)} corpus files give their expected result")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
