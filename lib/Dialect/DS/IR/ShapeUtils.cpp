//===- ShapeUtils.cpp - shape helpers shared by ds ops and importers ------===//
#include "ds/Dialect/DS/IR/ShapeUtils.h"
#include "ds/Dialect/DS/IR/DSOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;

std::optional<llvm::SmallVector<int64_t>> ds::getConstantInts(Value value) {
  DenseElementsAttr attr;
  if (!value || !matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  if (!attr.getElementType().isIntOrIndex())
    return std::nullopt;
  bool isUnsigned = attr.getElementType().isUnsignedInteger();
  llvm::SmallVector<int64_t> values;
  values.reserve(attr.getNumElements());
  for (const APInt &v : attr.getValues<APInt>())
    values.push_back(isUnsigned ? (int64_t)v.getZExtValue() : v.getSExtValue());
  return values;
}

std::optional<llvm::SmallVector<double>> ds::getConstantFloats(Value value) {
  DenseElementsAttr attr;
  if (!value || !matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  llvm::SmallVector<double> values;
  if (isa<FloatType>(attr.getElementType())) {
    for (const APFloat &v : attr.getValues<APFloat>())
      values.push_back(v.convertToDouble() /*exact for f64*/);
    return values;
  }
  if (auto ints = getConstantInts(value)) {
    for (int64_t v : *ints)
      values.push_back((double)v);
    return values;
  }
  return std::nullopt;
}

bool ds::broadcastShapes(ArrayRef<int64_t> lhs, ArrayRef<int64_t> rhs,
                         SmallVectorImpl<int64_t> &result) {
  size_t rank = std::max(lhs.size(), rhs.size());
  result.assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t a = i < rank - lhs.size() ? 1 : lhs[i - (rank - lhs.size())];
    int64_t b = i < rank - rhs.size() ? 1 : rhs[i - (rank - rhs.size())];
    if (a == 1) {
      result[i] = b;
    } else if (b == 1) {
      result[i] = a;
    } else if (ShapedType::isDynamic(a)) {
      result[i] = b;
    } else if (ShapedType::isDynamic(b) || a == b) {
      result[i] = a;
    } else {
      return false;
    }
  }
  return true;
}

std::optional<int64_t> ds::normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

std::optional<int64_t> ds::staticElementCount(ArrayRef<int64_t> shape) {
  int64_t count = 1;
  for (int64_t d : shape) {
    if (ShapedType::isDynamic(d) || d < 0)
      return std::nullopt;
    if (llvm::MulOverflow(count, d, count))
      return std::nullopt;
  }
  return count;
}

std::string ds::formatShape(ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "scalar";
  std::string text;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      text += "x";
    text += ShapedType::isDynamic(shape[i]) ? "?" : std::to_string(shape[i]);
  }
  return text;
}

bool ds::holdsOneElement(Type type) {
  auto shaped = dyn_cast<ShapedType>(type);
  return shaped && shaped.hasStaticShape() && shaped.getNumElements() == 1;
}

std::optional<llvm::SmallVector<int64_t>> ds::getPartialConstantInts(Value value) {
  if (auto constant = getConstantInts(value))
    return constant;
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || type.getRank() > 1 || !type.hasStaticShape())
    return std::nullopt;
  int64_t length = type.getRank() == 0 ? 1 : type.getDimSize(0);
  llvm::SmallVector<int64_t> unknown(length, ShapedType::kDynamic);
  Operation *def = value.getDefiningOp();
  if (auto shape = dyn_cast_or_null<ShapeOp>(def)) {
    auto inputType = shape.getInput().getType();
    int64_t rank = inputType.getRank();
    int64_t start = std::clamp<int64_t>((int64_t)shape.getStart() < 0 ? (int64_t)shape.getStart() + rank : (int64_t)shape.getStart(), 0, rank);
    llvm::SmallVector<int64_t> dims;
    for (int64_t i = 0; i < length; ++i)
      dims.push_back(inputType.getDimSize(start + i));
    return dims;
  }
  if (auto concat = dyn_cast_or_null<ConcatOp>(def)) {
    llvm::SmallVector<int64_t> dims;
    for (Value piece : concat.getInputs()) {
      auto part = getPartialConstantInts(piece);
      if (!part)
        return unknown;
      dims.append(part->begin(), part->end());
    }
    return dims;
  }
  if (auto cast = dyn_cast_or_null<CastOp>(def))
    if (cast.getInput().getType().getElementType().isIntOrIndex())
      return getPartialConstantInts(cast.getInput());
  return unknown;
}

bool ds::areCompatibleTensorTypes(TypeRange lhs, TypeRange rhs) {
  if (lhs.size() != rhs.size())
    return false;
  for (auto [a, b] : llvm::zip(lhs, rhs)) {
    auto ta = dyn_cast<RankedTensorType>(a), tb = dyn_cast<RankedTensorType>(b);
    if (!ta || !tb || ta.getElementType() != tb.getElementType() ||
        failed(verifyCompatibleShape(ta.getShape(), tb.getShape())))
      return false;
  }
  return true;
}
