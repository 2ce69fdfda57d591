//===- InsertCalibrationProbes.cpp - results for calibration runs ---------===//
//
// ds-insert-calibration-probes returns the activation of every matmul that
// ds-quantize-static would quantize, named after the matmul, so that a run
// on calibration data sees it. PrecisionPasses.td has the details.
//
//===----------------------------------------------------------------------===//
#include "WeightQuantization.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

namespace mlir::ds {
#define GEN_PASS_DEF_INSERTCALIBRATIONPROBESPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {

struct InsertCalibrationProbesPass
    : ds::impl::InsertCalibrationProbesPassBase<InsertCalibrationProbesPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    // (activation, key) of every op static quantization would quantize.
    SmallVector<std::pair<Value, std::string>> probes;
    for (QuantizableMatMul &matmul : findQuantizableMatMuls(func, {}, 0))
      probes.push_back({matmul.op.getLhs(), matmul.key});
    for (QuantizableConv &conv : findQuantizableConvs(func, {}, 0))
      probes.push_back({conv.op.getInput(), conv.key});
    if (probes.empty())
      return;
    auto returnOp = cast<func::ReturnOp>(func.getBody().back().getTerminator());
    Builder b(&getContext());
    for (auto &[x, key] : probes) {
      unsigned index = func.getNumResults();
      func.insertResult(index, x.getType(),
                        b.getDictionaryAttr(b.getNamedAttr(
                            "ds.name", b.getStringAttr("ds.calibration:" + key))));
      returnOp->insertOperands(returnOp->getNumOperands(), x);
    }
  }
};

} // namespace
