//===- ArenaPlan.h - arena offsets from value lifetimes ---------*- C++ -*-===//
//
// The one memory planner: the compiler's artifact writer places static
// programs with it, and the runtime places dynamic programs with it once per
// input shape. Plain C++ (no MLIR), so both sides link it.
//
#ifndef DS_RUNTIME_CORE_ARENAPLAN_H
#define DS_RUNTIME_CORE_ARENAPLAN_H

#include <cstdint>
#include <vector>

namespace dsrt {

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

} // namespace dsrt

#endif // DS_RUNTIME_CORE_ARENAPLAN_H
