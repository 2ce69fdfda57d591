//===- ContractionKernelsTest.cpp - matmul, conv, pool, attention, quant --===//
//
// Calls the CPU kernels of MatmulKernels.cpp, ConvKernels.cpp,
// AttentionKernels.cpp and QuantKernels.cpp directly, against naive
// reference loops written here.
//
//===----------------------------------------------------------------------===//
#include "ConvTestUtils.h"
#include "KernelTestUtils.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {
using namespace dsrt;
using namespace dsrt::test;

void expectNear(const std::vector<float> &got, const std::vector<float> &want,
                float rtol = 1e-4f, float atol = 1e-5f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], atol + rtol * std::fabs(want[i])) << "at " << i;
}

//===----------------------------------------------------------------------===//
// matmul
//===----------------------------------------------------------------------===//

TEST(ContractionKernels, RegistersEveryOp) {
  for (const char *name : {"ds.matmul", "ds.einsum"})
    EXPECT_TRUE(registers(cpu::registerContractionKernels, name)) << name;
  for (const char *name : {"ds.conv", "ds.conv_transpose", "ds.pool"})
    EXPECT_TRUE(registers(cpu::registerWindowKernels, name)) << name;
  for (const char *name : {"ds.attention", "ds.block_sparse_attention", "ds.rotary_embedding"})
    EXPECT_TRUE(registers(cpu::registerAttentionKernels, name)) << name;
  for (const char *name : {"ds.quantize", "ds.dequantize", "ds.dynamic_quantize"})
    EXPECT_TRUE(registers(cpu::registerQuantKernels, name)) << name;
}

TEST(ContractionKernels, MatmulBroadcastBatchMatchesNaiveLoop) {
  Tensors ts;
  // [2, 1, 5, 7] x [3, 7, 4] -> [2, 3, 5, 4]
  auto av = randomFloats(2 * 5 * 7, 1), bv = randomFloats(3 * 7 * 4, 2);
  Tensor *a = ts.f32({2, 1, 5, 7}, av), *b = ts.f32({3, 7, 4}, bv);
  Tensor *y = ts.empty(DS_F32, {2, 3, 5, 4});
  std::vector<float> want(2 * 3 * 5 * 4, 0.0f);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int m = 0; m < 5; ++m)
        for (int n = 0; n < 4; ++n) {
          double s = 0;
          for (int k = 0; k < 7; ++k)
            s += (double)av[(i * 5 + m) * 7 + k] * bv[(j * 7 + k) * 4 + n];
          want[((i * 3 + j) * 5 + m) * 4 + n] = (float)s;
        }
  for (KernelContext ctx : {serialContext(), chunkedContext(5)}) {
    ASSERT_TRUE(run("ds.matmul", {}, {a, b}, {y}, ctx).ok());
    expectNear(values<float>(y), want);
  }
}

TEST(ContractionKernels, MatmulLargeAndVectorPromotion) {
  Tensors ts;
  const int M = 67, K = 129, N = 45;
  auto av = randomFloats(M * K, 3), bv = randomFloats(K * N, 4);
  Tensor *a = ts.f32({M, K}, av), *b = ts.f32({K, N}, bv);
  Tensor *y = ts.empty(DS_F32, {M, N});
  ASSERT_TRUE(run("ds.matmul", {}, {a, b}, {y}).ok());
  std::vector<float> want(M * N);
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      double s = 0;
      for (int k = 0; k < K; ++k)
        s += (double)av[m * K + k] * bv[k * N + n];
      want[m * N + n] = (float)s;
    }
  expectNear(values<float>(y), want);

  // [K] x [K, N] -> [N]: the first row of a times b.
  Tensor *v = ts.f32({K}, std::vector<float>(av.begin(), av.begin() + K));
  Tensor *yv = ts.empty(DS_F32, {N});
  ASSERT_TRUE(run("ds.matmul", {}, {v, b}, {yv}).ok());
  expectNear(values<float>(yv), std::vector<float>(want.begin(), want.begin() + N));

  Tensor *bad = ts.empty(DS_F32, {N, 1});
  EXPECT_FALSE(run("ds.matmul", {}, {v, b}, {bad}).ok());
}

TEST(ContractionKernels, MatmulIntegersAreExact) {
  Tensors ts;
  Tensor *a = ts.make<int32_t>(DS_I32, {2, 3}, {100000, -2, 3, 4, 5, -6});
  Tensor *b = ts.make<int32_t>(DS_I32, {3, 2}, {30000, 1, -1, 2, 7, 3});
  Tensor *y = ts.empty(DS_I32, {2, 2});
  ASSERT_TRUE(run("ds.matmul", {}, {a, b}, {y}).ok());
  // 100000 * 30000 wraps in i32 exactly as an i32 accumulator would.
  int64_t y00 = 100000LL * 30000 + 2 + 21;
  EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{(int32_t)(uint32_t)(uint64_t)y00,
                                                      100000 - 4 + 9, 120000 - 5 - 42,
                                                      4 + 10 - 18}));
}

TEST(ContractionKernels, MatmulF64AndF16) {
  Tensors ts;
  Tensor *a = ts.make<double>(DS_F64, {2, 2}, {1, 2, 3, 4});
  Tensor *b = ts.make<double>(DS_F64, {2, 2}, {5, 6, 7, 8});
  Tensor *y = ts.empty(DS_F64, {2, 2});
  ASSERT_TRUE(run("ds.matmul", {}, {a, b}, {y}).ok());
  EXPECT_EQ(values<double>(y), (std::vector<double>{19, 22, 43, 50}));
  auto h = [](float f) { return cpu::floatToHalf(f); };
  Tensor *ah = ts.make<uint16_t>(DS_F16, {1, 2}, {h(1.5f), h(-2)});
  Tensor *bh = ts.make<uint16_t>(DS_F16, {2, 1}, {h(4), h(0.25f)});
  Tensor *yh = ts.empty(DS_F16, {1, 1});
  ASSERT_TRUE(run("ds.matmul", {}, {ah, bh}, {yh}).ok());
  EXPECT_EQ(cpu::halfToFloat(yh->as<uint16_t>()[0]), 5.5f);
}

/// A bf16 matmul of `aShape` x `bShape` against a double loop over the same
/// bf16-rounded operands: products accumulate in f32 (oneDNN's bf16 GEMM where
/// it is installed, the f32 GEMM otherwise), so the result is the exact sum
/// rounded to bf16 once, give or take the f32 accumulation order. Serial and
/// chunked contexts (other row blocks per task) must give the same bits.
void checkBf16Matmul(std::vector<int64_t> aShape, std::vector<int64_t> bShape) {
  int64_t M = aShape[aShape.size() - 2], K = aShape.back(), N = bShape.back();
  int64_t aBatch = 1, bBatch = 1;
  for (size_t i = 0; i + 2 < aShape.size(); ++i)
    aBatch *= aShape[i];
  for (size_t i = 0; i + 2 < bShape.size(); ++i)
    bBatch *= bShape[i];
  int64_t batch = std::max(aBatch, bBatch);
  auto round = [](std::vector<float> v) {
    std::vector<uint16_t> bits;
    for (float x : v)
      bits.push_back(cpu::floatToBf16(x));
    return bits;
  };
  std::vector<uint16_t> av = round(randomFloats(aBatch * M * K, 11)),
                        bv = round(randomFloats(bBatch * K * N, 12));
  std::vector<int64_t> yShape = aBatch >= bBatch ? aShape : bShape;
  yShape[yShape.size() - 2] = M;
  yShape.back() = N;
  std::vector<double> want;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k)
          s += (double)cpu::bf16ToFloat(av[(aBatch == 1 ? 0 : b) * M * K + i * K + k]) *
               cpu::bf16ToFloat(bv[(bBatch == 1 ? 0 : b) * K * N + k * N + j]);
        want.push_back(s);
      }
  std::vector<std::vector<uint16_t>> results;
  for (KernelContext ctx : {serialContext(), chunkedContext(1), chunkedContext(3)}) {
    Tensors ts;
    Tensor *a = ts.make<uint16_t>(DS_BF16, aShape, av), *b = ts.make<uint16_t>(DS_BF16, bShape, bv);
    Tensor *y = ts.empty(DS_BF16, yShape);
    ASSERT_TRUE(run("ds.matmul", {}, {a, b}, {y}, ctx).ok());
    results.push_back(values<uint16_t>(y));
  }
  std::vector<float> got;
  for (uint16_t h : results[0])
    got.push_back(cpu::bf16ToFloat(h));
  // One bf16 rounding of the sum (2^-8 relative) plus f32 accumulation.
  dsrt::test::expectNear(got, want, "bf16 matmul", 1.0 / 256, 1e-4 * K);
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[2]);
}

TEST(ContractionKernels, MatmulBf16) {
  checkBf16Matmul({64, 96}, {96, 80});           // small: one call
  checkBf16Matmul({2, 300, 128}, {128, 200});    // batch folded into rows, row blocks
  checkBf16Matmul({12, 16, 64}, {12, 64, 16});   // many small batches (attention heads)
  checkBf16Matmul({3, 90, 100}, {3, 100, 120});  // batched, large enough to split rows
  checkBf16Matmul({1, 70, 33}, {4, 33, 5});      // a broadcast lhs
}

//===----------------------------------------------------------------------===//
// conv / conv_transpose / pool
//===----------------------------------------------------------------------===//

void checkConv(const Conv2D &p, KernelContext ctx) {
  Tensors ts;
  auto xv = randomFloats(p.N * p.C * p.H * p.W, 5);
  auto wv = randomFloats(p.M * (p.C / p.group) * p.KH * p.KW, 6);
  auto bv = randomFloats(p.M, 7);
  Tensor *x = ts.f32({p.N, p.C, p.H, p.W}, xv);
  Tensor *w = ts.f32({p.M, p.C / p.group, p.KH, p.KW}, wv);
  Tensor *b = ts.f32({p.M}, bv);
  Tensor *y = ts.empty(DS_F32, {p.N, p.M, p.OH(), p.OW()});
  Attributes attrs = convAttrs(p);
  ASSERT_TRUE(run("ds.conv", attrs, {x, w, b}, {y}, ctx).ok());
  expectNear(values<float>(y), naiveConv(p, xv, wv, bv));
}

TEST(ContractionKernels, Conv3x3Pad1MatchesNaiveLoop) {
  checkConv({2, 3, 9, 10, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, serialContext());
  checkConv({2, 3, 9, 10, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, chunkedContext(5));
}

TEST(ContractionKernels, ConvGroupedStridedDilated) {
  checkConv({1, 4, 11, 13, 6, 3, 2, 2, 2, 3, 0, 1, 2, 1, 2, 1}, serialContext());
  checkConv({1, 6, 8, 8, 6, 3, 3, 6, 1, 1, 1, 1, 1, 1, 1, 1}, chunkedContext(5)); // depthwise
  checkConv({2, 16, 7, 7, 8, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1}, serialContext()); // pointwise
}

TEST(ContractionKernels, DepthwiseStridesDilationsPadsAndMultipliers) {
  // The direct depthwise kernel's padded, phase-split scratch: strides 1-3,
  // dilation, asymmetric and large pads, a channel multiplier, rows wider
  // than its 64-output register block, and a 1-D-like 1 x W image.
  checkConv({2, 5, 9, 11, 5, 3, 3, 5, 2, 2, 1, 0, 0, 1, 1, 1}, serialContext());
  checkConv({1, 4, 12, 13, 4, 3, 5, 4, 3, 3, 2, 4, 1, 0, 2, 1}, chunkedContext(3));
  checkConv({1, 3, 7, 70, 6, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, chunkedContext(2)); // M = 2 C
  checkConv({1, 2, 6, 150, 2, 5, 5, 2, 1, 2, 2, 2, 2, 2, 1, 2}, serialContext());
  checkConv({1, 3, 1, 40, 3, 1, 7, 3, 1, 1, 0, 6, 0, 6, 1, 1}, serialContext());
  checkConv({1, 2, 3, 3, 2, 3, 3, 2, 5, 5, 7, 7, 7, 7, 1, 1}, serialContext()); // pads > image
}

TEST(ContractionKernels, HugeStridesAndPadsStayExact) {
  // Geometry from an artifact is unbounded: the depthwise scratch size and
  // im2col's column ranges must not overflow (a stride of 2^62 wrapped the
  // scratch size to 0 and wrote through a null pointer; a stride near
  // INT64_MAX padded a real column).
  const int64_t big = int64_t(1) << 62, max = std::numeric_limits<int64_t>::max();
  checkConv({1, 1, 4, 1, 1, 4, 1, 1, 1, big, 0, 0, 0, 0, 1, 1}, serialContext()); // depthwise
  const int64_t p31 = int64_t(1) << 31; // pads and strides 2^31: a 3 x 3 output
  checkConv({1, 1, 1, 1, 1, 1, 1, 1, p31, p31, p31, p31, p31, p31, 1, 1}, serialContext());
  checkConv({1, 2, 1, 3, 3, 1, 1, 1, 1, max, 0, 0, 0, 0, 1, 1}, serialContext()); // im2col
}

/// A bf16 convolution (oneDNN's bf16 GEMM where installed) against the
/// naive loop over the same bf16-rounded operands: one rounding of the sum.
void checkConvBf16(const Conv2D &p) {
  auto rounded = [](std::vector<float> v) {
    for (float &x : v)
      x = cpu::bf16ToFloat(cpu::floatToBf16(x));
    return v;
  };
  auto bits = [](const std::vector<float> &v) {
    std::vector<uint16_t> out;
    for (float x : v)
      out.push_back(cpu::floatToBf16(x));
    return out;
  };
  auto xv = rounded(randomFloats(p.N * p.C * p.H * p.W, 5));
  auto wv = rounded(randomFloats(p.M * (p.C / p.group) * p.KH * p.KW, 6));
  auto bv = rounded(randomFloats(p.M, 7));
  Tensors ts;
  Tensor *x = ts.make<uint16_t>(DS_BF16, {p.N, p.C, p.H, p.W}, bits(xv));
  Tensor *w = ts.make<uint16_t>(DS_BF16, {p.M, p.C / p.group, p.KH, p.KW}, bits(wv));
  Tensor *b = ts.make<uint16_t>(DS_BF16, {p.M}, bits(bv));
  Tensor *y = ts.empty(DS_BF16, {p.N, p.M, p.OH(), p.OW()});
  Attributes attrs = convAttrs(p);
  ASSERT_TRUE(run("ds.conv", attrs, {x, w, b}, {y}, chunkedContext(2)).ok());
  std::vector<float> got;
  for (uint16_t h : values<uint16_t>(y))
    got.push_back(cpu::bf16ToFloat(h));
  std::vector<float> want = naiveConv(p, xv, wv, bv);
  expectNear(got, want, 1.0f / 128, 1e-3f);
}

TEST(ContractionKernels, ConvBf16) {
  checkConvBf16({2, 8, 9, 10, 6, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1}); // grouped 3x3, pad 1
  checkConvBf16({1, 16, 7, 7, 32, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1}); // pointwise
  checkConvBf16({1, 4, 12, 12, 8, 3, 3, 1, 2, 2, 1, 0, 1, 0, 2, 1}); // strided, dilated
  checkConvBf16({1, 6, 8, 8, 6, 3, 3, 6, 1, 1, 1, 1, 1, 1, 1, 1});   // depthwise: f32 path
}

TEST(ContractionKernels, HugeGroupIsAnErrorNotAnOverflow) {
  // The artifact fuzzer's case: channels times group overflowed int64 in the
  // kernel's group check (undefined behaviour) before any error was returned.
  Tensors ts;
  Tensor *x = ts.f32({1, 64, 3}, std::vector<float>(64 * 3, 1.0f));
  Tensor *w = ts.f32({64, 64, 1}, std::vector<float>(64 * 64, 1.0f));
  Tensor *y = ts.empty(DS_F32, {1, 64, 3});
  Attributes attrs;
  attrs.set("strides", intsAttr({1}));
  attrs.set("pads", intsAttr({0, 0}));
  attrs.set("dilations", intsAttr({1}));
  attrs.set("group", intAttr(4539628424389459968));
  EXPECT_FALSE(run("ds.conv", attrs, {x, w, nullptr}, {y}).ok());
  attrs.set("output_padding", intsAttr({0}));
  EXPECT_FALSE(run("ds.conv_transpose", attrs, {x, w, nullptr}, {y}).ok());
}

TEST(ContractionKernels, Conv1DAndIntegerConv) {
  Tensors ts;
  Tensor *x = ts.f32({1, 1, 5}, {1, 2, 3, 4, 5});
  Tensor *w = ts.f32({1, 1, 3}, {1, 0, -1});
  Tensor *y = ts.empty(DS_F32, {1, 1, 3});
  Attributes attrs;
  attrs.set("strides", intsAttr({2}));
  attrs.set("pads", intsAttr({1, 1}));
  attrs.set("dilations", intsAttr({1}));
  attrs.set("group", intAttr(1));
  ASSERT_TRUE(run("ds.conv", attrs, {x, w, nullptr}, {y}).ok());
  // Windows centred on 0, 2, 4: x[i-1] - x[i+1] with zero padding.
  EXPECT_EQ(values<float>(y), (std::vector<float>{-2, -2, 4}));
  Tensor *xi = ts.make<int32_t>(DS_I32, {1, 1, 5}, {1, 2, 3, 4, 5});
  Tensor *wi = ts.make<int32_t>(DS_I32, {1, 1, 3}, {1, 0, -1});
  Tensor *yi = ts.empty(DS_I32, {1, 1, 3});
  ASSERT_TRUE(run("ds.conv", attrs, {xi, wi, nullptr}, {yi}).ok());
  EXPECT_EQ(values<int32_t>(yi), (std::vector<int32_t>{-2, -2, 4}));
}

TEST(ContractionKernels, ConvTransposeMatchesNaiveScatter) {
  Tensors ts;
  const int64_t N = 1, C = 4, H = 3, W = 4, group = 2, Mg = 3, M = Mg * group, KH = 3, KW = 2;
  const int64_t sh = 2, sw = 1, pt = 1, pl = 0, pb = 0, pr = 1, oph = 1, opw = 0, dh = 1, dw = 2;
  const int64_t OH = sh * (H - 1) + oph + (KH - 1) * dh + 1 - pt - pb;
  const int64_t OW = sw * (W - 1) + opw + (KW - 1) * dw + 1 - pl - pr;
  auto xv = randomFloats(N * C * H * W, 8), wv = randomFloats(C * Mg * KH * KW, 9),
       bv = randomFloats(M, 10);
  std::vector<double> want(N * M * OH * OW);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t i = 0; i < OH * OW; ++i)
      want[m * OH * OW + i] = bv[m];
  for (int64_t c = 0; c < C; ++c) {
    int64_t g = c / (C / group);
    for (int64_t h = 0; h < H; ++h)
      for (int64_t w = 0; w < W; ++w)
        for (int64_t mg = 0; mg < Mg; ++mg)
          for (int64_t kh = 0; kh < KH; ++kh)
            for (int64_t kw = 0; kw < KW; ++kw) {
              int64_t oh = h * sh - pt + kh * dh, ow = w * sw - pl + kw * dw;
              if (oh < 0 || oh >= OH || ow < 0 || ow >= OW)
                continue;
              int64_t m = g * Mg + mg;
              want[(m * OH + oh) * OW + ow] +=
                  (double)xv[(c * H + h) * W + w] * wv[((c * Mg + mg) * KH + kh) * KW + kw];
            }
  }
  Tensor *x = ts.f32({N, C, H, W}, xv), *w = ts.f32({C, Mg, KH, KW}, wv), *b = ts.f32({M}, bv);
  Tensor *y = ts.empty(DS_F32, {N, M, OH, OW});
  Attributes attrs;
  attrs.set("strides", intsAttr({sh, sw}));
  attrs.set("pads", intsAttr({pt, pl, pb, pr}));
  attrs.set("dilations", intsAttr({dh, dw}));
  attrs.set("group", intAttr(group));
  attrs.set("output_padding", intsAttr({oph, opw}));
  ASSERT_TRUE(run("ds.conv_transpose", attrs, {x, w, b}, {y}, chunkedContext(5)).ok());
  expectNear(values<float>(y), std::vector<float>(want.begin(), want.end()));
}

Attributes poolAttrs(const std::string &kind, std::vector<int64_t> kernel,
                     std::vector<int64_t> strides, std::vector<int64_t> pads, bool includePad) {
  Attributes a;
  a.set("kind", strAttr(kind));
  a.set("kernel_shape", intsAttr(kernel));
  a.set("strides", intsAttr(strides));
  a.set("pads", intsAttr(pads));
  a.set("dilations", intsAttr(std::vector<int64_t>(kernel.size(), 1)));
  a.set("ceil_mode", intAttr(0));
  a.set("count_include_pad", intAttr(includePad));
  a.set("p", intAttr(2));
  return a;
}

TEST(ContractionKernels, PoolMaxAvgLp) {
  Tensors ts;
  Tensor *x = ts.f32({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor *y = ts.empty(DS_F32, {1, 1, 2, 2});
  ASSERT_TRUE(run("ds.pool", poolAttrs("max", {2, 2}, {2, 2}, {1, 1, 0, 0}, false), {x}, {y}).ok());
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, 3, 7, 9}));
  ASSERT_TRUE(run("ds.pool", poolAttrs("avg", {2, 2}, {2, 2}, {1, 1, 0, 0}, false), {x}, {y}).ok());
  expectNear(values<float>(y), {1, 2.5f, 5.5f, 7});
  ASSERT_TRUE(run("ds.pool", poolAttrs("avg", {2, 2}, {2, 2}, {1, 1, 0, 0}, true), {x}, {y}).ok());
  expectNear(values<float>(y), {0.25f, 1.25f, 2.75f, 7});
  ASSERT_TRUE(run("ds.pool", poolAttrs("lp", {2, 2}, {2, 2}, {1, 1, 0, 0}, false), {x}, {y}).ok());
  expectNear(values<float>(y), {1, std::sqrt(13.0f), std::sqrt(65.0f), std::sqrt(206.0f)});
  Tensor *wrong = ts.empty(DS_F32, {1, 1, 3, 3});
  EXPECT_FALSE(
      run("ds.pool", poolAttrs("max", {2, 2}, {2, 2}, {1, 1, 0, 0}, false), {x}, {wrong}).ok());
}

//===----------------------------------------------------------------------===//
// einsum
//===----------------------------------------------------------------------===//

TEST(ContractionKernels, EinsumBatchedMatmulTraceAndImplicit) {
  Tensors ts;
  auto av = randomFloats(2 * 3 * 4, 11), bv = randomFloats(2 * 4 * 5, 12);
  Tensor *a = ts.f32({2, 3, 4}, av), *b = ts.f32({2, 4, 5}, bv);
  Tensor *y = ts.empty(DS_F32, {2, 3, 5});
  Attributes attrs;
  attrs.set("equation", strAttr("bij,bjk->bik"));
  ASSERT_TRUE(run("ds.einsum", attrs, {a, b}, {y}).ok());
  std::vector<float> want(2 * 3 * 5);
  for (int bb = 0; bb < 2; ++bb)
    for (int i = 0; i < 3; ++i)
      for (int k = 0; k < 5; ++k) {
        double s = 0;
        for (int j = 0; j < 4; ++j)
          s += (double)av[(bb * 3 + i) * 4 + j] * bv[(bb * 4 + j) * 5 + k];
        want[(bb * 3 + i) * 5 + k] = (float)s;
      }
  expectNear(values<float>(y), want);

  Tensor *m = ts.f32({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor *diag = ts.empty(DS_F32, {3});
  attrs.set("equation", strAttr("ii->i"));
  ASSERT_TRUE(run("ds.einsum", attrs, {m}, {diag}).ok());
  EXPECT_EQ(values<float>(diag), (std::vector<float>{1, 5, 9}));
  Tensor *trace = ts.empty(DS_F32, {});
  attrs.set("equation", strAttr("ii"));
  ASSERT_TRUE(run("ds.einsum", attrs, {m}, {trace}).ok());
  EXPECT_EQ(values<float>(trace), (std::vector<float>{15}));
  Tensor *t = ts.empty(DS_F32, {3, 3});
  attrs.set("equation", strAttr("ji")); // implicit output: sorted labels -> transpose
  ASSERT_TRUE(run("ds.einsum", attrs, {m}, {t}).ok());
  EXPECT_EQ(values<float>(t), (std::vector<float>{1, 4, 7, 2, 5, 8, 3, 6, 9}));
}

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

struct AttentionCase {
  AttentionCase(int64_t b, int64_t hq, int64_t hkv, int64_t s, int64_t l, int64_t d, int64_t dv)
      : B(b), Hq(hq), Hkv(hkv), S(s), L(l), D(d), Dv(dv) {}
  int64_t B, Hq, Hkv, S, L, D, Dv;
  bool causal = false;
  int64_t causalOffset = 0; // keys j <= i + causalOffset are visible
  bool causalFromEnd = false; // ... plus L - S (the causal_from_end attribute)
  int64_t window = 0, sinks = 0; // sliding window and sink keys
  double softcap = 0;
  std::vector<uint8_t> boolMask;  // [S, L] when non-empty
  std::vector<float> floatMask;   // [S, L] when non-empty
  std::vector<uint8_t> headMask;  // [Hq, S, L] when non-empty (a block layout expanded)
};

/// Dense softmax(q k^T * scale (+ softcap, masks)) v, in double.
std::vector<float> naiveAttention(const AttentionCase &c, const std::vector<float> &q,
                                  const std::vector<float> &k, const std::vector<float> &v) {
  std::vector<float> y(c.B * c.Hq * c.S * c.Dv);
  double scale = 1.0 / std::sqrt((double)c.D);
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t h = 0; h < c.Hq; ++h) {
      int64_t hk = h / (c.Hq / c.Hkv);
      for (int64_t i = 0; i < c.S; ++i) {
        std::vector<double> s(c.L);
        double best = -INFINITY;
        for (int64_t j = 0; j < c.L; ++j) {
          double d = 0;
          for (int64_t e = 0; e < c.D; ++e)
            d += (double)q[((b * c.Hq + h) * c.S + i) * c.D + e] *
                 k[((b * c.Hkv + hk) * c.L + j) * c.D + e];
          d *= scale;
          if (c.softcap > 0)
            d = c.softcap * std::tanh(d / c.softcap);
          const int64_t diag = i + c.causalOffset + (c.causalFromEnd ? c.L - c.S : 0);
          if (c.causal && j > diag)
            d = -INFINITY;
          if (c.causal && c.window > 0 && j <= diag - c.window && j >= c.sinks)
            d = -INFINITY;
          if (!c.boolMask.empty() && !c.boolMask[i * c.L + j])
            d = -INFINITY;
          if (!c.headMask.empty() && !c.headMask[(h * c.S + i) * c.L + j])
            d = -INFINITY;
          if (!c.floatMask.empty())
            d += c.floatMask[i * c.L + j];
          s[j] = d;
          best = std::max(best, d);
        }
        double sum = 0;
        for (double &x : s) {
          x = best == -INFINITY ? 0.0 : std::exp(x - best);
          sum += x;
        }
        for (int64_t e = 0; e < c.Dv; ++e) {
          double acc = 0;
          for (int64_t j = 0; j < c.L; ++j)
            acc += s[j] * v[((b * c.Hkv + hk) * c.L + j) * c.Dv + e];
          y[((b * c.Hq + h) * c.S + i) * c.Dv + e] = sum > 0 ? (float)(acc / sum) : 0.0f;
        }
      }
    }
  return y;
}

void checkAttention(const AttentionCase &c) {
  Tensors ts;
  auto qv = randomFloats(c.B * c.Hq * c.S * c.D, 20), kv = randomFloats(c.B * c.Hkv * c.L * c.D, 21),
       vv = randomFloats(c.B * c.Hkv * c.L * c.Dv, 22);
  for (float &x : qv)
    x *= 3; // sharper softmax
  Tensor *q = ts.f32({c.B, c.Hq, c.S, c.D}, qv), *k = ts.f32({c.B, c.Hkv, c.L, c.D}, kv),
         *v = ts.f32({c.B, c.Hkv, c.L, c.Dv}, vv);
  Tensor *mask = nullptr;
  if (!c.boolMask.empty())
    mask = ts.make<uint8_t>(DS_BOOL, {c.S, c.L}, c.boolMask);
  else if (!c.floatMask.empty())
    mask = ts.f32({1, 1, c.S, c.L}, c.floatMask);
  Tensor *y = ts.empty(DS_F32, {c.B, c.Hq, c.S, c.Dv});
  Attributes attrs;
  if (c.causal)
    attrs.set("is_causal", intAttr(1));
  if (c.causalOffset)
    attrs.set("causal_offset", intAttr(c.causalOffset));
  if (c.causalFromEnd)
    attrs.set("causal_from_end", intAttr(1));
  if (c.window)
    attrs.set("window", intAttr(c.window));
  if (c.sinks)
    attrs.set("sink_tokens", intAttr(c.sinks));
  attrs.set("softcap", floatAttr(c.softcap));
  ASSERT_TRUE(run("ds.attention", attrs, {q, k, v, mask}, {y}, chunkedContext(5)).ok());
  expectNear(values<float>(y), naiveAttention(c, qv, kv, vv));
}

TEST(ContractionKernels, AttentionPlainAndGQA) {
  checkAttention({2, 3, 3, 4, 6, 8, 5});
  checkAttention({2, 6, 2, 4, 6, 8, 8}); // query heads 0-2 use kv head 0
}

TEST(ContractionKernels, AttentionCausalCountsFromTheCache) {
  AttentionCase c{1, 4, 2, 5, 5, 8, 8};
  c.causal = true;
  checkAttention(c);
  AttentionCase noCache{1, 2, 1, 3, 7, 4, 4}; // more keys than queries, no cache: j <= i
  noCache.causal = true;
  checkAttention(noCache);
  AttentionCase past{1, 2, 1, 3, 7, 4, 4}; // 4 cached keys before the 3 queries
  past.causal = true;
  past.causalOffset = 4;
  past.softcap = 1.5;
  checkAttention(past);
}

TEST(ContractionKernels, AttentionMasksAndFullyMaskedRows) {
  AttentionCase c{1, 2, 2, 3, 4, 8, 8};
  c.boolMask = {1, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1}; // row 1 fully masked -> zeros
  checkAttention(c);
  AttentionCase f{1, 2, 2, 3, 4, 8, 8};
  f.floatMask = randomFloats(12, 23);
  f.floatMask[5] = -INFINITY;
  checkAttention(f);
}

// Sizes that cross the tiled kernel's query (64) and key (256) tiles, with
// partial last tiles on both sides.
TEST(ContractionKernels, AttentionAcrossTiles) {
  checkAttention({1, 2, 1, 150, 600, 32, 24});
  AttentionCase causal{2, 2, 2, 130, 300, 16, 16};
  causal.causal = true;
  checkAttention(causal);
  AttentionCase decode{1, 4, 2, 1, 700, 32, 32}; // one query against a long cache
  decode.causal = true;
  decode.causalFromEnd = true;
  checkAttention(decode);
  AttentionCase prefillAfterCache{1, 2, 1, 70, 330, 16, 16};
  prefillAfterCache.causal = true;
  prefillAfterCache.causalFromEnd = true; // 260 cached keys, the diagonal from the last key
  checkAttention(prefillAfterCache);
  AttentionCase negative{1, 1, 1, 100, 100, 8, 8}; // query i sees keys j <= i - 70
  negative.causal = true;
  negative.causalOffset = -70; // rows 0..69 see nothing: zeros
  checkAttention(negative);
}

// Static sparsity: a sliding window with and without sink keys, across
// tiles; the window's tile skipping must not change a single visible key.
TEST(ContractionKernels, AttentionSlidingWindowAndSinks) {
  for (int64_t window : {1, 37, 256, 300}) {
    for (int64_t sinks : {0, 4, 300}) {
      AttentionCase c{1, 2, 1, 200, 700, 16, 16};
      c.causal = true;
      c.causalFromEnd = true; // 500 cached keys in front
      c.window = window;
      c.sinks = sinks;
      SCOPED_TRACE("window " + std::to_string(window) + " sinks " + std::to_string(sinks));
      checkAttention(c);
    }
  }
  AttentionCase prefill{1, 1, 1, 600, 600, 8, 8};
  prefill.causal = true;
  prefill.window = 128;
  prefill.sinks = 1;
  checkAttention(prefill);
}

/// The keys NSA-style block selection keeps, as ds.attention defines it:
/// per query block, the first key block, the local blocks and the n earlier
/// blocks scoring highest by (sum of the block's queries) . (sum of the
/// key block's keys), ties to the lower block. One head; in double.
std::vector<uint8_t> blockSelectionMask(const std::vector<float> &q, const std::vector<float> &k,
                                        int64_t S, int64_t L, int64_t D, int64_t offset,
                                        int64_t n, int64_t bs) {
  std::vector<uint8_t> keep((size_t)(S * L), 0);
  for (int64_t i0 = 0; i0 < S; i0 += bs) {
    const int64_t i1 = std::min(S, i0 + bs), d0 = i0 + offset, dLast = i1 - 1 + offset;
    const int64_t keyEnd = std::clamp<int64_t>(dLast + 1, 0, L);
    if (keyEnd == 0)
      continue;
    const int64_t firstLocal = std::max<int64_t>(0, d0 - bs + 1) / bs, lastLocal = (keyEnd - 1) / bs;
    std::vector<int64_t> blocks;
    for (int64_t c = firstLocal; c <= lastLocal; ++c)
      blocks.push_back(c);
    if (firstLocal > 0) {
      blocks.push_back(0);
      std::vector<std::pair<double, int64_t>> scored;
      for (int64_t c = 1; c < firstLocal; ++c) {
        double sigma = 0;
        for (int64_t d = 0; d < D; ++d) {
          double qs = 0, ks = 0;
          for (int64_t i = i0; i < i1; ++i)
            qs += q[i * D + d];
          for (int64_t j = c * bs; j < std::min(L, (c + 1) * bs); ++j)
            ks += k[j * D + d];
          sigma += qs * ks;
        }
        scored.push_back({-sigma, c});
      }
      std::sort(scored.begin(), scored.end());
      for (int64_t e = 0; e < std::min<int64_t>(n, (int64_t)scored.size()); ++e)
        blocks.push_back(scored[(size_t)e].second);
    }
    for (int64_t c : blocks)
      for (int64_t j = c * bs; j < std::min(keyEnd, (c + 1) * bs); ++j)
        for (int64_t i = i0; i < i1; ++i)
          keep[(size_t)(i * L + j)] = 1;
  }
  return keep;
}

// NSA-style block selection equals dense attention with the mask of the
// blocks it selects (computed here independently, in double).
TEST(ContractionKernels, AttentionBlockSelection) {
  struct Case { int64_t S, L, n, bs; };
  for (Case t : {Case{300, 300, 2, 32}, Case{64, 700, 3, 64}, Case{1, 900, 4, 128},
                 Case{150, 650, 1, 16}, Case{200, 200, 50, 8}}) {
    AttentionCase c{1, 1, 1, t.S, t.L, 16, 16};
    auto qv = randomFloats(t.S * 16, 90), kv = randomFloats(t.L * 16, 91), vv = randomFloats(t.L * 16, 92);
    for (float &x : qv)
      x *= 3;
    c.causal = true;
    c.causalOffset = t.L - t.S;
    c.boolMask = blockSelectionMask(qv, kv, t.S, t.L, 16, c.causalOffset, t.n, t.bs);
    Tensors ts;
    Tensor *q = ts.f32({1, 1, t.S, 16}, qv), *k = ts.f32({1, 1, t.L, 16}, kv),
           *v = ts.f32({1, 1, t.L, 16}, vv);
    Tensor *y = ts.empty(DS_F32, {1, 1, t.S, 16});
    Attributes attrs;
    attrs.set("is_causal", intAttr(1));
    attrs.set("causal_from_end", intAttr(1));
    attrs.set("select_blocks", intAttr(t.n));
    attrs.set("block_size", intAttr(t.bs));
    SCOPED_TRACE("S " + std::to_string(t.S) + " L " + std::to_string(t.L));
    ASSERT_TRUE(run("ds.attention", attrs, {q, k, v}, {y}, chunkedContext(4)).ok());
    expectNear(values<float>(y), naiveAttention(c, qv, kv, vv));
  }
}

//===----------------------------------------------------------------------===//
// block_sparse_attention
//===----------------------------------------------------------------------===//

/// A random block layout [heads, ceil(S / bs), ceil(L / bs)] (about 40% kept,
/// query block 1 of head 0 hiding everything) and the [Hq, S, L] mask it means.
std::vector<uint8_t> randomLayout(const AttentionCase &c, int64_t heads, int64_t bs,
                                  uint32_t seed, std::vector<uint8_t> &expanded) {
  const int64_t qb = (c.S + bs - 1) / bs, kb = (c.L + bs - 1) / bs;
  std::mt19937 gen(seed);
  std::vector<uint8_t> layout((size_t)(heads * qb * kb));
  for (size_t e = 0; e < layout.size(); ++e)
    layout[e] = gen() % 5 < 2;
  if (qb > 1)
    std::fill(layout.begin() + kb, layout.begin() + 2 * kb, 0);
  expanded.assign((size_t)(c.Hq * c.S * c.L), 0);
  for (int64_t h = 0; h < c.Hq; ++h)
    for (int64_t i = 0; i < c.S; ++i)
      for (int64_t j = 0; j < c.L; ++j)
        expanded[(size_t)((h * c.S + i) * c.L + j)] =
            layout[(size_t)(((heads == 1 ? 0 : h) * qb + i / bs) * kb + j / bs)];
  return layout;
}

// A block layout is dense attention with the layout expanded into a mask:
// blocks of 1 to 300 (tiles of several small blocks, tiles inside a large
// one), one layout or one per head, causal from the last key or not, with a
// boolean mask on top, in f32 (the tiled kernel) and f64 (the reference loop).
TEST(ContractionKernels, BlockSparseAttentionEqualsDenseWithItsLayout) {
  int seed = 80;
  for (int64_t bs : {1, 7, 16, 40, 300})
    for (int64_t heads : {1, 4})
      for (bool causal : {false, true}) {
        AttentionCase c{2, 4, 2, 100, 130, 16, 8};
        c.causal = causal;
        c.causalFromEnd = causal;
        std::vector<uint8_t> layoutBytes = randomLayout(c, heads, bs, ++seed, c.headMask);
        const bool masked = bs == 16;
        if (masked) {
          c.boolMask.assign((size_t)(c.S * c.L), 1);
          for (size_t e = 0; e < c.boolMask.size(); e += 3)
            c.boolMask[e] = 0;
        }
        Tensors ts;
        auto qv = randomFloats(c.B * c.Hq * c.S * c.D, 20),
             kv = randomFloats(c.B * c.Hkv * c.L * c.D, 21),
             vv = randomFloats(c.B * c.Hkv * c.L * c.Dv, 22);
        for (float &x : qv)
          x *= 3;
        const int64_t qb = (c.S + bs - 1) / bs, kb = (c.L + bs - 1) / bs;
        Tensor *layout = ts.make<uint8_t>(DS_BOOL, {heads, qb, kb}, layoutBytes);
        Tensor *mask = masked ? ts.make<uint8_t>(DS_BOOL, {c.S, c.L}, c.boolMask) : nullptr;
        Attributes attrs;
        attrs.set("block_size", intAttr(bs));
        if (causal) {
          attrs.set("is_causal", intAttr(1));
          attrs.set("causal_from_end", intAttr(1));
        }
        std::vector<float> want = naiveAttention(c, qv, kv, vv);
        std::string where = "block " + std::to_string(bs) + ", layout heads " +
                            std::to_string(heads) + (causal ? ", causal" : "");
        Tensor *q = ts.f32({c.B, c.Hq, c.S, c.D}, qv), *k = ts.f32({c.B, c.Hkv, c.L, c.D}, kv),
               *v = ts.f32({c.B, c.Hkv, c.L, c.Dv}, vv);
        Tensor *y = ts.empty(DS_F32, {c.B, c.Hq, c.S, c.Dv});
        ASSERT_TRUE(run("ds.block_sparse_attention", attrs, {q, k, v, layout, mask}, {y},
                        chunkedContext(5))
                        .ok())
            << where;
        expectNear(values<float>(y), want);
        // Query block 1 of head 0 hides every key: zeros.
        if (bs < c.S)
          for (int64_t i = bs; i < std::min<int64_t>(2 * bs, c.S); ++i)
            for (int64_t e = 0; e < c.Dv; ++e)
              ASSERT_EQ(values<float>(y)[(size_t)(i * c.Dv + e)], 0.0f) << where;
        if (bs == 7) { // the reference loop, in f64
          auto widen = [](const std::vector<float> &x) { return std::vector<double>(x.begin(), x.end()); };
          Tensor *q64 = ts.make<double>(DS_F64, {c.B, c.Hq, c.S, c.D}, widen(qv));
          Tensor *k64 = ts.make<double>(DS_F64, {c.B, c.Hkv, c.L, c.D}, widen(kv));
          Tensor *v64 = ts.make<double>(DS_F64, {c.B, c.Hkv, c.L, c.Dv}, widen(vv));
          Tensor *y64 = ts.empty(DS_F64, {c.B, c.Hq, c.S, c.Dv});
          ASSERT_TRUE(run("ds.block_sparse_attention", attrs, {q64, k64, v64, layout, mask}, {y64})
                          .ok())
              << where;
          std::vector<double> got = values<double>(y64);
          expectNear(std::vector<float>(got.begin(), got.end()), want);
        }
      }
}

// Keys of a hidden block are never read into a row: NaN / inf there leave
// the rows finite, in f32 (the tiled kernel) and f64 (the reference loop).
TEST(ContractionKernels, BlockSparseAttentionIgnoresWhatItHides) {
  AttentionCase c{1, 2, 2, 40, 40, 8, 8};
  const int64_t bs = 10;
  std::vector<uint8_t> layoutBytes(16, 1);
  for (int64_t r = 0; r < 4; ++r)
    layoutBytes[(size_t)(r * 4 + 2)] = 0; // key block 2 hidden from every query
  c.headMask.assign((size_t)(c.Hq * c.S * c.L), 1);
  for (int64_t h = 0; h < c.Hq; ++h)
    for (int64_t i = 0; i < c.S; ++i)
      for (int64_t j = 20; j < 30; ++j)
        c.headMask[(size_t)((h * c.S + i) * c.L + j)] = 0;
  auto qv = randomFloats(c.B * c.Hq * c.S * c.D, 5), kv = randomFloats(c.B * c.Hkv * c.L * c.D, 6),
       vv = randomFloats(c.B * c.Hkv * c.L * c.Dv, 7);
  for (int64_t h = 0; h < c.Hkv; ++h)
    for (int64_t j = 20; j < 30; ++j)
      for (int64_t e = 0; e < c.D; ++e) {
        kv[(size_t)((h * c.L + j) * c.D + e)] = j % 2 ? NAN : INFINITY;
        vv[(size_t)((h * c.L + j) * c.Dv + e)] = NAN;
      }
  std::vector<float> finiteK = kv, finiteV = vv; // the reference never reads them either
  for (float &x : finiteK)
    x = std::isfinite(x) ? x : 0.0f;
  for (float &x : finiteV)
    x = std::isfinite(x) ? x : 0.0f;
  std::vector<float> want = naiveAttention(c, qv, finiteK, finiteV);
  Tensors ts;
  Tensor *layout = ts.make<uint8_t>(DS_BOOL, {1, 4, 4}, layoutBytes);
  Attributes attrs;
  attrs.set("block_size", intAttr(bs));
  Tensor *y = ts.empty(DS_F32, {c.B, c.Hq, c.S, c.Dv});
  ASSERT_TRUE(run("ds.block_sparse_attention", attrs,
                  {ts.f32({c.B, c.Hq, c.S, c.D}, qv), ts.f32({c.B, c.Hkv, c.L, c.D}, kv),
                   ts.f32({c.B, c.Hkv, c.L, c.Dv}, vv), layout},
                  {y})
                  .ok());
  expectNear(values<float>(y), want);
  auto widen = [](const std::vector<float> &x) { return std::vector<double>(x.begin(), x.end()); };
  Tensor *y64 = ts.empty(DS_F64, {c.B, c.Hq, c.S, c.Dv});
  ASSERT_TRUE(run("ds.block_sparse_attention", attrs,
                  {ts.make<double>(DS_F64, {c.B, c.Hq, c.S, c.D}, widen(qv)),
                   ts.make<double>(DS_F64, {c.B, c.Hkv, c.L, c.D}, widen(kv)),
                   ts.make<double>(DS_F64, {c.B, c.Hkv, c.L, c.Dv}, widen(vv)), layout},
                  {y64})
                  .ok());
  std::vector<double> got = values<double>(y64);
  expectNear(std::vector<float>(got.begin(), got.end()), want);
}

TEST(ContractionKernels, BlockSparseAttentionRejectsAWrongLayout) {
  Tensors ts;
  Tensor *q = ts.f32({1, 2, 10, 4}, randomFloats(80, 1));
  Tensor *layout = ts.make<uint8_t>(DS_BOOL, {1, 2, 3}, std::vector<uint8_t>(6, 1));
  Tensor *y = ts.empty(DS_F32, {1, 2, 10, 4});
  Attributes attrs;
  attrs.set("block_size", intAttr(4)); // 10 queries and keys: 3 x 3 blocks
  Status s = run("ds.block_sparse_attention", attrs, {q, q, q, layout}, {y});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("layout [1, 2, 3] is not [1 or 2, 3, 3] for blocks of 4"),
            std::string::npos)
      << s.message();
}

// ds.block_layout for lengths read from shapes at run time: a decoder after
// a KV cache (diagonal from the last key) and an encoder, checked entry by
// entry against the pattern's words (local blocks back from the first row's
// diagonal block, strides back from the last row's, global blocks first).
TEST(ContractionKernels, BlockLayoutFromRunTimeLengths) {
  Tensors ts;
  // 10 queries after 14 cached keys (24 keys), blocks of 4: query block r
  // holds rows 4r..4r+3 whose diagonals are keys 14+4r .. 17+4r.
  Tensor *qs = ts.i64({4}, {1, 2, 10, 8}), *ks = ts.i64({4}, {1, 2, 24, 8});
  Attributes decoder;
  decoder.set("block_size", intAttr(4));
  decoder.set("local_blocks", intAttr(2));
  decoder.set("stride_blocks", intAttr(3));
  decoder.set("global_blocks", intAttr(1));
  decoder.set("is_causal", intAttr(1));
  decoder.set("causal_from_end", intAttr(1));
  Tensor *layout = ts.empty(DS_BOOL, {1, 3, 6});
  ASSERT_TRUE(run("ds.block_layout", decoder, {qs, ks}, {layout}).ok());
  // Row 0: diagonal blocks 3 (first row, key 14) and 4 (last row, key 17):
  // local 2..4, stride from 4: 1, global 0. Row 1: keys 18..21 -> blocks 4
  // and 5: local 3..5, stride 5, 2; global 0. Row 2 (rows 8, 9): keys
  // 22, 23 -> block 5: local 4, 5; stride 5, 2; global 0.
  const std::vector<uint8_t> want = {1, 1, 1, 1, 1, 0, //
                                     1, 0, 1, 1, 1, 1, //
                                     1, 0, 1, 0, 1, 1};
  EXPECT_EQ(values<uint8_t>(layout), want);

  // An encoder of 9 positions: local blocks on both sides, the first query
  // block sees every key block.
  Tensor *ns = ts.i64({3}, {1, 2, 9});
  Attributes encoder;
  encoder.set("block_size", intAttr(4));
  encoder.set("local_blocks", intAttr(2));
  encoder.set("global_blocks", intAttr(1));
  Tensor *both = ts.empty(DS_BOOL, {1, 3, 3});
  ASSERT_TRUE(run("ds.block_layout", encoder, {ns, ns}, {both}).ok());
  EXPECT_EQ(values<uint8_t>(both), (std::vector<uint8_t>{1, 1, 1, 1, 1, 1, 1, 1, 1}));
  encoder.set("local_blocks", intAttr(1));
  ASSERT_TRUE(run("ds.block_layout", encoder, {ns, ns}, {both}).ok());
  EXPECT_EQ(values<uint8_t>(both), (std::vector<uint8_t>{1, 1, 1, 1, 1, 0, 1, 0, 1}));
}

// Lengths from the inputs are bounded before the layout is allocated, and
// shapes without a length are refused.
TEST(ContractionKernels, BlockLayoutRefusesWhatItCannotBuild) {
  Tensors ts;
  Attributes attrs;
  attrs.set("block_size", intAttr(1));
  attrs.set("local_blocks", intAttr(1));
  std::vector<Shape> shapes(1);
  const CpuOp *op = findCpuOp("ds.block_layout");
  ASSERT_TRUE(op && op->shape);
  Tensor *huge = ts.i64({3}, {1, 1, (int64_t)1 << 40});
  Status s = op->shape(attrs, {huge, huge}, shapes);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("need more than 16777216 layout blocks"), std::string::npos)
      << s.message();
  // A diagonal offset near the int64 limits (an artifact may hold any).
  Tensor *ten = ts.i64({3}, {1, 1, 10});
  attrs.set("is_causal", intAttr(1));
  attrs.set("causal_offset", intAttr(INT64_MAX - 2));
  s = op->shape(attrs, {ten, ten}, shapes);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("exceed 2^60"), std::string::npos) << s.message();
  Tensor *shortShape = ts.i64({2}, {1, 5});
  s = op->shape(attrs, {shortShape, shortShape}, shapes);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("query_shape must hold a length at element 2"), std::string::npos)
      << s.message();
}

// A diagonal past the last key with a window (a band a graph wrote): row i
// sees keys max(0, d + i - W + 1) .. 9 of 10, so the offset may not simply
// be clamped to L + 1, nor a window capped before the offset is: d = 20,
// W = 15 and d = 30, W = 25 see [i + 6, 9]; d = 20, W = 121 sees every key;
// d and W at the int64 limit see [i + 1, 9]; d = 10^6, W = 5 sees nothing
// (rows give 0). Compared with the same keys as a boolean mask, f32 and f64.
TEST(ContractionKernels, AttentionWindowWithTheDiagonalPastTheKeys) {
  Tensors ts;
  const int64_t S = 6, L = 10, D = 8;
  struct Band {
    int64_t offset, window, firstKey; // row i keeps keys >= i + firstKey
  };
  for (Band band : {Band{20, 15, 6}, Band{30, 25, 6}, Band{20, 121, -100},
                    Band{INT64_MAX, INT64_MAX, 1}, Band{1000000, 5, 1000000}})
  for (DType dt : {DS_F32, DS_F64}) {
    auto make = [&](int64_t n, uint32_t seed) {
      std::vector<float> v = randomFloats(n * D, seed);
      return dt == DS_F32 ? ts.f32({1, 1, n, D}, v)
                          : ts.make<double>(DS_F64, {1, 1, n, D},
                                            std::vector<double>(v.begin(), v.end()));
    };
    Tensor *q = make(S, 60), *k = make(L, 61), *v = make(L, 62);
    std::vector<uint8_t> keep((size_t)(S * L));
    for (int64_t i = 0; i < S; ++i)
      for (int64_t j = 0; j < L; ++j)
        keep[(size_t)(i * L + j)] = j >= i + band.firstKey;
    Tensor *mask = ts.make<uint8_t>(DS_BOOL, {S, L}, keep);
    Tensor *banded = ts.empty(dt, {1, 1, S, D}), *masked = ts.empty(dt, {1, 1, S, D});
    Attributes attrs;
    attrs.set("is_causal", intAttr(1));
    attrs.set("causal_offset", intAttr(band.offset));
    attrs.set("window", intAttr(band.window));
    ASSERT_TRUE(run("ds.attention", attrs, {q, k, v}, {banded}).ok());
    ASSERT_TRUE(run("ds.attention", {}, {q, k, v, mask}, {masked}).ok());
    if (dt == DS_F32) {
      expectNear(values<float>(banded), values<float>(masked));
    } else {
      std::vector<double> got = values<double>(banded), want = values<double>(masked);
      for (size_t e = 0; e < got.size(); ++e)
        EXPECT_NEAR(got[e], want[e], 1e-12) << e;
    }
  }
}

// A window at least as long as the keys is plain causal attention, bit for bit.
TEST(ContractionKernels, AttentionWindowCoveringEverythingIsCausal) {
  Tensors ts;
  const int64_t S = 300, L = 300, D = 16;
  auto qv = randomFloats(S * D, 50), kv = randomFloats(L * D, 51), vv = randomFloats(L * D, 52);
  Tensor *q = ts.f32({1, 1, S, D}, qv), *k = ts.f32({1, 1, L, D}, kv),
         *v = ts.f32({1, 1, L, D}, vv);
  Tensor *dense = ts.empty(DS_F32, {1, 1, S, D}), *windowed = ts.empty(DS_F32, {1, 1, S, D});
  Attributes causal;
  causal.set("is_causal", intAttr(1));
  Attributes wide = causal;
  wide.set("window", intAttr(L));
  ASSERT_TRUE(run("ds.attention", causal, {q, k, v}, {dense}).ok());
  ASSERT_TRUE(run("ds.attention", wide, {q, k, v}, {windowed}).ok());
  EXPECT_EQ(values<float>(dense), values<float>(windowed));
}

//===----------------------------------------------------------------------===//
// sparse_attention
//===----------------------------------------------------------------------===//

/// Random key lists [S, K] (with repeats) and the boolean mask they mean.
std::vector<int64_t> randomIndices(int64_t S, int64_t K, int64_t L, uint32_t seed,
                                   std::vector<uint8_t> &mask) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int64_t> pick(0, L - 1);
  std::vector<int64_t> idx((size_t)(S * K));
  mask.assign((size_t)(S * L), 0);
  for (int64_t i = 0; i < S; ++i)
    for (int64_t e = 0; e < K; ++e) {
      int64_t j = e > 0 && e % 7 == 0 ? idx[(size_t)(i * K + e - 1)] : pick(gen); // repeats
      idx[(size_t)(i * K + e)] = j;
      mask[(size_t)(i * L + j)] = 1;
    }
  return idx;
}

// Top-k attention is dense attention with the mask the indices describe: a
// repeated index counts once; with is_causal listed future keys are hidden.
TEST(ContractionKernels, SparseAttentionEqualsDenseWithItsMask) {
  for (bool causal : {false, true}) {
    AttentionCase c{1, 4, 2, 50, 300, 16, 12};
    std::vector<int64_t> idx = randomIndices(c.S, 40, c.L, 60, c.boolMask);
    c.causal = causal;
    c.causalOffset = 250; // 250 cached keys in front of the 50 queries
    Tensors ts;
    auto qv = randomFloats(c.B * c.Hq * c.S * c.D, 20), kv = randomFloats(c.B * c.Hkv * c.L * c.D, 21),
         vv = randomFloats(c.B * c.Hkv * c.L * c.Dv, 22);
    for (float &x : qv)
      x *= 3;
    Tensor *q = ts.f32({c.B, c.Hq, c.S, c.D}, qv), *k = ts.f32({c.B, c.Hkv, c.L, c.D}, kv),
           *v = ts.f32({c.B, c.Hkv, c.L, c.Dv}, vv);
    Tensor *indices = ts.make<int64_t>(DS_I64, {1, 1, c.S, 40}, idx);
    Tensor *y = ts.empty(DS_F32, {c.B, c.Hq, c.S, c.Dv});
    Attributes attrs;
    if (causal) {
      attrs.set("is_causal", intAttr(1));
      attrs.set("causal_from_end", intAttr(1)); // L - S = 250, the offset above
    }
    ASSERT_TRUE(run("ds.sparse_attention", attrs, {q, k, v, indices}, {y}, chunkedContext(7)).ok());
    expectNear(values<float>(y), naiveAttention(c, qv, kv, vv));
  }
}

// Long lists for many queries take the masked dense path; same semantics.
TEST(ContractionKernels, SparseAttentionLongListsAsAMask) {
  for (bool causal : {false, true}) {
    AttentionCase c{1, 2, 2, 130, 200, 16, 16};
    std::vector<int64_t> idx = randomIndices(c.S, 60, c.L, 61, c.boolMask);
    c.causal = causal;
    c.causalOffset = 70;
    Tensors ts;
    auto qv = randomFloats(c.B * c.Hq * c.S * c.D, 20), kv = randomFloats(c.B * c.Hkv * c.L * c.D, 21),
         vv = randomFloats(c.B * c.Hkv * c.L * c.Dv, 22);
    Tensor *q = ts.f32({c.B, c.Hq, c.S, c.D}, qv), *k = ts.f32({c.B, c.Hkv, c.L, c.D}, kv),
           *v = ts.f32({c.B, c.Hkv, c.L, c.Dv}, vv);
    Tensor *indices = ts.make<int64_t>(DS_I64, {1, 1, c.S, 60}, idx);
    Tensor *y = ts.empty(DS_F32, {c.B, c.Hq, c.S, c.Dv});
    Attributes attrs;
    if (causal) {
      attrs.set("is_causal", intAttr(1));
      attrs.set("causal_offset", intAttr(70));
    }
    ASSERT_TRUE(run("ds.sparse_attention", attrs, {q, k, v, indices}, {y}, chunkedContext(3)).ok());
    expectNear(values<float>(y), naiveAttention(c, qv, kv, vv));
  }
}

// One list per head: each head follows its own.
TEST(ContractionKernels, SparseAttentionIndicesPerHead) {
  const int64_t H = 3, S = 20, L = 90, D = 8, K = 10;
  Tensors ts;
  auto qv = randomFloats(H * S * D, 70), kv = randomFloats(H * L * D, 71), vv = randomFloats(H * L * D, 72);
  std::vector<int64_t> idx;
  std::vector<std::vector<uint8_t>> masks(H);
  for (int64_t h = 0; h < H; ++h) {
    auto part = randomIndices(S, K, L, 80 + (uint32_t)h, masks[(size_t)h]);
    idx.insert(idx.end(), part.begin(), part.end());
  }
  Tensor *q = ts.f32({1, H, S, D}, qv), *k = ts.f32({1, H, L, D}, kv), *v = ts.f32({1, H, L, D}, vv);
  Tensor *indices = ts.make<int64_t>(DS_I64, {1, H, S, K}, idx);
  Tensor *y = ts.empty(DS_F32, {1, H, S, D});
  ASSERT_TRUE(run("ds.sparse_attention", {}, {q, k, v, indices}, {y}).ok());
  auto got = values<float>(y);
  for (int64_t h = 0; h < H; ++h) {
    AttentionCase c{1, 1, 1, S, L, D, D};
    c.boolMask = masks[(size_t)h];
    auto slice = [&](const std::vector<float> &x, int64_t rows) {
      return std::vector<float>(x.begin() + h * rows * D, x.begin() + (h + 1) * rows * D);
    };
    std::vector<float> head(got.begin() + h * S * D, got.begin() + (h + 1) * S * D);
    expectNear(head, naiveAttention(c, slice(qv, S), slice(kv, L), slice(vv, L)));
  }
}

TEST(ContractionKernels, SparseAttentionRejectsIndicesOutsideTheKeys) {
  Tensors ts;
  auto qv = randomFloats(4 * 8, 1), kv = randomFloats(6 * 8, 2);
  Tensor *q = ts.f32({1, 1, 4, 8}, qv), *k = ts.f32({1, 1, 6, 8}, kv);
  Tensor *indices = ts.make<int64_t>(DS_I64, {1, 1, 4, 2}, {0, 1, 2, 3, 4, 5, 6, 0});
  Tensor *y = ts.empty(DS_F32, {1, 1, 4, 8});
  Status s = run("ds.sparse_attention", {}, {q, k, k, indices}, {y});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("index 6 is outside the 6 keys"), std::string::npos) << s.message();
}

TEST(ContractionKernels, AttentionMaskAcrossTilesWithFullyMaskedRows) {
  AttentionCase c{1, 2, 2, 70, 520, 16, 16};
  c.boolMask.assign(70 * 520, 1);
  for (int64_t j = 0; j < 520; ++j) {
    c.boolMask[3 * 520 + j] = 0;               // row 3 sees nothing
    c.boolMask[65 * 520 + j] = j == 519 ? 1 : 0; // row 65 sees only the last key
  }
  for (int64_t i = 0; i < 70; ++i)
    c.boolMask[i * 520 + 300] = 0;
  checkAttention(c);
  AttentionCase f{1, 1, 1, 66, 257, 8, 8};
  f.floatMask = randomFloats(66 * 257, 24);
  for (int64_t j = 0; j < 257; ++j)
    f.floatMask[64 * 257 + j] = j < 256 ? -INFINITY : 0.5f; // row 64 sees key 256 only
  checkAttention(f);
}

TEST(ContractionKernels, AttentionNaNStaysInItsRow) {
  Tensors ts;
  const int64_t S = 80, L = 300, D = 8;
  auto qv = randomFloats(S * D, 40), kv = randomFloats(L * D, 41), vv = randomFloats(L * D, 42);
  qv[70 * D + 3] = NAN; // query 70's scores are all NaN
  Tensor *q = ts.f32({1, 1, S, D}, qv), *k = ts.f32({1, 1, L, D}, kv),
         *v = ts.f32({1, 1, L, D}, vv);
  Tensor *y = ts.empty(DS_F32, {1, 1, S, D});
  ASSERT_TRUE(run("ds.attention", {}, {q, k, v}, {y}, chunkedContext(3)).ok());
  auto got = values<float>(y);
  for (int64_t i = 0; i < S; ++i)
    for (int64_t e = 0; e < D; ++e)
      EXPECT_EQ(std::isnan(got[i * D + e]), i == 70) << i << "," << e;
}

//===----------------------------------------------------------------------===//
// rotary_embedding
//===----------------------------------------------------------------------===//

TEST(ContractionKernels, RotaryEmbeddingHalvesAndInterleaved) {
  Tensors ts;
  const int64_t B = 1, H = 2, S = 3, D = 4, half = 2, maxPos = 5;
  auto xv = randomFloats(B * H * S * D, 30), cv = randomFloats(maxPos * half, 31),
       sv = randomFloats(maxPos * half, 32);
  std::vector<int64_t> pos{4, 0, 2};
  Tensor *x = ts.f32({B, H, S, D}, xv), *cosT = ts.f32({maxPos, half}, cv),
         *sinT = ts.f32({maxPos, half}, sv);
  Tensor *p = ts.make<int64_t>(DS_I64, {B, S}, pos);
  Tensor *y = ts.empty(DS_F32, {B, H, S, D});
  for (bool interleaved : {false, true}) {
    Attributes attrs;
    attrs.set("rotary_embedding_dim", intAttr(0));
    attrs.set("num_heads", intAttr(0));
    if (interleaved)
      attrs.set("interleaved", intAttr(1));
    ASSERT_TRUE(run("ds.rotary_embedding", attrs, {x, cosT, sinT, p}, {y}).ok());
    std::vector<float> want(xv.size());
    for (int64_t h = 0; h < H; ++h)
      for (int64_t s = 0; s < S; ++s) {
        const float *xi = &xv[(h * S + s) * D];
        float *yi = &want[(h * S + s) * D];
        for (int64_t i = 0; i < half; ++i) {
          float c = cv[pos[s] * half + i], sn = sv[pos[s] * half + i];
          int64_t a = interleaved ? 2 * i : i, b = interleaved ? 2 * i + 1 : i + half;
          yi[a] = c * xi[a] - sn * xi[b];
          yi[b] = sn * xi[a] + c * xi[b];
        }
      }
    expectNear(values<float>(y), want);
  }
  Tensor *badPos = ts.make<int64_t>(DS_I64, {B, S}, {0, 5, 1});
  Attributes attrs;
  EXPECT_FALSE(run("ds.rotary_embedding", attrs, {x, cosT, sinT, badPos}, {y}).ok());
}

//===----------------------------------------------------------------------===//
// quantization (QuantKernels.cpp)
//===----------------------------------------------------------------------===//

Attributes quantAttrs(int64_t axis, int64_t block) {
  Attributes a;
  a.set("axis", intAttr(axis));
  a.set("block_size", intAttr(block));
  a.set("saturate", intAttr(1));
  return a;
}

TEST(QuantKernels, QuantizeRoundsHalfToEvenAndSaturates) {
  Tensors ts;
  Tensor *x = ts.f32({8}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 1000, -1000, 3.2f});
  Tensor *scale = ts.f32({}, {1});
  Tensor *zp = ts.make<uint8_t>(DS_U8, {}, {10});
  Tensor *y = ts.empty(DS_U8, {8});
  ASSERT_TRUE(run("ds.quantize", quantAttrs(1, 0), {x, scale, zp}, {y}).ok());
  EXPECT_EQ(values<uint8_t>(y), (std::vector<uint8_t>{10, 12, 12, 10, 8, 255, 0, 13}));
  Tensor *y8 = ts.empty(DS_I8, {8});
  Tensor *zp8 = ts.make<int8_t>(DS_I8, {}, {0});
  ASSERT_TRUE(run("ds.quantize", quantAttrs(1, 0), {x, scale, zp8}, {y8}).ok());
  EXPECT_EQ(values<int8_t>(y8), (std::vector<int8_t>{0, 2, 2, 0, -2, 127, -128, 3}));
}

TEST(QuantKernels, PerAxisAndBlockedLayouts) {
  Tensors ts;
  Tensor *x = ts.f32({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor *perAxis = ts.f32({2}, {1, 2});
  Tensor *zp = ts.make<int8_t>(DS_I8, {2}, {0, 1});
  Tensor *y = ts.empty(DS_I8, {2, 4});
  ASSERT_TRUE(run("ds.quantize", quantAttrs(0, 0), {x, perAxis, zp}, {y}).ok());
  EXPECT_EQ(values<int8_t>(y), (std::vector<int8_t>{1, 2, 3, 4, 3, 4, 5, 5}));
  // Blocks of 2 along axis 1: scale [2, 2].
  Tensor *blocked = ts.f32({2, 2}, {1, 2, 4, 8});
  ASSERT_TRUE(run("ds.quantize", quantAttrs(1, 2), {x, blocked, nullptr}, {y}).ok());
  EXPECT_EQ(values<int8_t>(y), (std::vector<int8_t>{1, 2, 2, 2, 1, 2, 1, 1}));
  Tensor *back = ts.empty(DS_F32, {2, 4});
  ASSERT_TRUE(run("ds.dequantize", quantAttrs(1, 2), {y, blocked, nullptr}, {back}).ok());
  EXPECT_EQ(values<float>(back), (std::vector<float>{1, 2, 4, 4, 4, 8, 8, 8}));
}

TEST(QuantKernels, DequantizeSubtractsZeroPoint) {
  Tensors ts;
  Tensor *q = ts.make<uint8_t>(DS_U8, {4}, {0, 128, 255, 10});
  Tensor *scale = ts.f32({}, {0.5f});
  Tensor *zp = ts.make<uint8_t>(DS_U8, {}, {128});
  Tensor *y = ts.empty(DS_F32, {4});
  ASSERT_TRUE(run("ds.dequantize", quantAttrs(1, 0), {q, scale, zp}, {y}).ok());
  EXPECT_EQ(values<float>(y), (std::vector<float>{-64, 0, 63.5f, -59}));
}

TEST(QuantKernels, DynamicQuantizeOnnxExample) {
  Tensors ts;
  Tensor *x = ts.f32({6}, {0, 2, -3, -2.5f, 1.34f, 0.5f});
  Tensor *y = ts.empty(DS_U8, {6});
  Tensor *scale = ts.empty(DS_F32, {});
  Tensor *zp = ts.empty(DS_U8, {});
  ASSERT_TRUE(run("ds.dynamic_quantize", {}, {x}, {y, scale, zp}).ok());
  EXPECT_NEAR(scale->as<float>()[0], 0.019607844f, 1e-9f);
  EXPECT_EQ(zp->as<uint8_t>()[0], 153);
  EXPECT_EQ(values<uint8_t>(y), (std::vector<uint8_t>{153, 255, 0, 26, 221, 179}));
}

} // namespace

//===----------------------------------------------------------------------===//
// matmul_integer
//===----------------------------------------------------------------------===//

namespace {
/// ds.matmul_integer of random 8-bit data against an exact loop: u8 or s8
/// lhs, u8 or s8 rhs, zero points absent, one value or one per column; at
/// sizes that take oneDNN's row-blocked int8 GEMM where it runs.
void checkIntegerMatmul(DType aType, DType bType, std::vector<int64_t> aShape,
                        std::vector<int64_t> bShape, bool lhsZp, int rhsZp /*0 none, 1 one, 2 per column*/) {
  std::mt19937 gen(aShape.back() * 31 + bShape.back());
  auto bytes = [&](DType t, int64_t n) {
    std::vector<uint8_t> v((size_t)n);
    std::uniform_int_distribution<int> d(0, 255);
    for (uint8_t &x : v)
      x = (uint8_t)d(gen);
    (void)t;
    return v;
  };
  auto value = [](DType t, uint8_t raw) { return t == DS_U8 ? (int)raw : (int)(int8_t)raw; };
  int64_t M = aShape[aShape.size() - 2], K = aShape.back(), N = bShape.back();
  int64_t aBatch = 1, bBatch = 1;
  for (size_t i = 0; i + 2 < aShape.size(); ++i)
    aBatch *= aShape[i];
  for (size_t i = 0; i + 2 < bShape.size(); ++i)
    bBatch *= bShape[i];
  int64_t batch = std::max(aBatch, bBatch);
  std::vector<uint8_t> av = bytes(aType, aBatch * M * K), bv = bytes(bType, bBatch * K * N);
  std::vector<uint8_t> zav = bytes(aType, 1), zbv = bytes(bType, rhsZp == 2 ? N : 1);
  Tensors ts;
  Tensor *a = ts.make<uint8_t>(aType, aShape, av), *b = ts.make<uint8_t>(bType, bShape, bv);
  std::vector<const Tensor *> in{a, b, nullptr, nullptr};
  if (lhsZp)
    in[2] = ts.make<uint8_t>(aType, {}, zav);
  if (rhsZp)
    in[3] = ts.make<uint8_t>(bType, rhsZp == 2 ? std::vector<int64_t>{N} : std::vector<int64_t>{1}, zbv);
  std::vector<int64_t> yShape = aBatch >= bBatch ? aShape : bShape;
  yShape[yShape.size() - 2] = M;
  yShape.back() = N;
  int za = lhsZp ? value(aType, zav[0]) : 0;
  std::vector<int32_t> want;
  for (int64_t bi = 0; bi < batch; ++bi)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        int zb = rhsZp ? value(bType, zbv[rhsZp == 2 ? j : 0]) : 0;
        int64_t s = 0;
        for (int64_t k = 0; k < K; ++k)
          s += (int64_t)(value(aType, av[(aBatch == 1 ? 0 : bi) * M * K + i * K + k]) - za) *
               (value(bType, bv[(bBatch == 1 ? 0 : bi) * K * N + k * N + j]) - zb);
        want.push_back((int32_t)s);
      }
  for (KernelContext ctx : {serialContext(), chunkedContext(3)}) {
    Tensor *y = ts.empty(DS_I32, yShape);
    ASSERT_TRUE(run("ds.matmul_integer", {}, in, {y}, ctx).ok());
    EXPECT_EQ(values<int32_t>(y), want);
  }
}
} // namespace

TEST(ContractionKernels, MatmulIntegerIsExact) {
  // The shapes of dynamic quantization: u8 activations with a zero point,
  // s8 weights, symmetric or per column; large enough for row blocks.
  checkIntegerMatmul(DS_U8, DS_I8, {2, 160, 256}, {256, 96}, true, 0);
  checkIntegerMatmul(DS_U8, DS_I8, {300, 128}, {128, 80}, true, 2);
  checkIntegerMatmul(DS_I8, DS_I8, {4, 16, 32}, {4, 32, 8}, true, 1);
  checkIntegerMatmul(DS_U8, DS_U8, {3, 64, 200}, {200, 48}, true, 2);
  checkIntegerMatmul(DS_I8, DS_U8, {7, 9}, {9, 5}, false, 0);
}

TEST(ContractionKernels, MatmulIntegerRejectsBadZeroPoints) {
  Tensors ts;
  Tensor *a = ts.make<uint8_t>(DS_U8, {2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor *b = ts.make<int8_t>(DS_I8, {3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor *zb = ts.make<int8_t>(DS_I8, {3}, {1, 2, 3}); // 3 values for 2 columns
  Tensor *y = ts.empty(DS_I32, {2, 2});
  Status s = run("ds.matmul_integer", {}, {a, b, nullptr, zb}, {y});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("one per column"), std::string::npos) << s.message();
  Tensor *za = ts.make<int8_t>(DS_I8, {}, {0}); // i8 zero point of a u8 operand
  s = run("ds.matmul_integer", {}, {a, b, za, nullptr}, {y});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("element type"), std::string::npos) << s.message();
}

/// ds.conv_integer against a direct 2-D reference: random 8-bit data,
/// zero points (the input's also where padding reads), groups and strides.
void checkIntegerConv(DType xType, DType wType, int64_t N, int64_t C, int64_t H, int64_t W,
                      int64_t M, int64_t k, int64_t stride, int64_t pad, int64_t group,
                      int wZp /*0 none, 1 one, 2 per channel*/) {
  std::mt19937 gen((unsigned)(C * 131 + M * 7 + k + group));
  std::uniform_int_distribution<int> d(0, 255);
  auto bytes = [&](int64_t n) {
    std::vector<uint8_t> v((size_t)n);
    for (uint8_t &x : v)
      x = (uint8_t)d(gen);
    return v;
  };
  auto value = [](DType t, uint8_t raw) { return t == DS_U8 ? (int)raw : (int)(int8_t)raw; };
  const int64_t Cg = C / group, Mg = M / group;
  const int64_t OH = (H + 2 * pad - k) / stride + 1, OW = (W + 2 * pad - k) / stride + 1;
  std::vector<uint8_t> xv = bytes(N * C * H * W), wv = bytes(M * Cg * k * k);
  std::vector<uint8_t> zxv = bytes(1), zwv = bytes(wZp == 2 ? M : 1);
  Tensors ts;
  Tensor *x = ts.make<uint8_t>(xType, {N, C, H, W}, xv);
  Tensor *w = ts.make<uint8_t>(wType, {M, Cg, k, k}, wv);
  Tensor *zx = ts.make<uint8_t>(xType, {}, zxv);
  Tensor *zw = wZp ? ts.make<uint8_t>(wType, wZp == 2 ? std::vector<int64_t>{M}
                                                      : std::vector<int64_t>{},
                                      zwv)
                   : nullptr;
  std::vector<int32_t> want;
  const int zxi = value(xType, zxv[0]);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m) {
      int zwi = wZp ? value(wType, zwv[wZp == 2 ? m : 0]) : 0;
      int64_t g = m / Mg;
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          int64_t s = 0;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t i = 0; i < k; ++i)
              for (int64_t j = 0; j < k; ++j) {
                int64_t h = oh * stride - pad + i, wc = ow * stride - pad + j;
                int xval = (h < 0 || h >= H || wc < 0 || wc >= W)
                               ? zxi
                               : value(xType, xv[(size_t)(((n * C + g * Cg + c) * H + h) * W + wc)]);
                int wval = value(wType, wv[(size_t)(((m * Cg + c) * k + i) * k + j)]);
                s += (int64_t)(xval - zxi) * (wval - zwi);
              }
          want.push_back((int32_t)s);
        }
    }
  Attributes a = attrs({{"strides", intsAttr({stride, stride})},
                        {"pads", intsAttr({pad, pad, pad, pad})},
                        {"dilations", intsAttr({1, 1})},
                        {"group", intAttr(group)}});
  for (KernelContext ctx : {serialContext(), chunkedContext(3)}) {
    Tensor *y = ts.empty(DS_I32, {N, M, OH, OW});
    Status s = run("ds.conv_integer", a, {x, w, zx, zw}, {y}, ctx);
    ASSERT_TRUE(s.ok()) << s.message();
    ASSERT_EQ(values<int32_t>(y), want);
  }
}

TEST(ContractionKernels, ConvIntegerIsExact) {
  // Static quantization's shapes (u8 activations, s8 weights, symmetric),
  // large enough for the int8 GEMM's row blocks; then every other case.
  checkIntegerConv(DS_U8, DS_I8, 1, 32, 20, 20, 64, 3, 1, 1, 1, 0);
  checkIntegerConv(DS_U8, DS_I8, 2, 16, 9, 11, 24, 3, 2, 1, 1, 2);
  checkIntegerConv(DS_U8, DS_U8, 1, 8, 7, 7, 8, 3, 1, 2, 4, 2); // grouped
  checkIntegerConv(DS_I8, DS_I8, 1, 6, 5, 5, 6, 1, 1, 0, 1, 1); // pointwise
  checkIntegerConv(DS_I8, DS_U8, 1, 4, 6, 6, 4, 2, 1, 0, 4, 2); // depthwise
}

TEST(ContractionKernels, ConvIntegerRejectsBadZeroPoints) {
  Tensors ts;
  Tensor *x = ts.make<uint8_t>(DS_U8, {1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor *w = ts.make<int8_t>(DS_I8, {2, 1, 1, 1}, {1, 2});
  Tensor *zw = ts.make<int8_t>(DS_I8, {3}, {1, 2, 3}); // 3 values for 2 channels
  Tensor *y = ts.empty(DS_I32, {1, 2, 2, 2});
  Attributes a = attrs({{"strides", intsAttr({1, 1})}, {"pads", intsAttr({0, 0, 0, 0})},
                        {"dilations", intsAttr({1, 1})}, {"group", intAttr(1)}});
  Status s = run("ds.conv_integer", a, {x, w, nullptr, zw}, {y});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("one per output channel"), std::string::npos) << s.message();
}
