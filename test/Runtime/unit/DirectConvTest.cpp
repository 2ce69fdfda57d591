//===- DirectConvTest.cpp - convolutions on packed weights ----------------===//
//
// cpu/DirectConv's im2col-free convolution and the im2col path on packed
// weights: each output must equal one sequential fma chain over the taps
// (c, kh, kw) in order, padding taps included, plus its bias.
//
//===----------------------------------------------------------------------===//
#include "cpu/DirectConv.h"
#include "ConvTestUtils.h"
#include "KernelTestUtils.h"
#include "cpu/ConvByPixels.h"
#include "cpu/PackedConstants.h"
#include "cpu/PackedGemm.h"
#include "cpu/VectorIsa.h"
#include "cpu/WinogradConv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace {
using namespace dsrt;
using namespace dsrt::test;

/// What the packed micro-kernels compute, element by element.
std::vector<float> fmaChainConv(const Conv2D &p, const std::vector<float> &x,
                                const std::vector<float> &w, const std::vector<float> &bias) {
  const int64_t OH = p.OH(), OW = p.OW(), Cg = p.C / p.group, Mg = p.M / p.group;
  std::vector<float> y((size_t)(p.N * p.M * OH * OW));
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t m = 0; m < p.M; ++m)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          float acc = 0.0f;
          const int64_t g = m / Mg;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t kh = 0; kh < p.KH; ++kh)
              for (int64_t kw = 0; kw < p.KW; ++kw) {
                const int64_t ih = oh * p.sh - p.pt + kh * p.dh, iw = ow * p.sw - p.pl + kw * p.dw;
                const bool in = ih >= 0 && ih < p.H && iw >= 0 && iw < p.W;
                const float v =
                    in ? x[(size_t)(((n * p.C + g * Cg + c) * p.H + ih) * p.W + iw)] : 0.0f;
                acc = std::fma(w[(size_t)(((m * Cg + c) * p.KH + kh) * p.KW + kw)], v, acc);
              }
          y[(size_t)(((n * p.M + m) * OH + oh) * OW + ow)] =
              bias.empty() ? acc : acc + bias[(size_t)m];
        }
  return y;
}

/// The weights of every group packed as the session packs them.
void packGroups(const Conv2D &p, const std::vector<float> &wv, cpu::PackedConstants &constants) {
  const int64_t rows = p.M / p.group, taps = (p.C / p.group) * p.KH * p.KW;
  for (int64_t g = 0; g < p.group; ++g)
    ASSERT_TRUE(constants.addLeft(wv.data() + g * rows * taps, rows, taps));
}

std::vector<double> asDouble(const std::vector<float> &v) {
  return std::vector<double>(v.begin(), v.end());
}

void expectBitEqual(const std::vector<float> &got, const std::vector<float> &want,
                    const std::string &what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i] && bad++ < 5)
      ADD_FAILURE() << what << " [" << i << "]: " << got[i] << " != " << want[i];
  EXPECT_EQ(bad, 0u) << what;
}

TEST(DirectConv, EqualsOneFmaChainPerOutput) {
  // Strides 1-3 (phase split), dilation, asymmetric pads, groups, batches,
  // row counts that leave a short micro-kernel panel and column counts
  // that leave a short tile, with and without bias.
  const Conv2D cases[] = {
      {1, 16, 20, 21, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, // 3x3 pad 1
      {2, 8, 17, 19, 13, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1},  // stride 2, batch 2
      {1, 3, 30, 29, 16, 7, 7, 1, 2, 2, 3, 3, 3, 3, 1, 1},  // the stem: 7x7 / 2
      {1, 6, 15, 16, 10, 3, 3, 2, 1, 1, 2, 0, 1, 3, 2, 2},  // dilation 2, groups
      {2, 12, 14, 14, 24, 1, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1}, // 1x1 / 2 (downsample)
      {1, 5, 16, 23, 7, 5, 3, 1, 2, 3, 2, 1, 0, 2, 1, 2},   // strides (2, 3)
      {1, 4, 9, 9, 30, 2, 2, 1, 1, 1, 0, 0, 1, 1, 1, 1},    // even kernel
      {1, 16, 7, 7, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // rows sharing their pads
      {1, 3, 11, 12, 14, 3, 3, 1, 1, 1, 0, 3, 2, 0, 1, 1},  // left pad only, past the reach
      {1, 64, 40, 40, 64, 1, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1}, // 1x1 / 2: ds.conv gathers the pixels
  };
  for (const Conv2D &p : cases) {
    const std::string what = "C" + std::to_string(p.C) + " M" + std::to_string(p.M) + " " +
                             std::to_string(p.KH) + "x" + std::to_string(p.KW) + " stride " +
                             std::to_string(p.sh) + "," + std::to_string(p.sw);
    auto xv = randomFloats((size_t)(p.N * p.C * p.H * p.W), 41);
    auto wv = randomFloats((size_t)(p.M * (p.C / p.group) * p.KH * p.KW), 42);
    auto bv = randomFloats((size_t)p.M, 43);
    cpu::PackedConstants constants;
    packGroups(p, wv, constants);
    for (bool withBias : {true, false}) {
      const std::vector<float> bias = withBias ? bv : std::vector<float>();
      const std::vector<float> want = fmaChainConv(p, xv, wv, bias);
      for (KernelContext ctx : {serialContext(), chunkedContext(3)}) {
        ctx.packed = &constants;
        std::vector<float> y(want.size(), NAN);
        ASSERT_TRUE(cpu::runDirectConv2D(ctx, xv.data(), wv.data(), withBias ? bv.data() : nullptr,
                                         y.data(), p.N, p.C, p.M, p.group, windowOf(p)))
            << what;
        expectBitEqual(y, want, what);
      }
      expectNear(want, asDouble(naiveConv(p, xv, wv, bias)), what + " vs naive", 1e-4, 1e-5);
    }
    // And through ds.conv on a session's packed weights.
    KernelContext ctx = chunkedContext(2);
    ctx.packed = &constants;
    expectBitEqual(runConvKernel(p, xv, wv, bv, ctx), fmaChainConv(p, xv, wv, bv),
                   what + " (ds.conv)");
  }
}

TEST(DirectConv, DeclinesBeforeWritingAnything) {
  const Conv2D p{1, 4, 10, 10, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  auto xv = randomFloats((size_t)(p.C * p.H * p.W), 51);
  auto wv = randomFloats((size_t)(p.M * p.C * 9), 52);
  std::vector<float> y((size_t)(p.M * p.OH() * p.OW()), 7.0f);
  auto declines = [&](KernelContext ctx, const Conv2D &q, const float *weights) {
    return !cpu::runDirectConv2D(ctx, xv.data(), weights, nullptr, y.data(), q.N, q.C, q.M, q.group,
                                 windowOf(q));
  };
  KernelContext none = serialContext(); // no packed weights at all
  EXPECT_TRUE(declines(none, p, wv.data()));
  cpu::PackedConstants constants;
  packGroups(p, wv, constants);
  KernelContext ctx = serialContext();
  ctx.packed = &constants;
  auto other = wv; // packed weights, but not these
  EXPECT_TRUE(declines(ctx, p, other.data()));
  // Over a third of the computed columns would be padding: a 1 x 1 map
  // under a 3 x 3 kernel with pads 1 computes 2 columns per row for 1, and
  // with stride 2 (phases share no padding) a 1 x 1 result also computes 2.
  Conv2D tiny{1, 4, 1, 1, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  EXPECT_TRUE(declines(ctx, tiny, wv.data()));
  Conv2D tinyStrided{1, 4, 2, 2, 8, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1};
  EXPECT_TRUE(declines(ctx, tinyStrided, wv.data()));
  // An empty kernel (a weight dim of 0 packs as M x 0) has negative reach.
  Conv2D empty{1, 2, 8, 8, 4, 3, 0, 1, 1, 2, 1, 0, 1, 0, 1, 10};
  std::vector<float> noWeights(1);
  ASSERT_TRUE(constants.addLeft(noWeights.data(), empty.M, 0));
  EXPECT_TRUE(declines(ctx, empty, noWeights.data()));
  // Strides of 2^62 (from an artifact, unbounded) overflow the phase count.
  Conv2D huge{1, 4, 10, 10, 8, 3, 3, 1, int64_t(1) << 62, int64_t(1) << 62, 1, 1, 1, 1, 1, 1};
  EXPECT_TRUE(declines(ctx, huge, wv.data()));
  for (float v : y)
    ASSERT_EQ(v, 7.0f);
}

TEST(DirectConv, LibraryAndPackedPathsAgree) {
  // ds.conv through the session's packed weights (ctx.packed) against the
  // same convolution without them: 3x3 padded (direct), 1x1 pointwise
  // (im2col-free packed GEMM) and a 1-D convolution (im2col), grouped,
  // each product large enough (2^16 multiply-adds) to take the packed path.
  for (Conv2D p : {Conv2D{1, 16, 20, 21, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
                   Conv2D{2, 128, 32, 33, 64, 1, 1, 2, 1, 1, 0, 0, 0, 0, 1, 1},
                   Conv2D{1, 64, 1, 300, 96, 1, 5, 1, 1, 1, 0, 2, 0, 2, 1, 1}}) {
    auto xv = randomFloats((size_t)(p.N * p.C * p.H * p.W), 31);
    auto wv = randomFloats((size_t)(p.M * (p.C / p.group) * p.KH * p.KW), 32);
    auto bv = randomFloats((size_t)p.M, 33);
    cpu::PackedConstants constants;
    packGroups(p, wv, constants);
    std::vector<float> results[2];
    for (int packedRun = 0; packedRun < 2; ++packedRun) {
      KernelContext ctx = chunkedContext(3);
      ctx.packed = packedRun ? &constants : nullptr;
      results[packedRun] = runConvKernel(p, xv, wv, bv, ctx);
    }
    expectNear(results[1], asDouble(results[0]), "packed vs library", 1e-4, 1e-5);
    expectNear(results[1], asDouble(naiveConv(p, xv, wv, bv)), "packed vs naive", 1e-4, 1e-5);
  }
}

// An f16 convolution whose weights the session widened to f32 at load
// (PackedConstants::addWidenedCopy) and packed as f32 weights reads that
// copy: the f16 bytes changed after packing give the original's result,
// which is the f32 convolution of the widened values rounded to f16 once.
// The packed form is found by the copy's address on each path the session
// packs for: direct, Winograd and 1 x 1 by pixels.
TEST(DirectConv, HalfWeightsWidenedOnceAtLoad) {
  if (!cpu::packedGemmAvailable())
    GTEST_SKIP() << "no packed GEMM on this CPU: nothing is packed";
  std::set<std::string> paths;
  for (const Conv2D &p : kPackedPathCases) {
    const cpu::Window window = windowOf(p);
    const int64_t taps = p.KH * p.KW;
    const std::vector<float> xv = roundedToHalf(randomFloats((size_t)(p.N * p.C * p.H * p.W), 41)),
                             wv = roundedToHalf(randomFloats((size_t)(p.M * p.C * taps), 42)),
                             bv = roundedToHalf(randomFloats((size_t)p.M, 43));
    std::vector<uint16_t> w16 = halfBits(wv);
    cpu::PackedConstants constants;
    const float *wide = constants.addWidenedCopy(w16.data(), DS_F16, (int64_t)w16.size());
    ASSERT_NE(wide, nullptr);
    // Packed as Session::packWeights packs it, and run on that path.
    const int64_t variant = cpu::winogradTileSize(window, p.C, p.M, 1);
    std::string path;
    if (cpu::convByPixels(window, p.C, p.M, 1)) {
      path = "by pixels";
      ASSERT_TRUE(constants.addTransposed(wide, p.M, p.C * taps));
    } else if (variant) {
      path = "Winograd";
      cpu::PackedSet set;
      ASSERT_TRUE(cpu::transformWinogradWeights(wide, p.M, p.C, variant, set));
      constants.addSet(wide, std::move(set));
    } else {
      path = "direct";
      ASSERT_TRUE(constants.addLeft(wide, p.M, p.C * taps));
    }
    KernelContext ctx = chunkedContext(2);
    ctx.packed = &constants;
    std::vector<float> direct((size_t)(p.N * p.M * p.OH() * p.OW()));
    const bool taken =
        path == "by pixels"  ? cpu::runConvByPixels(ctx, xv.data(), wide, bv.data(), direct.data(),
                                                    p.N, p.C, p.M, 1, window)
        : path == "Winograd" ? cpu::runWinogradConv(ctx, xv.data(), wide, bv.data(), direct.data(),
                                                    p.N, p.C, p.M, 1, window)
                             : cpu::runDirectConv2D(ctx, xv.data(), wide, bv.data(), direct.data(),
                                                    p.N, p.C, p.M, 1, window);
    ASSERT_TRUE(taken) << path << ": the packed form is not found by the copy's address";
    paths.insert(path);

    for (uint16_t &b : w16) // only the widened copy gives the answer now
      b = cpu::floatToHalf(3.0f);
    Tensors ts;
    Tensor *x = ts.make<uint16_t>(DS_F16, {p.N, p.C, p.H, p.W}, halfBits(xv));
    Tensor *w = ts.make<uint16_t>(DS_F16, {p.M, p.C, p.KH, p.KW}, w16);
    w->data = w16.data(); // the address the widened copy is found by
    Tensor *b = ts.make<uint16_t>(DS_F16, {p.M}, halfBits(bv));
    Tensor *y = ts.empty(DS_F16, {p.N, p.M, p.OH(), p.OW()});
    Status s = run("ds.conv", convAttrs(p), {x, w, b}, {y}, ctx);
    ASSERT_TRUE(s.ok()) << s.message();
    const std::vector<float> want = naiveConv(p, xv, wv, bv);
    const std::vector<uint16_t> got = values<uint16_t>(y);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) { // within one f16 rounding (and f32 sums)
      ASSERT_NEAR(cpu::halfToFloat(got[i]), want[i], std::fabs(want[i]) * 0x1p-10 + 1e-4)
          << path << " [" << i << "]";
      // The f16 result is the packed path's f32 result rounded once.
      ASSERT_EQ(got[i], cpu::floatToHalf(direct[i])) << path << " [" << i << "]";
    }
  }
  // Winograd needs AVX-512 or AVX2 + FMA (cpu/WinogradConv.h); elsewhere that case
  // runs directly.
  const bool winograd = cpu::winogradTileSize(windowOf(kPackedPathCases[1]), 64, 64, 1) != 0;
  EXPECT_EQ(paths.size(), winograd ? 3u : 2u) << "a case did not take the path it was written for";
}

/// The by-pixels builds this CPU can run (cpu/ConvByPixels.h): AVX2's
/// wherever packed GEMMs are (it is the packing and its loops; the
/// micro-kernels are the CPU's), AVX-512's where the CPU has it.
std::vector<cpu::VectorIsa> byPixelsBuilds() {
  std::vector<cpu::VectorIsa> builds;
  if (!cpu::packedGemmAvailable())
    return builds;
  builds.push_back(cpu::VectorIsa::Avx2);
  if (cpu::vectorIsaRuns(cpu::VectorIsa::Avx512))
    builds.push_back(cpu::VectorIsa::Avx512);
  return builds;
}

const char *buildName(cpu::VectorIsa isa) {
  return isa == cpu::VectorIsa::Avx512 ? "AVX-512" : "AVX2";
}

// Convolutions on small maps by pixels (cpu/ConvByPixels.h): the pixels
// are the GEMM's rows (tiles of the micro-kernel's height and a short one),
// the output channels its columns (vectors of 16 and a short one). The
// AVX-512 build takes unpadded 1 x 1 windows (strided ones gather their
// pixels first); the AVX2 build any window of one group that Winograd does
// not take, its values packed into row panels (in place, through a zero-
// padded copy, or gathered along a stride), with both of its loop orders:
// all of A packed at once (small K) and blocks of rows over k blocks (large
// K). Each output is one sequential fma chain over (c, kh, kw), padding
// taps included, plus its bias, as on the other packed paths, and ds.conv
// takes this path when the weights were packed for it.
TEST(DirectConv, ByPixelsEqualsOneFmaChainPerOutput) {
  const Conv2D cases[] = {
      {1, 40, 7, 7, 70, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},    // ResNet's 7 x 7 stage, short panels
      {2, 16, 14, 14, 33, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},  // 14 x 14, batch 2
      {2, 24, 14, 13, 48, 1, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1},  // downsample / 2 onto 7 x 7
      {1, 8, 9, 10, 5, 1, 1, 1, 3, 2, 0, 0, 0, 0, 1, 1},     // strides (3, 2), 5 channels
      {1, 3, 1, 1, 20, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},     // one pixel
      {1, 300, 7, 7, 24, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},   // two k blocks, A packed at once
      {1, 1100, 8, 8, 800, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1}, // k blocks over row blocks
      {2, 20, 14, 14, 36, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1},  // 3 x 3 / 2, padded (AVX2)
      {1, 20, 7, 7, 18, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},    // 3 x 3 on 7 x 7, no Winograd
      {1, 6, 11, 12, 17, 3, 2, 1, 1, 2, 2, 0, 1, 3, 2, 1},   // dilation, asymmetric pads
      {1, 7, 9, 9, 16, 5, 5, 1, 1, 1, 0, 0, 0, 0, 1, 1},     // unpadded 5 x 5, read in place
      {1, 512, 14, 14, 64, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1}, // 18 k blocks of a 3 x 3 / 2
      {1, 16, 6, 6, 16, 1, 1, 1, 1, 1, 2, 1, 0, 3, 1, 1},    // padded 1 x 1 (AVX2)
  };
  std::set<std::string> builds;
  for (cpu::VectorIsa isa : byPixelsBuilds())
    for (const Conv2D &p : cases) {
      const std::string what = std::string(buildName(isa)) + " C" + std::to_string(p.C) + " M" +
                               std::to_string(p.M) + " " + std::to_string(p.KH) + "x" +
                               std::to_string(p.KW) + " on " + std::to_string(p.H) + "x" +
                               std::to_string(p.W) + " stride " + std::to_string(p.sh) + "," +
                               std::to_string(p.sw);
      const bool takes = cpu::convByPixels(windowOf(p), p.C, p.M, p.group, isa);
      const bool oneByOne = p.KH == 1 && p.KW == 1 && !(p.pt || p.pl || p.pb || p.pr);
      // Every case suits AVX2's build; AVX-512's takes the unpadded 1 x 1 ones.
      ASSERT_EQ(takes, isa == cpu::VectorIsa::Avx2 || oneByOne) << what;
      if (!takes)
        continue;
      builds.insert(buildName(isa));
      const int64_t K = p.C * p.KH * p.KW;
      auto xv = randomFloats((size_t)(p.N * p.C * p.H * p.W), 61);
      auto wv = randomFloats((size_t)(p.M * K), 62);
      auto bv = randomFloats((size_t)p.M, 63);
      cpu::PackedConstants constants;
      ASSERT_TRUE(constants.addTransposed(wv.data(), p.M, K));
      for (bool withBias : {true, false}) {
        const std::vector<float> bias = withBias ? bv : std::vector<float>();
        const std::vector<float> want = fmaChainConv(p, xv, wv, bias);
        for (KernelContext ctx : {serialContext(), chunkedContext(3)}) {
          ctx.packed = &constants;
          std::vector<float> y(want.size(), NAN);
          ASSERT_TRUE(cpu::runConvByPixels(ctx, xv.data(), wv.data(),
                                           withBias ? bv.data() : nullptr, y.data(), p.N, p.C, p.M,
                                           p.group, windowOf(p), isa))
              << what;
          expectBitEqual(y, want, what);
        }
      }
      if (isa == cpu::convByPixelsIsa()) { // the build ds.conv runs here
        KernelContext ctx = chunkedContext(2);
        ctx.packed = &constants;
        expectBitEqual(runConvKernel(p, xv, wv, bv, ctx), fmaChainConv(p, xv, wv, bv),
                       what + " (ds.conv)");
      }
    }
  EXPECT_EQ(builds.size(), byPixelsBuilds().size()) << "a build ran no case";
}

TEST(DirectConv, ByPixelsDeclines) {
  for (cpu::VectorIsa isa : byPixelsBuilds()) {
    const bool avx2 = isa == cpu::VectorIsa::Avx2;
    auto decides = [&](const Conv2D &p) {
      return cpu::convByPixels(windowOf(p), p.C, p.M, p.group, isa);
    };
    const char *what = buildName(isa);
    EXPECT_FALSE(decides({1, 16, 16, 16, 16, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1})) << what;  // 256 px
    EXPECT_FALSE(decides({1, 16, 28, 28, 16, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1})) << what;  // 784 px
    EXPECT_FALSE(decides({1, 16, 7, 7, 16, 1, 1, 2, 1, 1, 0, 0, 0, 0, 1, 1})) << what;    // groups
    EXPECT_EQ(decides({1, 20, 7, 7, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}), avx2) << what; // 3 x 3
    EXPECT_EQ(decides({1, 16, 7, 7, 16, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1}), avx2) << what; // padded
    // Huge pads and dilation on a tiny map: a mostly zero padded copy of
    // 4 x 10001 x 10001 floats for one output pixel.
    EXPECT_FALSE(decides({1, 4, 1, 1, 8, 2, 2, 1, 1, 1, 5000, 5000, 5000, 5000, 10000, 10000}))
        << what;
    EXPECT_FALSE(decides({1, 4, 1, 1, 8, 2, 2, 1, 1, 1, 3000, 3000, 3000, 3000, 6000, 6000}))
        << what; // 4 x 6001 x 6001: under 2^28 elements, far past the tensors' size
    // A geometry Winograd takes stays Winograd's.
    const Conv2D winograd{1, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    if (cpu::winogradTileSize(windowOf(winograd), 64, 64, 1))
      EXPECT_FALSE(decides(winograd)) << what;
    // Weights not packed transposed (packed for the left path): declined
    // before anything is written.
    const Conv2D p{1, 8, 7, 7, 16, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1};
    auto xv = randomFloats((size_t)(p.C * p.H * p.W), 71);
    auto wv = randomFloats((size_t)(p.M * p.C), 72);
    std::vector<float> y((size_t)(p.M * p.H * p.W), 7.0f);
    cpu::PackedConstants constants;
    packGroups(p, wv, constants);
    KernelContext ctx = serialContext();
    EXPECT_FALSE(cpu::runConvByPixels(ctx, xv.data(), wv.data(), nullptr, y.data(), p.N, p.C, p.M,
                                      p.group, windowOf(p), isa))
        << what;
    ctx.packed = &constants;
    EXPECT_FALSE(cpu::runConvByPixels(ctx, xv.data(), wv.data(), nullptr, y.data(), p.N, p.C, p.M,
                                      p.group, windowOf(p), isa))
        << what;
    for (float v : y)
      ASSERT_EQ(v, 7.0f) << what;
  }
}

} // namespace
