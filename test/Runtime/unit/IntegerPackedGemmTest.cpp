//===- IntegerPackedGemmTest.cpp - 8-bit GEMM on packed weights -----------===//
//
// cpu/IntegerPackedGemm must give the exact i32 sums of (a - za) * b that
// ONNX's MatMulInteger defines for u8 and s8 lhs rows, at every row count
// (short tiles of 1-5 rows), k not a multiple of four and column counts
// that leave a short panel; through ds.matmul_integer too, with a batched
// lhs, and with a weight zero point (the path for unpacked weights). With
// a store epilogue (cpu/StoreEpilogue.h, channels last) the chain after the
// sums must give what the steps' own kernels give on the whole i32 result,
// bit for bit (the VNNI build's). Each build the CPU runs is tested (the
// AVX2 one on VNNI machines too); skipped where it runs none.
//
//===----------------------------------------------------------------------===//
#include "cpu/IntegerPackedGemm.h"
#include "KernelTestUtils.h"
#include "cpu/PackedConstants.h"
#include "cpu/PackedGemm.h"

#include <gtest/gtest.h>

#include "cpu/Kernels.h"
#include "cpu/StoreEpilogue.h"

#include <cmath>
#include <cstdint>
#include <cstring>
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
  if (cpu::integerPackedGemmIsa() == cpu::VectorIsa::None)
    GTEST_SKIP() << "neither AVX-512 VNNI nor AVX2 on this CPU";
  struct Case {
    int64_t M, K, N;
  };
  const Case cases[] = {{1, 64, 64},   {2, 7, 33},    {5, 130, 200}, {6, 3, 1},
                        {13, 257, 65}, {37, 96, 130}, {64, 1, 17},   {3, 2048, 96},
                        {7, 1030, 9},  {12, 600, 24}, {4, 0, 10}};
  // Extremes as well as random bytes: 255 (u8) or -128 (s8) less the
  // opposite zero point against -128 weights, the pairs vpmaddubsw would
  // saturate.
  std::vector<uint8_t> extremes(4096);
  for (size_t i = 0; i < extremes.size(); ++i)
    extremes[i] = (i * 7919) % 5 ? 0x80 : 0x7f;
  for (cpu::VectorIsa isa : {cpu::VectorIsa::Avx512, cpu::VectorIsa::Avx2}) {
    if (!cpu::integerPackedGemmRuns(isa))
      continue;
    const char *build = isa == cpu::VectorIsa::Avx2 ? " (AVX2)" : " (VNNI)";
    for (const Case &c : cases)
      for (bool aSigned : {false, true})
        for (bool extreme : {false, true}) {
          const std::string what = std::to_string(c.M) + "x" + std::to_string(c.K) + "x" +
                                   std::to_string(c.N) + (aSigned ? " s8" : " u8") +
                                   (extreme ? " extremes" : "") + build;
          auto av = randomBytes((size_t)(c.M * c.K), 81), bv = randomBytes((size_t)(c.K * c.N), 82);
          if (extreme) {
            for (size_t i = 0; i < av.size(); ++i)
              av[i] = aSigned ? 0x80 : 0xff;
            for (size_t i = 0; i < bv.size(); ++i)
              bv[i] = extremes[i % extremes.size()];
          }
          cpu::PackedInt8Matrix packed;
          ASSERT_TRUE(cpu::packInt8Matrix(reinterpret_cast<const int8_t *>(bv.data()), c.K, c.N,
                                          packed, isa));
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
}

TEST(IntegerPackedGemm, ThroughMatmulInteger) {
  if (cpu::integerPackedGemmIsa() == cpu::VectorIsa::None)
    GTEST_SKIP() << "neither AVX-512 VNNI nor AVX2 on this CPU";
  const int64_t B = 3, M = 5, K = 45, N = 70;
  const auto av = randomBytes((size_t)(B * M * K), 91);
  auto bv = randomBytes((size_t)(K * N), 92);
  const std::vector<uint8_t> original = bv;
  cpu::PackedConstants constants;
  ASSERT_TRUE(constants.addInt8Matrix(reinterpret_cast<const int8_t *>(bv.data()), K, N));
  // Without a weight zero point (absent or 0) the packed copy is read: the
  // artifact's bytes, changed after packing, must not matter. With one the
  // unpacked path (oneDNN's with VNNI, the widened GEMM on AVX2) reads them
  // (restored).
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

/// A quantized transformer's chains with every operand kind a matmul's
/// result meets: scale per column (one NaN, one inf, one 0) from a [N]
/// tensor, bias from a [1, N] one, a GELU (exact or tanh) or a SiLU
/// written as x * sigmoid(x) (kept), a
/// residual added from the left (kept), a scalar divisor, quantize to u8
/// (kept). The reference runs each step's CPU kernel over whole tensors;
/// the chain runs in integerPackedGemm's store and through
/// ds.matmul_integer's epilogue entry (a batched lhs: rows run on across
/// the batch).
TEST(IntegerPackedGemm, StoreEpilogueEqualsTheStepsKernels) {
  if (!cpu::integerVnniKernelsAvailable())
    GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  struct Case {
    int64_t B, M, K, N;
  };
  const Case cases[] = {{1, 5, 130, 200}, {1, 13, 257, 65}, {2, 37, 96, 130}, {1, 128, 64, 70}};
  for (const Case &c : cases)
    for (const std::string activation : {"gelu", "gelu_tanh", "silu"}) {
      const int64_t rows = c.B * c.M, count = rows * c.N;
      const std::string what = std::to_string(c.B) + "x" + std::to_string(c.M) + "x" +
                               std::to_string(c.K) + "x" + std::to_string(c.N) + " " + activation;
      const auto av = randomBytes((size_t)(rows * c.K), 101);
      const auto bv = randomBytes((size_t)(c.K * c.N), 102);
      // An s8 lhs for SiLU (the flipped broadcast), u8 for the GELUs.
      const bool aSigned = activation == "silu";
      const int za = aSigned ? -7 : 131;
      const std::vector<int32_t> sums = exactGemm(av, aSigned, za, bv, 0, rows, c.K, c.N);
      const std::vector<int64_t> out = {c.B, c.M, c.N};
      std::vector<float> scale = randomFloats((size_t)c.N, 103),
                         bias = randomFloats((size_t)c.N, 104);
      for (float &v : scale)
        v = std::fabs(v) * 2e-5f;
      scale[1] = NAN, scale[2] = INFINITY, scale[3] = 0.0f;
      const std::vector<float> residual = randomFloats((size_t)count, 105);
      const float divisor = 0.75f, qScale = 0.02f;
      const uint8_t qZero = 100;

      // The steps' kernels, one after another.
      Tensors ts;
      Tensor *acc = ts.make<int32_t>(DS_I32, out, sums);
      Tensor *f = ts.empty(DS_F32, out), *scaled = ts.empty(DS_F32, out),
             *biased = ts.empty(DS_F32, out), *act = ts.empty(DS_F32, out),
             *added = ts.empty(DS_F32, out), *quot = ts.empty(DS_F32, out);
      Tensor *q = ts.empty(DS_U8, out);
      Tensor *scaleT = ts.f32({c.N}, scale), *biasT = ts.f32({1, c.N}, bias);
      Tensor *residualT = ts.f32(out, residual), *divisorT = ts.f32({}, {divisor});
      Tensor *qs = ts.f32({}, {qScale});
      Tensor *qz = ts.make<uint8_t>(DS_U8, {}, {qZero});
      ASSERT_TRUE(run("ds.cast", {}, {acc}, {f}).ok());
      ASSERT_TRUE(run("ds.binary", attrs({{"kind", strAttr("mul")}}), {f, scaleT}, {scaled}).ok());
      ASSERT_TRUE(
          run("ds.binary", attrs({{"kind", strAttr("add")}}), {scaled, biasT}, {biased}).ok());
      if (activation == "silu") {
        Tensor *logistic = ts.empty(DS_F32, out);
        ASSERT_TRUE(
            run("ds.unary", attrs({{"kind", strAttr("sigmoid")}}), {biased}, {logistic}).ok());
        ASSERT_TRUE(
            run("ds.binary", attrs({{"kind", strAttr("mul")}}), {biased, logistic}, {act}).ok());
      } else {
        ASSERT_TRUE(run("ds.unary", attrs({{"kind", strAttr(activation)}}), {biased}, {act}).ok());
      }
      ASSERT_TRUE(
          run("ds.binary", attrs({{"kind", strAttr("add")}}), {residualT, act}, {added}).ok());
      ASSERT_TRUE(run("ds.binary", attrs({{"kind", strAttr("div")}}), {added, divisorT}, {quot}).ok());
      ASSERT_TRUE(run("ds.quantize", attrs({{"axis", intAttr(1)}, {"block_size", intAttr(0)}}),
                      {quot, qs, qz}, {q})
                      .ok());
      size_t nan = 0, saturated = 0;
      for (float v : values<float>(act))
        nan += std::isnan(v);
      for (uint8_t v : values<uint8_t>(q))
        saturated += v == 0 || v == 255;
      ASSERT_GT(nan, 0u) << what;
      ASSERT_LT(saturated, (size_t)count / 2) << what << ": the chain's values are mostly in range";

      // The same chain as the GEMM stores.
      using Op = cpu::StoreEpilogue::Op;
      std::vector<float> gotAct((size_t)count), gotAdded((size_t)count);
      std::vector<uint8_t> gotQ((size_t)count);
      cpu::StoreEpilogue epilogue;
      epilogue.channels = c.N;
      auto push = [&](Op::Kind kind, Op::Source source, const float *values, bool first) {
        Op op;
        op.kind = kind, op.source = source, op.values = values, op.operandFirst = first;
        op.scalar = values ? values[0] : 0.0f;
        epilogue.ops.push_back(op);
      };
      push(Op::Mul, Op::PerChannel, scale.data(), false);
      push(Op::Add, Op::PerChannel, bias.data(), false);
      push(activation == "gelu" ? Op::Gelu : activation == "silu" ? Op::Silu : Op::GeluTanh,
           Op::Scalar, nullptr, false);
      epilogue.ops.back().store = gotAct.data();
      push(Op::Add, Op::Full, residual.data(), true);
      epilogue.ops.back().store = gotAdded.data();
      push(Op::Div, Op::Scalar, &divisor, false);
      Op quantize;
      quantize.kind = Op::Quantize, quantize.scale = qScale, quantize.zeroPoint = qZero;
      quantize.lo = 0.0f, quantize.hi = 255.0f;
      quantize.store = gotQ.data(), quantize.storeType = DS_U8;
      epilogue.ops.push_back(quantize);

      auto expectStored = [&](const std::string &how) {
        EXPECT_EQ(0, std::memcmp(gotAct.data(), act->data, (size_t)count * sizeof(float)))
            << what << how << " (" << activation << ", f32)";
        EXPECT_EQ(0, std::memcmp(gotAdded.data(), added->data, (size_t)count * sizeof(float)))
            << what << how << " (residual, f32)";
        EXPECT_EQ(0, std::memcmp(gotQ.data(), q->data, (size_t)count)) << what << how << " (u8)";
      };
      auto clear = [&] {
        std::fill(gotAct.begin(), gotAct.end(), -1.0f);
        std::fill(gotAdded.begin(), gotAdded.end(), -1.0f);
        std::fill(gotQ.begin(), gotQ.end(), 0xEE);
      };
      cpu::PackedConstants constants;
      ASSERT_TRUE(constants.addInt8Matrix(reinterpret_cast<const int8_t *>(bv.data()), c.K, c.N));
      const cpu::PackedInt8Matrix *packed =
          constants.findInt8Matrix(bv.data(), c.K, c.N);
      ASSERT_NE(packed, nullptr);
      for (bool nested : {false, true})
        for (KernelContext ctx : {serialContext(), chunkedContext(3)}) {
          clear();
          std::vector<int32_t> untouched((size_t)count, 7);
          cpu::integerPackedGemm(ctx, nested, *packed, av.data(), aSigned, za, rows, c.K,
                                 untouched.data(), c.N, &epilogue);
          for (int32_t v : untouched)
            ASSERT_EQ(v, 7) << what << ": the i32 result is not written";
          expectStored(nested ? " nested" : "");
        }

      // Through ds.matmul_integer: applied with packed weights; declined
      // (the i32 result written instead) with a weight zero point.
      KernelContext ctx = chunkedContext(2);
      ctx.packed = &constants;
      const DType aType = aSigned ? DS_I8 : DS_U8;
      Tensor *a = ts.make<uint8_t>(aType, {c.B, c.M, c.K}, av);
      Tensor *b = ts.make<uint8_t>(DS_I8, {c.K, c.N}, bv);
      b->data = const_cast<uint8_t *>(bv.data()); // the address the packed copy is found by
      Tensor *zat = ts.make<uint8_t>(aType, {}, {(uint8_t)za});
      Tensor *zb = ts.make<uint8_t>(DS_I8, {}, {0xfd});
      Tensor *y = ts.empty(DS_I32, out);
      clear();
      bool applied = false;
      Status s = cpu::matmulIntegerWithEpilogue(ctx, {}, {a, b, zat, nullptr}, {y}, epilogue,
                                                applied);
      ASSERT_TRUE(s.ok()) << s.message();
      ASSERT_TRUE(applied) << what;
      expectStored(" (ds.matmul_integer)");
      s = cpu::matmulIntegerWithEpilogue(ctx, {}, {a, b, zat, zb}, {y}, epilogue, applied);
      ASSERT_TRUE(s.ok()) << s.message();
      EXPECT_FALSE(applied) << what << ": weights with a zero point are not packed";
      EXPECT_EQ(values<int32_t>(y), exactGemm(av, aSigned, za, bv, -3, rows, c.K, c.N)) << what;
    }
}

} // namespace
