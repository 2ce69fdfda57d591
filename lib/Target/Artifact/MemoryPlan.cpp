//===- MemoryPlan.cpp - arena offsets from value lifetimes ----------------===//
#include "MemoryPlan.h"

#include <algorithm>
#include <numeric>

using namespace mlir::ds;

std::vector<uint64_t> mlir::ds::planArena(const std::vector<BufferLifetime> &buffers,
                                          uint64_t alignment, uint64_t &arenaBytes) {
  auto alignUp = [&](uint64_t v) { return (v + alignment - 1) / alignment * alignment; };
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return buffers[a].bytes > buffers[b].bytes;
  });
  std::vector<uint64_t> offsets(buffers.size(), 0);
  std::vector<size_t> placed;
  arenaBytes = 0;
  for (size_t i : order) {
    const BufferLifetime &buf = buffers[i];
    // Occupied ranges of already placed buffers whose lifetimes overlap.
    std::vector<std::pair<uint64_t, uint64_t>> busy;
    for (size_t j : placed) {
      const BufferLifetime &other = buffers[j];
      if (other.begin <= buf.end && buf.begin <= other.end)
        busy.push_back({offsets[j], offsets[j] + alignUp(other.bytes)});
    }
    std::sort(busy.begin(), busy.end());
    uint64_t candidate = 0, size = alignUp(buf.bytes);
    for (auto [start, stop] : busy) {
      if (candidate + size <= start)
        break;
      candidate = std::max(candidate, stop);
    }
    offsets[i] = candidate;
    arenaBytes = std::max(arenaBytes, candidate + size);
    placed.push_back(i);
  }
  return offsets;
}
