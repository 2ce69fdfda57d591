//===- TaskGrid.h - a GEMM's split into equal parallel tasks ----*- C++ -*-===//
//
// The GEMMs with packed constant operands (cpu/PackedGemm.h,
// cpu/IntegerPackedGemm.h, cpu/Bf16PackedGemm.h) split their result into
// tasks of column groups first (each task then streams only its share of
// the packed weights) and row panels second. The thread pool hands each
// thread an equal run of task indices, so no task is left empty (12 groups
// in 8 tasks of 2 would leave 2 empty and one of two threads twice the
// other's work), and rows are split too unless the column tasks divide
// evenly among the threads (3 column tasks on 2 threads would run 2:1).
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_TASKGRID_H
#define DS_RUNTIME_CPU_TASKGRID_H

#include <algorithm>
#include <cstdint>

namespace dsrt::cpu {

/// About `wanted` tasks over `groups` column groups and `panels` row
/// panels; rows are split only when the column tasks do not divide among
/// `threads`. Results do not depend on the split.
struct TaskGrid {
  int64_t panels, groups, colTasks, rowTasks, groupsPerTask, panelsPerTask;
  TaskGrid(int64_t panels, int64_t groups, int64_t wanted, int64_t threads)
      : panels(panels), groups(groups) {
    wanted = std::max<int64_t>(1, wanted);
    threads = std::max<int64_t>(1, threads);
    groupsPerTask =
        std::max<int64_t>(1, ceilDiv(groups, std::max<int64_t>(1, std::min(groups, wanted))));
    colTasks = std::max<int64_t>(1, ceilDiv(groups, groupsPerTask));
    const int64_t rowsWanted = colTasks % threads == 0
                                   ? 1
                                   : std::min(panels, ceilDiv(std::max(wanted, colTasks * threads),
                                                              colTasks));
    panelsPerTask = std::max<int64_t>(1, ceilDiv(panels, std::max<int64_t>(1, rowsWanted)));
    rowTasks = std::max<int64_t>(1, ceilDiv(panels, panelsPerTask));
  }
  int64_t size() const { return rowTasks * colTasks; }
  /// Task t's row panels [p0, p1) and column groups [g0, g1).
  void task(int64_t t, int64_t &p0, int64_t &p1, int64_t &g0, int64_t &g1) const {
    p0 = (t / colTasks) * panelsPerTask, p1 = std::min(panels, p0 + panelsPerTask);
    g0 = (t % colTasks) * groupsPerTask, g1 = std::min(groups, g0 + groupsPerTask);
  }

private:
  static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
};

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_TASKGRID_H
