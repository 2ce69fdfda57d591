//===- VectorMath.h - float math over arrays, vectorized --------*- C++ -*-===//
//
// The transcendental loops that dominate transformer encoders after the
// GEMMs (GELU's erf, softmax's exp) and the quantization of activations,
// written without calls or branches so the compiler vectorizes them, and
// compiled for AVX-512, AVX2 + FMA and the baseline (target_clones: the
// runtime itself is built for the baseline and picks the widest at load
// time). libm's erff / expf are scalar calls, several times slower.
//
// Accuracy: exp within 2 ulp of the true value for results >= FLT_MIN
// (denormals below, 0 under e^-103); erf within 3e-7 absolute and GELU
// within 3e-7 max(1, |x|) (Abramowitz and Stegun 7.1.26 for |x| >= 0.5,
// the Taylor series below; libm's erff is within 1 ulp, 6e-8 near 1); tanh,
// the tanh GELU and the logistic within a few ulp (VectorMathTest). NaN in
// gives NaN out.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_VECTORMATH_H
#define DS_RUNTIME_CPU_VECTORMATH_H

#include <cstdint>

namespace dsrt::cpu::vmath {

/// The largest x[i]; NaN elements are skipped (all NaN, or n = 0: -inf), as
/// m = std::max(m, x[i]) from -inf does.
float maxOf(const float *x, int64_t n);
/// y[i] *= factor.
void scale(float *y, int64_t n, float factor);
/// The sum of a[i] * b[i], in float lanes (no fixed summation order).
float dot(const float *a, const float *b, int64_t n);
/// out[c] = dot(x, rows + c * stride, n) for c < count: four rows at a time,
/// sharing each load of x (a decode step's scores against keys).
void dotRows(const float *x, const float *rows, int64_t stride, int64_t n, int64_t count,
             float *out);
/// y[i] += alpha * x[i].
void axpy(float alpha, const float *x, float *y, int64_t n);
/// y[i] += sum over c < count of w[c] * rows[c * stride + i]: four rows per
/// pass over y, the rows read in order (a decode step's P V).
void axpyRows(const float *w, const float *rows, int64_t stride, int64_t n, int64_t count,
              float *y);

/// y[i] = e^(x[i] - shift) for x[i] <= shift (softmax: shift is the row's
/// maximum); returns the sum of the y[i], accumulated in double.
double expShiftedSum(const float *x, float *y, int64_t n, float shift);
/// The sum of e^(x[i] - shift), nothing stored (log-softmax).
double expShiftedSumOnly(const float *x, int64_t n, float shift);

void erf(const float *x, float *y, int64_t n);
/// 0.5 x (1 + erf(x / sqrt 2)), the exact GELU.
void gelu(const float *x, float *y, int64_t n);
/// tanh, within 3 ulp (one exp; its Taylor series below |x| = 0.25).
void tanh(const float *x, float *y, int64_t n);
/// 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), the tanh GELU, as
/// x times a logistic (no cancellation for negative x).
void geluTanh(const float *x, float *y, int64_t n);

/// The logistic function 1 / (1 + e^-x), within 3 ulp where the result is
/// a normal float (SiLU's gate, x * sigmoid(x), in SwiGLU feed-forwards).
void sigmoid(const float *x, float *y, int64_t n);
/// e^x, within 2 ulp where the result is a normal float; inf above
/// log(FLT_MAX), 0 below -103, NaN for NaN.
void exp(const float *x, float *y, int64_t n);

/// The sum of x[0, n) in double (lanes of 8: no fixed order).
double sum(const float *x, int64_t n);
/// Mean and variance of x[0, n) (with `rms`: mean 0 and the mean square),
/// summed in double.
void moments(const float *x, int64_t n, bool rms, double &mean, double &var);
/// y = (x - mean) * inverse * scale + bias; scale and bias per element, or
/// null for none.
void normalize(const float *x, float *y, int64_t n, float mean, float inverse, const float *scale,
               const float *bias);

/// The four arithmetic ops of f32 tensors, for ds.binary's contiguous and
/// broadcast runs.
enum class Arith { Add, Sub, Mul, Div };
/// y[i] = a[i * aStride] op b[i * bStride], strides 0 or 1 (any other takes
/// a scalar loop).
void arith(Arith op, const float *a, int64_t aStride, const float *b, int64_t bStride, float *y,
           int64_t n);

/// lo = min(0, x...), hi = max(0, x...), NaN skipped (DynamicQuantizeLinear's
/// range).
void rangeWithZero(const float *x, int64_t n, float &lo, float &hi);

/// saturate(round_half_even(x / scale) + zeroPoint) into [lo, hi] (u8:
/// [0, 255], i8: [-128, 127]); NaN becomes the zero point.
void quantize(const float *x, uint8_t *y, int64_t n, float scale, float zeroPoint);
void quantize(const float *x, int8_t *y, int64_t n, float scale, float zeroPoint);

} // namespace dsrt::cpu::vmath

#endif // DS_RUNTIME_CPU_VECTORMATH_H
