//===- UnaryKinds.h - the kinds of ds.unary and their float functions ----===//
//
// ds.unary's kinds, their ONNX default parameters and which of them are
// cheap, for its kernel (cpu/UnaryKernels.cpp) and the kernel table.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_UNARYKINDS_H
#define DS_RUNTIME_CPU_UNARYKINDS_H

#include "core/Tensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dsrt::cpu {

enum class UnaryKind {
  Abs,
  Neg,
  Sqrt,
  Reciprocal,
  Exp,
  Log,
  Erf,
  Tanh,
  Sigmoid,
  Relu,
  LeakyRelu,
  Elu,
  Selu,
  Celu,
  HardSigmoid,
  HardSwish,
  Softplus,
  Softsign,
  Gelu,
  GeluTanh,
  Mish,
  ThresholdedRelu,
  Shrink,
  Cos,
  Sin,
  Tan,
  Acos,
  Asin,
  Atan,
  Cosh,
  Sinh,
  Acosh,
  Asinh,
  Atanh,
  Floor,
  Ceil,
  Round,
  Sign,
  Not,
  BitwiseNot,
  IsNan,
  IsInf,
  IsPosInf,
  IsNegInf,
  Unknown
};

/// The kind named `s` (ds.unary's `kind` attribute); Unknown if none.
UnaryKind parseUnary(const std::string &s);
/// Default alpha / beta of the parametrised kinds (ONNX defaults).
double defaultAlpha(UnaryKind k);
double defaultBeta(UnaryKind k);
/// Kinds that cost a few instructions per element (no transcendental call).
bool isCheapUnary(UnaryKind k);

Status unaryKernel(KernelContext &ctx, const Attributes &attrs,
                   const std::vector<const Tensor *> &inputs, const std::vector<Tensor *> &outputs);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_UNARYKINDS_H
