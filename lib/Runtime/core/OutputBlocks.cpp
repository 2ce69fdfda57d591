//===- OutputBlocks.cpp - memory kept for the copies of run outputs -------===//
#include "core/OutputBlocks.h"

#include <cstdlib>
#include <mutex>
#include <utility>
#include <vector>

// Under AddressSanitizer a kept block is poisoned, and a block handed out is
// unpoisoned only as far as asked: reading outputs after their release, or
// past their end, is still reported.
#if defined(__SANITIZE_ADDRESS__)
#define DS_OUTPUT_BLOCKS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DS_OUTPUT_BLOCKS_ASAN 1
#endif
#endif
#ifdef DS_OUTPUT_BLOCKS_ASAN
#include <sanitizer/asan_interface.h>
#define DS_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define DS_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define DS_POISON(p, n) ((void)(p), (void)(n))
#define DS_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace dsrt {
namespace {
struct Pool {
  // Room for every slot up front: give() runs in destructors and must not
  // allocate (or throw).
  Pool() { blocks.reserve(OutputBlocks::kKeptBlocks); }
  std::mutex mutex;
  std::vector<std::pair<void *, size_t>> blocks; ///< oldest first
  size_t bytes = 0;                              ///< their capacities' sum
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
      p.bytes -= room;
      capacity = room;
      DS_UNPOISON(block, bytes);
      return block;
    }
  }
  // An eighth more than asked, in whole pages: outputs that grow a little
  // each run (a KV cache, a token at a time) reuse the block for a while.
  capacity = (bytes + bytes / 8 + 4095) / 4096 * 4096;
  void *block = std::aligned_alloc(64, capacity);
  if (block)
    DS_POISON(static_cast<char *>(block) + bytes, capacity - bytes);
  return block;
}

void OutputBlocks::give(void *block, size_t capacity) noexcept {
  if (!block)
    return;
  DS_UNPOISON(block, capacity); // freed or kept, the pool owns all of it again
  if (capacity > kMaxKeptBytes) {
    std::free(block);
    return;
  }
  void *oldest[kKeptBlocks] = {};
  size_t count = 0;
  {
    Pool &p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    // Oldest out until the slot and the bytes fit.
    while (!p.blocks.empty() &&
           (p.blocks.size() == kKeptBlocks || p.bytes + capacity > kMaxKeptBytes)) {
      oldest[count++] = p.blocks.front().first;
      p.bytes -= p.blocks.front().second;
      p.blocks.erase(p.blocks.begin());
    }
    p.blocks.emplace_back(block, capacity);
    p.bytes += capacity;
    DS_POISON(block, capacity);
  }
  for (size_t i = 0; i < count; ++i)
    std::free(oldest[i]);
}

size_t OutputBlocks::kept() {
  Pool &p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  return p.blocks.size();
}

} // namespace dsrt
