//===- DynamicDims.h - run-time sizes of a cuda program ---------*- C++ -*-===//
//
// A cuda program compiled with dynamic dims takes the sizes at launch: each
// dynamic dim of a value of @main (or of a value inside one of its fusion
// groups) is a linear form over the program's dim symbols (the artifact's
// symbol table), found by SymbolicDims. Kernels see the sizes as C
// expressions over their trailing parameters s0, s1, ...; steps carry size
// programs (ds_artifact_format.h, dsx_size_op) that the runtime evaluates
// once per input shape. A dim that is no such form (it depends on a value
// only a run knows) is an error naming the op.
//
//===----------------------------------------------------------------------===//
#ifndef DS_LIB_TARGET_CUDA_DYNAMICDIMS_H
#define DS_LIB_TARGET_CUDA_DYNAMICDIMS_H

#include "ds/Dialect/DS/Analysis/SymbolicDims.h"

#include "mlir/IR/Builders.h"

#include <memory>
#include <string>

namespace mlir::ds::cuda {

/// A product of linear forms over dim symbols, optionally divided (rounding
/// up) by a constant: element counts, grid sizes, GEMM extents and strides.
struct Size {
  int64_t factor = 1;
  llvm::SmallVector<DimExpr, 2> forms; ///< non-constant linear forms
  int64_t divisor = 1;                 ///< ceil(product / divisor)

  static Size of(int64_t n) { return Size{n, {}, 1}; }
  static Size of(const DimExpr &e);
  bool isStatic() const { return forms.empty(); }
  int64_t staticValue() const { return (factor + divisor - 1) / divisor; }
  Size operator*(const Size &o) const;
  Size ceilDiv(int64_t d) const;
  /// C expression over the kernel parameters s0, s1, ...
  std::string c() const;
  /// The postfix program (dsx_size_op pairs).
  llvm::SmallVector<int64_t> program() const;
};

/// C expression of a linear form ("64", "s1", "(s1 + s2)", "(2 * s0 + 3)").
std::string formC(const DimExpr &e);

class DynamicDims {
public:
  /// Resolves every dynamic dim of @main; fails with a diagnostic on the op
  /// whose result has a dim that is not a linear form of the input dims.
  static FailureOr<std::unique_ptr<DynamicDims>> build(func::FuncOp func);

  /// The number of dim symbols: kernels take that many size parameters.
  unsigned numSymbols() const { return numSymbols_; }
  bool dynamic() const { return numSymbols_ > 0; }

  /// Axis `axis` of ranked value `v` over the symbols (constant if static).
  DimExpr dim(Value v, int64_t axis) const;
  Size size(Value v, int64_t axis) const { return Size::of(dim(v, axis)); }
  /// Product of dims [begin, end) of `v`.
  Size product(Value v, int64_t begin, int64_t end) const;
  /// Every dim of `v` as a C expression.
  llvm::SmallVector<std::string, 6> dimsC(Value v) const;
  /// The elements of a small integer tensor computed from shapes (a Slice's
  /// start that is "size / 2"), when all are linear forms of the symbols.
  FailureOr<llvm::SmallVector<DimExpr>> elements(Value v) const;

  /// Adds "dynamic_dims" for the step's dynamic result dims (none for a
  /// static program).
  void annotateResults(llvm::ArrayRef<Value> outputs,
                       llvm::SmallVectorImpl<NamedAttribute> &attrs, Builder &b) const;

private:
  FailureOr<DimExpr> resolve(Value v, int64_t axis) const;
  bool checkBroadcasts(func::FuncOp func) const;
  /// The analysis's form with its unknowns renamed to dim symbols.
  FailureOr<DimExpr> overSymbols(const OptDim &e) const;
  std::unique_ptr<SymbolicDims> analysis_;
  llvm::DenseMap<unsigned, unsigned> symbolOf_; ///< analysis unknown -> dim symbol
  unsigned numSymbols_ = 0;
};

/// Appends `[key..., pair count, pairs...]` to `entries`.
void appendSizeEntry(llvm::SmallVectorImpl<int64_t> &entries, llvm::ArrayRef<int64_t> key,
                     const Size &size);

} // namespace mlir::ds::cuda

#endif // DS_LIB_TARGET_CUDA_DYNAMICDIMS_H
