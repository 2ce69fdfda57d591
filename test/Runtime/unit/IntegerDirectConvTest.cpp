//===- IntegerDirectConvTest.cpp - 8-bit convolutions on VNNI -------------===//
//
// cpu/IntegerDirectConv's convolution must give the exact i32 sums of
// (x - zx) * w that ONNX's ConvInteger defines, padding reading zx, for u8
// and s8 data, on every geometry the f32 direct path takes; through
// ds.conv_integer too, where weight zero points and unpacked weights take
// the im2col path. With a store epilogue (cpu/StoreEpilogue.h) the chain
// after the sums must give what the steps' own kernels give on the whole
// i32 result, bit for bit. Skipped where the CPU has no AVX-512 VNNI.
//
//===----------------------------------------------------------------------===//
#include "cpu/IntegerDirectConv.h"
#include "ConvTestUtils.h"
#include "KernelTestUtils.h"
#include "cpu/PackedConstants.h"
#include "cpu/PackedGemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {
using namespace dsrt;
using namespace dsrt::test;

void packGroups(const Conv2D &p, const std::vector<uint8_t> &wv, cpu::PackedConstants &constants) {
  const int64_t rows = p.M / p.group, Cg = p.C / p.group, taps = p.KH * p.KW;
  for (int64_t g = 0; g < p.group; ++g)
    ASSERT_TRUE(constants.addInt8Conv(reinterpret_cast<const int8_t *>(wv.data()) +
                                          g * rows * Cg * taps,
                                      rows, Cg, taps));
}

TEST(IntegerDirectConv, EqualsTheExactSums) {
  if (!cpu::integerVnniKernelsAvailable())
    GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  // The f32 direct convolution's geometries, plus channel counts that
  // leave a partial word of four, rows that leave a short panel of six and
  // columns that leave a short tile of 64.
  const Conv2D cases[] = {
      {1, 16, 20, 21, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, // 3x3 pad 1
      {2, 8, 17, 19, 13, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1},  // stride 2, batch 2
      {1, 3, 30, 29, 16, 7, 7, 1, 2, 2, 3, 3, 3, 3, 1, 1},  // the stem: 7x7 / 2, 3 channels
      {1, 6, 15, 16, 10, 3, 3, 2, 1, 1, 2, 0, 1, 3, 2, 2},  // dilation 2, groups
      {2, 12, 14, 14, 24, 1, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1}, // 1x1 / 2 (downsample)
      {1, 5, 16, 23, 7, 5, 3, 1, 2, 3, 2, 1, 0, 2, 1, 2},   // strides (2, 3)
      {1, 4, 9, 9, 30, 2, 2, 1, 1, 1, 0, 0, 1, 1, 1, 1},    // even kernel
      {1, 16, 7, 7, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // rows sharing their pads
      {1, 3, 11, 12, 14, 3, 3, 1, 1, 1, 0, 3, 2, 0, 1, 1},  // left pad only, past the reach
      {1, 67, 12, 12, 37, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1}, // 1x1: the result written in place
      {1, 5, 9, 75, 8, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1},    // stride 2, rows of 38 words
  };
  for (const Conv2D &p : cases)
    for (bool xSigned : {false, true}) {
      const std::string what = "C" + std::to_string(p.C) + " M" + std::to_string(p.M) + " " +
                               std::to_string(p.KH) + "x" + std::to_string(p.KW) + " stride " +
                               std::to_string(p.sh) + "," + std::to_string(p.sw) +
                               (xSigned ? " s8" : " u8");
      const auto xv = randomBytes((size_t)(p.N * p.C * p.H * p.W), 61);
      auto wv = randomBytes((size_t)(p.M * (p.C / p.group) * p.KH * p.KW), 62);
      cpu::PackedConstants constants;
      packGroups(p, wv, constants);
      // Zero points at both ends of the range and inside it.
      for (int zx : xSigned ? std::vector<int>{-128, 0, 77} : std::vector<int>{0, 255, 131}) {
        const std::vector<int32_t> want = exactIntegerConv(p, xv, xSigned, zx, wv, 0);
        for (KernelContext ctx : {serialContext(), chunkedContext(3)}) {
          ctx.packed = &constants;
          std::vector<int32_t> y(want.size(), -7);
          ASSERT_TRUE(cpu::runIntegerDirectConv2D(
              ctx, xv.data(), xSigned, zx, reinterpret_cast<const int8_t *>(wv.data()), y.data(),
              p.N, p.C, p.M, p.group, windowOf(p)))
              << what;
          expectEqualSums(y, want, what + " zx " + std::to_string(zx));
        }
      }
      // Through ds.conv_integer: packed (the artifact's bytes changed after
      // packing: only the packed copy gives the original's result), and with
      // a weight zero point (the im2col path on the same weights).
      KernelContext ctx = chunkedContext(2);
      ctx.packed = &constants;
      const uint8_t zx = xSigned ? (uint8_t)(int8_t)-5 : 140;
      const int zxValue = xSigned ? -5 : 140;
      const std::vector<int32_t> packedWant = exactIntegerConv(p, xv, xSigned, zxValue, wv, 0);
      const std::vector<uint8_t> original = wv;
      for (uint8_t &b : wv)
        b = (uint8_t)(b + 1);
      expectEqualSums(runConvInteger(p, xv, xSigned, zx, wv, nullptr, ctx), packedWant,
                      what + " (ds.conv_integer)");
      wv = original;
      const int8_t zw = -3;
      expectEqualSums(runConvInteger(p, xv, xSigned, zx, wv, &zw, ctx),
                      exactIntegerConv(p, xv, xSigned, zxValue, wv, zw),
                      what + " (weight zero point)");
    }
}

TEST(IntegerDirectConv, DeclinesBeforeWritingAnything) {
  if (!cpu::integerVnniKernelsAvailable())
    GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  const Conv2D p{1, 4, 10, 10, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  const auto xv = randomBytes((size_t)(p.C * p.H * p.W), 71);
  const auto wv = randomBytes((size_t)(p.M * p.C * 9), 72);
  const auto *weights = reinterpret_cast<const int8_t *>(wv.data());
  std::vector<int32_t> y((size_t)(p.M * p.OH() * p.OW()), 7);
  auto declines = [&](KernelContext ctx, const Conv2D &q, const int8_t *w) {
    return !cpu::runIntegerDirectConv2D(ctx, xv.data(), false, 0, w, y.data(), q.N, q.C, q.M,
                                        q.group, windowOf(q));
  };
  EXPECT_TRUE(declines(serialContext(), p, weights)); // no packed weights at all
  cpu::PackedConstants constants;
  packGroups(p, wv, constants);
  KernelContext ctx = serialContext();
  ctx.packed = &constants;
  std::vector<uint8_t> other = wv;
  EXPECT_TRUE(declines(ctx, p, reinterpret_cast<const int8_t *>(other.data()))); // not packed
  Conv2D wider = p;
  wider.M = 16; // packed for 8 rows
  EXPECT_TRUE(declines(ctx, wider, weights));
  Conv2D thin = p;
  thin.W = 1, thin.pl = thin.pr = 1; // two thirds of the columns would be padding
  EXPECT_TRUE(declines(ctx, thin, weights));
  for (int32_t v : y)
    ASSERT_EQ(v, 7);
}

/// A QDQ requantization chain with every kind of step and operand: scale
/// per channel (one NaN, one inf, one 0), bias, relu, quantize to u8 (kept),
/// dequantize, a residual added from the left (kept), a scalar minus it, a
/// division, quantize to i8 (kept). The convolution's sums are the exact
/// ones; the reference runs each step's CPU kernel over whole tensors.
TEST(IntegerDirectConv, StoreEpilogueEqualsTheStepsKernels) {
  if (!cpu::integerVnniKernelsAvailable())
    GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  const Conv2D cases[] = {
      {1, 16, 20, 21, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, // partial panel, dropped columns
      {2, 8, 17, 19, 13, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1},  // stride 2, batch 2
      {1, 3, 30, 29, 16, 7, 7, 1, 2, 2, 3, 3, 3, 3, 1, 1},  // the stem
      {2, 6, 15, 16, 10, 3, 3, 2, 1, 1, 2, 0, 1, 3, 2, 2},  // groups, dilation
      {2, 67, 12, 12, 37, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1}, // 1x1: no dropped columns
  };
  for (const Conv2D &p : cases) {
    const std::string what = "C" + std::to_string(p.C) + " M" + std::to_string(p.M) + " " +
                             std::to_string(p.KH) + "x" + std::to_string(p.KW) + " N" +
                             std::to_string(p.N);
    const auto xv = randomBytes((size_t)(p.N * p.C * p.H * p.W), 81);
    const auto wv = randomBytes((size_t)(p.M * (p.C / p.group) * p.KH * p.KW), 82);
    cpu::PackedConstants constants;
    packGroups(p, wv, constants);
    const int zx = 9;
    const std::vector<int32_t> sums = exactIntegerConv(p, xv, false, zx, wv, 0);
    const std::vector<int64_t> out = {p.N, p.M, p.OH(), p.OW()};
    const size_t count = sums.size();

    std::vector<float> scale = randomFloats((size_t)p.M, 83), bias = randomFloats((size_t)p.M, 84);
    for (float &v : scale)
      v = std::fabs(v) * 0.004f;
    scale[1] = NAN, scale[2] = INFINITY, scale[3] = 0.0f;
    const std::vector<float> residual = randomFloats(count, 85);
    const float qScale = 0.05f, q2Scale = 0.1f, minuend = 2.5f, divisor = 0.75f;
    const uint8_t qZero = 3;
    const int8_t q2Zero = -4;

    // The steps' kernels, one after another.
    Tensors ts;
    Tensor *acc = ts.make<int32_t>(DS_I32, out, sums);
    Tensor *f = ts.empty(DS_F32, out), *scaled = ts.empty(DS_F32, out),
           *biased = ts.empty(DS_F32, out), *relu = ts.empty(DS_F32, out),
           *dq = ts.empty(DS_F32, out), *added = ts.empty(DS_F32, out),
           *diff = ts.empty(DS_F32, out), *quot = ts.empty(DS_F32, out);
    Tensor *q = ts.empty(DS_U8, out), *q2 = ts.empty(DS_I8, out);
    Tensor *scaleT = ts.f32({p.M, 1, 1}, scale), *biasT = ts.f32({1, p.M, 1, 1}, bias);
    Tensor *residualT = ts.f32(out, residual), *minuendT = ts.f32({}, {minuend}),
           *divisorT = ts.f32({1}, {divisor});
    Tensor *qs = ts.f32({}, {qScale}), *q2s = ts.f32({}, {q2Scale});
    Tensor *qz = ts.make<uint8_t>(DS_U8, {}, {qZero});
    Tensor *q2z = ts.make<int8_t>(DS_I8, {}, {q2Zero});
    const Attributes perTensor = attrs({{"axis", intAttr(1)}, {"block_size", intAttr(0)}});
    ASSERT_TRUE(run("ds.cast", {}, {acc}, {f}).ok());
    ASSERT_TRUE(run("ds.binary", attrs({{"kind", strAttr("mul")}}), {f, scaleT}, {scaled}).ok());
    ASSERT_TRUE(run("ds.binary", attrs({{"kind", strAttr("add")}}), {scaled, biasT}, {biased}).ok());
    ASSERT_TRUE(run("ds.unary", attrs({{"kind", strAttr("relu")}}), {biased}, {relu}).ok());
    // The NaN channel reaches the quantize (which maps it to its zero point).
    size_t nan = 0;
    for (float v : values<float>(relu))
      nan += std::isnan(v);
    ASSERT_GT(nan, 0u) << what;
    ASSERT_TRUE(run("ds.quantize", perTensor, {relu, qs, qz}, {q}).ok());
    ASSERT_TRUE(run("ds.dequantize", perTensor, {q, qs, qz}, {dq}).ok());
    ASSERT_TRUE(run("ds.binary", attrs({{"kind", strAttr("add")}}), {residualT, dq}, {added}).ok());
    ASSERT_TRUE(run("ds.binary", attrs({{"kind", strAttr("sub")}}), {minuendT, added}, {diff}).ok());
    ASSERT_TRUE(run("ds.binary", attrs({{"kind", strAttr("div")}}), {diff, divisorT}, {quot}).ok());
    ASSERT_TRUE(run("ds.quantize", perTensor, {quot, q2s, q2z}, {q2}).ok());

    // The same chain as the convolution stores.
    using Op = cpu::StoreEpilogue::Op;
    std::vector<uint8_t> gotQ(count, 0xEE);
    std::vector<float> gotAdded(count, -1.0f);
    std::vector<int8_t> gotQ2(count, 0x55);
    cpu::StoreEpilogue epilogue;
    epilogue.channels = p.M;
    epilogue.pixels = p.OH() * p.OW();
    auto binary = [](Op::Kind kind, Op::Source source, const float *values, bool first) {
      Op op;
      op.kind = kind, op.source = source, op.values = values, op.operandFirst = first;
      op.scalar = values[0];
      return op;
    };
    auto quant = [](Op::Kind kind, float scale, float zero, bool u8) {
      Op op;
      op.kind = kind, op.scale = scale, op.zeroPoint = zero;
      op.lo = u8 ? 0.0f : -128.0f, op.hi = u8 ? 255.0f : 127.0f;
      return op;
    };
    epilogue.ops.push_back(binary(Op::Mul, Op::PerChannel, scale.data(), false));
    epilogue.ops.push_back(binary(Op::Add, Op::PerChannel, bias.data(), false));
    Op reluOp;
    reluOp.kind = Op::Relu;
    epilogue.ops.push_back(reluOp);
    epilogue.ops.push_back(quant(Op::Quantize, qScale, qZero, true));
    epilogue.ops.back().store = gotQ.data(), epilogue.ops.back().storeType = DS_U8;
    epilogue.ops.push_back(quant(Op::Dequantize, qScale, qZero, true));
    epilogue.ops.push_back(binary(Op::Add, Op::Full, residual.data(), true));
    epilogue.ops.back().store = gotAdded.data(), epilogue.ops.back().storeType = DS_F32;
    epilogue.ops.push_back(binary(Op::Sub, Op::Scalar, &minuend, true));
    epilogue.ops.push_back(binary(Op::Div, Op::Scalar, &divisor, false));
    epilogue.ops.push_back(quant(Op::Quantize, q2Scale, q2Zero, false));
    epilogue.ops.back().store = gotQ2.data(), epilogue.ops.back().storeType = DS_I8;

    // Scratch for every image at once, and for one at a time (a pass each).
    for (int64_t scratchWords : {int64_t(1) << 21, int64_t(1)})
    for (KernelContext ctx : {serialContext(), chunkedContext(3)}) {
      ctx.packed = &constants;
      std::fill(gotQ.begin(), gotQ.end(), 0xEE);
      std::fill(gotAdded.begin(), gotAdded.end(), -1.0f);
      std::fill(gotQ2.begin(), gotQ2.end(), 0x55);
      std::vector<int32_t> untouched(count, 7);
      ASSERT_TRUE(cpu::runIntegerDirectConv2D(ctx, xv.data(), false, zx,
                                              reinterpret_cast<const int8_t *>(wv.data()),
                                              untouched.data(), p.N, p.C, p.M, p.group,
                                              windowOf(p), &epilogue, scratchWords))
          << what;
      for (int32_t v : untouched)
        ASSERT_EQ(v, 7) << what << ": the i32 result is not written";
      EXPECT_EQ(0, std::memcmp(gotQ.data(), q->data, count)) << what << " (u8)";
      EXPECT_EQ(0, std::memcmp(gotQ2.data(), q2->data, count)) << what << " (i8)";
      // f32 bit for bit.
      EXPECT_EQ(0, std::memcmp(gotAdded.data(), added->data, count * sizeof(float)))
          << what << " (f32)";
    }
  }
}

} // namespace
