//===- Checkpoint.h - training checkpoint files -----------------*- C++ -*-===//
//
// What a training session saves: its carried tensors, the step count, the
// learning rate and the loss scaler. The layout (little-endian):
//
//   header (64 bytes)
//     char[8] magic "DSCKPT1\0"
//     u32     format version (1), u32 header size (64)
//     u64     file size
//     u64     checksum (dsx_checksum) over bytes [64, file size)
//     u8[32]  zero
//   body (every field under the checksum)
//     u64     steps done, f64 learning rate
//     u32     flags (1: loss scaling), u32 tensor count
//     with loss scaling: f64 scale, f64 minimum, i64 growth interval,
//                        i64 clean steps, i64 skipped steps
//     per tensor: u32 name length + name, u8 dtype (ds_dtype), u32 rank,
//                 i64 dims[rank], u64 byte size, the bytes
//
// Written to a temporary file in the target's folder, flushed, then renamed
// over the target: a crash leaves the old file or the new one. A reader
// checks the size and the checksum before it trusts any field of the body.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CORE_CHECKPOINT_H
#define DS_RUNTIME_CORE_CHECKPOINT_H

#include "core/Tensor.h"
#include "ds-runtime/ds_runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dsrt {

struct CheckpointTensor {
  std::string name;
  ds_dtype dtype = DS_F32;
  std::vector<int64_t> dims;
  const void *data = nullptr; ///< writing: the caller's bytes
  std::string bytes;          ///< reading: the file's bytes
  uint64_t byteSize = 0;
};

struct Checkpoint {
  uint64_t stepsDone = 0;
  double learningRate = 0;
  bool lossScaling = false;
  ds_loss_scaler scaler{};
  std::vector<CheckpointTensor> tensors;
};

/// Writes `checkpoint` (tensors by their `data` pointers) to `path` safely.
Status writeCheckpoint(const std::string &path, const Checkpoint &checkpoint);
/// Reads and validates a whole file; DS_INVALID_ARTIFACT for one that is
/// torn, corrupted or not a checkpoint, DS_IO_ERROR when it cannot be read.
Status readCheckpoint(const std::string &path, Checkpoint &out);
/// The same for a file's bytes already in memory; `path` names it in messages.
Status parseCheckpoint(const std::string &data, const std::string &path, Checkpoint &out);

} // namespace dsrt

#endif // DS_RUNTIME_CORE_CHECKPOINT_H
