//===- ArenaPlan.cpp - arena offsets from value lifetimes -----------------===//
#include "core/ArenaPlan.h"

#include <algorithm>
#include <map>
#include <numeric>


void dsrt::extendLifetime(BufferLifetime &life, int64_t def, int64_t use,
                          const std::vector<StepSpan> &spans) {
  const int64_t numSteps = (int64_t)spans.size();
  bool sameGroup = use < numSteps && def < numSteps && spans[use].first == spans[def].first;
  life.end = std::max(life.end, use < numSteps && !sameGroup ? spans[use].last : use);
}

std::vector<uint64_t> dsrt::planArena(const std::vector<BufferLifetime> &buffers,
                                          uint64_t alignment, uint64_t &arenaBytes) {
  // Saturating: a plan whose sizes overflow 64 bits ends at UINT64_MAX, which
  // every caller refuses as too large, instead of wrapping to a small arena.
  auto add = [](uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; };
  auto alignUp = [&](uint64_t v) {
    uint64_t up = add(v, alignment - 1);
    return up == UINT64_MAX ? UINT64_MAX : up / alignment * alignment;
  };
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return buffers[a].bytes > buffers[b].bytes;
  });
  std::vector<uint64_t> offsets(buffers.size(), 0);
  // Placed buffers by first step. A buffer overlapping [begin, end] starts no
  // earlier than begin - longest lifetime, so only that window is scanned:
  // planning stays near-linear on long graphs of short-lived values.
  std::multimap<int64_t, size_t> placed;
  int64_t longest = 0;
  for (const BufferLifetime &buf : buffers)
    longest = std::max(longest, buf.end - buf.begin);
  arenaBytes = 0;
  for (size_t i : order) {
    const BufferLifetime &buf = buffers[i];
    // Occupied ranges of already placed buffers whose lifetimes overlap.
    std::vector<std::pair<uint64_t, uint64_t>> busy;
    auto from = placed.lower_bound(buf.begin - longest);
    auto to = placed.upper_bound(buf.end);
    for (auto it = from; it != to; ++it) {
      const BufferLifetime &other = buffers[it->second];
      if (other.begin <= buf.end && buf.begin <= other.end)
        busy.push_back({offsets[it->second], add(offsets[it->second], alignUp(other.bytes))});
    }
    std::sort(busy.begin(), busy.end());
    uint64_t candidate = 0, size = alignUp(buf.bytes);
    for (auto [start, stop] : busy) {
      if (add(candidate, size) <= start)
        break;
      candidate = std::max(candidate, stop);
    }
    offsets[i] = candidate;
    arenaBytes = std::max(arenaBytes, add(candidate, size));
    placed.emplace(buf.begin, i);
  }
  return offsets;
}
