#!/usr/bin/env bash
# One command for a GPU machine (CUDA, CMake, ninja, PyTorch, onnx, onnxruntime-CPU;
# no MLIR, no internet): builds the runtime alone, runs its tests (the CUDA ones
# run there), checks every artifact prepared on a CPU machine against
# onnxruntime-CPU, then benchmarks ds vs PyTorch. Tables go to one Markdown file.
#
#   on the CPU machine:  bench/prepare_gpu_check.py            (-> build/gpu-check)
#   on the GPU machine:  bench/gpu_check.sh [--out FILE] [--dir build/gpu-check] [--allow-no-gpu]
#
# --allow-no-gpu: without a GPU, stop after the tests and the "no CUDA device"
# check with exit 0 (for trying the script on a CPU machine). Under 8 minutes:
# every stage has a timeout.
set -uo pipefail
cd "$(dirname "$0")/.."
DIR=build/gpu-check; OUTFILE=${OUT:-build}/gpu-check.md; ALLOW_NO_GPU=0
BUILD=${BUILD_DIR:-build-gpu}; JOBS=${JOBS:-16}
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUTFILE=$2; shift ;;
    --dir) DIR=$2; shift ;;
    --allow-no-gpu) ALLOW_NO_GPU=1 ;;
    *) echo "usage: $0 [--out FILE] [--dir DIR] [--allow-no-gpu]"; exit 2 ;;
  esac
  shift
done
start=$(date +%s)
stage() { echo "== [$(( $(date +%s) - start ))s] $*"; }
mkdir -p "$(dirname "$OUTFILE")"

stage "configure + build the runtime alone (-DDS_BUILD_COMPILER=OFF)"
timeout 60 cmake -G Ninja -S . -B "$BUILD" -DDS_BUILD_COMPILER=OFF -DCMAKE_BUILD_TYPE=Release \
  > "$BUILD.cmake.log" 2>&1 || { cat "$BUILD.cmake.log"; exit 1; }
grep "CUDA backend" "$BUILD.cmake.log"
timeout 240 ninja -C "$BUILD" -j "$JOBS" ds-runtime-tests ds-run || exit 1
ninja -C "$BUILD" -j "$JOBS" ds-runtime-fake-cuda-tests >/dev/null 2>&1 || true

# cuBLASLt: the toolkit's, else the one PyTorch ships.
for d in /usr/local/cuda/lib64 $(python3 -c "import nvidia, os; print(' '.join(os.path.join(p, 'cu13', 'lib') for p in nvidia.__path__))" 2>/dev/null); do
  [ -e "$d/libcublasLt.so.13" ] && export LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}" && break
done

stage "runtime tests"
timeout 120 "$BUILD/bin/ds-runtime-tests" --gtest_brief=1 2>&1 | tail -15
tests_rc=${PIPESTATUS[0]}
[ -x "$BUILD/bin/ds-runtime-fake-cuda-tests" ] && timeout 60 "$BUILD/bin/ds-runtime-fake-cuda-tests" --gtest_brief=1 | tail -3

stage "Python bindings (built from lib/Runtime, offline)"
PYDIR=$BUILD/python
timeout 240 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target "$PYDIR" \
  ./python-bindings > "$BUILD.pip.log" 2>&1 || { tail -20 "$BUILD.pip.log"; echo "bindings did not build"; }
export PYTHONPATH="$PYDIR:${PYTHONPATH:-}"

has_gpu=0
python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null && has_gpu=1
if [ ! -f "$DIR/manifest.json" ]; then
  echo "no $DIR/manifest.json: run bench/prepare_gpu_check.py on a machine with the compiler first"
  { echo "# ds GPU check"; echo; echo "runtime tests exit $tests_rc; no prepared artifacts in $DIR"; } > "$OUTFILE"
  [ $has_gpu = 0 ] && [ $ALLOW_NO_GPU = 1 ] && exit $tests_rc
  exit 1
fi

stage "correctness vs onnxruntime-CPU, then benchmarks (budget 330 s)"
left=$(( 460 - ($(date +%s) - start) ))
PYTHONUNBUFFERED=1 timeout $(( left > 60 ? left : 60 )) python3 bench/gpu_bench.py --dir "$DIR" \
  --out "$OUTFILE" --budget-s $(( left > 90 ? left - 40 : 50 ))
rc=$?
stage "done: tables in $OUTFILE"
if [ $has_gpu = 0 ]; then
  echo "no CUDA device on this machine"
  [ $ALLOW_NO_GPU = 1 ] && exit $tests_rc
  exit 1
fi
[ $tests_rc = 0 ] && [ $rc = 0 ]
