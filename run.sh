#!/usr/bin/env bash
# ds: set up a fresh Debian 12 machine, build, and either run the demo or the tests.
#
#   ./run.sh demo    import a generated BERT-style model, print its ds IR and a summary
#   ./run.sh test    build and run every test (lit + ONNX node-suite import conformance)
#
# Both install what they need (apt and pip) on first use; later runs reuse it.
set -euo pipefail
cd "$(dirname "$0")"
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}

install_deps() {
  local apt_pkgs=(llvm-19-dev libmlir-19-dev mlir-19-tools llvm-19-tools clang-19 lld
                  ninja-build ccache cmake libprotobuf-dev protobuf-compiler python3-pip)
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
  if ! python3 -c "import onnx, lit, numpy; assert onnx.__version__ == '1.22.0'" 2>/dev/null; then
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
}

demo() {
  local out="$BUILD_DIR/demo"
  mkdir -p "$out"
  python3 utils/gen_models.py --out "$out" --only bert >/dev/null
  echo "== ds-opt $out/bert.onnx --canonicalize --cse --ds-model-summary"
  "$BUILD_DIR/bin/ds-opt" "$out/bert.onnx" --canonicalize --cse \
    --ds-model-summary="output=$out/summary.txt"
  echo
  cat "$out/summary.txt"
}

run_tests() {
  export PATH="/usr/lib/llvm-19/bin:$PATH"
  echo "== lit"
  lit -sv "$BUILD_DIR/test"
  echo "== ONNX node-suite import conformance"
  python3 utils/conformance.py --ds-opt "$BUILD_DIR/bin/ds-opt" --jobs "$JOBS" \
    --json "$BUILD_DIR/conformance.json" --required-ops utils/required_ops.txt \
    --known-failures utils/conformance_known_failures.txt
}

case "${1:-}" in
  demo) install_deps; build; demo ;;
  test) install_deps; build; run_tests ;;
  *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac
