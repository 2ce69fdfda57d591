//===- FusionOps.cpp - ds.fusion_group and ds.yield -----------------------===//
#include "ds/Dialect/DS/IR/DSOps.h"

using namespace mlir;
using namespace mlir::ds;

void FusionGroupOp::build(OpBuilder &builder, OperationState &state, TypeRange resultTypes,
                          ValueRange inputs, FusionKind kind) {
  state.addOperands(inputs);
  state.addTypes(resultTypes);
  state.addAttribute(getKindAttrName(state.name), FusionKindAttr::get(builder.getContext(), kind));
  Region *body = state.addRegion();
  Block *block = new Block();
  body->push_back(block);
  for (Value input : inputs)
    block->addArgument(input.getType(), input.getLoc());
}

LogicalResult FusionGroupOp::verify() {
  Block &block = getBody().front();
  if (block.getNumArguments() != getInputs().size())
    return emitOpError("body has ") << block.getNumArguments() << " arguments for "
                                    << getInputs().size() << " inputs";
  for (auto [index, pair] : llvm::enumerate(llvm::zip(block.getArguments(), getInputs()))) {
    auto [argument, input] = pair;
    if (argument.getType() != input.getType())
      return emitOpError("body argument #") << index << " has type " << argument.getType()
                                            << " but input #" << index << " is "
                                            << input.getType();
  }
  auto yield = cast<YieldOp>(block.getTerminator());
  if (yield.getValues().getTypes() != getResultTypes())
    return emitOpError("yields ") << yield.getValues().size() << " value(s) of types "
                                  << yield.getValues().getTypes() << " but has result types "
                                  << getResultTypes();
  if (getResults().empty())
    return emitOpError("must produce at least one result");
  return success();
}
