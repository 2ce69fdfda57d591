//===- FoldWeightDequantize.cpp - matmuls that read quantized weights -----===//
//
// ds-fold-weight-dequantize turns a matmul of an f32 activation and the
// dequantization of constant 8- or 4-bit weights into one
// ds.matmul_quantized_weight, so the weight is read in its own width instead
// of dequantized into an f32 copy each run. PrecisionPasses.td has the details.
//
//===----------------------------------------------------------------------===//
#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace mlir::ds {
#define GEN_PASS_DEF_FOLDWEIGHTDEQUANTIZEPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {

bool isConstant(Value v) { return v && v.getDefiningOp<ConstantOp>(); }

/// The block size the fused op takes for `dq` of a [K, N] weight: 0 for one
/// scale or one per column, the block for blocks along the rows; nullopt
/// when its scales run another way (per row).
std::optional<int64_t> foldableBlock(DequantizeOp dq) {
  auto weight = cast<RankedTensorType>(dq.getInput().getType());
  auto scale = cast<RankedTensorType>(dq.getScale().getType());
  auto result = cast<RankedTensorType>(dq.getResult().getType());
  auto integer = dyn_cast<IntegerType>(weight.getElementType());
  if (weight.getRank() != 2 || !weight.hasStaticShape() || !scale.hasStaticShape() ||
      !integer || (integer.getWidth() != 8 && integer.getWidth() != 4) ||
      !result.getElementType().isF32() || !scale.getElementType().isF32())
    return std::nullopt;
  const int64_t K = weight.getDimSize(0), N = weight.getDimSize(1);
  // (The accessors return the attributes' bits unsigned.)
  const int64_t rawAxis = (int64_t)dq.getAxis(), block = (int64_t)dq.getBlockSize();
  const int64_t axis = rawAxis < 0 ? rawAxis + 2 : rawAxis;
  // The fused op takes a zero point shaped like its scales.
  if (Value zp = dq.getZeroPoint();
      zp && cast<RankedTensorType>(zp.getType()).getShape() != scale.getShape())
    return std::nullopt;
  if (block == 0 && scale.getNumElements() == 1)
    return 0;
  if (block == 0 && axis == 1 && scale.getShape() == ArrayRef<int64_t>{N})
    return 0;
  if (block > 0 && axis == 0 &&
      scale.getShape() == ArrayRef<int64_t>{(K + block - 1) / block, N})
    return block;
  return std::nullopt;
}

struct FoldWeightDequantizePass
    : ds::impl::FoldWeightDequantizePassBase<FoldWeightDequantizePass> {
  void runOnOperation() override {
    SmallVector<MatMulOp> matmuls;
    getOperation().walk([&](MatMulOp m) { matmuls.push_back(m); });
    for (MatMulOp matmul : matmuls) {
      auto dq = matmul.getRhs().getDefiningOp<DequantizeOp>();
      auto lhs = cast<RankedTensorType>(matmul.getLhs().getType());
      if (!dq || !lhs.getElementType().isF32() || lhs.getRank() < 2 ||
          !isConstant(dq.getInput()) || !isConstant(dq.getScale()) ||
          (dq.getZeroPoint() && !isConstant(dq.getZeroPoint())))
        continue;
      std::optional<int64_t> block = foldableBlock(dq);
      if (!block)
        continue;
      OpBuilder b(matmul);
      auto fused = b.create<MatMulQuantizedWeightOp>(
          matmul.getLoc(), matmul.getResult().getType(), matmul.getLhs(), dq.getInput(),
          dq.getScale(), dq.getZeroPoint(), *block);
      matmul.replaceAllUsesWith(fused.getResult());
      matmul.erase();
      if (dq->use_empty())
        dq.erase();
    }
  }
};

} // namespace
