//===- DepthwiseConvTest.cpp - the direct depthwise kernel, exactly -------===//
//
// cpu/DepthwiseConv's kernels (each hand-vectorized build this CPU runs:
// AVX-512, AVX2; and the generic loops) against the order they promise:
// from the bias, each tap in (kh, kw) order multiplied and then added
// (padding taps add zero), so the results do not depend on the CPU.
//
//===----------------------------------------------------------------------===//
#include "cpu/DepthwiseConv.h"
#include "ConvTestUtils.h"
#include "KernelTestUtils.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace {
using namespace dsrt;
using namespace dsrt::test;

std::vector<float> mulThenAdd(const Conv2D &p, const std::vector<float> &x,
                              const std::vector<float> &w, const std::vector<float> &bias) {
  const int64_t OH = p.OH(), OW = p.OW(), mult = p.M / p.C;
  std::vector<float> y;
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t m = 0; m < p.M; ++m)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          float acc = bias[(size_t)m];
          for (int64_t kh = 0; kh < p.KH; ++kh)
            for (int64_t kw = 0; kw < p.KW; ++kw) {
              const int64_t ih = oh * p.sh - p.pt + kh * p.dh, iw = ow * p.sw - p.pl + kw * p.dw;
              const bool in = ih >= 0 && ih < p.H && iw >= 0 && iw < p.W;
              const float v = in ? x[(size_t)(((n * p.C + m / mult) * p.H + ih) * p.W + iw)] : 0.0f;
              const float product = w[(size_t)((m * p.KH + kh) * p.KW + kw)] * v;
              acc = acc + product;
            }
          y.push_back(acc);
        }
  return y;
}

TEST(DepthwiseConv, MultipliesThenAddsInTapOrder) {
  // Rows shorter than a vector, with a tail, and longer than the 64-output
  // register block; strides 1-2, dilation, a channel multiplier.
  const Conv2D cases[] = {
      {1, 64, 32, 32, 64, 3, 3, 64, 1, 1, 1, 1, 1, 1, 1, 1},
      {2, 8, 33, 70, 8, 3, 3, 8, 2, 2, 1, 1, 1, 1, 1, 1},
      {1, 6, 9, 130, 12, 5, 3, 6, 1, 1, 2, 1, 2, 1, 1, 2},
      {1, 5, 7, 7, 5, 3, 3, 5, 1, 1, 1, 1, 1, 1, 1, 1},
      // The fixed-width kernels: 5 taps at stride 1, row dilation with 3
      // taps, rows of 1-4 vectors with tails, more rows than one block.
      {1, 4, 11, 40, 4, 5, 5, 4, 1, 1, 2, 2, 2, 2, 1, 1},
      {1, 3, 12, 50, 6, 3, 3, 3, 1, 1, 2, 1, 2, 1, 2, 1},
      {1, 2, 19, 61, 2, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1},
      {1, 2, 17, 9, 2, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1},
      {1, 2, 30, 23, 2, 5, 5, 2, 2, 2, 2, 2, 2, 2, 1, 1},
      {1, 2, 5, 130, 2, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1}, // past one 64-output column block
      {1, 2, 6, 201, 2, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1},
      // Row and column strides that differ (one used for the other would
      // read the wrong rows).
      {1, 3, 13, 20, 3, 3, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1},
      {1, 3, 14, 19, 3, 5, 5, 3, 2, 1, 2, 2, 2, 2, 1, 1},
      // The padded copies: stride 1 without left pad; stride 2 with even
      // and odd left pads and rows over one block of columns (32 with
      // AVX-512, 16 with AVX2).
      {1, 4, 6, 20, 4, 3, 3, 4, 1, 1, 0, 0, 0, 0, 1, 1},
      {1, 3, 7, 12, 3, 3, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1},
      {1, 3, 9, 45, 3, 5, 5, 3, 2, 2, 2, 2, 2, 2, 1, 1},
      {1, 2, 5, 33, 4, 3, 3, 2, 2, 2, 1, 1, 0, 0, 1, 1},
      // An input column no tap reaches at stride 2 (2 taps, left pad 1: the
      // reach is 4 padded columns, input column 3 is the 5th); stored, it
      // would land on column 0's slot in the other phase.
      {1, 2, 4, 4, 2, 2, 2, 2, 2, 2, 0, 1, 0, 0, 1, 1},
      // Two geometries in a row whose scratch has the same size (7 x 10)
      // but the padding elsewhere (left pad 0, then 1: the first writes
      // input into column 0, the second's left pad): the per-thread
      // scratch must be zeroed again, not only regrown.
      {1, 2, 5, 9, 2, 3, 3, 2, 1, 1, 1, 0, 1, 1, 1, 1},
      {1, 2, 5, 8, 2, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1},
  };
  for (const Conv2D &p : cases) {
    auto xv = randomFloats((size_t)(p.N * p.C * p.H * p.W), 81);
    auto wv = randomFloats((size_t)(p.M * p.KH * p.KW), 82);
    auto bv = randomFloats((size_t)p.M, 83);
    const std::vector<float> want = mulThenAdd(p, xv, wv, bv);
    auto expectEqual = [&](const std::vector<float> &got, const std::string &how) {
      ASSERT_EQ(got.size(), want.size()) << how;
      size_t bad = 0;
      for (size_t i = 0; i < got.size(); ++i)
        if (got[i] != want[i] && bad++ < 5)
          ADD_FAILURE() << how << ": " << p.C << " channels " << p.H << "x" << p.W << " [" << i
                        << "]: " << got[i] << " != " << want[i];
      EXPECT_EQ(bad, 0u) << how;
    };
    expectEqual(runConvKernel(p, xv, wv, bv, chunkedContext(3)), "ds.conv");
    // Each build directly, AVX2's on AVX-512 CPUs too (None: the generic
    // loops; a build this CPU lacks falls back to them). The scratch is
    // per thread and kept across calls: the builds run one after the other
    // on it.
    for (auto [isa, name] :
         {std::pair{cpu::VectorIsa::None, "generic"}, std::pair{cpu::VectorIsa::Avx2, "AVX2"},
          std::pair{cpu::VectorIsa::Avx512, "AVX-512"}}) {
      // Followed by a guard: a full vector stored past the last row's end.
      std::vector<float> y(want.size() + 64, NAN);
      KernelContext ctx = chunkedContext(3);
      ASSERT_TRUE(cpu::runDepthwise2D(ctx, xv.data(), wv.data(), bv.data(), y.data(), p.N, p.C, p.M,
                                      p.group, windowOf(p), isa));
      for (size_t i = want.size(); i < y.size(); ++i)
        ASSERT_TRUE(std::isnan(y[i])) << name << ": wrote past the output, at " << i;
      y.resize(want.size());
      expectEqual(y, name);
    }
  }
}

} // namespace
