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
#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringSet.h"

#include <cmath>

namespace mlir::ds {
#define GEN_PASS_DEF_QUANTIZEDYNAMICPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {

/// A [K, N] weight quantized to int8: q = round(w / scale), |q| <= 127
/// (symmetric; -128 unused so that negating a weight negates its code), one
/// scale per column or one for all.
struct QuantizedWeight {
  std::vector<int8_t> values;
  std::vector<float> scales;
};

QuantizedWeight quantizeWeight(const std::vector<float> &w, int64_t K, int64_t N, bool perColumn) {
  QuantizedWeight q;
  q.values.resize(w.size());
  std::vector<float> maxAbs(perColumn ? N : 1, 0.0f);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < N; ++j) {
      float &m = maxAbs[perColumn ? j : 0];
      m = std::max(m, std::fabs(w[k * N + j]));
    }
  for (float m : maxAbs)
    q.scales.push_back(m > 0.0f && std::isfinite(m) ? m / 127.0f : 1.0f);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < N; ++j) {
      float v = std::nearbyint(w[k * N + j] / q.scales[perColumn ? j : 0]);
      q.values[k * N + j] = (int8_t)std::clamp(std::isnan(v) ? 0.0f : v, -127.0f, 127.0f);
    }
  return q;
}

/// The constant [K, N] weight a matmul reads: a constant, or the transpose
/// of a constant [N, K] (Gemm with transB, nn.Linear exported as Gemm),
/// which the canonicalizer leaves unfolded when it is large; only matmuls
/// read it.
struct Weight {
  ConstantOp constant;
  bool transposed = false;
};

std::optional<Weight> constantWeight(Value rhs) {
  Weight weight;
  if (auto transpose = rhs.getDefiningOp<TransposeOp>()) {
    if (transpose.getPerm() != ArrayRef<int64_t>{1, 0} || !transpose->hasOneUse())
      return std::nullopt;
    weight.transposed = true;
    rhs = transpose.getInput();
  }
  weight.constant = rhs.getDefiningOp<ConstantOp>();
  if (!weight.constant)
    return std::nullopt;
  // A weight that other ops read too (an output projection tied to the
  // embedding table a gather reads) stays f32: an int8 copy would add to the
  // model instead of shrinking it.
  for (Operation *user : weight.constant->getUsers())
    if (!isa<MatMulOp>(user) && !(weight.transposed && isa<TransposeOp>(user)))
      return std::nullopt;
  return weight;
}

struct QuantizeDynamicPass : ds::impl::QuantizeDynamicPassBase<QuantizeDynamicPass> {
  using QuantizeDynamicPassBase::QuantizeDynamicPassBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    llvm::StringSet<> excluded;
    for (const std::string &name : excludeNodes)
      excluded.insert(name);
    SmallVector<MatMulOp> candidates;
    func.walk([&](MatMulOp op) {
      if (auto name = dyn_cast<NameLoc>(op.getLoc()); name && excluded.contains(name.getName()))
        return;
      auto x = cast<RankedTensorType>(op.getLhs().getType());
      auto w = cast<RankedTensorType>(op.getRhs().getType());
      if (!x.getElementType().isF32() || x.getRank() < 2 || w.getRank() != 2 ||
          !w.hasStaticShape() || w.getNumElements() < minWeights ||
          !constantWeight(op.getRhs()) || op.getLhs().getDefiningOp<ConstantOp>())
        return;
      candidates.push_back(op);
    });
    llvm::DenseMap<Value, DynamicQuantizeOp> quantizedActivations;
    for (MatMulOp op : candidates) {
      Weight weight = *constantWeight(op.getRhs());
      ConstantOp constant = weight.constant;
      Operation *transpose = weight.transposed ? op.getRhs().getDefiningOp() : nullptr;
      std::optional<std::vector<float>> weights = readF32Constant(constant.getValue());
      if (!weights)
        continue; // a weight without its bytes stays an f32 matmul
      auto wType = cast<RankedTensorType>(op.getRhs().getType());
      int64_t K = wType.getDimSize(0), N = wType.getDimSize(1);
      if (weight.transposed) { // [N, K] -> [K, N]
        std::vector<float> t(weights->size());
        for (int64_t n = 0; n < N; ++n)
          for (int64_t k = 0; k < K; ++k)
            t[k * N + n] = (*weights)[n * K + k];
        weights = std::move(t);
      }
      QuantizedWeight q = quantizeWeight(*weights, K, N, perColumn);
      OpBuilder b(op);
      Location loc = op.getLoc();
      auto qType = RankedTensorType::get({K, N}, b.getIntegerType(8));
      ElementsAttr qAttr;
      if (q.values.size() >= 4096)
        qAttr = DenseResourceElementsAttr::get(
            qType, "quantized_weight",
            HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<int8_t>(q.values)));
      else
        qAttr = DenseElementsAttr::get(qType, ArrayRef<int8_t>(q.values));
      Value wq = b.create<ConstantOp>(loc, qAttr);
      auto sType = perColumn ? RankedTensorType::get({N}, b.getF32Type())
                             : RankedTensorType::get({}, b.getF32Type());
      Value sw = b.create<ConstantOp>(loc, DenseElementsAttr::get(sType, ArrayRef<float>(q.scales)));
      // One run-time quantization per activation, placed where it is defined.
      Value x = op.getLhs();
      DynamicQuantizeOp dq = quantizedActivations.lookup(x);
      if (!dq) {
        OpBuilder at(op.getContext());
        if (Operation *def = x.getDefiningOp())
          at.setInsertionPointAfter(def);
        else
          at.setInsertionPointToStart(cast<BlockArgument>(x).getOwner());
        dq = at.create<DynamicQuantizeOp>(loc, x);
        quantizedActivations[x] = dq;
      }
      auto resultType = cast<RankedTensorType>(op.getType());
      Value product = b.create<MatMulIntegerOp>(loc, resultType.clone(b.getI32Type()),
                                                dq.getOutput(), wq, dq.getZeroPoint(), Value());
      Value asFloat = b.create<CastOp>(loc, resultType, product, UnitAttr());
      Value scale = b.create<BinaryOp>(loc, BinaryKind::mul, dq.getScale(), sw);
      op.replaceAllUsesWith(b.create<BinaryOp>(loc, BinaryKind::mul, asFloat, scale).getResult());
      op.erase();
      if (transpose && transpose->use_empty())
        transpose->erase();
      if (constant->use_empty())
        constant.erase();
    }
  }
};

} // namespace
