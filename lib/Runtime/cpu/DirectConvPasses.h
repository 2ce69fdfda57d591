//===- DirectConvPasses.h - the work loop of the word-packed direct convolutions -*- C++ -*-===//
//
// The 8-bit (cpu/IntegerDirectConv.h) and bf16 (cpu/Bf16DirectConv.h)
// direct convolutions pack several channels into each 32-bit word of their
// padded copy (cpu/DirectConvPlan.h) and differ only in how a plane is
// filled and what a tile computes and stores. What they share lives here:
// the (image, group) items run in passes, each pass filling the copies of
// as many items as a scratch bound holds before any of their products
// starts (one barrier per pass, not one per item), and each pass's
// products split into tasks of (row panels, column tiles).
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_DIRECTCONVPASSES_H
#define DS_RUNTIME_CPU_DIRECTCONVPASSES_H

#include "cpu/DirectConvPlan.h"
#include "cpu/KernelUtils.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace dsrt::cpu {

/// Runs `items` (image, group) items in passes of as many padded copies as
/// `scratchWords` words hold (at least one). For each pass: fillPlane(item,
/// plane, dst) for every plane of every item of the pass, in parallel, the
/// words past a copy's body (read only by the last tiles' dropped columns)
/// set to `slack`; then products(first, count, copies), the copy of item
/// first + k at copies + k * p.scratch.
template <typename FillPlane, typename Products>
void forEachDirectConvPass(KernelContext &ctx, const DirectConvPlan &p, int64_t items,
                           int64_t planes, int64_t scratchWords, uint32_t slack,
                           FillPlane fillPlane, Products products) {
  const int64_t perPass = std::clamp<int64_t>(scratchWords / p.scratch, 1, items);
  // Kept by the calling thread: allocating it on every call faulted its
  // pages in on every run. (Tasks see it through this pointer: a
  // thread_local named inside a task would be the pool thread's own.)
  thread_local std::vector<uint32_t> scratchBuffer;
  if (scratchBuffer.size() < (size_t)(perPass * p.scratch))
    scratchBuffer.resize((size_t)(perPass * p.scratch));
  uint32_t *scratch = scratchBuffer.data();
  for (int64_t first = 0; first < items; first += perPass) {
    const int64_t count = std::min(perPass, items - first);
    parallel(ctx, count * planes, std::max<int64_t>(1, 8192 / p.plane), [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        uint32_t *copy = scratch + (t / planes) * p.scratch;
        if (t % planes == 0)
          std::fill(copy + p.body, copy + p.scratch, slack);
        fillPlane(first + t / planes, t % planes, copy + (t % planes) * p.plane);
      }
    });
    products(first, count, (const uint32_t *)scratch);
  }
}

/// A pass's `count` products, each of `panels` row panels by `tiles`
/// column tiles, split into about four tasks per thread over all of them
/// (one per product when a product is `small`), row panels first: a task
/// then streams only its share of the weights, and two images on two
/// threads split by image. Tasks of one product differ by at most one
/// panel or tile.
struct DirectConvTasks {
  int64_t panels, tiles, rowTasks, colTasks;
  DirectConvTasks(int64_t panels, int64_t tiles, int64_t count, int numThreads, bool small)
      : panels(panels), tiles(tiles) {
    const int64_t wanted =
        small ? 1
              : (4 * (int64_t)std::max(1, numThreads) + count - 1) / std::max<int64_t>(1, count);
    rowTasks = std::max<int64_t>(1, std::min(panels, wanted));
    colTasks = std::max<int64_t>(1, std::min(tiles, (wanted + rowTasks - 1) / rowTasks));
  }
  int64_t perProduct() const { return rowTasks * colTasks; }
  /// Task `local` of a product: its row panels [p0, p1) and tiles [t0, t1).
  void task(int64_t local, int64_t &p0, int64_t &p1, int64_t &t0, int64_t &t1) const {
    const int64_t r = local / colTasks, c = local % colTasks;
    p0 = r * panels / rowTasks, p1 = (r + 1) * panels / rowTasks;
    t0 = c * tiles / colTasks, t1 = (c + 1) * tiles / colTasks;
  }
};

/// tile(product, panel, tile) for every panel and tile of `count`
/// products, in parallel by the tasks of `tasks`; within a task tiles
/// outer, so that a tile's columns of the copy stay in L1 while the task's
/// panels pass over them. (Panels outer with every image inside, so that a
/// 7 x 7 layer's weights pass once, measured no faster on the bf16 kernel.)
template <typename Tile>
void runDirectConvTasks(KernelContext &ctx, const DirectConvTasks &tasks, int64_t count,
                        Tile tile) {
  const int64_t perProduct = tasks.perProduct();
  parallel(ctx, count * perProduct, 1, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      int64_t p0, p1, t0, t1;
      tasks.task(task % perProduct, p0, p1, t0, t1);
      for (int64_t t = t0; t < t1; ++t)
        for (int64_t q = p0; q < p1; ++q)
          tile(task / perProduct, q, t);
    }
  });
}

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_DIRECTCONVPASSES_H
