#!/usr/bin/env bash
# ds: set up a fresh Debian 12 machine, build, and either run the demo or the tests.
#
#   ./run.sh demo    generate a BERT-style encoder, print its ds IR summary, compile it,
#                    run it and compare speed and outputs with onnxruntime
#   ./run.sh test    build and run every test: lit, runtime unit tests, Python and
#                    end-to-end tests, the runtime-only build, the ONNX node suite
#   ./run.sh hardening  the same tests on an ASan + UBSan build (scripts/sanitizer-check.sh),
#                    the runtime's concurrency tests under ThreadSanitizer (scripts/tsan-check.sh),
#                    then a short run of every fuzz target (scripts/fuzz.sh, FUZZ_SECONDS each)
#
# Both install what they need (apt and pip) on first use; later runs reuse it.
set -euo pipefail
cd "$(dirname "$0")"
BUILD_DIR=${BUILD_DIR:-build}
# Debian's own Python refuses pip installs outside a venv (PEP 668); ds's
# packages are meant for this machine's Python, as in CI.
export PIP_BREAK_SYSTEM_PACKAGES=1
JOBS=${JOBS:-$(nproc)}

install_deps() {
  local apt_pkgs=(llvm-19-dev libmlir-19-dev mlir-19-tools llvm-19-tools clang-19 lld
                  ninja-build ccache cmake libprotobuf-dev protobuf-compiler python3-pip
                  python3-dev libgtest-dev libopenblas0 libdnnl2 libclang-rt-19-dev
                  python3-torch)  # PyTorch 1.13 for /usr/bin/python3: the autograd reference
  local missing=()
  for p in "${apt_pkgs[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  if ! python3 -c "import onnx, lit, numpy, onnxruntime, nanobind, scikit_build_core, pytest, matplotlib; assert onnx.__version__ == '1.22.0'" 2>/dev/null; then
    echo "== installing Python packages"
    python3 -m pip install -q -r requirements.txt
  fi
}

build() {
  if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    cmake -G Ninja -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19
  fi
  ninja -C "$BUILD_DIR" -j "$JOBS" all mlir-doc
  # The Python package builds the runtime from the same sources, with the
  # same compiler: g++ 12's build of the kernels ran MobileNet 15% slower
  # (docs/runtime.md).
  CMAKE_ARGS="-DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19" \
    python3 -m pip install -q --no-build-isolation ./python-bindings
}

demo() {
  local out="$BUILD_DIR/demo"
  mkdir -p "$out"
  python3 utils/gen_models.py --out "$out" --only bert >/dev/null
  echo "== 1. import: ds-opt $out/bert.onnx --ds-compile-pipeline --ds-model-summary"
  "$BUILD_DIR/bin/ds-opt" "$out/bert.onnx" --ds-compile-pipeline \
    --ds-model-summary="output=$out/summary.txt" -o "$out/bert.mlir"
  cat "$out/summary.txt"
  echo "   (the ds IR is in $out/bert.mlir)"
  echo
  echo "== 2. compile: ds-compile $out/bert.onnx -o $out/bert.dsx"
  "$BUILD_DIR/bin/ds-compile" "$out/bert.onnx" -o "$out/bert.dsx"
  echo
  echo "== 3. run: ds-run $out/bert.dsx"
  "$BUILD_DIR/bin/ds-run" "$out/bert.dsx" --threads "$JOBS"
  echo
  echo "== 4. ds vs onnxruntime (same inputs, same threads)"
  python3 bench/compare_ort.py --models bert,gpt,cnn --threads "$JOBS" --runs 20 \
    --build-dir "$BUILD_DIR"
}

run_tests() {
  export PATH="/usr/lib/llvm-19/bin:$PATH"
  echo "== lit"
  lit -sv "$BUILD_DIR/test"
  echo "== runtime unit tests"
  "$BUILD_DIR/bin/ds-runtime-tests" --gtest_brief=1
  echo "== Python API and end-to-end tests (vs onnxruntime and PyTorch)"
  # Here PyTorch's autograd must be there to compare with: no skipping.
  DS_REQUIRE_TORCH=1 python3 -m pytest -q python-bindings/tests test/e2e
  echo "== runtime-only build, install and find_package(ds) example"
  python3 utils/gen_models.py --out "$BUILD_DIR/e2e-models" --only cnn >/dev/null
  "$BUILD_DIR/bin/ds-compile" "$BUILD_DIR/e2e-models/cnn.onnx" -o "$BUILD_DIR/cnn.dsx" --quiet
  scripts/check-runtime-only.sh "$BUILD_DIR/cnn.dsx" "$BUILD_DIR/runtime-only"
  echo "== ONNX node suite: import, then execution on the CPU runtime"
  python3 utils/conformance.py --ds-opt "$BUILD_DIR/bin/ds-opt" --jobs "$JOBS" \
    --json "$BUILD_DIR/conformance.json" --required-ops utils/required_ops.txt \
    --known-failures utils/conformance_known_failures.txt \
    --execute --min-pass-rate 0.75 --expected-exec-failures utils/execution_expected_failures.txt
}

hardening() {
  echo "== sanitizer build and test suite (ASan + UBSan)"
  scripts/sanitizer-check.sh build-asan
  echo "== runtime concurrency tests (ThreadSanitizer, runtime-only build)"
  scripts/tsan-check.sh build-tsan
  echo "== fuzz targets, ${FUZZ_SECONDS:-60} s each"
  scripts/fuzz.sh "${FUZZ_SECONDS:-60}" build-asan
}

case "${1:-}" in
  demo) install_deps; build; demo ;;
  test) install_deps; build; run_tests ;;
  hardening) install_deps; hardening ;;
  *) echo "usage: $0 demo|test|hardening" >&2; exit 2 ;;
esac
