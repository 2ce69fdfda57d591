#!/usr/bin/env bash
# Builds ds with AddressSanitizer + UndefinedBehaviorSanitizer (scripts/configure-asan.sh) and
# runs the test suite with the sanitized tools: every lit test (the bad-input corpus, the
# artifact truncation check and the 100,000-node chain included), the runtime unit tests,
# and the whole ONNX node suite (import + execution). A sanitizer report fails the run.
#   usage: scripts/sanitizer-check.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-asan}
[ -f "$dir/build.ninja" ] || scripts/configure-asan.sh "$dir"
ninja -C "$dir" all mlir-doc
export PATH="/usr/lib/llvm-19/bin:$PATH"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
echo "== runtime unit tests (ASan + UBSan)"
"$dir/bin/ds-runtime-tests" --gtest_brief=1
echo "== lit (ASan + UBSan)"
lit -s "$dir/test"
echo "== ONNX node suite, import and execution (ASan + UBSan)"
python3 utils/conformance.py --ds-opt "$dir/bin/ds-opt" --jobs "$(nproc)" --execute --timeout 300 \
  --expected-exec-failures utils/execution_expected_failures.txt --json "$dir/conformance.json" \
  | tail -1
