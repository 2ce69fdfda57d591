//===- QuantizeDynamic.cpp - int8 weights, activations quantized at run time ===//
//
// ds-quantize-dynamic quantizes the constant weights of f32 matmuls (per
// output column or per tensor) and convolutions (per output channel) to
// symmetric int8 here and the activations at run time (ds.dynamic_quantize:
// u8 with a scale and zero point from each tensor's range), so the product
// runs on the int8 kernels:
//
//   y = matmul(x, W)  ->  xq, sx, zx = dynamic_quantize(x)
//                         y = cast(matmul_integer(xq, Wq, zx)) * (sx * sw)
//   y = conv(x, W, b) ->  y = cast(conv_integer(xq, Wq, zx)) * (sx * sw) + b
//
// One dynamic_quantize serves every quantized op of the same activation
// (the Q, K and V projections). PrecisionPasses.td has the options.
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
    SmallVector<QuantizableConv> convs = findQuantizableConvs(getOperation(), excluded, minWeights);
    llvm::DenseMap<Value, DynamicQuantizeOp> quantizedActivations;
    SmallVector<DynamicQuantizeOp> created; // (the map's keys may be erased below)
    auto quantized = [&](Value x, Location loc) {
      DynamicQuantizeOp &dq = quantizedActivations[x];
      if (!dq) {
        OpBuilder at(x.getContext());
        if (Operation *def = x.getDefiningOp())
          at.setInsertionPointAfter(def);
        else
          at.setInsertionPointToStart(cast<BlockArgument>(x).getOwner());
        dq = at.create<DynamicQuantizeOp>(loc, x);
        created.push_back(dq);
      }
      return dq;
    };
    SmallVector<DynamicQuantizeOp> matmulInputs, convInputs;
    for (QuantizableMatMul &matmul : matmuls)
      matmulInputs.push_back(quantized(matmul.op.getLhs(), matmul.op.getLoc()));
    for (QuantizableConv &conv : convs)
      convInputs.push_back(quantized(conv.op.getInput(), conv.op.getLoc()));
    // A weight without its bytes leaves an f32 op.
    for (auto [matmul, dq] : llvm::zip(matmuls, matmulInputs))
      replaceWithIntegerMatMul(matmul, dq.getOutput(), dq.getZeroPoint(), dq.getScale(), perColumn);
    for (auto [conv, dq] : llvm::zip(convs, convInputs))
      replaceWithIntegerConv(conv, dq.getOutput(), dq.getZeroPoint(), dq.getScale());
    for (DynamicQuantizeOp dq : created)
      if (dq->use_empty())
        dq->erase();
  }
};

} // namespace
