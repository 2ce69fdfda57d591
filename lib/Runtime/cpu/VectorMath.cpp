//===- VectorMath.cpp - float math over arrays, vectorized ----------------===//
#include "cpu/VectorMath.h"
#include "cpu/Multiversion.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace dsrt::cpu::vmath {
namespace {

// DS_VECTORIZED / DS_INLINE: cpu/Multiversion.h.

/// Round to nearest (half to even) for |v| < 2^22: adding and subtracting
/// 1.5 * 2^23 leaves the integer part, in any vector width.
DS_INLINE float roundEven(float v) {
  const float magic = 12582912.0f;
  return (v + magic) - magic;
}

DS_INLINE float bitsToFloat(int32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

/// e^xc for xc in [-103, 88.75]: e^x = 2^k e^r with k = round(x / ln 2) and
/// |r| <= ln 2 / 2, e^r by its Taylor polynomial to r^7 (truncation error
/// under 1e-8).
DS_INLINE float expOf(float xc) {
  const float log2e = 1.44269504088896341f;
  const float ln2Hi = 0.693145751953125f, ln2Lo = 1.428606765330187045e-06f;
  float k = roundEven(xc * log2e);
  k = k == k ? k : 0.0f; // NaN would make the int conversion undefined
  float r = xc - k * ln2Hi;
  r = r - k * ln2Lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // 2^k as two normal factors, applied one after the other: k reaches -149,
  // below a normal single factor, and 128, where the factors' product
  // would overflow before p brings it below FLT_MAX.
  int32_t ki = (int32_t)k;
  int32_t half = ki / 2;
  return p * bitsToFloat((half + 127) << 23) * bitsToFloat((ki - half + 127) << 23);
}

/// e^x for x <= 0 (positive x counts as 0), 0 below -103 (where even a
/// denormal result rounds to 0).
DS_INLINE float expNonPositive(float x) {
  float xc = x < -103.0f ? -103.0f : x;
  xc = xc > 0.0f ? 0.0f : xc;
  float e = expOf(xc);
  e = x < -103.0f ? 0.0f : e;
  return x != x ? x : e;
}

/// e^x for any x: inf above log(FLT_MAX), NaN for NaN.
DS_INLINE float expOne(float x) {
  float xc = x < -103.0f ? -103.0f : x;
  xc = xc > 88.75f ? 88.75f : xc;
  float e = expOf(xc);
  e = x > 88.72283935546875f ? std::numeric_limits<float>::infinity() : e;
  e = x < -103.0f ? 0.0f : e;
  return x != x ? x : e;
}

/// 1 + erf(z) and 1 - erf(z) at once would cancel; this returns erfc(|z|)
/// for |z| >= 0.5 (Abramowitz and Stegun 7.1.26, absolute error 1.5e-7).
DS_INLINE float erfcTail(float a) {
  const float p = 0.3275911f;
  float t = 1.0f / (1.0f + p * a);
  float poly = 1.061405429f;
  poly = poly * t - 1.453152027f;
  poly = poly * t + 1.421413741f;
  poly = poly * t - 0.284496736f;
  poly = poly * t + 0.254829592f;
  return poly * t * expNonPositive(-a * a);
}

/// erf(z) for |z| < 0.5 by its Taylor series (error under 3e-8 there).
DS_INLINE float erfNearZero(float z) {
  float z2 = z * z;
  float s = -1.0f / 1320.0f;
  s = s * z2 + 1.0f / 216.0f;
  s = s * z2 - 1.0f / 42.0f;
  s = s * z2 + 1.0f / 10.0f;
  s = s * z2 - 1.0f / 3.0f;
  s = s * z2 + 1.0f;
  return 1.12837916709551257f * z * s; // 2 / sqrt(pi)
}

DS_INLINE float erfOne(float z) {
  float a = z < 0.0f ? -z : z;
  float tail = 1.0f - erfcTail(a);
  float far = z < 0.0f ? -tail : tail;
  float near = erfNearZero(z);
  float r = a < 0.5f ? near : far;
  return z != z ? z : r;
}

DS_INLINE float geluOne(float x) {
  float z = x * 0.70710678118654752f;
  float a = z < 0.0f ? -z : z;
  float tail = erfcTail(a);
  // 1 + erf(z): 2 - erfc(z) above 0, erfc(-z) below (no cancellation).
  float onePlus = z < 0.0f ? tail : 2.0f - tail;
  onePlus = a < 0.5f ? 1.0f + erfNearZero(z) : onePlus;
  float r = 0.5f * x * onePlus;
  r = x < -13.0f ? -0.0f : r; // erfc underflows; also -inf * 0
  return x != x ? x : r;
}

/// tanh(x) = sign(x) (1 - e^-2|x|) / (1 + e^-2|x|) for |x| >= 0.25, where
/// the subtraction loses at most a bit; below, its Taylor series to x^11
/// (truncation about 2e-10 relative at 0.25, far under a float ulp).
DS_INLINE float tanhOne(float x) {
  float a = x < 0.0f ? -x : x;
  float e = expNonPositive(-2.0f * a);
  float far = (1.0f - e) / (1.0f + e);
  float a2 = a * a;
  float s = -1382.0f / 155925.0f;
  s = s * a2 + 62.0f / 2835.0f;
  s = s * a2 - 17.0f / 315.0f;
  s = s * a2 + 2.0f / 15.0f;
  s = s * a2 - 1.0f / 3.0f;
  s = s * a2 + 1.0f;
  float r = a < 0.25f ? a * s : far;
  r = x < 0.0f ? -r : r;
  return x != x ? x : r;
}

/// 0.5 x (1 + tanh(u)), u = sqrt(2 / pi) (x + 0.044715 x^3), as x times the
/// logistic function of 2u: with E = e^-2|u|, 1 / (1 + E) for u >= 0 and
/// E / (1 + E) below; no 1 + tanh cancellation on the negative side.
DS_INLINE float geluTanhOne(float x) {
  float u = 0.79788456080286535588f * (x + 0.044715f * x * x * x);
  float a = u < 0.0f ? -u : u;
  float e = expNonPositive(-2.0f * a);
  float logistic = (u < 0.0f ? e : 1.0f) / (1.0f + e);
  float r = x * logistic;
  r = x < -13.0f ? -0.0f : r; // the logistic underflows; also -inf * 0
  return x != x ? x : r;
}

/// The logistic function 1 / (1 + e^-x) through one exp of -|x|:
/// 1 / (1 + E) for x >= 0 and E / (1 + E) below (no cancellation).
DS_INLINE float sigmoidOne(float x) {
  float e = expNonPositive(x < 0.0f ? x : -x);
  float r = (x < 0.0f ? e : 1.0f) / (1.0f + e);
  return x != x ? x : r;
}

/// The division (not a multiplication by 1 / scale) rounds as ONNX's
/// QuantizeLinear and onnxruntime do; roundEven is exact below 2^22 and
/// anything larger saturates anyway.
template <typename Q>
DS_INLINE Q quantizeOne(float x, float scale, float zeroPoint, float lo, float hi) {
  float v = x / scale; // NaN also for inf / inf and 0 / 0 (a scale of 0 or inf)
  float q = roundEven(v) + zeroPoint;
  q = q < lo ? lo : q;
  q = q > hi ? hi : q;
  q = v != v ? zeroPoint : q; // before the conversion: NaN to int is undefined
  return (Q)(int32_t)q;
}

// The sum runs in 16 float lanes (an in-order float sum would keep the
// loop scalar: reassociating it is not allowed), added up in double per
// block of 256.
constexpr int kLanes = 16;

template <bool Store>
DS_INLINE double expSumBody(const float *__restrict x, float *__restrict y, int64_t n,
                            float shift) {
  double total = 0.0;
  for (int64_t b = 0; b < n; b += 256) {
    int64_t e = b + 256 < n ? b + 256 : n;
    float lanes[kLanes] = {};
    int64_t i = b;
    for (; i + kLanes <= e; i += kLanes)
      for (int j = 0; j < kLanes; ++j) {
        float v = expNonPositive(x[i + j] - shift);
        if constexpr (Store)
          y[i + j] = v;
        lanes[j] += v;
      }
    for (; i < e; ++i) {
      float v = expNonPositive(x[i] - shift);
      if constexpr (Store)
        y[i] = v;
      lanes[0] += v;
    }
    for (float lane : lanes)
      total += lane;
  }
  return total;
}

DS_VECTORIZED double expSumStore(const float *__restrict x, float *__restrict y, int64_t n,
                                 float shift) {
  return expSumBody<true>(x, y, n, shift);
}

DS_VECTORIZED double expSum(const float *__restrict x, int64_t n, float shift) {
  return expSumBody<false>(x, nullptr, n, shift);
}

DS_VECTORIZED void erfImpl(const float *__restrict x, float *__restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = erfOne(x[i]);
}

DS_VECTORIZED void geluImpl(const float *__restrict x, float *__restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = geluOne(x[i]);
}

DS_VECTORIZED void tanhImpl(const float *__restrict x, float *__restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = tanhOne(x[i]);
}

DS_VECTORIZED void geluTanhImpl(const float *__restrict x, float *__restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = geluTanhOne(x[i]);
}

DS_VECTORIZED void expImpl(const float *__restrict x, float *__restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = expOne(x[i]);
}

DS_VECTORIZED void sigmoidImpl(const float *__restrict x, float *__restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = sigmoidOne(x[i]);
}

DS_VECTORIZED void quantizeU8(const float *__restrict x, uint8_t *__restrict y, int64_t n,
                              float scale, float zeroPoint) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = quantizeOne<uint8_t>(x[i], scale, zeroPoint, 0.0f, 255.0f);
}

DS_VECTORIZED void quantizeI8(const float *__restrict x, int8_t *__restrict y, int64_t n,
                              float scale, float zeroPoint) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = quantizeOne<int8_t>(x[i], scale, zeroPoint, -128.0f, 127.0f);
}

DS_VECTORIZED void rangeImpl(const float *__restrict x, int64_t n, float *lo, float *hi) {
  float l = 0.0f, h = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    l = x[i] < l ? x[i] : l;
    h = x[i] > h ? x[i] : h;
  }
  *lo = l;
  *hi = h;
}

// Double sums in 8 lanes, as the float ones above.
constexpr int kDoubleLanes = 8;

DS_INLINE double sumBody(const float *__restrict x, int64_t n) {
  double lanes[kDoubleLanes] = {};
  int64_t i = 0;
  for (; i + kDoubleLanes <= n; i += kDoubleLanes)
    for (int j = 0; j < kDoubleLanes; ++j)
      lanes[j] += (double)x[i + j];
  for (; i < n; ++i)
    lanes[0] += (double)x[i];
  double total = 0.0;
  for (double lane : lanes)
    total += lane;
  return total;
}

DS_VECTORIZED double sumImpl(const float *__restrict x, int64_t n) { return sumBody(x, n); }

DS_VECTORIZED void momentsImpl(const float *__restrict x, int64_t n, bool rms, double *mean,
                               double *var) {
  double lanes[kDoubleLanes] = {};
  const double m = rms ? 0.0 : sumBody(x, n) / (double)n;
  int64_t i = 0;
  for (; i + kDoubleLanes <= n; i += kDoubleLanes)
    for (int j = 0; j < kDoubleLanes; ++j) {
      double d = (double)x[i + j] - m;
      lanes[j] += d * d;
    }
  for (; i < n; ++i) {
    double d = (double)x[i] - m;
    lanes[0] += d * d;
  }
  double v = 0.0;
  for (double lane : lanes)
    v += lane;
  *mean = m;
  *var = v / (double)n;
}

DS_VECTORIZED void normalizeImpl(const float *__restrict x, float *__restrict y, int64_t n,
                                 float mean, float inverse, const float *__restrict scale,
                                 const float *__restrict bias) {
  if (scale && bias)
    for (int64_t i = 0; i < n; ++i)
      y[i] = (x[i] - mean) * inverse * scale[i] + bias[i];
  else if (scale)
    for (int64_t i = 0; i < n; ++i)
      y[i] = (x[i] - mean) * inverse * scale[i];
  else if (bias)
    for (int64_t i = 0; i < n; ++i)
      y[i] = (x[i] - mean) * inverse + bias[i];
  else
    for (int64_t i = 0; i < n; ++i)
      y[i] = (x[i] - mean) * inverse;
}

template <Arith Op> DS_INLINE float arithOne(float a, float b) {
  if constexpr (Op == Arith::Add)
    return a + b;
  else if constexpr (Op == Arith::Sub)
    return a - b;
  else if constexpr (Op == Arith::Mul)
    return a * b;
  else
    return a / b;
}

template <Arith Op>
DS_INLINE void arithRun(const float *__restrict a, int64_t sa, const float *__restrict b,
                        int64_t sb, float *__restrict y, int64_t n) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i)
      y[i] = arithOne<Op>(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bv = b[0];
    for (int64_t i = 0; i < n; ++i)
      y[i] = arithOne<Op>(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = a[0];
    for (int64_t i = 0; i < n; ++i)
      y[i] = arithOne<Op>(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i)
      y[i] = arithOne<Op>(a[i * sa], b[i * sb]);
  }
}

DS_VECTORIZED void arithImpl(Arith op, const float *a, int64_t sa, const float *b, int64_t sb,
                             float *y, int64_t n) {
  switch (op) {
  case Arith::Add:
    return arithRun<Arith::Add>(a, sa, b, sb, y, n);
  case Arith::Sub:
    return arithRun<Arith::Sub>(a, sa, b, sb, y, n);
  case Arith::Mul:
    return arithRun<Arith::Mul>(a, sa, b, sb, y, n);
  case Arith::Div:
    return arithRun<Arith::Div>(a, sa, b, sb, y, n);
  }
}

DS_VECTORIZED float maxImpl(const float *__restrict x, int64_t n) {
  float lanes[kLanes];
  for (float &l : lanes)
    l = -INFINITY;
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j)
      lanes[j] = x[i + j] > lanes[j] ? x[i + j] : lanes[j];
  for (; i < n; ++i)
    lanes[0] = x[i] > lanes[0] ? x[i] : lanes[0];
  float m = lanes[0];
  for (float l : lanes)
    m = l > m ? l : m;
  return m;
}

DS_VECTORIZED void scaleImpl(float *__restrict y, int64_t n, float factor) {
  for (int64_t i = 0; i < n; ++i)
    y[i] *= factor;
}

DS_VECTORIZED float dotImpl(const float *__restrict a, const float *__restrict b, int64_t n) {
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j)
      lanes[j] += a[i + j] * b[i + j];
  for (; i < n; ++i)
    lanes[0] += a[i] * b[i];
  float sum = 0.0f;
  for (float l : lanes)
    sum += l;
  return sum;
}

DS_VECTORIZED void dotRowsImpl(const float *__restrict x, const float *__restrict rows,
                               int64_t stride, int64_t n, int64_t count, float *__restrict out) {
  int64_t c = 0;
  for (; c + 4 <= count; c += 4) {
    const float *r0 = rows + c * stride, *r1 = r0 + stride, *r2 = r1 + stride,
                *r3 = r2 + stride;
    float l0[kLanes] = {}, l1[kLanes] = {}, l2[kLanes] = {}, l3[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
      for (int j = 0; j < kLanes; ++j) {
        const float xv = x[i + j];
        l0[j] += xv * r0[i + j];
        l1[j] += xv * r1[i + j];
        l2[j] += xv * r2[i + j];
        l3[j] += xv * r3[i + j];
      }
    for (; i < n; ++i) {
      l0[0] += x[i] * r0[i];
      l1[0] += x[i] * r1[i];
      l2[0] += x[i] * r2[i];
      l3[0] += x[i] * r3[i];
    }
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    for (int j = 0; j < kLanes; ++j)
      s0 += l0[j], s1 += l1[j], s2 += l2[j], s3 += l3[j];
    out[c] = s0, out[c + 1] = s1, out[c + 2] = s2, out[c + 3] = s3;
  }
  for (; c < count; ++c)
    out[c] = dotImpl(x, rows + c * stride, n);
}

DS_VECTORIZED void axpyImpl(float alpha, const float *__restrict x, float *__restrict y,
                            int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    y[i] += alpha * x[i];
}

DS_VECTORIZED void axpyRowsImpl(const float *__restrict w, const float *__restrict rows,
                                int64_t stride, int64_t n, int64_t count, float *__restrict y) {
  int64_t c = 0;
  for (; c + 4 <= count; c += 4) {
    const float *r0 = rows + c * stride, *r1 = r0 + stride, *r2 = r1 + stride,
                *r3 = r2 + stride;
    const float w0 = w[c], w1 = w[c + 1], w2 = w[c + 2], w3 = w[c + 3];
    for (int64_t i = 0; i < n; ++i)
      y[i] += w0 * r0[i] + w1 * r1[i] + w2 * r2[i] + w3 * r3[i];
  }
  for (; c < count; ++c)
    axpyImpl(w[c], rows + c * stride, y, n);
}

} // namespace

float maxOf(const float *x, int64_t n) { return maxImpl(x, n); }
void scale(float *y, int64_t n, float factor) { scaleImpl(y, n, factor); }
float dot(const float *a, const float *b, int64_t n) { return dotImpl(a, b, n); }
void dotRows(const float *x, const float *rows, int64_t stride, int64_t n, int64_t count,
             float *out) {
  dotRowsImpl(x, rows, stride, n, count, out);
}
void axpy(float alpha, const float *x, float *y, int64_t n) { axpyImpl(alpha, x, y, n); }
void axpyRows(const float *w, const float *rows, int64_t stride, int64_t n, int64_t count,
              float *y) {
  axpyRowsImpl(w, rows, stride, n, count, y);
}

void arith(Arith op, const float *a, int64_t aStride, const float *b, int64_t bStride, float *y,
           int64_t n) {
  arithImpl(op, a, aStride, b, bStride, y, n);
}

void moments(const float *x, int64_t n, bool rms, double &mean, double &var) {
  momentsImpl(x, n, rms, &mean, &var);
}

void normalize(const float *x, float *y, int64_t n, float mean, float inverse, const float *scale,
               const float *bias) {
  normalizeImpl(x, y, n, mean, inverse, scale, bias);
}

void rangeWithZero(const float *x, int64_t n, float &lo, float &hi) { rangeImpl(x, n, &lo, &hi); }

double expShiftedSum(const float *x, float *y, int64_t n, float shift) {
  return expSumStore(x, y, n, shift);
}

double expShiftedSumOnly(const float *x, int64_t n, float shift) { return expSum(x, n, shift); }

void erf(const float *x, float *y, int64_t n) { erfImpl(x, y, n); }
void gelu(const float *x, float *y, int64_t n) { geluImpl(x, y, n); }
void tanh(const float *x, float *y, int64_t n) { tanhImpl(x, y, n); }
double sum(const float *x, int64_t n) { return sumImpl(x, n); }
void geluTanh(const float *x, float *y, int64_t n) { geluTanhImpl(x, y, n); }
void sigmoid(const float *x, float *y, int64_t n) { sigmoidImpl(x, y, n); }
void exp(const float *x, float *y, int64_t n) { expImpl(x, y, n); }

void quantize(const float *x, uint8_t *y, int64_t n, float scale, float zeroPoint) {
  quantizeU8(x, y, n, scale, zeroPoint);
}
void quantize(const float *x, int8_t *y, int64_t n, float scale, float zeroPoint) {
  quantizeI8(x, y, n, scale, zeroPoint);
}

} // namespace dsrt::cpu::vmath
