//===- IntegerPackedGemmTest.cpp - 8-bit GEMM on packed weights -----------===//
//
// cpu/IntegerPackedGemm must give the exact i32 sums of (a - za) * b that
// ONNX's MatMulInteger defines for u8 and s8 lhs rows, at every row count
// (short tiles of 1-5 rows), k not a multiple of four and column counts
// that leave a short panel; through ds.matmul_integer too, with a batched
// lhs, and with a weight zero point (the path for unpacked weights).
// Skipped where the CPU has no AVX-512 VNNI.
//
//===----------------------------------------------------------------------===//
#include "cpu/IntegerPackedGemm.h"
#include "KernelTestUtils.h"
#include "cpu/PackedGemm.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {
using namespace dsrt;
using namespace dsrt::test;

/// sum_k (a - za)(b - zb) per output, wrapping in 32 bits.
std::vector<int32_t> exactGemm(const std::vector<uint8_t> &a, bool aSigned, int za,
                               const std::vector<uint8_t> &b, int zb, int64_t M, int64_t K,
                               int64_t N) {
  std::vector<int32_t> c((size_t)(M * N));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      uint32_t acc = 0;
      for (int64_t k = 0; k < K; ++k) {
        const int av = aSigned ? (int)(int8_t)a[(size_t)(i * K + k)] : (int)a[(size_t)(i * K + k)];
        acc += (uint32_t)((av - za) * ((int)(int8_t)b[(size_t)(k * N + j)] - zb));
      }
      c[(size_t)(i * N + j)] = (int32_t)acc;
    }
  return c;
}

TEST(IntegerPackedGemm, EqualsTheExactSums) {
  if (!cpu::integerVnniKernelsAvailable())
    GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  struct Case {
    int64_t M, K, N;
  };
  const Case cases[] = {{1, 64, 64},  {2, 7, 33},   {5, 130, 200}, {6, 3, 1},
                        {13, 257, 65}, {37, 96, 130}, {64, 1, 17},  {3, 2048, 96}};
  for (const Case &c : cases)
    for (bool aSigned : {false, true}) {
      const std::string what = std::to_string(c.M) + "x" + std::to_string(c.K) + "x" +
                               std::to_string(c.N) + (aSigned ? " s8" : " u8");
      const auto av = randomBytes((size_t)(c.M * c.K), 81), bv = randomBytes((size_t)(c.K * c.N), 82);
      cpu::PackedInt8Matrix packed;
      ASSERT_TRUE(cpu::packInt8Matrix(reinterpret_cast<const int8_t *>(bv.data()), c.K, c.N, packed));
      for (int za : aSigned ? std::vector<int>{-128, 0, 101} : std::vector<int>{0, 255, 77}) {
        const std::vector<int32_t> want = exactGemm(av, aSigned, za, bv, 0, c.M, c.K, c.N);
        for (bool nested : {false, true})
          for (KernelContext ctx : {serialContext(), chunkedContext(3)}) {
            std::vector<int32_t> got((size_t)(c.M * c.N), -7);
            cpu::integerPackedGemm(ctx, nested, packed, av.data(), aSigned, za, c.M, c.K,
                                   got.data(), c.N);
            ASSERT_EQ(got, want) << what << " za " << za << (nested ? " nested" : "");
          }
      }
    }
}

TEST(IntegerPackedGemm, ThroughMatmulInteger) {
  if (!cpu::integerVnniKernelsAvailable())
    GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  const int64_t B = 3, M = 5, K = 45, N = 70;
  const auto av = randomBytes((size_t)(B * M * K), 91);
  auto bv = randomBytes((size_t)(K * N), 92);
  const std::vector<uint8_t> original = bv;
  cpu::PackedConstants constants;
  ASSERT_TRUE(constants.addInt8Matrix(reinterpret_cast<const int8_t *>(bv.data()), K, N));
  // Without a weight zero point (absent or 0) the packed copy is read: the
  // artifact's bytes, changed after packing, must not matter. With one the
  // oneDNN path reads them (restored).
  for (const int8_t *zb : {(const int8_t *)nullptr, (const int8_t *)"\x00", (const int8_t *)"\xfd"}) {
    bv = original;
    if (!zb || *zb == 0)
      for (uint8_t &x : bv)
        x = (uint8_t)(x ^ 0x5a);
    Tensors ts;
    Tensor *a = ts.make<uint8_t>(DS_U8, {B, M, K}, av);
    Tensor *b = ts.make<uint8_t>(DS_I8, {K, N}, bv);
    b->data = const_cast<uint8_t *>(bv.data()); // the address the packed copy is found by
    Tensor *za = ts.make<uint8_t>(DS_U8, {}, {200});
    Tensor *zbt = zb ? ts.make<uint8_t>(DS_I8, {}, {(uint8_t)*zb}) : nullptr;
    std::vector<int32_t> want;
    for (int64_t i = 0; i < B; ++i) {
      std::vector<uint8_t> rows(av.begin() + i * M * K, av.begin() + (i + 1) * M * K);
      auto part = exactGemm(rows, false, 200, original, zb ? *zb : 0, M, K, N);
      want.insert(want.end(), part.begin(), part.end());
    }
    for (KernelContext ctx : {serialContext(), chunkedContext(2)}) {
      ctx.packed = &constants;
      Tensor *y = ts.empty(DS_I32, {B, M, N});
      Status s = run("ds.matmul_integer", {}, {a, b, za, zbt}, {y}, ctx);
      ASSERT_TRUE(s.ok()) << s.message();
      EXPECT_EQ(values<int32_t>(y), want) << "weight zero point " << (zb ? (int)*zb : 0);
    }
  }
}

} // namespace
