//===- Folders.cpp - constant folding of ds ops ----------------------------===//
//
// Folding evaluates small constant tensors (shape arithmetic, scalars) on the
// host, so that exporter shape subgraphs (Shape -> Gather -> Concat -> Reshape)
// collapse to constants when dims are static. Large tensors are never folded
// here: that would duplicate weights in memory.
//
//===----------------------------------------------------------------------===//
#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Dialect/DS/IR/ShapeUtils.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/SmallBitVector.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mlir::ds;

namespace {
constexpr int64_t kMaxFoldElements = 4096;
/// Largest fill (ConstantOfShape) folded into a constant.
constexpr uint64_t kMaxFoldedFillBytes = uint64_t(64) << 20;

/// A small dense tensor on the host: integers widened to int64, floats to double.
struct HostTensor {
  SmallVector<int64_t> shape;
  bool isFloat = false;
  std::vector<int64_t> ints;
  std::vector<double> floats;

  size_t size() const { return isFloat ? floats.size() : ints.size(); }
  double asDouble(size_t i) const { return isFloat ? floats[i] : (double)ints[i]; }
};

std::optional<HostTensor> toHost(Attribute attr) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(attr);
  if (!dense || dense.getNumElements() > kMaxFoldElements)
    return std::nullopt;
  Type element = dense.getElementType();
  HostTensor t;
  t.shape.assign(dense.getType().getShape().begin(), dense.getType().getShape().end());
  if (auto f = dyn_cast<FloatType>(element)) {
    if (f.getWidth() < 16)
      return std::nullopt;
    t.isFloat = true;
    for (APFloat v : dense.getValues<APFloat>()) {
      bool lost;
      v.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
      t.floats.push_back(v.convertToDouble());
    }
    return t;
  }
  if (!element.isIntOrIndex())
    return std::nullopt;
  bool isUnsigned = element.isUnsignedInteger() || element.isInteger(1);
  for (const APInt &v : dense.getValues<APInt>())
    t.ints.push_back(isUnsigned ? (int64_t)v.getZExtValue() : v.getSExtValue());
  return t;
}

Attribute toAttr(const HostTensor &t, ShapedType type) {
  Type element = type.getElementType();
  if (!type.hasStaticShape() || type.getNumElements() != (int64_t)t.size())
    return {};
  if (auto f = dyn_cast<FloatType>(element)) {
    SmallVector<APFloat> values;
    for (size_t i = 0; i < t.size(); ++i) {
      APFloat v(t.asDouble(i));
      bool lost;
      v.convert(f.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      values.push_back(v);
    }
    return DenseElementsAttr::get(type, values);
  }
  if (!element.isIntOrIndex())
    return {};
  unsigned width = element.getIntOrFloatBitWidth();
  SmallVector<APInt> values;
  for (size_t i = 0; i < t.size(); ++i) {
    int64_t v = t.isFloat ? (int64_t)t.floats[i] : t.ints[i];
    values.push_back(APInt(64, v, /*isSigned=*/true).trunc(width));
  }
  return DenseElementsAttr::get(type, values);
}

/// Row-major strides.
SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = (int64_t)shape.size() - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/// Index into `operand` (broadcast to `outShape`) for flat output index `flat`.
size_t broadcastIndex(size_t flat, ArrayRef<int64_t> outShape,
                      ArrayRef<int64_t> outStrides, ArrayRef<int64_t> shape) {
  size_t index = 0, stride = 1;
  size_t offset = outShape.size() - shape.size();
  for (int64_t d = (int64_t)shape.size() - 1; d >= 0; --d) {
    int64_t coord = (flat / outStrides[d + offset]) % outShape[d + offset];
    if (shape[d] != 1)
      index += coord * stride;
    stride *= shape[d];
  }
  return index;
}

/// Applies `fn` elementwise over broadcast operands into a tensor of `type`.
template <typename Fn>
Attribute foldBroadcast(ArrayRef<HostTensor> operands, ShapedType type, bool floatOut, Fn fn) {
  if (!type.hasStaticShape() || type.getNumElements() > kMaxFoldElements)
    return {};
  HostTensor out;
  out.shape.assign(type.getShape().begin(), type.getShape().end());
  out.isFloat = floatOut;
  SmallVector<int64_t> strides = stridesOf(out.shape);
  int64_t n = type.getNumElements();
  SmallVector<size_t> idx(operands.size());
  for (int64_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < operands.size(); ++k)
      idx[k] = broadcastIndex(i, out.shape, strides, operands[k].shape);
    std::optional<double> value = fn(idx);
    if (!value)
      return {};
    if (floatOut)
      out.floats.push_back(*value);
    else
      out.ints.push_back((int64_t)*value);
  }
  return toAttr(out, type);
}

std::optional<double> evalUnary(UnaryKind kind, double x, bool isFloat) {
  switch (kind) {
  case UnaryKind::abs: return std::fabs(x);
  case UnaryKind::neg: return -x;
  case UnaryKind::sign: return (double)((x > 0) - (x < 0));
  case UnaryKind::logical_not: return x == 0 ? 1.0 : 0.0;
  case UnaryKind::relu: return x > 0 ? x : 0;
  default: break;
  }
  if (!isFloat)
    return std::nullopt;
  switch (kind) {
  case UnaryKind::sqrt: return std::sqrt(x);
  case UnaryKind::reciprocal: return 1.0 / x;
  case UnaryKind::exp: return std::exp(x);
  case UnaryKind::log: return std::log(x);
  case UnaryKind::floor: return std::floor(x);
  case UnaryKind::ceil: return std::ceil(x);
  case UnaryKind::round: return std::nearbyint(x);
  case UnaryKind::cos: return std::cos(x);
  case UnaryKind::sin: return std::sin(x);
  case UnaryKind::tanh: return std::tanh(x);
  case UnaryKind::erf: return std::erf(x);
  case UnaryKind::is_nan: return std::isnan(x) ? 1.0 : 0.0;
  default: return std::nullopt;
  }
}

std::optional<double> evalBinary(BinaryKind kind, double a, double b, bool isFloat) {
  switch (kind) {
  case BinaryKind::add: return a + b;
  case BinaryKind::sub: return a - b;
  case BinaryKind::mul: return a * b;
  case BinaryKind::div:
    if (isFloat)
      return a / b;
    if (b == 0)
      return std::nullopt; // integer division by zero is left to run time
    return (double)((int64_t)a / (int64_t)b);
  case BinaryKind::min: return std::min(a, b);
  case BinaryKind::max: return std::max(a, b);
  case BinaryKind::pow: return std::pow(a, b);
  case BinaryKind::logical_and: return (a != 0 && b != 0) ? 1.0 : 0.0;
  case BinaryKind::logical_or: return (a != 0 || b != 0) ? 1.0 : 0.0;
  case BinaryKind::logical_xor: return ((a != 0) != (b != 0)) ? 1.0 : 0.0;
  case BinaryKind::mod:
    if (isFloat || b == 0)
      return std::nullopt;
    {
      int64_t r = (int64_t)a % (int64_t)b;
      if (r != 0 && ((r < 0) != (b < 0)))
        r += (int64_t)b;
      return (double)r;
    }
  default: return std::nullopt;
  }
}

bool isFoldableFloat(Type t) { return isa<FloatType>(t) && t.getIntOrFloatBitWidth() >= 16; }
} // namespace

OpFoldResult FillOp::fold(FoldAdaptor) {
  auto type = getType();
  // A splat costs nothing here, but the artifact stores every element: a
  // fill larger than this stays an op that runs (a 200-byte ConstantOfShape
  // must not become a gigabyte of constants).
  if (!type.hasStaticShape() ||
      (uint64_t)type.getNumElements() * ((type.getElementTypeBitWidth() + 7) / 8) >
          kMaxFoldedFillBytes)
    return {};
  auto value = cast<DenseElementsAttr>(getValueAttr());
  return DenseElementsAttr::get(type, value.getValues<Attribute>()[0]);
}

OpFoldResult RangeOp::fold(FoldAdaptor adaptor) {
  auto start = toHost(adaptor.getStart()), delta = toHost(adaptor.getDelta());
  auto type = getType();
  if (!start || !delta || !type.hasStaticShape() || type.getNumElements() > kMaxFoldElements)
    return {};
  HostTensor out;
  out.isFloat = start->isFloat;
  for (int64_t i = 0; i < type.getNumElements(); ++i) {
    if (out.isFloat)
      out.floats.push_back(start->floats[0] + (double)i * delta->asDouble(0));
    else
      out.ints.push_back(start->ints[0] + i * delta->ints[0]);
  }
  return toAttr(out, type);
}

OpFoldResult UnaryOp::fold(FoldAdaptor adaptor) {
  auto in = toHost(adaptor.getInput());
  if (!in)
    return {};
  bool isFloat = in->isFloat;
  bool floatOut = isFoldableFloat(getType().getElementType());
  UnaryKind kind = getKind();
  return foldBroadcast({*in}, getType(), floatOut, [&](ArrayRef<size_t> idx) {
    return evalUnary(kind, in->asDouble(idx[0]), isFloat);
  });
}

OpFoldResult BinaryOp::fold(FoldAdaptor adaptor) {
  auto lhs = toHost(adaptor.getLhs()), rhs = toHost(adaptor.getRhs());
  if (!lhs || !rhs)
    return {};
  bool isFloat = lhs->isFloat;
  if (!isFloat && !rhs->isFloat && getKind() == BinaryKind::pow)
    return {};
  BinaryKind kind = getKind();
  return foldBroadcast({*lhs, *rhs}, getType(), isFloat, [&](ArrayRef<size_t> idx) {
    return evalBinary(kind, lhs->asDouble(idx[0]), rhs->asDouble(idx[1]), isFloat);
  });
}

OpFoldResult CompareOp::fold(FoldAdaptor adaptor) {
  auto lhs = toHost(adaptor.getLhs()), rhs = toHost(adaptor.getRhs());
  if (!lhs || !rhs)
    return {};
  CompareKind kind = getKind();
  return foldBroadcast({*lhs, *rhs}, getType(), false,
                       [&](ArrayRef<size_t> idx) -> std::optional<double> {
    double a = lhs->asDouble(idx[0]), b = rhs->asDouble(idx[1]);
    switch (kind) {
    case CompareKind::eq: return a == b;
    case CompareKind::lt: return a < b;
    case CompareKind::le: return a <= b;
    case CompareKind::gt: return a > b;
    case CompareKind::ge: return a >= b;
    }
    return std::nullopt;
  });
}

OpFoldResult SelectOp::fold(FoldAdaptor adaptor) {
  if (getTrueValue() == getFalseValue() && getTrueValue().getType() == getType())
    return getTrueValue();
  auto c = toHost(adaptor.getCondition()), a = toHost(adaptor.getTrueValue()),
       b = toHost(adaptor.getFalseValue());
  if (!c || !a || !b)
    return {};
  return foldBroadcast({*c, *a, *b}, getType(), a->isFloat, [&](ArrayRef<size_t> idx) {
    return std::optional<double>(c->ints[idx[0]] ? a->asDouble(idx[1]) : b->asDouble(idx[2]));
  });
}

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  auto in = toHost(adaptor.getInput());
  Type to = getType().getElementType();
  if (!in || !(isFoldableFloat(to) || to.isIntOrIndex()))
    return {};
  bool toBool = to.isInteger(1);
  bool floatOut = isFoldableFloat(to);
  return foldBroadcast({*in}, getType(), floatOut,
                       [&](ArrayRef<size_t> idx) -> std::optional<double> {
    double v = in->asDouble(idx[0]);
    if (toBool)
      return v != 0 ? 1.0 : 0.0;
    if (!floatOut && in->isFloat)
      return std::isfinite(v) ? std::optional<double>(std::trunc(v)) : std::nullopt;
    return v;
  });
}

OpFoldResult ReduceOp::fold(FoldAdaptor adaptor) {
  ReduceKind kind = getKind();
  // Reducing over no axis is the identity only for the plain kinds; the others
  // still apply their function to each element (x^2, |x|, log x...).
  bool plain = kind == ReduceKind::sum || kind == ReduceKind::mean || kind == ReduceKind::max ||
               kind == ReduceKind::min || kind == ReduceKind::prod;
  if (plain && getAxes().empty() && getInput().getType() == getType())
    return getInput();
  auto in = toHost(adaptor.getInput());
  if (!in || in->isFloat || (kind != ReduceKind::sum && kind != ReduceKind::prod) ||
      !getType().hasStaticShape())
    return {};
  // Integer sum / product over all axes or a subset (shape arithmetic).
  SmallVector<int64_t> inStrides = stridesOf(in->shape);
  HostTensor out;
  out.ints.assign(getType().getNumElements(), kind == ReduceKind::prod ? 1 : 0);
  SmallVector<int64_t> keptShape;
  llvm::SmallBitVector reduced(in->shape.size());
  for (int64_t a : getAxes())
    reduced.set(a);
  for (size_t d = 0; d < in->shape.size(); ++d)
    keptShape.push_back(reduced[d] ? 1 : in->shape[d]);
  SmallVector<int64_t> keptStrides = stridesOf(keptShape);
  for (size_t i = 0; i < in->ints.size(); ++i) {
    size_t o = 0;
    for (size_t d = 0; d < in->shape.size(); ++d)
      if (!reduced[d])
        o += ((i / inStrides[d]) % in->shape[d]) * keptStrides[d];
    if (kind == ReduceKind::prod)
      out.ints[o] *= in->ints[i];
    else
      out.ints[o] += in->ints[i];
  }
  return toAttr(out, getType());
}

OpFoldResult AssertOp::fold(FoldAdaptor adaptor) {
  auto condition = dyn_cast_or_null<DenseElementsAttr>(adaptor.getCondition());
  if (condition && llvm::all_of(condition.getValues<bool>(), [](bool b) { return b; }))
    return getInput();
  return {};
}

OpFoldResult ShapeOp::fold(FoldAdaptor) {
  auto type = getInput().getType();
  int64_t rank = type.getRank();
  auto clampDim = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
  int64_t start = clampDim((int64_t)getStart()), end = clampDim((int64_t)getEnd());
  SmallVector<int64_t> dims;
  for (int64_t d = start; d < end; ++d) {
    if (type.isDynamicDim(d))
      return {};
    dims.push_back(type.getDimSize(d));
  }
  return DenseElementsAttr::get(getType(), ArrayRef<int64_t>(dims));
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType() && getType().hasStaticShape())
    return getInput();
  auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput());
  if (dense && getType().hasStaticShape() &&
      (dense.isSplat() || dense.getNumElements() <= kMaxFoldElements))
    return dense.reshape(getType());
  return {};
}

OpFoldResult TransposeOp::fold(FoldAdaptor adaptor) {
  if (llvm::equal(getPerm(), llvm::seq<int64_t>(0, getPerm().size())))
    return getInput();
  auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput());
  if (dense && dense.isSplat() && getType().hasStaticShape())
    return dense.resizeSplat(getType());
  return {};
}

OpFoldResult ConcatOp::fold(FoldAdaptor adaptor) {
  if (getInputs().size() == 1 && getInputs()[0].getType() == getType())
    return getInputs()[0];
  auto type = getType();
  if (!type.hasStaticShape() || type.getNumElements() > kMaxFoldElements)
    return {};
  SmallVector<HostTensor> parts;
  for (Attribute a : adaptor.getInputs()) {
    auto t = toHost(a);
    if (!t)
      return {};
    parts.push_back(std::move(*t));
  }
  int64_t axis = *normalizeAxis((int64_t)getAxis(), type.getRank());
  HostTensor out;
  out.isFloat = parts.front().isFloat;
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= type.getDimSize(d);
  for (int64_t o = 0; o < outer; ++o) {
    for (const HostTensor &p : parts) {
      int64_t inner = 1;
      for (size_t d = axis; d < p.shape.size(); ++d)
        inner *= p.shape[d];
      for (int64_t i = 0; i < inner; ++i) {
        size_t src = o * inner + i;
        if (out.isFloat)
          out.floats.push_back(p.asDouble(src));
        else
          out.ints.push_back(p.ints[src]);
      }
    }
  }
  return toAttr(out, type);
}

OpFoldResult SliceOp::fold(FoldAdaptor adaptor) {
  auto in = toHost(adaptor.getInput());
  auto type = getType();
  auto starts = getConstantInts(getStarts()), axes = getConstantInts(getAxes()),
       steps = getConstantInts(getSteps());
  if (!in || !type.hasStaticShape() || !starts || !axes || !steps)
    return {};
  int64_t rank = type.getRank();
  SmallVector<int64_t> begin(rank, 0), step(rank, 1);
  for (size_t i = 0; i < axes->size(); ++i) {
    int64_t axis = *normalizeAxis((*axes)[i], rank);
    int64_t dim = in->shape[axis], s = (*starts)[i];
    if (s < 0)
      s += dim;
    step[axis] = (*steps)[i];
    begin[axis] = step[axis] > 0 ? std::clamp<int64_t>(s, 0, dim)
                                 : std::clamp<int64_t>(s, 0, dim - 1);
  }
  SmallVector<int64_t> inStrides = stridesOf(in->shape), outStrides = stridesOf(type.getShape());
  HostTensor out;
  out.isFloat = in->isFloat;
  for (int64_t i = 0; i < type.getNumElements(); ++i) {
    size_t src = 0;
    for (int64_t d = 0; d < rank; ++d)
      src += (begin[d] + ((i / outStrides[d]) % type.getDimSize(d)) * step[d]) * inStrides[d];
    if (out.isFloat)
      out.floats.push_back(in->floats[src]);
    else
      out.ints.push_back(in->ints[src]);
  }
  return toAttr(out, type);
}

OpFoldResult GatherOp::fold(FoldAdaptor adaptor) {
  auto in = toHost(adaptor.getInput()), idx = toHost(adaptor.getIndices());
  auto type = getType();
  if (!in || !idx || !type.hasStaticShape())
    return {};
  int64_t axis = *normalizeAxis((int64_t)getAxis(), in->shape.size());
  int64_t outer = 1, inner = 1, dim = in->shape[axis];
  for (int64_t d = 0; d < axis; ++d)
    outer *= in->shape[d];
  for (size_t d = axis + 1; d < in->shape.size(); ++d)
    inner *= in->shape[d];
  HostTensor out;
  out.isFloat = in->isFloat;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j : idx->ints) {
      if (j < -dim || j >= dim)
        return {}; // out-of-range index: leave the error to run time
      int64_t row = j < 0 ? j + dim : j;
      for (int64_t i = 0; i < inner; ++i) {
        size_t src = (o * dim + row) * inner + i;
        if (out.isFloat)
          out.floats.push_back(in->floats[src]);
        else
          out.ints.push_back(in->ints[src]);
      }
    }
  return toAttr(out, type);
}

//===----------------------------------------------------------------------===//
// Canonicalization patterns
//===----------------------------------------------------------------------===//

namespace {
/// transpose(transpose(x, p1), p2) -> transpose(x, p1 o p2).
struct ComposeTransposes : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op, PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<TransposeOp>();
    if (!inner)
      return failure();
    SmallVector<int64_t> perm;
    for (int64_t p : op.getPerm())
      perm.push_back(inner.getPerm()[p]);
    rewriter.replaceOpWithNewOp<TransposeOp>(op, inner.getInput(), perm);
    return success();
  }
};

/// transpose(W) -> W' for a constant W that only transposes read: the
/// weights of a Gemm with transB, which would otherwise be transposed on
/// every run (and which the runtime's packed GEMMs need as constants),
/// f32 or 8-bit (a QDQ model's quantized weights, once their dequantize
/// moved after the transpose). Large ones too, unlike the folders above:
/// the original dies with the fold, so nothing is duplicated in the
/// artifact. Elements are moved as bytes (their storage: whole bytes, or a
/// byte each for 2- to 7-bit integers, which stay dense).
struct FoldConstantTranspose : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op, PatternRewriter &rewriter) const override {
    auto constant = op.getInput().getDefiningOp<ConstantOp>();
    auto inType = dyn_cast<RankedTensorType>(op.getInput().getType());
    if (!constant || !inType || !inType.hasStaticShape() || !op.getType().hasStaticShape() ||
        !llvm::all_of(constant->getUsers(), [](Operation *u) { return isa<TransposeOp>(u); }))
      return failure();
    std::optional<std::vector<char>> in = readConstantBytes(constant.getValue());
    const int64_t count = inType.getNumElements();
    const size_t width = (inType.getElementTypeBitWidth() + 7) / 8;
    if (!in || count == 0 || in->size() != (size_t)count * width)
      return failure();
    ArrayRef<int64_t> perm = op.getPerm(), inShape = inType.getShape();
    const int64_t rank = inType.getRank();
    // out[i_0, ..., i_r-1] = in[j] with j's dim perm[d] = i_d.
    SmallVector<int64_t> inStrides(rank, 1), outShape(op.getType().getShape());
    for (int64_t d = rank - 2; d >= 0; --d)
      inStrides[d] = inStrides[d + 1] * inShape[d + 1];
    std::vector<char> out(in->size());
    SmallVector<int64_t> index(rank, 0);
    for (int64_t e = 0; e < count; ++e) {
      int64_t from = 0;
      for (int64_t d = 0; d < rank; ++d)
        from += index[d] * inStrides[perm[d]];
      std::memcpy(out.data() + (size_t)e * width, in->data() + (size_t)from * width, width);
      for (int64_t d = rank - 1; d >= 0 && ++index[d] == outShape[d]; --d)
        index[d] = 0;
    }
    ElementsAttr folded;
    if (out.size() >= 4096 && inType.getElementTypeBitWidth() % 8 == 0)
      folded = DenseResourceElementsAttr::get(
          op.getType(), "transposed_weight",
          HeapAsmResourceBlob::allocateAndCopyWithAlign(ArrayRef<char>(out), alignof(uint64_t)));
    else
      folded = DenseElementsAttr::getFromRawBuffer(op.getType(), ArrayRef<char>(out));
    rewriter.replaceOpWithNewOp<ConstantOp>(op, folded);
    return success();
  }
};

/// reshape(reshape(x)) -> reshape(x) when the outer shape is fully known.
struct ComposeReshapes : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op, PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<ReshapeOp>();
    if (!inner || !op.getType().hasStaticShape())
      return failure();
    auto shapeType = RankedTensorType::get({op.getType().getRank()}, rewriter.getI64Type());
    Value shape = rewriter.create<ConstantOp>(
        op.getLoc(), DenseElementsAttr::get(shapeType, op.getType().getShape()));
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, op.getType(), inner.getInput(), shape,
                                           op.getAllowzeroAttr());
    return success();
  }
};

/// cast(cast(x)) -> cast(x) when the middle type holds every value of x exactly
/// (a widening integer or float step), so skipping it changes nothing.
struct ComposeWideningCasts : OpRewritePattern<CastOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CastOp op, PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<CastOp>();
    if (!inner)
      return failure();
    Type src = inner.getInput().getType().getElementType();
    Type mid = inner.getType().getElementType();
    bool widening = (isa<FloatType>(src) && isa<FloatType>(mid) &&
                     src.getIntOrFloatBitWidth() < mid.getIntOrFloatBitWidth() &&
                     !(src.isBF16() && mid.isF16())) ||
                    (src.isSignlessInteger() && mid.isSignlessInteger() &&
                     src.getIntOrFloatBitWidth() < mid.getIntOrFloatBitWidth());
    if (!widening)
      return failure();
    rewriter.replaceOpWithNewOp<CastOp>(op, op.getType(), inner.getInput(),
                                        op.getSaturateAttr());
    return success();
  }
};
/// Per-output-channel values of a constant that broadcasts against a conv
/// result [N, M, spatial...] only along dim 1 (shapes [M, 1, 1], [1, M, 1, 1],
/// or a scalar), as f32; nullopt otherwise.
std::optional<SmallVector<float>> perChannelConstant(Value v, ConvOp conv) {
  auto type = cast<RankedTensorType>(v.getType());
  int64_t rank = conv.getType().getRank(), channels = conv.getType().getDimSize(1);
  DenseElementsAttr attr;
  if (!type.getElementType().isF32() || !matchPattern(v, m_Constant(&attr)) ||
      type.getRank() > rank || ShapedType::isDynamic(channels))
    return std::nullopt;
  int64_t channelDim = type.getRank() - (rank - 1); // dim 1 of the result, right-aligned
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.getDimSize(d) != 1 && d != channelDim)
      return std::nullopt;
  SmallVector<float> values(attr.getValues<float>().begin(), attr.getValues<float>().end());
  if (values.size() == 1)
    values.assign(channels, values[0]);
  if ((int64_t)values.size() != channels)
    return std::nullopt;
  return values;
}

/// The f32 values of a constant weight, dense or resource-backed.
std::optional<std::vector<float>> constantFloats(Value v) {
  auto constant = v.getDefiningOp<ConstantOp>();
  if (!constant)
    return std::nullopt;
  return readF32Constant(constant.getValue());
}

/// conv(x, W, b) * c -> conv(x, W * c, b * c) and conv(x, W, b) + d ->
/// conv(x, W, b + d) for constant per-output-channel c and d: folds the
/// inference BatchNormalization (and bias adds) that exporters put after a
/// convolution into its weights, so it costs nothing at run time.
struct FoldChannelAffineIntoConv : OpRewritePattern<BinaryOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BinaryOp op, PatternRewriter &rewriter) const override {
    bool isMul = op.getKind() == BinaryKind::mul, isAdd = op.getKind() == BinaryKind::add;
    if (!isMul && !isAdd)
      return failure();
    auto conv = op.getLhs().getDefiningOp<ConvOp>();
    Value other = op.getRhs();
    if (!conv) {
      conv = op.getRhs().getDefiningOp<ConvOp>();
      other = op.getLhs();
    }
    if (!conv || !conv->hasOneUse() || conv.getType() != op.getType())
      return failure();
    auto factors = perChannelConstant(other, conv);
    if (!factors)
      return failure();
    int64_t channels = conv.getType().getDimSize(1);
    std::vector<float> bias(channels, 0.0f);
    if (Value b = conv.getBias()) {
      auto values = constantFloats(b);
      if (!values || (int64_t)values->size() != channels)
        return failure();
      bias = *values;
    }
    Value weight = conv.getWeight();
    if (isMul) {
      auto w = constantFloats(weight);
      if (!w || w->size() % channels)
        return failure();
      size_t perChannel = w->size() / channels;
      for (int64_t m = 0; m < channels; ++m) {
        for (size_t i = 0; i < perChannel; ++i)
          (*w)[m * perChannel + i] *= (*factors)[m];
        bias[m] *= (*factors)[m];
      }
      // Large weights stay resource blobs, so printed IR stays small.
      auto type = cast<RankedTensorType>(weight.getType());
      ElementsAttr folded;
      if (w->size() * sizeof(float) >= 4096)
        folded = DenseResourceElementsAttr::get(
            type, "folded_conv_weight",
            HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<float>(*w)));
      else
        folded = DenseElementsAttr::get(type, ArrayRef<float>(*w));
      weight = rewriter.create<ConstantOp>(conv.getLoc(), folded);
    } else {
      for (int64_t m = 0; m < channels; ++m)
        bias[m] += (*factors)[m];
    }
    auto biasType = RankedTensorType::get({channels}, rewriter.getF32Type());
    Value newBias = rewriter.create<ConstantOp>(
        conv.getLoc(), DenseElementsAttr::get(biasType, ArrayRef<float>(bias)));
    rewriter.replaceOpWithNewOp<ConvOp>(op, op.getType(), conv.getInput(), weight, newBias,
                                        conv.getStridesAttr(), conv.getPadsAttr(),
                                        conv.getDilationsAttr(), conv.getGroupAttr());
    return success();
  }
};
/// A zero-padding pad: its (non-negative, constant) pads, else nullopt.
std::optional<SmallVector<int64_t>> zeroPads(PadOp pad) {
  std::optional<SmallVector<int64_t>> pads = getConstantInts(pad.getPads()); // i32 or i64
  if (pad.getMode() != PadMode::constant || !pads)
    return std::nullopt;
  if (Value fill = pad.getValue()) {
    DenseElementsAttr value;
    if (!matchPattern(fill, m_Constant(&value)) || !value.isSplat())
      return std::nullopt;
    auto type = value.getElementType();
    bool zero = isa<FloatType>(type) ? value.getSplatValue<APFloat>().isPosZero()
                : type.isIntOrIndex() ? value.getSplatValue<APInt>().isZero()
                                      : false;
    if (!zero)
      return std::nullopt;
  }
  if (llvm::any_of(*pads, [](int64_t p) { return p < 0; }))
    return std::nullopt;
  return pads;
}

/// pad0(a) + pad0(b) -> pad0(concat(a, b)) where the two zero-paddings place
/// a and b side by side along one axis (and alike along the others): the
/// gradient of a split (slices of one value, each padded back with zeros,
/// summed) becomes one concat instead of a full-size pad and add per slice.
struct MergeAdjacentZeroPads : OpRewritePattern<BinaryOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BinaryOp op, PatternRewriter &rewriter) const override {
    auto lhs = op.getLhs().getDefiningOp<PadOp>(), rhs = op.getRhs().getDefiningOp<PadOp>();
    if (op.getKind() != BinaryKind::add || !lhs || !rhs || !lhs->hasOneUse() ||
        !rhs->hasOneUse() || lhs.getType() != op.getType() || rhs.getType() != op.getType() ||
        !op.getType().hasStaticShape() ||
        !cast<RankedTensorType>(lhs.getInput().getType()).hasStaticShape() ||
        !cast<RankedTensorType>(rhs.getInput().getType()).hasStaticShape())
      return failure();
    std::optional<SmallVector<int64_t>> a = zeroPads(lhs), b = zeroPads(rhs);
    int64_t rank = op.getType().getRank();
    if (!a || !b || (int64_t)a->size() != 2 * rank || (int64_t)b->size() != 2 * rank)
      return failure();
    int64_t axis = -1;
    for (int64_t d = 0; d < rank; ++d) {
      if ((*a)[d] == (*b)[d] && (*a)[rank + d] == (*b)[rank + d])
        continue;
      if (axis >= 0)
        return failure(); // they differ along two axes
      axis = d;
    }
    if (axis < 0)
      return failure(); // the same region: an add, not a concat
    int64_t dim = op.getType().getDimSize(axis);
    PadOp first = lhs, second = rhs;
    SmallVector<int64_t> *firstPads = &*a, *secondPads = &*b;
    if (dim - (*a)[rank + axis] != (*b)[axis]) {
      std::swap(first, second);
      std::swap(firstPads, secondPads);
    }
    if (dim - (*firstPads)[rank + axis] != (*secondPads)[axis])
      return failure(); // not side by side
    SmallVector<int64_t> pads(*firstPads);
    pads[rank + axis] = (*secondPads)[rank + axis];
    auto firstType = cast<RankedTensorType>(first.getInput().getType());
    SmallVector<int64_t> shape(firstType.getShape());
    shape[axis] += cast<RankedTensorType>(second.getInput().getType()).getDimSize(axis);
    Location loc = op.getLoc();
    Value joined = rewriter.create<ConcatOp>(
        loc, RankedTensorType::get(shape, firstType.getElementType()),
        ValueRange{first.getInput(), second.getInput()}, rewriter.getI64IntegerAttr(axis));
    if (llvm::all_of(pads, [](int64_t p) { return p == 0; })) {
      rewriter.replaceOp(op, joined);
      return success();
    }
    auto padsType = RankedTensorType::get({2 * rank}, rewriter.getI64Type());
    Value padValues =
        rewriter.create<ConstantOp>(loc, DenseElementsAttr::get(padsType, ArrayRef(pads)));
    rewriter.replaceOpWithNewOp<PadOp>(op, op.getType(), joined, padValues, first.getValue(),
                                       PadMode::constant);
    return success();
  }
};
} // namespace

void BinaryOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *ctx) {
  results.add<FoldChannelAffineIntoConv, MergeAdjacentZeroPads>(ctx);
}

void TransposeOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *ctx) {
  results.add<ComposeTransposes, FoldConstantTranspose>(ctx);
}
void ReshapeOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *ctx) {
  results.add<ComposeReshapes>(ctx);
}
void CastOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *ctx) {
  results.add<ComposeWideningCasts>(ctx);
}

std::optional<std::vector<char>> mlir::ds::readConstantBytes(ElementsAttr attr) {
  // Not i1 (DenseElementsAttr packs it in bits) nor a splat (one stored
  // element). Dense 2- to 7-bit integers are stored a byte each; blobs hold
  // whole-byte types only (a writer may pack sub-byte ones).
  Type element = attr.getElementType();
  if (!element.isIntOrFloat() || element.getIntOrFloatBitWidth() < 2)
    return std::nullopt;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    if (dense.isSplat())
      return std::nullopt;
    ArrayRef<char> raw = dense.getRawData();
    return std::vector<char>(raw.begin(), raw.end());
  }
  if (element.getIntOrFloatBitWidth() % 8)
    return std::nullopt;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr))
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob()) {
      ArrayRef<char> bytes = blob->getData();
      return std::vector<char>(bytes.begin(), bytes.end());
    }
  return std::nullopt;
}

std::optional<std::vector<float>> mlir::ds::readF32Constant(ElementsAttr attr) {
  if (!attr.getElementType().isF32())
    return std::nullopt;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr))
    return std::vector<float>(dense.getValues<float>().begin(), dense.getValues<float>().end());
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr))
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob()) {
      ArrayRef<char> bytes = blob->getData();
      std::vector<float> values(bytes.size() / sizeof(float));
      std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
      return values;
    }
  return std::nullopt;
}
