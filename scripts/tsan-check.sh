#!/usr/bin/env bash
# Runs the runtime unit tests under ThreadSanitizer, above all the concurrency tests
# (test/Runtime/unit/ConcurrencyTest.cpp): one session shared by 8 threads
# (ds_session_run_outputs, and run + output under the caller's lock), sessions created and
# released around a released model, and concurrent / nested loops on one worker pool. A
# runtime-only build (-DDS_BUILD_COMPILER=OFF, clang 19, -fsanitize=thread) in its own
# directory; a data race or a deadlock report fails the run.
#   usage: scripts/tsan-check.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-tsan}
if [ ! -f "$dir/build.ninja" ]; then
  flags="-fsanitize=thread -fno-omit-frame-pointer -g1"
  mkdir -p "$dir"
  cmake -G Ninja -S . -B "$dir" -DDS_BUILD_COMPILER=OFF -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" > "$dir/cmake.log" 2>&1 \
    || { cat "$dir/cmake.log"; exit 1; }
fi
ninja -C "$dir" ds-runtime-tests
# Every runtime unit test (seconds): the kernels run their loops on the pool's workers too.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
"$dir/bin/ds-runtime-tests" --gtest_brief=1
echo "ThreadSanitizer: runtime concurrency tests passed"
