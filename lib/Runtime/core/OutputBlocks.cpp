//===- OutputBlocks.cpp - memory kept for the copies of run outputs -------===//
#include "core/OutputBlocks.h"

#include <cstdlib>
#include <mutex>
#include <utility>
#include <vector>

namespace dsrt {
namespace {
struct Pool {
  // Room for every slot up front: give() runs in destructors and must not
  // allocate (or throw).
  Pool() { blocks.reserve(OutputBlocks::kKeptBlocks); }
  std::mutex mutex;
  std::vector<std::pair<void *, size_t>> blocks; ///< oldest first
};
/// Never destroyed: outputs released during static destruction (a Python
/// interpreter tearing down) still find it; the kept blocks go with the
/// process.
Pool &pool() {
  static Pool *p = new Pool;
  return *p;
}
} // namespace

void *OutputBlocks::take(size_t bytes, size_t &capacity) {
  {
    Pool &p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    size_t best = p.blocks.size();
    for (size_t i = 0; i < p.blocks.size(); ++i) {
      const size_t room = p.blocks[i].second;
      if (room >= bytes && room / 2 <= bytes &&
          (best == p.blocks.size() || room < p.blocks[best].second))
        best = i;
    }
    if (best < p.blocks.size()) {
      auto [block, room] = p.blocks[best];
      p.blocks.erase(p.blocks.begin() + (std::ptrdiff_t)best);
      capacity = room;
      return block;
    }
  }
  capacity = (bytes + 63) / 64 * 64;
  return std::aligned_alloc(64, capacity);
}

void OutputBlocks::give(void *block, size_t capacity) {
  if (!block)
    return;
  void *dropped = block;
  if (capacity <= kMaxKeptBytes) {
    Pool &p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    dropped = nullptr;
    if (p.blocks.size() == kKeptBlocks) {
      dropped = p.blocks.front().first;
      p.blocks.erase(p.blocks.begin());
    }
    p.blocks.emplace_back(block, capacity);
  }
  std::free(dropped);
}

size_t OutputBlocks::kept() {
  Pool &p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  return p.blocks.size();
}

} // namespace dsrt
