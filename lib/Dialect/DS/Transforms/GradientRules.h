//===- GradientRules.h - reverse-mode derivative of each ds op --*- C++ -*-===//
//
// For an op and the gradients of its results, the gradients of its operands
// as new ds ops (vector-Jacobian products). ds-autodiff walks the program
// backwards and asks this one place for every op; an op without a rule is
// named in the error. Shapes are static (the pass checks).
//
#ifndef DS_LIB_DIALECT_DS_TRANSFORMS_GRADIENTRULES_H
#define DS_LIB_DIALECT_DS_TRANSFORMS_GRADIENTRULES_H

#include "ds/Dialect/DS/IR/DSOps.h"

#include "mlir/IR/Builders.h"

#include <optional>

namespace mlir::ds::autodiff {

/// The ranked tensor type of `v` (gradient programs have static shapes).
inline RankedTensorType tensorOf(Value v) { return cast<RankedTensorType>(v.getType()); }

/// Builds the small ops gradients are made of, at one location.
class GradBuilder {
public:
  GradBuilder(OpBuilder &builder, Location loc) : b(builder), loc(loc) {}

  /// Whether ds.attention's backward is one ds.attention_grad (the fused
  /// kernel: the CPU's) or composed of matmuls and a softmax (any backend).
  void setFusedAttention(bool fused) { fusedAttention = fused; }
  bool useFusedAttention() const { return fusedAttention; }

  Value unary(UnaryKind kind, Value x);
  Value binary(BinaryKind kind, Value lhs, Value rhs);
  /// A rank-0 constant of `like`'s element type.
  Value scalar(double value, Value like);
  /// A constant of `like`'s type with every element `value`.
  Value splat(double value, Value like);
  Value zerosLike(Value like) { return splat(0.0, like); }
  Value sum(Value x, ArrayRef<int64_t> axes, bool keepdims);
  Value reshape(Value x, ArrayRef<int64_t> shape);
  Value expand(Value x, ArrayRef<int64_t> shape);
  Value transpose(Value x, ArrayRef<int64_t> perm);
  Value matmul(Value lhs, Value rhs);
  /// `x` with its last two dims swapped.
  Value swapLastTwo(Value x);
  /// The gradient of a broadcast operand: `grad` summed over the dims the
  /// operand was broadcast along, in `target`'s shape.
  Value unbroadcast(Value grad, Type target);
  Location getLoc() const { return loc; }
  OpBuilder &getBuilder() { return b; }

private:
  OpBuilder &b;
  Location loc;
  bool fusedAttention = false;
};

/// False for operands nothing is learned through: shapes, indices,
/// conditions, comparisons, rotary position caches. ds-autodiff's default
/// parameters are the float constants with at least one other use.
bool isDifferentiableUse(OpOperand &use);

/// The gradients of `op`'s operands given those of its results (null for a
/// result the loss does not depend on: treated as zero). `needed[i]` tells
/// which operands want one; the others may be left null. Fails when `op`
/// has no rule (or not for these attributes): `why` says what is missing.
LogicalResult backward(Operation *op, ArrayRef<Value> resultGrads, ArrayRef<bool> needed,
                       SmallVectorImpl<Value> &operandGrads, GradBuilder &g, std::string &why);

/// Fake quantization as quantization-aware training exports write it
/// (its rules: FakeQuantGradients.cpp):
/// dequantize(quantize(x)), possibly with a clamp of the integers between
/// (ds.binary min / max with constants: PyTorch's quant_min / quant_max), to
/// an integer type or to float8 (saturating to its largest finite value).
struct FakeQuant {
  QuantizeOp quantize;
  DequantizeOp dequantize;
  double lo, hi;        ///< the range the quantized value may take
  bool toFloat = false; ///< float8: x / scale is rounded to fp8, not to integers
};
/// The fake quantization `op` (a dequantize) ends, if it ends one.
std::optional<FakeQuant> matchFakeQuant(Operation *op);
/// Gradients through a fake quantization. The input's (`dx`, when
/// `needInput`): the straight-through estimator with clipping (PyTorch's
/// FakeQuantize): dX = dY where round(x / scale) + zero_point lies in
/// [lo, hi], else 0. The scale's (`dscale`, when `needScale`; learned step
/// size, LSQ, as PyTorch's _fake_quantize_learnable_*_affine with
/// grad_factor 1): per element round(x / s) - x / s inside the range, the
/// clamped bound minus the zero point outside, times dY, summed per scale
/// value; with `lsqGradScale`, times LSQ's gradient scale 1/sqrt(N·Qp) (N:
/// elements of x per scale value, Qp: the range's largest integer; x's
/// shape static). Zero points stay fixed (ONNX stores them as integers).
LogicalResult fakeQuantGrad(const FakeQuant &fq, Value dy, bool needInput, bool needScale,
                            bool lsqGradScale, Value &dx, Value &dscale, GradBuilder &g,
                            std::string &why);

// Dense attention as ds ops (the composed backward's forward half; also
// ds-insert-attention-probes').

/// Key / value heads repeated for the query heads they serve (GQA): kv head
/// j serves query heads j*G .. j*G+G-1.
Value repeatHeads(GradBuilder &g, Value x, int64_t queryHeads);
/// The [S, L] keys (i1) each query sees under causality with a diagonal
/// offset, a window of W keys ending at the diagonal and N sink keys
/// (ds.attention's static patterns; W = 0: no window).
Value visibleKeys(GradBuilder &g, int64_t queries, int64_t keys, int64_t offset, int64_t window,
                  int64_t sinks);
/// Scores under an attention mask: a boolean one hides (-inf) where false,
/// a float one is added.
Value applyAttentionMask(GradBuilder &g, Value scores, Value mask);
/// softmax(hide(cap(q kᵀ · scale))) over the keys, rows with every key
/// hidden 0; `k` has q's heads (repeatHeads). `capped` is tanh(x / c) under
/// a softcap c > 0 (null without), which the backward reuses.
struct AttentionProbabilities {
  Value p, capped;
};
AttentionProbabilities denseProbabilities(GradBuilder &g, Value q, Value k, double scale,
                                          double softcap, llvm::function_ref<Value(Value)> hide);

// Rules of the sliding-window ops (WindowGradients.cpp), called by backward.
LogicalResult convGrad(ConvOp op, Value dy, ArrayRef<bool> needed, SmallVectorImpl<Value> &out,
                       GradBuilder &g, std::string &why);
LogicalResult poolGrad(PoolOp op, Value dy, ArrayRef<bool> needed, SmallVectorImpl<Value> &out,
                       GradBuilder &g, std::string &why);

} // namespace mlir::ds::autodiff

#endif // DS_LIB_DIALECT_DS_TRANSFORMS_GRADIENTRULES_H
