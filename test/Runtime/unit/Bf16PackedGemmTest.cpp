//===- Bf16PackedGemmTest.cpp - bf16 GEMM on packed weights ---------------===//
//
// cpu/Bf16PackedGemm must give each result within the error of an f32 sum
// over k rounded to bf16 once (against a double reference), put NaN and
// inf where the reference has them, and give the same bits on any thread
// count or nesting; at short row tiles, odd k and short column panels;
// through ds.matmul too (weights found by address, a batched lhs). Skipped
// where the CPU has no AVX512-BF16.
//
//===----------------------------------------------------------------------===//
#include "cpu/Bf16PackedGemm.h"
#include "KernelTestUtils.h"
#include "cpu/Gemm.h"
#include "cpu/PackedConstants.h"
#include "cpu/PackedGemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace {
using namespace dsrt;
using namespace dsrt::test;

std::vector<uint16_t> bf16Values(size_t n, uint32_t seed) {
  std::vector<uint16_t> v(n);
  const std::vector<float> f = randomFloats(n, seed);
  for (size_t i = 0; i < n; ++i)
    v[i] = cpu::floatToBf16(4.0f * f[i]);
  return v;
}

/// Checks C (bf16) against sum_k A B in double: within one bf16 rounding
/// of the result plus K f32 roundings of the terms' magnitude; NaN / inf
/// where the reference has them.
void expectProduct(const std::vector<uint16_t> &C, const std::vector<uint16_t> &A,
                   const std::vector<uint16_t> &B, int64_t M, int64_t K, int64_t N,
                   const std::string &what) {
  size_t bad = 0;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double ref = 0, magnitude = 0;
      for (int64_t k = 0; k < K; ++k) {
        const double t = (double)cpu::bf16ToFloat(A[(size_t)(i * K + k)]) *
                         (double)cpu::bf16ToFloat(B[(size_t)(k * N + j)]);
        ref += t;
        magnitude += std::fabs(t);
      }
      const double got = cpu::bf16ToFloat(C[(size_t)(i * N + j)]);
      bool ok;
      if (std::isnan(ref) || std::isnan(magnitude))
        ok = std::isnan(got);
      else if (std::isinf(ref))
        ok = got == ref;
      else
        ok = std::isfinite(got) &&
             std::fabs(got - ref) <= std::fabs(ref) * 0x1p-8 + magnitude * (double)K * 0x1p-23;
      if (!ok && bad++ < 5)
        ADD_FAILURE() << what << " [" << i << "][" << j << "]: " << got << " vs " << ref;
    }
  EXPECT_EQ(bad, 0u) << what;
}

TEST(Bf16PackedGemm, WithinOneRoundingOfTheProduct) {
  if (!cpu::bf16GemmAvailable())
    GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  struct Case {
    int64_t M, K, N;
  };
  const Case cases[] = {{1, 64, 64},   {2, 7, 33},    {5, 130, 200}, {6, 3, 1},    {13, 257, 65},
                        {37, 96, 130}, {64, 1, 17},   {3, 2048, 96}, {128, 768, 70}, {4, 0, 9}};
  for (const Case &c : cases) {
    const std::string what =
        std::to_string(c.M) + "x" + std::to_string(c.K) + "x" + std::to_string(c.N);
    std::vector<uint16_t> A = bf16Values((size_t)(c.M * c.K), 11), B = bf16Values((size_t)(c.K * c.N), 12);
    if (c.K > 2 && c.M > 1 && c.N > 2) {
      A[(size_t)(1 * c.K + 2)] = cpu::floatToBf16(NAN);       // row 1: NaN
      B[(size_t)(0 * c.N + 2)] = cpu::floatToBf16(INFINITY);  // column 2: inf or NaN
    }
    cpu::PackedBf16Matrix packed;
    ASSERT_TRUE(cpu::packBf16Matrix(B.data(), c.K, c.N, packed));
    std::vector<uint16_t> first;
    for (bool nested : {false, true})
      for (KernelContext ctx : {serialContext(), chunkedContext(3)}) {
        std::vector<uint16_t> C((size_t)(c.M * c.N), 0x7777);
        cpu::bf16PackedGemm(ctx, nested, packed, A.data(), c.M, c.K, C.data(), c.N);
        if (first.empty()) {
          expectProduct(C, A, B, c.M, c.K, c.N, what);
          first = C;
        } else {
          EXPECT_EQ(C, first) << what << ": the same bits on any split";
        }
      }
  }
}

TEST(Bf16PackedGemm, ThroughMatmul) {
  if (!cpu::bf16GemmAvailable())
    GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  const int64_t Bt = 3, M = 5, K = 45, N = 70;
  const std::vector<uint16_t> A = bf16Values((size_t)(Bt * M * K), 21);
  std::vector<uint16_t> W = bf16Values((size_t)(K * N), 22);
  const std::vector<uint16_t> original = W;
  cpu::PackedConstants constants;
  ASSERT_TRUE(constants.addBf16Matrix(W.data(), K, N));
  for (uint16_t &w : W) // the packed copy is read, not these bytes
    w = cpu::floatToBf16(1e6f);
  Tensors ts;
  Tensor *a = ts.make<uint16_t>(DS_BF16, {Bt, M, K}, A);
  Tensor *b = ts.make<uint16_t>(DS_BF16, {K, N}, W);
  b->data = W.data(); // the address the packed copy is found by
  Tensor *y = ts.empty(DS_BF16, {Bt, M, N});
  KernelContext ctx = chunkedContext(2);
  ctx.packed = &constants;
  Status s = run("ds.matmul", {}, {a, b}, {y}, ctx);
  ASSERT_TRUE(s.ok()) << s.message();
  expectProduct(values<uint16_t>(y), A, original, Bt * M, K, N, "ds.matmul bf16");
}

TEST(ThreadStorage, NestedScopesGetTheirOwnVectors) {
  cpu::ThreadStorage<float, 2> outer;
  outer[0].assign(1000, 1.0f);
  const float *kept = outer[0].data();
  {
    cpu::ThreadStorage<float, 2> inner;
    EXPECT_TRUE(inner[0].empty());
    inner[0].assign(10, 2.0f);
  }
  EXPECT_EQ(outer[0].data(), kept);
  EXPECT_EQ(outer[0][999], 1.0f);
}

} // namespace
