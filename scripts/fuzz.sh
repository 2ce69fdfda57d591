#!/usr/bin/env bash
# Builds the libFuzzer targets with ASan + UBSan and runs each for SECONDS (default 120) on a
# seed corpus: ONNX node-test models for the importer, compiled artifacts for the loader.
#   usage: scripts/fuzz.sh [SECONDS] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-120}
dir=$(realpath -m "${2:-build-fuzz}")
dpkg -s libclang-rt-19-dev >/dev/null 2>&1 || {
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libclang-rt-19-dev
}
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
cmake -G Ninja -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DDS_ENABLE_FUZZERS=ON \
  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" > /dev/null
ninja -C "$dir" ds-fuzz-import ds-fuzz-artifact ds-compile

# Seeds: every node-test model, and artifacts of the generated models.
seeds="$dir/seeds"
mkdir -p "$seeds/import" "$seeds/artifact"
nodes=$(python3 -c "import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), 'backend/test/data/node'))")
for m in "$nodes"/*/model.onnx; do cp "$m" "$seeds/import/$(basename "$(dirname "$m")").onnx"; done
python3 utils/gen_models.py --out "$seeds/models" > /dev/null
for m in "$seeds"/models/*.onnx; do
  "$dir/bin/ds-compile" "$m" -o "$seeds/artifact/$(basename "$m" .onnx).dsx" --quiet
done

export ASAN_OPTIONS=detect_leaks=1
failed=0
for target in import artifact; do
  mkdir -p "$dir/corpus/$target"
  echo "== ds-fuzz-$target for ${seconds}s (log: $dir/fuzz-$target.log)"
  status=0
  "$dir/bin/ds-fuzz-$target" "$dir/corpus/$target" "$seeds/$target" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=4096 -max_len=1048576 -print_final_stats=1 \
    > "$dir/fuzz-$target.log" 2>&1 || status=$?
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|ERROR|SUMMARY" "$dir/fuzz-$target.log" || true
  [ "$status" -eq 0 ] || { echo "ds-fuzz-$target found a failure (exit $status)"; failed=1; }
done
exit $failed
