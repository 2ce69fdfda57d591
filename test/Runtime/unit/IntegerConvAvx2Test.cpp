//===- IntegerConvAvx2Test.cpp - 8-bit convolutions on AVX2 ---------------===//
//
// cpu/IntegerConvAvx2's convolution must give the exact i32 sums of
// (x - zx) * w that ONNX's ConvInteger defines, padding reading zx, for u8
// and s8 data: from the channels-last copy (channels in fours, with and
// without a remainder past 32) and from im2col (other channel counts), at
// strides, dilations, groups, short panels of positions and short tiles of
// rows, with the extreme bytes that would saturate vpmaddubsw; through
// ds.conv_integer too. Skipped where the CPU has no AVX2.
//
//===----------------------------------------------------------------------===//
#include "cpu/IntegerConvAvx2.h"
#include "ConvTestUtils.h"
#include "KernelTestUtils.h"
#include "cpu/IntegerPackedGemmAvx2.h"
#include "cpu/PackedConstants.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace {
using namespace dsrt;
using namespace dsrt::test;

void widenGroups(const Conv2D &p, const std::vector<uint8_t> &wv, cpu::PackedConstants &constants) {
  const int64_t rows = p.M / p.group, Cg = p.C / p.group, taps = p.KH * p.KW;
  for (int64_t g = 0; g < p.group; ++g)
    ASSERT_TRUE(constants.addInt8ConvAvx2(
        reinterpret_cast<const int8_t *>(wv.data()) + g * rows * Cg * taps, rows, Cg, taps));
}

TEST(IntegerConvAvx2, EqualsTheExactSums) {
  if (!cpu::integerPackedGemmAvx2Runs())
    GTEST_SKIP() << "no AVX2 on this CPU";
  const Conv2D cases[] = {
      {1, 16, 20, 21, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, // 3x3 pad 1, 16 channels
      {2, 8, 17, 19, 13, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1},  // stride 2, batch 2
      {1, 3, 30, 29, 16, 7, 7, 1, 2, 2, 3, 3, 3, 3, 1, 1},  // the stem: 3 channels (im2col)
      {1, 8, 15, 16, 10, 3, 3, 2, 1, 1, 2, 0, 1, 3, 2, 2},  // dilation 2, 2 groups of 4
      {2, 12, 14, 14, 24, 1, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1}, // 1x1 / 2 (downsample)
      {1, 5, 16, 23, 7, 5, 3, 1, 2, 3, 2, 1, 0, 2, 1, 2},   // strides (2, 3), 5 channels
      {1, 40, 9, 9, 30, 2, 2, 1, 1, 1, 0, 0, 1, 1, 1, 1},   // 32 + 8 channels, even kernel
      {1, 64, 7, 7, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // 49 positions: a short panel
      {1, 6, 11, 12, 15, 3, 3, 3, 1, 1, 0, 3, 2, 0, 1, 1},  // 3 groups of 2 (im2col)
      {2, 96, 5, 5, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},    // 96 channels, 7 rows
  };
  for (const Conv2D &p : cases)
    for (bool xSigned : {false, true})
      for (bool extreme : {false, true}) {
        const std::string what = "C" + std::to_string(p.C) + " M" + std::to_string(p.M) + " " +
                                 std::to_string(p.KH) + "x" + std::to_string(p.KW) + " stride " +
                                 std::to_string(p.sh) + "," + std::to_string(p.sw) + " group " +
                                 std::to_string(p.group) + (xSigned ? " s8" : " u8") +
                                 (extreme ? " extremes" : "");
        auto xv = randomBytes((size_t)(p.N * p.C * p.H * p.W), 61);
        auto wv = randomBytes((size_t)(p.M * (p.C / p.group) * p.KH * p.KW), 62);
        if (extreme) { // 255 (u8) / -128 (s8) against -128 and 127 weights
          for (uint8_t &b : xv)
            b = xSigned ? 0x80 : 0xff;
          for (size_t i = 0; i < wv.size(); ++i)
            wv[i] = i % 5 ? 0x80 : 0x7f;
        }
        cpu::PackedConstants constants;
        widenGroups(p, wv, constants);
        for (int zx : xSigned ? std::vector<int>{-128, 0, 77} : std::vector<int>{0, 255, 131}) {
          const std::vector<int32_t> want = exactIntegerConv(p, xv, xSigned, zx, wv, 0);
          for (KernelContext ctx : {serialContext(), chunkedContext(3)}) {
            ctx.packed = &constants;
            std::vector<int32_t> y(want.size(), -7);
            ASSERT_TRUE(cpu::runIntegerConvAvx2(ctx, xv.data(), xSigned, zx,
                                                reinterpret_cast<const int8_t *>(wv.data()),
                                                y.data(), p.N, p.C, p.M, p.group, windowOf(p)))
                << what;
            expectEqualSums(y, want, what + " zx " + std::to_string(zx));
          }
        }
        // Through ds.conv_integer on a CPU without VNNI (where VNNI's
        // kernel runs first otherwise): the artifact's bytes changed after
        // widening, so only the widened copy gives the original's result.
        if (cpu::integerVnniKernelsAvailable())
          continue;
        KernelContext ctx = chunkedContext(2);
        ctx.packed = &constants;
        const uint8_t zx = xSigned ? (uint8_t)(int8_t)-5 : 140;
        const std::vector<int32_t> want =
            exactIntegerConv(p, xv, xSigned, xSigned ? -5 : 140, wv, 0);
        const std::vector<uint8_t> original = wv;
        for (uint8_t &b : wv)
          b = (uint8_t)(b + 1);
        const int8_t zero = 0, three = -3;
        expectEqualSums(runConvInteger(p, xv, xSigned, zx, wv, nullptr, ctx), want,
                        what + " (ds.conv_integer)");
        expectEqualSums(runConvInteger(p, xv, xSigned, zx, wv, &zero, ctx), want,
                        what + " (ds.conv_integer, weight zero point 0)");
        // A weight zero point other than 0: the unwidened path, on the
        // artifact's (restored) bytes.
        wv = original;
        expectEqualSums(runConvInteger(p, xv, xSigned, zx, wv, &three, ctx),
                        exactIntegerConv(p, xv, xSigned, xSigned ? -5 : 140, wv, three),
                        what + " (weight zero point -3)");
      }
}

TEST(IntegerConvAvx2, DeclinesBeforeWritingAnything) {
  if (!cpu::integerPackedGemmAvx2Runs())
    GTEST_SKIP() << "no AVX2 on this CPU";
  const Conv2D p{1, 4, 10, 10, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  const auto xv = randomBytes((size_t)(p.C * p.H * p.W), 71);
  const auto wv = randomBytes((size_t)(p.M * p.C * 9), 72);
  const auto *weights = reinterpret_cast<const int8_t *>(wv.data());
  std::vector<int32_t> y((size_t)(p.M * p.OH() * p.OW()), 7);
  auto declines = [&](KernelContext ctx, const Conv2D &q, const int8_t *w) {
    return !cpu::runIntegerConvAvx2(ctx, xv.data(), false, 0, w, y.data(), q.N, q.C, q.M, q.group,
                                    windowOf(q));
  };
  EXPECT_TRUE(declines(serialContext(), p, weights)); // no widened weights at all
  cpu::PackedConstants constants;
  widenGroups(p, wv, constants);
  KernelContext ctx = serialContext();
  ctx.packed = &constants;
  std::vector<uint8_t> other = wv;
  EXPECT_TRUE(declines(ctx, p, reinterpret_cast<const int8_t *>(other.data()))); // not widened
  Conv2D wider = p;
  wider.M = 16; // widened for 8 rows
  EXPECT_TRUE(declines(ctx, wider, weights));
  for (int32_t v : y)
    ASSERT_EQ(v, 7);
}

} // namespace
