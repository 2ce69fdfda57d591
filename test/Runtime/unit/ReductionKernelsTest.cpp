//===- ReductionKernelsTest.cpp - reduce/arg_reduce/softmax/norm/... ------===//
#include "KernelTestUtils.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace dsrt;
using namespace dsrt::cpu;
using namespace dsrt::test;

namespace {

std::vector<float> iota(int64_t n, float scale, float offset) {
  std::vector<float> v;
  for (int64_t i = 0; i < n; ++i)
    v.push_back(offset + scale * (float)((i * 7) % 11) + 0.01f * (float)i);
  return v;
}

TEST(ReductionKernels, RegistersAllOps) {
  for (const char *name :
       {"ds.reduce", "ds.arg_reduce", "ds.softmax", "ds.norm", "ds.cumsum", "ds.topk"})
    EXPECT_TRUE(registers(registerReductionKernels, name)) << name;
}

//===----------------------------------------------------------------------===//
// ds.reduce
//===----------------------------------------------------------------------===//

/// Naive reference: groups input elements by output position.
std::vector<double> reduceRef(const std::string &kind, const std::vector<float> &x,
                              const std::vector<int64_t> &shape, const std::vector<int64_t> &axes) {
  std::vector<int64_t> outShape;
  std::vector<bool> red(shape.size(), false);
  for (int64_t a : axes)
    red[a] = true;
  for (size_t d = 0; d < shape.size(); ++d)
    outShape.push_back(red[d] ? 1 : shape[d]);
  std::vector<int64_t> inStrides = stridesOf(shape), outStrides = stridesOf(outShape);
  int64_t outN = 1;
  for (int64_t d : outShape)
    outN *= d;
  std::vector<std::vector<double>> groups((size_t)outN);
  for (int64_t i = 0; i < (int64_t)x.size(); ++i) {
    int64_t rem = i, o = 0;
    for (size_t d = 0; d < shape.size(); ++d) {
      int64_t c = rem / inStrides[d];
      rem -= c * inStrides[d];
      if (!red[d])
        o += c * outStrides[d];
    }
    groups[o].push_back(x[i]);
  }
  std::vector<double> out;
  for (auto &g : groups) {
    double s = 0, p = 1, sq = 0, l1 = 0, mx = -INFINITY, mn = INFINITY;
    for (double v : g) {
      s += v;
      p *= v;
      sq += v * v;
      l1 += std::fabs(v);
      mx = std::max(mx, v);
      mn = std::min(mn, v);
    }
    double lse = 0;
    for (double v : g)
      lse += std::exp(v - mx);
    lse = mx + std::log(lse);
    if (kind == "sum")
      out.push_back(s);
    else if (kind == "mean")
      out.push_back(s / (double)g.size());
    else if (kind == "max")
      out.push_back(mx);
    else if (kind == "min")
      out.push_back(mn);
    else if (kind == "prod")
      out.push_back(p);
    else if (kind == "sum_square")
      out.push_back(sq);
    else if (kind == "l1")
      out.push_back(l1);
    else if (kind == "l2")
      out.push_back(std::sqrt(sq));
    else if (kind == "log_sum")
      out.push_back(std::log(s));
    else
      out.push_back(lse);
  }
  return out;
}

TEST(ReductionKernels, ReduceFloatKindsAndLayouts) {
  const std::vector<int64_t> shape = {2, 3, 4};
  const std::vector<float> x = iota(24, 0.3f, 0.1f); // positive, so log_sum is defined
  const char *kinds[] = {"sum",        "mean", "max", "min",     "prod",
                         "sum_square", "l1",   "l2",  "log_sum", "log_sum_exp"};
  const std::vector<std::vector<int64_t>> axesSets = {{2},    {1},       {0},   {1, 2},
                                                      {0, 2}, {0, 1, 2}, {0, 1}};
  Buf in = f32(shape, x);
  for (const char *k : kinds) {
    for (const auto &axes : axesSets) {
      for (int keep : {0, 1}) {
        std::vector<int64_t> outShape;
        for (int64_t d = 0; d < 3; ++d) {
          bool r = std::find(axes.begin(), axes.end(), d) != axes.end();
          if (!r)
            outShape.push_back(shape[d]);
          else if (keep)
            outShape.push_back(1);
        }
        Buf y(DS_F32, outShape);
        Attributes a =
            attrs({{"kind", strAttr(k)}, {"axes", intsAttr(axes)}, {"keepdims", intAttr(keep)}});
        Status s = run("ds.reduce", a, {&in.t}, {&y.t}, chunkedContext(2));
        ASSERT_TRUE(s.ok()) << k << ": " << s.message();
        expectNear(y.values<float>(), reduceRef(k, x, shape, axes),
                   std::string(k) + " axes " + std::to_string(axes.size()), 2e-5);
      }
    }
  }
}

TEST(ReductionKernels, SumAndMeanOfLongRowsInLanes) {
  // Global average pooling's shape (trailing axes, rows of 1003: vector
  // lanes plus a remainder), magnitudes far apart, and rows holding NaN,
  // +inf, or both infinities.
  const std::vector<int64_t> shape = {1, 5, 17, 59};
  std::vector<float> x = randomFloats(5 * 17 * 59, 91);
  for (size_t i = 0; i < x.size(); i += 7)
    x[i] *= 1e6f;
  const int64_t R = 17 * 59;
  x[(size_t)(1 * R + 400)] = NAN;
  x[(size_t)(2 * R + 1002)] = INFINITY;
  x[(size_t)(3 * R + 3)] = INFINITY;
  x[(size_t)(3 * R + 900)] = -INFINITY;
  Buf in = f32(shape, x);
  for (const char *k : {"sum", "mean"}) {
    Buf y(DS_F32, {1, 5, 1, 1});
    Attributes a =
        attrs({{"kind", strAttr(k)}, {"axes", intsAttr({2, 3})}, {"keepdims", intAttr(1)}});
    ASSERT_TRUE(run("ds.reduce", a, {&in.t}, {&y.t}, chunkedContext(2)).ok()) << k;
    expectNear(y.values<float>(), reduceRef(k, x, shape, {2, 3}), k, 1e-6);
  }
}

TEST(ReductionKernels, ReduceEmptyAxesReducesNothing) {
  Buf in = f32({2, 2}, {1, -2, 3, 4});
  Buf y(DS_F32, {2, 2});
  ASSERT_TRUE(
      run("ds.reduce",
          attrs({{"kind", strAttr("sum")}, {"axes", intsAttr({})}, {"keepdims", intAttr(1)}}),
          {&in.t}, {&y.t})
          .ok());
  EXPECT_EQ(y.values<float>(), (std::vector<float>{1, -2, 3, 4}));
  ASSERT_TRUE(
      run("ds.reduce",
          attrs({{"kind", strAttr("max")}, {"axes", intsAttr({})}, {"keepdims", intAttr(0)}}),
          {&in.t}, {&y.t})
          .ok());
  EXPECT_EQ(y.values<float>(), (std::vector<float>{1, -2, 3, 4}));
  // A rank-0 tensor reduced over "all" (no) axes still applies the kind.
  Buf s = f32({}, {-3}), sy(DS_F32, {});
  ASSERT_TRUE(
      run("ds.reduce",
          attrs(
              {{"kind", strAttr("sum_square")}, {"axes", intsAttr({})}, {"keepdims", intAttr(0)}}),
          {&s.t}, {&sy.t})
          .ok());
  EXPECT_EQ(sy.at<float>(0), 9.0f);
}

TEST(ReductionKernels, ReduceIntegersExact) {
  const int64_t big = int64_t(1) << 60;
  Buf x = i64({2, 3}, {big, 1, 2, -7, 0, 0});
  Buf y(DS_I64, {2});
  auto reduce = [&](const char *k, Buf &in, Buf &out) {
    return run("ds.reduce",
               attrs({{"kind", strAttr(k)}, {"axes", intsAttr({1})}, {"keepdims", intAttr(0)}}),
               {&in.t}, {&out.t});
  };
  ASSERT_TRUE(reduce("sum", x, y).ok());
  EXPECT_EQ(y.values<int64_t>(), (std::vector<int64_t>{big + 3, -7}));
  ASSERT_TRUE(reduce("mean", x, y).ok());
  EXPECT_EQ(y.values<int64_t>()[1], -2); // -7 / 3 truncates toward zero
  ASSERT_TRUE(reduce("max", x, y).ok());
  EXPECT_EQ(y.values<int64_t>(), (std::vector<int64_t>{big, 0}));
  ASSERT_TRUE(reduce("l1", x, y).ok());
  EXPECT_EQ(y.values<int64_t>(), (std::vector<int64_t>{big + 3, 7}));

  Buf p = i32({2, 3}, {2, 3, 4, -1, 5, 6}), py(DS_I32, {2});
  ASSERT_TRUE(reduce("prod", p, py).ok());
  EXPECT_EQ(py.values<int32_t>(), (std::vector<int32_t>{24, -30}));
  ASSERT_TRUE(reduce("min", p, py).ok());
  EXPECT_EQ(py.values<int32_t>(), (std::vector<int32_t>{2, -1}));
  ASSERT_TRUE(reduce("sum_square", p, py).ok());
  EXPECT_EQ(py.values<int32_t>(), (std::vector<int32_t>{29, 62}));
  ASSERT_TRUE(reduce("l2", p, py).ok());
  EXPECT_EQ(py.values<int32_t>(), (std::vector<int32_t>{5, 7})); // sqrt truncated

  Buf u = make<uint8_t>(DS_U8, {1, 3}, {200, 100, 1}), uy(DS_U8, {1});
  ASSERT_TRUE(reduce("max", u, uy).ok());
  EXPECT_EQ(uy.at<uint8_t>(0), 200);
  ASSERT_TRUE(reduce("sum", u, uy).ok());
  EXPECT_EQ(uy.at<uint8_t>(0), (uint8_t)301);
}

TEST(ReductionKernels, ReduceOverZeroElements) {
  Buf x(DS_F32, {2, 0});
  struct {
    const char *kind;
    float want;
  } cases[] = {{"sum", 0.0f},     {"prod", 1.0f},       {"max", -INFINITY},
               {"min", INFINITY}, {"sum_square", 0.0f}, {"log_sum_exp", -INFINITY}};
  for (auto &c : cases) {
    Buf y(DS_F32, {2});
    ASSERT_TRUE(
        run("ds.reduce",
            attrs({{"kind", strAttr(c.kind)}, {"axes", intsAttr({1})}, {"keepdims", intAttr(0)}}),
            {&x.t}, {&y.t})
            .ok())
        << c.kind;
    EXPECT_EQ(y.values<float>(), (std::vector<float>{c.want, c.want})) << c.kind;
  }
  Buf xi(DS_I32, {2, 0}), yi(DS_I32, {2});
  ASSERT_TRUE(
      run("ds.reduce",
          attrs({{"kind", strAttr("max")}, {"axes", intsAttr({1})}, {"keepdims", intAttr(0)}}),
          {&xi.t}, {&yi.t})
          .ok());
  EXPECT_EQ(yi.at<int32_t>(0), std::numeric_limits<int32_t>::min());
}

TEST(ReductionKernels, ReduceHalfAndErrors) {
  Buf h = f16({2, 3}, {1, 2, 3, 4, 5, 6}), hy(DS_F16, {2, 1});
  ASSERT_TRUE(
      run("ds.reduce",
          attrs({{"kind", strAttr("mean")}, {"axes", intsAttr({1})}, {"keepdims", intAttr(1)}}),
          {&h.t}, {&hy.t})
          .ok());
  EXPECT_EQ(f16Values(hy), (std::vector<float>{2, 5}));

  Buf x = f32({2, 3}, {1, 2, 3, 4, 5, 6}), y(DS_F32, {2});
  Status s = run("ds.reduce", attrs({{"kind", strAttr("median")}, {"axes", intsAttr({1})}}), {&x.t},
                 {&y.t});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("ds.reduce"), std::string::npos);
  EXPECT_FALSE(
      run("ds.reduce", attrs({{"kind", strAttr("sum")}, {"axes", intsAttr({2})}}), {&x.t}, {&y.t})
          .ok());
  Buf wrong(DS_F32, {3});
  EXPECT_FALSE(run("ds.reduce", attrs({{"kind", strAttr("sum")}, {"axes", intsAttr({1})}}), {&x.t},
                   {&wrong.t})
                   .ok());
}

//===----------------------------------------------------------------------===//
// ds.arg_reduce
//===----------------------------------------------------------------------===//

TEST(ReductionKernels, ArgReduce) {
  Buf x = f32({2, 4}, {1, 5, 5, 2, 7, 0, 0, 7});
  auto arg = [&](const char *k, int64_t axis, int64_t last, Buf &in, Buf &out) {
    return run("ds.arg_reduce",
               attrs({{"kind", strAttr(k)},
                      {"axis", intAttr(axis)},
                      {"keepdims", intAttr(0)},
                      {"select_last_index", intAttr(last)}}),
               {&in.t}, {&out.t});
  };
  Buf y(DS_I64, {2});
  ASSERT_TRUE(arg("argmax", 1, 0, x, y).ok());
  EXPECT_EQ(y.values<int64_t>(), (std::vector<int64_t>{1, 0}));
  ASSERT_TRUE(arg("argmax", -1, 1, x, y).ok());
  EXPECT_EQ(y.values<int64_t>(), (std::vector<int64_t>{2, 3}));
  ASSERT_TRUE(arg("argmin", 1, 0, x, y).ok());
  EXPECT_EQ(y.values<int64_t>(), (std::vector<int64_t>{0, 1}));
  ASSERT_TRUE(arg("argmin", 1, 1, x, y).ok());
  EXPECT_EQ(y.values<int64_t>(), (std::vector<int64_t>{0, 2}));
  // Along axis 0 (strided columns), with keepdims.
  Buf y0(DS_I64, {1, 4});
  ASSERT_TRUE(run("ds.arg_reduce",
                  attrs({{"kind", strAttr("argmax")},
                         {"axis", intAttr(0)},
                         {"keepdims", intAttr(1)},
                         {"select_last_index", intAttr(0)}}),
                  {&x.t}, {&y0.t}, chunkedContext(3))
                  .ok());
  EXPECT_EQ(y0.values<int64_t>(), (std::vector<int64_t>{1, 0, 0, 1}));
  // Integer input; NaN counts as the maximum.
  Buf xi = i64({1, 3}, {-5, int64_t(1) << 62, 3}), yi(DS_I64, {1});
  ASSERT_TRUE(arg("argmax", 1, 0, xi, yi).ok());
  EXPECT_EQ(yi.at<int64_t>(0), 1);
  Buf xn = f32({1, 3}, {1, std::nanf(""), 3}), yn(DS_I64, {1});
  ASSERT_TRUE(arg("argmax", 1, 0, xn, yn).ok());
  EXPECT_EQ(yn.at<int64_t>(0), 1);

  EXPECT_FALSE(arg("argmedian", 1, 0, x, y).ok());
  EXPECT_FALSE(arg("argmax", 2, 0, x, y).ok());
  Buf empty(DS_F32, {2, 0}), ey(DS_I64, {2});
  EXPECT_FALSE(arg("argmax", 1, 0, empty, ey).ok());
}

//===----------------------------------------------------------------------===//
// ds.softmax
//===----------------------------------------------------------------------===//

std::vector<double> softmaxRef(const std::vector<float> &x, int64_t outer, int64_t R, int64_t inner,
                               bool log) {
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double m = -INFINITY, s = 0;
      for (int64_t r = 0; r < R; ++r)
        m = std::max(m, (double)x[(o * R + r) * inner + i]);
      for (int64_t r = 0; r < R; ++r)
        s += std::exp(x[(o * R + r) * inner + i] - m);
      for (int64_t r = 0; r < R; ++r) {
        double v = x[(o * R + r) * inner + i] - m;
        y[(o * R + r) * inner + i] = log ? v - std::log(s) : std::exp(v) / s;
      }
    }
  return y;
}

TEST(ReductionKernels, Softmax) {
  const std::vector<int64_t> shape = {2, 3, 4};
  const std::vector<float> x = iota(24, 0.7f, -2.0f);
  Buf in = f32(shape, x);
  struct {
    int64_t axis, outer, R, inner;
  } cases[] = {{-1, 6, 4, 1}, {2, 6, 4, 1}, {1, 2, 3, 4}, {0, 1, 2, 12}};
  for (auto &c : cases) {
    for (bool log : {false, true}) {
      Buf y(DS_F32, shape);
      Attributes a = attrs({{"axis", intAttr(c.axis)}});
      if (log)
        a.set("log", intAttr(1));
      ASSERT_TRUE(run("ds.softmax", a, {&in.t}, {&y.t}, chunkedContext(1)).ok());
      expectNear(y.values<float>(), softmaxRef(x, c.outer, c.R, c.inner, log),
                 "softmax axis " + std::to_string(c.axis) + (log ? " log" : ""));
    }
  }
  // Stable for large inputs.
  Buf big = f32({3}, {1000, 1001, 1002}), by(DS_F32, {3});
  ASSERT_TRUE(run("ds.softmax", attrs({{"axis", intAttr(0)}}), {&big.t}, {&by.t}).ok());
  expectNear(by.values<float>(), softmaxRef({0, 1, 2}, 1, 3, 1, false), "large");
  // f16.
  Buf h = f16({2, 2}, {0, 1, 2, 2}), hy(DS_F16, {2, 2});
  ASSERT_TRUE(run("ds.softmax", attrs({{"axis", intAttr(-1)}}), {&h.t}, {&hy.t}).ok());
  expectNear(f16Values(hy), softmaxRef({0, 1, 2, 2}, 2, 2, 1, false), "f16", 1e-3, 1e-3);
  Buf xi = i32({2}, {1, 2}), yi(DS_I32, {2});
  EXPECT_FALSE(run("ds.softmax", attrs({{"axis", intAttr(0)}}), {&xi.t}, {&yi.t}).ok());
  Buf y(DS_F32, shape);
  EXPECT_FALSE(run("ds.softmax", attrs({{"axis", intAttr(3)}}), {&in.t}, {&y.t}).ok());
}

//===----------------------------------------------------------------------===//
// ds.norm
//===----------------------------------------------------------------------===//

/// Reference over rows of N with scale / bias indexed by (flat index % N).
std::vector<double> normRef(const std::vector<float> &x, int64_t N, bool rms, double eps,
                            const std::vector<float> &scale, const std::vector<float> &bias) {
  std::vector<double> y(x.size());
  for (size_t row = 0; row < x.size() / N; ++row) {
    double mean = 0, var = 0;
    for (int64_t j = 0; j < N; ++j)
      mean += x[row * N + j];
    mean /= N;
    for (int64_t j = 0; j < N; ++j) {
      double v = rms ? x[row * N + j] : x[row * N + j] - mean;
      var += v * v;
    }
    var /= N;
    for (int64_t j = 0; j < N; ++j) {
      double v = ((rms ? x[row * N + j] : x[row * N + j] - mean)) / std::sqrt(var + eps);
      if (!scale.empty())
        v *= scale[j % scale.size()];
      if (!bias.empty())
        v += bias[j % bias.size()];
      y[row * N + j] = v;
    }
  }
  return y;
}

TEST(ReductionKernels, NormMeanVarAndRms) {
  const std::vector<float> x = iota(24, 0.9f, -3.0f);
  Buf in = f32({2, 3, 4}, x);
  const std::vector<float> s4 = {1.0f, 0.5f, -2.0f, 3.0f}, b4 = {0.1f, 0.2f, 0.3f, 0.4f};
  Buf scale = f32({4}, s4), bias = f32({4}, b4);
  Attributes mv =
      attrs({{"kind", strAttr("mean_var")}, {"axis", intAttr(-1)}, {"epsilon", floatAttr(1e-5)}});
  Buf y(DS_F32, {2, 3, 4});
  ASSERT_TRUE(run("ds.norm", mv, {&in.t, &scale.t, &bias.t}, {&y.t}, chunkedContext(2)).ok());
  expectNear(y.values<float>(), normRef(x, 4, false, 1e-5, s4, b4), "layer norm");

  Attributes rms =
      attrs({{"kind", strAttr("rms")}, {"axis", intAttr(2)}, {"epsilon", floatAttr(1e-6)}});
  ASSERT_TRUE(run("ds.norm", rms, {&in.t, &scale.t, nullptr}, {&y.t}).ok());
  expectNear(y.values<float>(), normRef(x, 4, true, 1e-6, s4, {}), "rms norm");

  // Over the last two axes, with a scale of shape [3, 4] and no bias.
  std::vector<float> s12 = iota(12, 0.2f, 0.5f);
  Buf scale12 = f32({3, 4}, s12);
  Attributes mv2 =
      attrs({{"kind", strAttr("mean_var")}, {"axis", intAttr(-2)}, {"epsilon", floatAttr(1e-5)}});
  ASSERT_TRUE(run("ds.norm", mv2, {&in.t, &scale12.t, nullptr}, {&y.t}).ok());
  expectNear(y.values<float>(), normRef(x, 12, false, 1e-5, s12, {}), "layer norm 2 axes");
  // Same with a [4] scale, which repeats within the row (general broadcast).
  ASSERT_TRUE(run("ds.norm", mv2, {&in.t, &scale.t, nullptr}, {&y.t}).ok());
  expectNear(y.values<float>(), normRef(x, 12, false, 1e-5, s4, {}), "layer norm bcast scale");

  // f16 input without scale / bias.
  Buf h = f16({2, 2}, {1, 3, -2, 2}), hy(DS_F16, {2, 2});
  ASSERT_TRUE(run("ds.norm", mv, {&h.t, nullptr, nullptr}, {&hy.t}).ok());
  expectNear(f16Values(hy), normRef({1, 3, -2, 2}, 2, false, 1e-5, {}, {}), "f16", 2e-3, 2e-3);

  Attributes bad =
      attrs({{"kind", strAttr("batch")}, {"axis", intAttr(-1)}, {"epsilon", floatAttr(1e-5)}});
  EXPECT_FALSE(run("ds.norm", bad, {&in.t, nullptr, nullptr}, {&y.t}).ok());
  Buf wrongScale = f32({5}, {1, 1, 1, 1, 1});
  EXPECT_FALSE(run("ds.norm", mv, {&in.t, &wrongScale.t, nullptr}, {&y.t}).ok());
}

//===----------------------------------------------------------------------===//
// ds.cumsum
//===----------------------------------------------------------------------===//

TEST(ReductionKernels, CumSumAndProduct) {
  Buf x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  auto cum = [&](int64_t axis, int ex, int rev, bool prod, Buf &in, Buf &out) {
    Attributes a =
        attrs({{"axis", intAttr(axis)}, {"exclusive", intAttr(ex)}, {"reverse", intAttr(rev)}});
    if (prod)
      a.set("product", intAttr(1));
    return run("ds.cumsum", a, {&in.t}, {&out.t}, chunkedContext(1));
  };
  Buf y(DS_F32, {2, 3});
  ASSERT_TRUE(cum(1, 0, 0, false, x, y).ok());
  EXPECT_EQ(y.values<float>(), (std::vector<float>{1, 3, 6, 4, 9, 15}));
  ASSERT_TRUE(cum(1, 1, 0, false, x, y).ok());
  EXPECT_EQ(y.values<float>(), (std::vector<float>{0, 1, 3, 0, 4, 9}));
  ASSERT_TRUE(cum(-1, 0, 1, false, x, y).ok());
  EXPECT_EQ(y.values<float>(), (std::vector<float>{6, 5, 3, 15, 11, 6}));
  ASSERT_TRUE(cum(1, 1, 1, false, x, y).ok());
  EXPECT_EQ(y.values<float>(), (std::vector<float>{5, 3, 0, 11, 6, 0}));
  ASSERT_TRUE(cum(0, 0, 0, false, x, y).ok());
  EXPECT_EQ(y.values<float>(), (std::vector<float>{1, 2, 3, 5, 7, 9}));
  ASSERT_TRUE(cum(1, 0, 0, true, x, y).ok());
  EXPECT_EQ(y.values<float>(), (std::vector<float>{1, 2, 6, 4, 20, 120}));
  ASSERT_TRUE(cum(1, 1, 0, true, x, y).ok());
  EXPECT_EQ(y.values<float>(), (std::vector<float>{1, 1, 2, 1, 4, 20}));

  const int64_t big = int64_t(1) << 55;
  Buf xi = i64({3}, {big, 1, -3}), yi(DS_I64, {3});
  ASSERT_TRUE(cum(0, 0, 0, false, xi, yi).ok());
  EXPECT_EQ(yi.values<int64_t>(), (std::vector<int64_t>{big, big + 1, big - 2}));
  Buf x32 = i32({3}, {2, -3, 4}), y32(DS_I32, {3});
  ASSERT_TRUE(cum(0, 0, 1, true, x32, y32).ok());
  EXPECT_EQ(y32.values<int32_t>(), (std::vector<int32_t>{-24, -12, 4}));
  EXPECT_FALSE(cum(2, 0, 0, false, x, y).ok());
}

//===----------------------------------------------------------------------===//
// ds.topk
//===----------------------------------------------------------------------===//

TEST(ReductionKernels, TopK) {
  Buf x = f32({2, 5}, {3, 1, 3, 5, 2, 0, -1, 4, 4, 4});
  auto topk = [&](Buf &in, Buf &k, int64_t axis, int largest, Buf &v, Buf &i) {
    return run(
        "ds.topk",
        attrs({{"axis", intAttr(axis)}, {"largest", intAttr(largest)}, {"sorted", intAttr(1)}}),
        {&in.t, &k.t}, {&v.t, &i.t});
  };
  Buf k3 = i64({1}, {3});
  Buf v(DS_F32, {2, 3}), idx(DS_I64, {2, 3});
  ASSERT_TRUE(topk(x, k3, -1, 1, v, idx).ok());
  EXPECT_EQ(v.values<float>(), (std::vector<float>{5, 3, 3, 4, 4, 4}));
  EXPECT_EQ(idx.values<int64_t>(), (std::vector<int64_t>{3, 0, 2, 2, 3, 4}));
  ASSERT_TRUE(topk(x, k3, 1, 0, v, idx).ok());
  EXPECT_EQ(v.values<float>(), (std::vector<float>{1, 2, 3, -1, 0, 4}));
  EXPECT_EQ(idx.values<int64_t>(), (std::vector<int64_t>{1, 4, 0, 1, 0, 2}));

  // Along axis 0 with k given as i32.
  Buf k1 = i32({1}, {1});
  Buf v0(DS_F32, {1, 5}), i0(DS_I64, {1, 5});
  ASSERT_TRUE(topk(x, k1, 0, 1, v0, i0).ok());
  EXPECT_EQ(v0.values<float>(), (std::vector<float>{3, 1, 4, 5, 4}));
  EXPECT_EQ(i0.values<int64_t>(), (std::vector<int64_t>{0, 0, 1, 0, 1}));

  // Integer values are copied exactly.
  const int64_t big = (int64_t(1) << 60) + 1;
  Buf xi = i64({4}, {big, big - 1, 7, big}), k2 = i64({1}, {2});
  Buf vi(DS_I64, {2}), ii(DS_I64, {2});
  ASSERT_TRUE(topk(xi, k2, 0, 1, vi, ii).ok());
  EXPECT_EQ(vi.values<int64_t>(), (std::vector<int64_t>{big, big}));
  EXPECT_EQ(ii.values<int64_t>(), (std::vector<int64_t>{0, 3}));

  // k = 0 and errors.
  Buf kz = i64({1}, {0}), vz(DS_F32, {2, 0}), iz(DS_I64, {2, 0});
  EXPECT_TRUE(topk(x, kz, 1, 1, vz, iz).ok());
  Buf k9 = i64({1}, {9}), v9(DS_F32, {2, 9}), i9(DS_I64, {2, 9});
  EXPECT_FALSE(topk(x, k9, 1, 1, v9, i9).ok());
  Buf vBad(DS_F32, {2, 2}), iBad(DS_I64, {2, 2});
  EXPECT_FALSE(topk(x, k3, 1, 1, vBad, iBad).ok());
}

} // namespace
