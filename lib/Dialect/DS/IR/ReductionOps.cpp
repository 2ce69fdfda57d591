//===- ReductionOps.cpp - inference and verifiers of reductions and norms --===//
#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Dialect/DS/IR/ShapeUtils.h"

#include "llvm/ADT/SmallBitVector.h"

using namespace mlir;
using namespace mlir::ds;

namespace {
RankedTensorType rankedOf(Value v) { return cast<RankedTensorType>(v.getType()); }

LogicalResult checkAxis(std::optional<Location> loc, int64_t axis, int64_t rank,
                        StringRef what) {
  if (!normalizeAxis(axis, rank) && !(rank == 0 && (axis == 0 || axis == -1)))
    return emitOptionalError(loc, what, " axis ", axis, " is out of range for rank ", rank);
  return success();
}
} // namespace

LogicalResult ReduceOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  auto input = rankedOf(adaptor.getInput());
  llvm::SmallBitVector reduced(input.getRank());
  for (int64_t axis : adaptor.getAxes()) {
    if (axis < 0 || axis >= input.getRank())
      return emitOptionalError(loc, "reduce axis ", axis, " is out of range for rank ",
                               input.getRank());
    reduced.set(axis);
  }
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < input.getRank(); ++i) {
    if (!reduced[i])
      shape.push_back(input.getDimSize(i));
    else if (adaptor.getKeepdims())
      shape.push_back(1);
  }
  inferred.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult ReduceOp::verify() {
  ArrayRef<int64_t> axes = getAxes();
  for (size_t i = 1; i < axes.size(); ++i)
    if (axes[i] <= axes[i - 1])
      return emitOpError("axes must be sorted and unique");
  if (getInput().getType().getElementType().isInteger(1))
    return emitOpError("cannot reduce i1 tensors");
  return success();
}

LogicalResult DynamicReduceOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                Adaptor adaptor,
                                                SmallVectorImpl<Type> &inferred) {
  auto input = rankedOf(adaptor.getInput());
  auto axes = rankedOf(adaptor.getAxes());
  if (axes.getRank() != 1 || axes.isDynamicDim(0) || axes.getDimSize(0) == 0)
    return emitOptionalError(loc, "dynamic_reduce axes must be a 1-D tensor of static, "
                                  "non-zero length, got shape ",
                             formatShape(axes.getShape()));
  int64_t rank = input.getRank(), count = axes.getDimSize(0);
  if (count > rank)
    return emitOptionalError(loc, "dynamic_reduce over ", count, " axes of a rank-", rank,
                             " tensor");
  // Which dims a run reduces is unknown: a result dim is static only when
  // every input dim that could land on it is 1.
  bool allOnes = llvm::all_of(input.getShape(), [](int64_t d) { return d == 1; });
  SmallVector<int64_t> shape;
  if (adaptor.getKeepdims()) {
    for (int64_t d : input.getShape())
      shape.push_back(d == 1 ? 1 : ShapedType::kDynamic);
  } else {
    shape.assign(rank - count, allOnes ? 1 : ShapedType::kDynamic);
  }
  inferred.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult DynamicReduceOp::verify() {
  if (getInput().getType().getElementType().isInteger(1))
    return emitOpError("cannot reduce i1 tensors");
  return success();
}

LogicalResult ArgReduceOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  auto input = rankedOf(adaptor.getInput());
  auto axis = normalizeAxis((int64_t)adaptor.getAxis(), input.getRank());
  if (!axis)
    return emitOptionalError(loc, "arg_reduce axis ", (int64_t)adaptor.getAxis(),
                             " is out of range for rank ", input.getRank());
  SmallVector<int64_t> shape(input.getShape());
  if (adaptor.getKeepdims())
    shape[*axis] = 1;
  else
    shape.erase(shape.begin() + *axis);
  inferred.push_back(RankedTensorType::get(shape, IntegerType::get(ctx, 64)));
  return success();
}

LogicalResult NormOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  auto input = rankedOf(adaptor.getInput());
  if (failed(checkAxis(loc, (int64_t)adaptor.getAxis(), input.getRank(), "norm")))
    return failure();
  for (Value operand : {adaptor.getScale(), adaptor.getBias()}) {
    if (!operand)
      continue;
    SmallVector<int64_t> merged;
    auto type = rankedOf(operand);
    if (!broadcastShapes(input.getShape(), type.getShape(), merged) ||
        merged.size() != (size_t)input.getRank())
      return emitOptionalError(loc, "norm scale/bias ", formatShape(type.getShape()),
                               " does not broadcast to input ",
                               formatShape(input.getShape()));
  }
  inferred.push_back(input);
  return success();
}

LogicalResult NormOp::verify() {
  if (!isa<FloatType>(getInput().getType().getElementType()))
    return emitOpError("needs a floating-point input");
  if (getEpsilon().isNegative())
    return emitOpError("epsilon must be non-negative");
  return success();
}

LogicalResult SoftmaxOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  auto input = rankedOf(adaptor.getInput());
  if (failed(checkAxis(loc, (int64_t)adaptor.getAxis(), input.getRank(), "softmax")))
    return failure();
  inferred.push_back(input);
  return success();
}

LogicalResult SoftmaxOp::verify() {
  if (!isa<FloatType>(getInput().getType().getElementType()))
    return emitOpError("needs a floating-point input");
  return success();
}

LogicalResult CumSumOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  auto input = rankedOf(adaptor.getInput());
  if (!adaptor.getAxisValue() &&
      failed(checkAxis(loc, (int64_t)adaptor.getAxis(), input.getRank(), "cumsum")))
    return failure();
  inferred.push_back(input);
  return success();
}

LogicalResult CumSumOp::verify() {
  if (getInput().getType().getElementType().isInteger(1))
    return emitOpError("cannot accumulate i1 tensors");
  if (getAxisValue() && !holdsOneElement(getAxisValue().getType()))
    return emitOpError("axis_value must hold one element");
  return success();
}

LogicalResult TopKOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  auto input = rankedOf(adaptor.getInput());
  auto axis = normalizeAxis((int64_t)adaptor.getAxis(), input.getRank());
  if (!axis)
    return emitOptionalError(loc, "topk axis ", (int64_t)adaptor.getAxis(), " is out of range for rank ",
                             input.getRank());
  if (!holdsOneElement(adaptor.getK().getType()))
    return emitOptionalError(loc, "topk k must hold one element");
  SmallVector<int64_t> shape(input.getShape());
  shape[*axis] = ShapedType::kDynamic;
  if (auto k = getConstantInts(adaptor.getK())) {
    int64_t dim = input.getDimSize(*axis);
    if ((*k)[0] < 0 || (!ShapedType::isDynamic(dim) && (*k)[0] > dim))
      return emitOptionalError(loc, "topk k = ", (*k)[0], " is outside [0, ", dim, "]");
    shape[*axis] = (*k)[0];
  }
  inferred.push_back(RankedTensorType::get(shape, input.getElementType()));
  inferred.push_back(RankedTensorType::get(shape, IntegerType::get(ctx, 64)));
  return success();
}

LogicalResult UniqueOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  auto input = rankedOf(adaptor.getInput());
  auto axis = normalizeAxis((int64_t)adaptor.getAxis(), input.getRank());
  if (!axis)
    return emitOptionalError(loc, "unique axis ", (int64_t)adaptor.getAxis(),
                             " is out of range for rank ", input.getRank());
  Type i64 = IntegerType::get(ctx, 64);
  SmallVector<int64_t> shape(input.getShape());
  int64_t slices = shape[*axis];
  shape[*axis] = ShapedType::kDynamic;
  inferred.push_back(RankedTensorType::get(shape, input.getElementType()));
  inferred.push_back(RankedTensorType::get({ShapedType::kDynamic}, i64));
  inferred.push_back(RankedTensorType::get({slices}, i64));
  inferred.push_back(RankedTensorType::get({ShapedType::kDynamic}, i64));
  return success();
}
