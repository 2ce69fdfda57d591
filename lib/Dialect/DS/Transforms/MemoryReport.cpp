//===- MemoryReport.cpp - remark with the memory analysis of @main --------===//
#include "ds/Dialect/DS/Analysis/MemoryAnalysis.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "ds-memory-report"

namespace mlir::ds {
#define GEN_PASS_DEF_MEMORYREPORTPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {
/// `%3` as the printer names it, plus the ONNX node name the location keeps.
std::string describe(Value value, AsmState &state) {
  std::string text;
  llvm::raw_string_ostream os(text);
  value.printAsOperand(os, state);
  if (auto name = dyn_cast<NameLoc>(value.getLoc()))
    os << " ('" << name.getName().getValue() << "')";
  return text;
}

/// The op of a step: its name, and the ONNX node name if its location has one.
std::string describe(Operation *op) {
  std::string text = op->getName().getStringRef().str();
  if (auto name = dyn_cast<NameLoc>(op->getLoc()))
    text += " '" + name.getName().getValue().str() + "'";
  return text;
}

struct MemoryReportPass : ds::impl::MemoryReportPassBase<MemoryReportPass> {
  using MemoryReportPassBase::MemoryReportPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto main = module.lookupSymbol<func::FuncOp>("main");
    if (!main) {
      module.emitError("ds-memory-report: no func.func @main");
      return signalPassFailure();
    }
    const MemoryAnalysis &memory = getChildAnalysis<MemoryAnalysis>(main);
    if (!memory.isValid()) {
      main.emitError("ds-memory-report: ") << memory.error();
      return signalPassFailure();
    }
    report(memory);
    markAllAnalysesPreserved();
  }

  void report(const MemoryAnalysis &memory) {
    func::FuncOp main = memory.getFunction();
    size_t values = memory.getBuffers().size();
    std::vector<const MemoryAnalysis::Buffer *> alive = memory.getBuffersAtPeak();
    InFlightDiagnostic remark = main.emitRemark("memory of @") << main.getSymName() << ": ";
    if (memory.isPlanned()) {
      remark << "peak " << memory.getPeakBytes() << " bytes at step " << memory.getPeakStep()
             << " (" << describe(memory.getStep(memory.getPeakStep())) << "), arena "
             << memory.getArenaBytes() << " bytes, intermediates " << memory.getIntermediateBytes()
             << " bytes in " << values << " values";
    } else {
      remark << "planned per input shape at run time (";
      if (memory.numDynamicBuffers())
        remark << memory.numDynamicBuffers() << " of " << values
               << " intermediates have dynamic dims";
      else
        remark << "an input has dynamic dims";
      remark << "); values of static size: intermediates " << memory.getIntermediateBytes()
             << " bytes, peak " << memory.getPeakBytes() << " bytes at step "
             << memory.getPeakStep();
    }
    if (alive.empty())
      return;
    remark << "; " << alive.size() << " alive at the peak";
    AsmState state(main);
    for (const MemoryAnalysis::Buffer *buffer : llvm::ArrayRef(alive).take_front(maxValues))
      remark.attachNote(buffer->value.getLoc())
          << "alive at the peak: " << describe(buffer->value, state) << ", " << *buffer->bytes
          << " bytes, steps " << buffer->begin << ".." << buffer->end;
    if (alive.size() > maxValues)
      remark.attachNote(main.getLoc())
          << "and " << alive.size() - maxValues << " smaller values alive at the peak";
    LLVM_DEBUG(llvm::dbgs() << "reported " << values << " intermediates of @main\n");
  }
};
} // namespace
