#!/usr/bin/env bash
# Builds the libFuzzer targets (ASan + UBSan, scripts/configure-asan.sh) and runs each for
# SECONDS on its seed corpus; any crash, leak, sanitizer report or input slower than
# 30 s fails. Targets:
#   import    ONNX bytes -> import -> verify   (seeds: node-test models, test/corpus/onnx)
#   mlir      .mlir text -> verify -> ds compile pipeline   (seeds: every .mlir test)
#   artifact  artifact bytes -> load -> run    (seeds: artifacts of the generated models)
#   input     input descriptors and data -> ds_session_run on those artifacts
#   checkpoint  training checkpoint bytes -> parse   (seed: a small well-formed file)
# Prints each target's executed inputs; CI runs a short run, the long run (10M+ importer
# inputs on 2 cores) is
#   FUZZ_TARGETS=import FUZZ_WORKERS=2 scripts/fuzz.sh 600
#   usage: [FUZZ_TARGETS="import mlir ..."] [FUZZ_WORKERS=N] scripts/fuzz.sh [SECONDS] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-120}
dir=$(realpath -m "${2:-build-asan}")
targets=${FUZZ_TARGETS:-import mlir artifact input checkpoint}
[ -f "$dir/build.ninja" ] || scripts/configure-asan.sh "$dir"
ninja -C "$dir" $(for t in $targets; do echo "ds-fuzz-$t"; done) ds-compile

# Seeds (rebuilt each time: cheap, and they follow the current formats).
seeds="$dir/fuzz-seeds"
rm -rf "$seeds" && mkdir -p "$seeds"/{import,mlir,artifact,input,checkpoint,models}
nodes=$(python3 -c "import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), 'backend/test/data/node'))")
for m in "$nodes"/*/model.onnx; do cp "$m" "$seeds/import/$(basename "$(dirname "$m")").onnx"; done
cp test/corpus/onnx/*.onnx "$seeds/import/"
find test -name "*.mlir" | while read -r f; do cp "$f" "$seeds/mlir/$(echo "$f" | tr / _)"; done
python3 utils/gen_models.py --out "$seeds/models" > /dev/null
for m in "$seeds"/models/*.onnx; do
  "$dir/bin/ds-compile" "$m" -o "$seeds/artifact/$(basename "$m" .onnx).dsx" --quiet
done
# A checkpoint with loss scaling and two tensors (lib/Runtime/core/Checkpoint.h's layout; the
# fuzzer patches size and checksum itself).
python3 - "$seeds/checkpoint/seed.ckpt" <<'PY'
import struct, sys
body = struct.pack("<QdII", 3, 0.5, 1, 2) + struct.pack("<ddqqq", 65536.0, 1.0, 2000, 5, 1)
for name, dims in ((b"w", (2, 3)), (b"w.momentum", (2, 3))):
    body += struct.pack("<I", len(name)) + name + struct.pack("<BI", 1, len(dims))
    body += struct.pack(f"<{len(dims)}q", *dims) + struct.pack("<Q", 24) + bytes(range(24))
header = b"DSCKPT1\0" + struct.pack("<IIQQ", 1, 64, 64 + len(body), 0) + bytes(32)
open(sys.argv[1], "wb").write(header + body)
PY
export DS_FUZZ_ARTIFACTS="$seeds/artifact"
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1

workers=${FUZZ_WORKERS:-1}
fork=""
[ "$workers" -gt 1 ] && fork="-fork=$workers" # libFuzzer's own worker processes
failed=0
for target in $targets; do
  corpus="$dir/fuzz-corpus/$target"
  mkdir -p "$corpus"
  log="$dir/fuzz-$target.log"
  status=0
  "$dir/bin/ds-fuzz-$target" "$corpus" "$seeds/$target" -max_total_time="$seconds" $fork \
    -timeout=30 -rss_limit_mb=4096 -max_len=262144 -print_final_stats=1 \
    -artifact_prefix="$dir/fuzz-$target-" > "$log" 2>&1 || status=$?
  # One process prints its final stats; with -fork the last status line carries the total.
  execs=$(grep -o "stat::number_of_executed_units: [0-9]*" "$log" | grep -o "[0-9]*$" ||
          grep -o "^#[0-9]*" "$log" | tail -1 | tr -d "#")
  echo "ds-fuzz-$target: ${seconds}s x $workers worker(s), ${execs:-?} inputs executed," \
       "exit $status (log: $log)"
  if [ "$status" -ne 0 ]; then
    grep -E "ERROR|SUMMARY|Test unit written" "$log" || tail -20 "$log"
    failed=1
  fi
done
exit $failed
