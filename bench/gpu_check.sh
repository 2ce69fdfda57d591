#!/usr/bin/env bash
# The GPU check, for a GPU machine as it is (CUDA driver, Python with PyTorch,
# onnx and numpy; no MLIR, no GoogleTest, no internet). Everything that can be
# built on a CPU machine comes prepared there:
#
#   on the CPU machine:  bench/prepare_gpu_check.py            (-> build/gpu-check)
#   on the GPU machine:  bench/gpu_check.sh [--dir build/gpu-check] [--out DIR] [--allow-no-gpu]
#
# Stages, each with a timeout (under 8 minutes in all): the machine's versions;
# the prepared runtime binaries (DIR/bin), or, when they do not start here, a
# runtime-only build (says what it lacks instead of failing at configure); the
# runtime's unit tests (CUDA ones included); then bench/gpu_bench.py:
# correctness against onnxruntime-CPU, device times, the slowest kernels, and
# PyTorch eager / torch.compile / cuBLAS / SDPA beside ds. The report is
# OUT/gpu-check.md, the whole log OUT/gpu-check.log.
#
# GPU_CHECK_BUDGET_S (default 450) caps the seconds of the whole run.
# --allow-no-gpu: on a machine without a GPU (a rehearsal), exit 0 when
# everything but the device itself worked.
set -uo pipefail
cd "$(dirname "$0")/.."
DIR=build/gpu-check; OUTDIR=${OUT:-build}; ALLOW_NO_GPU=0; JOBS=${JOBS:-$(nproc)}
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUTDIR=$2; shift ;;
    --dir) DIR=$2; shift ;;
    --allow-no-gpu) ALLOW_NO_GPU=1 ;;
    *) echo "usage: $0 [--dir DIR] [--out DIR] [--allow-no-gpu]"; exit 2 ;;
  esac
  shift
done
mkdir -p "$OUTDIR"
REPORT=$OUTDIR/gpu-check.md
exec > >(tee "$OUTDIR/gpu-check.log") 2>&1
start=$(date +%s)
stage() { echo; echo "== [$(( $(date +%s) - start ))s] $*"; }
elapsed() { echo $(( $(date +%s) - start )); }

stage "machine"
has_gpu=0
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader \
    && has_gpu=1
else
  echo "nvidia-smi: not found"
fi
[ -e /dev/nvidia0 ] && has_gpu=1
command -v nvcc >/dev/null && nvcc --version | tail -2 | head -1 || echo "nvcc: not found"
python3 -c "import sys, numpy; print('python', sys.version.split()[0], 'numpy', numpy.__version__)"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())" 2>&1 | tail -1
python3 -c "import onnx, onnxruntime; print('onnx', onnx.__version__, 'onnxruntime', onnxruntime.__version__)" 2>&1 | tail -1

# cuBLASLt for cuda.gemm steps: the toolkit's, else the one PyTorch ships.
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
  $(python3 -c "import nvidia, os; print(' '.join(os.path.join(p, s, 'lib') for p in nvidia.__path__ for s in ('cu13', 'cublas')))" 2>/dev/null); do
  if [ -e "$d/libcublasLt.so.13" ]; then
    export LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"; echo "cuBLASLt: $d"; break
  fi
done

stage "runtime binaries"
BIN=$DIR/bin
usable() { [ -x "$1" ] && "$1" --gtest_list_tests >/dev/null 2>&1; }
# ds-run without arguments prints its usage (exit 2); a binary that cannot
# start here (a missing library, another C library) prints the loader's error.
probe=$([ -x "$BIN/ds-run" ] && "$BIN/ds-run" 2>&1)
if echo "$probe" | grep -q "^usage: ds-run"; then
  echo "prepared binaries in $BIN start here"
else
  echo "prepared ds-run in $BIN does not start here: ${probe:-not there}" | head -5
  cuda_inc=""
  for d in /usr/local/cuda/include /usr/local/cuda/targets/x86_64-linux/include \
    $(python3 -c "import nvidia, os; print(' '.join(os.path.join(p, s, 'include') for p in nvidia.__path__ for s in ('cu13', 'cuda_runtime')))" 2>/dev/null); do
    [ -e "$d/cuda.h" ] && [ -e "$d/cublasLt.h" ] && cuda_inc=$d && break
  done
  missing=""
  command -v cmake >/dev/null || missing="$missing cmake"
  command -v ninja >/dev/null || missing="$missing ninja"
  command -v c++ >/dev/null || missing="$missing c++"
  [ -n "$cuda_inc" ] || missing="$missing cuda.h+cublasLt.h"
  if [ -n "$missing" ]; then
    echo "cannot build the runtime here: missing$missing"
    { echo "# ds GPU check"; echo; echo "no usable runtime: missing$missing"; } > "$REPORT"
    exit 1
  fi
  BUILD=${BUILD_DIR:-build-gpu}
  echo "building the runtime alone in $BUILD (CUDA headers in $cuda_inc)"
  mkdir -p "$BUILD"
  timeout 60 cmake -G Ninja -S . -B "$BUILD" -DDS_BUILD_COMPILER=OFF -DCMAKE_BUILD_TYPE=Release \
    -DCUDA_HOME="${cuda_inc%/include}" -DDS_CUDA_INCLUDE_DIR="$cuda_inc" > "$BUILD/configure.log" 2>&1 \
    || { tail -30 "$BUILD/configure.log"; exit 1; }
  grep -i "CUDA backend\|GoogleTest" "$BUILD/configure.log"
  targets=ds-run
  grep -q "ds-runtime-tests" "$BUILD/build.ninja" && targets="$targets ds-runtime-tests"
  timeout 300 ninja -C "$BUILD" -j "$JOBS" $targets > "$BUILD/build.log" 2>&1 \
    || { tail -30 "$BUILD/build.log"; exit 1; }
  BIN=$BUILD/bin
fi

stage "runtime unit tests"
tests_rc=0
if usable "$BIN/ds-runtime-tests"; then
  timeout 150 "$BIN/ds-runtime-tests" --gtest_brief=1 2>&1 | tail -25
  tests_rc=${PIPESTATUS[0]}
  echo "ds-runtime-tests exit $tests_rc"
else
  echo "no ds-runtime-tests (GoogleTest was not there to build them): unit tests not run"
fi

stage "Python bindings (built here: the wheel is per Python version)"
PYDIR=${BUILD_DIR:-build-gpu}/python
if python3 -c "import nanobind, scikit_build_core" 2>/dev/null && [ -n "${cuda_inc:-/usr/local/cuda/include}" ]; then
  timeout 240 env CMAKE_BUILD_PARALLEL_LEVEL=$JOBS python3 -m pip install -q --no-build-isolation \
    -Ccmake.define.DS_PYTHON_WITH_COMPILER=OFF -Ccmake.define.DS_CUDA_INCLUDE_DIR="${cuda_inc:-/usr/local/cuda/include}" \
    --no-deps --no-index --target "$PYDIR" ./python-bindings > "$OUTDIR/bindings-build.log" 2>&1 \
    && export PYTHONPATH="$PYDIR:${PYTHONPATH:-}" && echo "ds package built into $PYDIR" \
    || { tail -15 "$OUTDIR/bindings-build.log"; echo "the bindings did not build: the Python API section is skipped"; }
else
  echo "nanobind or scikit-build-core missing: the Python API section is skipped"
fi

stage "correctness and benchmarks (bench/gpu_bench.py)"
if [ ! -f "$DIR/manifest.json" ]; then
  echo "no $DIR/manifest.json: run bench/prepare_gpu_check.py on a machine with the compiler first"
  { echo "# ds GPU check"; echo; echo "runtime tests exit $tests_rc; no prepared artifacts in $DIR"; } > "$REPORT"
  exit 1
fi
left=$(( ${GPU_CHECK_BUDGET_S:-450} - $(elapsed) ))
PYTHONUNBUFFERED=1 timeout $(( left > 60 ? left : 60 )) python3 bench/gpu_bench.py --dir "$DIR" \
  --ds-run "$BIN/ds-run" --out "$REPORT" --budget-s $(( left > 90 ? left - 30 : 60 ))
rc=$?
echo "unit tests exit $tests_rc, gpu_bench exit $rc"
stage "done: $REPORT"
if [ $has_gpu = 0 ]; then
  echo "no GPU on this machine"
  [ $ALLOW_NO_GPU = 1 ] && [ $tests_rc = 0 ] && exit 0
  exit 1
fi
[ $tests_rc = 0 ] && [ $rc = 0 ]
