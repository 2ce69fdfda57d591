//===- TrailingReductionsPass.cpp - `ds-cuda-trailing-reductions` ---------===//
//
// Reductions over non-trailing axes as transpose + trailing reduction, the
// only form the CUDA reduction kernel (EmitReduction.cpp) emits.
//
//===----------------------------------------------------------------------===//
#include "ds/Target/CUDA/Passes.h"

#include "ds/Dialect/DS/IR/DSOps.h"

#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/Builders.h"

namespace mlir::ds {
#define GEN_PASS_DEF_CUDATRAILINGREDUCTIONSPASS
#include "ds/Target/CUDA/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {
/// The permutation that keeps the other dims in order and puts `moved` last.
SmallVector<int64_t> movingLast(int64_t rank, ArrayRef<int64_t> moved) {
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < rank; ++d)
    if (!llvm::is_contained(moved, d))
      perm.push_back(d);
  perm.append(moved.begin(), moved.end());
  return perm;
}

int64_t rankOf(Value v) { return cast<RankedTensorType>(v.getType()).getRank(); }

/// reduce(x, axes) = reduce(transpose(x), trailing axes) [-> transpose back].
void rewriteReduce(ReduceOp op) {
  int64_t rank = rankOf(op.getInput());
  SmallVector<int64_t> axes(op.getAxes()); // verified: in range, no repeats
  llvm::sort(axes);
  int64_t first = rank - (int64_t)axes.size();
  bool trailing = true;
  for (auto [i, a] : llvm::enumerate(axes))
    trailing &= a == first + (int64_t)i;
  if (trailing)
    return;
  OpBuilder b(op);
  Location loc = op.getLoc();
  SmallVector<int64_t> perm = movingLast(rank, axes), tail;
  for (int64_t d = first; d < rank; ++d)
    tail.push_back(d);
  Value moved = b.create<TransposeOp>(loc, op.getInput(), perm);
  Value reduced = b.create<ReduceOp>(loc, op.getKind(), moved, tail, op.getKeepdims());
  if (op.getKeepdims()) // [kept..., 1...] back to the unit dims' places
    reduced = b.create<TransposeOp>(loc, reduced, invertPermutationVector(perm));
  op.replaceAllUsesWith(reduced);
  op.erase();
}

/// softmax(x, axis) = transpose back(softmax(transpose(x), last axis)).
void rewriteSoftmax(SoftmaxOp op) {
  ArrayRef<int64_t> shape = cast<RankedTensorType>(op.getInput().getType()).getShape();
  int64_t rank = shape.size(), axis = (int64_t)op.getAxis();
  if (axis < 0)
    axis += rank;
  bool innermost = true;
  for (int64_t d = axis + 1; d < rank; ++d)
    innermost &= shape[d] == 1;
  if (innermost)
    return;
  OpBuilder b(op);
  Location loc = op.getLoc();
  SmallVector<int64_t> perm = movingLast(rank, {axis});
  Value moved = b.create<TransposeOp>(loc, op.getInput(), perm);
  Value soft = b.create<SoftmaxOp>(loc, moved, b.getI64IntegerAttr(rank - 1), op.getLogAttr());
  op.replaceAllUsesWith(b.create<TransposeOp>(loc, soft, invertPermutationVector(perm)).getResult());
  op.erase();
}

struct CUDATrailingReductionsPass
    : public ds::impl::CUDATrailingReductionsPassBase<CUDATrailingReductionsPass> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<ReduceOp, SoftmaxOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      if (auto reduce = dyn_cast<ReduceOp>(op))
        rewriteReduce(reduce);
      else
        rewriteSoftmax(cast<SoftmaxOp>(op));
    }
  }
};
} // namespace
