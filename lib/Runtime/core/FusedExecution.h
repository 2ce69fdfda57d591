//===- FusedExecution.h - running fusion groups in tiles of rows -*- C++ -*-===//
//
// The compiler's ds-fuse decides which steps run together: the artifact's
// fusion groups (format 4), the same groups the CUDA backend emits one kernel
// for. The session decides how, once shapes are known: a group whose values
// share their first `parallelDims` dims runs in tiles of rows of those dims.
// Every step of the group processes one tile before the next tile starts, so
// the group's intermediates stay in per-thread scratch (in cache) instead of
// making one pass over memory per op: a matmul's epilogue (bias, activation,
// residual) runs on the rows the matmul just wrote, a softmax or norm reads
// the rows its producers just computed.
//
// A group runs op by op instead when its shapes do not allow tiles (an
// operand broadcast across rows in part, a dynamic dim that broadcasts at run
// time), when it is small, or when its ops cannot be tiled.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CORE_FUSEDEXECUTION_H
#define DS_RUNTIME_CORE_FUSEDEXECUTION_H

#include "core/ArenaPlan.h"
#include "core/Artifact.h"
#include "core/ThreadPool.h"
#include "core/StoreEpiloguePlan.h"

#include <memory>

namespace dsrt {

/// How a step of a tiled unit reads one of its operands.
struct TileOperand {
  enum Kind : uint8_t {
    Absent, ///< an absent optional operand
    Rows,   ///< the tile's rows of a value computed before the unit (a view)
    Whole,  ///< the whole value, the same for every row (weights, bias, scalars)
    Local,  ///< the tile an earlier step of the unit computed
  };
  Kind kind = Absent;
  uint32_t local = 0; ///< for Local: which of the unit's results
};

/// Where a step of a tiled unit writes one result's tile.
struct TileResult {
  uint32_t local = 0;       ///< index among the unit's results
  bool toValue = false;     ///< read after the unit: written to its value's rows
  uint64_t scratchOffset = 0; ///< otherwise: its slot in the per-thread scratch
};

/// One unit of execution: a single step, or the steps of one fusion group
/// run in tiles (`tiled()`).
struct ExecUnit {
  std::vector<size_t> steps; ///< indices into Program::steps, in order
  int64_t rowDims = 0;       ///< leading dims a tile splits (0: not tiled)
  int64_t rows = 0;          ///< product of those dims
  int64_t rowsPerTile = 0;
  int64_t tilesPerTask = 1; ///< the pool's grain: small groups stay on one thread
  std::vector<std::vector<TileOperand>> operands; ///< per step, per input
  std::vector<std::vector<TileResult>> results;   ///< per step, per output
  uint32_t numLocals = 0;
  uint64_t scratchBytes = 0; ///< per thread
  /// Set when the group runs as its convolution storing through the rest
  /// (core/StoreEpiloguePlan.h); then not tiled.
  std::shared_ptr<const EpiloguePlan> epilogue;
  /// With an epilogue: the tiled plan of the steps after the convolution,
  /// for a run whose kernel cannot take the chain (null: op by op).
  std::shared_ptr<const ExecUnit> tail;
  bool tiled() const { return rowDims > 0; }
};

/// Groups the program's steps into units: each fusion group that is a
/// convolution and a chain its kernel can store through becomes one
/// epilogue unit, each other whose shapes allow it one tiled unit, every
/// other step a unit of its own.
/// `values` gives every value's dims and arena place (the program's own, or a
/// dynamic program's plan for one input shape); steps marked in `skip` are
/// left out (their results were computed while planning).
std::vector<ExecUnit> planExecution(const Program &program, const std::vector<ValueInfo> &values,
                                   const std::vector<uint8_t> *skip = nullptr);
inline std::vector<ExecUnit> planExecution(const Program &program) {
  return planExecution(program, program.values);
}

/// Runs a tiled unit over `tensors` (one per value id), tiles spread over
/// `pool`; `packed`: the session's packed weights, if any.
Status runTiledUnit(const Program &program, const ExecUnit &unit, std::vector<Tensor> &tensors,
                    ThreadPool &pool, const cpu::PackedConstants *packed = nullptr);

/// Runs a unit with an epilogue: the convolution storing through it, or,
/// when its kernel cannot take it, the convolution and then the unit's
/// tail (tiled, or op by op).
Status runStoreEpilogueUnit(const Program &program, const ExecUnit &unit,
                            std::vector<Tensor> &tensors, KernelContext &ctx, ThreadPool &pool);

/// Points `ins` / `outs` at the tensors of `step`'s operands and results
/// (null for an absent operand).
void bindStep(const Step &step, std::vector<Tensor> &tensors, std::vector<const Tensor *> &ins,
              std::vector<Tensor *> &outs);
/// Runs one step's kernel on `tensors`; `ins` / `outs` are the caller's
/// buffers (reused across steps). A failure names the op.
Status runStep(const Step &step, std::vector<Tensor> &tensors, KernelContext &ctx,
               std::vector<const Tensor *> &ins, std::vector<Tensor *> &outs);

/// Which steps of `program` run together, as lifetime spans for the arena
/// planner (dsrt::extendLifetime): a group's steps span the group.
std::vector<StepSpan> stepSpans(const Program &program);

} // namespace dsrt

#endif // DS_RUNTIME_CORE_FUSEDEXECUTION_H
