//===- UnaryKernels.cpp - CPU kernel of ds.unary ---------------------------===//
//
// Float kinds run in float for f32 / f16 / bf16 (the vectorized loops of
// cpu/VectorMath.h where there is one) and in double for f64; integer kinds
// stay exact; the predicates (is_nan ...) give i1.
//
//===----------------------------------------------------------------------===//
#include "cpu/ElementAccess.h"
#include "cpu/KernelUtils.h"
#include "cpu/Kernels.h"
#include "cpu/Multiversion.h"
#include "cpu/UnaryKinds.h"
#include "cpu/VectorMath.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace dsrt::cpu {
using UK = UnaryKind;
using namespace elementwise;

UK parseUnary(const std::string &s) {
  static const std::pair<const char *, UK> table[] = {{"abs", UK::Abs},
                                                      {"neg", UK::Neg},
                                                      {"sqrt", UK::Sqrt},
                                                      {"reciprocal", UK::Reciprocal},
                                                      {"exp", UK::Exp},
                                                      {"log", UK::Log},
                                                      {"erf", UK::Erf},
                                                      {"tanh", UK::Tanh},
                                                      {"sigmoid", UK::Sigmoid},
                                                      {"relu", UK::Relu},
                                                      {"leaky_relu", UK::LeakyRelu},
                                                      {"elu", UK::Elu},
                                                      {"selu", UK::Selu},
                                                      {"celu", UK::Celu},
                                                      {"hard_sigmoid", UK::HardSigmoid},
                                                      {"hard_swish", UK::HardSwish},
                                                      {"softplus", UK::Softplus},
                                                      {"softsign", UK::Softsign},
                                                      {"gelu", UK::Gelu},
                                                      {"gelu_tanh", UK::GeluTanh},
                                                      {"mish", UK::Mish},
                                                      {"thresholded_relu", UK::ThresholdedRelu},
                                                      {"shrink", UK::Shrink},
                                                      {"cos", UK::Cos},
                                                      {"sin", UK::Sin},
                                                      {"tan", UK::Tan},
                                                      {"acos", UK::Acos},
                                                      {"asin", UK::Asin},
                                                      {"atan", UK::Atan},
                                                      {"cosh", UK::Cosh},
                                                      {"sinh", UK::Sinh},
                                                      {"acosh", UK::Acosh},
                                                      {"asinh", UK::Asinh},
                                                      {"atanh", UK::Atanh},
                                                      {"floor", UK::Floor},
                                                      {"ceil", UK::Ceil},
                                                      {"round", UK::Round},
                                                      {"sign", UK::Sign},
                                                      {"not", UK::Not},
                                                      {"logical_not", UK::Not},
                                                      {"bitwise_not", UK::BitwiseNot},
                                                      {"is_nan", UK::IsNan},
                                                      {"is_inf", UK::IsInf},
                                                      {"is_pos_inf", UK::IsPosInf},
                                                      {"is_neg_inf", UK::IsNegInf}};
  for (auto &e : table)
    if (s == e.first)
      return e.second;
  return UK::Unknown;
}

/// Default alpha / beta of the parametrised kinds (ONNX defaults).
double defaultAlpha(UK k) {
  switch (k) {
  case UK::LeakyRelu:
    return 0.01;
  case UK::Elu:
  case UK::Celu:
  case UK::ThresholdedRelu:
    return 1.0;
  case UK::Selu:
    return 1.67326319217681884765625;
  case UK::HardSigmoid:
    return 0.2;
  case UK::Shrink:
    return 0.5;
  default:
    return 0.0;
  }
}
double defaultBeta(UK k) {
  switch (k) {
  case UK::Selu:
    return 1.05070102214813232421875;
  case UK::HardSigmoid:
    return 0.5;
  default:
    return 0.0;
  }
}

bool isCheapUnary(UK k) {
  switch (k) {
  case UK::Abs:
  case UK::Neg:
  case UK::Relu:
  case UK::LeakyRelu:
  case UK::HardSigmoid:
  case UK::HardSwish:
  case UK::ThresholdedRelu:
  case UK::Shrink:
  case UK::Floor:
  case UK::Ceil:
  case UK::Round:
  case UK::Sign:
  case UK::Sqrt:
  case UK::Reciprocal:
  case UK::Softsign:
    return true;
  default:
    return false;
  }
}

namespace {

/// tanh through one exp: 1 - 2 / (e^2x + 1) away from 0 (where it has no
/// cancellation), std::tanh near 0. glibc's tanhf goes through expm1f and is
/// several times slower; the result stays within a few ulp.
template <class T> inline T fastTanh(T x) {
  if (std::fabs(x) < (T)0.5)
    return std::tanh(x);
  return (T)1 - (T)2 / (std::exp((T)2 * x) + (T)1);
}

/// The float function of kind K, in T (float or double).
template <UK K, class T> DS_INLINE T unaryFloat(T x, T alpha, T beta) {
  const T zero = 0, one = 1, half = (T)0.5;
  if constexpr (K == UK::Abs)
    return std::fabs(x);
  else if constexpr (K == UK::Neg)
    return -x;
  else if constexpr (K == UK::Sqrt)
    return std::sqrt(x);
  else if constexpr (K == UK::Reciprocal)
    return one / x;
  else if constexpr (K == UK::Exp)
    return std::exp(x);
  else if constexpr (K == UK::Log)
    return std::log(x);
  else if constexpr (K == UK::Erf)
    return std::erf(x);
  else if constexpr (K == UK::Tanh)
    return fastTanh(x);
  else if constexpr (K == UK::Sigmoid) {
    if (x >= zero)
      return one / (one + std::exp(-x));
    T e = std::exp(x);
    return e / (one + e);
  } else if constexpr (K == UK::Relu)
    return x > zero ? x : (x == x ? zero : x);
  else if constexpr (K == UK::LeakyRelu)
    return x < zero ? alpha * x : x;
  else if constexpr (K == UK::Elu)
    return x < zero ? alpha * std::expm1(x) : x;
  else if constexpr (K == UK::Selu)
    return x > zero ? beta * x : beta * (alpha * std::exp(x) - alpha);
  else if constexpr (K == UK::Celu)
    return std::max(zero, x) + std::min(zero, alpha * std::expm1(x / alpha));
  else if constexpr (K == UK::HardSigmoid)
    return std::max(zero, std::min(one, alpha * x + beta));
  else if constexpr (K == UK::HardSwish)
    return x * std::max(zero, std::min(one, x * (one / (T)6) + half));
  else if constexpr (K == UK::Softplus)
    return x > zero ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
  else if constexpr (K == UK::Softsign)
    return x / (one + std::fabs(x));
  else if constexpr (K == UK::Gelu)
    return half * x * (one + std::erf(x * (T)0.70710678118654752440));
  else if constexpr (K == UK::GeluTanh) {
    // x times the logistic of 2u (= 0.5 (1 + tanh u)), as vmath::geluTanh:
    // no 1 + tanh cancellation for negative x, and -0 at -inf.
    const T c = (T)0.79788456080286535588; // sqrt(2 / pi)
    const T u = c * (x + (T)0.044715 * x * x * x);
    const T e = std::exp((T)-2 * std::fabs(u));
    const T r = x * ((u < zero ? e : one) / (one + e));
    return x == -std::numeric_limits<T>::infinity() ? -zero : r;
  } else if constexpr (K == UK::Mish) {
    T sp = x > zero ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
    return x * std::tanh(sp);
  } else if constexpr (K == UK::ThresholdedRelu)
    return x > alpha ? x : zero;
  else if constexpr (K == UK::Shrink)
    return x < -alpha ? x + beta : (x > alpha ? x - beta : zero);
  else if constexpr (K == UK::Cos)
    return std::cos(x);
  else if constexpr (K == UK::Sin)
    return std::sin(x);
  else if constexpr (K == UK::Tan)
    return std::tan(x);
  else if constexpr (K == UK::Acos)
    return std::acos(x);
  else if constexpr (K == UK::Asin)
    return std::asin(x);
  else if constexpr (K == UK::Atan)
    return std::atan(x);
  else if constexpr (K == UK::Cosh)
    return std::cosh(x);
  else if constexpr (K == UK::Sinh)
    return std::sinh(x);
  else if constexpr (K == UK::Acosh)
    return std::acosh(x);
  else if constexpr (K == UK::Asinh)
    return std::asinh(x);
  else if constexpr (K == UK::Atanh)
    return std::atanh(x);
  else if constexpr (K == UK::Floor)
    return std::floor(x);
  else if constexpr (K == UK::Ceil)
    return std::ceil(x);
  else if constexpr (K == UK::Round)
    return std::nearbyint(x); // half to even
  else if constexpr (K == UK::Sign)
    return x > zero ? one : (x < zero ? -one : (x == zero ? zero : x));
  else {
    static_assert(K == UK::Abs, "not a float unary kind");
    return x;
  }
}

/// y[0, n) = k(x[0, n)) for the cheap kinds listed below (those of
/// isCheapUnary that vectorize), as loops the
/// compiler vectorizes in each cpu/Multiversion.h clone (the baseline
/// build's SSE2 loop ran a 16K-element ReLU at half a cycle per element).
/// Multiplies and adds are not contracted (lib/Runtime/CMakeLists.txt), so
/// every clone gives the same values. False for other kinds.
DS_VECTORIZED bool cheapUnarySpan(UK k, const float *x, float *y, int64_t n, float alpha,
                                  float beta) {
  switch (k) {
#define DS_CHEAP(N)                                                                                \
  case UK::N:                                                                                      \
    if (x == y) /* in place: one pointer, or the loop would not vectorize */                      \
      for (int64_t i = 0; i < n; ++i)                                                              \
        y[i] = unaryFloat<UK::N, float>(y[i], alpha, beta);                                        \
    else                                                                                           \
      for (int64_t i = 0; i < n; ++i)                                                              \
        y[i] = unaryFloat<UK::N, float>(x[i], alpha, beta);                                        \
    return true;
    DS_CHEAP(Abs)
    DS_CHEAP(Neg)
    DS_CHEAP(Relu)
    DS_CHEAP(LeakyRelu)
    DS_CHEAP(HardSigmoid)
    DS_CHEAP(HardSwish)
    DS_CHEAP(Sqrt)
    DS_CHEAP(Reciprocal)
    DS_CHEAP(Softsign)
#undef DS_CHEAP
  default:
    return false;
  }
}

/// y[0, n) = K(x[0, n)) in float (f32, and f16 / bf16 widened): the
/// vectorized loops of cpu/VectorMath.h where there is one, so every float
/// type gets the same values.
template <UK K> void unaryFloatSpan(const float *x, float *y, int64_t n, float alpha, float beta) {
  if constexpr (K == UK::Erf)
    vmath::erf(x, y, n);
  else if constexpr (K == UK::Gelu)
    vmath::gelu(x, y, n);
  else if constexpr (K == UK::Tanh)
    vmath::tanh(x, y, n);
  else if constexpr (K == UK::GeluTanh)
    vmath::geluTanh(x, y, n);
  else if constexpr (K == UK::Sigmoid)
    vmath::sigmoid(x, y, n);
  else if constexpr (K == UK::Exp)
    vmath::exp(x, y, n);
  else if (!cheapUnarySpan(K, x, y, n, alpha, beta))
    for (int64_t i = 0; i < n; ++i)
      y[i] = unaryFloat<K, float>(x[i], alpha, beta);
}

template <UK K>
void unaryFloatRun(KernelContext &ctx, const Tensor &in, Tensor &out, double alpha, double beta) {
  const int64_t n = in.numel();
  const int64_t grain = isCheapUnary(K) ? kCheapGrain : kCostlyGrain;
  switch (in.dtype) {
  case DS_F32: {
    const float *x = in.as<float>();
    float *y = out.as<float>();
    const float a = (float)alpha, b = (float)beta;
    parallel(ctx, n, grain, [&](int64_t begin, int64_t end) {
      unaryFloatSpan<K>(x + begin, y + begin, end - begin, a, b);
    });
    return;
  }
  case DS_F64: {
    const double *x = in.as<double>();
    double *y = out.as<double>();
    parallel(ctx, n, grain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        y[i] = unaryFloat<K, double>(x[i], alpha, beta);
    });
    return;
  }
  default: { // f16 / bf16: blocks through a float buffer
    const uint16_t *x = in.as<uint16_t>();
    uint16_t *y = out.as<uint16_t>();
    const float a = (float)alpha, b = (float)beta;
    parallel(ctx, n, grain, [&](int64_t begin, int64_t end) {
      float buf[256];
      for (int64_t start = begin; start < end; start += 256) {
        int64_t len = std::min<int64_t>(256, end - start);
        widenToFloatN(in.dtype, x + start, buf, len);
        unaryFloatSpan<K>(buf, buf, len, a, b);
        narrowFromFloatN(out.dtype, buf, y + start, len);
      }
    });
    return;
  }
  }
}

#define DS_FLOAT_UNARY_KINDS(X)                                                                    \
  X(Abs)                                                                                           \
  X(Neg) X(Sqrt) X(Reciprocal) X(Exp) X(Log) X(Erf) X(Tanh) X(Sigmoid) X(Relu) X(LeakyRelu) X(Elu) \
      X(Selu) X(Celu) X(HardSigmoid) X(HardSwish) X(Softplus) X(Softsign) X(Gelu) X(GeluTanh)      \
          X(Mish) X(ThresholdedRelu) X(Shrink) X(Cos) X(Sin) X(Tan) X(Acos) X(Asin) X(Atan)        \
              X(Cosh) X(Sinh) X(Acosh) X(Asinh) X(Atanh) X(Floor) X(Ceil) X(Round) X(Sign)

bool dispatchFloatUnary(UK k, KernelContext &ctx, const Tensor &in, Tensor &out, double alpha,
                        double beta) {
  switch (k) {
#define DS_CASE(N)                                                                                 \
  case UK::N:                                                                                      \
    unaryFloatRun<UK::N>(ctx, in, out, alpha, beta);                                               \
    return true;
    DS_FLOAT_UNARY_KINDS(DS_CASE)
#undef DS_CASE
  default:
    return false;
  }
}

template <class C> inline C intUnary(UK k, C x) {
  switch (k) {
  case UK::Abs:
    if constexpr (std::is_signed_v<C>)
      return x < 0 ? (C)(0 - (uint64_t)x) : x;
    else
      return x;
  case UK::Neg:
    return (C)(0 - (uint64_t)x);
  case UK::Sign:
    return x > 0 ? (C)1 : (x == 0 ? (C)0 : (C)-1);
  case UK::Relu:
    return x > 0 ? x : (C)0;
  case UK::BitwiseNot:
    return (C)~x;
  default:
    return x;
  }
}

} // namespace

Status unaryKernel(KernelContext &ctx, const Attributes &attrs,
                   const std::vector<const Tensor *> &inputs,
                   const std::vector<Tensor *> &outputs) {
  const char *op = "ds.unary";
  if (Status s = checkOperands(op, inputs, 1, outputs, 1); !s.ok())
    return s;
  const Tensor &in = *inputs[0];
  Tensor &out = *outputs[0];
  std::string kindName = attrs.getString("kind");
  UK k = parseUnary(kindName);
  if (k == UK::Unknown)
    return Status::error("ds.unary: unknown kind '" + kindName + "'");
  if (in.numel() != out.numel())
    return Status::error("ds.unary: result shape " + shapeText(out.shape, "x") +
                         " differs from operand shape " + shapeText(in.shape, "x"));
  const bool predicate = k == UK::IsNan || k == UK::IsInf || k == UK::IsPosInf || k == UK::IsNegInf;
  if (predicate ? out.dtype != DS_BOOL : out.dtype != in.dtype)
    return Status::error(std::string("ds.unary: '") + kindName + "' on " + dtypeName(in.dtype) +
                         " cannot produce " + dtypeName(out.dtype));
  const int64_t n = in.numel();
  const DType dt = in.dtype;
  const bool floatIn = dt == DS_F32 || dt == DS_F64 || dt == DS_F16 || dt == DS_BF16;

  if (predicate) {
    uint8_t *y = out.as<uint8_t>();
    if (!isComputeFloat(dt)) {
      if (isFloat8(dt))
        return Status::error(std::string("ds.unary: '") + kindName + "' does not support " +
                             dtypeName(dt));
      std::memset(y, 0, (size_t)n); // integers are never nan / inf
      return Status();
    }
    auto test = [k](double v) -> uint8_t {
      switch (k) {
      case UK::IsNan:
        return std::isnan(v);
      case UK::IsInf:
        return std::isinf(v);
      case UK::IsPosInf:
        return std::isinf(v) && v > 0;
      default:
        return std::isinf(v) && v < 0;
      }
    };
    if (dt == DS_F32) {
      const float *x = in.as<float>();
      parallel(ctx, n, kCheapGrain, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i)
          y[i] = test(x[i]);
      });
    } else {
      parallel(ctx, n, kCheapGrain, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i)
          y[i] = test(loadAsDouble(in, i));
      });
    }
    return Status();
  }

  if (k == UK::Not) {
    if (dt != DS_BOOL)
      return Status::error(std::string("ds.unary: 'not' needs an i1 operand, got ") +
                           dtypeName(dt));
    const uint8_t *x = in.as<uint8_t>();
    uint8_t *y = out.as<uint8_t>();
    parallel(ctx, n, kCheapGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        y[i] = x[i] ? 0 : 1;
    });
    return Status();
  }

  if (floatIn) {
    if (k == UK::BitwiseNot)
      return Status::error(std::string("ds.unary: 'bitwise_not' needs an integer operand, got ") +
                           dtypeName(dt));
    double alpha = attrs.getFloat("alpha", defaultAlpha(k));
    double beta = attrs.getFloat("beta", defaultBeta(k));
    if (!dispatchFloatUnary(k, ctx, in, out, alpha, beta))
      return Status::error("ds.unary: unhandled kind '" + kindName + "'");
    return Status();
  }

  if (isIntegerType(dt)) {
    if (k != UK::Abs && k != UK::Neg && k != UK::Sign && k != UK::Relu && k != UK::BitwiseNot)
      return Status::error(std::string("ds.unary: '") + kindName +
                           "' needs a floating-point operand, got " + dtypeName(dt));
    return withAccessor(op, dt, [&](auto tag) -> Status {
      using Acc = typename decltype(tag)::type;
      using C = typename Acc::Compute;
      if constexpr (std::is_integral_v<C> && !std::is_same_v<C, bool>) {
        Acc x(in), y(out);
        parallel(ctx, n, kCheapGrain, [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i)
            y.set(i, intUnary<C>(k, x.get(i)));
        });
        return Status();
      } else {
        return Status::error("ds.unary: internal dtype mismatch");
      }
    });
  }
  return Status::error(std::string("ds.unary: '") + kindName + "' does not support " +
                       dtypeName(dt));
}

} // namespace dsrt::cpu
