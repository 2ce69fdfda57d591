//===- PrecisionPolicy.cpp - which ops mixed precision may lower ----------===//
#include "PrecisionPolicy.h"
#include "ds/Dialect/DS/IR/DSOps.h"

#include "llvm/ADT/StringMap.h"

using namespace mlir;
using namespace mlir::ds;

PrecisionDecision mlir::ds::defaultPrecisionRole(Operation *op) {
  using Role = PrecisionRole;
  if (auto unary = dyn_cast<UnaryOp>(op)) {
    switch (unary.getKind()) {
    case UnaryKind::exp: case UnaryKind::log: case UnaryKind::reciprocal:
    case UnaryKind::softplus: case UnaryKind::cosh: case UnaryKind::sinh:
    case UnaryKind::tan: case UnaryKind::acos: case UnaryKind::asin:
      return {Role::Fp32, "range or error of this function"};
    default:
      return {Role::Follow, "follows its inputs"};
    }
  }
  if (auto binary = dyn_cast<BinaryOp>(op); binary && binary.getKind() == BinaryKind::pow)
    return {Role::Fp32, "range of pow"};
  if (isa<CastOp>(op))
    return {Role::Fp32, "explicit cast"};
  if (isa<ResizeOp, RangeOp, FillOp>(op))
    return {Role::Fp32, "float operands are parameters"};
  if (isa<CumSumOp, TopKOp>(op))
    return {Role::Fp32, "accumulates or ranks"};
  if (isa<DynamicReduceOp>(op))
    return {Role::Fp32, "reduction"};
  switch (getOpClass(op)) {
  case DSX_OP_CONTRACTION: return {Role::Low, "contraction"};
  case DSX_OP_ATTENTION: return {Role::Low, "attention"};
  case DSX_OP_REDUCTION: return {Role::Fp32, "reduction"};
  case DSX_OP_PRECISION: return {Role::Fp32, "quantization op"};
  case DSX_OP_ELEMENTWISE: case DSX_OP_DATA_MOVEMENT: case DSX_OP_WINDOW: case DSX_OP_SHAPE:
    return {Role::Follow, "follows its inputs"};
  default:
    return {Role::Fp32, "not a ds compute op"};
  }
}

bool mlir::ds::isF32Tensor(Type t) {
  auto tensor = dyn_cast<RankedTensorType>(t);
  return tensor && tensor.getElementType().isF32();
}

bool mlir::ds::isPrecisionCalibrated(Operation *op) {
  if (defaultPrecisionRole(op).role == PrecisionRole::Fp32)
    return false;
  switch (getOpClass(op)) {
  case DSX_OP_CONTRACTION: case DSX_OP_ATTENTION: case DSX_OP_ELEMENTWISE: case DSX_OP_WINDOW:
    break;
  default:
    return false;
  }
  if (!llvm::any_of(op->getResultTypes(), isF32Tensor))
    return false;
  bool anyF32 = false;
  for (Type t : op->getOperandTypes()) {
    auto tensor = dyn_cast<RankedTensorType>(t);
    if (!tensor || !isa<FloatType>(tensor.getElementType()))
      continue;
    if (!tensor.getElementType().isF32())
      return false;
    anyF32 = true;
  }
  return anyF32;
}

llvm::DenseMap<Operation *, std::string> mlir::ds::precisionKeys(func::FuncOp func) {
  llvm::DenseMap<Operation *, std::string> keys;
  llvm::StringMap<unsigned> seen;
  func.walk([&](Operation *op) {
    if (!isPrecisionCalibrated(op))
      return;
    std::string name = getNodeName(op->getLoc()).value_or(op->getName().getStringRef()).str();
    unsigned n = ++seen[name];
    keys[op] = n == 1 ? name : name + "#" + std::to_string(n);
  });
  return keys;
}
