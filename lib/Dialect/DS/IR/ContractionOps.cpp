//===- ContractionOps.cpp - inference for matmul, conv, pooling, attention ===//
#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Dialect/DS/IR/ShapeUtils.h"

#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::ds;

namespace {
RankedTensorType rankedOf(Value v) { return cast<RankedTensorType>(v.getType()); }
constexpr int64_t kDyn = ShapedType::kDynamic;

/// Two dims that must agree: the static one wins, a conflict fails.
bool mergeDim(int64_t a, int64_t b, int64_t &out) {
  if (ShapedType::isDynamic(a)) {
    out = b;
    return true;
  }
  out = a;
  return ShapedType::isDynamic(b) || a == b;
}

/// Output length of a sliding window; kDyn when the input is dynamic.
int64_t windowOutput(int64_t in, int64_t kernel, int64_t stride, int64_t padBegin,
                     int64_t padEnd, int64_t dilation, bool ceilMode) {
  if (ShapedType::isDynamic(in))
    return kDyn;
  int64_t span = (kernel - 1) * dilation + 1;
  int64_t extent = in + padBegin + padEnd - span;
  if (extent < 0)
    return -1;
  int64_t out = (ceilMode ? (extent + stride - 1) / stride : extent / stride) + 1;
  // A window that would start entirely in the end padding is dropped.
  if (ceilMode && (out - 1) * stride >= in + padBegin)
    --out;
  return out;
}

LogicalResult checkWindowAttrs(std::optional<Location> loc, size_t spatial,
                               ArrayRef<int64_t> strides, ArrayRef<int64_t> pads,
                               ArrayRef<int64_t> dilations) {
  if (strides.size() != spatial || dilations.size() != spatial ||
      pads.size() != 2 * spatial)
    return emitOptionalError(loc, "expected ", spatial, " strides and dilations and ",
                             2 * spatial, " pads for ", spatial, " spatial dims");
  for (int64_t s : strides)
    if (s <= 0)
      return emitOptionalError(loc, "strides must be positive");
  for (int64_t d : dilations)
    if (d <= 0)
      return emitOptionalError(loc, "dilations must be positive");
  for (int64_t p : pads)
    if (p < 0)
      return emitOptionalError(loc, "pads must be non-negative");
  return success();
}
} // namespace

/// The result shape of numpy.matmul of `lhs` and `rhs` (types checked by the caller).
static LogicalResult inferMatMulShape(std::optional<Location> loc, RankedTensorType lhs,
                                      RankedTensorType rhs, SmallVectorImpl<int64_t> &result) {
  if (lhs.getRank() == 0 || rhs.getRank() == 0)
    return emitOptionalError(loc, "matmul operands must have rank >= 1");
  SmallVector<int64_t> a(lhs.getShape()), b(rhs.getShape());
  bool lhsVector = a.size() == 1, rhsVector = b.size() == 1;
  if (lhsVector)
    a.insert(a.begin(), 1);
  if (rhsVector)
    b.push_back(1);
  int64_t k;
  if (!mergeDim(a.back(), b[b.size() - 2], k))
    return emitOptionalError(loc, "matmul contraction dims differ: ", formatShape(lhs.getShape()),
                             " times ", formatShape(rhs.getShape()));
  SmallVector<int64_t> batch;
  if (!broadcastShapes(ArrayRef<int64_t>(a).drop_back(2),
                       ArrayRef<int64_t>(b).drop_back(2), batch))
    return emitOptionalError(loc, "matmul batch dims are not broadcast-compatible: ",
                             formatShape(lhs.getShape()), " times ",
                             formatShape(rhs.getShape()));
  if (!lhsVector)
    batch.push_back(a[a.size() - 2]);
  if (!rhsVector)
    batch.push_back(b.back());
  result.assign(batch.begin(), batch.end());
  return success();
}

LogicalResult MatMulOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  auto lhs = rankedOf(adaptor.getLhs()), rhs = rankedOf(adaptor.getRhs());
  if (lhs.getElementType() != rhs.getElementType())
    return emitOptionalError(loc, "matmul operands differ in element type: ",
                             lhs.getElementType(), " vs ", rhs.getElementType());
  SmallVector<int64_t> shape;
  if (failed(inferMatMulShape(loc, lhs, rhs, shape)))
    return failure();
  inferred.push_back(RankedTensorType::get(shape, lhs.getElementType()));
  return success();
}

LogicalResult MatMulIntegerOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                                Adaptor adaptor,
                                                SmallVectorImpl<Type> &inferred) {
  SmallVector<int64_t> shape;
  if (failed(inferMatMulShape(loc, rankedOf(adaptor.getLhs()), rankedOf(adaptor.getRhs()), shape)))
    return failure();
  inferred.push_back(RankedTensorType::get(shape, IntegerType::get(ctx, 32)));
  return success();
}

/// The zero point `zp` (if any) of an 8-bit operand of an integer
/// contraction: the operand's element type, and one value, or one per slice
/// of the operand's dim `sliceDim` when it has one (`slices` names them).
static LogicalResult verifyZeroPoint(Operation *op, Value zp, Value operand, StringRef name,
                                     std::optional<int64_t> sliceDim, StringRef slices) {
  if (!zp)
    return success();
  auto zpType = cast<RankedTensorType>(zp.getType());
  auto type = cast<RankedTensorType>(operand.getType());
  if (zpType.getElementType() != type.getElementType())
    return op->emitOpError() << name << " zero point has element type "
                             << zpType.getElementType() << ", expected " << type.getElementType();
  bool scalar = zpType.hasStaticShape() && zpType.getNumElements() == 1;
  bool perSlice = sliceDim && zpType.getRank() == 1 && type.getRank() >= 2 &&
                  zpType.getDimSize(0) == type.getDimSize(*sliceDim);
  if (!scalar && !perSlice)
    return op->emitOpError() << name << " zero point of shape "
                             << formatShape(zpType.getShape()) << " must be one value"
                             << (sliceDim ? " or one per " + slices.str() : "");
  return success();
}

LogicalResult MatMulIntegerOp::verify() {
  int64_t lastRhsDim = cast<RankedTensorType>(getRhs().getType()).getRank() - 1;
  return failure(
      failed(verifyZeroPoint(*this, getLhsZeroPoint(), getLhs(), "lhs", std::nullopt, "")) ||
      failed(verifyZeroPoint(*this, getRhsZeroPoint(), getRhs(), "rhs", lastRhsDim,
                             "column of the rhs")));
}

LogicalResult MatMulQuantizedWeightOp::inferReturnTypes(MLIRContext *ctx,
                                                        std::optional<Location> loc,
                                                        Adaptor adaptor,
                                                        SmallVectorImpl<Type> &inferred) {
  auto lhs = rankedOf(adaptor.getLhs()), weight = rankedOf(adaptor.getWeight());
  if (lhs.getRank() < 2 || weight.getRank() != 2)
    return emitOptionalError(loc, "expects an lhs of rank >= 2 and a [K, N] weight, got ", lhs,
                             " and ", weight);
  SmallVector<int64_t> shape;
  auto weightAsF32 = RankedTensorType::get(weight.getShape(), Float32Type::get(ctx));
  if (failed(inferMatMulShape(loc, lhs, weightAsF32, shape)))
    return failure();
  inferred.push_back(RankedTensorType::get(shape, Float32Type::get(ctx)));
  return success();
}

LogicalResult MatMulQuantizedWeightOp::verify() {
  auto weight = rankedOf(getWeight()), scale = rankedOf(getScale());
  int64_t K = weight.getDimSize(0), N = weight.getDimSize(1), block = getBlockSize();
  if (block < 0)
    return emitOpError() << "block_size must be at least 0, got " << block;
  if (!weight.hasStaticShape() || !scale.hasStaticShape())
    return emitOpError() << "expects a weight and scales of static shape";
  // One value, one per column, or one per column and block of rows.
  SmallVector<int64_t> perColumn = {N}, perBlock;
  if (block > 0)
    perBlock = {(K + block - 1) / block, N};
  bool one = scale.getNumElements() == 1 && block == 0;
  ArrayRef<int64_t> expected = block > 0 ? ArrayRef<int64_t>(perBlock) : perColumn;
  if (!one && scale.getShape() != expected)
    return emitOpError() << "scale of shape " << formatShape(scale.getShape()) << " must be "
                         << (block > 0 ? "" : "one value or ") << formatShape(expected)
                         << " for a " << formatShape(weight.getShape()) << " weight"
                         << (block > 0 ? " in blocks of " + std::to_string(block) + " rows"
                                       : std::string());
  if (Value zp = getZeroPoint()) {
    auto zpType = rankedOf(zp);
    if (zpType.getElementType() != weight.getElementType())
      return emitOpError() << "zero point has element type " << zpType.getElementType()
                           << ", expected the weight's " << weight.getElementType();
    if (zpType.getShape() != scale.getShape())
      return emitOpError() << "zero point of shape " << formatShape(zpType.getShape())
                           << " must have the scale's shape " << formatShape(scale.getShape());
  }
  return success();
}

LogicalResult EinsumOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  std::string equation;
  for (char c : adaptor.getEquation())
    if (c != ' ')
      equation.push_back(c);
  StringRef eq(equation);
  auto [lhsText, rhsText] = eq.split("->");
  bool explicitOutput = eq.contains("->");
  SmallVector<StringRef> terms;
  lhsText.split(terms, ',');
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty() || terms.size() != inputs.size())
    return emitOptionalError(loc, "einsum equation '", adaptor.getEquation(), "' has ",
                             terms.size(), " terms for ", inputs.size(), " inputs");
  llvm::DenseMap<char, int64_t> dims;
  llvm::DenseMap<char, int> counts;
  std::string order; // first-appearance order of labels
  SmallVector<int64_t> ellipsis;
  bool sawEllipsis = false;
  Type element = rankedOf(inputs.front()).getElementType();
  for (auto [term, input] : llvm::zip(terms, inputs)) {
    auto type = rankedOf(input);
    if (type.getElementType() != element)
      return emitOptionalError(loc, "einsum inputs differ in element type");
    size_t dotPos = term.find("...");
    int64_t labels = (int64_t)term.size() - (dotPos == StringRef::npos ? 0 : 3);
    int64_t ellipsisRank = type.getRank() - labels;
    if (ellipsisRank < 0 || (dotPos == StringRef::npos && ellipsisRank != 0))
      return emitOptionalError(loc, "einsum term '", term, "' does not match an input of rank ",
                               type.getRank());
    int64_t dim = 0;
    for (size_t i = 0; i < term.size(); ++i) {
      if (i == dotPos) {
        SmallVector<int64_t> merged;
        if (!broadcastShapes(ellipsis, type.getShape().slice(dim, ellipsisRank), merged))
          return emitOptionalError(loc, "einsum ellipsis dims do not broadcast");
        ellipsis = merged;
        sawEllipsis = true;
        dim += ellipsisRank;
        i += 2;
        continue;
      }
      char c = term[i];
      if (!llvm::isAlpha(c))
        return emitOptionalError(loc, "einsum label '", std::string(1, c), "' is not a letter");
      int64_t size = type.getDimSize(dim++);
      auto it = dims.find(c);
      if (it == dims.end()) {
        dims[c] = size;
        order.push_back(c);
      } else if (it->second == 1 || ShapedType::isDynamic(it->second)) {
        it->second = size;
      } else if (size != 1 && !ShapedType::isDynamic(size) && size != it->second) {
        return emitOptionalError(loc, "einsum label '", std::string(1, c),
                                 "' has sizes ", it->second, " and ", size);
      }
      ++counts[c];
    }
  }
  SmallVector<int64_t> shape;
  if (explicitOutput) {
    for (size_t i = 0; i < rhsText.size(); ++i) {
      if (rhsText.substr(i).starts_with("...")) {
        shape.append(ellipsis);
        i += 2;
        continue;
      }
      auto it = dims.find(rhsText[i]);
      if (it == dims.end())
        return emitOptionalError(loc, "einsum output label '", std::string(1, rhsText[i]),
                                 "' is not in any input");
      shape.push_back(it->second);
    }
  } else {
    if (sawEllipsis)
      shape.append(ellipsis);
    std::string sorted = order;
    llvm::sort(sorted);
    for (char c : sorted)
      if (counts[c] == 1)
        shape.push_back(dims[c]);
  }
  inferred.push_back(RankedTensorType::get(shape, element));
  return success();
}

/// The result type of a convolution of `input` by `weight` (conv and
/// conv_integer), with elements of `element`.
static LogicalResult inferConvType(std::optional<Location> loc, RankedTensorType input,
                                   RankedTensorType weight, ArrayRef<int64_t> strides,
                                   ArrayRef<int64_t> pads, ArrayRef<int64_t> dilations,
                                   int64_t group, Value bias, Type element,
                                   SmallVectorImpl<Type> &inferred) {
  if (input.getRank() < 3 || weight.getRank() != input.getRank())
    return emitOptionalError(loc, "conv needs input and weight of equal rank >= 3, got ",
                             formatShape(input.getShape()), " and ",
                             formatShape(weight.getShape()));
  size_t spatial = input.getRank() - 2;
  if (failed(checkWindowAttrs(loc, spatial, strides, pads, dilations)))
    return failure();
  int64_t channels = input.getDimSize(1), perGroup = weight.getDimSize(1);
  int64_t filters = weight.getDimSize(0);
  if (group <= 0)
    return emitOptionalError(loc, "conv group must be positive");
  if (!ShapedType::isDynamic(channels) && !ShapedType::isDynamic(perGroup) &&
      channels != perGroup * group)
    return emitOptionalError(loc, "conv input has ", channels, " channels but weight expects ",
                             perGroup, " x group ", group);
  if (!ShapedType::isDynamic(filters) && filters % group != 0)
    return emitOptionalError(loc, "conv filters ", filters, " not divisible by group ", group);
  if (bias) {
    auto b = rankedOf(bias);
    int64_t m;
    if (b.getRank() != 1 || !mergeDim(b.getDimSize(0), filters, m))
      return emitOptionalError(loc, "conv bias must be 1-D with ", filters, " elements");
  }
  SmallVector<int64_t> shape{input.getDimSize(0), filters};
  for (size_t i = 0; i < spatial; ++i) {
    int64_t k = weight.getDimSize(i + 2);
    int64_t out = ShapedType::isDynamic(k)
                      ? kDyn
                      : windowOutput(input.getDimSize(i + 2), k, strides[i], pads[i],
                                     pads[i + spatial], dilations[i], false);
    if (out != kDyn && out <= 0)
      return emitOptionalError(loc, "conv window larger than padded input in spatial dim ", i);
    shape.push_back(out);
  }
  inferred.push_back(RankedTensorType::get(shape, element));
  return success();
}

LogicalResult ConvOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                       Adaptor adaptor, SmallVectorImpl<Type> &inferred) {
  auto input = rankedOf(adaptor.getInput()), weight = rankedOf(adaptor.getWeight());
  return inferConvType(loc, input, weight, adaptor.getStrides(), adaptor.getPads(),
                       adaptor.getDilations(), (int64_t)adaptor.getGroup(), adaptor.getBias(),
                       input.getElementType(), inferred);
}

LogicalResult ConvIntegerOp::inferReturnTypes(MLIRContext *context, std::optional<Location> loc,
                                              Adaptor adaptor, SmallVectorImpl<Type> &inferred) {
  return inferConvType(loc, rankedOf(adaptor.getInput()), rankedOf(adaptor.getWeight()),
                       adaptor.getStrides(), adaptor.getPads(), adaptor.getDilations(),
                       (int64_t)adaptor.getGroup(), Value(), IntegerType::get(context, 32),
                       inferred);
}

LogicalResult ConvIntegerOp::verify() {
  return failure(
      failed(verifyZeroPoint(*this, getInputZeroPoint(), getInput(), "input", std::nullopt, "")) ||
      failed(verifyZeroPoint(*this, getWeightZeroPoint(), getWeight(), "weight", 0,
                             "output channel")));
}

LogicalResult ConvTransposeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                Adaptor adaptor,
                                                SmallVectorImpl<Type> &inferred) {
  auto input = rankedOf(adaptor.getInput()), weight = rankedOf(adaptor.getWeight());
  if (input.getRank() < 3 || weight.getRank() != input.getRank())
    return emitOptionalError(loc, "conv_transpose needs input and weight of equal rank >= 3");
  size_t spatial = input.getRank() - 2;
  if (failed(checkWindowAttrs(loc, spatial, adaptor.getStrides(), adaptor.getPads(),
                              adaptor.getDilations())))
    return failure();
  if (adaptor.getOutputPadding().size() != spatial)
    return emitOptionalError(loc, "conv_transpose needs ", spatial, " output_padding values");
  int64_t group = (int64_t)adaptor.getGroup();
  if (group <= 0)
    return emitOptionalError(loc, "conv_transpose group must be positive");
  int64_t c;
  if (!mergeDim(input.getDimSize(1), weight.getDimSize(0), c))
    return emitOptionalError(loc, "conv_transpose input channels ", input.getDimSize(1),
                             " differ from weight dim 0 ", weight.getDimSize(0));
  int64_t m = weight.getDimSize(1);
  SmallVector<int64_t> shape{input.getDimSize(0),
                             ShapedType::isDynamic(m) ? kDyn : m * group};
  for (size_t i = 0; i < spatial; ++i) {
    int64_t in = input.getDimSize(i + 2), k = weight.getDimSize(i + 2);
    if (ShapedType::isDynamic(in) || ShapedType::isDynamic(k)) {
      shape.push_back(kDyn);
      continue;
    }
    int64_t out = adaptor.getStrides()[i] * (in - 1) + adaptor.getOutputPadding()[i] +
                  (k - 1) * adaptor.getDilations()[i] + 1 - adaptor.getPads()[i] -
                  adaptor.getPads()[i + spatial];
    if (out <= 0)
      return emitOptionalError(loc, "conv_transpose output dim ", i, " is not positive");
    shape.push_back(out);
  }
  inferred.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult PoolOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  auto input = rankedOf(adaptor.getInput());
  ArrayRef<int64_t> kernel = adaptor.getKernelShape();
  if (input.getRank() < 3 || kernel.size() != (size_t)input.getRank() - 2)
    return emitOptionalError(loc, "pool needs an input of rank >= 3 and one kernel dim per "
                                  "spatial dim, got input ",
                             formatShape(input.getShape()), " and ", kernel.size(),
                             " kernel dims");
  size_t spatial = kernel.size();
  if (failed(checkWindowAttrs(loc, spatial, adaptor.getStrides(), adaptor.getPads(),
                              adaptor.getDilations())))
    return failure();
  SmallVector<int64_t> shape(input.getShape().take_front(2));
  for (size_t i = 0; i < spatial; ++i) {
    if (kernel[i] <= 0)
      return emitOptionalError(loc, "kernel_shape must be positive");
    int64_t out = windowOutput(input.getDimSize(i + 2), kernel[i], adaptor.getStrides()[i],
                               adaptor.getPads()[i], adaptor.getPads()[i + spatial],
                               adaptor.getDilations()[i], adaptor.getCeilMode());
    if (out != kDyn && out <= 0)
      return emitOptionalError(loc, "pool window larger than padded input in spatial dim ", i);
    shape.push_back(out);
  }
  inferred.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

bool PoolOp::isMaxOverInputsOnly() {
  ArrayRef<int64_t> kernel = getKernelShape(), pads = getPads();
  if (getKind() != PoolKind::max || getCeilMode() || pads.size() != 2 * kernel.size() ||
      llvm::any_of(getDilations(), [](int64_t d) { return d != 1; }))
    return false;
  // A spatial dim of size 0 would make every window padding.
  ArrayRef<int64_t> dims = rankedOf(getInput()).getShape();
  if (dims.size() != kernel.size() + 2 || llvm::any_of(dims.drop_front(2), [](int64_t d) {
        return ShapedType::isDynamic(d) || d < 1;
      }))
    return false;
  for (size_t d = 0; d < kernel.size(); ++d)
    if (pads[d] >= kernel[d] || pads[d + kernel.size()] >= kernel[d])
      return false;
  return true;
}

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  auto q = rankedOf(adaptor.getQuery()), k = rankedOf(adaptor.getKey()),
       v = rankedOf(adaptor.getValue());
  if (q.getRank() != 4 || k.getRank() != 4 || v.getRank() != 4)
    return emitOptionalError(loc, "attention needs 4-D query, key and value [B, H, S, D]");
  int64_t batch, kvLen, headDim;
  if (!mergeDim(q.getDimSize(0), k.getDimSize(0), batch) ||
      !mergeDim(batch, v.getDimSize(0), batch))
    return emitOptionalError(loc, "attention batch sizes differ");
  if (!mergeDim(q.getDimSize(3), k.getDimSize(3), headDim))
    return emitOptionalError(loc, "attention query and key head sizes differ: ",
                             q.getDimSize(3), " vs ", k.getDimSize(3));
  if (!mergeDim(k.getDimSize(2), v.getDimSize(2), kvLen))
    return emitOptionalError(loc, "attention key and value lengths differ");
  int64_t hq = q.getDimSize(1), hk = k.getDimSize(1), hv;
  if (!mergeDim(hk, v.getDimSize(1), hv))
    return emitOptionalError(loc, "attention key and value head counts differ");
  if (!ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hv) && (hv == 0 || hq % hv))
    return emitOptionalError(loc, "attention query heads ", hq,
                             " are not a multiple of key/value heads ", hv);
  if (Value mask = adaptor.getMask()) {
    SmallVector<int64_t> full{batch, hq, q.getDimSize(2), kvLen}, merged;
    auto m = rankedOf(mask);
    if (m.getRank() > 4 || !broadcastShapes(full, m.getShape(), merged) ||
        !llvm::equal(merged, full))
      return emitOptionalError(loc, "attention mask ", formatShape(m.getShape()),
                               " does not broadcast to ", formatShape(full));
  }
  inferred.push_back(RankedTensorType::get(
      {batch, hq, q.getDimSize(2), v.getDimSize(3)}, q.getElementType()));
  return success();
}

LogicalResult SparseAttentionOp::inferReturnTypes(MLIRContext *context,
                                                  std::optional<Location> loc, Adaptor adaptor,
                                                  SmallVectorImpl<Type> &inferred) {
  // q, k, v as in ds.attention (no mask); indices [B, 1 | Hq, S, K].
  // The adaptor keeps a range over its operands: they must outlive it.
  SmallVector<Value> operands{adaptor.getQuery(), adaptor.getKey(), adaptor.getValue()};
  AttentionOp::Adaptor dense(operands, DictionaryAttr::get(context, {}), {}, {});
  if (failed(AttentionOp::inferReturnTypes(context, loc, dense, inferred)))
    return failure();
  auto q = rankedOf(adaptor.getQuery()), idx = rankedOf(adaptor.getIndices());
  int64_t merged;
  if (idx.getRank() != 4 || !mergeDim(q.getDimSize(0), idx.getDimSize(0), merged) ||
      !mergeDim(q.getDimSize(2), idx.getDimSize(2), merged) ||
      (idx.getDimSize(1) != 1 && !mergeDim(q.getDimSize(1), idx.getDimSize(1), merged)))
    return emitOptionalError(loc, "sparse_attention indices ", formatShape(idx.getShape()),
                             " are not [B, 1 or Hq, S, K] for the query ",
                             formatShape(q.getShape()));
  return success();
}

LogicalResult BlockSparseAttentionOp::inferReturnTypes(MLIRContext *context,
                                                       std::optional<Location> loc,
                                                       Adaptor adaptor,
                                                       SmallVectorImpl<Type> &inferred) {
  // q, k, v and the mask as in ds.attention; the layout is the verifier's.
  SmallVector<Value> dense{adaptor.getQuery(), adaptor.getKey(), adaptor.getValue()};
  if (adaptor.getMask())
    dense.push_back(adaptor.getMask());
  AttentionOp::Adaptor attention(dense, DictionaryAttr::get(context, {}), {}, {});
  return AttentionOp::inferReturnTypes(context, loc, attention, inferred);
}

/// A fused attention backward's results: the types of query, key and value,
/// once its `output` and `output_grad` are the forward's result type.
template <typename Adaptor>
static LogicalResult inferGradientTypes(std::optional<Location> loc, StringRef op, Type result,
                                        Adaptor adaptor, SmallVectorImpl<Type> &inferred) {
  for (Value operand : {adaptor.getOutput(), adaptor.getOutputGrad()})
    if (!areCompatibleTensorTypes(TypeRange{result}, TypeRange{operand.getType()}))
      return emitOptionalError(loc, op, ": output and output_grad must be ", result, ", got ",
                               operand.getType());
  inferred.append(
      {adaptor.getQuery().getType(), adaptor.getKey().getType(), adaptor.getValue().getType()});
  return success();
}

/// The same for a backward whose forward is shaped as ds.attention (q, k, v
/// and an optional mask): its result type comes from ds.attention's checks.
template <typename Adaptor>
static LogicalResult inferDenseGradientTypes(MLIRContext *context, std::optional<Location> loc,
                                             StringRef op, Adaptor adaptor,
                                             SmallVectorImpl<Type> &inferred) {
  SmallVector<Value> forward{adaptor.getQuery(), adaptor.getKey(), adaptor.getValue()};
  if (adaptor.getMask())
    forward.push_back(adaptor.getMask());
  AttentionOp::Adaptor attention(forward, DictionaryAttr::get(context, {}), {}, {});
  SmallVector<Type> result;
  if (failed(AttentionOp::inferReturnTypes(context, loc, attention, result)))
    return failure();
  return inferGradientTypes(loc, op, result[0], adaptor, inferred);
}

/// The causal patterns of ds.attention (or its gradient): window and sinks
/// need is_causal and are not negative; so does causal_from_end.
template <typename Op> static LogicalResult verifyCausalPattern(Op op) {
  if ((op.getWindow() || op.getSinkTokens()) && !op.getIsCausal())
    return op.emitOpError(
        "window and sink_tokens restrict causal attention: they need is_causal");
  if ((int64_t)op.getWindow() < 0 || (int64_t)op.getSinkTokens() < 0)
    return op.emitOpError("window and sink_tokens must not be negative");
  if (op.getCausalFromEnd() && !op.getIsCausal())
    return op.emitOpError("causal_from_end needs is_causal");
  return success();
}

/// The checks of a block-sparse attention (or its gradient): block size,
/// causality, the layout's dims against q and k.
template <typename Op> static LogicalResult verifyBlockLayout(Op op) {
  const int64_t b = (int64_t)op.getBlockSize();
  if (b < 1 || b > 1024)
    return op.emitOpError("block_size must be in [1, 1024], got ") << b;
  if (op.getCausalFromEnd() && !op.getIsCausal())
    return op.emitOpError("causal_from_end needs is_causal");
  // A layout built at run time must be built for these blocks (its dims
  // alone may not tell: 10 keys are 2 blocks of 8 or of 9).
  if (auto built = op.getLayout().template getDefiningOp<BlockLayoutOp>();
      built && (int64_t)built.getBlockSize() != b)
    return op.emitOpError("block_size ")
           << b << " differs from its ds.block_layout's " << (int64_t)built.getBlockSize();
  auto layout = cast<RankedTensorType>(op.getLayout().getType());
  auto q = cast<RankedTensorType>(op.getQuery().getType());
  auto k = cast<RankedTensorType>(op.getKey().getType());
  if (layout.getRank() != 3)
    return op.emitOpError("layout must be [1 or Hq, query blocks, key blocks], got rank ")
           << layout.getRank();
  auto blocks = [&](int64_t n) { return ShapedType::isDynamic(n) ? n : (n + b - 1) / b; };
  int64_t want[3] = {q.getDimSize(1), blocks(q.getDimSize(2)), blocks(k.getDimSize(2))};
  const char *what[3] = {"heads", "query blocks", "key blocks"};
  for (int d = 0; d < 3; ++d) {
    int64_t got = layout.getDimSize(d);
    if (ShapedType::isDynamic(got) || ShapedType::isDynamic(want[d]) || got == want[d] ||
        (d == 0 && got == 1))
      continue;
    return op.emitOpError("layout dim ")
           << d << " (" << what[d] << ") is " << got << ", expected " << (d == 0 ? "1 or " : "")
           << want[d] << " for block_size " << b;
  }
  return success();
}

LogicalResult BlockSparseAttentionOp::verify() { return verifyBlockLayout(*this); }

LogicalResult BlockLayoutOp::inferReturnTypes(MLIRContext *context, std::optional<Location> loc,
                                              Adaptor adaptor, SmallVectorImpl<Type> &inferred) {
  (void)loc;
  // The lengths are known at run time only (constant lengths give a
  // constant layout instead): query and key blocks stay dynamic.
  inferred.push_back(RankedTensorType::get({1, ShapedType::kDynamic, ShapedType::kDynamic},
                                           IntegerType::get(context, 1)));
  return success();
}

LogicalResult BlockLayoutOp::verify() {
  const int64_t b = (int64_t)getBlockSize();
  if (b < 1 || b > 1024)
    return emitOpError("block_size must be in [1, 1024], got ") << b;
  if ((int64_t)getLocalBlocks() < 0 || (int64_t)getStrideBlocks() < 0 ||
      (int64_t)getGlobalBlocks() < 0)
    return emitOpError("local_blocks, stride_blocks and global_blocks must be >= 0");
  if (!getLocalBlocks() && !getStrideBlocks() && !getGlobalBlocks())
    return emitOpError("needs local_blocks, stride_blocks or global_blocks");
  if (getCausalFromEnd() && !getIsCausal())
    return emitOpError("causal_from_end needs is_causal");
  for (Value shape : {getQueryShape(), getKeyShape()}) {
    auto type = cast<RankedTensorType>(shape.getType());
    if (type.getRank() != 1 || type.isDynamicDim(0) || type.getDimSize(0) < 3)
      return emitOpError("query_shape and key_shape must be 1-D with at least 3 elements, got ")
             << type;
  }
  return success();
}

LogicalResult BlockSparseAttentionGradOp::verify() { return verifyBlockLayout(*this); }

LogicalResult BlockSparseAttentionGradOp::inferReturnTypes(MLIRContext *context,
                                                           std::optional<Location> loc,
                                                           Adaptor adaptor,
                                                           SmallVectorImpl<Type> &inferred) {
  return inferDenseGradientTypes(context, loc, "block_sparse_attention_grad", adaptor, inferred);
}

LogicalResult AttentionOp::verify() {
  if (failed(verifyCausalPattern(*this)))
    return failure();
  if (getSelectBlocks() || getBlockSize()) {
    if (!getIsCausal() || getWindow() || getSinkTokens())
      return emitOpError("select_blocks needs is_causal and excludes window / sink_tokens");
    if ((int64_t)getSelectBlocks() < 1 || (int64_t)getBlockSize() < 1 ||
        (int64_t)getBlockSize() > 128)
      return emitOpError("select_blocks must be >= 1 and block_size in [1, 128], got ")
             << (int64_t)getSelectBlocks() << " and " << (int64_t)getBlockSize();
  }
  return success();
}

LogicalResult AttentionGradOp::inferReturnTypes(MLIRContext *context,
                                                std::optional<Location> loc, Adaptor adaptor,
                                                SmallVectorImpl<Type> &inferred) {
  return inferDenseGradientTypes(context, loc, "attention_grad", adaptor, inferred);
}

LogicalResult SparseAttentionGradOp::inferReturnTypes(MLIRContext *context,
                                                      std::optional<Location> loc,
                                                      Adaptor adaptor,
                                                      SmallVectorImpl<Type> &inferred) {
  // The forward's checks; the gradients have the types of what they are of.
  // The adaptor keeps a range over its operands: they must outlive it.
  SmallVector<Value> operands{adaptor.getQuery(), adaptor.getKey(), adaptor.getValue(),
                              adaptor.getIndices()};
  SparseAttentionOp::Adaptor forward(operands, DictionaryAttr::get(context, {}), {}, {});
  SmallVector<Type> result;
  if (failed(SparseAttentionOp::inferReturnTypes(context, loc, forward, result)))
    return failure();
  return inferGradientTypes(loc, "sparse_attention_grad", result[0], adaptor, inferred);
}

LogicalResult AttentionGradOp::verify() { return verifyCausalPattern(*this); }

LogicalResult RotaryEmbeddingOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                                  Adaptor adaptor,
                                                  SmallVectorImpl<Type> &inferred) {
  inferred.push_back(adaptor.getInput().getType());
  return success();
}

LogicalResult RotaryEmbeddingOp::verify() {
  auto x = getInput().getType();
  if (x.getRank() != 3 && x.getRank() != 4)
    return emitOpError("input must be [B, H, S, D] or [B, S, H*D]");
  if (x.getRank() == 3 && getNumHeads() == 0)
    return emitOpError("3-D input needs num_heads");
  if (getCos().getType() != getSin().getType())
    return emitOpError("cos and sin caches differ in type");
  int64_t cacheRank = getCos().getType().getRank();
  if (getPositionIds() ? cacheRank != 2 : cacheRank != 3)
    return emitOpError("cos/sin must be 2-D with position_ids, 3-D without");
  return success();
}
