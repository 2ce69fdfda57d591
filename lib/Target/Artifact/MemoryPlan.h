//===- MemoryPlan.h - arena offsets from value lifetimes --------*- C++ -*-===//
#ifndef DS_LIB_TARGET_ARTIFACT_MEMORYPLAN_H
#define DS_LIB_TARGET_ARTIFACT_MEMORYPLAN_H

#include <cstdint>
#include <vector>

namespace mlir::ds {

/// A buffer live over steps [begin, end] (inclusive) needing `bytes`.
struct BufferLifetime {
  int64_t begin = 0, end = 0;
  uint64_t bytes = 0;
};

/// Offsets for `buffers` in one arena such that buffers alive at the same
/// step never overlap: largest first, each at the lowest aligned gap.
/// Returns the offsets and sets `arenaBytes` to the arena's size.
std::vector<uint64_t> planArena(const std::vector<BufferLifetime> &buffers, uint64_t alignment,
                                uint64_t &arenaBytes);

} // namespace mlir::ds

#endif // DS_LIB_TARGET_ARTIFACT_MEMORYPLAN_H
