//===- VerifyRuntimeContract.cpp - ds ops vs the CPU runtime's contract ---===//
#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Dialect/DS/Transforms/Passes.h"
#include "ds/Target/Artifact/RuntimeContract.h"

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "ds-verify-runtime-contract"

namespace mlir::ds {
#define GEN_PASS_DEF_VERIFYRUNTIMECONTRACTPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {
struct VerifyRuntimeContractPass
    : ds::impl::VerifyRuntimeContractPassBase<VerifyRuntimeContractPass> {
  using VerifyRuntimeContractPassBase::VerifyRuntimeContractPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    bool ok = true;
    if (dialect) {
      RuntimeContractSummary summary;
      if (failed(verifyRuntimeContract(&getContext(), module.getLoc(), summary)))
        ok = false;
      else
        emitRemark(module.getLoc(), "contract: ")
            << summary.ops << " ops, " << summary.attributes << " attributes, consistent";
    }
    unsigned checked = 0;
    module.walk([&](Operation *op) {
      if (!isa<DSDialect>(op->getDialect()) || isa<ConstantOp, FusionGroupOp, YieldOp>(op))
        return;
      ++checked;
      if (failed(verifyRuntimeContract(op)))
        ok = false;
    });
    LLVM_DEBUG(llvm::dbgs() << "checked " << checked << " ops\n");
    markAllAnalysesPreserved();
    if (!ok)
      signalPassFailure();
  }
};
} // namespace
