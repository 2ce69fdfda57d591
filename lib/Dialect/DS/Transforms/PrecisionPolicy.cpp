//===- PrecisionPolicy.cpp - which ops mixed precision may lower ----------===//
#include "PrecisionPolicy.h"
#include "ds/Dialect/DS/IR/DSOps.h"

#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <cmath>

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
  if (isa<UniqueOp>(op))
    return {Role::Fp32, "its result's size depends on the values"};
  // Weight-only quantized matmuls take f32 activations.
  if (isa<MatMulQuantizedWeightOp>(op))
    return {Role::Fp32, "weight-only quantized, f32 activations"};
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

/// Data movement that computes: rotary embeddings, and scatters whose
/// updates add to or multiply what is there.
static bool computesWhileMoving(Operation *op) {
  if (isa<RotaryEmbeddingOp>(op))
    return true;
  if (auto scatter = dyn_cast<ScatterElementsOp>(op))
    return scatter.getReduction() == ScatterReduction::add ||
           scatter.getReduction() == ScatterReduction::mul;
  if (auto scatter = dyn_cast<ScatterNDOp>(op))
    return scatter.getReduction() == ScatterReduction::add ||
           scatter.getReduction() == ScatterReduction::mul;
  return false;
}

bool mlir::ds::isPrecisionCalibrated(Operation *op) {
  if (defaultPrecisionRole(op).role == PrecisionRole::Fp32)
    return false;
  switch (getOpClass(op)) {
  case DSX_OP_CONTRACTION: case DSX_OP_ATTENTION: case DSX_OP_ELEMENTWISE: case DSX_OP_WINDOW:
    break;
  case DSX_OP_DATA_MOVEMENT:
    if (computesWhileMoving(op))
      break;
    return false;
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
  if (func.isExternal())
    return keys;
  // The ops of the entry block only: the passes decide those (fused groups'
  // bodies come later in the pipeline).
  auto nameOf = [](Operation *op) {
    return getNodeName(op->getLoc()).value_or(op->getName().getStringRef()).str();
  };
  llvm::StringSet<> taken; // every first name, so that no "#n" key repeats one
  for (Operation &op : func.getBody().front())
    if (isPrecisionCalibrated(&op))
      taken.insert(nameOf(&op));
  llvm::StringMap<unsigned> seen;
  for (Operation &op : func.getBody().front()) {
    if (!isPrecisionCalibrated(&op))
      continue;
    std::string name = nameOf(&op);
    if (++seen[name] == 1) {
      keys[&op] = name;
      continue;
    }
    std::string key;
    do
      key = name + "#" + std::to_string(seen[name]++);
    while (taken.contains(key));
    --seen[name];
    taken.insert(key);
    keys[&op] = key;
  }
  return keys;
}

FailureOr<ElementsAttr> mlir::ds::convertF32Constant(ConstantOp constant, FloatType low,
                                                    uint64_t &clamped) {
  // A splat converts one value, however many elements it stands for.
  auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
  bool splat = dense && dense.isSplat();
  auto values = splat ? std::optional(std::vector<float>{dense.getSplatValue<float>()})
                      : readF32Constant(constant.getValue());
  if (!values)
    return failure();
  const llvm::fltSemantics &sem = low.getFloatSemantics();
  std::vector<uint16_t> bits(values->size());
  for (size_t i = 0; i < values->size(); ++i) {
    llvm::APFloat f((*values)[i]);
    bool lost;
    llvm::APFloat::opStatus status = f.convert(sem, llvm::APFloat::rmNearestTiesToEven, &lost);
    // A finite value past the largest finite number of the low type is
    // clamped to it (an infinity of the f32 input stays one).
    if ((status & llvm::APFloat::opOverflow) && std::isfinite((*values)[i])) {
      f = llvm::APFloat::getLargest(sem, /*Negative=*/(*values)[i] < 0);
      ++clamped;
    }
    bits[i] = (uint16_t)f.bitcastToAPInt().getZExtValue();
  }
  auto type = cast<RankedTensorType>(constant.getType()).clone(low);
  ArrayRef<char> raw(reinterpret_cast<const char *>(bits.data()), bits.size() * sizeof(uint16_t));
  if (raw.size() >= 4096)
    return ElementsAttr(DenseResourceElementsAttr::get(
        type, low.isBF16() ? "precision_bf16" : "precision_f16",
        HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<uint16_t>(bits))));
  if (splat)
    return ElementsAttr(DenseElementsAttr::get(type, llvm::APFloat(sem, llvm::APInt(16, bits[0]))));
  return ElementsAttr(DenseElementsAttr::getFromRawBuffer(type, raw));
}
