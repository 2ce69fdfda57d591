//===- SmoothQuant.cpp - activation outliers moved into the weights -------===//
//
// ds-smooth-quant divides each quantizable matmul's activation by a
// per-channel factor and multiplies the weight rows by it, the factors from
// the calibration table's channel statistics and rounded to powers of two
// so that the fp32 model is unchanged. PrecisionPasses.td has the details.
//
//===----------------------------------------------------------------------===//
#include "WeightQuantization.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>
#include <cstdio>

namespace mlir::ds {
#define GEN_PASS_DEF_SMOOTHQUANTPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {

namespace cal = ds_calibration;

/// s_j = xMax_j^alpha / wMax_j^(1 - alpha), rounded to a power of two within
/// [2^-24, 2^24] (x / s and w * s stay exact and normal); 1 where a channel
/// is all zeros on either side.
std::vector<float> smoothingFactors(ArrayRef<float> xMax, ArrayRef<float> wMax, double alpha) {
  std::vector<float> s(xMax.size(), 1.0f);
  for (size_t j = 0; j < s.size(); ++j) {
    if (!(xMax[j] > 0.0f) || !(wMax[j] > 0.0f))
      continue;
    double factor = std::pow((double)xMax[j], alpha) / std::pow((double)wMax[j], 1.0 - alpha);
    if (!std::isfinite(factor) || factor <= 0.0)
      continue;
    double exponent = std::clamp(std::nearbyint(std::log2(factor)), -24.0, 24.0);
    s[j] = (float)std::exp2(exponent);
  }
  return s;
}

struct SmoothQuantPass : mlir::ds::impl::SmoothQuantPassBase<SmoothQuantPass> {
  using SmoothQuantPassBase::SmoothQuantPassBase;

  LogicalResult initialize(MLIRContext *context) override {
    cal::Table parsed;
    if (failed(loadCalibrationTable(context, table, "ds-smooth-quant", parsed)))
      return failure();
    strength = alpha > 0.0 ? alpha.getValue() : parsed.smoothQuantAlpha;
    if (strength > 1.0 || alpha < 0.0) {
      char text[32];
      std::snprintf(text, sizeof text, "%g", alpha < 0.0 ? alpha.getValue() : strength);
      return emitError(UnknownLoc::get(context))
             << "ds-smooth-quant: alpha " << text << " is not in (0, 1]";
    }
    for (cal::TableEntry &entry : parsed.entries)
      if (!entry.channelAbsMax.empty())
        channelAbsMax[entry.name] = std::move(entry.channelAbsMax);
    if (strength > 0.0 && channelAbsMax.empty())
      return emitError(FileLineColLoc::get(context, table.getValue(), 0, 0))
             << "the calibration table has no channel statistics (absmax lines) for SmoothQuant";
    return success();
  }

  void runOnOperation() override {
    if (!(strength > 0.0))
      return; // the table was calibrated without smoothing
    llvm::MapVector<Value, SmallVector<QuantizableMatMul>> byActivation;
    for (QuantizableMatMul &matmul : findQuantizableMatMuls(getOperation(), {}, 0))
      byActivation[matmul.op.getLhs()].push_back(matmul);
    for (auto &[x, matmuls] : byActivation)
      smooth(x, matmuls);
  }

  /// Smooths one activation and the weights of every matmul reading it.
  void smooth(Value x, MutableArrayRef<QuantizableMatMul> matmuls) {
    // The weight's K (static; the activation's last dim may be dynamic).
    int64_t K = cast<RankedTensorType>(matmuls.front().op.getRhs().getType()).getDimSize(0);
    std::vector<float> xMax(K, 0.0f), wMax(K, 0.0f);
    std::vector<std::vector<float>> weights;
    for (QuantizableMatMul &matmul : matmuls) {
      auto stats = channelAbsMax.find(matmul.key);
      if (stats == channelAbsMax.end()) {
        matmul.op.emitWarning() << "the calibration table has no channel statistics for '"
                                << matmul.key << "': its activation is not smoothed";
        return;
      }
      if ((int64_t)stats->second.size() != K) {
        matmul.op.emitError() << "the calibration table has " << stats->second.size()
                              << " channels for '" << matmul.key << "', its activation " << K;
        return signalPassFailure();
      }
      std::optional<std::vector<float>> w = readWeight(matmul);
      if (!w)
        return; // a weight without bytes (elided): nothing to scale
      int64_t N = (int64_t)w->size() / K;
      for (int64_t j = 0; j < K; ++j) {
        xMax[j] = std::max(xMax[j], stats->second[j]);
        for (int64_t n = 0; n < N; ++n)
          wMax[j] = std::max(wMax[j], std::fabs((*w)[j * N + n]));
      }
      weights.push_back(std::move(*w));
    }
    std::vector<float> s = smoothingFactors(xMax, wMax, strength);
    if (llvm::all_of(s, [](float f) { return f == 1.0f; }))
      return;

    OpBuilder b(x.getContext());
    if (Operation *def = x.getDefiningOp())
      b.setInsertionPointAfter(def);
    else
      b.setInsertionPointToStart(cast<BlockArgument>(x).getOwner());
    Location loc = matmuls.front().op.getLoc();
    std::vector<float> inverse(K);
    for (int64_t j = 0; j < K; ++j)
      inverse[j] = 1.0f / s[j];
    auto channelType = RankedTensorType::get({K}, b.getF32Type());
    Value inv = b.create<ConstantOp>(loc, DenseElementsAttr::get(channelType,
                                                                 ArrayRef<float>(inverse)));
    Value smoothed = b.create<BinaryOp>(loc, BinaryKind::mul, x, inv);

    for (auto [matmul, w] : llvm::zip(matmuls, weights)) {
      int64_t N = (int64_t)w.size() / K;
      // Scaled in the constant's own layout: [K, N], or [N, K] under a transpose.
      std::vector<float> scaled(w.size());
      for (int64_t j = 0; j < K; ++j)
        for (int64_t n = 0; n < N; ++n)
          scaled[matmul.transpose ? n * K + j : j * N + n] = w[j * N + n] * s[j];
      OpBuilder at(matmul.weight);
      auto type = cast<RankedTensorType>(matmul.weight.getType());
      Value newWeight = at.create<ConstantOp>(
          matmul.weight.getLoc(), makeConstant(type, ArrayRef<float>(scaled), "smoothed_weight"));
      Operation *reader = matmul.transpose ? matmul.transpose.getOperation()
                                           : matmul.op.getOperation();
      reader->replaceUsesOfWith(matmul.weight, newWeight);
      if (matmul.weight->use_empty())
        matmul.weight->erase();
      matmul.op.getLhsMutable().assign(smoothed);
    }
  }

  double strength = 0.0;
  llvm::StringMap<std::vector<float>> channelAbsMax;
};

} // namespace
