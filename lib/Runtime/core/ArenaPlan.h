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

/// The steps that run together with a step: a fusion group executed tile by
/// tile reads its inputs and writes its results during all of its steps. A
/// step outside any group spans itself.
struct StepSpan {
  int64_t first = 0, last = 0;
};

/// Widens `life` (of a value defined at step `def`, started as {def, def})
/// for one use at step `use` (`spans.size()` for a graph output). A use in
/// another group than the definition's keeps the value alive to the end of
/// that group: a group run in tiles reads its inputs until its last tile,
/// so no result of the group may take their bytes. A use inside the
/// defining group is an ordinary sequential use (a tiled group keeps those
/// values in scratch; one run op by op reads them in order).
void extendLifetime(BufferLifetime &life, int64_t def, int64_t use,
                    const std::vector<StepSpan> &spans);

/// Offsets for `buffers` in one arena such that buffers alive at the same
/// step never overlap: largest first, each at the lowest aligned gap.
/// Returns the offsets and sets `arenaBytes` to the arena's size.
std::vector<uint64_t> planArena(const std::vector<BufferLifetime> &buffers, uint64_t alignment,
                                uint64_t &arenaBytes);

} // namespace dsrt

#endif // DS_RUNTIME_CORE_ARENAPLAN_H
