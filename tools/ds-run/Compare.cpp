//===- Compare.cpp - element decoding and comparison with expected outputs ===//
#include "Compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

namespace dsrun {
namespace {
/// A small float with `mbits` mantissa bits and exponent bias `bias`; the
/// caller handles the kind's NaN and infinity encodings first.
double minifloat(uint32_t bits, int ebits, int mbits, int bias) {
  bool negative = bits >> (ebits + mbits) & 1;
  int e = (int)(bits >> mbits) & ((1 << ebits) - 1);
  double m = bits & ((1u << mbits) - 1);
  double v = e == 0 ? std::ldexp(m, 1 - bias - mbits)
                    : std::ldexp(1.0 + m / (double)(1u << mbits), e - bias);
  return negative ? -v : v;
}

double decodeF16(uint16_t h) {
  if ((h & 0x7c00) == 0x7c00)
    return (h & 0x3ff) ? NAN : (h & 0x8000) ? -INFINITY : INFINITY;
  return minifloat(h, 5, 10, 15);
}

double decodeBF16(uint16_t b) {
  uint32_t u = (uint32_t)b << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

double decodeF8(uint8_t b, ds_dtype dtype) {
  switch (dtype) {
  case DS_F8E4M3FN: // no infinities; S.1111.111 is NaN
    return (b & 0x7f) == 0x7f ? NAN : minifloat(b, 4, 3, 7);
  case DS_F8E4M3FNUZ: // no infinities, no -0; 0x80 is NaN
    return b == 0x80 ? NAN : minifloat(b, 4, 3, 8);
  case DS_F8E5M2: // IEEE-like
    if ((b & 0x7c) == 0x7c)
      return (b & 3) ? NAN : (b & 0x80) ? -INFINITY : INFINITY;
    return minifloat(b, 5, 2, 15);
  case DS_F8E5M2FNUZ:
    return b == 0x80 ? NAN : minifloat(b, 5, 2, 16);
  default:
    return NAN;
  }
}

template <typename T> T load(const void *data, size_t i) {
  T v;
  std::memcpy(&v, (const char *)data + i * sizeof(T), sizeof(T));
  return v;
}

/// Integers compare exactly, without a trip through double.
bool sameInteger(const void *a, const void *b, ds_dtype dtype, size_t i) {
  switch (dtype) {
  case DS_BOOL: return (load<uint8_t>(a, i) != 0) == (load<uint8_t>(b, i) != 0);
  case DS_I64: case DS_U64: return load<uint64_t>(a, i) == load<uint64_t>(b, i);
  case DS_I32: case DS_U32: return load<uint32_t>(a, i) == load<uint32_t>(b, i);
  case DS_I16: case DS_U16: return load<uint16_t>(a, i) == load<uint16_t>(b, i);
  default: return load<uint8_t>(a, i) == load<uint8_t>(b, i);
  }
}

std::string valueText(const void *data, ds_dtype dtype, size_t i) {
  char buf[64];
  if (dtype == DS_I64)
    std::snprintf(buf, sizeof buf, "%lld", (long long)load<int64_t>(data, i));
  else if (dtype == DS_U64)
    std::snprintf(buf, sizeof buf, "%llu", (unsigned long long)load<uint64_t>(data, i));
  else // enough digits to round-trip the type: 9 for f32 and narrower, 17 for f64
    std::snprintf(buf, sizeof buf, dtype == DS_F64 ? "%.17g" : "%.9g",
                  elementAsDouble(data, dtype, i));
  return buf;
}

std::string indexText(size_t flat, const std::vector<int64_t> &dims) {
  std::string s;
  for (size_t k = dims.size(); k-- > 0;) {
    uint64_t d = dims[k] > 0 ? (uint64_t)dims[k] : 1;
    s = std::to_string(flat % d) + (s.empty() ? "" : ",") + s;
    flat /= d;
  }
  return "[" + s + "]";
}

std::string typeText(ds_dtype dtype, const std::vector<int64_t> &dims) {
  std::string s = std::string(ds_dtype_name(dtype)) + "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? "x" : "") + std::to_string(dims[i]);
  return s + (dims.empty() ? "scalar]" : "]");
}
} // namespace

bool isFloatType(ds_dtype d) {
  return d == DS_F32 || d == DS_F64 || d == DS_F16 || d == DS_BF16 || d == DS_F8E4M3FN ||
         d == DS_F8E5M2 || d == DS_F8E4M3FNUZ || d == DS_F8E5M2FNUZ;
}

double elementAsDouble(const void *data, ds_dtype dtype, size_t i) {
  switch (dtype) {
  case DS_F32: return load<float>(data, i);
  case DS_F64: return load<double>(data, i);
  case DS_F16: return decodeF16(load<uint16_t>(data, i));
  case DS_BF16: return decodeBF16(load<uint16_t>(data, i));
  case DS_F8E4M3FN: case DS_F8E5M2: case DS_F8E4M3FNUZ: case DS_F8E5M2FNUZ:
    return decodeF8(load<uint8_t>(data, i), dtype);
  case DS_I64: return (double)load<int64_t>(data, i);
  case DS_I32: return load<int32_t>(data, i);
  case DS_I16: return load<int16_t>(data, i);
  case DS_I8: case DS_I4: case DS_I2: return load<int8_t>(data, i);
  case DS_U64: return (double)load<uint64_t>(data, i);
  case DS_U32: return load<uint32_t>(data, i);
  case DS_U16: return load<uint16_t>(data, i);
  case DS_U8: case DS_U4: case DS_U2: return load<uint8_t>(data, i);
  case DS_BOOL: return load<uint8_t>(data, i) != 0;
  }
  return NAN;
}

bool compareTensor(const ds_tensor &got, const HostTensor &expected, double rtol, double atol,
                   std::string &report) {
  std::vector<int64_t> dims(got.dims, got.dims + got.rank);
  if (got.dtype != expected.dtype || dims != expected.dims) {
    report = "got " + typeText(got.dtype, dims) + ", expected " +
             typeText(expected.dtype, expected.dims);
    return false;
  }
  size_t width = ds_dtype_size(got.dtype);
  size_t n = expected.data.size() / (width ? width : 1);
  if (!width || got.byte_size != expected.data.size()) {
    report = "got " + std::to_string(got.byte_size) + " bytes, expected " +
             std::to_string(expected.data.size());
    return false;
  }
  const size_t kShown = 5;
  size_t bad = 0;
  double worst = 0;
  std::string lines;
  bool isFloat = isFloatType(got.dtype);
  for (size_t i = 0; i < n; ++i) {
    bool ok;
    if (isFloat) {
      double a = elementAsDouble(got.data, got.dtype, i);
      double e = elementAsDouble(expected.data.data(), expected.dtype, i);
      if (std::isnan(e) || std::isnan(a))
        ok = std::isnan(e) && std::isnan(a);
      else if (std::isinf(e) || std::isinf(a))
        ok = a == e;
      else {
        double diff = std::fabs(a - e);
        ok = diff <= atol + rtol * std::fabs(e);
        if (!ok)
          worst = std::max(worst, diff);
      }
    } else {
      ok = sameInteger(got.data, expected.data.data(), got.dtype, i);
    }
    if (ok)
      continue;
    if (++bad <= kShown)
      lines += "\n  at " + indexText(i, dims) + " (element " + std::to_string(i) + "): got " +
               valueText(got.data, got.dtype, i) + ", expected " +
               valueText(expected.data.data(), expected.dtype, i);
  }
  if (!bad)
    return true;
  char head[160];
  std::snprintf(head, sizeof head, "%zu of %zu elements differ", bad, n);
  report = head;
  if (worst > 0) {
    std::snprintf(head, sizeof head, " (worst finite |diff| %.3g)", worst);
    report += head;
  }
  report += lines;
  return false;
}

} // namespace dsrun
