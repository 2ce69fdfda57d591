//===- HalfConversionTest.cpp - runs of f16 / bf16 conversions ------------===//
//
// The run conversions (F16C for f16, vectorized loops for bf16) against the
// scalar ones the kernels used before: every f16 value, and f32 values at
// every rounding boundary kind (ties to even, subnormal results, overflow
// to infinity), at lengths that leave a tail after the 8-wide blocks.
//
//===----------------------------------------------------------------------===//
#include "cpu/KernelUtils.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

using namespace dsrt::cpu;

namespace {
float fromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// Floats around every f16 rounding boundary: each f16 value's f32 image,
/// the midpoints between neighbours (ties), and one f32 ulp either side.
std::vector<float> boundaryFloats() {
  std::vector<float> out;
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    float lo = halfToFloat((uint16_t)h), hi = halfToFloat((uint16_t)(h + 1));
    float mid = lo + (hi - lo) / 2;
    for (float v : {lo, mid, std::nextafter(mid, 0.0f), std::nextafter(mid, INFINITY)}) {
      out.push_back(v);
      out.push_back(-v);
    }
  }
  for (float v : {65504.0f, 65519.0f, 65520.0f, 1e10f, INFINITY, 1e-8f, 3e-8f, 6e-8f})
    for (float s : {1.0f, -1.0f})
      out.push_back(s * v);
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> bits;
  for (int i = 0; i < 100000; ++i) {
    float v = fromBits(bits(rng));
    if (!std::isnan(v))
      out.push_back(v);
  }
  out.push_back(1.0f); // an odd length: a tail after the blocks
  return out;
}
} // namespace

TEST(HalfConversion, EveryHalfWidensAsTheScalarDoes) {
  std::vector<uint16_t> all(65536 + 3);
  for (size_t i = 0; i < all.size(); ++i)
    all[i] = (uint16_t)i;
  std::vector<float> got(all.size());
  halfToFloatN(all.data(), got.data(), (int64_t)all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    float want = halfToFloat(all[i]);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got[i])) << std::hex << all[i];
      continue;
    }
    uint32_t a, b;
    std::memcpy(&a, &got[i], 4);
    std::memcpy(&b, &want, 4);
    ASSERT_EQ(a, b) << "f16 bits 0x" << std::hex << all[i];
  }
}

TEST(HalfConversion, FloatsRoundToHalfAsTheScalarDoes) {
  std::vector<float> in = boundaryFloats();
  std::vector<uint16_t> got(in.size());
  floatToHalfN(in.data(), got.data(), (int64_t)in.size());
  for (size_t i = 0; i < in.size(); ++i)
    ASSERT_EQ(got[i], floatToHalf(in[i])) << in[i];
  // NaN stays NaN (the payload may differ).
  float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> nans(9, nan);
  std::vector<uint16_t> out(9);
  floatToHalfN(nans.data(), out.data(), 9);
  for (uint16_t h : out)
    EXPECT_TRUE(std::isnan(halfToFloat(h)));
}

TEST(HalfConversion, Bf16RunsMatchTheScalar) {
  std::vector<float> in = boundaryFloats();
  std::vector<uint16_t> narrowed(in.size());
  floatToBf16N(in.data(), narrowed.data(), (int64_t)in.size());
  std::vector<float> widened(in.size());
  bf16ToFloatN(narrowed.data(), widened.data(), (int64_t)in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    ASSERT_EQ(narrowed[i], floatToBf16(in[i])) << in[i];
    float want = bf16ToFloat(narrowed[i]);
    ASSERT_EQ(std::memcmp(&widened[i], &want, 4), 0) << in[i];
  }
}
