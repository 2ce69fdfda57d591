//===- GradientRules.cpp - reverse-mode derivative of each ds op ----------===//
#include "GradientRules.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/ScopedPrinter.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::autodiff;


Value GradBuilder::unary(UnaryKind kind, Value x) {
  return b.create<UnaryOp>(loc, kind, x, FloatAttr(), FloatAttr());
}

Value GradBuilder::binary(BinaryKind kind, Value lhs, Value rhs) {
  return b.create<BinaryOp>(loc, kind, lhs, rhs);
}

Value GradBuilder::scalar(double value, Value like) {
  Type element = tensorOf(like).getElementType();
  auto type = RankedTensorType::get({}, element);
  return b.create<ConstantOp>(
      loc, DenseElementsAttr::get(type, FloatAttr::get(element, value).getValue()));
}

Value GradBuilder::splat(double value, Value like) {
  auto type = tensorOf(like);
  Type element = type.getElementType();
  return b.create<ConstantOp>(
      loc, DenseElementsAttr::get(type, FloatAttr::get(element, value).getValue()));
}

Value GradBuilder::sum(Value x, ArrayRef<int64_t> axes, bool keepdims) {
  if (axes.empty())
    return x;
  return b.create<ReduceOp>(loc, ReduceKind::sum, x, axes, keepdims);
}

static Value shapeConstant(OpBuilder &b, Location loc, ArrayRef<int64_t> shape) {
  auto type = RankedTensorType::get({(int64_t)shape.size()}, b.getI64Type());
  return b.create<ConstantOp>(loc, DenseElementsAttr::get(type, shape));
}

Value GradBuilder::reshape(Value x, ArrayRef<int64_t> shape) {
  if (tensorOf(x).getShape() == shape)
    return x;
  auto type = RankedTensorType::get(shape, tensorOf(x).getElementType());
  return b.create<ReshapeOp>(loc, type, x, shapeConstant(b, loc, shape), UnitAttr());
}

Value GradBuilder::expand(Value x, ArrayRef<int64_t> shape) {
  if (tensorOf(x).getShape() == shape)
    return x;
  auto type = RankedTensorType::get(shape, tensorOf(x).getElementType());
  return b.create<ExpandOp>(loc, type, x, shapeConstant(b, loc, shape));
}

Value GradBuilder::transpose(Value x, ArrayRef<int64_t> perm) {
  return b.create<TransposeOp>(loc, x, perm);
}

Value GradBuilder::matmul(Value lhs, Value rhs) { return b.create<MatMulOp>(loc, lhs, rhs); }

Value GradBuilder::swapLastTwo(Value x) {
  int64_t rank = tensorOf(x).getRank();
  llvm::SmallVector<int64_t> perm(rank);
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[rank - 1], perm[rank - 2]);
  return transpose(x, perm);
}

Value GradBuilder::unbroadcast(Value grad, Type targetType) {
  auto target = cast<RankedTensorType>(targetType);
  auto from = tensorOf(grad);
  if (from.getShape() == target.getShape())
    return grad;
  int64_t lead = from.getRank() - target.getRank();
  // Dims broadcast from 1 keep their place; leading dims the operand did not
  // have go away.
  llvm::SmallVector<int64_t> ones, leading;
  for (int64_t i = 0; i < from.getRank(); ++i) {
    if (i < lead)
      leading.push_back(i);
    else if (target.getDimSize(i - lead) == 1 && from.getDimSize(i) != 1)
      ones.push_back(i);
  }
  Value g = sum(grad, ones, /*keepdims=*/true);
  g = sum(g, leading, /*keepdims=*/false);
  return reshape(g, target.getShape());
}

/// Key / value heads repeated for the query heads they serve (GQA): kv head
/// j serves query heads j*G .. j*G+G-1.
Value autodiff::repeatHeads(GradBuilder &g, Value x, int64_t queryHeads) {
  auto t = tensorOf(x);
  int64_t b = t.getDimSize(0), h = t.getDimSize(1), l = t.getDimSize(2), d = t.getDimSize(3);
  if (h == queryHeads)
    return x;
  int64_t group = queryHeads / h;
  Value wide = g.expand(g.reshape(x, {b, h, 1, l, d}), {b, h, group, l, d});
  return g.reshape(wide, {b, queryHeads, l, d});
}

/// The [S, L] keys each query sees under causality with a diagonal offset,
/// a window of W keys ending at the diagonal and N sink keys (ds.attention's
/// static patterns; W = 0: no window).
Value autodiff::visibleKeys(GradBuilder &g, int64_t queries, int64_t keys, int64_t offset,
                            int64_t window, int64_t sinks) {
  llvm::SmallVector<bool> keep;
  for (int64_t i = 0; i < queries; ++i)
    for (int64_t j = 0; j < keys; ++j) {
      int64_t diagonal = i + offset;
      keep.push_back(j <= diagonal && (window == 0 || j > diagonal - window || j < sinks));
    }
  OpBuilder &b = g.getBuilder();
  auto type = RankedTensorType::get({queries, keys}, b.getI1Type());
  return b.create<ConstantOp>(g.getLoc(), DenseElementsAttr::get(type, ArrayRef(keep)));
}

/// Scores under an attention mask: a boolean one hides (-inf) where false,
/// a float one is added.
Value autodiff::applyAttentionMask(GradBuilder &g, Value scores, Value mask) {
  if (!mask)
    return scores;
  if (tensorOf(mask).getElementType().isInteger(1))
    return g.getBuilder().create<SelectOp>(g.getLoc(), mask, scores, g.scalar(-INFINITY, scores));
  return g.binary(BinaryKind::add, scores, mask);
}

AttentionProbabilities autodiff::denseProbabilities(GradBuilder &g, Value q, Value k,
                                                    double scale, double softcap,
                                                    llvm::function_ref<Value(Value)> hide) {
  auto mul = [&](Value l, Value r) { return g.binary(BinaryKind::mul, l, r); };
  OpBuilder &b = g.getBuilder();
  Value scores = mul(g.matmul(q, g.swapLastTwo(k)), g.scalar(scale, q));
  AttentionProbabilities out;
  if (softcap > 0.0) { // as the kernels: a cap of 0 or below is none
    out.capped = g.unary(UnaryKind::tanh, mul(scores, g.scalar(1.0 / softcap, scores)));
    scores = mul(out.capped, g.scalar(softcap, out.capped));
  }
  out.p = b.create<SoftmaxOp>(g.getLoc(), hide(scores), b.getI64IntegerAttr(3), UnitAttr());
  // Rows with every key hidden give 0 (the kernels' result; NaN here).
  out.p = b.create<SelectOp>(g.getLoc(), g.unary(UnaryKind::is_nan, out.p), g.scalar(0.0, out.p),
                             out.p);
  return out;
}

namespace {
/// The dims from `axis` (negative counts from the end) to the last.
llvm::SmallVector<int64_t> trailingAxes(int64_t axis, int64_t rank) {
  if (axis < 0)
    axis += rank;
  llvm::SmallVector<int64_t> axes;
  for (int64_t i = axis; i < rank; ++i)
    axes.push_back(i);
  return axes;
}

/// Mean over `axes`, kept as size-1 dims.
Value meanKeep(GradBuilder &g, Value x, ArrayRef<int64_t> axes) {
  auto type = tensorOf(x);
  double count = 1;
  for (int64_t axis : axes)
    count *= (double)type.getDimSize(axis);
  return g.binary(BinaryKind::div, g.sum(x, axes, true), g.scalar(count, x));
}

LogicalResult unaryGrad(UnaryOp op, Value dy, Value &dx, GradBuilder &g, std::string &why) {
  Value x = op.getInput(), y = op.getResult();
  auto mul = [&](Value a, Value b) { return g.binary(BinaryKind::mul, a, b); };
  auto one = [&] { return g.scalar(1.0, x); };
  switch (op.getKind()) {
  case UnaryKind::neg: dx = g.unary(UnaryKind::neg, dy); return success();
  case UnaryKind::exp: dx = mul(dy, y); return success();
  case UnaryKind::log: dx = g.binary(BinaryKind::div, dy, x); return success();
  case UnaryKind::sqrt: // dy / (2 sqrt(x))
    dx = g.binary(BinaryKind::div, dy, mul(g.scalar(2.0, x), y));
    return success();
  case UnaryKind::reciprocal: // -dy y²
    dx = g.unary(UnaryKind::neg, mul(dy, mul(y, y)));
    return success();
  case UnaryKind::tanh: // dy (1 - y²)
    dx = mul(dy, g.binary(BinaryKind::sub, one(), mul(y, y)));
    return success();
  case UnaryKind::sigmoid: // dy y (1 - y)
    dx = mul(dy, mul(y, g.binary(BinaryKind::sub, one(), y)));
    return success();
  case UnaryKind::relu: { // dy where x > 0
    Value positive = g.getBuilder().create<CompareOp>(g.getLoc(), CompareKind::gt, x,
                                                      g.scalar(0.0, x));
    dx = g.getBuilder().create<SelectOp>(g.getLoc(), positive, dy, g.scalar(0.0, dy));
    return success();
  }
  case UnaryKind::abs: dx = mul(dy, g.unary(UnaryKind::sign, x)); return success();
  case UnaryKind::erf: // dy 2/√π exp(-x²)
    dx = mul(dy, mul(g.scalar(2.0 / std::sqrt(M_PI), x),
                     g.unary(UnaryKind::exp, g.unary(UnaryKind::neg, mul(x, x)))));
    return success();
  case UnaryKind::gelu: { // Φ(x) + x φ(x)
    Value cdf = mul(g.scalar(0.5, x),
                    g.binary(BinaryKind::add, one(),
                             g.unary(UnaryKind::erf, mul(x, g.scalar(M_SQRT1_2, x)))));
    Value pdf = mul(g.scalar(1.0 / std::sqrt(2.0 * M_PI), x),
                    g.unary(UnaryKind::exp, mul(g.scalar(-0.5, x), mul(x, x))));
    dx = mul(dy, g.binary(BinaryKind::add, cdf, mul(x, pdf)));
    return success();
  }
  case UnaryKind::gelu_tanh: {
    // y = x (1 + t) / 2, t = tanh(c (x + a x^3)):
    // dy/dx = (1 + t) / 2 + x (1 - t^2) c (1 + 3 a x^2) / 2.
    const double c = std::sqrt(2.0 / M_PI), a = 0.044715;
    Value square = mul(x, x), half = g.scalar(0.5, x);
    Value t = g.unary(UnaryKind::tanh,
                      mul(g.scalar(c, x), g.binary(BinaryKind::add, x,
                                                   mul(g.scalar(a, x), mul(square, x)))));
    Value slope = mul(g.scalar(c, x),
                      g.binary(BinaryKind::add, one(), mul(g.scalar(3.0 * a, x), square)));
    Value sech2 = g.binary(BinaryKind::sub, one(), mul(t, t));
    dx = mul(dy, g.binary(BinaryKind::add, mul(half, g.binary(BinaryKind::add, one(), t)),
                          mul(mul(half, x), mul(sech2, slope))));
    return success();
  }
  case UnaryKind::hard_sigmoid: { // α where 0 < αx + β < 1 (PyTorch's choice at the corners)
    OpBuilder &b = g.getBuilder();
    double alpha = op.getAlphaAttr() ? op.getAlphaAttr().getValueAsDouble() : 0.2;
    double beta = op.getBetaAttr() ? op.getBetaAttr().getValueAsDouble() : 0.5;
    Value z = g.binary(BinaryKind::add, mul(x, g.scalar(alpha, x)), g.scalar(beta, x));
    Value inside = g.binary(
        BinaryKind::logical_and, b.create<CompareOp>(g.getLoc(), CompareKind::gt, z, g.scalar(0.0, x)),
        b.create<CompareOp>(g.getLoc(), CompareKind::lt, z, one()));
    dx = b.create<SelectOp>(g.getLoc(), inside, mul(dy, g.scalar(alpha, dy)), g.scalar(0.0, dy));
    return success();
  }
  case UnaryKind::hard_swish: { // 0 below -3, x/3 + 1/2 up to 3, 1 above (PyTorch's)
    OpBuilder &b = g.getBuilder();
    Value below = b.create<CompareOp>(g.getLoc(), CompareKind::lt, x, g.scalar(-3.0, x));
    Value ramp = b.create<CompareOp>(g.getLoc(), CompareKind::le, x, g.scalar(3.0, x));
    Value slope = g.binary(BinaryKind::add, mul(x, g.scalar(1.0 / 3.0, x)), g.scalar(0.5, x));
    Value d = b.create<SelectOp>(g.getLoc(), below, g.scalar(0.0, x),
                                 b.create<SelectOp>(g.getLoc(), ramp, slope, one()));
    dx = mul(dy, d);
    return success();
  }
  default:
    why = "no gradient for ds.unary " + stringifyUnaryKind(op.getKind()).str();
    return failure();
  }
}

LogicalResult binaryGrad(BinaryOp op, Value dy, ArrayRef<bool> needed, Value &da, Value &db,
                         GradBuilder &g, std::string &why) {
  Value a = op.getLhs(), b = op.getRhs(), y = op.getResult();
  auto mul = [&](Value l, Value r) { return g.binary(BinaryKind::mul, l, r); };
  auto neg = [&](Value v) { return g.unary(UnaryKind::neg, v); };
  switch (op.getKind()) {
  case BinaryKind::add:
    da = dy, db = dy;
    break;
  case BinaryKind::sub:
    da = dy;
    if (needed[1])
      db = neg(dy);
    break;
  case BinaryKind::mul:
    if (needed[0])
      da = mul(dy, b);
    if (needed[1])
      db = mul(dy, a);
    break;
  case BinaryKind::div:
    if (needed[0])
      da = g.binary(BinaryKind::div, dy, b);
    if (needed[1]) // -dy y / b
      db = neg(g.binary(BinaryKind::div, mul(dy, y), b));
    break;
  case BinaryKind::pow: {
    // An integer exponent (x ** 2 as exported) in the base's type.
    Value e = b;
    auto bt = tensorOf(b), at = tensorOf(a);
    if (bt.getElementType() != at.getElementType())
      e = g.getBuilder().create<CastOp>(
          g.getLoc(), RankedTensorType::get(bt.getShape(), at.getElementType()), b, UnitAttr());
    if (needed[0]) // dy b a^(b-1)
      da = mul(dy, mul(e, g.binary(BinaryKind::pow, a,
                                   g.binary(BinaryKind::sub, e, g.scalar(1.0, e)))));
    if (needed[1]) // dy y log(a)
      db = mul(dy, mul(y, g.unary(UnaryKind::log, a)));
    break;
  }
  default:
    why = "no gradient for ds.binary " + stringifyBinaryKind(op.getKind()).str();
    return failure();
  }
  if (needed[0])
    da = g.unbroadcast(da, a.getType());
  if (needed[1])
    db = g.unbroadcast(db, b.getType());
  return success();
}

/// The gradient of repeated heads, summed back onto the kv heads.
Value sumHeads(GradBuilder &g, Value grad, int64_t kvHeads) {
  auto t = tensorOf(grad);
  int64_t b = t.getDimSize(0), h = t.getDimSize(1), l = t.getDimSize(2), d = t.getDimSize(3);
  if (h == kvHeads)
    return grad;
  Value split = g.reshape(grad, {b, kvHeads, h / kvHeads, l, d});
  return g.reshape(g.sum(split, {2}, false), {b, kvHeads, l, d});
}

/// Dense attention's backward. It recomputes the probabilities from q and k
/// (as FlashAttention's does: they are never kept), then dV = Pᵀ dO,
/// dS = P (dO Vᵀ - Σ P dO Vᵀ), through a softcap c·tanh(x / c) by its
/// derivative 1 - tanh², dQ = dS K scale, dK = dSᵀ Q scale. `hide` applies
/// the op's masks to the (capped) scores; `needed` is {q, k, v, scores}:
/// the last is the gradient of the masked scores, an additive mask's.
struct AttentionGrads {
  Value dq, dk, dv, dScores;
};
AttentionGrads denseAttentionGrad(GradBuilder &g, Value q, Value k, Value v, double scale,
                                  double softcap, llvm::function_ref<Value(Value)> hide, Value dy,
                                  std::array<bool, 4> needed) {
  int64_t heads = tensorOf(q).getDimSize(1), kvHeads = tensorOf(k).getDimSize(1);
  auto mul = [&](Value l, Value r) { return g.binary(BinaryKind::mul, l, r); };
  Value kx = repeatHeads(g, k, heads), vx = repeatHeads(g, v, heads);
  AttentionProbabilities probabilities = denseProbabilities(g, q, kx, scale, softcap, hide);
  Value p = probabilities.p, capped = probabilities.capped;
  AttentionGrads grads;
  if (needed[2])
    grads.dv = sumHeads(g, g.matmul(g.swapLastTwo(p), dy), kvHeads);
  if (!needed[0] && !needed[1] && !needed[3])
    return grads;
  Value dp = g.matmul(dy, g.swapLastTwo(vx));
  Value ds = mul(p, g.binary(BinaryKind::sub, dp, g.sum(mul(dp, p), {3}, true)));
  grads.dScores = ds;
  if (capped)
    ds = mul(ds, g.binary(BinaryKind::sub, g.scalar(1.0, capped), mul(capped, capped)));
  if (needed[0])
    grads.dq = mul(g.matmul(ds, kx), g.scalar(scale, q));
  if (needed[1])
    grads.dk = sumHeads(g, mul(g.matmul(g.swapLastTwo(ds), q), g.scalar(scale, q)), kvHeads);
  return grads;
}

LogicalResult attentionGrad(AttentionOp op, Value dy, ArrayRef<bool> needed,
                            SmallVectorImpl<Value> &out, GradBuilder &g, std::string &why) {
  if (op.getSelectBlocks() != 0) {
    why = "no gradient for a ds.attention with block selection (the selection depends on q "
          "and k)";
    return failure();
  }
  Value q = op.getQuery(), mask = op.getMask();
  auto qt = tensorOf(q), kt = tensorOf(op.getKey());
  int64_t queries = qt.getDimSize(2), keys = kt.getDimSize(2);
  double scale = op.getScale() ? op.getScale()->convertToDouble()
                               : 1.0 / std::sqrt((double)qt.getDimSize(3));
  OpBuilder &b = g.getBuilder();
  Location loc = g.getLoc();
  auto hide = [&](Value scores) {
    Value hidden = g.scalar(-INFINITY, scores);
    scores = applyAttentionMask(g, scores, mask);
    if (op.getIsCausal()) {
      int64_t offset = op.getCausalOffset() + (op.getCausalFromEnd() ? keys - queries : 0);
      scores = b.create<SelectOp>(
          loc, visibleKeys(g, queries, keys, offset, op.getWindow(), op.getSinkTokens()), scores,
          hidden);
    }
    return scores;
  };
  bool maskNeeded = mask && needed.size() > 3 && needed[3];
  if (g.useFusedAttention() && !maskNeeded) {
    // One op: the kernel recomputes the probabilities tile by tile.
    SmallVector<Value> operands{q, op.getKey(), op.getValue(), op.getResult(), dy};
    if (mask)
      operands.push_back(mask);
    SmallVector<NamedAttribute> attrs;
    for (NamedAttribute attr : op->getAttrs())
      if (attr.getName() != op.getSelectBlocksAttrName() &&
          attr.getName() != op.getBlockSizeAttrName())
        attrs.push_back(attr);
    auto fused = b.create<AttentionGradOp>(loc, operands, attrs);
    out[0] = fused.getQueryGrad();
    out[1] = fused.getKeyGrad();
    out[2] = fused.getValueGrad();
    return success();
  }
  AttentionGrads grads =
      denseAttentionGrad(g, q, op.getKey(), op.getValue(), scale,
                         op.getSoftcapAttr().getValueAsDouble(), hide, dy,
                         {needed[0], needed[1], needed[2], maskNeeded});
  out[0] = grads.dq;
  out[1] = grads.dk;
  out[2] = grads.dv;
  if (maskNeeded)
    out[3] = g.unbroadcast(grads.dScores, mask.getType());
  return success();
}

/// ds.block_sparse_attention is dense attention whose mask is the layout
/// expanded to keys: the same backward, the layout [H, QB, KB] widened in the
/// graph to [H, QB, b, KB, b], merged and cut to [H, S, L].
LogicalResult blockSparseAttentionGrad(BlockSparseAttentionOp op, Value dy, ArrayRef<bool> needed,
                                       SmallVectorImpl<Value> &out, GradBuilder &g,
                                       std::string &why) {
  Value q = op.getQuery(), layout = op.getLayout(), mask = op.getMask();
  bool maskNeeded = mask && needed.size() > 4 && needed[4];
  if (g.useFusedAttention() && !maskNeeded) {
    // One op: the kernel skips the tiles the layout hides.
    SmallVector<Value> operands{q, op.getKey(), op.getValue(), layout, op.getResult(), dy};
    if (mask)
      operands.push_back(mask);
    auto fused = g.getBuilder().create<BlockSparseAttentionGradOp>(g.getLoc(), operands,
                                                                   op->getAttrs());
    out[0] = fused.getQueryGrad();
    out[1] = fused.getKeyGrad();
    out[2] = fused.getValueGrad();
    return success();
  }
  auto qt = tensorOf(q), kt = tensorOf(op.getKey()), lt = tensorOf(layout);
  if (!lt.hasStaticShape() || qt.isDynamicDim(2) || kt.isDynamicDim(2)) {
    why = "no gradient for a ds.block_sparse_attention with dynamic lengths";
    return failure();
  }
  int64_t queries = qt.getDimSize(2), keys = kt.getDimSize(2), bs = op.getBlockSize();
  int64_t heads = lt.getDimSize(0), qb = lt.getDimSize(1), kb = lt.getDimSize(2);
  double scale = op.getScale() ? op.getScale()->convertToDouble()
                               : 1.0 / std::sqrt((double)qt.getDimSize(3));
  OpBuilder &b = g.getBuilder();
  Location loc = g.getLoc();
  Value wide = g.reshape(g.expand(g.reshape(layout, {heads, qb, 1, kb, 1}), {heads, qb, bs, kb, bs}),
                         {heads, qb * bs, kb * bs});
  Value keep = wide;
  if (qb * bs != queries || kb * bs != keys) {
    auto i64 = [&](ArrayRef<int64_t> v) {
      auto type = RankedTensorType::get({(int64_t)v.size()}, b.getI64Type());
      return b.create<ConstantOp>(loc, DenseElementsAttr::get(type, v)).getResult();
    };
    keep = b.create<SliceOp>(loc, RankedTensorType::get({heads, queries, keys}, b.getI1Type()),
                             wide, i64({0, 0}), i64({queries, keys}), i64({1, 2}), i64({1, 1}));
  }
  auto hide = [&](Value scores) {
    Value hidden = g.scalar(-INFINITY, scores);
    scores = applyAttentionMask(g, b.create<SelectOp>(loc, keep, scores, hidden), mask);
    if (op.getIsCausal()) {
      int64_t offset = op.getCausalOffset() + (op.getCausalFromEnd() ? keys - queries : 0);
      scores = b.create<SelectOp>(loc, visibleKeys(g, queries, keys, offset, 0, 0), scores,
                                  hidden);
    }
    return scores;
  };
  AttentionGrads grads = denseAttentionGrad(g, q, op.getKey(), op.getValue(), scale, 0.0, hide,
                                            dy, {needed[0], needed[1], needed[2], maskNeeded});
  out[0] = grads.dq;
  out[1] = grads.dk;
  out[2] = grads.dv;
  if (maskNeeded)
    out[4] = g.unbroadcast(grads.dScores, mask.getType());
  return success();
}

/// ds.sparse_attention is dense attention whose mask keeps the listed keys:
/// the same backward, the mask built by scattering ones at the indices.
LogicalResult sparseAttentionGrad(SparseAttentionOp op, Value dy, ArrayRef<bool> needed,
                                  SmallVectorImpl<Value> &out, GradBuilder &g, std::string &why) {
  Value q = op.getQuery(), indices = op.getIndices();
  if (g.useFusedAttention()) {
    // One op, O(S K) like the forward: only the listed keys take part.
    auto fused = g.getBuilder().create<SparseAttentionGradOp>(
        g.getLoc(), ValueRange{q, op.getKey(), op.getValue(), indices, op.getResult(), dy},
        op->getAttrs());
    out[0] = fused.getQueryGrad();
    out[1] = fused.getKeyGrad();
    out[2] = fused.getValueGrad();
    return success();
  }
  auto qt = tensorOf(q), kt = tensorOf(op.getKey()), it = tensorOf(indices);
  if (!it.hasStaticShape()) {
    why = "no gradient for a ds.sparse_attention whose key lists have dynamic dims";
    return failure();
  }
  int64_t queries = qt.getDimSize(2), keys = kt.getDimSize(2);
  double scale = op.getScale() ? op.getScale()->convertToDouble()
                               : 1.0 / std::sqrt((double)qt.getDimSize(3));
  OpBuilder &b = g.getBuilder();
  Location loc = g.getLoc();
  Type element = qt.getElementType();
  auto listedType = RankedTensorType::get(
      {it.getDimSize(0), it.getDimSize(1), it.getDimSize(2), keys}, element);
  Value zeros = b.create<ConstantOp>(
      loc, DenseElementsAttr::get(listedType, b.getFloatAttr(element, 0.0)));
  Value ones = b.create<ConstantOp>(
      loc, DenseElementsAttr::get(it.clone(element), b.getFloatAttr(element, 1.0)));
  Value listed = b.create<ScatterElementsOp>(loc, zeros, indices, ones, uint64_t(3),
                                             ScatterReduction::none);
  Value keep = b.create<CompareOp>(loc, CompareKind::gt, listed, g.scalar(0.0, listed));
  auto hide = [&](Value scores) {
    Value hidden = g.scalar(-INFINITY, scores);
    scores = b.create<SelectOp>(loc, keep, scores, hidden);
    if (op.getIsCausal()) {
      int64_t offset = op.getCausalOffset() + (op.getCausalFromEnd() ? keys - queries : 0);
      scores = b.create<SelectOp>(loc, visibleKeys(g, queries, keys, offset, 0, 0), scores,
                                  hidden);
    }
    return scores;
  };
  AttentionGrads grads = denseAttentionGrad(g, q, op.getKey(), op.getValue(), scale, 0.0, hide,
                                            dy, {needed[0], needed[1], needed[2], false});
  out[0] = grads.dq;
  out[1] = grads.dk;
  out[2] = grads.dv;
  return success();
}

LogicalResult normGrad(NormOp op, Value dy, ArrayRef<bool> needed, SmallVectorImpl<Value> &out,
                       GradBuilder &g) {
  Value x = op.getInput();
  int64_t rank = tensorOf(x).getRank();
  llvm::SmallVector<int64_t> axes = trailingAxes(op.getAxis(), rank);
  double eps = op.getEpsilonAttr().getValueAsDouble();
  auto mul = [&](Value l, Value r) { return g.binary(BinaryKind::mul, l, r); };
  auto sub = [&](Value l, Value r) { return g.binary(BinaryKind::sub, l, r); };
  // x̂ and 1/σ, recomputed from x (cheap next to keeping them).
  Value centered = x;
  if (op.getKind() == NormKind::mean_var)
    centered = sub(x, meanKeep(g, x, axes));
  Value variance = meanKeep(g, mul(centered, centered), axes);
  Value inverse = g.unary(UnaryKind::reciprocal,
                          g.unary(UnaryKind::sqrt,
                                  g.binary(BinaryKind::add, variance, g.scalar(eps, x))));
  Value normalized = mul(centered, inverse);
  Value scale = op.getScale();
  // Operands: input, then scale and bias when present.
  unsigned scaleIndex = 1, biasIndex = scale ? 2 : 1;
  if (scale && needed[scaleIndex])
    out[scaleIndex] = g.unbroadcast(mul(dy, normalized), scale.getType());
  if (op.getBias() && needed[biasIndex])
    out[biasIndex] = g.unbroadcast(dy, op.getBias().getType());
  if (!needed[0])
    return success();
  Value dn = scale ? mul(dy, scale) : dy;
  // dx = (dn - mean(dn) - x̂ mean(dn x̂)) / σ; RMS norm has no mean term.
  Value inner = sub(dn, mul(normalized, meanKeep(g, mul(dn, normalized), axes)));
  if (op.getKind() == NormKind::mean_var)
    inner = sub(inner, meanKeep(g, dn, axes));
  out[0] = mul(inner, inverse);
  return success();
}
} // namespace

bool autodiff::isDifferentiableUse(OpOperand &use) {
  Operation *op = use.getOwner();
  unsigned index = use.getOperandNumber();
  return llvm::TypeSwitch<Operation *, bool>(op)
      .Case<RotaryEmbeddingOp>([&](auto) { return index == 0; })
      .Case<ReshapeOp, ExpandOp, GatherOp, PadOp>([&](auto) { return index == 0; })
      .Case<SliceOp, ResizeOp>([&](auto) { return index == 0; })
      .Case<QuantizeOp, DequantizeOp>([&](auto) { return index == 0; })
      .Case<SelectOp>([&](auto) { return index != 0; })
      .Case<CompareOp, ShapeOp>([&](auto) { return false; })
      .Default([&](Operation *) { return true; });
}

LogicalResult autodiff::backward(Operation *op, ArrayRef<Value> resultGrads,
                                 ArrayRef<bool> needed, SmallVectorImpl<Value> &out,
                                 GradBuilder &g, std::string &why) {
  out.assign(op->getNumOperands(), Value());
  Value dy = resultGrads.empty() ? Value() : resultGrads[0];
  if (!dy)
    return success();
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](UnaryOp u) {
        if (!needed[0])
          return success();
        return unaryGrad(u, dy, out[0], g, why);
      })
      .Case([&](BinaryOp bin) { return binaryGrad(bin, dy, needed, out[0], out[1], g, why); })
      .Case([&](MatMulOp m) {
        auto a = tensorOf(m.getLhs()), b = tensorOf(m.getRhs());
        if (a.getRank() < 2 || b.getRank() < 2) {
          why = "no gradient for a ds.matmul with a 1-D operand";
          return failure();
        }
        if (needed[0]) // dy bᵀ
          out[0] = g.unbroadcast(g.matmul(dy, g.swapLastTwo(m.getRhs())), a);
        if (needed[1] && b.getRank() == 2 && a.getRank() > 2 && a.hasStaticShape() &&
            a.getShape().back() > 0) {
          // A weight shared by a batch: Σ_batch aᵀ dy is one GEMM over the
          // batch's rows, [K, N·] × [N·, M], not a batched GEMM and a
          // reduction over the batch.
          int64_t rows = a.getNumElements() / a.getShape().back();
          Value flatA = g.reshape(m.getLhs(), {rows, a.getShape().back()});
          Value flatDy = g.reshape(dy, {rows, tensorOf(dy).getShape().back()});
          out[1] = g.matmul(g.swapLastTwo(flatA), flatDy);
        } else if (needed[1]) { // aᵀ dy
          out[1] = g.unbroadcast(g.matmul(g.swapLastTwo(m.getLhs()), dy), b);
        }
        return success();
      })
      .Case([&](ReduceOp r) {
        ReduceKind kind = r.getKind();
        if (kind != ReduceKind::sum && kind != ReduceKind::mean && kind != ReduceKind::max &&
            kind != ReduceKind::min) {
          why = "no gradient for ds.reduce " + stringifyReduceKind(kind).str();
          return failure();
        }
        auto x = tensorOf(r.getInput());
        llvm::SmallVector<int64_t> axes;
        for (int64_t axis : r.getAxes())
          axes.push_back(axis < 0 ? axis + x.getRank() : axis);
        // (No axes: ds.reduce is the identity.)
        llvm::SmallVector<int64_t> kept(x.getShape());
        double count = 1;
        for (int64_t axis : axes) {
          kept[axis] = 1;
          count *= (double)x.getDimSize(axis);
        }
        Value grad = dy;
        if (kind == ReduceKind::mean)
          grad = g.binary(BinaryKind::div, grad, g.scalar(count, grad));
        grad = g.expand(g.reshape(grad, kept), x.getShape());
        if (kind == ReduceKind::max || kind == ReduceKind::min) {
          // Split evenly among the elements equal to the extreme (PyTorch's
          // amax / amin); a NaN extreme passes nothing.
          OpBuilder &b = g.getBuilder();
          Value extreme = g.expand(g.reshape(r.getResult(), kept), x.getShape());
          Value hit = b.create<CompareOp>(g.getLoc(), CompareKind::eq, r.getInput(), extreme);
          Value zero = g.scalar(0.0, grad);
          Value ones = b.create<SelectOp>(g.getLoc(), hit, g.scalar(1.0, grad), zero);
          Value ties = g.expand(g.sum(ones, axes, true), x.getShape());
          grad = b.create<SelectOp>(g.getLoc(), hit, g.binary(BinaryKind::div, grad, ties), zero);
        }
        out[0] = grad;
        return success();
      })
      .Case([&](SoftmaxOp s) {
        Value y = s.getResult();
        int64_t axis = (int64_t)s.getAxis();
        if (axis < 0)
          axis += tensorOf(y).getRank();
        if (s.getLog()) { // dy - exp(y) Σ dy
          out[0] = g.binary(BinaryKind::sub, dy,
                            g.binary(BinaryKind::mul, g.unary(UnaryKind::exp, y),
                                     g.sum(dy, {axis}, true)));
          return success();
        }
        // y (dy - Σ dy y)
        Value dot = g.sum(g.binary(BinaryKind::mul, dy, y), {axis}, true);
        out[0] = g.binary(BinaryKind::mul, y, g.binary(BinaryKind::sub, dy, dot));
        return success();
      })
      .Case([&](NormOp n) { return normGrad(n, dy, needed, out, g); })
      .Case([&](ConvOp c) { return convGrad(c, dy, needed, out, g, why); })
      .Case([&](PoolOp p) { return poolGrad(p, dy, needed, out, g, why); })
      .Case([&](AttentionOp a) { return attentionGrad(a, dy, needed, out, g, why); })
      .Case([&](SparseAttentionOp a) { return sparseAttentionGrad(a, dy, needed, out, g, why); })
      .Case([&](BlockSparseAttentionOp a) {
        return blockSparseAttentionGrad(a, dy, needed, out, g, why);
      })
      .Case([&](RotaryEmbeddingOp r) -> LogicalResult {
        // Each pair is rotated by an angle; the transpose rotates it back:
        // the same op with the sines negated.
        if (needed.size() > 1 && (needed[1] || needed[2])) {
          why = "no gradient for ds.rotary_embedding's cos / sin caches";
          return failure();
        }
        out[0] = g.getBuilder().create<RotaryEmbeddingOp>(
            g.getLoc(), dy, r.getCos(), g.unary(UnaryKind::neg, r.getSin()), r.getPositionIds(),
            r.getInterleavedAttr(), r.getRotaryEmbeddingDimAttr(), r.getNumHeadsAttr());
        return success();
      })
      .Case([&](ReshapeOp r) {
        out[0] = g.reshape(dy, tensorOf(r.getInput()).getShape());
        return success();
      })
      .Case([&](TransposeOp t) {
        llvm::SmallVector<int64_t> inverse(t.getPerm().size());
        for (auto [i, p] : llvm::enumerate(t.getPerm()))
          inverse[p] = (int64_t)i;
        out[0] = g.transpose(dy, inverse);
        return success();
      })
      .Case([&](ExpandOp e) {
        out[0] = g.unbroadcast(dy, e.getInput().getType());
        return success();
      })
      .Case([&](SliceOp s) -> LogicalResult {
        // dy padded with zeros back to the input's shape (unit steps).
        auto x = tensorOf(s.getInput());
        DenseIntElementsAttr starts, ends, axes, steps;
        if (!matchPattern(s.getStarts(), m_Constant(&starts)) ||
            !matchPattern(s.getEnds(), m_Constant(&ends)) ||
            !matchPattern(s.getAxes(), m_Constant(&axes)) ||
            !matchPattern(s.getSteps(), m_Constant(&steps))) {
          why = "no gradient for a ds.slice with run-time bounds";
          return failure();
        }
        int64_t rank = x.getRank();
        llvm::SmallVector<int64_t> pads(2 * rank, 0);
        for (auto [first, axisValue, step] :
             llvm::zip(starts.getValues<int64_t>(), axes.getValues<int64_t>(),
                       steps.getValues<int64_t>())) {
          if (step != 1) {
            why = "no gradient for a ds.slice with steps other than 1";
            return failure();
          }
          int64_t axis = axisValue < 0 ? axisValue + rank : axisValue;
          int64_t dim = x.getDimSize(axis);
          int64_t start = std::clamp<int64_t>(first < 0 ? first + dim : first, 0, dim);
          pads[axis] = start;
          pads[rank + axis] = dim - start - tensorOf(dy).getDimSize(axis);
        }
        OpBuilder &b = g.getBuilder();
        auto padType = RankedTensorType::get({2 * rank}, b.getI64Type());
        Value padValues = b.create<ConstantOp>(g.getLoc(), DenseElementsAttr::get(padType,
                                                                                 ArrayRef(pads)));
        out[0] = b.create<PadOp>(g.getLoc(), x, dy, padValues, g.scalar(0.0, dy),
                                 PadMode::constant);
        return success();
      })
      .Case([&](PadOp p) -> LogicalResult {
        // Constant padding (or cropping) is undone by the opposite pads.
        DenseIntElementsAttr pads;
        if (!matchPattern(p.getPads(), m_Constant(&pads))) {
          why = "no gradient for a ds.pad with run-time pads";
          return failure();
        }
        if (p.getMode() != PadMode::constant) {
          why = "no gradient for a ds.pad in " + stringifyPadMode(p.getMode()).str() + " mode";
          return failure();
        }
        if (needed.size() > 2 && needed[2]) {
          why = "no gradient for a ds.pad's padding value";
          return failure();
        }
        llvm::SmallVector<int64_t> undo;
        for (const APInt &pad : pads.getValues<APInt>()) // i64 or i32
          undo.push_back(-pad.getSExtValue());
        OpBuilder &b = g.getBuilder();
        auto padType = RankedTensorType::get({(int64_t)undo.size()}, b.getI64Type());
        Value undoValues =
            b.create<ConstantOp>(g.getLoc(), DenseElementsAttr::get(padType, ArrayRef(undo)));
        out[0] = b.create<PadOp>(g.getLoc(), p.getInput().getType(), dy, undoValues,
                                 g.scalar(0.0, dy), PadMode::constant);
        return success();
      })
      .Case([&](ConcatOp concat) -> LogicalResult {
        // Each input's gradient is its slice of dy along the axis.
        auto y = tensorOf(dy);
        // (I64Attr getters return uint64_t: go through int64_t first.)
        int64_t axis = (int64_t)concat.getAxis();
        if (axis < 0)
          axis += y.getRank();
        OpBuilder &b = g.getBuilder();
        auto vec = [&](int64_t v) {
          auto t = RankedTensorType::get({1}, b.getI64Type());
          return b.create<ConstantOp>(g.getLoc(), DenseElementsAttr::get(t, ArrayRef(v)))
              .getResult();
        };
        int64_t offset = 0;
        for (auto [i, input] : llvm::enumerate(concat.getInputs())) {
          auto type = tensorOf(input);
          int64_t size = type.getDimSize(axis);
          if (needed[i])
            out[i] = b.create<SliceOp>(g.getLoc(), type, dy, vec(offset), vec(offset + size),
                                       vec(axis), vec(1));
          offset += size;
        }
        return success();
      })
      .Case([&](GatherOp gather) -> LogicalResult {
        // An embedding lookup: the rows' gradients added into a zero table.
        int64_t axis = (int64_t)gather.getAxis();
        if (axis < 0)
          axis += tensorOf(gather.getInput()).getRank();
        if (axis != 0 || !needed[0]) {
          if (!needed[0])
            return success();
          why = "no gradient for a ds.gather on an axis other than 0";
          return failure();
        }
        auto indices = tensorOf(gather.getIndices());
        llvm::SmallVector<int64_t> column(indices.getShape());
        column.push_back(1);
        Value index = g.reshape(gather.getIndices(), column);
        Value table = g.zerosLike(gather.getInput());
        out[0] = g.getBuilder().create<ScatterNDOp>(g.getLoc(), table, index, dy,
                                                    ScatterReduction::add);
        return success();
      })
      .Case([&](SelectOp s) {
        Value zero = g.scalar(0.0, dy);
        OpBuilder &b = g.getBuilder();
        if (needed[1])
          out[1] = g.unbroadcast(b.create<SelectOp>(g.getLoc(), s.getCondition(), dy, zero),
                                 s.getTrueValue().getType());
        if (needed[2])
          out[2] = g.unbroadcast(b.create<SelectOp>(g.getLoc(), s.getCondition(), zero, dy),
                                 s.getFalseValue().getType());
        return success();
      })
      .Case([&](CastOp c) {
        Type from = tensorOf(c.getInput()).getElementType();
        if (!isa<FloatType>(from)) {
          why = "no gradient through a cast from an integer type";
          return failure();
        }
        out[0] = g.getBuilder().create<CastOp>(g.getLoc(), c.getInput().getType(), dy,
                                               UnitAttr());
        return success();
      })
      .Default([&](Operation *other) {
        why = "no gradient for " + other->getName().getStringRef().str();
        return failure();
      });
}
