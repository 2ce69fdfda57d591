//===- ElementwiseOps.cpp - type inference and verifiers of elementwise ops ===//
#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Dialect/DS/IR/ShapeUtils.h"

#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::ds;

namespace {
RankedTensorType rankedOf(Value v) { return cast<RankedTensorType>(v.getType()); }

LogicalResult inferBroadcast(std::optional<Location> loc, ArrayRef<Value> operands,
                             Type elementType, SmallVectorImpl<Type> &inferred) {
  SmallVector<int64_t> shape(rankedOf(operands.front()).getShape());
  for (Value operand : operands.drop_front()) {
    SmallVector<int64_t> next;
    if (!broadcastShapes(shape, rankedOf(operand).getShape(), next))
      return emitOptionalError(loc, "operands are not broadcast-compatible: ",
                               formatShape(shape), " vs ",
                               formatShape(rankedOf(operand).getShape()));
    shape = std::move(next);
  }
  inferred.push_back(RankedTensorType::get(shape, elementType));
  return success();
}

bool producesBool(UnaryKind kind) {
  return kind == UnaryKind::is_nan || kind == UnaryKind::is_inf ||
         kind == UnaryKind::is_pos_inf || kind == UnaryKind::is_neg_inf;
}

/// Kinds defined only on floating-point inputs.
bool needsFloat(UnaryKind kind) {
  switch (kind) {
  case UnaryKind::abs:
  case UnaryKind::neg:
  case UnaryKind::sign:
  case UnaryKind::logical_not:
  case UnaryKind::bitwise_not:
  case UnaryKind::relu:
    return false;
  default:
    return true;
  }
}
} // namespace

LogicalResult UnaryOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location>,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  auto type = rankedOf(adaptor.getInput());
  Type element = producesBool(adaptor.getKind()) ? IntegerType::get(ctx, 1)
                                                 : type.getElementType();
  inferred.push_back(RankedTensorType::get(type.getShape(), element));
  return success();
}

LogicalResult UnaryOp::verify() {
  Type element = getInput().getType().getElementType();
  UnaryKind kind = getKind();
  if (kind == UnaryKind::logical_not && !element.isInteger(1))
    return emitOpError("'not' needs an i1 input, got ") << element;
  if (kind == UnaryKind::bitwise_not && !element.isIntOrIndex())
    return emitOpError("'bitwise_not' needs an integer input, got ") << element;
  if (needsFloat(kind) && !isa<FloatType>(element))
    return emitOpError("'") << stringifyUnaryKind(kind)
                            << "' needs a floating-point input, got " << element;
  if (!needsFloat(kind) && kind != UnaryKind::logical_not && element.isInteger(1))
    return emitOpError("'") << stringifyUnaryKind(kind) << "' is not defined on i1";
  return success();
}

LogicalResult BinaryOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  return inferBroadcast(loc, {adaptor.getLhs(), adaptor.getRhs()},
                        rankedOf(adaptor.getLhs()).getElementType(), inferred);
}

LogicalResult BinaryOp::verify() {
  Type lhs = getLhs().getType().getElementType();
  Type rhs = getRhs().getType().getElementType();
  BinaryKind kind = getKind();
  if (kind != BinaryKind::pow && lhs != rhs)
    return emitOpError("operand element types differ: ") << lhs << " vs " << rhs;
  bool isBool = lhs.isInteger(1);
  bool logical = kind == BinaryKind::logical_and || kind == BinaryKind::logical_or ||
                 kind == BinaryKind::logical_xor;
  if (logical != isBool)
    return emitOpError("'") << stringifyBinaryKind(kind)
                            << (logical ? "' needs i1 operands" : "' is not defined on i1");
  bool bitwise = kind >= BinaryKind::bitwise_and;
  if (bitwise && !lhs.isIntOrIndex())
    return emitOpError("'") << stringifyBinaryKind(kind) << "' needs integer operands";
  return success();
}

LogicalResult CompareOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  return inferBroadcast(loc, {adaptor.getLhs(), adaptor.getRhs()},
                        IntegerType::get(ctx, 1), inferred);
}

LogicalResult CompareOp::verify() {
  Type lhs = getLhs().getType().getElementType();
  Type rhs = getRhs().getType().getElementType();
  if (lhs != rhs)
    return emitOpError("operand element types differ: ") << lhs << " vs " << rhs;
  return success();
}

LogicalResult SelectOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  Type a = rankedOf(adaptor.getTrueValue()).getElementType();
  Type b = rankedOf(adaptor.getFalseValue()).getElementType();
  if (a != b)
    return emitOptionalError(loc, "select branches differ in element type: ", a,
                             " vs ", b);
  return inferBroadcast(
      loc, {adaptor.getCondition(), adaptor.getTrueValue(), adaptor.getFalseValue()},
      a, inferred);
}

LogicalResult CastOp::verify() {
  if (failed(verifyCompatibleShape(getInput().getType(), getResult().getType())))
    return emitOpError("cast changes the shape: ")
           << getInput().getType() << " to " << getResult().getType();
  return success();
}
