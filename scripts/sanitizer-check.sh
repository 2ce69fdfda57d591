#!/usr/bin/env bash
# Builds ds with AddressSanitizer + UndefinedBehaviorSanitizer (clang 19) and runs the runtime
# unit tests, the bad-input corpus and the whole ONNX node suite (import + execution) with the
# sanitized tools; any sanitizer report fails a test.   usage: scripts/sanitizer-check.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-asan}
dpkg -s libclang-rt-19-dev >/dev/null 2>&1 || {
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libclang-rt-19-dev
}
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -G Ninja -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" > /dev/null
ninja -C "$dir" ds-opt ds-compile ds-run ds-runtime-tests
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
"$dir/bin/ds-runtime-tests" --gtest_brief=1
out=$(mktemp -d)
python3 utils/gen_bad_models.py --out "$out" > /dev/null
for model in "$out"/*.onnx; do
  status=0
  "$dir/bin/ds-opt" "$model" > /dev/null 2> "$out/stderr" || status=$?
  if [ "$status" -gt 1 ] || grep -q "Sanitizer\|runtime error" "$out/stderr"; then
    echo "sanitizer report or crash on $(basename "$model"):"; cat "$out/stderr"; exit 1
  fi
done
echo "bad-input corpus: clean"
python3 utils/conformance.py --ds-opt "$dir/bin/ds-opt" --jobs "$(nproc)" --execute --timeout 120 \
  --expected-exec-failures utils/execution_expected_failures.txt --json "$dir/conformance.json" \
  | tail -1
