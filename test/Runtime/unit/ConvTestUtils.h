//===- ConvTestUtils.h - 2-D convolution cases and reference ----*- C++ -*-===//
//
// A 2-D convolution's geometry, its ds.conv attributes and a naive
// reference loop in double, shared by the convolution kernel tests.
//
//===----------------------------------------------------------------------===//
#ifndef DS_TEST_RUNTIME_UNIT_CONVTESTUTILS_H
#define DS_TEST_RUNTIME_UNIT_CONVTESTUTILS_H

#include "KernelTestUtils.h"
#include "cpu/Window.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace dsrt::test {

struct Conv2D {
  int64_t N, C, H, W, M, KH, KW, group;
  int64_t sh, sw, pt, pl, pb, pr, dh, dw;
  int64_t OH() const { return (H + pt + pb - ((KH - 1) * dh + 1)) / sh + 1; }
  int64_t OW() const { return (W + pl + pr - ((KW - 1) * dw + 1)) / sw + 1; }
};

inline Attributes convAttrs(const Conv2D &p) {
  Attributes attrs;
  attrs.set("strides", intsAttr({p.sh, p.sw}));
  attrs.set("pads", intsAttr({p.pt, p.pl, p.pb, p.pr}));
  attrs.set("dilations", intsAttr({p.dh, p.dw}));
  attrs.set("group", intAttr(p.group));
  return attrs;
}

/// The window geometry the convolution kernels take.
inline cpu::Window windowOf(const Conv2D &p) {
  cpu::Window w;
  w.spatial = 2;
  w.in = {p.H, p.W};
  w.kernel = {p.KH, p.KW};
  w.out = {p.OH(), p.OW()};
  w.strides = {p.sh, p.sw};
  w.padBegin = {p.pt, p.pl};
  w.padEnd = {p.pb, p.pr};
  w.dilations = {p.dh, p.dw};
  w.finish();
  return w;
}

/// The convolution in double, rounded to float once (bias: empty or M).
inline std::vector<float> naiveConv(const Conv2D &p, const std::vector<float> &x,
                                    const std::vector<float> &w, const std::vector<float> &bias) {
  int64_t OH = p.OH(), OW = p.OW(), Cg = p.C / p.group, Mg = p.M / p.group;
  std::vector<float> y((size_t)(p.N * p.M * OH * OW));
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t m = 0; m < p.M; ++m)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double s = bias.empty() ? 0.0 : bias[(size_t)m];
          int64_t g = m / Mg;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t kh = 0; kh < p.KH; ++kh)
              for (int64_t kw = 0; kw < p.KW; ++kw) {
                int64_t ih = oh * p.sh - p.pt + kh * p.dh, iw = ow * p.sw - p.pl + kw * p.dw;
                if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W)
                  continue;
                s += (double)x[(size_t)(((n * p.C + g * Cg + c) * p.H + ih) * p.W + iw)] *
                     w[(size_t)(((m * Cg + c) * p.KH + kh) * p.KW + kw)];
              }
          y[(size_t)(((n * p.M + m) * OH + oh) * OW + ow)] = (float)s;
        }
  return y;
}

/// ds.conv through its CPU kernel on `ctx`. The weight tensor reads `wv`
/// in place: the address a session's packed constants are found by.
inline std::vector<float> runConvKernel(const Conv2D &p, const std::vector<float> &xv,
                                        const std::vector<float> &wv, const std::vector<float> &bv,
                                        KernelContext ctx) {
  Tensors ts;
  Tensor *x = ts.f32({p.N, p.C, p.H, p.W}, xv);
  Tensor *w = ts.f32({p.M, p.C / p.group, p.KH, p.KW}, wv);
  w->data = const_cast<float *>(wv.data());
  Tensor *b = ts.f32({p.M}, bv);
  Tensor *y = ts.empty(DS_F32, {p.N, p.M, p.OH(), p.OW()});
  Status s = run("ds.conv", convAttrs(p), {x, w, b}, {y}, ctx);
  EXPECT_TRUE(s.ok()) << s.message();
  return s.ok() ? values<float>(y) : std::vector<float>();
}

/// f16 bits of each value.
inline std::vector<uint16_t> halfBits(const std::vector<float> &v) {
  std::vector<uint16_t> b;
  for (float f : v)
    b.push_back(cpu::floatToHalf(f));
  return b;
}

/// Each value rounded to f16 and back.
inline std::vector<float> roundedToHalf(std::vector<float> v) {
  for (float &f : v)
    f = cpu::halfToFloat(cpu::floatToHalf(f));
  return v;
}

/// One f32 convolution per packed path of Session::packWeights: direct
/// (stride 2, a map too large to go by pixels), Winograd, 1 x 1 by pixels.
inline const Conv2D kPackedPathCases[3] = {
    {2, 16, 34, 33, 24, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1},
    {1, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {1, 64, 7, 7, 128, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},
};

/// The 8-bit convolutions' reference and checks (cpu/IntegerDirectConv.h,
/// cpu/IntegerConvAvx2.h).
/// sum (x - zx)(w - zw) per output, wrapping in 32 bits; padding reads zx.
inline std::vector<int32_t> exactIntegerConv(const Conv2D &p, const std::vector<uint8_t> &x,
                                             bool xSigned, int zx, const std::vector<uint8_t> &w,
                                             int zw) {
  const int64_t OH = p.OH(), OW = p.OW(), Cg = p.C / p.group, Mg = p.M / p.group;
  auto xval = [&](uint8_t b) { return xSigned ? (int)(int8_t)b : (int)b; };
  std::vector<int32_t> y((size_t)(p.N * p.M * OH * OW));
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t m = 0; m < p.M; ++m)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          uint32_t acc = 0;
          const int64_t g = m / Mg;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t kh = 0; kh < p.KH; ++kh)
              for (int64_t kw = 0; kw < p.KW; ++kw) {
                const int64_t ih = oh * p.sh - p.pt + kh * p.dh, iw = ow * p.sw - p.pl + kw * p.dw;
                const bool in = ih >= 0 && ih < p.H && iw >= 0 && iw < p.W;
                const int v =
                    in ? xval(x[(size_t)(((n * p.C + g * Cg + c) * p.H + ih) * p.W + iw)]) : zx;
                const int wv = (int)(int8_t)w[(size_t)(((m * Cg + c) * p.KH + kh) * p.KW + kw)];
                acc += (uint32_t)((v - zx) * (wv - zw));
              }
          y[(size_t)(((n * p.M + m) * OH + oh) * OW + ow)] = (int32_t)acc;
        }
  return y;
}

/// ds.conv_integer through its CPU kernel; the weights are read in place
/// (the address the packed constants are found by).
inline std::vector<int32_t> runConvInteger(const Conv2D &p, const std::vector<uint8_t> &xv,
                                           bool xSigned, uint8_t zx, const std::vector<uint8_t> &wv,
                                           const int8_t *zw, KernelContext ctx) {
  Tensors ts;
  const DType xType = xSigned ? DS_I8 : DS_U8;
  Tensor *x = ts.make<uint8_t>(xType, {p.N, p.C, p.H, p.W}, xv);
  Tensor *w = ts.make<uint8_t>(DS_I8, {p.M, p.C / p.group, p.KH, p.KW}, wv);
  w->data = const_cast<uint8_t *>(wv.data());
  Tensor *zxt = ts.make<uint8_t>(xType, {}, {zx});
  Tensor *zwt = zw ? ts.make<uint8_t>(DS_I8, {}, {(uint8_t)*zw}) : nullptr;
  Tensor *y = ts.empty(DS_I32, {p.N, p.M, p.OH(), p.OW()});
  Status s = run("ds.conv_integer", convAttrs(p), {x, w, zxt, zwt}, {y}, ctx);
  EXPECT_TRUE(s.ok()) << s.message();
  return s.ok() ? values<int32_t>(y) : std::vector<int32_t>();
}

inline void expectEqualSums(const std::vector<int32_t> &got, const std::vector<int32_t> &want,
                            const std::string &what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i] && bad++ < 5)
      ADD_FAILURE() << what << " [" << i << "]: " << got[i] << " != " << want[i];
  EXPECT_EQ(bad, 0u) << what;
}

} // namespace dsrt::test

#endif // DS_TEST_RUNTIME_UNIT_CONVTESTUTILS_H
