//===- QuantizeDynamic.cpp - int8 weights, activations quantized at run time ===//
//
// ds-quantize-dynamic quantizes the constant weights of f32 matmuls to int8
// here (symmetric, per output column or per tensor) and the activations at
// run time (ds.dynamic_quantize: u8 with a scale and zero point from each
// tensor's range), so the product runs on the int8 GEMM:
//
//   y = matmul(x, W)  ->  xq, sx, zx = dynamic_quantize(x)
//                         y = cast(matmul_integer(xq, Wq, zx)) * (sx * sw)
//
// One dynamic_quantize serves every quantized matmul of the same activation
// (the Q, K and V projections). Passes.td has the options.
//
//===----------------------------------------------------------------------===//
#include "WeightQuantization.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

namespace mlir::ds {
#define GEN_PASS_DEF_QUANTIZEDYNAMICPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {

struct QuantizeDynamicPass : ds::impl::QuantizeDynamicPassBase<QuantizeDynamicPass> {
  using QuantizeDynamicPassBase::QuantizeDynamicPassBase;

  void runOnOperation() override {
    llvm::StringSet<> excluded;
    for (const std::string &name : excludeNodes)
      excluded.insert(name);
    // Every activation's run-time quantization first (placed where it is
    // defined): replacing a matmul erases it, and its result may be the next
    // matmul's activation.
    SmallVector<QuantizableMatMul> matmuls =
        findQuantizableMatMuls(getOperation(), excluded, minWeights);
    llvm::DenseMap<Value, DynamicQuantizeOp> quantizedActivations;
    SmallVector<DynamicQuantizeOp> readBy;
    for (QuantizableMatMul &matmul : matmuls) {
      Value x = matmul.op.getLhs();
      DynamicQuantizeOp dq = quantizedActivations.lookup(x);
      if (!dq) {
        OpBuilder at(matmul.op.getContext());
        if (Operation *def = x.getDefiningOp())
          at.setInsertionPointAfter(def);
        else
          at.setInsertionPointToStart(cast<BlockArgument>(x).getOwner());
        dq = at.create<DynamicQuantizeOp>(matmul.op.getLoc(), x);
        quantizedActivations[x] = dq;
      }
      readBy.push_back(dq);
    }
    // A weight without its bytes leaves an f32 matmul.
    for (auto [matmul, dq] : llvm::zip(matmuls, readBy))
      replaceWithIntegerMatMul(matmul, dq.getOutput(), dq.getZeroPoint(), dq.getScale(), perColumn);
    for (auto &[x, dq] : quantizedActivations)
      if (dq->use_empty())
        dq->erase();
  }
};

} // namespace
