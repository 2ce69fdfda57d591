//===- Parameters.cpp - which constants train, as arguments ---------------===//
#include "Parameters.h"
#include "GradientRules.h"

#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringSet.h"

#include <cstring>

namespace mlir::ds {
#define GEN_PASS_DEF_PROMOTEPARAMETERSPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::autodiff;

namespace {
/// The initializer name of a constant: its resource key, or the name its
/// location carries.
std::string constantName(ConstantOp constant) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue()))
    return resource.getRawHandle().getKey().str();
  if (auto name = dyn_cast<NameLoc>(constant.getLoc()))
    return name.getName().str();
  return "";
}
/// A constant holding inf or NaN: an attention mask or another buffer, never
/// a weight anyone trains (exporters write buffers as initializers too).
bool holdsNonFinite(ConstantOp constant) {
  if (auto dense = dyn_cast<DenseElementsAttr>(constant.getValue())) {
    if (dense.isSplat())
      return !dense.getSplatValue<APFloat>().isFinite();
    return llvm::any_of(dense.getValues<APFloat>(),
                        [](const APFloat &v) { return !v.isFinite(); });
  }
  // Large initializers are resource blobs (an exported [S, S] causal mask
  // past a few thousand elements): scan their bytes for an all-ones exponent.
  auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue());
  AsmResourceBlob *blob = resource ? resource.getRawHandle().getBlob() : nullptr;
  if (!blob)
    return false;
  ArrayRef<char> bytes = blob->getData();
  auto scan = [&](auto bits, auto exponent) {
    using Bits = decltype(bits);
    for (size_t at = 0; at + sizeof(Bits) <= bytes.size(); at += sizeof(Bits)) {
      std::memcpy(&bits, bytes.data() + at, sizeof(Bits));
      if ((bits & exponent) == exponent)
        return true;
    }
    return false;
  };
  Type element = resource.getElementType();
  if (element.isF32())
    return scan(uint32_t(), uint32_t(0x7f800000u));
  if (element.isF64())
    return scan(uint64_t(), uint64_t(0x7ff0000000000000ull));
  if (element.isF16())
    return scan(uint16_t(), uint16_t(0x7c00u));
  if (element.isBF16())
    return scan(uint16_t(), uint16_t(0x7f80u));
  return false;
}
} // namespace

LogicalResult autodiff::promoteParameters(func::FuncOp main, ArrayRef<std::string> wanted,
                                          SmallVectorImpl<Value> &args,
                                          SmallVectorImpl<std::string> &names, StringRef pass) {
  llvm::StringSet<> named;
  for (const std::string &name : wanted)
    named.insert(name);
  llvm::StringSet<> seen;
  unsigned unnamed = 0;
  Block &body = main.getBody().front();
  llvm::SmallVector<std::pair<ConstantOp, std::string>> chosen;
  for (auto constant : body.getOps<ConstantOp>()) {
    auto type = cast<RankedTensorType>(constant.getType());
    if (!isa<FloatType>(type.getElementType()) || !type.hasStaticShape())
      continue;
    std::string name = constantName(constant);
    bool trains = named.empty() ? type.getNumElements() >= 2 &&
                                      !constant->hasAttr(kStatisticAttrName) &&
                                      llvm::any_of(constant->getUses(),
                                                   [](OpOperand &use) {
                                                     return isDifferentiableUse(use);
                                                   }) &&
                                      !holdsNonFinite(constant)
                                : named.contains(name);
    if (!trains)
      continue;
    if (name.empty() || seen.contains(name))
      name = "param" + std::to_string(unnamed++);
    seen.insert(name);
    chosen.push_back({constant, name});
  }
  for (const std::string &name : wanted)
    if (!seen.contains(name)) {
      InFlightDiagnostic diag = main.emitError()
                                << pass << ": no float constant named '" << name << "'";
      std::string known;
      for (auto constant : body.getOps<ConstantOp>())
        if (std::string n = constantName(constant); !n.empty() && known.size() < 400)
          known += (known.empty() ? "" : ", ") + n;
      diag.attachNote() << "named constants: " << (known.empty() ? "none" : known);
      return failure();
    }
  if (chosen.empty())
    return main.emitError() << pass << ": the model has no float constants to differentiate";
  MLIRContext *ctx = main.getContext();
  for (auto &[constant, name] : chosen) {
    unsigned index = main.getNumArguments();
    NamedAttrList attrs;
    attrs.set("ds.name", StringAttr::get(ctx, name));
    attrs.set("ds.default", constant.getValue());
    attrs.set("ds.parameter", UnitAttr::get(ctx));
    main.insertArgument(index, constant.getType(), attrs.getDictionary(ctx), constant.getLoc());
    constant.getResult().replaceAllUsesWith(body.getArgument(index));
    constant.erase();
    args.push_back(body.getArgument(index));
    names.push_back(name);
  }
  return success();
}

void autodiff::markedParameters(func::FuncOp main, SmallVectorImpl<Value> &args,
                                SmallVectorImpl<std::string> &names) {
  for (unsigned i = 0; i < main.getNumArguments(); ++i)
    if (main.getArgAttr(i, "ds.parameter")) {
      args.push_back(main.getBody().front().getArgument(i));
      auto name = main.getArgAttrOfType<StringAttr>(i, "ds.name");
      names.push_back(name ? name.str() : "param" + std::to_string(i));
    }
}

namespace {
struct PromoteParametersPass : ds::impl::PromoteParametersPassBase<PromoteParametersPass> {
  using PromoteParametersPassBase::PromoteParametersPassBase;

  void runOnOperation() override {
    auto main = getOperation().lookupSymbol<func::FuncOp>("main");
    if (!main || main.isExternal()) {
      getOperation().emitError("ds-promote-parameters: no func.func @main");
      return signalPassFailure();
    }
    llvm::SmallVector<Value> args;
    llvm::SmallVector<std::string> names;
    if (failed(promoteParameters(main, parameters, args, names, "ds-promote-parameters")))
      signalPassFailure();
  }
};
} // namespace
