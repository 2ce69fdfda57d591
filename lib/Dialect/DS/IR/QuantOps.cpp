//===- QuantOps.cpp - verifiers and inference of quantization ops ---------===//
#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Dialect/DS/IR/ShapeUtils.h"

using namespace mlir;
using namespace mlir::ds;

namespace {
bool isQuantizedType(Type t) {
  return (t.isIntOrIndex() && !t.isInteger(1) && t.getIntOrFloatBitWidth() <= 32) ||
         (isa<FloatType>(t) && t.getIntOrFloatBitWidth() == 8);
}

/// Shared rules of scale / zero point against the data tensor.
LogicalResult verifyAffineParams(Operation *op, RankedTensorType data, Value scale,
                                 Value zeroPoint, Type quantized, int64_t axis,
                                 int64_t blockSize) {
  auto scaleType = cast<RankedTensorType>(scale.getType());
  if (!isa<FloatType>(scaleType.getElementType()))
    return op->emitOpError("scale must be floating-point, got ")
           << scaleType.getElementType();
  if (zeroPoint) {
    auto zpType = cast<RankedTensorType>(zeroPoint.getType());
    if (zpType.getElementType() != quantized)
      return op->emitOpError("zero point type ")
             << zpType.getElementType() << " differs from the quantized type " << quantized;
    if (zpType.getShape() != scaleType.getShape() &&
        !(holdsOneElement(zpType) && holdsOneElement(scaleType)))
      return op->emitOpError("zero point and scale differ in shape");
  }
  bool perTensor = holdsOneElement(scaleType) && blockSize == 0;
  if (perTensor)
    return success();
  auto normalized = normalizeAxis(axis, data.getRank());
  if (!normalized)
    return op->emitOpError("axis ") << axis << " is out of range for rank " << data.getRank();
  if (blockSize == 0) {
    int64_t dim = data.getDimSize(*normalized);
    if (scaleType.getRank() != 1 ||
        (!ShapedType::isDynamic(dim) && !ShapedType::isDynamic(scaleType.getDimSize(0)) &&
         scaleType.getDimSize(0) != dim))
      return op->emitOpError("per-axis scale must be 1-D with ")
             << dim << " elements (dim " << *normalized << ")";
    return success();
  }
  if (blockSize < 0 || scaleType.getRank() != data.getRank())
    return op->emitOpError("blocked scale must have the data's rank and block_size > 0");
  return success();
}
} // namespace

LogicalResult QuantizeOp::verify() {
  Type quantized = getResult().getType().getElementType();
  if (!isQuantizedType(quantized))
    return emitOpError("result must be an integer or 8-bit float type, got ") << quantized;
  if (getResult().getType().getShape() != getInput().getType().getShape())
    return emitOpError("result shape differs from the input");
  return verifyAffineParams(*this, getInput().getType(), getScale(), getZeroPoint(),
                            quantized, (int64_t)getAxis(), (int64_t)getBlockSize());
}

LogicalResult DequantizeOp::verify() {
  Type quantized = getInput().getType().getElementType();
  if (!isQuantizedType(quantized))
    return emitOpError("input must be an integer or 8-bit float type, got ") << quantized;
  if (getResult().getType().getShape() != getInput().getType().getShape())
    return emitOpError("result shape differs from the input");
  if (getResult().getType().getElementType() != getScale().getType().getElementType())
    return emitOpError("result element type must be the scale's");
  return verifyAffineParams(*this, getInput().getType(), getScale(), getZeroPoint(),
                            quantized, (int64_t)getAxis(), (int64_t)getBlockSize());
}

LogicalResult DynamicQuantizeOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location>,
                                                  Adaptor adaptor,
                                                  SmallVectorImpl<Type> &inferred) {
  auto input = cast<RankedTensorType>(adaptor.getInput().getType());
  auto u8 = IntegerType::get(ctx, 8, IntegerType::Unsigned);
  inferred.push_back(RankedTensorType::get(input.getShape(), u8));
  inferred.push_back(RankedTensorType::get({}, Float32Type::get(ctx)));
  inferred.push_back(RankedTensorType::get({}, u8));
  return success();
}

bool mlir::ds::isPerTensorQuantization(Operation *op) {
  auto perTensor = [](Value scale, uint64_t blockSize) {
    return blockSize == 0 && holdsOneElement(cast<RankedTensorType>(scale.getType()));
  };
  if (auto quantize = dyn_cast<QuantizeOp>(op))
    return perTensor(quantize.getScale(), quantize.getBlockSize());
  if (auto dequantize = dyn_cast<DequantizeOp>(op))
    return perTensor(dequantize.getScale(), dequantize.getBlockSize());
  return false;
}
