//===- TaskGrid.h - a GEMM's split into equal parallel tasks ----*- C++ -*-===//
//
// The GEMMs with packed constant operands (cpu/PackedGemm.h,
// cpu/IntegerPackedGemm.h, cpu/Bf16PackedGemm.h) split their result into
// tasks of column groups first (each task then streams only its share of
// the packed weights) and row panels second. The thread pool hands each
// thread an equal run of task indices, so tasks differ in size by at most
// one group or panel (12 groups in 8 tasks of ceil(12 / 8) = 2 would leave
// 2 empty and one of two threads twice the other's work), and rows are
// split too unless the column tasks divide evenly among the threads (3
// column tasks on 2 threads would run 2:1).
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_TASKGRID_H
#define DS_RUNTIME_CPU_TASKGRID_H

#include "cpu/KernelUtils.h"

#include <algorithm>
#include <cstdint>
#include <numeric>

namespace dsrt::cpu {

/// About `wanted` tasks over `groups` column groups and `panels` row
/// panels, their sizes differing by at most one; rows are split only when
/// the column tasks do not divide among `threads`. Results do not depend
/// on the split.
struct TaskGrid {
  int64_t panels, groups, colTasks, rowTasks;
  TaskGrid(int64_t panels, int64_t groups, int64_t wanted, int64_t threads)
      : panels(panels), groups(groups) {
    wanted = std::max<int64_t>(1, wanted);
    threads = std::max<int64_t>(1, threads);
    colTasks = std::max<int64_t>(1, std::min(groups, wanted));
    // One task stays one (a product too small to hand off). Otherwise row
    // tasks in a multiple of what makes the task count divide among the
    // threads, when there are panels enough.
    int64_t rowsWanted = 1;
    if (wanted > 1 && colTasks % threads != 0) {
      const int64_t step = threads / std::gcd(colTasks, threads);
      rowsWanted = ceilDiv(ceilDiv(wanted, colTasks), step) * step;
    }
    rowTasks = std::max<int64_t>(1, std::min(panels, rowsWanted));
  }
  int64_t size() const { return rowTasks * colTasks; }
  /// Task t's row panels [p0, p1) and column groups [g0, g1) (empty only
  /// when there are no panels or groups at all).
  void task(int64_t t, int64_t &p0, int64_t &p1, int64_t &g0, int64_t &g1) const {
    const int64_t r = t / colTasks, c = t % colTasks;
    p0 = r * panels / rowTasks, p1 = (r + 1) * panels / rowTasks;
    g0 = c * groups / colTasks, g1 = (c + 1) * groups / colTasks;
  }

private:
  static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
};

/// About four tasks per thread for an M x N x K product, or one for
/// products too small to hand off.
inline int64_t gemmTasksWanted(int numThreads, int64_t M, int64_t N, int64_t K) {
  return M * N * K < (1 << 18) ? 1 : 4 * (int64_t)std::max(1, numThreads);
}

/// fn(p0, p1, g0, g1) for each task of `grid` that has panels and groups:
/// in parallel through ctx, or all on this thread when `nested` (inside a
/// parallel region).
template <typename Fn>
void runTasks(KernelContext &ctx, bool nested, const TaskGrid &grid, Fn fn) {
  auto run = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      int64_t p0, p1, g0, g1;
      grid.task(t, p0, p1, g0, g1);
      if (p0 < p1 && g0 < g1)
        fn(p0, p1, g0, g1);
    }
  };
  if (nested)
    run(0, grid.size());
  else
    parallel(ctx, grid.size(), 1, run);
}

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_TASKGRID_H
