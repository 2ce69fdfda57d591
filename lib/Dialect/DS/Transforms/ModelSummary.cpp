//===- ModelSummary.cpp - one-screen summary of a ds model ----------------===//
#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Dialect/DS/Transforms/Passes.h"
#include "ds/Support/OutputFile.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/Debug.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"

#include <map>

#define DEBUG_TYPE "ds-model-summary"

namespace mlir::ds {
#define GEN_PASS_DEF_MODELSUMMARYPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {
/// Bytes of a statically shaped tensor (sub-byte types round up).
std::optional<int64_t> tensorBytes(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return std::nullopt;
  int64_t bits = tensor.getElementType().getIntOrFloatBitWidth();
  return tensor.getNumElements() * ((bits + 7) / 8);
}

std::string humanBytes(int64_t bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB"};
  double value = (double)bytes;
  int unit = 0;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::format(unit ? "%.2f %s" : "%.0f %s", value, units[unit]);
  return text;
}

struct ModelSummaryPass : ds::impl::ModelSummaryPassBase<ModelSummaryPass> {
  using ModelSummaryPassBase::ModelSummaryPassBase;

  void runOnOperation() override {
    if (llvm::Error e = writeFileAtomically(outputFile, [&](llvm::raw_fd_ostream &os) {
          getOperation().walk([&](func::FuncOp func) { summarize(func, os); });
          return llvm::Error::success();
        })) {
      getOperation().emitError("cannot write summary output: ") << llvm::toString(std::move(e));
      return signalPassFailure();
    }
  }

  void summarize(func::FuncOp func, raw_ostream &os) {
    std::map<std::string, int64_t> opsByKind;
    int64_t ops = 0, params = 0, paramBytes = 0, activationBytes = 0, dynamicValues = 0;
    func.walk([&](Operation *op) {
      if (op == func.getOperation() || isa<func::ReturnOp>(op))
        return;
      ++ops;
      ++opsByKind[opNameWithKind(op)];
      if (auto constant = dyn_cast<ConstantOp>(op)) {
        auto type = cast<RankedTensorType>(constant.getType());
        // Scalars and 1-D integer vectors are shape arithmetic, not weights.
        bool isShapeData = type.getRank() <= 1 && !isa<FloatType>(type.getElementType());
        if (type.getNumElements() > 1 && !isShapeData) {
          params += type.getNumElements();
          paramBytes += tensorBytes(type).value_or(0);
        }
        return;
      }
      for (Value result : op->getResults()) {
        if (auto bytes = tensorBytes(result.getType()))
          activationBytes += *bytes;
        else
          ++dynamicValues;
      }
    });
    os << "=== ds model summary: @" << func.getSymName() << " ===\n";
    os << "inputs:  ";
    llvm::interleaveComma(func.getArgumentTypes(), os);
    os << "\noutputs: ";
    llvm::interleaveComma(func.getResultTypes(), os);
    os << "\nops: " << ops << "\n";
    for (auto &[name, count] : opsByKind)
      os << llvm::format("  %-28s %6lld\n", name.c_str(), (long long)count);
    os << "parameters: " << params << " (" << humanBytes(paramBytes) << ")\n";
    os << "intermediate tensors: " << humanBytes(activationBytes);
    if (dynamicValues)
      os << " + " << dynamicValues << " with dynamic dims";
    os << "\n";
    LLVM_DEBUG(llvm::dbgs() << "summarized " << ops << " ops\n");
  }
};
} // namespace
