//===- MemoryAnalysis.h - liveness, peak and arena plan of @main -*- C++ -*-===//
//
// Liveness of the intermediate values of a ds program, the bytes alive at
// each step, the peak and what is alive there, and the arena plan of the one
// MLIR-free planner the runtime also uses (dsrt::planArena). Usable as an
// MLIR analysis (`getAnalysis<MemoryAnalysis>()` on a func.func @main or on
// the module holding it) or constructed directly; it knows nothing about how
// the artifact is serialized.
//
#ifndef DS_DIALECT_DS_ANALYSIS_MEMORYANALYSIS_H
#define DS_DIALECT_DS_ANALYSIS_MEMORYANALYSIS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::ds {

/// Bytes per element as the runtime stores them (bool and sub-byte integers
/// take one byte each); nullopt for types that are not integers or floats.
std::optional<uint64_t> storageBytesPerElement(Type elementType);

/// Bytes of a statically shaped ranked tensor as the runtime stores it;
/// nullopt for dynamic shapes and other types.
std::optional<uint64_t> storageBytes(Type type);

/// Liveness and memory of the single block of `@main`.
///
/// Steps are the ops of the block other than `ds.constant` and the
/// terminator, numbered in order from 0; the ops of a `ds.fusion_group` are
/// steps in their place, as the CPU runtime executes them. Intermediates are
/// the results of those steps: block arguments and constants are not in the
/// arena. Each intermediate lives from its defining step to the last step
/// reading it, widened to the end of every other fusion group reading it (a
/// group run in tiles reads its inputs until its last tile:
/// dsrt::extendLifetime); graph outputs live to `numSteps()`.
class MemoryAnalysis {
public:
  /// One intermediate value.
  struct Buffer {
    Value value;
    int64_t begin = 0, end = 0;    ///< steps, inclusive
    std::optional<uint64_t> bytes; ///< nullopt: dynamic dims (or not a tensor)
    uint64_t offset = 0;           ///< in the arena, when `isPlanned()`
  };

  /// Analyzes `op`: a func.func, or a module whose `@main` is analyzed.
  explicit MemoryAnalysis(Operation *op);
  explicit MemoryAnalysis(func::FuncOp func);

  /// False when there is nothing to analyze (no @main, not one block);
  /// `error()` then says why.
  bool isValid() const { return error_.empty(); }
  const std::string &error() const { return error_; }
  func::FuncOp getFunction() const { return func_; }

  /// True when every input and intermediate has a static shape: only then is
  /// there one arena plan. Otherwise the runtime plans memory per input
  /// shape, and peak and sums cover the values of static size only.
  bool isPlanned() const { return planned_; }

  int64_t numSteps() const { return (int64_t)steps_.size(); }
  /// The op of step `i` (the terminator for `i == numSteps()`).
  Operation *getStep(int64_t i) const { return i < numSteps() ? steps_[i] : terminator_; }
  /// The step index of an op of the block (or of an op nested in one).
  std::optional<int64_t> getStepIndex(Operation *op) const;

  /// Intermediates in program order (the order the arena planner gets them).
  const std::vector<Buffer> &getBuffers() const { return buffers_; }
  const Buffer *lookup(Value value) const;
  /// Intermediates with dynamic dims.
  int64_t numDynamicBuffers() const { return numDynamic_; }

  /// Arena size of the plan (0 when not planned).
  uint64_t getArenaBytes() const { return arenaBytes_; }
  /// Sum of the bytes of all intermediates of static size.
  uint64_t getIntermediateBytes() const { return intermediateBytes_; }
  /// Bytes alive at step `i`, for i in [0, numSteps()].
  uint64_t getLiveBytesAt(int64_t i) const { return liveBytes_[i]; }
  /// The largest bytes alive at one step, and the first step reaching it.
  uint64_t getPeakBytes() const { return peakBytes_; }
  int64_t getPeakStep() const { return peakStep_; }
  /// The intermediates alive at the peak step, largest first (ties in
  /// program order).
  std::vector<const Buffer *> getBuffersAtPeak() const;

private:
  void analyze(func::FuncOp func);

  std::string error_;
  func::FuncOp func_;
  std::vector<Operation *> steps_;
  Operation *terminator_ = nullptr;
  llvm::DenseMap<Operation *, int64_t> stepIndex_;
  std::vector<Buffer> buffers_;
  llvm::DenseMap<Value, size_t> bufferIndex_;
  std::vector<uint64_t> liveBytes_;
  int64_t numDynamic_ = 0;
  bool planned_ = false;
  uint64_t arenaBytes_ = 0, intermediateBytes_ = 0, peakBytes_ = 0;
  int64_t peakStep_ = 0;
};

} // namespace mlir::ds

#endif // DS_DIALECT_DS_ANALYSIS_MEMORYANALYSIS_H
