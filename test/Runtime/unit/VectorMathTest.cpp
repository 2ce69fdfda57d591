//===- VectorMathTest.cpp - vectorized erf, GELU, exp and quantize --------===//
//
// Each against libm in double over dense grids that cross the branch points
// (|z| = 0.5, the flush below e^-87.3), and NaN / infinity.
//
//===----------------------------------------------------------------------===//
#include "cpu/VectorMath.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

using namespace dsrt::cpu;

namespace {
std::vector<float> grid(float from, float to, int count) {
  std::vector<float> v(count);
  for (int i = 0; i < count; ++i)
    v[i] = from + (to - from) * (float)i / (float)(count - 1);
  return v;
}
} // namespace

TEST(VectorMath, ErfWithin3e7) {
  std::vector<float> x = grid(-6.0f, 6.0f, 100001), y(x.size());
  vmath::erf(x.data(), y.data(), (int64_t)x.size());
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i)
    worst = std::max(worst, std::fabs((double)y[i] - std::erf((double)x[i])));
  EXPECT_LT(worst, 3e-7);
  // Relative accuracy near 0, where erf(x) ~ 1.128 x.
  std::vector<float> tiny = {1e-30f, -3e-8f, 1e-4f, 0.0f}, out(4);
  vmath::erf(tiny.data(), out.data(), 4);
  for (size_t i = 0; i < tiny.size(); ++i)
    EXPECT_NEAR(out[i], std::erf((double)tiny[i]), 1e-7 * std::fabs(tiny[i]));
}

TEST(VectorMath, GeluWithin3e7AndTailsRelative) {
  std::vector<float> x = grid(-10.0f, 10.0f, 100001), y(x.size());
  vmath::gelu(x.data(), y.data(), (int64_t)x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    double want = 0.5 * x[i] * std::erfc(-(double)x[i] / std::sqrt(2.0));
    // Absolute near 0, and a few percent at most of the tiny negative tail
    // (erfc by Abramowitz-Stegun), never the cancellation 1 + erf would give.
    ASSERT_NEAR(y[i], want, 3e-7 * std::max(1.0, std::fabs((double)x[i])) + 0.02 * std::fabs(want))
        << "x = " << x[i];
  }
}

TEST(VectorMath, NaNAndInfinity) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::nanf("");
  std::vector<float> x = {nan, inf, -inf}, y(3);
  vmath::erf(x.data(), y.data(), 3);
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], 1.0f);
  EXPECT_EQ(y[2], -1.0f);
  vmath::gelu(x.data(), y.data(), 3);
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], inf);
  EXPECT_EQ(y[2], 0.0f);
}

TEST(VectorMath, ExpShiftedSumWithin2Ulp) {
  std::vector<float> x = grid(-100.0f, 0.0f, 200001), y(x.size());
  double sum = vmath::expShiftedSum(x.data(), y.data(), (int64_t)x.size(), 0.0f);
  double want = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double e = std::exp((double)x[i]);
    want += e;
    if (e >= std::numeric_limits<float>::min())
      ASSERT_NEAR(y[i], e, 2.5e-7 * e) << "x = " << x[i];
    else
      ASSERT_LE(y[i], std::numeric_limits<float>::min()) << "x = " << x[i];
  }
  EXPECT_NEAR(sum, want, 1e-6 * want);
  EXPECT_NEAR(vmath::expShiftedSumOnly(x.data(), (int64_t)x.size(), 0.0f), sum, 1e-9 * sum);
  // Shifted: e^(x - 3) for x <= 3.
  std::vector<float> row = {3.0f, 2.0f, -std::numeric_limits<float>::infinity()}, out(3);
  double s = vmath::expShiftedSum(row.data(), out.data(), 3, 3.0f);
  EXPECT_FLOAT_EQ(out[0], 1.0f);
  EXPECT_NEAR(out[1], std::exp(-1.0), 1e-7);
  EXPECT_EQ(out[2], 0.0f);
  EXPECT_NEAR(s, 1.0 + std::exp(-1.0), 1e-7);
}

TEST(VectorMath, QuantizeRoundsHalfToEvenAndSaturates) {
  const float nan = std::nanf(""), inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 1000.0f, -1000.0f, nan, inf, -inf, 1e30f};
  std::vector<uint8_t> u(x.size());
  vmath::quantize(x.data(), u.data(), (int64_t)x.size(), 1.0f, 10.0f);
  EXPECT_EQ(std::vector<int>(u.begin(), u.end()),
            (std::vector<int>{10, 12, 12, 10, 8, 255, 0, 10, 255, 0, 255}));
  std::vector<int8_t> s(x.size());
  vmath::quantize(x.data(), s.data(), (int64_t)x.size(), 0.5f, 0.0f);
  EXPECT_EQ(std::vector<int>(s.begin(), s.end()),
            (std::vector<int>{1, 3, 5, -1, -3, 127, -128, 0, 127, -128, 127}));
  // The division rounds as x / scale does, not as x * (1 / scale).
  std::vector<float> grid1 = grid(-3.0f, 3.0f, 60001);
  std::vector<uint8_t> q(grid1.size());
  const float scale = 0.0235294122f;
  vmath::quantize(grid1.data(), q.data(), (int64_t)grid1.size(), scale, 128.0f);
  for (size_t i = 0; i < grid1.size(); ++i) {
    float want = std::nearbyint(grid1[i] / scale) + 128.0f;
    ASSERT_EQ(q[i], (uint8_t)std::min(255.0f, std::max(0.0f, want))) << grid1[i];
  }
}

TEST(VectorMath, RangeWithZeroSkipsNaN) {
  std::vector<float> x = {3.0f, std::nanf(""), 1.0f, 2.0f};
  float lo = 1, hi = -1;
  vmath::rangeWithZero(x.data(), 4, lo, hi);
  EXPECT_EQ(lo, 0.0f);
  EXPECT_EQ(hi, 3.0f);
  std::vector<float> y = {-2.0f, -1.0f};
  vmath::rangeWithZero(y.data(), 2, lo, hi);
  EXPECT_EQ(lo, -2.0f);
  EXPECT_EQ(hi, 0.0f);
}

TEST(VectorMath, MomentsAndNormalizeMatchDouble) {
  std::vector<float> x = grid(-3.0f, 5.0f, 1003); // not a multiple of the lanes
  double mean = 0, var = 0;
  vmath::moments(x.data(), (int64_t)x.size(), false, mean, var);
  double wantMean = 0, wantVar = 0, wantSquare = 0;
  for (float v : x) {
    wantMean += v;
    wantSquare += (double)v * v;
  }
  wantMean /= x.size();
  for (float v : x)
    wantVar += (v - wantMean) * (v - wantMean);
  wantVar /= x.size();
  EXPECT_NEAR(mean, wantMean, 1e-12);
  EXPECT_NEAR(var, wantVar, 1e-12);
  vmath::moments(x.data(), (int64_t)x.size(), true, mean, var);
  EXPECT_EQ(mean, 0.0);
  EXPECT_NEAR(var, wantSquare / x.size(), 1e-12);

  std::vector<float> scale(x.size()), bias(x.size()), y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    scale[i] = 0.5f + (float)i / 1000.0f;
    bias[i] = -(float)i / 500.0f;
  }
  const float m = 1.0f, inv = 0.25f;
  for (int mode = 0; mode < 4; ++mode) {
    const float *s = mode & 1 ? scale.data() : nullptr, *b = mode & 2 ? bias.data() : nullptr;
    vmath::normalize(x.data(), y.data(), (int64_t)x.size(), m, inv, s, b);
    for (size_t i = 0; i < x.size(); ++i) {
      float want = (x[i] - m) * inv * (s ? s[i] : 1.0f) + (b ? b[i] : 0.0f);
      ASSERT_NEAR(y[i], want, 1e-6f * (1.0f + std::fabs(want))) << "mode " << mode;
    }
  }
}

TEST(VectorMath, MaxOfSkipsNaNAndScaleMultiplies) {
  std::vector<float> x = grid(-5.0f, 3.0f, 1001);
  x[500] = std::nanf("");
  x[17] = 7.5f;
  EXPECT_EQ(vmath::maxOf(x.data(), (int64_t)x.size()), 7.5f);
  std::vector<float> nans(20, std::nanf(""));
  EXPECT_EQ(vmath::maxOf(nans.data(), 20), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(vmath::maxOf(nans.data(), 0), -std::numeric_limits<float>::infinity());
  std::vector<float> y = {1.0f, -2.0f, 0.5f};
  vmath::scale(y.data(), 3, 4.0f);
  EXPECT_EQ(y, (std::vector<float>{4.0f, -8.0f, 2.0f}));
}

TEST(VectorMath, ArithMatchesScalarForEveryStridePattern) {
  std::vector<float> a = grid(-3.0f, 3.0f, 37), b = grid(0.5f, 2.5f, 37), y(37);
  b[5] = 0.0f; // division by zero gives inf / nan as the scalar op does
  const vmath::Arith ops[] = {vmath::Arith::Add, vmath::Arith::Sub, vmath::Arith::Mul,
                              vmath::Arith::Div};
  for (vmath::Arith op : ops)
    for (int64_t sa : {0, 1, 2})
      for (int64_t sb : {0, 1}) {
        int64_t n = sa == 2 ? 18 : 37;
        vmath::arith(op, a.data(), sa, b.data(), sb, y.data(), n);
        for (int64_t i = 0; i < n; ++i) {
          float p = a[i * sa], q = b[i * sb];
          float want = op == vmath::Arith::Add   ? p + q
                       : op == vmath::Arith::Sub ? p - q
                       : op == vmath::Arith::Mul ? p * q
                                                 : p / q;
          if (std::isnan(want))
            ASSERT_TRUE(std::isnan(y[i]));
          else
            ASSERT_EQ(y[i], want) << (int)op << " " << sa << " " << sb << " " << i;
        }
      }
}

TEST(VectorMath, QuantizeOfNaNQuotientsGivesTheZeroPoint) {
  // inf / inf and 0 / 0 (a scale of inf or 0) are NaN: the zero point.
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {inf, 0.0f, 1.0f};
  std::vector<uint8_t> y(3);
  vmath::quantize(x.data(), y.data(), 3, inf, 7.0f);
  EXPECT_EQ(y[0], 7);
  EXPECT_EQ(y[2], 7); // 1 / inf = 0
  vmath::quantize(x.data(), y.data(), 3, 0.0f, 7.0f);
  EXPECT_EQ(y[1], 7);   // 0 / 0
  EXPECT_EQ(y[2], 255); // 1 / 0 = inf saturates
}

TEST(VectorMath, DotAndAxpyMatchDouble) {
  for (int64_t n : {0, 1, 15, 16, 17, 128, 1000}) {
    std::vector<float> a((size_t)n), b((size_t)n), y((size_t)n);
    double want = 0.0, scale = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      a[(size_t)i] = std::sin(0.1f * (float)i);
      b[(size_t)i] = std::cos(0.3f * (float)i);
      y[(size_t)i] = 1.0f;
      want += (double)a[(size_t)i] * b[(size_t)i];
      scale += std::fabs((double)a[(size_t)i] * b[(size_t)i]);
    }
    EXPECT_NEAR(vmath::dot(a.data(), b.data(), n), want, 1e-6 * (scale + 1)) << n;
    vmath::axpy(-0.5f, a.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i)
      EXPECT_FLOAT_EQ(y[(size_t)i], 1.0f - 0.5f * a[(size_t)i]) << i;
  }
}

TEST(VectorMath, TanhWithin3Ulp) {
  // Dense over the Taylor / exp branch point (0.25) and out to saturation,
  // plus tiny values (relative) and signed zeros.
  std::vector<float> x = grid(-12.0f, 12.0f, 240001), y(x.size());
  for (float t : {1e-30f, -3e-8f, 1e-4f, 0.2499999f, 0.25f, -0.0f, 0.0f})
    x.push_back(t);
  y.resize(x.size());
  vmath::tanh(x.data(), y.data(), (int64_t)x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double want = std::tanh((double)x[i]);
    ASSERT_NEAR(y[i], want, 3 * std::numeric_limits<float>::epsilon() * std::fabs(want))
        << "x = " << x[i];
  }
  EXPECT_TRUE(std::signbit(y[y.size() - 2])); // tanh(-0) = -0
}

TEST(VectorMath, GeluTanhRelativeEverywhere) {
  std::vector<float> x = grid(-12.0f, 12.0f, 240001), y(x.size());
  vmath::geluTanh(x.data(), y.data(), (int64_t)x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i], u = std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v);
    const double want = v / (1 + std::exp(-2 * u)); // 0.5 v (1 + tanh u), no cancellation
    // u itself carries float rounding, which e^2u magnifies by 2|u| on the
    // negative tail: the function's own conditioning, not the kernel's.
    const double eps = std::numeric_limits<float>::epsilon();
    ASSERT_NEAR(y[i], want, 4 * eps * (1 + 2 * std::fabs(u)) * std::fabs(want) + 1e-38)
        << "x = " << x[i];
  }
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> special = {std::nanf(""), inf, -inf}, out(3);
  vmath::geluTanh(special.data(), out.data(), 3);
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(out[1], inf);
  EXPECT_EQ(out[2], 0.0f);
  vmath::tanh(special.data(), out.data(), 3);
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(out[1], 1.0f);
  EXPECT_EQ(out[2], -1.0f);
}

TEST(VectorMath, ExpWithin2UlpAndItsLimits) {
  std::vector<float> x = grid(-110.0f, 90.0f, 400001), y;
  for (float edge : {88.7228f, 88.72283f, 88.72284f, -87.33654f, -103.0f, 0.0f, -0.0f, 1.0f})
    x.push_back(edge);
  y.resize(x.size());
  vmath::exp(x.data(), y.data(), (int64_t)x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double want = std::exp((double)x[i]);
    if (want > (double)std::numeric_limits<float>::max()) {
      ASSERT_EQ(y[i], std::numeric_limits<float>::infinity()) << "x = " << x[i];
      continue;
    }
    if (want < (double)std::numeric_limits<float>::min()) {
      // Denormal results: within two steps of 2^-149 (0 below e^-103).
      ASSERT_LE(std::fabs(y[i] - want), std::ldexp(1.0, -148)) << "x = " << x[i];
      continue;
    }
    const double ulp = std::ldexp(1.0, std::ilogb((float)want) - 23);
    ASSERT_LE(std::fabs(y[i] - want), 2 * ulp) << "x = " << x[i];
  }
  const float inf = std::numeric_limits<float>::infinity(), nan = std::nanf("");
  std::vector<float> edge = {nan, inf, -inf}, out(3);
  vmath::exp(edge.data(), out.data(), 3);
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(out[1], inf);
  EXPECT_EQ(out[2], 0.0f);
}

TEST(VectorMath, SigmoidWithin3UlpAndItsLimits) {
  std::vector<float> x = grid(-110.0f, 40.0f, 300001), y(x.size());
  x.push_back(0.0f);
  x.push_back(-0.0f);
  y.resize(x.size());
  vmath::sigmoid(x.data(), y.data(), (int64_t)x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double want = 1.0 / (1.0 + std::exp(-(double)x[i]));
    if (want < (double)std::numeric_limits<float>::min()) {
      // Denormal results: within two steps of 2^-149 (0 below e^-103).
      ASSERT_LE(std::fabs(y[i] - want), std::ldexp(1.0, -148)) << "x = " << x[i];
      continue;
    }
    const double ulp = std::ldexp(1.0, std::ilogb((float)want) - 23);
    ASSERT_LE(std::fabs(y[i] - want), 3 * ulp) << "x = " << x[i];
  }
  const float inf = std::numeric_limits<float>::infinity(), nan = std::nanf("");
  std::vector<float> edge = {nan, inf, -inf}, out(3);
  vmath::sigmoid(edge.data(), out.data(), 3);
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(out[1], 1.0f);
  EXPECT_EQ(out[2], 0.0f);
}

// dotRows / axpyRows (a few query rows against keys read in place): every
// count (groups of four and the rest), lengths below, at and past the lanes,
// a row stride wider than the length; against double within float's
// rounding of the terms.
TEST(VectorMath, DotRowsAndAxpyRowsMatchDouble) {
  for (int64_t n : {1, 15, 16, 37, 128})
    for (int64_t count : {0, 1, 3, 4, 9}) {
      const int64_t stride = n + 3;
      // grid() needs two points; only the first n are read.
      std::vector<float> x = grid(-1.5f, 2.0f, (int)std::max<int64_t>(n, 2)),
                         rows(count * stride + 1);
      for (size_t i = 0; i < rows.size(); ++i)
        rows[i] = std::sin(0.7f * (float)i) * 3.0f;
      std::vector<float> out(count + 1, -7.0f);
      vmath::dotRows(x.data(), rows.data(), stride, n, count, out.data());
      std::vector<float> w = grid(-0.5f, 1.0f, (int)std::max<int64_t>(count, 2));
      std::vector<float> y = grid(0.25f, -0.25f, (int)std::max<int64_t>(n, 2));
      std::vector<double> want(y.begin(), y.begin() + n);
      vmath::axpyRows(w.data(), rows.data(), stride, n, count, y.data());
      for (int64_t c = 0; c < count; ++c) {
        double dot = 0, magnitude = 0;
        for (int64_t i = 0; i < n; ++i) {
          dot += (double)x[i] * rows[c * stride + i];
          magnitude += std::fabs((double)x[i] * rows[c * stride + i]);
          want[i] += (double)w[c] * rows[c * stride + i];
        }
        EXPECT_NEAR(out[c], dot, 1e-6 * magnitude + 1e-30) << "n " << n << " row " << c;
      }
      EXPECT_EQ(out[count], -7.0f) << "wrote past count " << count;
      for (int64_t i = 0; i < n; ++i)
        EXPECT_NEAR(y[i], want[i], 1e-5 * (1 + std::fabs(want[i]))) << "n " << n << " i " << i;
    }
}
