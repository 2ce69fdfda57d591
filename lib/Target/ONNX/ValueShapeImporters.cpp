//===- ValueShapeImporters.cpp - Squeeze/Unsqueeze/Split by run-time values ===//
//
// Squeeze and Unsqueeze whose axes, and Split whose sizes, are graph inputs
// rather than constants. The node's result rank is still known (it follows
// from how many axes or sizes there are), so the importer computes the
// shapes with ds ops at run time and reshapes or slices with them. Arithmetic
// on a bad value (a repeated axis, sizes that do not add up) would go on with
// a wrong shape, so each is checked by a ds.assert naming the node's rule.
// The computed shapes are exact: reshapes take a 0 in them as 0 (allowzero).
//
//===----------------------------------------------------------------------===//
#include "NodeImporter.h"
#include "ds/Dialect/DS/IR/ShapeUtils.h"

#include <numeric>

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::onnx_import;

namespace {
Type i64(NodeImporter &n) { return n.builder.getI64Type(); }

/// 0, 1, ..., length - 1 as an i64 constant of `shape` (length elements).
Value iota(NodeImporter &n, int64_t length, ArrayRef<int64_t> shape) {
  SmallVector<int64_t> values(length);
  std::iota(values.begin(), values.end(), 0);
  auto type = RankedTensorType::get(shape, i64(n));
  return n.constAttr(DenseElementsAttr::get(type, ArrayRef<int64_t>(values)));
}

/// Which of `axes` (1-D, negative ones counted from the end) names which
/// position in [0, length) (`named`, i64 0/1 [count, length]), how many name
/// each position (`hits`, i64 [length]) and whether the axes are distinct and
/// in range (`valid`, bool [2]).
struct AxisHits {
  Value named, hits, valid;
};

AxisHits hitsOf(NodeImporter &n, Value axes, int64_t length) {
  int64_t count = n.typeOf(axes).getDimSize(0);
  Value a = n.castTo(axes, i64(n));
  if (!a)
    return {};
  Value negative = n.create<CompareOp>(CompareKind::lt, a, n.constInts({0}, true));
  Value wrapped = n.binary(BinaryKind::add, a, n.constInts({length}, true));
  if (!negative || !wrapped)
    return {};
  a = n.create<SelectOp>(negative, wrapped, a);
  Value column = a ? n.reshape(a, {count, 1}) : Value();
  Value equal =
      column ? n.create<CompareOp>(CompareKind::eq, column, iota(n, length, {1, length})) : Value();
  Value named = equal ? n.castTo(equal, i64(n)) : Value();
  Value hits = named ? n.reduce(ReduceKind::sum, named, {0}, false) : Value();
  if (!hits)
    return {};
  // Distinct and in range: sum(h) == count (none missed) and sum(h^2) ==
  // count (none named twice).
  Value sum = n.reduce(ReduceKind::sum, hits, {0}, true);
  Value squares = n.reduce(ReduceKind::sum_square, hits, {0}, true);
  Value both = sum && squares ? n.create<ConcatOp>(ValueRange{sum, squares}, 0) : Value();
  Value valid =
      both ? n.create<CompareOp>(CompareKind::eq, both, n.constInts({count}, true)) : Value();
  return {named, hits, valid};
}

Value check(NodeImporter &n, Value condition, Value x, const Twine &message) {
  if (!condition || !x)
    return Value();
  return n.create<AssertOp>(condition, x, n.builder.getStringAttr(message));
}
} // namespace

Value onnx_import::unsqueezeByValue(NodeImporter &n, Value x, Value axes) {
  int64_t rank = n.typeOf(x).getRank(), count = n.typeOf(axes).getDimSize(0);
  int64_t outRank = rank + count;
  AxisHits axisHits = hitsOf(n, axes, outRank);
  if (!axisHits.hits)
    return Value();
  Value isAxis = n.create<CompareOp>(CompareKind::gt, axisHits.hits, n.constInts({0}, true));
  if (rank == 0) { // every position is a new unit dim
    Value ones = check(n, axisHits.valid, n.constInts(SmallVector<int64_t>(outRank, 1)),
                       "Unsqueeze: axes must be distinct and in [-" + Twine(outRank) + ", " +
                           Twine(outRank) + ")");
    return ones ? n.create<ReshapeOp>(x, ones, /*allowzero=*/true) : Value();
  }
  // Position p takes input dim p - (axes at or before p), or 1 at an axis.
  Value marks = isAxis ? n.castTo(isAxis, i64(n)) : Value();
  Value before = marks ? n.create<CumSumOp>(marks, Value(), 0, false, false, false) : Value();
  Value source = before ? n.binary(BinaryKind::sub, iota(n, outRank, {outRank}), before) : Value();
  Value safe = source ? n.create<SelectOp>(isAxis, n.constInts({0}, true), source) : Value();
  safe = check(n, axisHits.valid, safe,
               "Unsqueeze: axes must be distinct and in [-" + Twine(outRank) + ", " +
                   Twine(outRank) + ")");
  Value dims = n.create<ShapeOp>(x, 0, rank);
  Value picked = safe && dims ? n.create<GatherOp>(dims, safe, 0) : Value();
  Value shape = picked ? n.create<SelectOp>(isAxis, n.constInts({1}, true), picked) : Value();
  return shape ? n.create<ReshapeOp>(x, shape, /*allowzero=*/true) : Value();
}

Value onnx_import::squeezeByValue(NodeImporter &n, Value x, Value axes) {
  int64_t rank = n.typeOf(x).getRank(), count = n.typeOf(axes).getDimSize(0);
  if (count > rank)
    return n.error() << "squeezing " << count << " axes of a rank-" << rank << " tensor", Value();
  AxisHits axisHits = hitsOf(n, axes, rank);
  if (!axisHits.hits)
    return Value();
  Value isAxis = n.create<CompareOp>(CompareKind::gt, axisHits.hits, n.constInts({0}, true));
  Value dims = n.create<ShapeOp>(x, 0, rank);
  // The squeezed dims must be 1: where an axis points, dim == 1.
  Value unitOrKept =
      isAxis && dims ? n.create<SelectOp>(isAxis, dims, n.constInts({1}, true)) : Value();
  Value unit = unitOrKept ? n.create<CompareOp>(CompareKind::eq, unitOrKept, n.constInts({1}, true))
                          : Value();
  // The kept positions in order: the rank - count smallest of p + rank * (p
  // is an axis).
  Value marks = isAxis ? n.castTo(isAxis, i64(n)) : Value();
  Value shifted = marks ? n.binary(BinaryKind::mul, marks, n.constInts({rank}, true)) : Value();
  Value key = shifted ? n.binary(BinaryKind::add, iota(n, rank, {rank}), shifted) : Value();
  Value kept =
      key ? n.createN<TopKOp, 2>(key, n.constInts({rank - count}), 0, false, true)[0] : Value();
  kept = check(n, axisHits.valid, kept,
               "Squeeze: axes must be distinct and in [-" + Twine(rank) + ", " + Twine(rank) + ")");
  kept = check(n, unit, kept, "Squeeze: a squeezed dim is not 1");
  Value shape = kept && dims ? n.create<GatherOp>(dims, kept, 0) : Value();
  return shape ? n.create<ReshapeOp>(x, shape, /*allowzero=*/true) : Value();
}

SmallVector<Value> onnx_import::splitByValue(NodeImporter &n, Value x, int64_t axis, Value sizes) {
  int64_t parts = n.typeOf(sizes).getDimSize(0);
  Value s = n.castTo(sizes, i64(n));
  if (!s)
    return {};
  // Sizes are non-negative and add up to the dim.
  Value nonNegative = n.create<CompareOp>(CompareKind::ge, s, n.constInts({0}, true));
  Value total = n.reduce(ReduceKind::sum, s, {0}, true);
  Value dim = n.create<ShapeOp>(x, axis, axis + 1);
  Value addsUp = total && dim ? n.create<CompareOp>(CompareKind::eq, total, dim) : Value();
  s = check(n, nonNegative, s, "Split: split sizes must not be negative");
  s = check(n, addsUp, s, "Split: split sizes must add up to the split dim");
  Value ends = s ? n.create<CumSumOp>(s, Value(), 0, false, false, false) : Value();
  Value starts = s ? n.create<CumSumOp>(s, Value(), 0, true, false, false) : Value();
  if (!ends || !starts)
    return {};
  SmallVector<Value> outs;
  for (int64_t i = 0; i < parts; ++i) {
    auto element = [&](Value v) {
      return n.create<SliceOp>(v, n.constInts({i}), n.constInts({i + 1}), n.constInts({0}),
                               n.constInts({1}));
    };
    Value start = element(starts), end = element(ends);
    outs.push_back(start && end
                       ? n.create<SliceOp>(x, start, end, n.constInts({axis}), n.constInts({1}))
                       : Value());
  }
  return outs;
}

Value onnx_import::expandPadsByValue(NodeImporter &n, Value pads, Value axes, int64_t rank) {
  int64_t count = n.typeOf(axes).getDimSize(0);
  AxisHits axisHits = hitsOf(n, axes, rank);
  Value p = n.castTo(pads, i64(n));
  if (!axisHits.named || !p)
    return Value();
  // The pad of dim d: the sum over the axes naming d (one, once checked).
  auto spread = [&](int64_t from) -> Value {
    Value part = n.create<SliceOp>(p, n.constInts({from}), n.constInts({from + count}),
                                   n.constInts({0}), n.constInts({1}));
    Value column = part ? n.reshape(part, {count, 1}) : Value();
    Value placed = column ? n.binary(BinaryKind::mul, axisHits.named, column) : Value();
    return placed ? n.reduce(ReduceKind::sum, placed, {0}, false) : Value();
  };
  Value begins = spread(0), ends = spread(count);
  Value full = begins && ends ? n.create<ConcatOp>(ValueRange{begins, ends}, 0) : Value();
  return check(n, axisHits.valid, full,
               "Pad: axes must be distinct and in [-" + Twine(rank) + ", " + Twine(rank) + ")");
}

namespace {
/// Entry `at` of the 1-D `v`, as a 1-element tensor.
Value entry(NodeImporter &n, Value v, int64_t at) {
  return n.create<SliceOp>(v, n.constInts({at}), n.constInts({at + 1}), n.constInts({0}),
                           n.constInts({1}));
}
} // namespace

std::pair<Value, Value> onnx_import::resizeSizesByValue(NodeImporter &n, Value x, Value sizes,
                                                        ArrayRef<int64_t> axes,
                                                        StringRef policy) {
  int64_t rank = n.typeOf(x).getRank();
  Value given = n.castTo(sizes, i64(n));
  if (!given)
    return {};
  Value scales;
  SmallVector<Value> inputDims;
  for (int64_t d : axes)
    inputDims.push_back(n.create<ShapeOp>(x, d, d + 1));
  if (policy != "stretch") {
    // One scale for every resized axis, the smallest (not_larger) or largest
    // (not_smaller) of size / dim; each size then round-half-up(scale * dim).
    Type f64 = n.builder.getF64Type();
    Value dims = n.create<ConcatOp>(inputDims, 0);
    Value nonEmpty = dims ? n.create<CompareOp>(CompareKind::gt, dims, n.constInts({0}, true))
                          : Value();
    dims = check(n, nonEmpty, dims,
                 "Resize: keep_aspect_ratio_policy needs non-empty resized dims");
    Value in = dims ? n.castTo(dims, f64) : Value();
    Value ratio = in ? n.binary(BinaryKind::div, n.castTo(given, f64), in) : Value();
    Value scale = ratio ? n.reduce(policy == "not_larger" ? ReduceKind::min : ReduceKind::max,
                                   ratio, {0}, true)
                        : Value();
    Value scaled = scale ? n.binary(BinaryKind::mul, scale, in) : Value();
    Value shifted = scaled ? n.binary(BinaryKind::add, scaled, n.constScalar(f64, 0.5)) : Value();
    Value floored = shifted ? n.unary(UnaryKind::floor, shifted) : Value();
    given = floored ? n.castTo(floored, i64(n)) : Value();
    // The scale maps the coordinates of the resized axes; 1 elsewhere.
    Type f32 = n.builder.getF32Type();
    Value scale32 = scale ? n.castTo(scale, f32) : Value();
    SmallVector<Value> perDim;
    for (int64_t d = 0; d < rank; ++d)
      perDim.push_back(llvm::is_contained(axes, d) ? scale32
                                                   : n.reshape(n.constScalar(f32, 1.0), {1}));
    if (!given || llvm::any_of(perDim, [](Value v) { return !v; }))
      return {};
    scales = n.create<ConcatOp>(perDim, 0);
  }
  SmallVector<Value> full;
  for (int64_t d = 0; d < rank; ++d) {
    auto at = llvm::find(axes, d);
    full.push_back(at == axes.end() ? n.create<ShapeOp>(x, d, d + 1)
                                    : entry(n, given, at - axes.begin()));
  }
  if (llvm::any_of(full, [](Value v) { return !v; }))
    return {};
  return {n.create<ConcatOp>(full, 0), scales};
}

Value onnx_import::resizeScalesByValue(NodeImporter &n, Value scales, ArrayRef<int64_t> axes,
                                       int64_t rank) {
  Type element = n.typeOf(scales).getElementType();
  SmallVector<Value> full;
  for (int64_t d = 0; d < rank; ++d) {
    auto at = llvm::find(axes, d);
    full.push_back(at == axes.end() ? n.reshape(n.constScalar(element, 1.0), {1})
                                    : entry(n, scales, at - axes.begin()));
  }
  if (llvm::any_of(full, [](Value v) { return !v; }))
    return Value();
  return n.create<ConcatOp>(full, 0);
}

Value onnx_import::resizeRoiForAxes(NodeImporter &n, Value roi, ArrayRef<int64_t> axes,
                                    int64_t rank) {
  Type element = n.typeOf(roi).getElementType();
  int64_t count = axes.size();
  SmallVector<Value> full;
  for (int64_t end = 0; end < 2; ++end) // begins (default 0), then ends (default 1)
    for (int64_t d = 0; d < rank; ++d) {
      auto at = llvm::find(axes, d);
      full.push_back(at == axes.end() ? n.reshape(n.constScalar(element, (double)end), {1})
                                      : entry(n, roi, end * count + (at - axes.begin())));
    }
  if (llvm::any_of(full, [](Value v) { return !v; }))
    return Value();
  return n.create<ConcatOp>(full, 0);
}
