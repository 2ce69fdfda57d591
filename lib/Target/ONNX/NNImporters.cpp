//===- NNImporters.cpp - ONNX contractions, windows, norms, attention ------===//
#include "NodeImporter.h"
#include "ds/Dialect/DS/IR/ShapeUtils.h"

#include <cmath>

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::onnx_import;

namespace {
LogicalResult importMatMul(NodeImporter &n) {
  auto a = n.required(0, "A"), b = n.required(1, "B");
  if (failed(a) || failed(b))
    return failure();
  return n.produce({n.create<MatMulOp>(*a, *b)});
}

/// Gemm: alpha * op(A) op(B) + beta * C, as matmul plus elementwise ops.
LogicalResult importGemm(NodeImporter &n) {
  auto a = n.required(0, "A"), b = n.required(1, "B");
  if (failed(a) || failed(b))
    return failure();
  if (n.typeOf(*a).getRank() != 2 || n.typeOf(*b).getRank() != 2)
    return n.error() << "A and B must be 2-D";
  Value lhs = n.attrInt("transA", 0) ? n.transpose(*a, {1, 0}) : *a;
  Value rhs = n.attrInt("transB", 0) ? n.transpose(*b, {1, 0}) : *b;
  if (!lhs || !rhs)
    return failure();
  Value y = n.create<MatMulOp>(lhs, rhs);
  if (!y)
    return failure();
  Type element = n.typeOf(y).getElementType();
  double alpha = n.attrFloat("alpha", 1.0), beta = n.attrFloat("beta", 1.0);
  if (alpha != 1.0)
    y = n.binary(BinaryKind::mul, y, n.constScalar(element, alpha));
  if (Value c = n.input(2); c && y && beta != 0.0) {
    if (beta != 1.0)
      c = n.binary(BinaryKind::mul, c, n.constScalar(element, beta));
    y = c ? n.binary(BinaryKind::add, y, c) : Value();
  }
  return n.produce({y});
}

LogicalResult importEinsum(NodeImporter &n) {
  SmallVector<Value> inputs;
  for (size_t i = 0; i < n.numInputs(); ++i)
    if (Value v = n.input(i))
      inputs.push_back(v);
  return n.produce({n.create<EinsumOp>(inputs, n.attrString("equation", ""))});
}

LogicalResult importConv(NodeImporter &n) {
  auto x = n.required(0, "X"), w = n.required(1, "W");
  if (failed(x) || failed(w))
    return failure();
  auto input = n.typeOf(*x);
  auto window = readConvWindow(n, input, n.typeOf(*w));
  if (failed(window))
    return failure();
  return n.produce({n.create<ConvOp>(*x, *w, n.input(2), window->strides, window->pads,
                                   window->dilations, n.attrInt("group", 1))});
}

LogicalResult importConvTranspose(NodeImporter &n) {
  auto x = n.required(0, "X"), w = n.required(1, "W");
  if (failed(x) || failed(w))
    return failure();
  auto input = n.typeOf(*x);
  auto window = readConvWindow(n, input, n.typeOf(*w), /*transposed=*/true);
  if (failed(window))
    return failure();
  ArrayRef<int64_t> kernel = window->kernel;
  size_t spatial = kernel.size();
  SmallVector<int64_t> outputPadding = n.attrInts("output_padding");
  if (outputPadding.empty())
    outputPadding.assign(spatial, 0);
  SmallVector<int64_t> outputShape = n.attrInts("output_shape");
  std::string autoPad = n.attrString("auto_pad", "NOTSET");
  bool same = autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER";
  if (!outputShape.empty() || same) {
    // Choose pads so that the output has the requested (or SAME) size.
    if (!outputShape.empty() && outputShape.size() == spatial + 2)
      outputShape.erase(outputShape.begin(), outputShape.begin() + 2);
    if (!outputShape.empty() && outputShape.size() != spatial)
      return n.error() << "output_shape needs " << spatial << " entries";
    for (size_t i = 0; i < spatial; ++i) {
      int64_t in = input.getDimSize(i + 2);
      if (ShapedType::isDynamic(in) || ShapedType::isDynamic(kernel[i]))
        return n.error() << "output_shape / auto_pad needs static spatial dims";
      int64_t s = window->strides[i];
      int64_t out = outputShape.empty() ? in * s : outputShape[i];
      int64_t total = s * (in - 1) + outputPadding[i] +
                      (kernel[i] - 1) * window->dilations[i] + 1 - out;
      if (total < 0) {
        outputPadding[i] += -total;
        total = 0;
      }
      // ONNX puts the smaller half first only for SAME_UPPER.
      bool upper = autoPad == "SAME_UPPER";
      window->pads[i] = upper ? total / 2 : total - total / 2;
      window->pads[i + spatial] = total - window->pads[i];
    }
  }
  return n.produce({n.create<ConvTransposeOp>(*x, *w, n.input(2), window->strides,
                                            window->pads, window->dilations,
                                            n.attrInt("group", 1), outputPadding)});
}

ImportFn poolFn(PoolKind kind) {
  return [=](NodeImporter &n) -> LogicalResult {
    auto x = n.required(0, "X");
    if (failed(x))
      return failure();
    if (n.outputUsed(1))
      return n.error() << "the Indices output of MaxPool is not supported";
    auto input = n.typeOf(*x);
    SmallVector<int64_t> kernel = n.attrInts("kernel_shape");
    if (kernel.empty())
      return n.error() << "kernel_shape is required";
    auto window = readWindowAttrs(n, input, kernel);
    if (failed(window))
      return failure();
    if (kind == PoolKind::avg && n.attrInts("dilations").empty())
      window->dilations.assign(kernel.size(), 1);
    return n.produce({n.create<PoolOp>(kind, *x, kernel, window->strides, window->pads,
                                      window->dilations, n.attrInt("ceil_mode", 0) != 0,
                                      n.attrInt("count_include_pad", 0) != 0,
                                      n.attrInt("p", 2))});
  };
}

ImportFn globalPoolFn(ReduceKind kind) {
  return [=](NodeImporter &n) -> LogicalResult {
    auto x = n.required(0, "X");
    if (failed(x))
      return failure();
    int64_t rank = n.typeOf(*x).getRank();
    if (rank < 3)
      return n.error() << "X must have rank >= 3";
    SmallVector<int64_t> axes;
    for (int64_t d = 2; d < rank; ++d)
      axes.push_back(d);
    return n.produce({n.reduce(kind, *x, axes, true)});
  };
}

/// Reshapes a per-channel vector [C] to [C, 1, ..., 1] for an input of `rank`.
Value perChannel(NodeImporter &n, Value v, int64_t rank) {
  SmallVector<int64_t> shape{-1};
  shape.append(rank - 2, 1);
  return n.reshape(v, shape);
}

/// Inference BatchNormalization: (x - mean) / sqrt(var + eps) * scale + bias.
LogicalResult importBatchNorm(NodeImporter &n) {
  if (n.attrInt("training_mode", 0) || n.numOutputs() > 1)
    return n.error() << "training mode (running statistics outputs) is not supported";
  Value x = n.input(0), scale = n.input(1), bias = n.input(2), mean = n.input(3),
        var = n.input(4);
  if (!x || !scale || !bias || !mean || !var)
    return n.error() << "needs X, scale, B, input_mean and input_var";
  for (Value statistic : {mean, var})
    if (auto constant = statistic.getDefiningOp<ConstantOp>())
      constant->setAttr(kStatisticAttrName, UnitAttr::get(constant.getContext()));
  int64_t rank = n.typeOf(x).getRank();
  if (rank < 2)
    return n.error() << "X must have rank >= 2";
  Type element = n.typeOf(x).getElementType();
  auto channel = [&](Value v) { return rank == 2 ? v : perChannel(n, v, rank); };
  Value eps = n.constScalar(n.typeOf(var).getElementType(), n.attrFloat("epsilon", 1e-5));
  Value inv = n.unary(UnaryKind::sqrt, n.binary(BinaryKind::add, var, eps));
  if (!inv)
    return failure();
  Value factor = n.binary(BinaryKind::div, scale, inv);
  Value shift = factor ? n.binary(BinaryKind::sub, bias,
                                  n.binary(BinaryKind::mul, mean, factor))
                       : Value();
  if (!factor || !shift)
    return failure();
  factor = n.castTo(channel(factor), element);
  shift = n.castTo(channel(shift), element);
  if (!factor || !shift)
    return failure();
  Value y = n.binary(BinaryKind::mul, x, factor);
  return n.produce({y ? n.binary(BinaryKind::add, y, shift) : Value()});
}

LogicalResult importInstanceNorm(NodeImporter &n) {
  Value x = n.input(0), scale = n.input(1), bias = n.input(2);
  if (!x || !scale || !bias)
    return n.error() << "needs input, scale and B";
  int64_t rank = n.typeOf(x).getRank();
  if (rank < 3)
    return n.error() << "input must have rank >= 3";
  // Normalize each (N, C) slice over its spatial dims, then apply per-channel affine.
  Value y = n.create<NormOp>(NormKind::mean_var, x, Value(), Value(), 2,
                             APFloat(n.attrFloat("epsilon", 1e-5)));
  Value s = perChannel(n, scale, rank), b = perChannel(n, bias, rank);
  if (!y || !s || !b)
    return failure();
  y = n.binary(BinaryKind::mul, y, s);
  return n.produce({y ? n.binary(BinaryKind::add, y, b) : Value()});
}

ImportFn normFn(NormKind kind) {
  return [=](NodeImporter &n) -> LogicalResult {
    auto x = n.required(0, "X");
    if (failed(x))
      return failure();
    int64_t rank = n.typeOf(*x).getRank();
    int64_t axis = n.attrInt("axis", -1);
    auto normalized = normalizeAxis(axis, rank);
    if (!normalized)
      return n.error() << "axis " << axis << " is out of range for rank " << rank;
    double eps = n.attrFloat("epsilon", 1e-5);
    Value y = n.create<NormOp>(kind, *x, n.input(1), kind == NormKind::rms ? Value() : n.input(2),
                               *normalized, APFloat(eps));
    SmallVector<Value> outs{y};
    if (kind == NormKind::mean_var && (n.outputUsed(1) || n.outputUsed(2))) {
      // Mean and 1/stddev over the normalized axes, kept as size-1 dims.
      SmallVector<int64_t> axes;
      for (int64_t d = *normalized; d < rank; ++d)
        axes.push_back(d);
      Value x32 = n.castTo(*x, n.builder.getF32Type());
      Value mean = n.reduce(ReduceKind::mean, x32, axes, true);
      Value centered = mean ? n.binary(BinaryKind::sub, x32, mean) : Value();
      Value var = centered ? n.reduce(ReduceKind::mean,
                                      n.binary(BinaryKind::mul, centered, centered), axes, true)
                           : Value();
      Value invStd = var ? n.unary(UnaryKind::reciprocal,
                                   n.unary(UnaryKind::sqrt,
                                           n.binary(BinaryKind::add, var,
                                                    n.constScalar(n.builder.getF32Type(), eps))))
                         : Value();
      outs.push_back(mean);
      outs.push_back(invStd);
    }
    return n.produce(outs);
  };
}

ImportFn softmaxFn(bool log) {
  return [=](NodeImporter &n) -> LogicalResult {
    auto x = n.required(0, "input");
    if (failed(x))
      return failure();
    auto type = n.typeOf(*x);
    int64_t rank = type.getRank();
    auto axis = normalizeAxis(n.attrInt("axis", n.since < 13 ? 1 : -1), rank);
    if (!axis)
      return n.error() << "axis " << n.attrInt("axis", n.since < 13 ? 1 : -1)
                       << " is out of range for rank " << rank;
    if (n.since >= 13 || *axis == rank - 1)
      return n.produce({n.create<SoftmaxOp>(*x, *axis, log)});
    // Before opset 13 the input is flattened to 2-D at `axis`.
    SmallVector<int64_t> flat{0, 0};
    auto outer = staticElementCount(type.getShape().take_front(*axis));
    auto inner = staticElementCount(type.getShape().drop_front(*axis));
    if (!outer && !inner)
      return n.error() << "opset < 13 softmax needs static dims on one side of the axis";
    flat[0] = outer ? *outer : -1;
    flat[1] = inner ? *inner : -1;
    Value y = n.reshape(*x, flat);
    y = y ? n.create<SoftmaxOp>(y, 1, log) : Value();
    Value shape = n.create<ShapeOp>(*x, 0, rank);
    return n.produce({y && shape ? n.create<ReshapeOp>(y, shape, false) : Value()});
  };
}

LogicalResult importDropout(NodeImporter &n) {
  auto x = n.required(0, "data");
  if (failed(x))
    return failure();
  if (n.since >= 12 && n.input(2))
    if (auto training = getConstantInts(n.input(2)); !training || (*training)[0])
      return n.error() << "training mode is not supported";
  SmallVector<Value> outs{*x};
  if (n.outputUsed(1)) {
    // In inference the mask is all true.
    Value shape = n.create<ShapeOp>(*x, 0, n.typeOf(*x).getRank());
    auto one = DenseElementsAttr::get(RankedTensorType::get({1}, n.builder.getI1Type()), true);
    outs.push_back(shape ? n.create<FillOp>(shape, one) : Value());
  }
  return n.produce(outs);
}

LogicalResult importTopK(NodeImporter &n) {
  auto x = n.required(0, "X");
  if (failed(x))
    return failure();
  Value k = n.since < 10 ? n.constInts({n.attrInt("k", 0)}) : n.input(1);
  if (!k)
    return n.error() << "missing K";
  auto results = n.createN<TopKOp, 2>(*x, k, n.attrInt("axis", -1), n.attrInt("largest", 1) != 0,
                                      n.attrInt("sorted", 1) != 0);
  if (results.size() != 2)
    return failure();
  return n.produce(results);
}

ImportFn argFn(ArgReduceKind kind) {
  return [=](NodeImporter &n) -> LogicalResult {
    auto x = n.required(0, "data");
    if (failed(x))
      return failure();
    return n.produce({n.create<ArgReduceOp>(kind, *x, n.attrInt("axis", 0),
                                          n.attrInt("keepdims", 1) != 0,
                                          n.attrInt("select_last_index", 0) != 0)});
  };
}

ImportFn cumulativeFn(bool product) {
  return [=](NodeImporter &n) -> LogicalResult {
    auto x = n.required(0, "x");
    auto axisValue = n.required(1, "axis");
    if (failed(x) || failed(axisValue))
      return failure();
    // A constant axis is an attribute; one only a run knows stays an operand
    // (the result's shape is the input's either way).
    std::optional<SmallVector<int64_t>> axis = n.inputInts(1);
    Value dynamicAxis = axis ? Value() : *axisValue;
    if ((axis && axis->size() != 1) || (dynamicAxis && !holdsOneElement(dynamicAxis.getType())))
      return n.error() << "axis must hold one integer", failure();
    return n.produce({n.create<CumSumOp>(*x, dynamicAxis, axis ? (*axis)[0] : 0,
                                       n.attrInt("exclusive", 0) != 0,
                                       n.attrInt("reverse", 0) != 0, product)});
  };
}

LogicalResult importTrilu(NodeImporter &n) {
  auto x = n.required(0, "input");
  if (failed(x))
    return failure();
  return n.produce({n.create<TriluOp>(*x, n.input(1), n.attrInt("upper", 1) != 0)});
}

/// [B, S, H*D] -> [B, H, S, D].
Value splitHeads(NodeImporter &n, Value x, int64_t heads) {
  Value r = n.reshape(x, {0, 0, heads, -1});
  return r ? n.transpose(r, {0, 2, 1, 3}) : Value();
}

/// Attention's optional qk_matmul_output, spelled out as ONNX's reference
/// computes it: mode 0 (and 1) the scaled (and softcapped) scores, mode 2 with
/// the mask and causal bias added, mode 3 after the softmax. ds.attention
/// itself never materializes these, so they are computed on the side.
Value attentionScores(NodeImporter &n, Value query, Value key, Value mask, FloatAttr scaleAttr,
                      int64_t pastLength) {
  auto q = n.typeOf(query), k = n.typeOf(key);
  if (!q.hasStaticShape() || !k.hasStaticShape()) {
    n.error() << "qk_matmul_output needs static shapes";
    return Value();
  }
  int64_t B = q.getDimSize(0), Hq = q.getDimSize(1), S = q.getDimSize(2), D = q.getDimSize(3);
  int64_t Hkv = k.getDimSize(1), L = k.getDimSize(2);
  Type element = q.getElementType();
  // Grouped-query attention: query head h reads kv head h / (Hq / Hkv).
  if (Hkv <= 0 || Hq % Hkv != 0) {
    n.error() << "the key's " << Hkv << " heads must divide the query's " << Hq;
    return Value();
  }
  if (Hq != Hkv) {
    Value grouped = n.reshape(key, {B, Hkv, 1, L, D});
    grouped = grouped ? n.create<ExpandOp>(grouped, n.constInts({B, Hkv, Hq / Hkv, L, D}))
                      : Value();
    key = grouped ? n.reshape(grouped, {B, Hq, L, D}) : Value();
  }
  Value scores = key ? n.create<MatMulOp>(query, n.transpose(key, {0, 1, 3, 2})) : Value();
  double scale = scaleAttr ? scaleAttr.getValueAsDouble() : 1.0 / std::sqrt((double)D);
  scores = scores ? n.binary(BinaryKind::mul, scores, n.constScalar(element, scale)) : Value();
  double softcap = n.attrFloat("softcap", 0);
  if (scores && softcap > 0) {
    Value capped = n.unary(UnaryKind::tanh,
                           n.binary(BinaryKind::div, scores, n.constScalar(element, softcap)));
    scores = capped ? n.binary(BinaryKind::mul, capped, n.constScalar(element, softcap)) : Value();
  }
  int64_t mode = n.attrInt("qk_matmul_output_mode", 0);
  if (!scores || mode <= 1)
    return scores;
  if (mask) {
    Value bias = mask;
    if (n.typeOf(mask).getElementType().isInteger(1))
      bias = n.create<SelectOp>(mask, n.constScalar(element, 0),
                                n.constScalar(element, -INFINITY));
    scores = bias ? n.binary(BinaryKind::add, scores, bias) : Value();
  }
  if (scores && n.attrInt("is_causal", 0)) {
    SmallVector<float> causal;
    for (int64_t i = 0; i < S; ++i)
      for (int64_t j = 0; j < L; ++j)
        causal.push_back(j <= i + pastLength ? 0.0f : -INFINITY);
    Value bias = n.castTo(n.constAttr(DenseElementsAttr::get(
                              RankedTensorType::get({S, L}, n.builder.getF32Type()),
                              ArrayRef<float>(causal))),
                          element);
    scores = bias ? n.binary(BinaryKind::add, scores, bias) : Value();
  }
  if (!scores || mode == 2)
    return scores;
  return n.create<SoftmaxOp>(scores, -1, false);
}

LogicalResult importAttention(NodeImporter &n) {
  auto q = n.required(0, "Q"), k = n.required(1, "K"), v = n.required(2, "V");
  if (failed(q) || failed(k) || failed(v))
    return failure();
  int64_t rank = n.typeOf(*q).getRank();
  bool threeD = rank == 3;
  Value query = *q, key = *k, value = *v;
  if (threeD) {
    int64_t qHeads = n.attrInt("q_num_heads", 0), kvHeads = n.attrInt("kv_num_heads", 0);
    if (qHeads <= 0 || kvHeads <= 0)
      return n.error() << "3-D inputs need q_num_heads and kv_num_heads";
    query = splitHeads(n, query, qHeads);
    key = splitHeads(n, key, kvHeads);
    value = splitHeads(n, value, kvHeads);
    if (!query || !key || !value)
      return failure();
  } else if (rank != 4) {
    return n.error() << "Q must be 3-D or 4-D";
  } else if (n.typeOf(key).getRank() != 4 || n.typeOf(value).getRank() != 4) {
    return n.error() << "K and V must be 4-D like Q";
  }
  // A KV cache is concatenated in front of the new keys / values; causal
  // masking then counts positions from its end.
  int64_t pastLength = 0;
  if (Value past = n.input(4)) {
    pastLength = n.typeOf(past).getRank() == 4 ? n.typeOf(past).getDimSize(2) : -1;
    if (ShapedType::isDynamic(pastLength) || pastLength < 0)
      return n.error() << "past_key must be 4-D with a static sequence length";
  }
  if (Value past = n.input(4))
    key = n.create<ConcatOp>(ValueRange{past, key}, 2);
  if (Value past = n.input(5))
    value = n.create<ConcatOp>(ValueRange{past, value}, 2);
  if (!key || !value)
    return failure();
  Value mask = n.input(3);
  Type element = n.typeOf(query).getElementType();
  if (mask && !n.typeOf(mask).getElementType().isInteger(1))
    mask = n.castTo(mask, element);
  if (mask) {
    // A mask shorter than the keys is padded: the extra keys are masked out.
    auto type = n.typeOf(mask);
    int64_t L = n.typeOf(key).getDimSize(2), m = type.getRank() ? type.getShape().back() : 1;
    if (!ShapedType::isDynamic(L) && !ShapedType::isDynamic(m) && m < L && m != 1) {
      SmallVector<int64_t> pads(2 * type.getRank(), 0);
      pads.back() = L - m;
      bool isBool = type.getElementType().isInteger(1);
      mask = n.create<PadOp>(mask, n.constInts(pads),
                             n.constScalar(type.getElementType(), isBool ? 0 : -INFINITY),
                             PadMode::constant);
      if (!mask)
        return failure();
    }
  }
  if (Value lengths = n.numInputs() > 6 ? n.input(6) : Value()) {
    // nonpad_kv_seqlen [B]: keys at or past a batch's length are padding.
    int64_t L = n.typeOf(key).getDimSize(2);
    if (ShapedType::isDynamic(L))
      return n.error() << "nonpad_kv_seqlen needs a static key length";
    SmallVector<int64_t> positions;
    for (int64_t j = 0; j < L; ++j)
      positions.push_back(j);
    Value perBatch = n.reshape(n.castTo(lengths, n.builder.getI64Type()), {-1, 1, 1, 1});
    Value valid = perBatch ? n.create<CompareOp>(CompareKind::lt, n.constInts(positions), perBatch)
                           : Value();
    if (!valid)
      return failure();
    if (!mask)
      mask = valid;
    else if (n.typeOf(mask).getElementType().isInteger(1))
      mask = n.binary(BinaryKind::logical_and, mask, valid);
    else
      mask = n.binary(BinaryKind::add, mask,
                      n.create<SelectOp>(valid, n.constScalar(element, 0),
                                         n.constScalar(element, -INFINITY)));
    if (!mask)
      return failure();
  }
  FloatAttr scale;
  if (n.hasAttr("scale"))
    scale = n.builder.getF64FloatAttr(n.attrFloat("scale", 0));
  Value y = n.create<AttentionOp>(query, key, value, mask, scale,
                                  n.attrInt("is_causal", 0) != 0,
                                  APFloat(n.attrFloat("softcap", 0)), pastLength);
  if (!y) // the op's verifier said why (heads, dims)
    return failure();
  if (threeD) {
    // [B, H, S, Dv] -> [B, S, H*Dv].
    y = n.transpose(y, {0, 2, 1, 3});
    y = y ? n.reshape(y, {0, 0, -1}) : Value();
  }
  SmallVector<Value> outs{y};
  if (n.outputUsed(1))
    outs.push_back(key);
  if (n.outputUsed(2)) {
    outs.resize(2);
    outs.push_back(value);
  }
  if (n.outputUsed(3)) {
    outs.resize(3);
    outs.push_back(attentionScores(n, query, key, mask, scale, pastLength));
  }
  for (size_t i = 0; i < outs.size(); ++i)
    if (!outs[i] && n.outputUsed(i))
      return failure();
  n.setOutputs(outs);
  return success();
}

LogicalResult importRotaryEmbedding(NodeImporter &n) {
  auto x = n.required(0, "X"), cos = n.required(1, "cos_cache"), sin = n.required(2, "sin_cache");
  if (failed(x) || failed(cos) || failed(sin))
    return failure();
  // Inputs: X, cos_cache, sin_cache, position_ids (optional, last in opset 23).
  Value positions = n.numInputs() > 3 ? n.input(3) : Value();
  return n.produce({n.create<RotaryEmbeddingOp>(*x, *cos, *sin, positions,
                                              n.attrInt("interleaved", 0) != 0,
                                              n.attrInt("rotary_embedding_dim", 0),
                                              n.attrInt("num_heads", 0))});
}
} // namespace

void onnx_import::registerNNImporters(OpRegistry &r) {
  constexpr int64_t all = kAllVersions;
  r.add("MatMul", 1, all, importMatMul);
  r.add("Gemm", 7, all, importGemm);
  r.add("Einsum", 1, all, importEinsum);
  r.add("Conv", 1, all, importConv);
  r.add("ConvTranspose", 1, all, importConvTranspose);
  r.add("MaxPool", 8, all, poolFn(PoolKind::max));
  r.add("AveragePool", 7, all, poolFn(PoolKind::avg));
  r.add("LpPool", 11, all, poolFn(PoolKind::lp));
  r.add("GlobalAveragePool", 1, all, globalPoolFn(ReduceKind::mean));
  r.add("GlobalMaxPool", 1, all, globalPoolFn(ReduceKind::max));
  r.add("BatchNormalization", 9, all, importBatchNorm);
  r.add("InstanceNormalization", 6, all, importInstanceNorm);
  r.add("LayerNormalization", 1, all, normFn(NormKind::mean_var));
  r.add("RMSNormalization", 1, all, normFn(NormKind::rms));
  r.add("Softmax", 1, all, softmaxFn(false));
  r.add("LogSoftmax", 1, all, softmaxFn(true));
  r.add("Dropout", 7, all, importDropout);
  r.add("TopK", 1, all, importTopK);
  r.add("ArgMax", 1, all, argFn(ArgReduceKind::argmax));
  r.add("ArgMin", 1, all, argFn(ArgReduceKind::argmin));
  r.add("CumSum", 1, all, cumulativeFn(false));
  r.add("CumProd", 1, all, cumulativeFn(true));
  r.add("Trilu", 1, all, importTrilu);
  r.add("Attention", 1, all, importAttention);
  r.add("RotaryEmbedding", 1, all, importRotaryEmbedding);
}
