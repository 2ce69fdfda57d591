//===- PrintSymbolicDims.cpp - SymbolicDims as remarks --------------------===//
#include "ds/Dialect/DS/Analysis/SymbolicDims.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"

namespace mlir::ds {
#define GEN_PASS_DEF_PRINTSYMBOLICDIMSPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {

void print(llvm::raw_ostream &os, const OptDim &d) {
  if (!d) {
    os << "?";
    return;
  }
  bool first = true;
  for (auto [unknown, coeff] : d->terms) {
    if (!first)
      os << " + ";
    if (coeff != 1)
      os << coeff << "*";
    os << "s" << unknown;
    first = false;
  }
  if (first || d->constant != 0)
    os << (first ? "" : " + ") << d->constant;
}

struct PrintSymbolicDimsPass
    : mlir::ds::impl::PrintSymbolicDimsPassBase<PrintSymbolicDimsPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.getBody().empty())
      return;
    SymbolicDims dims(func);
    for (Operation &op : func.getBody().front()) {
      if (op.getNumResults() == 0)
        continue;
      std::string text;
      llvm::raw_string_ostream os(text);
      for (Value result : op.getResults()) {
        auto type = dyn_cast<RankedTensorType>(result.getType());
        if (!type)
          continue;
        if (!text.empty())
          os << "; ";
        os << "[";
        for (int64_t a = 0; a < type.getRank(); ++a) {
          if (a)
            os << ", ";
          print(os, dims.dim(result, a));
        }
        os << "]";
        if (type.hasStaticShape() && type.getNumElements() <= 16 && dims.element(result, 0)) {
          os << " = (";
          for (int64_t i = 0; i < type.getNumElements(); ++i) {
            if (i)
              os << ", ";
            print(os, dims.element(result, i));
          }
          os << ")";
        }
      }
      op.emitRemark() << text;
    }
  }
};

} // namespace
