//===- InsertPrecisionProbes.cpp - ops run again in a low type ------------===//
//
// ds-insert-precision-probes runs every op that mixed precision may lower a
// second time in the low type, on its own f32 inputs rounded to that type,
// and returns both results, so that a calibration run measures each op's
// own error and overflow (PrecisionTable.h). PrecisionPasses.td has the details.
//
//===----------------------------------------------------------------------===//
#include "PrecisionPolicy.h"
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
    if (type != "fp16" && type != "bf16")
      return emitError(UnknownLoc::get(ctx))
             << "ds-insert-precision-probes: unknown type '" << type << "' (expected fp16 or bf16)";
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
    OpBuilder b(&getContext());
    FloatType low = type == "bf16" ? FloatType(b.getBF16Type()) : FloatType(b.getF16Type());
    Type f32 = b.getF32Type();
    llvm::DenseMap<Operation *, std::string> keys = precisionKeys(func);
    // (f32 result, the same computed in the low type and cast back, name).
    struct Probe {
      Value reference, low;
      std::string name;
    };
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
    if (probes.empty())
      return;
    auto returnOp = cast<func::ReturnOp>(entry.getTerminator());
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
