//===- KernelUtils.h - helpers shared by the CPU kernels --------*- C++ -*-===//
#ifndef DS_RUNTIME_CPU_KERNELUTILS_H
#define DS_RUNTIME_CPU_KERNELUTILS_H

#include "core/Float8Codec.h"
#include "core/Tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace dsrt::cpu {

/// A kernel's operands and results, as dsrt::Kernel takes them.
using Inputs = std::vector<const Tensor *>;
using Outputs = std::vector<Tensor *>;

//===----------------------------------------------------------------------===//
// Threads
//===----------------------------------------------------------------------===//

/// Runs body(begin, end) over [0, n): split by ctx.parallelFor into tasks of
/// about `grain` items (at least 1) when there is more than one task's worth,
/// otherwise inline, so small tensors do not pay for a thread hand-off. The
/// body is handed on by reference: a std::function holding a lambda that
/// captures more than two pointers allocates, and tiny ops ran hundreds of
/// them per step.
template <class Body>
inline void parallel(KernelContext &ctx, int64_t n, int64_t grain, const Body &body) {
  if (n <= 0)
    return;
  grain = std::max<int64_t>(grain, 1);
  if (ctx.parallelFor && n > grain)
    ctx.parallelFor(n, grain, std::cref(body));
  else
    body(0, n);
}

//===----------------------------------------------------------------------===//
// Element types (beyond dsrt::isFloat / isSignedInt / isUnsignedInt)
//===----------------------------------------------------------------------===//

/// Whether `t` is one of the ds_dtype values (a kernel may be handed any byte).
inline bool isKnownDType(DType t) { return (int)t >= (int)DS_F32 && (int)t <= (int)DS_U2; }

inline bool isFloat8(DType t) {
  return t == DS_F8E4M3FN || t == DS_F8E5M2 || t == DS_F8E4M3FNUZ || t == DS_F8E5M2FNUZ;
}

/// Float8 code of `f` in float8 dtype `t` (core/Float8Codec.h; an f64 value
/// is rounded to float first).
inline uint8_t floatToF8(float f, DType t, bool saturate) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return ds_f8_encode(bits, (int)t - (int)DS_F8E4M3FN, saturate);
}

/// The value of float8 code `v` of dtype `t` (exact in float).
inline float f8ToFloat(uint8_t v, DType t) {
  uint32_t bits = ds_f8_decode(v, (int)t - (int)DS_F8E4M3FN);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// f32, f64, f16 and bf16: the floats kernels compute on. Unlike dsrt::isFloat
/// this leaves out float8, which only the cast and quantization kernels decode.
inline bool isComputeFloat(DType t) {
  return t == DS_F32 || t == DS_F64 || t == DS_F16 || t == DS_BF16;
}

/// Signed or unsigned integers of any width; not bool.
inline bool isIntegerType(DType t) { return isSignedInt(t) || isUnsignedInt(t); }

//===----------------------------------------------------------------------===//
// Operand checks and errors
//===----------------------------------------------------------------------===//

/// "op: message" as a runtime error.
Status fail(const char *op, const std::string &message);

/// Checks that there are at least `nIn` inputs and `nOut` outputs and that
/// those are present (non-empty ones with data).
Status need(const char *op, const Inputs &in, const Outputs &out, size_t nIn, size_t nOut);

/// Checks that the first `numRequired` operands and `numOutputs` results are
/// present, of a known dtype and with data (unless empty). With
/// `checkOptional`, operands past `numRequired` that are present (non-null)
/// are checked the same way; otherwise they are not looked at.
Status checkOperands(const char *op, const Inputs &inputs, size_t numRequired,
                     const Outputs &outputs, size_t numOutputs, bool checkOptional = false);

/// Copies one element of `size` bytes.
inline void copyElem(uint8_t *dst, const uint8_t *src, size_t size) {
  switch (size) {
  case 1: *dst = *src; return;
  case 2: std::memcpy(dst, src, 2); return;
  case 4: std::memcpy(dst, src, 4); return;
  case 8: std::memcpy(dst, src, 8); return;
  default: std::memcpy(dst, src, size); return;
  }
}

/// A shape for messages: "[2, 3]", or "[2x3]" with separator "x".
std::string shapeText(const std::vector<int64_t> &shape, const char *separator = ", ");

//===----------------------------------------------------------------------===//
// 16-bit floats (stored as uint16_t bit patterns)
//===----------------------------------------------------------------------===//

inline float halfToFloat(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { // subnormal: normalize
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000 | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = (int32_t)((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffff;
  if (((x >> 23) & 0xff) == 0xff) // inf / nan
    return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 : 0));
  if (exp >= 31)
    return (uint16_t)(sign | 0x7c00);
  if (exp <= 0) { // subnormal or zero, round to nearest even
    if (exp < -10)
      return (uint16_t)sign;
    mant |= 0x800000;
    uint32_t shift = (uint32_t)(14 - exp);
    uint32_t half = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1)))
      ++half;
    return (uint16_t)(sign | half);
  }
  uint32_t half = sign | ((uint32_t)exp << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1)))
    ++half; // may carry into the exponent, which is the correct rounding
  return (uint16_t)half;
}

inline float bf16ToFloat(uint16_t b) {
  uint32_t bits = (uint32_t)b << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t floatToBf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000)
    return (uint16_t)((x >> 16) | 0x40); // quiet nan
  uint32_t rounding = 0x7fff + ((x >> 16) & 1);
  return (uint16_t)((x + rounding) >> 16);
}

/// Runs of conversions: n f16 values (raw bits) to f32 and back (round to
/// nearest even), with the F16C instructions where the CPU has them (every
/// x86-64-v3 CPU), the inline functions above elsewhere. Finite values and
/// infinities convert exactly as those do; a NaN stays a NaN (its payload
/// may differ).
void halfToFloatN(const uint16_t *src, float *dst, int64_t n);
void floatToHalfN(const float *src, uint16_t *dst, int64_t n);
/// The same for bf16, as bf16ToFloat / floatToBf16 do (vectorized loops).
void bf16ToFloatN(const uint16_t *src, float *dst, int64_t n);
void floatToBf16N(const float *src, uint16_t *dst, int64_t n);
/// The run conversion for a 16-bit float dtype: DS_F16 or DS_BF16.
void widenToFloatN(DType from, const uint16_t *src, float *dst, int64_t n);
void narrowFromFloatN(DType to, const float *src, uint16_t *dst, int64_t n);

//===----------------------------------------------------------------------===//
// Element access by dtype, through double / int64
//===----------------------------------------------------------------------===//

/// Element `i` of `t` as double (any dtype; bool as 0/1).
double loadAsDouble(const Tensor &t, int64_t i);
/// Element `i` of `t` as int64 (floats truncate toward zero).
int64_t loadAsInt(const Tensor &t, int64_t i);
/// Stores `v` into element `i` of `t`, converting to its dtype (floats round
/// to nearest, integers truncate and wrap, bool is v != 0).
void storeDouble(Tensor &t, int64_t i, double v);
void storeInt(Tensor &t, int64_t i, int64_t v);

//===----------------------------------------------------------------------===//
// Shapes
//===----------------------------------------------------------------------===//

/// Row-major strides of `shape` (in elements).
std::vector<int64_t> stridesOf(const std::vector<int64_t> &shape);

/// Strides of `shape` broadcast to `outShape` (right-aligned; 0 along
/// broadcast dims), for indexing an input from output coordinates.
std::vector<int64_t> broadcastStrides(const std::vector<int64_t> &shape,
                                      const std::vector<int64_t> &outShape);

/// Maps a flat output index to an input offset through `inStrides`
/// (as returned by broadcastStrides) given the output's row-major strides.
inline int64_t mapIndex(int64_t flat, const std::vector<int64_t> &outStrides,
                        const std::vector<int64_t> &inStrides) {
  int64_t offset = 0;
  for (size_t d = 0; d < outStrides.size(); ++d) {
    int64_t coord = flat / outStrides[d];
    flat -= coord * outStrides[d];
    offset += coord * inStrides[d];
  }
  return offset;
}

/// Normalizes a possibly negative axis against `rank`.
inline int64_t normAxis(int64_t axis, int64_t rank) { return axis < 0 ? axis + rank : axis; }

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_KERNELUTILS_H
