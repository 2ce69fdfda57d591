//===- ShapeImporters.cpp - ONNX shape and data-movement ops to ds ---------===//
#include "NodeImporter.h"
#include "ds/Dialect/DS/IR/ShapeUtils.h"

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::onnx_import;

namespace {
/// Normalizes axes against `rank`, sorted; fails on duplicates or range errors.
FailureOr<SmallVector<int64_t>> normalizeAxes(NodeImporter &n, ArrayRef<int64_t> axes,
                                              int64_t rank) {
  auto out = normalizeAxesInOrder(n, axes, rank);
  if (succeeded(out))
    llvm::sort(*out);
  return out;
}

/// Axes from the attribute (old opsets) or the second input (new ones).
FailureOr<SmallVector<int64_t>> axesOf(NodeImporter &n, bool fromInput) {
  if (!fromInput)
    return n.attrInts("axes");
  if (!n.input(1))
    return SmallVector<int64_t>{};
  return n.requireConstInts(1, "axes");
}

/// Input i when it is a 1-D tensor of static length whose values only a run
/// knows (axes or sizes that are a graph input), else null.
Value runTimeVector(NodeImporter &n, size_t i) {
  Value v = n.input(i);
  if (!v || n.inputInts(i))
    return Value();
  auto type = n.typeOf(v);
  return type.getRank() == 1 && !type.isDynamicDim(0) ? v : Value();
}

LogicalResult importReshape(NodeImporter &n) {
  auto x = n.required(0, "data");
  if (failed(x))
    return failure();
  Value shape = n.since < 5 ? n.constInts(n.attrInts("shape")) : n.input(1);
  if (!shape)
    return n.error() << "missing shape";
  return n.produce({n.create<ReshapeOp>(*x, shape, n.attrInt("allowzero", 0) != 0)});
}

LogicalResult importTranspose(NodeImporter &n) {
  auto x = n.required(0, "data");
  if (failed(x))
    return failure();
  SmallVector<int64_t> perm = n.attrInts("perm");
  int64_t rank = n.typeOf(*x).getRank();
  if (perm.empty())
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  return n.produce({n.transpose(*x, perm)});
}

LogicalResult importFlatten(NodeImporter &n) {
  auto x = n.required(0, "input");
  if (failed(x))
    return failure();
  auto type = n.typeOf(*x);
  int64_t rank = type.getRank(), axis = n.attrInt("axis", 1);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis > rank)
    return n.error() << "axis " << n.attrInt("axis", 1) << " is out of range for rank " << rank;
  auto outer = staticElementCount(type.getShape().take_front(axis));
  auto inner = staticElementCount(type.getShape().drop_front(axis));
  if (!outer && !inner) {
    // Both sides dynamic: compute [prod(dims[:axis]), -1] at run time.
    Value head = n.create<ShapeOp>(*x, 0, axis);
    Value prod = head ? n.reduce(ReduceKind::prod, head, {0}, true) : Value();
    Value shape = prod ? n.create<ConcatOp>(ValueRange{prod, n.constInts({-1})}, 0) : Value();
    return n.produce({shape ? n.create<ReshapeOp>(*x, shape, false) : Value()});
  }
  return n.produce({n.reshape(*x, {outer ? *outer : -1, inner ? *inner : -1})});
}

LogicalResult importSqueeze(NodeImporter &n) {
  auto x = n.required(0, "data");
  if (Value byValue = n.since >= 13 ? runTimeVector(n, 1) : Value(); byValue && succeeded(x))
    return n.produce({squeezeByValue(n, *x, byValue)});
  auto axes = axesOf(n, n.since >= 13);
  if (failed(x) || failed(axes))
    return failure();
  auto type = n.typeOf(*x);
  SmallVector<int64_t> dims;
  if (axes->empty()) {
    for (int64_t d = 0; d < type.getRank(); ++d) {
      if (type.isDynamicDim(d))
        return n.error() << "squeezing all unit dims needs static dims";
      if (type.getDimSize(d) == 1)
        dims.push_back(d);
    }
  } else {
    auto normalized = normalizeAxes(n, *axes, type.getRank());
    if (failed(normalized))
      return failure();
    for (int64_t d : *normalized)
      if (!type.isDynamicDim(d) && type.getDimSize(d) != 1)
        return n.error() << "cannot squeeze dim " << d << " of size " << type.getDimSize(d);
    dims = *normalized;
  }
  return n.produce({n.squeeze(*x, dims)});
}

LogicalResult importUnsqueeze(NodeImporter &n) {
  auto x = n.required(0, "data");
  if (Value byValue = n.since >= 13 ? runTimeVector(n, 1) : Value(); byValue && succeeded(x))
    return n.produce({unsqueezeByValue(n, *x, byValue)});
  auto axes = axesOf(n, n.since >= 13);
  if (failed(x) || failed(axes))
    return failure();
  int64_t outRank = n.typeOf(*x).getRank() + axes->size();
  auto normalized = normalizeAxes(n, *axes, outRank);
  if (failed(normalized))
    return failure();
  return n.produce({n.unsqueeze(*x, *normalized)});
}

LogicalResult importConcat(NodeImporter &n) {
  SmallVector<Value> inputs;
  for (size_t i = 0; i < n.numInputs(); ++i)
    if (Value v = n.input(i))
      inputs.push_back(v);
  return n.produce({n.create<ConcatOp>(inputs, n.attrInt("axis", 0))});
}

/// Slices x along `axis` from `start` with `size` elements.
Value sliceAxis(NodeImporter &n, Value x, int64_t axis, int64_t start, int64_t size) {
  return n.create<SliceOp>(x, n.constInts({start}), n.constInts({start + size}),
                           n.constInts({axis}), n.constInts({1}));
}

LogicalResult importSplit(NodeImporter &n) {
  auto x = n.required(0, "input");
  if (failed(x))
    return failure();
  auto type = n.typeOf(*x);
  auto axis = normalizeAxis(n.attrInt("axis", 0), type.getRank());
  if (!axis)
    return n.error() << "axis is out of range for rank " << type.getRank();
  int64_t dim = type.getDimSize(*axis);
  int64_t parts = n.numOutputs();
  SmallVector<int64_t> sizes;
  if (n.since < 13 && n.hasAttr("split")) {
    sizes = n.attrInts("split");
  } else if (Value byValue = n.since >= 13 ? runTimeVector(n, 1) : Value()) {
    if (n.typeOf(byValue).getDimSize(0) != parts)
      return n.error() << "split has " << n.typeOf(byValue).getDimSize(0) << " sizes for "
                       << parts << " outputs";
    SmallVector<Value> outs = splitByValue(n, *x, *axis, byValue);
    return outs.empty() ? failure() : n.produce(outs);
  } else if (n.since >= 13 && n.input(1)) {
    auto given = n.requireConstInts(1, "split");
    if (failed(given))
      return failure();
    sizes = *given;
  }
  if (sizes.empty()) {
    if (ShapedType::isDynamic(dim))
      return n.error() << "splitting a dynamic dim needs explicit split sizes";
    int64_t count = n.since >= 18 && n.hasAttr("num_outputs") ? n.attrInt("num_outputs", parts)
                                                               : parts;
    if (count <= 0)
      return n.error() << "num_outputs must be positive";
    int64_t chunk = (dim + count - 1) / count;
    for (int64_t i = 0, left = dim; i < count; ++i, left -= chunk)
      sizes.push_back(std::max<int64_t>(0, std::min(chunk, left)));
  }
  if ((int64_t)sizes.size() != parts)
    return n.error() << "split has " << sizes.size() << " sizes for " << parts << " outputs";
  int64_t total = 0;
  for (int64_t s : sizes)
    total += s;
  if (!ShapedType::isDynamic(dim) && total != dim)
    return n.error() << "split sizes sum to " << total << " but the dim is " << dim;
  SmallVector<Value> outs;
  int64_t start = 0;
  for (int64_t s : sizes) {
    outs.push_back(sliceAxis(n, *x, *axis, start, s));
    start += s;
  }
  return n.produce(outs);
}

LogicalResult importSlice(NodeImporter &n) {
  auto x = n.required(0, "data");
  if (failed(x))
    return failure();
  int64_t rank = n.typeOf(*x).getRank();
  Value starts, ends, axes, steps;
  if (n.since < 10) {
    SmallVector<int64_t> s = n.attrInts("starts"), e = n.attrInts("ends"), a = n.attrInts("axes");
    if (a.empty())
      for (size_t i = 0; i < s.size(); ++i)
        a.push_back(i);
    starts = n.constInts(s);
    ends = n.constInts(e);
    axes = n.constInts(a);
    steps = n.constInts(SmallVector<int64_t>(s.size(), 1));
  } else {
    starts = n.input(1);
    ends = n.input(2);
    axes = n.input(3);
    steps = n.input(4);
    if (!starts || !ends)
      return n.error() << "missing starts or ends";
    int64_t len = n.typeOf(starts).getRank() == 1 ? n.typeOf(starts).getDimSize(0) : -1;
    if (len < 0)
      return n.error() << "starts must be a 1-D tensor of static length";
    if (!axes) {
      SmallVector<int64_t> a;
      for (int64_t i = 0; i < len; ++i)
        a.push_back(i);
      axes = n.constInts(a);
    }
    if (!steps)
      steps = n.constInts(SmallVector<int64_t>(len, 1));
  }
  (void)rank;
  return n.produce({n.create<SliceOp>(*x, starts, ends, axes, steps)});
}

LogicalResult importGather(NodeImporter &n) {
  auto x = n.required(0, "data"), i = n.required(1, "indices");
  if (failed(x) || failed(i))
    return failure();
  return n.produce({n.create<GatherOp>(*x, *i, n.attrInt("axis", 0))});
}

LogicalResult importNonZero(NodeImporter &n) {
  auto x = n.required(0, "X");
  if (failed(x))
    return failure();
  return n.produce({n.create<NonZeroOp>(*x)});
}

/// The input and axis of an op whose `axis` attribute is optional and whose
/// absence means "the flattened input" (Compress, Unique): the normalized
/// axis, or axis 0 of the input reshaped to 1-D.
FailureOr<std::pair<Value, int64_t>> axisOrFlattened(NodeImporter &n, Value data) {
  if (!n.hasAttr("axis"))
    return std::make_pair(n.reshape(data, {-1}), int64_t(0));
  int64_t rank = cast<RankedTensorType>(data.getType()).getRank();
  int64_t axis = n.attrInt("axis", 0);
  if (axis < -rank || axis >= rank) {
    n.error() << "axis " << axis << " is out of range for rank " << rank;
    return failure();
  }
  return std::make_pair(data, axis < 0 ? axis + rank : axis);
}

/// Compress keeps the slices along `axis` (the elements of the flattened
/// input without one) where `condition` is true: a gather at the indices of
/// the true entries.
LogicalResult importCompress(NodeImporter &n) {
  auto x = n.required(0, "input"), condition = n.required(1, "condition");
  if (failed(x) || failed(condition))
    return failure();
  auto conditionType = cast<RankedTensorType>(condition->getType());
  if (conditionType.getRank() != 1)
    return n.error() << "condition must be 1-D, got " << conditionType;
  auto input = axisOrFlattened(n, *x);
  if (failed(input))
    return failure();
  auto [data, axis] = *input;
  Value indices = n.reshape(n.create<NonZeroOp>(*condition), {-1});
  return n.produce({n.create<GatherOp>(data, indices, axis)});
}

/// Unique without an axis works on the flattened input.
LogicalResult importUnique(NodeImporter &n) {
  auto x = n.required(0, "X");
  if (failed(x))
    return failure();
  auto input = axisOrFlattened(n, *x);
  if (failed(input))
    return failure();
  auto [data, axis] = *input;
  auto results = n.createN<UniqueOp, 4>(data, axis, n.attrInt("sorted", 1) != 0);
  if (results.size() != 4)
    return failure();
  return n.produce(results);
}

LogicalResult importGatherElements(NodeImporter &n) {
  auto x = n.required(0, "data"), i = n.required(1, "indices");
  if (failed(x) || failed(i))
    return failure();
  return n.produce({n.create<GatherElementsOp>(*x, *i, n.attrInt("axis", 0))});
}

LogicalResult importGatherND(NodeImporter &n) {
  auto x = n.required(0, "data"), i = n.required(1, "indices");
  if (failed(x) || failed(i))
    return failure();
  return n.produce({n.create<GatherNDOp>(*x, *i, n.attrInt("batch_dims", 0))});
}

FailureOr<ScatterReduction> reductionOf(NodeImporter &n) {
  std::string r = n.attrString("reduction", "none");
  if (auto kind = symbolizeScatterReduction(r))
    return *kind;
  return n.error() << "unknown reduction '" << r << "'";
}

LogicalResult importScatterElements(NodeImporter &n) {
  auto x = n.required(0, "data"), i = n.required(1, "indices"), u = n.required(2, "updates");
  auto reduction = reductionOf(n);
  if (failed(x) || failed(i) || failed(u) || failed(reduction))
    return failure();
  return n.produce({n.create<ScatterElementsOp>(*x, *i, *u, n.attrInt("axis", 0), *reduction)});
}

LogicalResult importScatterND(NodeImporter &n) {
  auto x = n.required(0, "data"), i = n.required(1, "indices"), u = n.required(2, "updates");
  auto reduction = reductionOf(n);
  if (failed(x) || failed(i) || failed(u) || failed(reduction))
    return failure();
  return n.produce({n.create<ScatterNDOp>(*x, *i, *u, *reduction)});
}

LogicalResult importExpand(NodeImporter &n) {
  auto x = n.required(0, "input"), s = n.required(1, "shape");
  if (failed(x) || failed(s))
    return failure();
  return n.produce({n.create<ExpandOp>(*x, *s)});
}

LogicalResult importTile(NodeImporter &n) {
  auto x = n.required(0, "input"), r = n.required(1, "repeats");
  if (failed(x) || failed(r))
    return failure();
  return n.produce({n.create<TileOp>(*x, *r)});
}

LogicalResult importPad(NodeImporter &n) {
  auto x = n.required(0, "data");
  if (failed(x))
    return failure();
  auto type = n.typeOf(*x);
  int64_t rank = type.getRank();
  std::string modeText = n.attrString("mode", "constant");
  auto mode = symbolizePadMode(modeText);
  if (!mode)
    return n.error() << "unknown pad mode '" << modeText << "'";
  Value pads, value;
  if (n.since < 11) {
    pads = n.constInts(n.attrInts("pads"));
    value = n.constScalar(type.getElementType(), n.attrFloat("value", 0));
  } else {
    pads = n.input(1);
    value = n.input(2);
    if (!pads)
      return n.error() << "missing pads";
    if (n.numInputs() > 3 && n.input(3)) {
      // Pads for a subset of axes: expand to all axes, at compile time when
      // the pads are constant, else with a concat of their entries and zeros
      // (or, for axes only a run knows, with a sum over the axes).
      if (Value axesValue = runTimeVector(n, 3)) {
        auto padsType = n.typeOf(pads);
        int64_t count = 2 * n.typeOf(axesValue).getDimSize(0);
        if (padsType.getRank() != 1 || padsType.getDimSize(0) != count)
          return n.error() << "pads needs " << count << " values for the axes given, got shape "
                           << formatShape(padsType.getShape());
        pads = expandPadsByValue(n, pads, axesValue, rank);
        if (!pads)
          return failure();
        if (value && n.typeOf(value).getRank() == 1)
          value = n.reshape(value, {});
        return n.produce({n.create<PadOp>(*x, pads, value, *mode)});
      }
      auto axes = n.requireConstInts(3, "axes");
      if (failed(axes))
        return failure();
      auto normalized = normalizeAxes(n, *axes, rank);
      if (failed(normalized))
        return failure();
      auto padsType = n.typeOf(pads);
      int64_t count = 2 * (int64_t)axes->size();
      if (padsType.getRank() != 1 || padsType.getDimSize(0) != count)
        return n.error() << "pads needs " << count << " values for the axes given, got shape "
                         << formatShape(padsType.getShape());
      if (auto given = n.inputInts(1)) {
        SmallVector<int64_t> full(2 * rank, 0);
        for (auto [i, a] : llvm::enumerate(*axes)) {
          int64_t axis = *normalizeAxis(a, rank);
          full[axis] = (*given)[i];
          full[axis + rank] = (*given)[i + axes->size()];
        }
        pads = n.constInts(full);
      } else {
        Value asI64 = n.castTo(pads, n.builder.getI64Type());
        SmallVector<Value> full(2 * rank, n.constInts({0}));
        for (auto [i, a] : llvm::enumerate(*axes)) {
          int64_t axis = *normalizeAxis(a, rank), begin = i, end = i + axes->size();
          auto entry = [&](int64_t at) {
            return asI64 ? n.create<SliceOp>(asI64, n.constInts({at}), n.constInts({at + 1}),
                                             n.constInts({0}), n.constInts({1}))
                         : Value();
          };
          full[axis] = entry(begin);
          full[axis + rank] = entry(end);
        }
        if (llvm::any_of(full, [](Value v) { return !v; }))
          return failure();
        pads = n.create<ConcatOp>(full, 0);
      }
    }
  }
  if (value && n.typeOf(value).getRank() == 1)
    value = n.reshape(value, {});
  return n.produce({n.create<PadOp>(*x, pads, value, *mode)});
}

LogicalResult importResize(NodeImporter &n) {
  auto x = n.required(0, "X");
  if (failed(x))
    return failure();
  auto type = n.typeOf(*x);
  int64_t rank = type.getRank();
  bool upsample = n.node.op_type() == "Upsample";
  Value roi, scales, sizes;
  if (upsample) {
    scales = n.input(1);
  } else if (n.since == 10) {
    scales = n.input(1);
  } else {
    roi = n.input(1);
    scales = n.input(2);
    sizes = n.input(3);
  }
  // Empty tensors stand for absent inputs.
  auto isEmpty = [&](Value v) {
    return v && n.typeOf(v).hasStaticShape() && n.typeOf(v).getNumElements() == 0;
  };
  if (isEmpty(roi))
    roi = Value();
  if (isEmpty(scales))
    scales = Value();
  if (isEmpty(sizes))
    sizes = Value();
  std::string coordinate = n.attrString("coordinate_transformation_mode",
                                        n.since == 10 || upsample ? "asymmetric" : "half_pixel");
  if (coordinate != "tf_crop_and_resize")
    roi = Value();
  SmallVector<int64_t> axes = n.attrInts("axes");
  std::string policy = n.attrString("keep_aspect_ratio_policy", "stretch");
  auto inOrder = normalizeAxesInOrder(n, axes, rank);
  if (failed(inOrder))
    return failure();
  if (roi && !axes.empty()) {
    auto roiType = n.typeOf(roi);
    if (roiType.getRank() != 1 || roiType.getDimSize(0) != 2 * (int64_t)inOrder->size())
      return n.error() << "roi needs " << 2 * inOrder->size() << " values for the axes given";
    roi = resizeRoiForAxes(n, roi, *inOrder, rank);
    if (!roi)
      return failure();
  }
  // With keep_aspect_ratio_policy, sizes are the result's shape and one
  // scale maps the coordinates of every resized axis: ds.resize takes both.
  bool keepBoth = false;
  // Sizes or scales only a run knows: expanded to every axis at run time.
  bool sizesByValue = sizes && !getConstantInts(sizes);
  bool scalesByValue = !sizes && scales && !axes.empty() && !getConstantFloats(scales);
  if (sizesByValue || scalesByValue) {
    SmallVector<int64_t> resized = *inOrder;
    if (resized.empty())
      for (int64_t d = 0; d < rank; ++d)
        resized.push_back(d);
    Value given = sizesByValue ? sizes : scales;
    auto givenType = n.typeOf(given);
    if (givenType.getRank() != 1 || givenType.getDimSize(0) != (int64_t)resized.size())
      return n.error() << (sizesByValue ? "sizes" : "scales") << " needs " << resized.size()
                       << " entries, got shape " << formatShape(givenType.getShape());
    if (sizesByValue) {
      std::tie(sizes, scales) = resizeSizesByValue(n, *x, sizes, resized, policy);
      keepBoth = (bool)scales;
    } else {
      scales = resizeScalesByValue(n, scales, resized, rank);
    }
    if (!sizes && !scales)
      return failure();
    axes.clear();
    policy = "stretch";
  }
  if (!axes.empty()) {
    // Scales / sizes for a subset of axes: expand to all axes.
    auto normalized = normalizeAxes(n, axes, rank);
    if (failed(normalized))
      return failure();
    if (sizes) {
      auto given = n.requireConstInts(3, "sizes");
      if (failed(given))
        return failure();
      SmallVector<int64_t> full(type.getShape());
      for (auto [i, a] : llvm::enumerate(axes))
        full[*normalizeAxis(a, rank)] = (*given)[i];
      for (int64_t d = 0; d < rank; ++d)
        if (!llvm::is_contained(*normalized, d) && type.isDynamicDim(d))
          return n.error() << "sizes for a subset of axes need static other dims";
      sizes = n.constInts(full);
    } else if (scales) {
      auto given = getConstantFloats(scales);
      if (!given)
        return n.error() << "scales (input 2) must be a constant when axes is given";
      SmallVector<float> full(rank, 1.0f);
      for (auto [i, a] : llvm::enumerate(axes))
        full[*normalizeAxis(a, rank)] = (float)(*given)[i];
      scales = n.constAttr(DenseElementsAttr::get(
          RankedTensorType::get({rank}, n.builder.getF32Type()), ArrayRef<float>(full)));
    }
  }
  if (sizes && policy != "stretch") {
    // Resolve not_larger / not_smaller into plain sizes when static.
    auto given = getConstantInts(sizes);
    if (!given || !type.hasStaticShape())
      return n.error() << "keep_aspect_ratio_policy needs static input and sizes";
    SmallVector<int64_t> resizedAxes = axes.empty() ? SmallVector<int64_t>() : axes;
    if (resizedAxes.empty())
      for (int64_t d = 0; d < rank; ++d)
        resizedAxes.push_back(d);
    double scale = policy == "not_larger" ? 1e300 : 0;
    for (int64_t a : resizedAxes) {
      int64_t d = *normalizeAxis(a, rank);
      double s = (double)(*given)[d] / type.getDimSize(d);
      scale = policy == "not_larger" ? std::min(scale, s) : std::max(scale, s);
    }
    SmallVector<int64_t> full(type.getShape());
    SmallVector<float> fullScales(rank, 1.0f);
    for (int64_t a : resizedAxes) {
      int64_t d = *normalizeAxis(a, rank);
      full[d] = (int64_t)std::floor(scale * type.getDimSize(d) + 0.5);
      fullScales[d] = (float)scale;
    }
    sizes = n.constInts(full);
    scales = n.constAttr(DenseElementsAttr::get(
        RankedTensorType::get({rank}, n.builder.getF32Type()), ArrayRef<float>(fullScales)));
    keepBoth = true;
  }
  if (scales && sizes && !keepBoth)
    scales = Value();
  if (!scales && !sizes)
    return n.error() << "needs scales or sizes";
  std::string mode = n.attrString("mode", "nearest");
  return n.produce({n.create<ResizeOp>(*x, roi, scales, sizes, mode, coordinate,
                                     // Upsample and Resize-10 pick the floor neighbour.
                                     n.attrString("nearest_mode", n.since == 10 || upsample
                                                                      ? "floor"
                                                                      : "round_prefer_floor"),
                                     APFloat(n.attrFloat("cubic_coeff_a", -0.75)),
                                     n.attrInt("exclude_outside", 0) != 0,
                                     APFloat(n.attrFloat("extrapolation_value", 0.0)),
                                     n.attrInt("antialias", 0) != 0)});
}

LogicalResult importShape(NodeImporter &n) {
  auto x = n.required(0, "data");
  if (failed(x))
    return failure();
  int64_t rank = n.typeOf(*x).getRank();
  return n.produce({n.create<ShapeOp>(*x, n.attrInt("start", 0), n.attrInt("end", rank))});
}

LogicalResult importSize(NodeImporter &n) {
  auto x = n.required(0, "data");
  if (failed(x))
    return failure();
  int64_t rank = n.typeOf(*x).getRank();
  if (rank == 0)
    return n.produce({n.constInts({1}, /*scalar=*/true)});
  Value shape = n.create<ShapeOp>(*x, 0, rank);
  return n.produce({shape ? n.reduce(ReduceKind::prod, shape, {0}, false) : Value()});
}

LogicalResult importConstant(NodeImporter &n) {
  if (n.node.attribute_size() != 1)
    return n.error() << "needs exactly one value attribute";
  onnx::AttributeProto attr = n.node.attribute(0);
  StringRef name = attr.name();
  Type f32 = n.builder.getF32Type();
  Type i64 = n.builder.getI64Type();
  if (name == "value") {
    auto value = importTensor(*attr.mutable_t(), n.baseDir, n.loc, n.builder.getContext(),
                              n.readFiles);
    if (failed(value))
      return failure();
    return n.produce({n.constAttr(*value)});
  }
  if (name == "value_float")
    return n.produce({n.constAttr(DenseElementsAttr::get(RankedTensorType::get({}, f32), attr.f()))});
  if (name == "value_floats") {
    SmallVector<float> v(attr.floats().begin(), attr.floats().end());
    return n.produce({n.constAttr(DenseElementsAttr::get(
                       RankedTensorType::get({(int64_t)v.size()}, f32), ArrayRef<float>(v)))});
  }
  if (name == "value_int")
    return n.produce({n.constAttr(DenseElementsAttr::get(RankedTensorType::get({}, i64), attr.i()))});
  if (name == "value_ints")
    return n.produce({n.constInts(SmallVector<int64_t>(attr.ints().begin(), attr.ints().end()))});
  return n.error() << "attribute '" << name << "' is not supported (sparse or string constant)";
}

LogicalResult importConstantOfShape(NodeImporter &n) {
  auto shape = n.required(0, "input");
  if (failed(shape))
    return failure();
  ElementsAttr value = DenseElementsAttr::get(
      RankedTensorType::get({1}, n.builder.getF32Type()), 0.0f);
  if (const auto *attr = n.attr("value")) {
    onnx::TensorProto tensor = attr->t();
    auto imported = importTensor(tensor, n.baseDir, n.loc, n.builder.getContext(),
                                 n.readFiles);
    if (failed(imported))
      return failure();
    value = *imported;
  }
  return n.produce({n.create<FillOp>(*shape, value)});
}

LogicalResult importRange(NodeImporter &n) {
  auto s = n.required(0, "start"), l = n.required(1, "limit"), d = n.required(2, "delta");
  if (failed(s) || failed(l) || failed(d))
    return failure();
  return n.produce({n.create<RangeOp>(*s, *l, *d)});
}

/// DepthToSpace / SpaceToDepth as reshape + transpose + reshape.
ImportFn depthSpaceFn(bool toSpace) {
  return [=](NodeImporter &n) -> LogicalResult {
    auto x = n.required(0, "input");
    if (failed(x))
      return failure();
    auto type = n.typeOf(*x);
    if (type.getRank() != 4 || !type.hasStaticShape())
      return n.error() << "needs a static 4-D input";
    int64_t b = n.attrInt("blocksize", 0);
    if (b <= 0)
      return n.error() << "blocksize must be positive";
    int64_t N = type.getDimSize(0), C = type.getDimSize(1), H = type.getDimSize(2),
            W = type.getDimSize(3);
    Value y;
    if (toSpace) {
      if (C % (b * b))
        return n.error() << "channels " << C << " not divisible by blocksize^2";
      bool crd = n.attrString("mode", "DCR") == "CRD";
      int64_t c = C / (b * b);
      y = crd ? n.reshape(*x, {N, c, b, b, H, W}) : n.reshape(*x, {N, b, b, c, H, W});
      y = y ? n.transpose(y, crd ? ArrayRef<int64_t>{0, 1, 4, 2, 5, 3}
                                 : ArrayRef<int64_t>{0, 3, 4, 1, 5, 2})
            : Value();
      y = y ? n.reshape(y, {N, c, H * b, W * b}) : Value();
    } else {
      if (H % b || W % b)
        return n.error() << "spatial dims not divisible by blocksize";
      y = n.reshape(*x, {N, C, H / b, b, W / b, b});
      y = y ? n.transpose(y, {0, 3, 5, 1, 2, 4}) : Value();
      y = y ? n.reshape(y, {N, C * b * b, H / b, W / b}) : Value();
    }
    return n.produce({y});
  };
}
} // namespace

void onnx_import::registerShapeImporters(OpRegistry &r) {
  constexpr int64_t all = kAllVersions;
  r.add("Reshape", 5, all, importReshape);
  r.add("Transpose", 1, all, importTranspose);
  r.add("Flatten", 1, all, importFlatten);
  r.add("Squeeze", 1, all, importSqueeze);
  r.add("Unsqueeze", 1, all, importUnsqueeze);
  r.add("Concat", 4, all, importConcat);
  r.add("Split", 2, all, importSplit);
  r.add("Slice", 1, all, importSlice);
  r.add("Gather", 1, all, importGather);
  r.add("NonZero", 9, all, importNonZero);
  r.add("Compress", 9, all, importCompress);
  r.add("Unique", 11, all, importUnique);
  r.add("GatherElements", 1, all, importGatherElements);
  r.add("GatherND", 1, all, importGatherND);
  r.add("ScatterElements", 1, all, importScatterElements);
  r.add("Scatter", 9, all, importScatterElements);
  r.add("ScatterND", 1, all, importScatterND);
  r.add("Expand", 1, all, importExpand);
  r.add("Tile", 6, all, importTile);
  r.add("Pad", 2, all, importPad);
  r.add("Resize", 10, all, importResize);
  r.add("Upsample", 9, all, importResize);
  r.add("Shape", 1, all, importShape);
  r.add("Size", 1, all, importSize);
  r.add("Constant", 1, all, importConstant);
  r.add("ConstantOfShape", 1, all, importConstantOfShape);
  r.add("Range", 1, all, importRange);
  r.add("DepthToSpace", 1, all, depthSpaceFn(true));
  r.add("SpaceToDepth", 1, all, depthSpaceFn(false));
}
