//===- ComposeGelu.cpp - GELU written out in ops, made one op -------------===//
//
// Exporters below opset 20 have no Gelu op: PyTorch writes nn.GELU as
// x * (1 + erf(x / sqrt 2)) * 0.5 and GPT-2's tanh form as
// 0.5 x * (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))). Five to eight
// elementwise ops each pass over the widest activation of a transformer
// block; `ds.unary gelu` / `gelu_tanh` is one pass (and the tanh form is
// what cuBLASLt's GELU epilogue computes). ds-compose-gelu composes them
// (ModelRewritePasses.td).
//
//===----------------------------------------------------------------------===//
#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <algorithm>
#include <cmath>

namespace mlir::ds {
#define GEN_PASS_DEF_COMPOSEGELUPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {

/// Whether `v` is a float splat constant of ones only in its dims (a
/// scalar: it broadcasts into x without enlarging it, whatever x's dynamic
/// dims turn out to be) equal to `expected`: exactly for the constants a
/// float holds (0.5, 1, 3), else up to the rounding of its type (exporters
/// print sqrt 2 to varying digits; an f16 1 / sqrt 2 is 0.70703125).
bool isSplatNear(Value v, double expected, bool exact = false) {
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat() ||
      !isa<FloatType>(attr.getElementType()) ||
      llvm::any_of(attr.getType().getShape(), [](int64_t d) { return d != 1; }))
    return false;
  APFloat value = attr.getSplatValue<APFloat>();
  if (exact)
    return value.convertToDouble() == expected;
  double epsilon = std::ldexp(1.0, 1 - (int)APFloat::semanticsPrecision(value.getSemantics()));
  return std::abs(value.convertToDouble() - expected) <=
         std::max(1e-6, epsilon) * std::abs(expected);
}

/// The exactly held constants.
bool isSplatExactly(Value v, double expected) { return isSplatNear(v, expected, true); }

/// The ds.binary `kind` defining `v` with `v`'s type, used only once (the
/// composed op replaces the whole chain), else null.
BinaryOp binaryOf(Value v, BinaryKind kind, Type type) {
  auto op = v.getDefiningOp<BinaryOp>();
  if (!op || op.getKind() != kind || op.getType() != type || !op->hasOneUse())
    return nullptr;
  return op;
}

/// For commutative `op`: the operand that is not the splat `constant`, or
/// null when neither is.
Value otherThanSplat(BinaryOp op, double constant, bool exact = false) {
  if (isSplatNear(op.getRhs(), constant, exact))
    return op.getLhs();
  if (isSplatNear(op.getLhs(), constant, exact))
    return op.getRhs();
  return nullptr;
}

/// For commutative `op`: the operand that is not `x`, or null when neither is.
Value otherThan(BinaryOp op, Value x) {
  if (op.getLhs() == x)
    return op.getRhs();
  if (op.getRhs() == x)
    return op.getLhs();
  return nullptr;
}

/// Whether `v` is x / sqrt 2 or x * (1 / sqrt 2).
bool isScaledForErf(Value v, Value x, Type type) {
  if (BinaryOp div = binaryOf(v, BinaryKind::div, type))
    return div.getLhs() == x && isSplatNear(div.getRhs(), M_SQRT2);
  if (BinaryOp mul = binaryOf(v, BinaryKind::mul, type))
    return otherThanSplat(mul, M_SQRT1_2) == x;
  return false;
}

/// Whether `v` is x^3: pow(x, 3), x * x * x or x * (x * x).
bool isCube(Value v, Value x, Type type) {
  if (BinaryOp pow = binaryOf(v, BinaryKind::pow, type))
    return pow.getLhs() == x && isSplatExactly(pow.getRhs(), 3.0);
  BinaryOp mul = binaryOf(v, BinaryKind::mul, type);
  if (!mul)
    return false;
  Value square = otherThan(mul, x);
  BinaryOp inner = square ? binaryOf(square, BinaryKind::mul, type) : nullptr;
  return inner && inner.getLhs() == x && inner.getRhs() == x;
}

/// Whether `v` is sqrt(2 / pi) (x + 0.044715 x^3).
bool isTanhArgument(Value v, Value x, Type type) {
  BinaryOp scaled = binaryOf(v, BinaryKind::mul, type);
  Value sum = scaled ? otherThanSplat(scaled, std::sqrt(2.0 / M_PI)) : nullptr;
  BinaryOp add = sum ? binaryOf(sum, BinaryKind::add, type) : nullptr;
  Value term = add ? otherThan(add, x) : nullptr;
  BinaryOp cubic = term ? binaryOf(term, BinaryKind::mul, type) : nullptr;
  Value cube = cubic ? otherThanSplat(cubic, 0.044715) : nullptr;
  return cube && isCube(cube, x, type);
}

/// The GELU kind of `v` = 1 + erf(x / sqrt 2) or 1 + tanh(sqrt(2 / pi) (x
/// + 0.044715 x^3)), for the given x; nullopt otherwise.
std::optional<UnaryKind> onePlusKind(Value v, Value x, Type type) {
  BinaryOp add = binaryOf(v, BinaryKind::add, type);
  Value f = add ? otherThanSplat(add, 1.0, /*exact=*/true) : nullptr;
  auto unary = f ? f.getDefiningOp<UnaryOp>() : nullptr;
  if (!unary || !unary->hasOneUse() || unary.getType() != type)
    return std::nullopt;
  if (unary.getKind() == UnaryKind::erf && isScaledForErf(unary.getInput(), x, type))
    return UnaryKind::gelu;
  if (unary.getKind() == UnaryKind::tanh && isTanhArgument(unary.getInput(), x, type))
    return UnaryKind::gelu_tanh;
  return std::nullopt;
}

/// (x * (1 + f(x))) * 0.5 or (0.5 * x) * (1 + f(x)), any operand order, ->
/// ds.unary gelu / gelu_tanh x.
struct ComposeGelu : OpRewritePattern<BinaryOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BinaryOp op, PatternRewriter &rewriter) const override {
    Type type = op.getType();
    if (op.getKind() != BinaryKind::mul ||
        !isa<FloatType>(cast<RankedTensorType>(type).getElementType()))
      return failure();
    std::pair<Value, Value> orders[] = {{op.getLhs(), op.getRhs()}, {op.getRhs(), op.getLhs()}};
    auto compose = [&](Value x, UnaryKind kind) {
      rewriter.replaceOpWithNewOp<UnaryOp>(op, type, kind, x, FloatAttr(), FloatAttr());
      return success();
    };
    // (x * (1 + f(x))) * 0.5
    Value product = otherThanSplat(op, 0.5, /*exact=*/true);
    if (BinaryOp mul = product ? binaryOf(product, BinaryKind::mul, type) : nullptr)
      for (auto [x, onePlus] : {std::pair{mul.getLhs(), mul.getRhs()},
                                std::pair{mul.getRhs(), mul.getLhs()}})
        if (x.getType() == type)
          if (std::optional<UnaryKind> kind = onePlusKind(onePlus, x, type))
            return compose(x, *kind);
    // (0.5 * x) * (1 + f(x))
    for (auto [half, onePlus] : orders) {
      BinaryOp scaled = binaryOf(half, BinaryKind::mul, type);
      Value x = scaled ? otherThanSplat(scaled, 0.5, /*exact=*/true) : nullptr;
      if (x && x.getType() == type)
        if (std::optional<UnaryKind> kind = onePlusKind(onePlus, x, type))
          return compose(x, *kind);
    }
    return failure();
  }
};

struct ComposeGeluPass : ds::impl::ComposeGeluPassBase<ComposeGeluPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ComposeGelu>(&getContext());
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
