//===- CompositeImporters.cpp - ONNX ops expressed as several ds ops -------===//
//
// Ops that are compositions of existing ds ops: losses, normalizations with
// unusual axes, one-hot style constructions. Each is imported as its defining
// formula, so every backend runs it without a kernel of its own.
//
//===----------------------------------------------------------------------===//
#include "NodeImporter.h"
#include "ds/Dialect/DS/IR/ShapeUtils.h"

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::onnx_import;

namespace {
SmallVector<int64_t> allAxes(int64_t rank) {
  SmallVector<int64_t> axes;
  for (int64_t d = 0; d < rank; ++d)
    axes.push_back(d);
  return axes;
}

/// Integer sequence 0..dim-1 shaped to broadcast along `axis` of a rank-`rank` tensor.
Value iotaAlong(NodeImporter &n, int64_t dim, int64_t axis, int64_t rank) {
  SmallVector<int64_t> values;
  for (int64_t i = 0; i < dim; ++i)
    values.push_back(i);
  SmallVector<int64_t> shape(rank - axis, 1);
  shape[0] = dim;
  auto type = RankedTensorType::get(shape, n.builder.getI64Type());
  return n.constAttr(DenseElementsAttr::get(type, ArrayRef<int64_t>(values)));
}

/// Negative log-likelihood of `logProb` [N, C, d...] at `target` [N, d...].
Value nllLoss(NodeImporter &n, Value logProb, Value target, Value weight,
              std::optional<int64_t> ignoreIndex, StringRef reduction) {
  Type element = n.typeOf(logProb).getElementType();
  target = n.castTo(target, n.builder.getI64Type());
  Value ignored, safeTarget = target;
  if (ignoreIndex && target) {
    ignored = n.create<CompareOp>(CompareKind::eq, target, n.constInts({*ignoreIndex}, true));
    safeTarget = ignored ? n.create<SelectOp>(ignored, n.constInts({0}, true), target) : Value();
  }
  if (!safeTarget)
    return Value();
  Value index = n.unsqueeze(safeTarget, {1});
  Value picked = index ? n.create<GatherElementsOp>(logProb, index, 1) : Value();
  picked = picked ? n.squeeze(picked, {1}) : Value();
  Value loss = picked ? n.unary(UnaryKind::neg, picked) : Value();
  Value w;
  if (weight)
    w = n.create<GatherOp>(weight, safeTarget, 0);
  if (ignored) {
    Value zero = n.constScalar(element, 0);
    Value one = n.constScalar(element, 1);
    w = n.create<SelectOp>(ignored, zero, w ? w : n.create<ExpandOp>(one, n.create<ShapeOp>(
                                                      safeTarget, 0, n.typeOf(safeTarget).getRank())));
  }
  if (!loss || ((weight || ignored) && !w))
    return Value();
  if (w)
    loss = n.binary(BinaryKind::mul, loss, w);
  if (!loss || reduction == "none")
    return loss;
  int64_t rank = n.typeOf(loss).getRank();
  Value total = n.reduce(ReduceKind::sum, loss, allAxes(rank), false);
  if (reduction == "sum" || !total)
    return total;
  if (!w)
    return n.reduce(ReduceKind::mean, loss, allAxes(rank), false);
  Value weightSum = n.reduce(ReduceKind::sum, w, allAxes(rank), false);
  return weightSum ? n.binary(BinaryKind::div, total, weightSum) : Value();
}

/// The `reduction` and `ignore_index` attributes both losses share.
struct LossAttrs {
  std::string reduction;
  std::optional<int64_t> ignoreIndex;
};

FailureOr<LossAttrs> readLossAttrs(NodeImporter &n) {
  LossAttrs attrs{n.attrString("reduction", "mean"), std::nullopt};
  if (attrs.reduction != "none" && attrs.reduction != "sum" && attrs.reduction != "mean")
    return n.error() << "unknown reduction '" << attrs.reduction << "'";
  if (n.hasAttr("ignore_index"))
    attrs.ignoreIndex = n.attrInt("ignore_index", 0);
  return attrs;
}

LogicalResult importNLLLoss(NodeImporter &n) {
  auto input = n.required(0, "input"), target = n.required(1, "target");
  auto attrs = readLossAttrs(n);
  if (failed(input) || failed(target) || failed(attrs))
    return failure();
  return n.produce(
      {nllLoss(n, *input, *target, n.input(2), attrs->ignoreIndex, attrs->reduction)});
}

LogicalResult importSoftmaxCrossEntropy(NodeImporter &n) {
  auto scores = n.required(0, "scores"), labels = n.required(1, "labels");
  auto attrs = readLossAttrs(n);
  if (failed(scores) || failed(labels) || failed(attrs))
    return failure();
  Value logProb = n.create<SoftmaxOp>(*scores, 1, true);
  if (!logProb)
    return failure();
  SmallVector<Value> outs{nllLoss(n, logProb, *labels, n.input(2), attrs->ignoreIndex, attrs->reduction)};
  if (n.outputUsed(1))
    outs.push_back(logProb);
  return n.produce(outs);
}

LogicalResult importHardmax(NodeImporter &n) {
  auto x = n.required(0, "input");
  if (failed(x))
    return failure();
  auto type = n.typeOf(*x);
  int64_t rank = type.getRank();
  auto axis = normalizeAxis(n.attrInt("axis", n.since < 13 ? 1 : -1), rank);
  if (!axis)
    return n.error() << "axis " << n.attrInt("axis", n.since < 13 ? 1 : -1)
                     << " is out of range for rank " << rank;
  if (n.since < 13 && *axis != rank - 1)
    return n.error() << "opset < 13 Hardmax is supported on the last axis only";
  int64_t dim = type.getDimSize(*axis);
  if (ShapedType::isDynamic(dim))
    return n.error() << "needs a static dim along the axis";
  // One-hot of the first maximum along the axis.
  Value index = n.create<ArgReduceOp>(ArgReduceKind::argmax, *x, *axis, true, false);
  Value hit = index ? n.create<CompareOp>(CompareKind::eq, index,
                                          iotaAlong(n, dim, *axis, rank))
                    : Value();
  return n.produce({hit ? n.castTo(hit, type.getElementType()) : Value()});
}

LogicalResult importLpNormalization(NodeImporter &n) {
  auto x = n.required(0, "input");
  if (failed(x))
    return failure();
  int64_t rank = n.typeOf(*x).getRank(), p = n.attrInt("p", 2);
  auto axis = normalizeAxis(n.attrInt("axis", -1), rank);
  if (!axis || (p != 1 && p != 2))
    return n.error() << "needs an axis in range and p of 1 or 2";
  Value norm = n.reduce(p == 1 ? ReduceKind::l1 : ReduceKind::l2, *x, {*axis}, true);
  return n.produce({norm ? n.binary(BinaryKind::div, *x, norm) : Value()});
}

LogicalResult importMeanVarianceNormalization(NodeImporter &n) {
  auto x = n.required(0, "X");
  if (failed(x))
    return failure();
  int64_t rank = n.typeOf(*x).getRank();
  SmallVector<int64_t> axes = n.hasAttr("axes") ? n.attrInts("axes") : SmallVector<int64_t>{0, 2, 3};
  SmallVector<int64_t> normalized;
  for (int64_t a : axes) {
    auto axis = normalizeAxis(a, rank);
    if (!axis)
      return n.error() << "axis " << a << " is out of range for rank " << rank;
    normalized.push_back(*axis);
  }
  llvm::sort(normalized);
  Type element = n.typeOf(*x).getElementType();
  Value mean = n.reduce(ReduceKind::mean, *x, normalized, true);
  Value centered = mean ? n.binary(BinaryKind::sub, *x, mean) : Value();
  Value var = centered ? n.reduce(ReduceKind::mean,
                                  n.binary(BinaryKind::mul, centered, centered), normalized, true)
                       : Value();
  Value stddev = var ? n.unary(UnaryKind::sqrt,
                               n.binary(BinaryKind::add, var, n.constScalar(element, 1e-9)))
                     : Value();
  return n.produce({stddev ? n.binary(BinaryKind::div, centered, stddev) : Value()});
}

LogicalResult importGroupNormalization(NodeImporter &n) {
  auto x = n.required(0, "X"), scale = n.required(1, "scale"), bias = n.required(2, "bias");
  if (failed(x) || failed(scale) || failed(bias))
    return failure();
  if (n.since < 21)
    return n.error() << "GroupNormalization-18 (per-group scale) is not supported; use opset 21";
  auto type = n.typeOf(*x);
  int64_t groups = n.attrInt("num_groups", 0), rank = type.getRank();
  if (rank < 3 || groups <= 0)
    return n.error() << "needs an input of rank >= 3 and num_groups > 0";
  // [N, C, ...] -> [N, G, C/G * ...], normalize the last axis, then restore.
  Value grouped = n.reshape(*x, {0, groups, -1});
  Value y = grouped ? n.create<NormOp>(NormKind::mean_var, grouped, Value(), Value(), 2,
                                       APFloat(n.attrFloat("epsilon", 1e-5)))
                    : Value();
  Value shape = n.create<ShapeOp>(*x, 0, rank);
  y = y && shape ? n.create<ReshapeOp>(y, shape, false) : Value();
  SmallVector<int64_t> channel{-1};
  channel.append(rank - 2, 1);
  Value s = n.reshape(*scale, channel), b = n.reshape(*bias, channel);
  y = y && s ? n.binary(BinaryKind::mul, y, s) : Value();
  return n.produce({y && b ? n.binary(BinaryKind::add, y, b) : Value()});
}

LogicalResult importEyeLike(NodeImporter &n) {
  auto x = n.required(0, "input");
  if (failed(x))
    return failure();
  auto type = n.typeOf(*x);
  if (type.getRank() != 2 || !type.hasStaticShape())
    return n.error() << "needs a static 2-D input";
  Type element = type.getElementType();
  if (n.hasAttr("dtype")) {
    element = convertElementType(n.attrInt("dtype", 0), n.builder.getContext());
    if (!element)
      return n.error() << "unsupported dtype";
  }
  int64_t rows = type.getDimSize(0), cols = type.getDimSize(1), k = n.attrInt("k", 0);
  Value r = iotaAlong(n, rows, 0, 2);
  Value c = iotaAlong(n, cols, 1, 2);
  Value shifted = n.binary(BinaryKind::add, r, n.constInts({k}, true));
  Value eye = shifted ? n.create<CompareOp>(CompareKind::eq, c, shifted) : Value();
  return n.produce({eye ? n.castTo(eye, element) : Value()});
}

LogicalResult importOneHot(NodeImporter &n) {
  auto indices = n.required(0, "indices"), values = n.required(2, "values");
  auto depthValue = n.required(1, "depth");
  if (failed(indices) || failed(values) || failed(depthValue))
    return failure();
  int64_t outRank = n.typeOf(*indices).getRank() + 1;
  auto axis = normalizeAxis(n.attrInt("axis", -1), outRank);
  if (!axis)
    return n.error() << "axis " << n.attrInt("axis", -1) << " is out of range for rank "
                     << outRank,
           failure();
  // A constant depth gives a static dim; one only a run knows, a range of
  // that length (the result's dim along `axis` is then `?`).
  Value depth, iota;
  if (auto constant = getConstantFloats(*depthValue)) {
    int64_t d = (int64_t)(*constant)[0];
    if (d <= 0)
      return n.error() << "depth must be positive, got " << d, failure();
    depth = n.constInts({d}, true);
    iota = iotaAlong(n, d, *axis, outRank);
  } else {
    if (!holdsOneElement(n.typeOf(*depthValue)))
      return n.error() << "depth must hold one value", failure();
    depth = n.reshape(n.castTo(*depthValue, n.builder.getI64Type()), {});
    Value positive = depth ? n.create<CompareOp>(CompareKind::gt, depth, n.constInts({0}, true))
                           : Value();
    depth = positive ? n.create<AssertOp>(positive, depth,
                                          n.builder.getStringAttr("OneHot: depth must be positive"))
                     : Value();
    Value range = depth ? n.create<RangeOp>(n.constInts({0}, true), depth,
                                            n.constInts({1}, true))
                        : Value();
    SmallVector<int64_t> alongAxis(outRank - *axis, 1);
    alongAxis[0] = -1;
    iota = range ? n.create<ReshapeOp>(range, n.constInts(alongAxis), false) : Value();
  }
  // Negative indices count from the end of the depth.
  Value idx = n.castTo(*indices, n.builder.getI64Type());
  Value isNeg = idx ? n.create<CompareOp>(CompareKind::lt, idx, n.constInts({0}, true)) : Value();
  Value wrapped = idx && depth ? n.binary(BinaryKind::add, idx, depth) : Value();
  idx = isNeg && wrapped ? n.create<SelectOp>(isNeg, wrapped, idx) : Value();
  idx = idx ? n.unsqueeze(idx, {*axis}) : Value();
  Value hit = idx && iota ? n.create<CompareOp>(CompareKind::eq, idx, iota) : Value();
  auto pick = [&](int64_t i) {
    return n.create<SliceOp>(*values, n.constInts({i}), n.constInts({i + 1}), n.constInts({0}),
                             n.constInts({1}));
  };
  Value off = n.reshape(pick(0), {}), on = n.reshape(pick(1), {});
  return n.produce({hit && on && off ? n.create<SelectOp>(hit, on, off) : Value()});
}

/// CenterCropPad to a target shape only a run knows: one ds.pad whose pads
/// (negative ones crop) are computed from the input's dims at run time.
/// `axes` are normalized and distinct.
LogicalResult centerCropPadByValue(NodeImporter &n, Value x, Value shape,
                                   ArrayRef<int64_t> axes) {
  auto type = n.typeOf(x);
  int64_t rank = type.getRank();
  auto shapeType = n.typeOf(shape);
  if (shapeType.getRank() != 1 || shapeType.getDimSize(0) != (int64_t)axes.size())
    return n.error() << "shape " << formatShape(shapeType.getShape()) << " needs "
                     << axes.size() << " entries, one per axis",
           failure();
  Value target = n.castTo(shape, n.builder.getI64Type());
  Value zero = n.constInts({0});
  SmallVector<Value> begins(rank, zero), ends(rank, zero);
  for (auto [i, axis] : llvm::enumerate(axes)) {
    int64_t at = (int64_t)i;
    Value wanted = target ? n.create<SliceOp>(target, n.constInts({at}), n.constInts({at + 1}),
                                              n.constInts({0}), n.constInts({1}))
                          : Value();
    Value dim = n.create<ShapeOp>(x, axis, axis + 1);
    // diff = target - dim; begin = diff / 2 rounded toward zero (the crop
    // starts, or the padding puts its smaller half, before the centre).
    Value diff = wanted && dim ? n.binary(BinaryKind::sub, wanted, dim) : Value();
    Value negative = diff ? n.create<CompareOp>(CompareKind::lt, diff, zero) : Value();
    Value magnitude = negative ? n.create<SelectOp>(negative, n.binary(BinaryKind::sub, zero, diff),
                                                    diff)
                               : Value();
    Value half = magnitude ? n.binary(BinaryKind::div, magnitude, n.constInts({2})) : Value();
    Value begin = half ? n.create<SelectOp>(negative, n.binary(BinaryKind::sub, zero, half), half)
                       : Value();
    Value end = begin ? n.binary(BinaryKind::sub, diff, begin) : Value();
    if (!begin || !end)
      return failure();
    begins[axis] = begin;
    ends[axis] = end;
  }
  SmallVector<Value> all(begins);
  all.append(ends);
  Value pads = n.create<ConcatOp>(all, 0);
  return n.produce({pads ? n.create<PadOp>(x, pads, n.constScalar(type.getElementType(), 0),
                                           PadMode::constant)
                         : Value()});
}

LogicalResult importCenterCropPad(NodeImporter &n) {
  auto x = n.required(0, "input_data");
  if (failed(x))
    return failure();
  auto type = n.typeOf(*x);
  int64_t rank = type.getRank();
  SmallVector<int64_t> given = n.attrInts("axes");
  auto normalized = normalizeAxesInOrder(n, given.empty() ? allAxes(rank) : given, rank);
  if (failed(normalized))
    return failure();
  ArrayRef<int64_t> axes = *normalized;
  if (n.input(1) && !n.inputInts(1))
    return centerCropPadByValue(n, *x, n.input(1), axes);
  auto shape = n.requireConstInts(1, "shape");
  if (failed(shape))
    return failure();
  if (axes.size() != shape->size())
    return n.error() << "shape has " << shape->size() << " entries for " << axes.size() << " axes";
  Value y = *x;
  SmallVector<int64_t> pads(2 * rank, 0);
  for (auto [i, axis] : llvm::enumerate(axes)) {
    if (type.isDynamicDim(axis))
      return n.error() << "needs static dims on the cropped / padded axes";
    int64_t dim = type.getDimSize(axis), target = (*shape)[i];
    if (target < dim) {
      int64_t start = (dim - target) / 2;
      y = y ? n.create<SliceOp>(y, n.constInts({start}), n.constInts({start + target}),
                                n.constInts({axis}), n.constInts({1}))
            : Value();
    } else if (target > dim) {
      pads[axis] = (target - dim) / 2;
      pads[axis + rank] = target - dim - pads[axis];
    }
  }
  if (y && llvm::any_of(pads, [](int64_t p) { return p != 0; }))
    y = n.create<PadOp>(y, n.constInts(pads), n.constScalar(type.getElementType(), 0),
                        PadMode::constant);
  return n.produce({y});
}
} // namespace

void onnx_import::registerCompositeImporters(OpRegistry &r) {
  constexpr int64_t all = kAllVersions;
  r.add("NegativeLogLikelihoodLoss", 1, all, importNLLLoss);
  r.add("SoftmaxCrossEntropyLoss", 1, all, importSoftmaxCrossEntropy);
  r.add("Hardmax", 1, all, importHardmax);
  r.add("LpNormalization", 1, all, importLpNormalization);
  r.add("MeanVarianceNormalization", 9, all, importMeanVarianceNormalization);
  r.add("GroupNormalization", 18, all, importGroupNormalization);
  r.add("EyeLike", 1, all, importEyeLike);
  r.add("OneHot", 9, all, importOneHot);
  r.add("CenterCropPad", 1, all, importCenterCropPad);
}
