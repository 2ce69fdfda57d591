//===- QuantizeStatic.cpp - int8 matmuls with calibrated activations ------===//
//
// ds-quantize-static: post-training static quantization of matmuls, the
// activation ranges read from a calibration table (ds/Calibration), the
// weights quantized as ds-quantize-dynamic does. Passes.td has the details.
//
//===----------------------------------------------------------------------===//
#include "MatMulQuantization.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>

namespace mlir::ds {
#define GEN_PASS_DEF_QUANTIZESTATICPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {

namespace cal = ds_calibration;

/// u8 affine parameters mapping [lo, hi] (holding 0) onto [0, 255].
struct ActivationQuantization {
  float scale = 1.0f;
  uint8_t zeroPoint = 0;
};

ActivationQuantization quantizationOf(cal::Range range) {
  ActivationQuantization q;
  float width = range.hi - range.lo;
  if (!(width > 0.0f) || !std::isfinite(width))
    return q; // only zeros were seen: any scale represents them
  q.scale = width / 255.0f;
  q.zeroPoint = (uint8_t)std::clamp(std::nearbyint(-range.lo / q.scale), 0.0f, 255.0f);
  return q;
}

struct QuantizeStaticPass : mlir::ds::impl::QuantizeStaticPassBase<QuantizeStaticPass> {
  using QuantizeStaticPassBase::QuantizeStaticPassBase;

  LogicalResult initialize(MLIRContext *context) override {
    cal::Table parsed;
    if (failed(loadCalibrationTable(context, table, "ds-quantize-static", parsed)))
      return failure();
    for (const cal::TableEntry &entry : parsed.entries)
      ranges[entry.name] = entry.range;
    return success();
  }

  void runOnOperation() override {
    llvm::StringSet<> excluded;
    for (const std::string &name : excludeNodes)
      excluded.insert(name);
    // The matmuls of each activation, and the union of their ranges.
    llvm::MapVector<Value, SmallVector<QuantizableMatMul>> byActivation;
    llvm::DenseMap<Value, cal::Range> activationRange;
    for (QuantizableMatMul &matmul :
         findQuantizableMatMuls(getOperation(), excluded, minWeights)) {
      auto it = ranges.find(matmul.key);
      if (it == ranges.end()) {
        matmul.op.emitWarning() << "the calibration table has no range for '" << matmul.key
                                << "': this matmul stays f32";
        continue;
      }
      Value x = matmul.op.getLhs();
      auto [entry, inserted] = activationRange.try_emplace(x, it->second);
      if (!inserted) {
        entry->second.lo = std::min(entry->second.lo, it->second.lo);
        entry->second.hi = std::max(entry->second.hi, it->second.hi);
      }
      byActivation[x].push_back(matmul);
    }
    for (auto &[x, matmuls] : byActivation) {
      ActivationQuantization q = quantizationOf(activationRange.lookup(x));
      OpBuilder b(matmuls.front().op.getContext());
      if (Operation *def = x.getDefiningOp())
        b.setInsertionPointAfter(def);
      else
        b.setInsertionPointToStart(cast<BlockArgument>(x).getOwner());
      Location loc = matmuls.front().op.getLoc();
      auto scalar = [&](Type type) { return RankedTensorType::get({}, type); };
      Value scale = b.create<ConstantOp>(
          loc, DenseElementsAttr::get(scalar(b.getF32Type()), ArrayRef<float>(q.scale)));
      Type u8 = b.getIntegerType(8, /*isSigned=*/false);
      Value zeroPoint = b.create<ConstantOp>(
          loc, DenseElementsAttr::get(scalar(u8), APInt(8, q.zeroPoint)));
      auto xType = cast<RankedTensorType>(x.getType());
      Value xq = b.create<QuantizeOp>(loc, xType.clone(u8), x, scale, zeroPoint,
                                      b.getI64IntegerAttr(1), b.getI64IntegerAttr(0),
                                      UnitAttr());
      bool used = false;
      for (QuantizableMatMul &matmul : matmuls)
        used |= replaceWithIntegerMatMul(matmul, xq, zeroPoint, scale, perColumn);
      if (!used) { // no weight had its bytes
        xq.getDefiningOp()->erase();
        zeroPoint.getDefiningOp()->erase();
        scale.getDefiningOp()->erase();
      }
    }
  }

  llvm::StringMap<cal::Range> ranges;
};

} // namespace
