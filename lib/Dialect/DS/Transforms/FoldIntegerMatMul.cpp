//===- FoldIntegerMatMul.cpp - i32 matmuls of widened 8-bit data ----------===//
//
// The importer writes ONNX MatMulInteger as what it means: both operands
// widened to i32, zero points subtracted, an i32 matmul. A kernel that sees
// that can only multiply 32-bit integers. This pass gives the 8-bit operands
// and their zero points back to one ds.matmul_integer, which the runtime runs
// on an int8 GEMM (u8 x s8 with i32 accumulation). PrecisionPasses.td has the forms.
//
//===----------------------------------------------------------------------===//
#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <limits>

namespace mlir::ds {
#define GEN_PASS_DEF_FOLDINTEGERMATMULPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {

RankedTensorType tensorOf(Value v) { return cast<RankedTensorType>(v.getType()); }

bool isByte(Type t) { return t.isInteger(8); }

/// An 8-bit operand and its zero point, recovered from `x - zp` in i32.
struct Shifted {
  Value data;      ///< i8 / ui8
  Value zeroPoint; ///< of data's type, or null for 0
  /// i32 constant zero point values still to be narrowed (an i32 constant
  /// the canonicalizer folded from a widened 8-bit one).
  DenseIntElementsAttr wideConstant;
};

/// `v` = cast(x8) to i32, the source x8.
Value widenedByte(Value v) {
  auto cast = v.getDefiningOp<CastOp>();
  if (!cast || !tensorOf(cast.getResult()).getElementType().isInteger(32) ||
      !isByte(tensorOf(cast.getInput()).getElementType()))
    return Value();
  return cast.getInput();
}

/// Matches cast(x8) or sub(cast(x8), zp) in i32, where zp is cast(z8) with
/// z8 of x8's type or an i32 constant; `zeroPointOk` says which zero-point
/// shapes the consumer takes.
std::optional<Shifted> matchShifted(Value v, function_ref<bool(RankedTensorType)> zeroPointOk) {
  if (Value data = widenedByte(v))
    return Shifted{data, Value(), {}};
  auto sub = v.getDefiningOp<BinaryOp>();
  if (!sub || sub.getKind() != BinaryKind::sub)
    return std::nullopt;
  Value data = widenedByte(sub.getLhs());
  // The subtraction must not broadcast the data to a larger shape.
  if (!data || sub.getLhs().getType() != sub.getType())
    return std::nullopt;
  Value zp = sub.getRhs();
  if (!zeroPointOk(tensorOf(zp)))
    return std::nullopt;
  if (Value narrow = widenedByte(zp)) {
    if (tensorOf(narrow).getElementType() != tensorOf(data).getElementType())
      return std::nullopt;
    return Shifted{data, narrow, {}};
  }
  DenseIntElementsAttr wide;
  if (!matchPattern(zp, m_Constant(&wide)))
    return std::nullopt;
  // An i32 zero point must fit the data's 8-bit type.
  bool isUnsigned = tensorOf(data).getElementType().isUnsignedInteger();
  for (const APInt &z : wide.getValues<APInt>()) {
    int64_t value = z.getSExtValue();
    if (isUnsigned ? (value < 0 || value > 255) : (value < -128 || value > 127))
      return std::nullopt;
  }
  return Shifted{data, Value(), wide};
}

/// The zero point of `s` as an operand of ds.matmul_integer (null for 0).
Value zeroPointOperand(PatternRewriter &rewriter, Location loc, const Shifted &s) {
  if (s.zeroPoint || !s.wideConstant)
    return s.zeroPoint;
  if (s.wideConstant.isSplat() && s.wideConstant.getSplatValue<APInt>().isZero())
    return Value();
  Type byte = tensorOf(s.data).getElementType();
  SmallVector<APInt> narrow;
  for (const APInt &z : s.wideConstant.getValues<APInt>())
    narrow.push_back(z.trunc(8));
  auto type = RankedTensorType::get(s.wideConstant.getType().getShape(), byte);
  return rewriter.create<ConstantOp>(loc, DenseElementsAttr::get(type, narrow));
}

struct FoldIntegerMatMul : OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatMulOp op, PatternRewriter &rewriter) const override {
    if (!tensorOf(op.getResult()).getElementType().isInteger(32))
      return failure();
    auto one = [](RankedTensorType t) { return t.hasStaticShape() && t.getNumElements() == 1; };
    std::optional<Shifted> lhs = matchShifted(op.getLhs(), one);
    if (!lhs)
      return rewriter.notifyMatchFailure(op, "lhs is not a widened 8-bit tensor minus one zero point");
    auto rhsType = tensorOf(op.getRhs());
    std::optional<Shifted> rhs = matchShifted(op.getRhs(), [&](RankedTensorType zp) {
      return one(zp) || (zp.getRank() == 1 && rhsType.getRank() >= 2 &&
                         zp.getDimSize(0) == rhsType.getShape().back());
    });
    if (!rhs)
      return rewriter.notifyMatchFailure(op, "rhs is not a widened 8-bit tensor minus its zero points");
    Value lhsZp = zeroPointOperand(rewriter, op.getLoc(), *lhs);
    Value rhsZp = zeroPointOperand(rewriter, op.getLoc(), *rhs);
    // One-element zero points become scalars (ONNX allows shape [1]).
    auto scalar = [&](Value zp) -> Value {
      auto t = zp ? tensorOf(zp) : RankedTensorType();
      if (!zp || t.getRank() == 0 || (t.getRank() == 1 && t.getDimSize(0) != 1))
        return zp;
      auto shape = rewriter.create<ConstantOp>(
          op.getLoc(), DenseElementsAttr::get(RankedTensorType::get({0}, rewriter.getI64Type()),
                                              ArrayRef<int64_t>{}));
      return rewriter.create<ReshapeOp>(op.getLoc(), t.clone(ArrayRef<int64_t>{}), zp, shape);
    };
    rewriter.replaceOpWithNewOp<MatMulIntegerOp>(op, op.getType(), lhs->data, rhs->data,
                                                 scalar(lhsZp), scalar(rhsZp));
    return success();
  }
};

/// An 8-bit tensor dequantized with one scale (and zero point), or, for a
/// matmul's rhs, one per column, for a convolution's weight one per output
/// channel: dequantize(q, scale, zero_point) in f32.
struct Dequantized {
  Value data, scale, zeroPoint;
};

enum class ScaleAxis { None, Last, First };

std::optional<Dequantized> matchDequantized(Value v, ScaleAxis perAxis) {
  auto dq = v.getDefiningOp<DequantizeOp>();
  if (!dq || dq.getBlockSize() != 0 || !tensorOf(dq.getResult()).getElementType().isF32() ||
      !isByte(tensorOf(dq.getInput()).getElementType()))
    return std::nullopt;
  auto data = tensorOf(dq.getInput()), scale = tensorOf(dq.getScale());
  bool one = scale.hasStaticShape() && scale.getNumElements() == 1;
  int64_t axis = (int64_t)dq.getAxis();
  if (axis < 0)
    axis += data.getRank();
  int64_t wanted = perAxis == ScaleAxis::Last ? data.getRank() - 1 : 0;
  bool perSlice = perAxis != ScaleAxis::None && scale.getRank() == 1 && data.getRank() >= 2 &&
                  axis == wanted && scale.getDimSize(0) == data.getDimSize(wanted);
  if (!one && !perSlice)
    return std::nullopt;
  return Dequantized{dq.getInput(), dq.getScale(), dq.getZeroPoint()};
}

/// matmul(dequantize(x), dequantize(w)) in f32 -> the exact integer product
/// scaled once: cast(matmul_integer(x, w, zx, zw)) * (sx * sw). QDQ models
/// (onnxruntime's quantize_static, QAT exports) put a dequantize on both
/// sides of every quantized matmul.
struct FoldDequantizedMatMul : OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatMulOp op, PatternRewriter &rewriter) const override {
    auto resultType = tensorOf(op.getResult());
    if (!resultType.getElementType().isF32())
      return failure();
    std::optional<Dequantized> lhs = matchDequantized(op.getLhs(), ScaleAxis::None);
    std::optional<Dequantized> rhs = matchDequantized(op.getRhs(), ScaleAxis::Last);
    if (!lhs || !rhs)
      return rewriter.notifyMatchFailure(op, "operands are not dequantized 8-bit tensors");
    Location loc = op.getLoc();
    auto integer = rewriter.create<MatMulIntegerOp>(
        loc, resultType.clone(rewriter.getI32Type()), lhs->data, rhs->data, lhs->zeroPoint,
        rhs->zeroPoint);
    Value product = rewriter.create<CastOp>(loc, resultType, integer, UnitAttr());
    Value scale = rewriter.create<BinaryOp>(loc, BinaryKind::mul, lhs->scale, rhs->scale);
    rewriter.replaceOpWithNewOp<BinaryOp>(op, BinaryKind::mul, product, scale);
    return success();
  }
};

/// `v` ([M] or one value) shaped [M, 1, ...] to broadcast over the channels of
/// a rank-`rank` [N, M, spatial...] result.
Value perChannel(PatternRewriter &rewriter, Location loc, Value v, int64_t rank) {
  auto type = tensorOf(v);
  if (type.getRank() != 1)
    return v;
  SmallVector<int64_t> shape(rank - 1, 1);
  shape[0] = type.getDimSize(0);
  auto shapeType = RankedTensorType::get({rank - 1}, rewriter.getI64Type());
  Value dims = rewriter.create<ConstantOp>(
      loc, DenseElementsAttr::get(shapeType, ArrayRef<int64_t>(shape)));
  return rewriter.create<ReshapeOp>(loc, type.clone(shape), v, dims, UnitAttr());
}

/// conv(dequantize(x), dequantize(w), bias) in f32 -> the exact integer
/// convolution scaled once per output channel:
/// cast(conv_integer(x, w, zx, zw)) * (sx * sw) + bias, with sw one value or
/// one per output channel (onnxruntime's per-channel QDQ convolutions).
struct FoldDequantizedConv : OpRewritePattern<ConvOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConvOp op, PatternRewriter &rewriter) const override {
    auto resultType = tensorOf(op.getResult());
    if (!resultType.getElementType().isF32())
      return failure();
    std::optional<Dequantized> x = matchDequantized(op.getInput(), ScaleAxis::None);
    std::optional<Dequantized> w = matchDequantized(op.getWeight(), ScaleAxis::First);
    if (!x || !w)
      return rewriter.notifyMatchFailure(op, "operands are not dequantized 8-bit tensors");
    Location loc = op.getLoc();
    auto integer = rewriter.create<ConvIntegerOp>(
        loc, resultType.clone(rewriter.getI32Type()), x->data, w->data, x->zeroPoint,
        w->zeroPoint, op.getStridesAttr(), op.getPadsAttr(), op.getDilationsAttr(),
        op.getGroupAttr());
    int64_t rank = resultType.getRank();
    Value product = rewriter.create<CastOp>(loc, resultType, integer, UnitAttr());
    Value scale = rewriter.create<BinaryOp>(loc, BinaryKind::mul, x->scale, w->scale);
    Value scaled = rewriter.create<BinaryOp>(loc, BinaryKind::mul, product,
                                             perChannel(rewriter, loc, scale, rank));
    if (Value bias = op.getBias())
      scaled = rewriter.create<BinaryOp>(loc, BinaryKind::add, scaled,
                                         perChannel(rewriter, loc, bias, rank));
    rewriter.replaceOp(op, scaled);
    return success();
  }
};

/// select(dequantize(x)) -> dequantize(select(x)) for ops that only select
/// or rearrange the elements of their first operand (DS_SelectsElements:
/// gather, reshape, transpose, slice, expand, tile, ...) and a dequantize
/// with one scale: the 8-bit
/// data moves, and only what is selected is dequantized. QDQ models
/// dequantize whole embedding tables before a gather of a few rows.
struct SinkDequantize : RewritePattern {
  SinkDequantize(MLIRContext *ctx) : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx) {}
  LogicalResult matchAndRewrite(Operation *op, PatternRewriter &rewriter) const override {
    if (!op->hasTrait<OpTrait::ds::SelectsElements>() || op->getNumResults() != 1 ||
        op->getNumOperands() == 0)
      return failure();
    auto dq = op->getOperand(0).getDefiningOp<DequantizeOp>();
    if (!dq || dq.getBlockSize() != 0)
      return failure();
    auto scale = tensorOf(dq.getScale());
    if (!scale.hasStaticShape() || scale.getNumElements() != 1)
      return failure();
    Type quantized = tensorOf(dq.getInput()).getElementType();
    Operation *moved = rewriter.clone(*op);
    moved->setOperand(0, dq.getInput());
    moved->getResult(0).setType(tensorOf(op->getResult(0)).clone(quantized));
    rewriter.replaceOpWithNewOp<DequantizeOp>(op, op->getResult(0).getType(), moved->getResult(0),
                                              dq.getScale(), dq.getZeroPoint(), dq.getAxis(),
                                              dq.getBlockSize());
    return success();
  }
};

/// transpose(dequantize(q, s, zp, axis a)) -> dequantize(transpose(q), s,
/// zp, axis j) with perm[j] = a, for scales one per slice of axis a: a
/// Gemm with transB over per-channel quantized weights (onnxruntime's
/// quantize_static) transposed them in f32 on every run; moved, the 8-bit
/// weights are transposed (a constant folds) and the matmul reads them as
/// integers. (One scale: SinkDequantize.)
struct SinkDequantizeThroughTranspose : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op, PatternRewriter &rewriter) const override {
    auto dq = op.getInput().getDefiningOp<DequantizeOp>();
    // Another reader (tied embedding and output weights) would keep the f32
    // dequantize and the constant's other use: nothing gained.
    if (!dq || dq.getBlockSize() != 0 || !dq->hasOneUse())
      return failure();
    auto data = tensorOf(dq.getInput()), scale = tensorOf(dq.getScale());
    if (scale.getRank() != 1 || !scale.hasStaticShape() || scale.getNumElements() == 1)
      return failure();
    int64_t axis = (int64_t)dq.getAxis();
    if (axis < 0)
      axis += data.getRank();
    ArrayRef<int64_t> perm = op.getPerm();
    const auto *at = llvm::find(perm, axis);
    if (at == perm.end())
      return failure();
    auto moved = rewriter.create<TransposeOp>(op.getLoc(), dq.getInput(), perm);
    rewriter.replaceOpWithNewOp<DequantizeOp>(op, op.getType(), moved.getResult(), dq.getScale(),
                                              dq.getZeroPoint(), (int64_t)(at - perm.begin()),
                                              (int64_t)0);
    return success();
  }
};

/// The value of a one-element f32 constant `v` that is positive, finite
/// and normal, and at most 2^100: q -> (q - z) * s is then increasing and
/// exact to a relative 2^-24 for any 8-bit q - z (no overflow, no
/// subnormal product).
std::optional<float> positiveNormalScale(Value v) {
  auto constant = v.getDefiningOp<ConstantOp>();
  if (!constant || !tensorOf(v).getElementType().isF32() || !tensorOf(v).hasStaticShape() ||
      tensorOf(v).getNumElements() != 1)
    return std::nullopt;
  std::optional<std::vector<float>> values = readF32Constant(constant.getValue());
  if (!values || values->size() != 1)
    return std::nullopt;
  float s = values->front();
  if (!(s >= std::numeric_limits<float>::min() && s <= 0x1p100f))
    return std::nullopt;
  return s;
}

/// The 8-bit zero point of a (de)quantize, 0 when absent; nullopt when it
/// is not a constant.
std::optional<int64_t> zeroPointValue(Value zp) {
  if (!zp)
    return 0;
  DenseIntElementsAttr values;
  if (!matchPattern(zp, m_Constant(&values)) || values.getNumElements() != 1)
    return std::nullopt;
  APInt z = *values.value_begin<APInt>();
  return tensorOf(zp).getElementType().isUnsignedInteger() ? (int64_t)z.getZExtValue()
                                                           : z.getSExtValue();
}

/// pool max(dequantize(q, s, z)) -> dequantize(pool max(q), s, z) for 8-bit
/// q and one positive scale: (q - z) s increases with q, so the max of the
/// dequantized window is the dequantized max of the window (onnxruntime's
/// QDQ MaxPool runs on the integers too), where every window holds an
/// input element (PoolOp::isMaxOverInputsOnly).
struct SinkDequantizeThroughMaxPool : OpRewritePattern<PoolOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PoolOp op, PatternRewriter &rewriter) const override {
    auto dq = op.getInput().getDefiningOp<DequantizeOp>();
    if (!dq || dq.getBlockSize() != 0 || !isByte(tensorOf(dq.getInput()).getElementType()) ||
        !positiveNormalScale(dq.getScale()) || !op.isMaxOverInputsOnly())
      return failure();
    Type quantized = tensorOf(dq.getInput()).getElementType();
    auto pooled = rewriter.create<PoolOp>(
        op.getLoc(), op.getType().clone(quantized), op.getKindAttr(), dq.getInput(),
        op.getKernelShapeAttr(), op.getStridesAttr(), op.getPadsAttr(), op.getDilationsAttr(),
        op.getCeilModeAttr(), op.getCountIncludePadAttr(), op.getPAttr());
    rewriter.replaceOpWithNewOp<DequantizeOp>(op, op.getType(), pooled.getResult(), dq.getScale(),
                                              dq.getZeroPoint(), dq.getAxis(), dq.getBlockSize());
    return success();
  }
};

/// quantize(dequantize(q, s, z), s, z) -> q for 8-bit q, one positive
/// scale (positiveNormalScale) and equal zero points: (q - z) s / s is
/// within 255 * 2^-23 of q - z, so it rounds back to q - z, and q is in
/// range (QDQ models requantize a max pool's or a reshape's result with
/// the scale it came with).
struct FoldQuantizeOfDequantize : OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizeOp op, PatternRewriter &rewriter) const override {
    auto dq = op.getInput().getDefiningOp<DequantizeOp>();
    if (!dq || dq.getBlockSize() != 0 || op.getBlockSize() != 0 ||
        tensorOf(dq.getInput()) != tensorOf(op.getResult()) ||
        !isByte(tensorOf(op.getResult()).getElementType()))
      return failure();
    std::optional<float> outer = positiveNormalScale(op.getScale()),
                         inner = positiveNormalScale(dq.getScale());
    std::optional<int64_t> outerZero = zeroPointValue(op.getZeroPoint()),
                           innerZero = zeroPointValue(dq.getZeroPoint());
    if (!outer || !inner || *outer != *inner || !outerZero || !innerZero ||
        *outerZero != *innerZero)
      return failure();
    rewriter.replaceOp(op, dq.getInput());
    return success();
  }
};

struct FoldIntegerMatMulPass : ds::impl::FoldIntegerMatMulPassBase<FoldIntegerMatMulPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldIntegerMatMul, FoldDequantizedMatMul, FoldDequantizedConv, SinkDequantize,
                 SinkDequantizeThroughTranspose, SinkDequantizeThroughMaxPool,
                 FoldQuantizeOfDequantize>(&getContext());
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
