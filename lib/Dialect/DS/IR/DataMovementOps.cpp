//===- DataMovementOps.cpp - inference for shape and data-movement ops ----===//
#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Dialect/DS/IR/ShapeUtils.h"

#include "llvm/ADT/SmallBitVector.h"

using namespace mlir;
using namespace mlir::ds;

namespace {
RankedTensorType rankedOf(Value v) { return cast<RankedTensorType>(v.getType()); }
constexpr int64_t kDyn = ShapedType::kDynamic;

/// Length of a 1-D index tensor operand, or an error.
FailureOr<int64_t> vectorLength(std::optional<Location> loc, Value v, StringRef what) {
  auto type = rankedOf(v);
  if (type.getRank() != 1)
    return emitOptionalError(loc, what, " must be a 1-D tensor, got ",
                             formatShape(type.getShape()));
  return type.getDimSize(0);
}

/// Start / end of an ONNX Slice along one dim of size `dim` (static).
int64_t sliceLength(int64_t dim, int64_t start, int64_t end, int64_t step) {
  // ONNX: with a positive step both clamp to [0, dim]; with a negative step
  // the start clamps to [0, dim - 1] and the end to [-1, dim - 1].
  auto clampIndex = [&](int64_t v, bool isEnd) {
    if (v < 0)
      v += dim;
    if (step > 0)
      return std::clamp<int64_t>(v, 0, dim);
    return std::clamp<int64_t>(v, isEnd ? -1 : 0, dim - 1);
  };
  int64_t s = clampIndex(start, false), e = clampIndex(end, true);
  if (step > 0)
    return e > s ? (e - s + step - 1) / step : 0;
  return s > e ? (s - e + (-step) - 1) / (-step) : 0;
}
} // namespace

LogicalResult AssertOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                         Adaptor adaptor, SmallVectorImpl<Type> &inferred) {
  inferred.push_back(adaptor.getInput().getType());
  return success();
}

LogicalResult ShapeOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location>,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  int64_t rank = rankedOf(adaptor.getInput()).getRank();
  auto clampDim = [&](int64_t v) {
    if (v < 0)
      v += rank;
    return std::clamp<int64_t>(v, 0, rank);
  };
  int64_t start = clampDim((int64_t)adaptor.getStart());
  int64_t end = clampDim((int64_t)adaptor.getEnd());
  inferred.push_back(RankedTensorType::get({std::max<int64_t>(end - start, 0)},
                                           IntegerType::get(ctx, 64)));
  return success();
}

LogicalResult ReshapeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  auto input = rankedOf(adaptor.getInput());
  FailureOr<int64_t> rank = vectorLength(loc, adaptor.getShape(), "reshape shape");
  if (failed(rank))
    return failure();
  if (ShapedType::isDynamic(*rank))
    return emitOptionalError(loc, "reshape shape must have a static length");
  auto values = getPartialConstantInts(adaptor.getShape());
  if (!values) {
    inferred.push_back(RankedTensorType::get(SmallVector<int64_t>(*rank, kDyn),
                                             input.getElementType()));
    return success();
  }
  SmallVector<int64_t> shape;
  int64_t inferIndex = -1;
  for (auto [i, v] : llvm::enumerate(*values)) {
    if (ShapedType::isDynamic(v)) {
      shape.push_back(kDyn); // known only at run time
    } else if (v == -1) {
      if (inferIndex >= 0)
        return emitOptionalError(loc, "reshape shape has more than one -1");
      inferIndex = i;
      shape.push_back(kDyn);
    } else if (v == 0 && !adaptor.getAllowzero()) {
      if ((int64_t)i >= input.getRank())
        return emitOptionalError(loc, "reshape shape copies dim ", i,
                                 " of an input of rank ", input.getRank());
      shape.push_back(input.getDimSize(i));
    } else if (v < 0) {
      return emitOptionalError(loc, "reshape shape has invalid dim ", v);
    } else {
      shape.push_back(v);
    }
  }
  auto inCount = staticElementCount(input.getShape());
  if (inferIndex >= 0) {
    SmallVector<int64_t> known(shape);
    known.erase(known.begin() + inferIndex);
    auto knownCount = staticElementCount(known);
    if (inCount && knownCount) {
      if (*knownCount == 0 || *inCount % *knownCount)
        return emitOptionalError(loc, "cannot reshape ", formatShape(input.getShape()),
                                 " to ", formatShape(shape));
      shape[inferIndex] = *inCount / *knownCount;
    }
  } else if (auto outCount = staticElementCount(shape); inCount && outCount &&
                                                         *inCount != *outCount) {
    return emitOptionalError(loc, "cannot reshape ", formatShape(input.getShape()), " (",
                             *inCount, " elements) to ", formatShape(shape), " (",
                             *outCount, " elements)");
  }
  inferred.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  auto input = rankedOf(adaptor.getInput());
  ArrayRef<int64_t> perm = adaptor.getPerm();
  if ((int64_t)perm.size() != input.getRank())
    return emitOptionalError(loc, "transpose perm has ", perm.size(),
                             " entries for rank ", input.getRank());
  SmallVector<bool> seen(perm.size(), false);
  SmallVector<int64_t> shape;
  for (int64_t p : perm) {
    if (p < 0 || p >= input.getRank() || seen[p])
      return emitOptionalError(loc, "transpose perm is not a permutation");
    seen[p] = true;
    shape.push_back(input.getDimSize(p));
  }
  inferred.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return emitOptionalError(loc, "concat needs at least one input");
  auto first = rankedOf(inputs.front());
  auto axis = normalizeAxis((int64_t)adaptor.getAxis(), first.getRank());
  if (!axis)
    return emitOptionalError(loc, "concat axis ", (int64_t)adaptor.getAxis(), " is out of range for rank ",
                             first.getRank());
  SmallVector<int64_t> shape(first.getShape());
  for (Value v : inputs.drop_front()) {
    auto type = rankedOf(v);
    if (type.getRank() != first.getRank() || type.getElementType() != first.getElementType())
      return emitOptionalError(loc, "concat inputs differ in rank or element type");
    for (int64_t d = 0; d < first.getRank(); ++d) {
      int64_t a = shape[d], b = type.getDimSize(d);
      if (d == *axis) {
        shape[d] = ShapedType::isDynamic(a) || ShapedType::isDynamic(b) ? kDyn : a + b;
      } else if (ShapedType::isDynamic(a)) {
        shape[d] = b;
      } else if (!ShapedType::isDynamic(b) && a != b) {
        return emitOptionalError(loc, "concat inputs differ in dim ", d, ": ", a, " vs ", b);
      }
    }
  }
  inferred.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  auto input = rankedOf(adaptor.getInput());
  int64_t len = -1;
  for (Value v : {adaptor.getStarts(), adaptor.getEnds(), adaptor.getAxes(),
                  adaptor.getSteps()}) {
    FailureOr<int64_t> n = vectorLength(loc, v, "slice parameter");
    if (failed(n))
      return failure();
    if (len >= 0 && !ShapedType::isDynamic(*n) && *n != len)
      return emitOptionalError(loc, "slice starts/ends/axes/steps differ in length");
    if (!ShapedType::isDynamic(*n))
      len = *n;
  }
  SmallVector<int64_t> shape(input.getShape());
  auto axes = getConstantInts(adaptor.getAxes());
  if (!axes) {
    inferred.push_back(RankedTensorType::get(SmallVector<int64_t>(input.getRank(), kDyn),
                                             input.getElementType()));
    return success();
  }
  auto starts = getConstantInts(adaptor.getStarts());
  auto ends = getConstantInts(adaptor.getEnds());
  auto steps = getConstantInts(adaptor.getSteps());
  llvm::SmallBitVector seen(input.getRank());
  for (size_t i = 0; i < axes->size(); ++i) {
    auto axis = normalizeAxis((*axes)[i], input.getRank());
    if (!axis || seen[*axis])
      return emitOptionalError(loc, "slice axis ", (*axes)[i],
                               " is out of range or repeated for rank ", input.getRank());
    seen.set(*axis);
    if (steps && (*steps)[i] == 0)
      return emitOptionalError(loc, "slice step must not be 0");
    int64_t dim = input.getDimSize(*axis);
    if (!starts || !ends || !steps || ShapedType::isDynamic(dim)) {
      shape[*axis] = kDyn;
      continue;
    }
    shape[*axis] = sliceLength(dim, (*starts)[i], (*ends)[i], (*steps)[i]);
  }
  inferred.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult GatherOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  auto input = rankedOf(adaptor.getInput()), indices = rankedOf(adaptor.getIndices());
  auto axis = normalizeAxis((int64_t)adaptor.getAxis(), input.getRank());
  if (!axis)
    return emitOptionalError(loc, "gather axis ", (int64_t)adaptor.getAxis(), " is out of range for rank ",
                             input.getRank());
  SmallVector<int64_t> shape(input.getShape().take_front(*axis));
  shape.append(indices.getShape().begin(), indices.getShape().end());
  shape.append(input.getShape().begin() + *axis + 1, input.getShape().end());
  inferred.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult GatherElementsOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                 Adaptor adaptor,
                                                 SmallVectorImpl<Type> &inferred) {
  auto input = rankedOf(adaptor.getInput()), indices = rankedOf(adaptor.getIndices());
  if (!normalizeAxis((int64_t)adaptor.getAxis(), input.getRank()) ||
      input.getRank() != indices.getRank())
    return emitOptionalError(loc, "gather_elements needs indices of the input's rank and an "
                                  "axis in range");
  inferred.push_back(RankedTensorType::get(indices.getShape(), input.getElementType()));
  return success();
}

LogicalResult GatherNDOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &inferred) {
  auto input = rankedOf(adaptor.getInput()), indices = rankedOf(adaptor.getIndices());
  int64_t b = (int64_t)adaptor.getBatchDims();
  if (indices.getRank() < 1 || b < 0 || b >= std::min(input.getRank(), indices.getRank()) + (b == 0))
    return emitOptionalError(loc, "gather_nd batch_dims ", b, " is out of range");
  int64_t tuple = indices.getShape().back();
  if (ShapedType::isDynamic(tuple))
    return emitOptionalError(loc, "gather_nd needs a static last indices dim");
  if (tuple < 1 || b + tuple > input.getRank())
    return emitOptionalError(loc, "gather_nd index tuples of length ", tuple,
                             " do not fit an input of rank ", input.getRank());
  SmallVector<int64_t> shape(indices.getShape().drop_back());
  shape.append(input.getShape().begin() + b + tuple, input.getShape().end());
  inferred.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult ScatterElementsOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                                  Adaptor adaptor,
                                                  SmallVectorImpl<Type> &inferred) {
  inferred.push_back(adaptor.getInput().getType());
  return success();
}

LogicalResult ScatterElementsOp::verify() {
  auto input = getInput().getType();
  if (!normalizeAxis((int64_t)getAxis(), input.getRank()))
    return emitOpError("axis ") << (int64_t)getAxis() << " is out of range for rank " << input.getRank();
  if (getIndices().getType().getShape() != getUpdates().getType().getShape() ||
      getIndices().getType().getRank() != input.getRank())
    return emitOpError("indices and updates must share one shape of the input's rank");
  if (getUpdates().getType().getElementType() != input.getElementType())
    return emitOpError("updates differ from the input in element type");
  return success();
}

LogicalResult ScatterNDOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  inferred.push_back(adaptor.getInput().getType());
  return success();
}

LogicalResult ScatterNDOp::verify() {
  auto input = getInput().getType(), indices = getIndices().getType();
  int64_t tuple = indices.getRank() ? indices.getShape().back() : 0;
  if (indices.getRank() < 1 || ShapedType::isDynamic(tuple) || tuple > input.getRank())
    return emitOpError("indices must end in a static dim no larger than the input rank");
  if (getUpdates().getType().getRank() != indices.getRank() - 1 + input.getRank() - tuple)
    return emitOpError("updates rank must be indices rank - 1 + input rank - ") << tuple;
  if (getUpdates().getType().getElementType() != input.getElementType())
    return emitOpError("updates differ from the input in element type");
  return success();
}

LogicalResult ExpandOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  auto input = rankedOf(adaptor.getInput());
  FailureOr<int64_t> rank = vectorLength(loc, adaptor.getShape(), "expand shape");
  if (failed(rank))
    return failure();
  if (ShapedType::isDynamic(*rank))
    return emitOptionalError(loc, "expand shape must have a static length");
  SmallVector<int64_t> target(*rank, kDyn), shape;
  if (auto values = getPartialConstantInts(adaptor.getShape()))
    target.assign(values->begin(), values->end());
  for (int64_t d : target)
    if (!ShapedType::isDynamic(d) && d < 0)
      return emitOptionalError(loc, "expand shape has negative dim ", d);
  // A `?` target dim broadcast against a static input dim of 1 stays `?`.
  SmallVector<int64_t> in(input.getShape());
  if (!broadcastShapes(in, target, shape))
    return emitOptionalError(loc, "cannot expand ", formatShape(input.getShape()), " to ",
                             formatShape(target));
  size_t offset = shape.size() - target.size();
  for (size_t i = 0; i < target.size(); ++i)
    if (ShapedType::isDynamic(target[i])) {
      int64_t inDim = (int64_t)(i + offset) - (int64_t)(shape.size() - in.size());
      if (inDim < 0 || in[inDim] == 1)
        shape[i + offset] = kDyn;
    }
  inferred.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult TileOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  auto input = rankedOf(adaptor.getInput());
  FailureOr<int64_t> len = vectorLength(loc, adaptor.getRepeats(), "tile repeats");
  if (failed(len))
    return failure();
  if (!ShapedType::isDynamic(*len) && *len != input.getRank())
    return emitOptionalError(loc, "tile needs ", input.getRank(), " repeats, got ", *len);
  SmallVector<int64_t> shape(input.getRank(), kDyn);
  if (auto repeats = getConstantInts(adaptor.getRepeats())) {
    for (int64_t i = 0; i < input.getRank(); ++i) {
      if ((*repeats)[i] < 0)
        return emitOptionalError(loc, "tile repeats must be non-negative");
      int64_t d = input.getDimSize(i);
      shape[i] = ShapedType::isDynamic(d) ? kDyn : d * (*repeats)[i];
    }
  }
  inferred.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult PadOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &inferred) {
  auto input = rankedOf(adaptor.getInput());
  FailureOr<int64_t> len = vectorLength(loc, adaptor.getPads(), "pad pads");
  if (failed(len))
    return failure();
  int64_t rank = input.getRank();
  if (!ShapedType::isDynamic(*len) && *len != 2 * rank)
    return emitOptionalError(loc, "pad needs ", 2 * rank, " pads, got ", *len);
  if (Value value = adaptor.getValue()) {
    auto v = rankedOf(value);
    if (!holdsOneElement(v) || v.getElementType() != input.getElementType())
      return emitOptionalError(loc, "pad value must be one element of the input's type");
  }
  SmallVector<int64_t> shape(rank, kDyn);
  if (auto pads = getConstantInts(adaptor.getPads())) {
    for (int64_t i = 0; i < rank; ++i) {
      int64_t d = input.getDimSize(i);
      if (ShapedType::isDynamic(d))
        continue;
      shape[i] = d + (*pads)[i] + (*pads)[i + rank];
      if (shape[i] < 0)
        return emitOptionalError(loc, "pads remove more than dim ", i, " holds");
    }
  }
  inferred.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult ResizeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  auto input = rankedOf(adaptor.getInput());
  int64_t rank = input.getRank();
  SmallVector<int64_t> shape(rank, kDyn);
  if (Value sizes = adaptor.getSizes()) {
    if (auto values = getConstantInts(sizes)) {
      if ((int64_t)values->size() != rank)
        return emitOptionalError(loc, "resize needs ", rank, " sizes, got ", values->size());
      shape.assign(values->begin(), values->end());
    }
  } else if (Value scales = adaptor.getScales()) {
    if (auto values = getConstantFloats(scales)) {
      if ((int64_t)values->size() != rank)
        return emitOptionalError(loc, "resize needs ", rank, " scales, got ", values->size());
      for (int64_t i = 0; i < rank; ++i) {
        if ((*values)[i] <= 0)
          return emitOptionalError(loc, "resize scales must be positive");
        int64_t d = input.getDimSize(i);
        if (!ShapedType::isDynamic(d))
          shape[i] = (int64_t)std::floor((double)d * (*values)[i]);
      }
    }
  } else {
    return emitOptionalError(loc, "resize needs scales or sizes");
  }
  inferred.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult ResizeOp::verify() {
  if (!getScales() && !getSizes())
    return emitOpError("needs scales or sizes");
  StringRef mode = getMode();
  if (mode != "nearest" && mode != "linear" && mode != "cubic")
    return emitOpError("unknown mode '") << mode << "'";
  if (!isa<FloatType>(getInput().getType().getElementType()) && mode != "nearest")
    return emitOpError("interpolating modes need a floating-point input");
  return success();
}

LogicalResult NonZeroOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location>,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  int64_t rank = rankedOf(adaptor.getInput()).getRank();
  inferred.push_back(
      RankedTensorType::get({rank, ShapedType::kDynamic}, IntegerType::get(ctx, 64)));
  return success();
}

LogicalResult TriluOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  inferred.push_back(adaptor.getInput().getType());
  return success();
}

LogicalResult TriluOp::verify() {
  if (getInput().getType().getRank() < 2)
    return emitOpError("needs an input of rank >= 2");
  if (getK() && !holdsOneElement(getK().getType()))
    return emitOpError("k must hold one element");
  return success();
}

LogicalResult FillOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  FailureOr<int64_t> rank = vectorLength(loc, adaptor.getShape(), "fill shape");
  if (failed(rank))
    return failure();
  if (ShapedType::isDynamic(*rank))
    return emitOptionalError(loc, "fill shape must have a static length");
  auto value = cast<ElementsAttr>(adaptor.getValue());
  if (value.getNumElements() != 1)
    return emitOptionalError(loc, "fill value must hold one element");
  SmallVector<int64_t> shape(*rank, kDyn);
  if (auto dims = getPartialConstantInts(adaptor.getShape())) {
    for (int64_t d : *dims)
      if (!ShapedType::isDynamic(d) && d < 0)
        return emitOptionalError(loc, "fill shape has negative dim ", d);
    shape.assign(dims->begin(), dims->end());
  }
  inferred.push_back(RankedTensorType::get(shape, value.getElementType()));
  return success();
}

LogicalResult RangeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  Type element = rankedOf(adaptor.getStart()).getElementType();
  int64_t length = kDyn;
  auto start = getConstantFloats(adaptor.getStart());
  auto limit = getConstantFloats(adaptor.getLimit());
  auto delta = getConstantFloats(adaptor.getDelta());
  if (start && limit && delta) {
    if ((*delta)[0] == 0)
      return emitOptionalError(loc, "range delta must not be 0");
    length = std::max<int64_t>(
        0, (int64_t)std::ceil(((*limit)[0] - (*start)[0]) / (*delta)[0]));
  }
  inferred.push_back(RankedTensorType::get({length}, element));
  return success();
}

LogicalResult RangeOp::verify() {
  for (Value v : {getStart(), getLimit(), getDelta()}) {
    auto type = cast<RankedTensorType>(v.getType());
    if (!holdsOneElement(type) || type.getElementType() != getStart().getType().getElementType())
      return emitOpError("start, limit and delta must be scalars of one type");
  }
  return success();
}
