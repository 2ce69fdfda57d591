//===- FakeQuantGradients.cpp - gradients through fake quantization -------===//
//
// Quantization-aware training: dequantize(quantize(x)) passes the clipped
// straight-through estimator to x, and a scale that is a parameter learns
// its step size (LSQ). The rules are GradientRules.h's matchFakeQuant and
// fakeQuantGrad; ds-autodiff asks them before the per-op rules.
//
//===----------------------------------------------------------------------===//
#include "GradientRules.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Matchers.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::autodiff;

std::optional<FakeQuant> autodiff::matchFakeQuant(Operation *op) {
  auto dq = dyn_cast<DequantizeOp>(op);
  if (!dq)
    return std::nullopt;
  Type element = tensorOf(dq.getInput()).getElementType();
  if (auto f8 = dyn_cast<FloatType>(element); f8 && f8.getWidth() == 8) {
    // Saturation clips at the largest finite value (without it, values
    // beyond become NaN or inf: no gradient there either).
    auto q = dq.getInput().getDefiningOp<QuantizeOp>();
    if (!q)
      return std::nullopt;
    double largest = llvm::APFloat::getLargest(f8.getFloatSemantics()).convertToDouble();
    return FakeQuant{q, dq, -largest, largest, /*toFloat=*/true};
  }
  auto integer = dyn_cast<IntegerType>(element);
  if (!integer)
    return std::nullopt;
  unsigned bits = integer.getWidth();
  bool isSigned = !integer.isUnsigned();
  FakeQuant fq{QuantizeOp(), dq, isSigned ? -std::ldexp(1.0, bits - 1) : 0.0,
               isSigned ? std::ldexp(1.0, bits - 1) - 1 : std::ldexp(1.0, bits) - 1};
  Value v = dq.getInput();
  // Clamps of the integers with constants narrow the range.
  while (auto clamp = v.getDefiningOp<BinaryOp>()) {
    bool isMin = clamp.getKind() == BinaryKind::min, isMax = clamp.getKind() == BinaryKind::max;
    DenseIntElementsAttr bound;
    if ((!isMin && !isMax) || !matchPattern(clamp.getRhs(), m_Constant(&bound)) ||
        !bound.isSplat() || tensorOf(clamp.getLhs()) != tensorOf(clamp.getResult()))
      return std::nullopt;
    APInt value = bound.getSplatValue<APInt>();
    double b = isSigned ? (double)value.getSExtValue() : (double)value.getZExtValue();
    fq.lo = isMax ? std::max(fq.lo, b) : fq.lo;
    fq.hi = isMin ? std::min(fq.hi, b) : fq.hi;
    v = clamp.getLhs();
  }
  fq.quantize = v.getDefiningOp<QuantizeOp>();
  if (!fq.quantize)
    return std::nullopt;
  return fq;
}

LogicalResult autodiff::fakeQuantGrad(const FakeQuant &fq, Value dy, bool needInput, bool needScale,
                                      bool lsqGradScale, Value &dx, Value &dscale, GradBuilder &g,
                                      std::string &why) {
  QuantizeOp q = fq.quantize;
  DequantizeOp dq = fq.dequantize;
  if (q.getBlockSize() != 0) {
    why = "no gradient for blocked fake quantization (block_size " +
          std::to_string(q.getBlockSize()) + ")";
    return failure();
  }
  if (q.getScale() != dq.getScale() || q.getZeroPoint() != dq.getZeroPoint()) {
    why = "no gradient for a quantize / dequantize pair with different scales or zero points";
    return failure();
  }
  Value x = q.getInput();
  auto type = tensorOf(x);
  // A per-axis scale (1-D along `axis`) broadcast against x.
  auto broadcastable = [&](Value v) {
    // One value (also a 1-element 1-D tensor, whatever `axis` says: it
    // broadcasts as it is) is per-tensor; a 1-D tensor of several runs
    // along `axis`.
    auto t = tensorOf(v);
    if (t.getRank() != 1 || t.getDimSize(0) == 1 || type.getRank() == 0)
      return v;
    int64_t axis = (int64_t)q.getAxis();
    if (axis < 0)
      axis += type.getRank();
    llvm::SmallVector<int64_t> shape(type.getRank(), 1);
    shape[axis] = t.getDimSize(0);
    return g.reshape(v, shape);
  };
  OpBuilder &b = g.getBuilder();
  if (needScale && fq.toFloat) {
    why = "no gradient for the scale of a fake quantization to float8 (learned scales are for "
          "integer types)";
    return failure();
  }
  Value scale = broadcastable(q.getScale());
  Value scaled = g.binary(BinaryKind::div, x, scale);
  Value rounded = fq.toFloat ? scaled : g.unary(UnaryKind::round, scaled);
  Value zero; // the zero point as a float, broadcastable; null when there is none
  if (Value zp = q.getZeroPoint(); zp && !fq.toFloat) {
    auto zpType = tensorOf(zp);
    zero = broadcastable(
        b.create<CastOp>(g.getLoc(), zpType.clone(type.getElementType()), zp, UnitAttr()));
  }
  Value t = zero ? g.binary(BinaryKind::add, rounded, zero) : rounded;
  Value inRange = g.binary(BinaryKind::logical_and,
                           b.create<CompareOp>(g.getLoc(), CompareKind::ge, t, g.scalar(fq.lo, t)),
                           b.create<CompareOp>(g.getLoc(), CompareKind::le, t, g.scalar(fq.hi, t)));
  if (needInput)
    dx = b.create<SelectOp>(g.getLoc(), inRange, dy, g.scalar(0.0, dy));
  if (needScale) {
    // Outside the range the output is s · (bound − zero_point).
    Value bound = g.binary(BinaryKind::min, g.binary(BinaryKind::max, t, g.scalar(fq.lo, t)),
                           g.scalar(fq.hi, t));
    if (zero)
      bound = g.binary(BinaryKind::sub, bound, zero);
    Value slope =
        b.create<SelectOp>(g.getLoc(), inRange, g.binary(BinaryKind::sub, rounded, scaled), bound);
    Value perElement = g.binary(BinaryKind::mul, dy, slope);
    dscale =
        g.reshape(g.unbroadcast(perElement, scale.getType()), tensorOf(q.getScale()).getShape());
    if (lsqGradScale) {
      // LSQ (Esser et al. 2020): steps of very different sizes learn at
      // comparable rates when each gradient is scaled by 1/sqrt(N·Qp).
      auto scaleType = tensorOf(q.getScale());
      if (!type.hasStaticShape() || !scaleType.hasStaticShape()) {
        why = "lsq-grad-scale needs the fake-quantized value's shape static";
        return failure();
      }
      if (fq.hi <= 0) {
        why = "lsq-grad-scale needs a range whose largest integer is positive";
        return failure();
      }
      const double perScale =
          (double)type.getNumElements() / (double)std::max<int64_t>(1, scaleType.getNumElements());
      const double factor = 1.0 / std::sqrt(perScale * fq.hi);
      dscale = g.binary(BinaryKind::mul, dscale, g.scalar(factor, dscale));
    }
  }
  return success();
}
