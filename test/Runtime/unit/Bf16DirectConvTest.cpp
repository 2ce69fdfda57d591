//===- Bf16DirectConvTest.cpp - bf16 convolution on AVX512-BF16 -----------===//
//
// cpu/Bf16DirectConv must give each result within the error of an f32 sum
// rounded to bf16 once of the convolution in double (bias included), NaN
// and inf where the reference has them, the same bits on any split across
// threads, on the geometries the 8-bit direct convolution takes (odd
// channel counts, strides, dilation, groups); through ds.conv the packed
// copy is what is read. Skipped where the CPU has no AVX512-BF16.
//
//===----------------------------------------------------------------------===//
#include "cpu/Bf16DirectConv.h"
#include "ConvTestUtils.h"
#include "KernelTestUtils.h"
#include "cpu/Bf16PackedGemm.h"
#include "cpu/PackedConstants.h"
#include "cpu/PackedGemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace {
using namespace dsrt;
using namespace dsrt::test;

std::vector<uint16_t> bf16Values(size_t n, uint32_t seed, float scale) {
  std::vector<uint16_t> v(n);
  const std::vector<float> f = randomFloats(n, seed);
  for (size_t i = 0; i < n; ++i)
    v[i] = cpu::floatToBf16(scale * f[i]);
  return v;
}

std::vector<float> widened(const std::vector<uint16_t> &v) {
  std::vector<float> f;
  for (uint16_t b : v)
    f.push_back(cpu::bf16ToFloat(b));
  return f;
}

/// Checks y (bf16) against the convolution in double: within one bf16
/// rounding plus an f32 rounding per term of the terms' magnitude.
void expectConv(const Conv2D &p, const std::vector<uint16_t> &y, const std::vector<uint16_t> &x,
                const std::vector<uint16_t> &w, const std::vector<uint16_t> &bias,
                const std::string &what) {
  const std::vector<float> xf = widened(x), wf = widened(w), bf = widened(bias);
  const std::vector<float> ref = naiveConv(p, xf, wf, bf);
  // The magnitude: the same convolution of |x| and |w|.
  std::vector<float> ax = xf, aw = wf, ab = bf;
  for (float &v : ax)
    v = std::fabs(v);
  for (float &v : aw)
    v = std::fabs(v);
  for (float &v : ab)
    v = std::fabs(v);
  const std::vector<float> magnitude = naiveConv(p, ax, aw, ab);
  const double terms = (double)(p.C / p.group * p.KH * p.KW + 1);
  ASSERT_EQ(y.size(), ref.size()) << what;
  size_t bad = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double got = cpu::bf16ToFloat(y[i]), want = ref[i];
    bool ok;
    if (std::isnan(want) || std::isnan(magnitude[i]))
      ok = std::isnan(got);
    else if (std::isinf(want))
      ok = got == want;
    else
      ok = std::isfinite(got) &&
           std::fabs(got - want) <= std::fabs(want) * 0x1p-8 + magnitude[i] * terms * 0x1p-23;
    if (!ok && bad++ < 5)
      ADD_FAILURE() << what << " [" << i << "]: " << got << " vs " << want;
  }
  EXPECT_EQ(bad, 0u) << what;
}

void packGroups(const Conv2D &p, const std::vector<uint16_t> &w, cpu::PackedConstants &packed) {
  const int64_t rows = p.M / p.group, Cg = p.C / p.group, taps = p.KH * p.KW;
  for (int64_t g = 0; g < p.group; ++g)
    ASSERT_TRUE(packed.addBf16Conv(w.data() + g * rows * Cg * taps, rows, Cg, taps));
}

const Conv2D kCases[] = {
    {1, 16, 20, 21, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, // 3x3 pad 1, a short panel
    {2, 9, 17, 19, 13, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1},  // stride 2, odd channels, batch 2
    {1, 3, 30, 29, 16, 7, 7, 1, 2, 2, 3, 3, 3, 3, 1, 1},  // the stem: 7x7 / 2, 3 channels
    {1, 6, 15, 16, 10, 3, 3, 2, 1, 1, 2, 0, 1, 3, 2, 2},  // dilation 2, groups
    {2, 12, 14, 14, 24, 1, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1}, // 1x1 / 2 (downsample)
    {1, 5, 16, 23, 7, 5, 3, 1, 2, 3, 2, 1, 0, 2, 1, 2},   // strides (2, 3)
    {2, 64, 7, 7, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // a small map, rows sharing pads
    {1, 4, 9, 75, 8, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1},    // stride 2, rows of 38 words
};

TEST(Bf16DirectConv, WithinOneRoundingOfTheConvolution) {
  if (!cpu::bf16GemmAvailable())
    GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  for (const Conv2D &p : kCases) {
    const std::string what = "C" + std::to_string(p.C) + " M" + std::to_string(p.M) + " " +
                             std::to_string(p.KH) + "x" + std::to_string(p.KW) + " stride " +
                             std::to_string(p.sh) + "," + std::to_string(p.sw);
    std::vector<uint16_t> x = bf16Values((size_t)(p.N * p.C * p.H * p.W), 31, 4.0f);
    const std::vector<uint16_t> w =
        bf16Values((size_t)(p.M * (p.C / p.group) * p.KH * p.KW), 32, 1.0f);
    const std::vector<uint16_t> bias = bf16Values((size_t)p.M, 33, 2.0f);
    x[(size_t)(p.H * p.W / 2)] = cpu::floatToBf16(NAN);            // channel 0: NaN
    x[(size_t)(p.H * p.W + p.W + 1)] = cpu::floatToBf16(INFINITY); // channel 1: inf or NaN
    cpu::PackedConstants packed;
    packGroups(p, w, packed);
    std::vector<uint16_t> first;
    // Scratch for every item at once, and for one at a time (a pass each).
    for (int64_t scratchWords : {int64_t(1) << 21, int64_t(1)})
      for (bool withBias : {true, false})
        for (KernelContext ctx : {serialContext(), chunkedContext(3)}) {
          ctx.packed = &packed;
          std::vector<uint16_t> y((size_t)(p.N * p.M * p.OH() * p.OW()), 0x7777);
          ASSERT_TRUE(cpu::runBf16DirectConv2D(ctx, x.data(), w.data(),
                                               withBias ? bias.data() : nullptr, y.data(), p.N, p.C,
                                               p.M, p.group, windowOf(p), scratchWords))
              << what;
          if (!withBias) {
            expectConv(p, y, x, w, {}, what + " without bias");
            continue;
          }
          if (first.empty()) {
            expectConv(p, y, x, w, bias, what);
            first = y;
          } else {
            EXPECT_EQ(y, first) << what << ": the same bits on any split and in passes";
          }
        }
  }
}

TEST(Bf16DirectConv, DeclinesWithoutPackedWeightsOrForDepthwise) {
  if (!cpu::bf16GemmAvailable())
    GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  const Conv2D p{1, 8, 10, 10, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  const std::vector<uint16_t> x = bf16Values(800, 41, 1.0f), w = bf16Values(576, 42, 1.0f);
  std::vector<uint16_t> y(800, 0x7777);
  KernelContext ctx = serialContext();
  EXPECT_FALSE(cpu::runBf16DirectConv2D(ctx, x.data(), w.data(), nullptr, y.data(), 1, 8, 8, 1,
                                        windowOf(p))); // nothing packed
  cpu::PackedConstants packed;
  ASSERT_TRUE(packed.addBf16Conv(w.data(), 8, 1, 9));
  ctx.packed = &packed;
  Conv2D depthwise = p;
  depthwise.group = 8;
  EXPECT_FALSE(cpu::runBf16DirectConv2D(ctx, x.data(), w.data(), nullptr, y.data(), 1, 8, 8, 8,
                                        windowOf(depthwise)));
  for (uint16_t v : y)
    ASSERT_EQ(v, 0x7777);
}

/// ds.conv on bf16 operands reads the packed copy (the artifact's bytes
/// changed after packing give another result) and, unpacked, still runs
/// (oneDNN's path or the f32 one) within the same bound.
TEST(Bf16DirectConv, ThroughConv) {
  if (!cpu::bf16GemmAvailable())
    GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  const Conv2D p{2, 10, 12, 13, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  const std::vector<uint16_t> x = bf16Values(2 * 10 * 12 * 13, 51, 2.0f);
  std::vector<uint16_t> w = bf16Values(20 * 10 * 9, 52, 1.0f);
  const std::vector<uint16_t> bias = bf16Values(20, 53, 1.0f), original = w;
  cpu::PackedConstants packed;
  packGroups(p, w, packed);
  for (bool withPacked : {true, false}) {
    if (withPacked)
      for (uint16_t &v : w)
        v = cpu::floatToBf16(1e6f);
    else
      w = original;
    Tensors ts;
    Tensor *xt = ts.make<uint16_t>(DS_BF16, {p.N, p.C, p.H, p.W}, x);
    Tensor *wt = ts.make<uint16_t>(DS_BF16, {p.M, p.C, p.KH, p.KW}, w);
    wt->data = w.data(); // the address the packed copy is found by
    Tensor *bt = ts.make<uint16_t>(DS_BF16, {p.M}, bias);
    Tensor *yt = ts.empty(DS_BF16, {p.N, p.M, p.OH(), p.OW()});
    KernelContext ctx = chunkedContext(2);
    cpu::PackedConstants none;
    ctx.packed = withPacked ? &packed : &none;
    Status s = run("ds.conv", convAttrs(p), {xt, wt, bt}, {yt}, ctx);
    ASSERT_TRUE(s.ok()) << s.message();
    expectConv(p, values<uint16_t>(yt), x, original, bias,
               withPacked ? "ds.conv, packed" : "ds.conv, not packed");
  }
}

} // namespace
