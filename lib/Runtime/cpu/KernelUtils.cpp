//===- KernelUtils.cpp - helpers shared by the CPU kernels ----------------===//
#include "cpu/KernelUtils.h"
#include "cpu/Multiversion.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace dsrt::cpu {

#if defined(__x86_64__)
namespace {
bool hasF16C() {
  static const bool has = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
  return has;
}

__attribute__((target("avx,f16c"))) int64_t halfToFloatF16C(const uint16_t *src, float *dst,
                                                             int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i,
                     _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(src + i))));
  return i;
}

__attribute__((target("avx,f16c"))) int64_t floatToHalfF16C(const float *src, uint16_t *dst,
                                                             int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
  return i;
}
} // namespace
#endif

void halfToFloatN(const uint16_t *src, float *dst, int64_t n) {
  int64_t i = 0;
#if defined(__x86_64__)
  if (hasF16C())
    i = halfToFloatF16C(src, dst, n);
#endif
  for (; i < n; ++i)
    dst[i] = halfToFloat(src[i]);
}

DS_VECTORIZED void bf16ToFloatN(const uint16_t *src, float *dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    dst[i] = bf16ToFloat(src[i]);
}

DS_VECTORIZED void floatToBf16N(const float *src, uint16_t *dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    dst[i] = floatToBf16(src[i]);
}

void floatToHalfN(const float *src, uint16_t *dst, int64_t n) {
  int64_t i = 0;
#if defined(__x86_64__)
  if (hasF16C())
    i = floatToHalfF16C(src, dst, n);
#endif
  for (; i < n; ++i)
    dst[i] = floatToHalf(src[i]);
}

void widenToFloatN(DType from, const uint16_t *src, float *dst, int64_t n) {
  from == DS_F16 ? halfToFloatN(src, dst, n) : bf16ToFloatN(src, dst, n);
}

void narrowFromFloatN(DType to, const float *src, uint16_t *dst, int64_t n) {
  to == DS_F16 ? floatToHalfN(src, dst, n) : floatToBf16N(src, dst, n);
}

Status fail(const char *op, const std::string &message) {
  return Status::error(std::string(op) + ": " + message);
}

Status need(const char *op, const Inputs &in, const Outputs &out, size_t nIn, size_t nOut) {
  if (in.size() < nIn)
    return fail(op,
                "expected " + std::to_string(nIn) + " inputs, got " + std::to_string(in.size()));
  if (out.size() < nOut)
    return fail(op,
                "expected " + std::to_string(nOut) + " outputs, got " + std::to_string(out.size()));
  for (size_t i = 0; i < nIn; ++i)
    if (!in[i] || (!in[i]->data && in[i]->numel() > 0))
      return fail(op, "input " + std::to_string(i) + " is missing");
  for (size_t i = 0; i < nOut; ++i)
    if (!out[i] || (!out[i]->data && out[i]->numel() > 0))
      return fail(op, "output " + std::to_string(i) + " is missing");
  return Status();
}

Status checkOperands(const char *op, const Inputs &inputs, size_t numRequired,
                     const Outputs &outputs, size_t numOutputs, bool checkOptional) {
  if (inputs.size() < numRequired)
    return fail(op, "expected " + std::to_string(numRequired) + " operands, got " +
                        std::to_string(inputs.size()));
  const size_t numChecked = checkOptional ? inputs.size() : numRequired;
  for (size_t i = 0; i < numChecked; ++i) {
    if (!inputs[i]) {
      if (i < numRequired)
        return fail(op, "operand " + std::to_string(i) + " is missing");
      continue;
    }
    if (!isKnownDType(inputs[i]->dtype))
      return fail(op, "operand " + std::to_string(i) + " has an unknown dtype");
    if (!inputs[i]->data && inputs[i]->numel() > 0)
      return fail(op, "operand " + std::to_string(i) + " has no data");
  }
  if (outputs.size() < numOutputs)
    return fail(op, "expected " + std::to_string(numOutputs) + " results, got " +
                        std::to_string(outputs.size()));
  for (size_t i = 0; i < numOutputs; ++i) {
    if (!outputs[i])
      return fail(op, "result " + std::to_string(i) + " is missing");
    if (!isKnownDType(outputs[i]->dtype))
      return fail(op, "result " + std::to_string(i) + " has an unknown dtype");
    if (!outputs[i]->data && outputs[i]->numel() > 0)
      return fail(op, "result " + std::to_string(i) + " has no data");
  }
  return Status();
}

std::string shapeText(const std::vector<int64_t> &shape, const char *separator) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += separator;
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

double loadAsDouble(const Tensor &t, int64_t i) {
  switch (t.dtype) {
  case DS_F32: return t.as<float>()[i];
  case DS_F64: return t.as<double>()[i];
  case DS_F16: return halfToFloat(t.as<uint16_t>()[i]);
  case DS_BF16: return bf16ToFloat(t.as<uint16_t>()[i]);
  case DS_I64: return (double)t.as<int64_t>()[i];
  case DS_I32: return t.as<int32_t>()[i];
  case DS_I16: return t.as<int16_t>()[i];
  case DS_I8: case DS_I4: case DS_I2: return t.as<int8_t>()[i];
  case DS_U64: return (double)t.as<uint64_t>()[i];
  case DS_U32: return t.as<uint32_t>()[i];
  case DS_U16: return t.as<uint16_t>()[i];
  case DS_U8: case DS_U4: case DS_U2: case DS_BOOL: return t.as<uint8_t>()[i];
  default: return 0; // float8: converted by the quantization kernels
  }
}

int64_t loadAsInt(const Tensor &t, int64_t i) {
  switch (t.dtype) {
  case DS_I64: return t.as<int64_t>()[i];
  case DS_I32: return t.as<int32_t>()[i];
  case DS_I16: return t.as<int16_t>()[i];
  case DS_I8: case DS_I4: case DS_I2: return t.as<int8_t>()[i];
  case DS_U64: return (int64_t)t.as<uint64_t>()[i];
  case DS_U32: return t.as<uint32_t>()[i];
  case DS_U16: return t.as<uint16_t>()[i];
  case DS_U8: case DS_U4: case DS_U2: case DS_BOOL: return t.as<uint8_t>()[i];
  default: return (int64_t)loadAsDouble(t, i);
  }
}

void storeDouble(Tensor &t, int64_t i, double v) {
  switch (t.dtype) {
  case DS_F32: t.as<float>()[i] = (float)v; return;
  case DS_F64: t.as<double>()[i] = v; return;
  case DS_F16: t.as<uint16_t>()[i] = floatToHalf((float)v); return;
  case DS_BF16: t.as<uint16_t>()[i] = floatToBf16((float)v); return;
  case DS_BOOL: t.as<uint8_t>()[i] = v != 0; return;
  default: storeInt(t, i, std::isfinite(v) ? (int64_t)v : 0); return;
  }
}

void storeInt(Tensor &t, int64_t i, int64_t v) {
  switch (t.dtype) {
  case DS_I64: t.as<int64_t>()[i] = v; return;
  case DS_I32: t.as<int32_t>()[i] = (int32_t)v; return;
  case DS_I16: t.as<int16_t>()[i] = (int16_t)v; return;
  case DS_I8: t.as<int8_t>()[i] = (int8_t)v; return;
  case DS_I4: t.as<int8_t>()[i] = (int8_t)(((v & 0xf) ^ 0x8) - 0x8); return;
  case DS_I2: t.as<int8_t>()[i] = (int8_t)(((v & 0x3) ^ 0x2) - 0x2); return;
  case DS_U64: t.as<uint64_t>()[i] = (uint64_t)v; return;
  case DS_U32: t.as<uint32_t>()[i] = (uint32_t)v; return;
  case DS_U16: t.as<uint16_t>()[i] = (uint16_t)v; return;
  case DS_U8: t.as<uint8_t>()[i] = (uint8_t)v; return;
  case DS_U4: t.as<uint8_t>()[i] = (uint8_t)(v & 0xf); return;
  case DS_U2: t.as<uint8_t>()[i] = (uint8_t)(v & 0x3); return;
  case DS_BOOL: t.as<uint8_t>()[i] = v != 0; return;
  default: storeDouble(t, i, (double)v); return;
  }
}

std::vector<int64_t> stridesOf(const std::vector<int64_t> &shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int64_t d = (int64_t)shape.size() - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

std::vector<int64_t> broadcastStrides(const std::vector<int64_t> &shape,
                                      const std::vector<int64_t> &outShape) {
  std::vector<int64_t> own = stridesOf(shape);
  std::vector<int64_t> out(outShape.size(), 0);
  size_t offset = outShape.size() - shape.size();
  for (size_t d = 0; d < shape.size(); ++d)
    out[d + offset] = shape[d] == 1 ? 0 : own[d];
  return out;
}

} // namespace dsrt::cpu
