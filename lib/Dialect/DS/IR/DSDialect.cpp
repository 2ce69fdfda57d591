//===- DSDialect.cpp - ds dialect registration ----------------------------===//
#include "ds/Dialect/DS/IR/DSDialect.h"
#include "ds/Dialect/DS/IR/DSOps.h"

using namespace mlir;
using namespace mlir::ds;

#include "ds/Dialect/DS/IR/DSDialect.cpp.inc"
#include "ds/Dialect/DS/IR/DSEnums.cpp.inc"

void DSDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "ds/Dialect/DS/IR/DSOps.cpp.inc"
      >();
}

Operation *DSDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                          Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return builder.create<ConstantOp>(loc, elements);
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

#define GET_OP_CLASSES
#include "ds/Dialect/DS/IR/DSOps.cpp.inc"
