//===- PoolTest.cpp - 2-D max and average pooling -------------------------===//
//
// cpu/Pool2D's max (separable: columns, then windows) and average
// (interior tap by tap, borders per output) against a reference that
// visits each window in row-major order:
// max exact, NaN wherever a window holds one, -inf for a window of -inf,
// the lowest float for a window wholly in the padding; average exact in
// the same order.
//
//===----------------------------------------------------------------------===//
#include "KernelTestUtils.h"
#include "cpu/KernelUtils.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace {
using namespace dsrt;
using namespace dsrt::test;

struct Pool {
  int64_t planes, H, W, KH, KW, SH, SW, PT, PL, PB, PR;
  bool ceil = false; ///< ceil_mode: a last, partial window where one starts inside
  static int64_t out(int64_t in, int64_t k, int64_t s, int64_t pb, int64_t pe, bool ceil) {
    const int64_t extent = in + pb + pe - k;
    int64_t o = (ceil ? (extent + s - 1) / s : extent / s) + 1;
    return ceil && (o - 1) * s >= in + pb ? o - 1 : o;
  }
  int64_t OH() const { return out(H, KH, SH, PT, PB, ceil); }
  int64_t OW() const { return out(W, KW, SW, PL, PR, ceil); }
};

std::vector<float> referencePool(const Pool &p, const std::vector<float> &x, bool max,
                                 bool includePad) {
  std::vector<float> y;
  for (int64_t c = 0; c < p.planes; ++c)
    for (int64_t oh = 0; oh < p.OH(); ++oh)
      for (int64_t ow = 0; ow < p.OW(); ++ow) {
        float best = -std::numeric_limits<float>::infinity(), sum = 0.0f;
        bool nan = false;
        int64_t valid = 0, padded = 0;
        for (int64_t kh = 0; kh < p.KH; ++kh)
          for (int64_t kw = 0; kw < p.KW; ++kw) {
            const int64_t h = oh * p.SH - p.PT + kh, w = ow * p.SW - p.PL + kw;
            padded += h < p.H + p.PB && w < p.W + p.PR;
            if (h < 0 || h >= p.H || w < 0 || w >= p.W)
              continue;
            const float v = x[(size_t)((c * p.H + h) * p.W + w)];
            ++valid;
            nan |= v != v;
            best = v > best ? v : best;
            sum += v;
          }
        const int64_t count = includePad ? padded : valid;
        const float lowest = std::numeric_limits<float>::lowest(); // no element at all
        y.push_back(max ? (nan ? NAN : valid ? best : lowest) : count ? sum / (float)count : 0.0f);
      }
  return y;
}

/// ds.pool's attributes for `p`.
Attributes poolAttrs(const Pool &p, const char *kind, bool includePad) {
  Attributes a;
  a.set("kind", strAttr(kind));
  a.set("kernel_shape", intsAttr({p.KH, p.KW}));
  a.set("strides", intsAttr({p.SH, p.SW}));
  a.set("pads", intsAttr({p.PT, p.PL, p.PB, p.PR}));
  a.set("dilations", intsAttr({1, 1}));
  a.set("ceil_mode", intAttr(p.ceil));
  a.set("count_include_pad", intAttr(includePad));
  return a;
}

TEST(Pool2D, InteriorAndBordersMatchTheWindowOrder) {
  const Pool cases[] = {
      {3, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1},      // ResNet's stem pool
      {2, 17, 45, 2, 2, 2, 2, 0, 0, 0, 0},      // no padding, odd sizes
      {2, 9, 40, 3, 5, 1, 3, 2, 0, 1, 4},       // strides (1, 3), asymmetric pads
      {1, 6, 7, 4, 4, 1, 1, 3, 3, 3, 3},        // windows wholly in the padding
      {2, 5, 70, 1, 7, 1, 2, 0, 3, 0, 3},       // a long row, 1-row kernel
      {1, 4, 3, 2, 5, 1, 1, 0, 2, 0, 2},        // no interior column
      {2, 5, 6, 2, 2, 1, 1, 2, 2, 2, 3},        // pads wider than the window
      {1, 3, 40, 2, 3, 2, 2, 3, 4, 3, 5},       // the same at stride 2 over 16+ outputs
      {1, 2, 0, 1, 2, 1, 1, 0, 1, 0, 1},        // rows of no column: only padding
      {1, 2, 3, 1, 2, 1, 1, 0, 3000, 0, 3000},  // pads far wider than the row (generic loop)
      {2, 9, 70, 3, 3, 2, 2, 1, 1, 1, 1},       // stride 2 in registers, a last partial block
      {1, 4, 40, 3, 3, 2, 2, 1, 2, 1, 2},       // stride 2, a left pad of 2
      {1, 5, 100, 2, 4, 1, 3, 0, 1, 0, 2},      // stride 3 over 16+ outputs
      {1, 6, 34, 3, 3, 2, 2, 0, 0, 0, 0, true}, // ceil mode: the last window past the input
      {1, 7, 20, 3, 3, 3, 1, 1, 1, 1, 1, true}, // ceil mode rows, stride 1 columns
  };
  for (const Pool &p : cases) {
    auto xv = randomFloats((size_t)(p.planes * p.H * p.W), 71);
    for (size_t i = 5; i < xv.size(); i += 37) // NaN and infinities in some windows
      xv[i] = i % 3 == 0 ? NAN : i % 3 == 1 ? INFINITY : -INFINITY;
    for (int64_t i = 0; i < p.W && i < 4; ++i) // a run of -inf: windows of only -inf
      xv[(size_t)((p.H - 1) * p.W + i)] = -INFINITY;
    for (const char *kind : {"max", "avg"})
      for (bool includePad : {false, true}) {
        const std::string what = std::string(kind) + " " + std::to_string(p.KH) + "x" +
                                 std::to_string(p.KW) + " on " + std::to_string(p.H) + "x" +
                                 std::to_string(p.W) + (includePad ? " counting pads" : "");
        const Attributes a = poolAttrs(p, kind, includePad);
        const std::vector<float> want =
            referencePool(p, xv, std::string(kind) == "max", includePad);
        for (KernelContext ctx : {serialContext(), chunkedContext(3)}) {
          Tensors ts;
          Tensor *x = ts.f32({1, p.planes, p.H, p.W}, xv);
          Tensor *y = ts.empty(DS_F32, {1, p.planes, p.OH(), p.OW()});
          ASSERT_TRUE(run("ds.pool", a, {x}, {y}, ctx).ok()) << what;
          const std::vector<float> got = values<float>(y);
          ASSERT_EQ(got.size(), want.size()) << what;
          for (size_t i = 0; i < got.size(); ++i) {
            if (std::isnan(want[i]))
              EXPECT_TRUE(std::isnan(got[i])) << what << " [" << i << "]";
            else
              EXPECT_EQ(got[i], want[i]) << what << " [" << i << "]";
          }
        }
      }
  }
}

/// Max pooling of u8 / i8 data (QDQ models pool the integers) against the
/// same reference on the values as floats, windows wholly in the padding
/// giving the type's lowest value.
TEST(Pool2D, MaxOfBytesMatchesTheWindowOrder) {
  const Pool cases[] = {
      {3, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1},      // ResNet's stem pool
      {2, 17, 45, 2, 2, 2, 2, 0, 0, 0, 0},      // no padding, odd sizes
      {2, 9, 40, 3, 5, 1, 3, 2, 0, 1, 4},       // strides (1, 3), asymmetric pads
      {1, 6, 7, 4, 4, 1, 1, 3, 3, 3, 3},        // windows wholly in the padding
      {2, 9, 70, 3, 3, 2, 2, 1, 1, 1, 1},       // stride 2 over 16+ outputs
      {1, 6, 34, 3, 3, 2, 2, 0, 0, 0, 0, true}, // ceil mode
  };
  for (const Pool &p : cases)
    for (DType type : {DS_U8, DS_I8}) {
      const bool isSigned = type == DS_I8;
      const std::string what = std::string(isSigned ? "i8 " : "u8 ") + std::to_string(p.KH) + "x" +
                               std::to_string(p.KW) + " on " + std::to_string(p.H) + "x" +
                               std::to_string(p.W);
      std::vector<uint8_t> xv = randomBytes((size_t)(p.planes * p.H * p.W), 73);
      for (size_t i = 0; i < xv.size() && i < 8; ++i) // the extremes of the type
        xv[i] = i % 2 ? 0x80 : 0x7F;
      std::vector<float> xf;
      for (uint8_t b : xv)
        xf.push_back(isSigned ? (float)(int8_t)b : (float)b);
      std::vector<float> want = referencePool(p, xf, /*max=*/true, false);
      for (float &v : want)
        if (v == std::numeric_limits<float>::lowest())
          v = isSigned ? -128.0f : 0.0f;
      const Attributes a = poolAttrs(p, "max", false);
      for (KernelContext ctx : {serialContext(), chunkedContext(3)}) {
        Tensors ts;
        Tensor *x = ts.make<uint8_t>(type, {1, p.planes, p.H, p.W}, xv);
        Tensor *y = ts.empty(type, {1, p.planes, p.OH(), p.OW()});
        ASSERT_TRUE(run("ds.pool", a, {x}, {y}, ctx).ok()) << what;
        const std::vector<uint8_t> got = values<uint8_t>(y);
        ASSERT_EQ(got.size(), want.size()) << what;
        for (size_t i = 0; i < got.size(); ++i)
          EXPECT_EQ(isSigned ? (float)(int8_t)got[i] : (float)got[i], want[i])
              << what << " [" << i << "]";
      }
    }
}

/// Max pooling of f16 and bf16 data against the reference on the widened
/// values: every result is one of the window's values, bit for bit (NaN
/// where a window holds one).
TEST(Pool2D, MaxOfHalvesIsOneOfTheWindowsValues) {
  const Pool cases[] = {
      {3, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1},      // ResNet's stem pool
      {2, 9, 40, 3, 5, 1, 3, 2, 0, 1, 4},       // strides (1, 3), asymmetric pads
      {1, 6, 34, 3, 3, 2, 2, 0, 0, 0, 0, true}, // ceil mode
      {100, 20, 20, 3, 3, 2, 2, 1, 1, 1, 1},    // more planes than one f32 buffer's 40
  };
  for (const Pool &p : cases)
    for (DType type : {DS_F16, DS_BF16}) {
      const std::string what = std::string(type == DS_F16 ? "f16 " : "bf16 ") +
                               std::to_string(p.KH) + "x" + std::to_string(p.KW) + " on " +
                               std::to_string(p.H) + "x" + std::to_string(p.W);
      auto xv = randomFloats((size_t)(p.planes * p.H * p.W), 75);
      for (size_t i = 5; i < xv.size(); i += 37)
        xv[i] = i % 3 == 0 ? NAN : i % 3 == 1 ? INFINITY : -INFINITY;
      std::vector<uint16_t> bits(xv.size());
      std::vector<float> exact(xv.size()); // the values the halves hold
      for (size_t i = 0; i < xv.size(); ++i) {
        bits[i] = type == DS_F16 ? cpu::floatToHalf(xv[i]) : cpu::floatToBf16(xv[i]);
        exact[i] = type == DS_F16 ? cpu::halfToFloat(bits[i]) : cpu::bf16ToFloat(bits[i]);
      }
      const std::vector<float> want = referencePool(p, exact, /*max=*/true, false);
      const Attributes a = poolAttrs(p, "max", false);
      for (KernelContext ctx : {serialContext(), chunkedContext(3)}) {
        Tensors ts;
        Tensor *x = ts.make<uint16_t>(type, {1, p.planes, p.H, p.W}, bits);
        Tensor *y = ts.empty(type, {1, p.planes, p.OH(), p.OW()});
        ASSERT_TRUE(run("ds.pool", a, {x}, {y}, ctx).ok()) << what;
        const std::vector<uint16_t> got = values<uint16_t>(y);
        ASSERT_EQ(got.size(), want.size()) << what;
        for (size_t i = 0; i < got.size(); ++i) {
          const float g = type == DS_F16 ? cpu::halfToFloat(got[i]) : cpu::bf16ToFloat(got[i]);
          if (std::isnan(want[i]))
            EXPECT_TRUE(std::isnan(g)) << what << " [" << i << "]";
          else
            EXPECT_EQ(g, want[i]) << what << " [" << i << "]";
        }
      }
    }
}

/// The generic loop (here 1-D) gives a window wholly in the padding an
/// integer type's lowest value too.
TEST(Pool2D, GenericLoopGivesBytesTheirLowest) {
  for (DType type : {DS_U8, DS_I8}) {
    Attributes a;
    a.set("kind", strAttr("max"));
    a.set("kernel_shape", intsAttr({2}));
    a.set("strides", intsAttr({1}));
    a.set("pads", intsAttr({3, 0}));
    a.set("dilations", intsAttr({1}));
    a.set("ceil_mode", intAttr(0));
    a.set("count_include_pad", intAttr(0));
    Tensors ts;
    Tensor *x = ts.make<uint8_t>(type, {1, 1, 3}, {5, 0x90, 7});
    Tensor *y = ts.empty(type, {1, 1, 5});
    ASSERT_TRUE(run("ds.pool", a, {x}, {y}).ok());
    const std::vector<uint8_t> got = values<uint8_t>(y);
    const uint8_t lowest = type == DS_I8 ? 0x80 : 0;
    // Windows [-3, -2], [-2, -1], [-1, 0], [0, 1], [1, 2].
    const uint8_t big = type == DS_I8 ? 5 : 0x90, last = type == DS_I8 ? 7 : 0x90;
    EXPECT_EQ(got, (std::vector<uint8_t>{lowest, lowest, 5, big, last}));
  }
}

} // namespace
