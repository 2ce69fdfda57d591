//===- CheckpointFuzzer.cpp - libFuzzer target: bytes -> training checkpoint ===//
//
// Parses arbitrary bytes as a training checkpoint (core/Checkpoint.h), the
// file a training session loads. Size and checksum fields are patched so that
// mutations reach the body's counts, names and sizes instead of stopping at
// the checksum; whatever parses is walked, so a size that outruns its bytes
// shows up under ASan.
//
//===----------------------------------------------------------------------===//
#include "core/Checkpoint.h"

#include "ds-runtime/ds_artifact_format.h"

#include <cstring>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string bytes(reinterpret_cast<const char *>(data), size);
  if (size >= 64) {
    uint64_t fileSize = size;
    uint64_t checksum =
        dsx_checksum(reinterpret_cast<const unsigned char *>(bytes.data()) + 64, size - 64);
    std::memcpy(&bytes[16], &fileSize, 8);
    std::memcpy(&bytes[24], &checksum, 8);
  }
  dsrt::Checkpoint checkpoint;
  if (!dsrt::parseCheckpoint(bytes, "fuzz.ckpt", checkpoint))
    return 0;
  volatile unsigned sum = 0;
  for (const dsrt::CheckpointTensor &t : checkpoint.tensors) {
    if (t.bytes.size() != t.byteSize)
      __builtin_trap();
    for (char c : t.bytes)
      sum = sum + (unsigned char)c;
  }
  return 0;
}
