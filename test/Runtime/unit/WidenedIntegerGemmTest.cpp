//===- WidenedIntegerGemmTest.cpp - exact 8-bit GEMM on AVX2 --------------===//
//
// cpu/WidenedIntegerGemm must give the exact i32 sums of (a - za[i]) *
// (b - zb[j]) that MatMulInteger / ConvInteger define, wrapping past 2^31:
// u8 and s8 rows, zero points at the ends of their range (each difference
// needs all 9 bits of its 16), odd K and K = 0, rows that leave a short
// register block, columns that leave a short panel, strided operands, tasks
// of one or more panels, and a K long enough to wrap. Through ds.matmul_integer and ds.conv_integer
// it is the path of CPUs with AVX2 and no VNNI, where their own tests check it. Skipped where the
// CPU has no AVX2.
//
//===----------------------------------------------------------------------===//
#include "cpu/WidenedIntegerGemm.h"
#include "KernelTestUtils.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace {
using namespace dsrt;
using namespace dsrt::cpu;

struct Case {
  int64_t M, K, N;
  bool aSigned;
  int64_t lda, ldb, ldc; ///< at least K, N, N
};

/// Random operands (or the range's extremes), the widened GEMM with tasks
/// of `chunk` panels (0: one task; -1: nested), and the scalar wrapping
/// sums; what lies past N in each row of C must be left as it was.
void check(const Case &k, int64_t chunk, bool extremes, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  auto pick = [&](int lo, int hi) {
    if (extremes)
      return byte(rng) & 1 ? hi : lo;
    return lo + byte(rng) % (hi - lo + 1);
  };
  std::vector<uint8_t> a((size_t)(k.M * k.lda));
  for (auto &v : a)
    v = (uint8_t)pick(0, 255); // raw bytes: s8 or u8 by k.aSigned
  std::vector<int8_t> b((size_t)(k.K * k.ldb));
  for (auto &v : b)
    v = (int8_t)pick(-128, 127);
  std::vector<int> za((size_t)k.M), zb((size_t)k.N);
  for (auto &z : za)
    z = k.aSigned ? pick(-128, 127) : pick(0, 255);
  for (auto &z : zb)
    z = pick(-128, 127);
  // With extremes, a's values and zero points are opposite ends (a - za =
  // -255), and so are b's in even columns (b - zb = -255 there: their sums
  // grow by 65025 a step).
  if (extremes) {
    for (int64_t i = 0; i < k.M; ++i) {
      za[(size_t)i] = k.aSigned ? 127 : 255;
      for (int64_t q = 0; q < k.K; ++q)
        a[(size_t)(i * k.lda + q)] = k.aSigned ? (uint8_t)(int8_t)-128 : 0;
    }
    for (int64_t j = 0; j < k.N; j += 2) {
      zb[(size_t)j] = 127;
      for (int64_t q = 0; q < k.K; ++q)
        b[(size_t)(q * k.ldb + j)] = -128;
    }
  }
  const int32_t sentinel = 0x5a5a5a5a;
  std::vector<int32_t> c((size_t)(k.M * k.ldc), sentinel);
  WidenedGemmOperands op;
  op.a = a.data(), op.aSigned = k.aSigned, op.lda = k.lda, op.za = za.data();
  op.b = b.data(), op.ldb = k.ldb, op.zb = zb.data();
  op.c = c.data(), op.ldc = k.ldc, op.M = k.M, op.K = k.K, op.N = k.N;
  KernelContext ctx = test::chunkedContext(std::max<int64_t>(chunk, 0));
  widenedIntegerGemm(ctx, /*nested=*/chunk < 0, op);
  for (int64_t i = 0; i < k.M; ++i)
    for (int64_t j = 0; j < k.ldc; ++j) {
      int32_t got = c[(size_t)(i * k.ldc + j)];
      if (j >= k.N) {
        ASSERT_EQ(got, sentinel) << "wrote past column " << k.N << " at " << i << ", " << j;
        continue;
      }
      uint32_t sum = 0;
      for (int64_t q = 0; q < k.K; ++q) {
        uint8_t raw = a[(size_t)(i * k.lda + q)];
        int av = (k.aSigned ? (int)(int8_t)raw : (int)raw) - za[(size_t)i];
        int bv = (int)b[(size_t)(q * k.ldb + j)] - zb[(size_t)j];
        sum += (uint32_t)(av * bv);
      }
      ASSERT_EQ(got, (int32_t)sum)
          << "row " << i << " column " << j << " (M " << k.M << " K " << k.K << " N " << k.N << ")";
    }
}

class WidenedIntegerGemm : public ::testing::Test {
protected:
  void SetUp() override {
    if (!widenedIntegerGemmAvailable())
      GTEST_SKIP() << "no AVX2 on this CPU";
  }
};

TEST_F(WidenedIntegerGemm, ExactForEveryShapeTail) {
  uint32_t seed = 1;
  for (bool aSigned : {false, true})
    for (int64_t M : {1, 3, 4, 5, 9})
      for (int64_t K : {1, 2, 7, 64, 577})
        for (int64_t N : {1, 15, 16, 17, 40})
          check({M, K, N, aSigned, K, N, N}, /*chunk=*/1, /*extremes=*/false, seed++);
}

TEST_F(WidenedIntegerGemm, ZeroPointsAtTheEndsOfTheirRange) {
  // |a - za| = 255 and |b - zb| up to 255: the largest 16-bit products.
  check({5, 33, 20, false, 33, 20, 20}, 0, /*extremes=*/true, 7);
  check({5, 33, 20, true, 33, 20, 20}, 0, /*extremes=*/true, 8);
}

TEST_F(WidenedIntegerGemm, StridesAndTasks) {
  // Operands and result with row strides past their width.
  check({13, 45, 23, false, 50, 31, 29}, 0, false, 11);
  check({13, 45, 23, true, 50, 31, 29}, -1, false, 12);
  // Tasks of 1, 2 and 3 panels over 7 panels (the last a short one), and
  // nested: M * K * 16 = 2^20 multiply-adds a panel, the grain's one panel.
  for (int64_t chunk : {1, 2, 3, -1})
    check({8, 8192, 103, false, 8192, 103, 103}, chunk, false, 13 + (uint32_t)chunk);
}

TEST_F(WidenedIntegerGemm, EmptySumsAreZero) { check({3, 0, 20, false, 1, 20, 24}, 0, false, 31); }

TEST_F(WidenedIntegerGemm, WrapsPastTwoToTheThirtyOne) {
  // 40000 products of 255 * 255 pass 2^31 (column 0): the sums wrap as i32
  // ones do.
  check({2, 40000, 3, false, 40000, 3, 3}, 0, /*extremes=*/true, 21);
}

} // namespace
