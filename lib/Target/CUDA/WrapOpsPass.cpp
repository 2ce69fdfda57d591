//===- WrapOpsPass.cpp - `ds-cuda-wrap-ops` -------------------------------===//
//
// One kernel per fusion group: ops outside any group become groups of one.
//
//===----------------------------------------------------------------------===//
#include "ds/Target/CUDA/Passes.h"

#include "ds/Dialect/DS/IR/DSOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::ds {
#define GEN_PASS_DEF_CUDAWRAPOPSPASS
#include "ds/Target/CUDA/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {
struct CUDAWrapOpsPass : public ds::impl::CUDAWrapOpsPassBase<CUDAWrapOpsPass> {
  void runOnOperation() override {
    for (Block &block : getOperation().getBody()) {
      for (Operation &op : llvm::make_early_inc_range(block.without_terminator())) {
        if (isa<ConstantOp, FusionGroupOp>(op) || op.getNumResults() == 0 ||
            op.getDialect() != op.getContext()->getLoadedDialect<DSDialect>())
          continue;
        OpBuilder b(&op);
        auto group = b.create<FusionGroupOp>(op.getLoc(), op.getResultTypes(), op.getOperands(),
                                             singleOpFusionKind(&op));
        OpBuilder inner = OpBuilder::atBlockEnd(&group.getBody().front());
        IRMapping map;
        map.map(op.getOperands(), group.getBody().front().getArguments());
        Operation *clone = inner.clone(op, map);
        inner.create<YieldOp>(op.getLoc(), clone->getResults());
        op.replaceAllUsesWith(group.getResults());
        op.erase();
      }
    }
  }
};
} // namespace
