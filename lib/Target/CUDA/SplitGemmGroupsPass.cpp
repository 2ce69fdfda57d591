//===- SplitGemmGroupsPass.cpp - `ds-cuda-split-gemm-groups` --------------===//
//
// A matmul group becomes a cuBLASLt step (matmul + the epilogue cuBLASLt
// applies) and an elementwise group for the rest (cuda::splitMatMulGroup).
//
//===----------------------------------------------------------------------===//
#include "ds/Target/CUDA/Passes.h"
#include "Emitters.h"

#include "ds/Dialect/DS/IR/DSOps.h"

namespace mlir::ds {
#define GEN_PASS_DEF_CUDASPLITGEMMGROUPSPASS
#include "ds/Target/CUDA/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {
struct CUDASplitGemmGroupsPass
    : public ds::impl::CUDASplitGemmGroupsPassBase<CUDASplitGemmGroupsPass> {
  void runOnOperation() override {
    bool failed = false;
    getOperation().walk([&](FusionGroupOp group) {
      // Report every group that cannot be split, not only the first.
      failed |= mlir::failed(cuda::splitMatMulGroup(group));
    });
    if (failed)
      signalPassFailure();
  }
};
} // namespace
