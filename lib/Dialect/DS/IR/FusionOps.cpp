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

FusionKind mlir::ds::singleOpFusionKind(Operation *op) {
  switch (getOpClass(op)) {
  case DSX_OP_ELEMENTWISE:
    return FusionKind::elementwise;
  case DSX_OP_PRECISION:
    // dynamic_quantize reduces the whole tensor to its scale first.
    return isa<DynamicQuantizeOp>(op) ? FusionKind::data_movement : FusionKind::elementwise;
  case DSX_OP_REDUCTION:
  case DSX_OP_WINDOW:
    return FusionKind::reduction;
  case DSX_OP_CONTRACTION:
    return FusionKind::contraction;
  case DSX_OP_ATTENTION:
    return FusionKind::attention;
  case DSX_OP_DATA_MOVEMENT:
  case DSX_OP_SHAPE:
  case DSX_OP_GENERATOR:
  case DSX_OP_OTHER:
    return FusionKind::data_movement;
  }
  return FusionKind::data_movement;
}
