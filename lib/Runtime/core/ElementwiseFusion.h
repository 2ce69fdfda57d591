//===- ElementwiseFusion.h - running elementwise chains in tiles -*- C++ -*-===//
//
// A chain is a run of consecutive elementwise steps (unary, binary, compare,
// select, cast) in which each step's result is read only by the next one and
// all results have one shape. The chain runs tile by tile: every step of the
// chain processes a few rows held in per-thread scratch before the next tile
// starts, so intermediates stay in cache instead of making one full pass over
// memory per op. Operands must be whole tensors of the result's shape or
// broadcast only along leading dims (scalars, bias vectors).
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CORE_ELEMENTWISEFUSION_H
#define DS_RUNTIME_CORE_ELEMENTWISEFUSION_H

#include "core/Artifact.h"
#include "core/ThreadPool.h"

namespace dsrt {

/// One unit of execution: a single step, or a chain of fused steps.
struct ExecUnit {
  std::vector<size_t> steps;  ///< indices into Program::steps, in order
  std::vector<int64_t> inner; ///< dims a tile keeps whole (the trailing dims)
  int64_t rows = 0;           ///< number of rows of `inner` in the result
  int64_t rowsPerTile = 0;
};

/// Groups the program's steps into units, fusing chains of two or more steps.
/// `values` gives every value's dims and arena place (the program's own, or a
/// dynamic program's plan for one input shape); steps marked in `skip` are
/// left out (their results were computed while planning).
std::vector<ExecUnit> planExecution(const Program &program, const std::vector<ValueInfo> &values,
                                   const std::vector<uint8_t> *skip = nullptr);
inline std::vector<ExecUnit> planExecution(const Program &program) {
  return planExecution(program, program.values);
}

/// Runs a fused unit over `tensors` (one per value id).
Status runFusedChain(const Program &program, const ExecUnit &unit, std::vector<Tensor> &tensors,
                     ThreadPool &pool);

} // namespace dsrt

#endif // DS_RUNTIME_CORE_ELEMENTWISEFUSION_H
