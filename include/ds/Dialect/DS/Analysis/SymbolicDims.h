//===- SymbolicDims.h - run-time sizes as linear expressions ----*- C++ -*-===//
//
// Dynamic dimension sizes of a function as linear expressions over its
// unknown sizes, so that a pass can prove two run-time sizes equal: that the
// range a causal mask is built from is as long as the keys, that the offset
// of a KV cache is "keys minus queries". One forward walk over the body.
// Dims of arguments that carry the same `ds.dim_symbols` name are the same
// unknown. Anything the walk does not understand is simply unknown. Fusion
// groups are seen through (their body values get dims too).
//
//===----------------------------------------------------------------------===//
#ifndef DS_DIALECT_DS_ANALYSIS_SYMBOLICDIMS_H
#define DS_DIALECT_DS_ANALYSIS_SYMBOLICDIMS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

#include <cstdint>
#include <optional>
#include <utility>

namespace mlir::ds {
class ReshapeOp;
class CastOp;
class FusionGroupOp;

/// An integer cast that keeps every value (to a type at least as wide, not
/// i1): analyses may look through it.
bool isWideningIntCast(CastOp cast);

/// constant + sum(coefficient * unknown); unknowns are numbered by the analysis.
struct DimExpr {
  int64_t constant = 0;
  llvm::SmallVector<std::pair<unsigned, int64_t>, 2> terms; // sorted by unknown, no zero coefficient

  static DimExpr of(int64_t c) { return DimExpr{c, {}}; }
  bool isConstant() const { return terms.empty(); }
  /// A nonnegative combination of sizes, which are never negative.
  bool isNonNegative() const {
    return constant >= 0 && llvm::all_of(terms, [](auto t) { return t.second > 0; });
  }
  DimExpr operator+(const DimExpr &o) const;
  DimExpr operator-(const DimExpr &o) const;
  DimExpr operator*(int64_t factor) const;
  bool operator==(const DimExpr &o) const {
    return constant == o.constant && terms == o.terms;
  }
  bool operator!=(const DimExpr &o) const { return !(*this == o); }
};

using OptDim = std::optional<DimExpr>;

class SymbolicDims {
public:
  explicit SymbolicDims(func::FuncOp func);
  /// Size of `axis` of a ranked tensor value.
  OptDim dim(Value tensor, int64_t axis) const;
  /// Element `index` of a small integer tensor (at most 16 elements, e.g. a
  /// shape vector or a scalar), when known.
  OptDim element(Value tensor, int64_t index) const;
  /// element(tensor, 0) of a one-element tensor.
  OptDim scalar(Value tensor) const;

private:
  void visit(Operation *op);
  void visitGroup(FusionGroupOp group);
  unsigned unknown(Value v, int64_t axis);
  OptDim inferredDim(ReshapeOp reshape, int64_t axis) const;
  OptDim broadcastDim(ValueRange operands, int64_t rank, int64_t axis) const;

  llvm::DenseMap<Value, llvm::SmallVector<OptDim, 4>> dims_;
  llvm::DenseMap<Value, llvm::SmallVector<OptDim, 4>> values_;
  llvm::DenseMap<std::pair<Value, int64_t>, unsigned> unknowns_;
  llvm::StringMap<unsigned> symbols_;
};

} // namespace mlir::ds

#endif // DS_DIALECT_DS_ANALYSIS_SYMBOLICDIMS_H
