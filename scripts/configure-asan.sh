#!/usr/bin/env bash
# Configures a build of ds instrumented with AddressSanitizer + UndefinedBehaviorSanitizer and
# libFuzzer coverage (clang 19), shared by scripts/sanitizer-check.sh and scripts/fuzz.sh so that
# one build serves both.   usage: scripts/configure-asan.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: scripts/configure-asan.sh BUILD_DIR}
dpkg -s libclang-rt-19-dev >/dev/null 2>&1 || {
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libclang-rt-19-dev
}
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
flags="$flags -fno-omit-frame-pointer -g1"
cmake -G Ninja -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DDS_ENABLE_FUZZERS=ON \
  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" > /dev/null
