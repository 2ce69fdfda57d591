#!/usr/bin/env bash
# The runtime builds and passes its tests without LLVM/MLIR (-DDS_BUILD_COMPILER=OFF),
# installs a CMake package, and an application finds it with find_package(ds) and runs
# an artifact.   usage: scripts/check-runtime-only.sh ARTIFACT.dsx [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
artifact=$(realpath "$1")
work=$(realpath -m "${2:-build-runtime-only}")
cmake -G Ninja -S . -B "$work/build" -DDS_BUILD_COMPILER=OFF -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$work/install" > "$work.cmake.log" 2>&1 || { cat "$work.cmake.log"; exit 1; }
ninja -C "$work/build"
"$work/build/bin/ds-runtime-tests" --gtest_brief=1
ninja -C "$work/build" install > /dev/null
cmake -G Ninja -S examples/run_model -B "$work/example" -DCMAKE_PREFIX_PATH="$work/install" \
  -DCMAKE_BUILD_TYPE=Release > /dev/null
ninja -C "$work/example" > /dev/null
"$work/example/run_model" "$artifact"
echo "runtime-only build, install and find_package(ds) example: OK"
