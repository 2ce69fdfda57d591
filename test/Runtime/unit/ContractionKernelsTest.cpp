//===- ContractionKernelsTest.cpp - matmul, conv, pool, einsum, quant -----===//
//
// Calls the CPU kernels of MatmulKernels.cpp, ConvKernels.cpp and
// QuantKernels.cpp directly, against naive reference loops written here
// (attention: AttentionKernelsTest.cpp).
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
