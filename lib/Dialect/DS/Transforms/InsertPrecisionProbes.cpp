//===- InsertPrecisionProbes.cpp - ops run again in a low type ------------===//
//
// ds-insert-precision-probes runs every op that mixed precision may lower a
// second time in the low type, on its own f32 inputs rounded to that type,
// and returns both results, so that a calibration run measures each op's
// own error and overflow (PrecisionTable.h). PrecisionPasses.td has the details.
//
//===----------------------------------------------------------------------===//
#include "EmulateFp8.h"
#include "PrecisionPolicy.h"
#include "ds/Calibration/PrecisionTable.h"
#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::ds {
#define GEN_PASS_DEF_INSERTPRECISIONPROBESPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {

struct InsertPrecisionProbesPass
    : ds::impl::InsertPrecisionProbesPassBase<InsertPrecisionProbesPass> {
  using InsertPrecisionProbesPassBase::InsertPrecisionProbesPassBase;

  LogicalResult initialize(MLIRContext *ctx) override {
    if (!ds_calibration::isPrecisionTableType(type))
      return emitError(UnknownLoc::get(ctx)) << "ds-insert-precision-probes: unknown type '" << type
                                             << "' (expected fp16, bf16 or fp8)";
    return success();
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    if (!func.getBody().hasOneBlock()) {
      func.emitError("ds-insert-precision-probes: expected a function with one block");
      return signalPassFailure();
    }
    llvm::DenseMap<Operation *, std::string> keys = precisionKeys(func);
    if (type == "fp8")
      return addProbeResults(func, fp8Probes(func, keys));
    OpBuilder b(&getContext());
    FloatType low = type == "bf16" ? FloatType(b.getBF16Type()) : FloatType(b.getF16Type());
    Type f32 = b.getF32Type();
    std::vector<Probe> probes;
    // Constants in the low type, converted as the compile converts them
    // (clamped to the largest finite value, not infinite), once each.
    llvm::DenseMap<Value, Value> lowConstants;
    uint64_t clamped = 0;
    Block &entry = func.getBody().front();
    for (Operation &opRef : llvm::make_early_inc_range(entry)) {
      Operation *op = &opRef;
      auto key = keys.find(op);
      if (key == keys.end())
        continue;
      b.setInsertionPointAfter(op);
      IRMapping rounded;
      for (Value v : op->getOperands()) {
        if (!isF32Tensor(v.getType()) || rounded.contains(v))
          continue;
        auto constant = v.getDefiningOp<ConstantOp>();
        if (!constant) {
          rounded.map(v, b.create<CastOp>(op->getLoc(),
                                          cast<RankedTensorType>(v.getType()).clone(low), v,
                                          UnitAttr()));
          continue;
        }
        Value &converted = lowConstants[v];
        if (!converted) {
          FailureOr<ElementsAttr> attr = convertF32Constant(constant, low, clamped);
          if (failed(attr)) {
            constant.emitError(
                "ds-insert-precision-probes: cannot read the f32 values of this constant");
            return signalPassFailure();
          }
          OpBuilder atConstant(constant);
          atConstant.setInsertionPointAfter(constant);
          converted = atConstant.create<ConstantOp>(constant.getLoc(), *attr);
        }
        rounded.map(v, converted);
      }
      Operation *shadow = b.clone(*op, rounded);
      for (OpResult r : shadow->getResults()) {
        if (!isF32Tensor(r.getType()))
          continue;
        r.setType(cast<RankedTensorType>(r.getType()).clone(low));
        Value back = b.create<CastOp>(op->getLoc(), cast<RankedTensorType>(r.getType()).clone(f32),
                                      r, UnitAttr());
        std::string suffix = std::to_string(r.getResultNumber()) + ":" + key->second;
        probes.push_back({op->getResult(r.getResultNumber()), back, suffix});
      }
    }
    addProbeResults(func, probes);
  }

private:
  /// (f32 result, the same computed in the low type and cast back, name).
  struct Probe {
    Value reference, low;
    std::string name;
  };

  /// type=fp8: each op the fp8 policy rounds, again on its data operands
  /// rounded to e4m3 as that policy rounds them (one rounding per value).
  std::vector<Probe> fp8Probes(func::FuncOp func,
                               const llvm::DenseMap<Operation *, std::string> &keys) {
    std::vector<Probe> probes;
    llvm::DenseMap<Value, Value> rounded;
    Block &entry = func.getBody().front();
    for (Operation &opRef : llvm::make_early_inc_range(entry)) {
      Operation *op = &opRef;
      auto key = keys.find(op);
      if (key == keys.end() || !isFp8Candidate(op))
        continue;
      OpBuilder b(op->getContext());
      b.setInsertionPointAfter(op);
      IRMapping mapping;
      for (unsigned i : fp8DataOperands(op)) {
        Value x = op->getOperand(i);
        Value &r = rounded[x];
        if (!r)
          r = roundToFp8(b, op->getLoc(), x);
        mapping.map(x, r);
      }
      Operation *shadow = b.clone(*op, mapping);
      for (OpResult r : op->getResults())
        if (isF32Tensor(r.getType()))
          probes.push_back({r, shadow->getResult(r.getResultNumber()),
                            std::to_string(r.getResultNumber()) + ":" + key->second});
    }
    return probes;
  }

  void addProbeResults(func::FuncOp func, const std::vector<Probe> &probes) {
    if (probes.empty())
      return;
    Builder b(func.getContext());
    auto returnOp = cast<func::ReturnOp>(func.getBody().front().getTerminator());
    auto addResult = [&](Value v, const std::string &name) {
      unsigned index = func.getNumResults();
      func.insertResult(index, v.getType(),
                        b.getDictionaryAttr(b.getNamedAttr("ds.name", b.getStringAttr(name))));
      returnOp->insertOperands(returnOp->getNumOperands(), v);
    };
    for (const Probe &probe : probes) {
      addResult(probe.reference, "ds.precision:" + probe.name);
      addResult(probe.low, "ds.precision-" + type + ":" + probe.name);
    }
  }
};

} // namespace
