//===- WinogradConvTest.cpp - 3x3 convolutions in the Winograd domain -----===//
//
// cpu/WinogradConv against the convolution in double: within the
// rounding the transforms add, equal whatever the threads and blocks, and
// declining (before writing) every geometry it does not handle.
//
//===----------------------------------------------------------------------===//
#include "cpu/WinogradConv.h"
#include "ConvTestUtils.h"
#include "KernelTestUtils.h"
#include "cpu/PackedConstants.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace {
using namespace dsrt;
using namespace dsrt::test;

std::string describe(const Conv2D &p) {
  return "N" + std::to_string(p.N) + " C" + std::to_string(p.C) + " " + std::to_string(p.H) + "x" +
         std::to_string(p.W) + " M" + std::to_string(p.M) + " pads " + std::to_string(p.pt) + "," +
         std::to_string(p.pl) + "," + std::to_string(p.pb) + "," + std::to_string(p.pr);
}

bool available() {
  const cpu::Window w = windowOf({1, 16, 16, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  return cpu::winogradTileSize(w, 16, 16, 1) != 0;
}

TEST(WinogradConv, MatchesTheConvolutionInDouble) {
  if (!available())
    GTEST_SKIP() << "no AVX-512 or AVX2 + FMA: the direct path runs instead";
  // F(4x4) and F(2x2) (maps under 25 x 25); maps that are and are
  // not multiples of the tile, pads 0-2 (asymmetric), a batch, channel
  // counts over one k block of the GEMM (C 160 > 128), and blocks of tile
  // rows (C 512 over a 60 x 60 map takes several).
  struct Case {
    Conv2D p;
    int64_t variant;
  };
  const Case cases[] = {
      {{1, 16, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 4},
      {{2, 32, 27, 30, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 4},
      {{1, 16, 29, 27, 48, 3, 3, 1, 1, 1, 0, 0, 0, 0, 1, 1}, 4},
      {{1, 160, 26, 26, 64, 3, 3, 1, 1, 1, 2, 0, 1, 2, 1, 1}, 4},
      {{1, 512, 60, 60, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 4},
      {{1, 64, 37, 100, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 4}, // blocks of 9 tile rows, then 1
      {{1, 64, 7, 7, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 2},
      {{1, 32, 14, 14, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 2},
      {{2, 16, 9, 11, 16, 3, 3, 1, 1, 1, 0, 2, 1, 1, 1, 1}, 2},
  };
  for (const auto &[p, variant] : cases) {
    const std::string what =
        describe(p) + " F(" + std::to_string(variant) + "x" + std::to_string(variant) + ")";
    auto xv = randomFloats((size_t)(p.N * p.C * p.H * p.W), 61);
    auto wv = randomFloats((size_t)(p.M * p.C * 9), 62);
    auto bv = randomFloats((size_t)p.M, 63);
    const cpu::Window w = windowOf(p);
    ASSERT_EQ(cpu::winogradTileSize(w, p.C, p.M, 1), variant) << what;
    cpu::PackedSet set;
    ASSERT_TRUE(cpu::transformWinogradWeights(wv.data(), p.M, p.C, variant, set));
    cpu::PackedConstants constants;
    constants.addSet(wv.data(), std::move(set));
    for (bool withBias : {true, false}) {
      const std::vector<float> bias = withBias ? bv : std::vector<float>();
      const std::vector<float> want = naiveConv(p, xv, wv, bias);
      // Sums of 9 * C products of values in [-1, 1] (typical size sqrt(C)):
      // the transforms weigh the terms by up to 100 before the sums and
      // the sums by up to 361 after, so f32 rounding reaches a few 1e-5 of
      // sqrt(9 C) (measured: 2.4e-5 at C 512). An indexing error is O(1).
      const double atol = 4e-5 * std::sqrt(9.0 * p.C);
      // Each build of the transforms this CPU runs (AVX2's too on AVX-512).
      for (cpu::VectorIsa isa : {cpu::VectorIsa::Avx512, cpu::VectorIsa::Avx2}) {
        if (!cpu::vectorIsaRuns(isa))
          continue;
        const std::string where = what + (isa == cpu::VectorIsa::Avx2 ? " AVX2" : " AVX-512");
        std::vector<float> first;
        for (int threads : {1, 64}) { // one task per point, or each point split
          KernelContext ctx = chunkedContext(3);
          ctx.numThreads = threads;
          ctx.packed = &constants;
          std::vector<float> y(want.size(), NAN);
          ASSERT_TRUE(cpu::runWinogradConv(ctx, xv.data(), wv.data(),
                                           withBias ? bv.data() : nullptr, y.data(), p.N, p.C, p.M,
                                           1, w, isa))
              << where;
          expectNear(y, std::vector<double>(want.begin(), want.end()), where, 1e-5, atol);
          if (first.empty())
            first = y;
          else
            EXPECT_EQ(y, first) << where << ": results depend on the thread count";
        }
      }
    }
    // And through ds.conv on the transformed weights.
    KernelContext ctx = chunkedContext(2);
    ctx.packed = &constants;
    const auto want = naiveConv(p, xv, wv, bv);
    expectNear(runConvKernel(p, xv, wv, bv, ctx), std::vector<double>(want.begin(), want.end()),
               what + " (ds.conv)", 1e-5, 4e-5 * std::sqrt(9.0 * p.C));
  }
}

TEST(WinogradConv, DeclinesBeforeWritingAnything) {
  if (!available())
    GTEST_SKIP() << "no AVX-512 or AVX2 + FMA";
  const Conv2D p{1, 16, 16, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  auto xv = randomFloats((size_t)(p.C * p.H * p.W), 71);
  auto wv = randomFloats((size_t)(p.M * p.C * 9), 72);
  std::vector<float> y((size_t)(p.M * p.OH() * p.OW()), 7.0f);
  ASSERT_EQ(cpu::winogradTileSize(windowOf(p), p.C, p.M, 1), 2);
  cpu::PackedSet set;
  ASSERT_TRUE(cpu::transformWinogradWeights(wv.data(), p.M, p.C, 2, set));
  cpu::PackedConstants constants;
  constants.addSet(wv.data(), std::move(set));
  auto declines = [&](KernelContext ctx, const Conv2D &q, const float *weights) {
    return !cpu::runWinogradConv(ctx, xv.data(), weights, nullptr, y.data(), q.N, q.C, q.M, q.group,
                                 windowOf(q));
  };
  KernelContext none = serialContext();
  EXPECT_TRUE(declines(none, p, wv.data())); // nothing packed
  KernelContext ctx = serialContext();
  ctx.packed = &constants;
  for (cpu::VectorIsa isa : {cpu::VectorIsa::None, cpu::VectorIsa::Avx2,
                             cpu::VectorIsa::Avx512}) // a build this CPU cannot run
    if (!cpu::vectorIsaRuns(isa))
      EXPECT_FALSE(cpu::runWinogradConv(ctx, xv.data(), wv.data(), nullptr, y.data(), p.N, p.C, p.M,
                                        1, windowOf(p), isa));
  auto other = wv;
  EXPECT_TRUE(declines(ctx, p, other.data())); // not these weights
  Conv2D q = p;
  q.sh = q.sw = 2; // stride 2
  EXPECT_TRUE(declines(ctx, q, wv.data()));
  q = p;
  q.dh = 2, q.pt = q.pb = 2; // dilation 2
  EXPECT_TRUE(declines(ctx, q, wv.data()));
  q = p;
  q.H = q.W = 6; // 9 small tiles: the larger weights would not pay
  EXPECT_TRUE(declines(ctx, q, wv.data()));
  q = p;
  q.H = q.W = 28; // F(4x4) would run, but the set is F(2x2)'s
  EXPECT_TRUE(declines(ctx, q, wv.data()));
  q = p;
  q.M = 32; // a packed set of another shape
  EXPECT_TRUE(declines(ctx, q, wv.data()));
  // Channels that are not a multiple of 16, and groups.
  EXPECT_EQ(cpu::winogradTileSize(windowOf(p), 12, 16, 1), 0);
  EXPECT_EQ(cpu::winogradTileSize(windowOf(p), 16, 24, 1), 0);
  EXPECT_EQ(cpu::winogradTileSize(windowOf(p), 32, 32, 2), 0);
  // Pads of 2^29 on a 16 x 16 input: a result of 2^60 mostly padding.
  q = p;
  q.pt = q.pl = q.pb = q.pr = int64_t(1) << 29;
  EXPECT_EQ(cpu::winogradTileSize(windowOf(q), 16, 16, 1), 0);
  // Pads of 100 with 1024 input channels and 16 output ones: the padded
  // copy (216 x 216 x 1024) would be 15x the input and result together.
  q = p;
  q.pt = q.pl = q.pb = q.pr = 100;
  EXPECT_EQ(cpu::winogradTileSize(windowOf(q), 1024, 16, 1), 0);
  q.pt = q.pl = q.pb = q.pr = 1; // (the same channels without the pads run)
  EXPECT_EQ(cpu::winogradTileSize(windowOf(q), 1024, 16, 1), 2);
  // A thin map: F(4x4) would compute 4 rows of 1 (as many multiplies as
  // the direct path), F(2x2) 2 (too few saved).
  q = p;
  q.H = 1, q.W = 200, q.pt = q.pb = 1, q.pl = q.pr = 1;
  EXPECT_EQ(cpu::winogradTileSize(windowOf(q), 16, 16, 1), 0);
  // Variants winogradTileSize never gives.
  cpu::PackedSet unused;
  EXPECT_FALSE(cpu::transformWinogradWeights(wv.data(), p.M, p.C, 3, unused));
  EXPECT_FALSE(cpu::transformWinogradWeights(wv.data(), 8, p.C * 2, 4, unused));
  for (float v : y)
    ASSERT_EQ(v, 7.0f);
  EXPECT_FALSE(declines(ctx, p, wv.data())); // and the case they vary does run
}

TEST(WinogradConv, SharedWeightsKeepASetPerVariant) {
  if (!available())
    GTEST_SKIP() << "no AVX-512 or AVX2 + FMA";
  // One weight read by convolutions on a 32 x 32 map (F(4x4)) and a
  // 16 x 16 one (F(2x2)), as a detection head shares its weights across
  // pyramid levels: each finds its own set, whichever was packed last.
  const Conv2D large{1, 16, 32, 32, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  const Conv2D small{1, 16, 16, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  ASSERT_EQ(cpu::winogradTileSize(windowOf(large), 16, 16, 1), 4);
  ASSERT_EQ(cpu::winogradTileSize(windowOf(small), 16, 16, 1), 2);
  auto wv = randomFloats((size_t)(16 * 16 * 9), 91);
  cpu::PackedConstants constants;
  for (int64_t variant : {4, 2}) {
    cpu::PackedSet set;
    ASSERT_TRUE(cpu::transformWinogradWeights(wv.data(), 16, 16, variant, set));
    constants.addSet(wv.data(), std::move(set));
  }
  ASSERT_NE(constants.findSet(wv.data(), 16, 16, 4), nullptr);
  ASSERT_NE(constants.findSet(wv.data(), 16, 16, 2), nullptr);
  for (const Conv2D &p : {large, small}) {
    auto xv = randomFloats((size_t)(p.C * p.H * p.W), 92);
    KernelContext ctx = serialContext();
    ctx.packed = &constants;
    std::vector<float> y((size_t)(p.M * p.OH() * p.OW()));
    ASSERT_TRUE(cpu::runWinogradConv(ctx, xv.data(), wv.data(), nullptr, y.data(), 1, p.C, p.M, 1,
                                     windowOf(p)));
    const auto want = naiveConv(p, xv, wv, {});
    expectNear(y, std::vector<double>(want.begin(), want.end()), describe(p), 1e-5,
               4e-5 * std::sqrt(9.0 * p.C));
  }
}

} // namespace
