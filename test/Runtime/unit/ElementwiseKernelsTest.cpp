//===- ElementwiseKernelsTest.cpp - ds.unary/binary/compare/select/cast ---===//
#include "KernelTestUtils.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

using namespace dsrt;
using namespace dsrt::cpu;
using namespace dsrt::test;

namespace {

/// Attributes selecting the `kind` of a unary, binary or compare op.
Attributes kind(const std::string &k) { return attrs({{"kind", strAttr(k)}}); }

//===----------------------------------------------------------------------===//
// ds.unary
//===----------------------------------------------------------------------===//

struct UnaryCase {
  const char *kind;
  std::function<double(double)> ref;
  std::vector<float> inputs;
  double alpha = std::nan(""), beta = std::nan("");
};

TEST(ElementwiseKernels, RegistersAllOps) {
  for (const char *name : {"ds.unary", "ds.binary", "ds.compare", "ds.select", "ds.cast"})
    EXPECT_TRUE(registers(registerElementwiseKernels, name)) << name;
}

TEST(ElementwiseKernels, UnaryFloatKinds) {
  const std::vector<float> general = {-3.5f, -1.0f, -0.25f, 0.0f, 0.3f, 1.0f, 2.75f, 6.0f};
  const std::vector<float> unit = {-0.9f, -0.5f, 0.0f, 0.25f, 0.75f};
  const std::vector<float> positive = {0.01f, 0.5f, 1.0f, 3.0f, 100.0f};
  const std::vector<float> atLeastOne = {1.0f, 1.5f, 3.0f, 40.0f};
  auto sp = [](double x) { return std::log1p(std::exp(x)); };
  const double selu_a = 1.67326319217681884765625, selu_g = 1.05070102214813232421875;
  std::vector<UnaryCase> cases = {
      {"abs", [](double x) { return std::fabs(x); }, general},
      {"neg", [](double x) { return -x; }, general},
      {"sqrt", [](double x) { return std::sqrt(x); }, positive},
      {"reciprocal", [](double x) { return 1 / x; }, positive},
      {"exp", [](double x) { return std::exp(x); }, general},
      {"log", [](double x) { return std::log(x); }, positive},
      {"erf", [](double x) { return std::erf(x); }, general},
      {"tanh", [](double x) { return std::tanh(x); }, general},
      {"sigmoid", [](double x) { return 1 / (1 + std::exp(-x)); }, general},
      {"relu", [](double x) { return x > 0 ? x : 0; }, general},
      {"leaky_relu", [](double x) { return x < 0 ? 0.2 * x : x; }, general, 0.2},
      {"elu", [](double x) { return x < 0 ? 0.5 * (std::exp(x) - 1) : x; }, general, 0.5},
      {"selu",
       [=](double x) { return x > 0 ? selu_g * x : selu_g * (selu_a * std::exp(x) - selu_a); },
       general, selu_a, selu_g},
      {"celu",
       [](double x) { return std::max(0.0, x) + std::min(0.0, 2.0 * (std::exp(x / 2.0) - 1)); },
       general, 2.0},
      {"hard_sigmoid", [](double x) { return std::max(0.0, std::min(1.0, 0.2 * x + 0.5)); },
       general, 0.2, 0.5},
      {"hard_swish", [](double x) { return x * std::max(0.0, std::min(1.0, x / 6 + 0.5)); },
       general},
      {"softplus", sp, general},
      {"softsign", [](double x) { return x / (1 + std::fabs(x)); }, general},
      {"gelu", [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }, general},
      {"gelu_tanh",
       [](double x) {
         return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
       },
       general},
      {"mish", [=](double x) { return x * std::tanh(sp(x)); }, general},
      {"thresholded_relu", [](double x) { return x > 1.0 ? x : 0; }, general, 1.0},
      {"shrink", [](double x) { return x < -0.5 ? x + 0.25 : (x > 0.5 ? x - 0.25 : 0); }, general,
       0.5, 0.25},
      {"cos", [](double x) { return std::cos(x); }, general},
      {"sin", [](double x) { return std::sin(x); }, general},
      {"tan", [](double x) { return std::tan(x); }, unit},
      {"acos", [](double x) { return std::acos(x); }, unit},
      {"asin", [](double x) { return std::asin(x); }, unit},
      {"atan", [](double x) { return std::atan(x); }, general},
      {"cosh", [](double x) { return std::cosh(x); }, general},
      {"sinh", [](double x) { return std::sinh(x); }, general},
      {"acosh", [](double x) { return std::acosh(x); }, atLeastOne},
      {"asinh", [](double x) { return std::asinh(x); }, general},
      {"atanh", [](double x) { return std::atanh(x); }, unit},
      {"floor", [](double x) { return std::floor(x); }, general},
      {"ceil", [](double x) { return std::ceil(x); }, general},
      {"sign", [](double x) { return (double)((x > 0) - (x < 0)); }, general},
  };
  for (const UnaryCase &c : cases) {
    Buf x = f32({(int64_t)c.inputs.size()}, c.inputs);
    Buf y(DS_F32, {(int64_t)c.inputs.size()});
    Attributes a = kind(c.kind);
    if (!std::isnan(c.alpha))
      a.set("alpha", floatAttr(c.alpha));
    if (!std::isnan(c.beta))
      a.set("beta", floatAttr(c.beta));
    Status s = run("ds.unary", a, {&x.t}, {&y.t}, chunkedContext(3));
    ASSERT_TRUE(s.ok()) << c.kind << ": " << s.message();
    std::vector<double> want;
    for (float v : c.inputs)
      want.push_back(c.ref(v));
    expectNear(y.values<float>(), want, c.kind);
  }
}

TEST(ElementwiseKernels, TanhGeluTailsAgreeAcrossFloatTypes) {
  // The tanh GELU as x times a logistic: -0 at -inf and a tiny negative
  // value (not 0 or NaN from 1 + tanh cancelling) far left, in f32, f64
  // and bf16 (widened to float, through the same vector loop as f32).
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> in = {-inf, -9.0f, -3.0f, 0.5f, inf, std::nanf("")};
  auto want = [](double v) {
    if (std::isnan(v) || v == INFINITY)
      return v;
    if (v == -INFINITY)
      return -0.0;
    const double u = std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v);
    return v / (1 + std::exp(-2 * u));
  };
  Buf x = f32({6}, in), y(DS_F32, {6});
  ASSERT_TRUE(run("ds.unary", kind("gelu_tanh"), {&x.t}, {&y.t}).ok());
  std::vector<double> d(in.begin(), in.end());
  Buf xd = make<double>(DS_F64, {6}, d), yd(DS_F64, {6});
  ASSERT_TRUE(run("ds.unary", kind("gelu_tanh"), {&xd.t}, {&yd.t}).ok());
  std::vector<uint16_t> bits;
  for (float v : in)
    bits.push_back(floatToBf16(v));
  Buf xb = make<uint16_t>(DS_BF16, {6}, bits), yb(DS_BF16, {6});
  ASSERT_TRUE(run("ds.unary", kind("gelu_tanh"), {&xb.t}, {&yb.t}).ok());
  for (size_t i = 0; i < in.size(); ++i) {
    const double w = want(in[i]), wb = want(bf16ToFloat(floatToBf16(in[i])));
    const float got = y.values<float>()[i], gotB = bf16ToFloat(yb.values<uint16_t>()[i]);
    const double gotD = yd.values<double>()[i];
    if (std::isnan(w)) {
      EXPECT_TRUE(std::isnan(got) && std::isnan(gotD) && std::isnan(gotB)) << in[i];
      continue;
    }
    if (std::isinf(w)) {
      EXPECT_TRUE(got == w && gotD == w && gotB == w) << in[i];
      continue;
    }
    EXPECT_NEAR(got, w, 1e-5 * std::fabs(w)) << in[i];
    EXPECT_NEAR(gotD, w, 1e-12 * std::fabs(w)) << in[i];
    EXPECT_NEAR(gotB, wb, 1e-2 * std::fabs(wb)) << in[i];
    EXPECT_EQ(std::signbit(got), std::signbit(w)) << in[i];
    EXPECT_EQ(std::signbit(gotD), std::signbit(w)) << in[i];
  }
}

TEST(ElementwiseKernels, UnaryDefaultsWithoutAttributes) {
  // selu / leaky_relu fall back to the ONNX defaults when alpha is absent.
  Buf x = f32({2}, {-1.0f, 2.0f});
  Buf y(DS_F32, {2});
  ASSERT_TRUE(run("ds.unary", kind("leaky_relu"), {&x.t}, {&y.t}).ok());
  expectNear(y.values<float>(), {-0.01, 2.0}, "leaky_relu default");
}

TEST(ElementwiseKernels, UnaryCheapKindsInPlace) {
  // A result sharing its operand's bytes takes its own loop (one pointer, so
  // that it vectorizes): the values equal the out-of-place kernel's.
  std::vector<float> values;
  for (int i = 0; i < 1000; ++i)
    values.push_back((float)(i % 37) * 0.37f - 6.5f);
  for (const char *k : {"relu", "hard_swish", "hard_sigmoid", "leaky_relu", "abs", "softsign"}) {
    Buf x = f32({1000}, values), y(DS_F32, {1000});
    ASSERT_TRUE(run("ds.unary", kind(k), {&x.t}, {&y.t}).ok()) << k;
    ASSERT_TRUE(run("ds.unary", kind(k), {&x.t}, {&x.t}).ok()) << k;
    std::vector<float> outOfPlace = y.values<float>(), inPlace = x.values<float>();
    for (size_t i = 0; i < values.size(); ++i)
      ASSERT_EQ(inPlace[i], outOfPlace[i]) << k << " at " << i;
  }
}

TEST(ElementwiseKernels, UnaryRoundHalfToEven) {
  Buf x = f32({7}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f, -2.6f});
  Buf y(DS_F32, {7});
  ASSERT_TRUE(run("ds.unary", kind("round"), {&x.t}, {&y.t}).ok());
  expectNear(y.values<float>(), {0, 2, 2, -0.0, -2, 2, -3}, "round");
}

TEST(ElementwiseKernels, UnaryPredicatesProduceBool) {
  const float inf = std::numeric_limits<float>::infinity();
  Buf x = f32({5}, {1.0f, std::nanf(""), inf, -inf, 0.0f});
  struct {
    const char *kind;
    std::vector<uint8_t> want;
  } cases[] = {{"is_nan", {0, 1, 0, 0, 0}},
               {"is_inf", {0, 0, 1, 1, 0}},
               {"is_pos_inf", {0, 0, 1, 0, 0}},
               {"is_neg_inf", {0, 0, 0, 1, 0}}};
  for (auto &c : cases) {
    Buf y(DS_BOOL, {5});
    ASSERT_TRUE(run("ds.unary", kind(c.kind), {&x.t}, {&y.t}).ok()) << c.kind;
    EXPECT_EQ(y.values<uint8_t>(), c.want) << c.kind;
  }
  Buf wrong(DS_F32, {5});
  EXPECT_FALSE(run("ds.unary", kind("is_nan"), {&x.t}, {&wrong.t}).ok());
}

TEST(ElementwiseKernels, UnaryIntegerAndBool) {
  Buf x = i32({5}, {-7, -1, 0, 3, std::numeric_limits<int32_t>::min()});
  Buf y(DS_I32, {5});
  ASSERT_TRUE(run("ds.unary", kind("abs"), {&x.t}, {&y.t}).ok());
  EXPECT_EQ(y.values<int32_t>(),
            (std::vector<int32_t>{7, 1, 0, 3, std::numeric_limits<int32_t>::min()}));
  ASSERT_TRUE(run("ds.unary", kind("neg"), {&x.t}, {&y.t}).ok());
  EXPECT_EQ(y.values<int32_t>(),
            (std::vector<int32_t>{7, 1, 0, -3, std::numeric_limits<int32_t>::min()}));
  ASSERT_TRUE(run("ds.unary", kind("sign"), {&x.t}, {&y.t}).ok());
  EXPECT_EQ(y.values<int32_t>(), (std::vector<int32_t>{-1, -1, 0, 1, -1}));
  ASSERT_TRUE(run("ds.unary", kind("relu"), {&x.t}, {&y.t}).ok());
  EXPECT_EQ(y.values<int32_t>(), (std::vector<int32_t>{0, 0, 0, 3, 0}));
  ASSERT_TRUE(run("ds.unary", kind("bitwise_not"), {&x.t}, {&y.t}).ok());
  EXPECT_EQ(y.values<int32_t>(),
            (std::vector<int32_t>{6, 0, -1, -4, std::numeric_limits<int32_t>::max()}));

  Buf u = make<uint8_t>(DS_U8, {3}, {0, 5, 255});
  Buf uy(DS_U8, {3});
  ASSERT_TRUE(run("ds.unary", kind("bitwise_not"), {&u.t}, {&uy.t}).ok());
  EXPECT_EQ(uy.values<uint8_t>(), (std::vector<uint8_t>{255, 250, 0}));

  Buf w = make<uint16_t>(DS_U16, {2}, {0, 0x00ff});
  Buf wy(DS_U16, {2});
  ASSERT_TRUE(run("ds.unary", kind("bitwise_not"), {&w.t}, {&wy.t}).ok());
  EXPECT_EQ(wy.values<uint16_t>(), (std::vector<uint16_t>{0xffff, 0xff00}));

  Buf b = boolean({3}, {0, 1, 0});
  Buf by(DS_BOOL, {3});
  ASSERT_TRUE(run("ds.unary", kind("not"), {&b.t}, {&by.t}).ok());
  EXPECT_EQ(by.values<uint8_t>(), (std::vector<uint8_t>{1, 0, 1}));
}

TEST(ElementwiseKernels, UnaryHalfAndDouble) {
  std::vector<float> in = {-2.0f, -0.5f, 0.0f, 0.75f, 3.0f};
  Buf x = f16({5}, in);
  Buf y(DS_F16, {5});
  ASSERT_TRUE(run("ds.unary", kind("exp"), {&x.t}, {&y.t}).ok());
  for (size_t i = 0; i < in.size(); ++i)
    EXPECT_EQ(y.values<uint16_t>()[i], floatToHalf(std::exp(halfToFloat(floatToHalf(in[i])))));

  Buf bx = make<uint16_t>(DS_BF16, {2}, {floatToBf16(1.5f), floatToBf16(-4.0f)});
  Buf by(DS_BF16, {2});
  ASSERT_TRUE(run("ds.unary", kind("abs"), {&bx.t}, {&by.t}).ok());
  EXPECT_EQ(bf16ToFloat(by.values<uint16_t>()[1]), 4.0f);

  Buf d = make<double>(DS_F64, {2}, {0.5, 2.0});
  Buf dy(DS_F64, {2});
  ASSERT_TRUE(run("ds.unary", kind("tanh"), {&d.t}, {&dy.t}).ok());
  EXPECT_DOUBLE_EQ(dy.values<double>()[0], std::tanh(0.5));
  EXPECT_DOUBLE_EQ(dy.values<double>()[1], std::tanh(2.0));
}

TEST(ElementwiseKernels, UnaryErrors) {
  Buf x = f32({2}, {1, 2});
  Buf y(DS_F32, {2});
  Status s = run("ds.unary", kind("frobnicate"), {&x.t}, {&y.t});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("ds.unary"), std::string::npos);
  Buf n = i32({2}, {1, 2});
  Buf ny(DS_I32, {2});
  EXPECT_FALSE(run("ds.unary", kind("sqrt"), {&n.t}, {&ny.t}).ok());
  EXPECT_FALSE(run("ds.unary", kind("not"), {&x.t}, {&y.t}).ok());
  EXPECT_FALSE(run("ds.unary", kind("bitwise_not"), {&x.t}, {&y.t}).ok());
  Buf small(DS_F32, {1});
  EXPECT_FALSE(run("ds.unary", kind("exp"), {&x.t}, {&small.t}).ok());
  EXPECT_FALSE(run("ds.unary", kind("exp"), {nullptr}, {&y.t}).ok());
}

//===----------------------------------------------------------------------===//
// ds.binary
//===----------------------------------------------------------------------===//

/// Reference broadcast of two float tensors through f.
std::vector<double> broadcastRef(const Buf &a, const Buf &b, const std::vector<int64_t> &out,
                                 const std::function<double(double, double)> &f) {
  std::vector<int64_t> os = stridesOf(out);
  std::vector<int64_t> as = broadcastStrides(a.t.shape, out), bs = broadcastStrides(b.t.shape, out);
  int64_t n = 1;
  for (int64_t d : out)
    n *= d;
  std::vector<double> r;
  for (int64_t i = 0; i < n; ++i)
    r.push_back(f(loadAsDouble(a.t, mapIndex(i, os, as)), loadAsDouble(b.t, mapIndex(i, os, bs))));
  return r;
}

TEST(ElementwiseKernels, BinaryBroadcastShapes) {
  struct Case {
    std::vector<int64_t> a, b, out;
  } cases[] = {
      {{2, 3}, {2, 3}, {2, 3}},
      {{2, 3}, {3}, {2, 3}},
      {{2, 1}, {1, 3}, {2, 3}},
      {{}, {2, 3}, {2, 3}},
      {{2, 3}, {1}, {2, 3}},
      {{2, 1, 4}, {3, 1}, {2, 3, 4}},
      {{4, 1, 3, 1}, {5, 1, 2}, {4, 5, 3, 2}},
      {{1, 1, 5}, {2, 3, 1}, {2, 3, 5}},
      {{2, 3, 4}, {2, 1, 4}, {2, 3, 4}},
      {{7}, {1, 7}, {1, 7}},
  };
  for (const Case &c : cases) {
    auto fill = [](std::vector<int64_t> shape, float seed) {
      int64_t n = 1;
      for (int64_t d : shape)
        n *= d;
      std::vector<float> v;
      for (int64_t i = 0; i < n; ++i)
        v.push_back(seed + 0.5f * (float)i);
      return f32(shape, v);
    };
    Buf a = fill(c.a, 1.0f), b = fill(c.b, -2.0f);
    int64_t n = 1;
    for (int64_t d : c.out)
      n *= d;
    for (int64_t chunk : {0, 1, 5}) {
      Buf y(DS_F32, c.out);
      ASSERT_TRUE(run("ds.binary", kind("sub"), {&a.t, &b.t}, {&y.t}, chunkedContext(chunk)).ok());
      expectNear(y.values<float>(),
                 broadcastRef(a, b, c.out, [](double x, double z) { return x - z; }),
                 "sub broadcast");
    }
    (void)n;
  }
  Buf a = f32({2, 3}, {1, 2, 3, 4, 5, 6}), b = f32({2}, {1, 2});
  Buf y(DS_F32, {2, 3});
  Status s = run("ds.binary", kind("add"), {&a.t, &b.t}, {&y.t});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("broadcast"), std::string::npos);
}

TEST(ElementwiseKernels, BinaryHalfAndBf16RoundEachF32Result) {
  // f16 / bf16 add, sub, mul, div run on f32 blocks (300 columns: a block
  // of 256 and a tail) with operands broadcast along either side: each
  // result is the f32 operation on the widened operands, rounded once.
  const int64_t rows = 3, cols = 300;
  std::vector<float> av, bv, cv;
  for (int64_t i = 0; i < rows * cols; ++i)
    av.push_back(std::sin(0.37f * (float)i) * 70000.0f / (float)(1 + i % 13));
  for (int64_t j = 0; j < cols; ++j)
    bv.push_back(0.25f + std::cos(0.11f * (float)j) * 3.0f);
  for (int64_t r = 0; r < rows; ++r)
    cv.push_back(-1.5f + (float)r);
  for (DType dtype : {DS_F16, DS_BF16}) {
    auto narrow = [&](float x) { return dtype == DS_F16 ? floatToHalf(x) : floatToBf16(x); };
    auto widen = [&](uint16_t h) { return dtype == DS_F16 ? halfToFloat(h) : bf16ToFloat(h); };
    auto make16 = [&](std::vector<int64_t> shape, const std::vector<float> &v) {
      std::vector<uint16_t> bits;
      for (float x : v)
        bits.push_back(narrow(x));
      return make(dtype, std::move(shape), bits);
    };
    Buf a = make16({rows, cols}, av), b = make16({cols}, bv), c = make16({rows, 1}, cv);
    struct {
      const char *kind;
      float (*f)(float, float);
    } kinds[] = {{"add", [](float x, float y) { return x + y; }},
                 {"sub", [](float x, float y) { return x - y; }},
                 {"mul", [](float x, float y) { return x * y; }},
                 {"div", [](float x, float y) { return x / y; }}};
    for (auto &k : kinds)
      for (bool columnFirst : {false, true})
        for (bool swapped : {false, true}) { // the broadcast operand on either side
          const Buf &other = columnFirst ? c : b;
          const Buf &lhs = swapped ? other : a, &rhs = swapped ? a : other;
          Buf y(dtype, {rows, cols});
          ASSERT_TRUE(run("ds.binary", kind(k.kind), {&lhs.t, &rhs.t}, {&y.t}).ok()) << k.kind;
          std::vector<uint16_t> got = y.values<uint16_t>();
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t j = 0; j < cols; ++j) {
              uint16_t ra = a.values<uint16_t>()[r * cols + j];
              uint16_t rb = columnFirst ? c.values<uint16_t>()[r] : b.values<uint16_t>()[j];
              float wa = widen(ra), wb = widen(rb);
              uint16_t want = narrow(swapped ? k.f(wb, wa) : k.f(wa, wb));
              ASSERT_EQ(got[r * cols + j], want)
                  << k.kind << " dtype " << dtype << " at " << r << "," << j;
            }
        }
  }
}

TEST(ElementwiseKernels, BinaryFloatKinds) {
  const float nan = std::nanf("");
  Buf a = f32({6}, {5.5f, -5.5f, 2.0f, 0.0f, nan, -7.0f});
  Buf b = f32({6}, {2.0f, 2.0f, -3.0f, 4.0f, 1.0f, -2.0f});
  struct {
    const char *kind;
    std::function<double(double, double)> f;
  } cases[] = {
      {"add", [](double x, double y) { return x + y; }},
      {"sub", [](double x, double y) { return x - y; }},
      {"mul", [](double x, double y) { return x * y; }},
      {"div", [](double x, double y) { return x / y; }},
      {"pow", [](double x, double y) { return std::pow(x, y); }},
      {"min",
       [](double x, double y) { return std::isnan(x) || std::isnan(y) ? NAN : std::min(x, y); }},
      {"max",
       [](double x, double y) { return std::isnan(x) || std::isnan(y) ? NAN : std::max(x, y); }},
      {"fmod", [](double x, double y) { return std::fmod(x, y); }},
      {"mod",
       [](double x, double y) {
         double r = std::fmod(x, y);
         return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
       }},
  };
  for (auto &c : cases) {
    Buf y(DS_F32, {6});
    ASSERT_TRUE(run("ds.binary", kind(c.kind), {&a.t, &b.t}, {&y.t}).ok()) << c.kind;
    expectNear(y.values<float>(), broadcastRef(a, b, {6}, c.f), c.kind);
  }
  // Float division by zero is IEEE, not an error.
  Buf z = f32({1}, {0.0f}), one = f32({1}, {1.0f}), q(DS_F32, {1});
  ASSERT_TRUE(run("ds.binary", kind("div"), {&one.t, &z.t}, {&q.t}).ok());
  EXPECT_TRUE(std::isinf(q.at<float>(0)));
}

TEST(ElementwiseKernels, BinaryIntegerDivModFmod) {
  Buf a = i32({6}, {7, -7, 7, -7, 0, 9});
  Buf b = i32({6}, {2, 2, -2, -2, 3, 4});
  Buf y(DS_I32, {6});
  ASSERT_TRUE(run("ds.binary", kind("div"), {&a.t, &b.t}, {&y.t}).ok());
  EXPECT_EQ(y.values<int32_t>(), (std::vector<int32_t>{3, -3, -3, 3, 0, 2}));
  ASSERT_TRUE(run("ds.binary", kind("mod"), {&a.t, &b.t}, {&y.t}).ok());
  EXPECT_EQ(y.values<int32_t>(), (std::vector<int32_t>{1, 1, -1, -1, 0, 1}));
  ASSERT_TRUE(run("ds.binary", kind("fmod"), {&a.t, &b.t}, {&y.t}).ok());
  EXPECT_EQ(y.values<int32_t>(), (std::vector<int32_t>{1, -1, 1, -1, 0, 1}));

  // i64 stays exact past 2^53 and INT64_MIN / -1 wraps instead of trapping.
  const int64_t big = (int64_t(1) << 60) + 3, lo = std::numeric_limits<int64_t>::min();
  Buf c = i64({3}, {big, big, lo}), d = i64({3}, {1, 2, -1});
  Buf z(DS_I64, {3});
  ASSERT_TRUE(run("ds.binary", kind("add"), {&c.t, &d.t}, {&z.t}).ok());
  EXPECT_EQ(z.values<int64_t>(),
            (std::vector<int64_t>{big + 1, big + 2, std::numeric_limits<int64_t>::max()}));
  ASSERT_TRUE(run("ds.binary", kind("div"), {&c.t, &d.t}, {&z.t}).ok());
  EXPECT_EQ(z.values<int64_t>(), (std::vector<int64_t>{big, big / 2, lo}));

  // Division by zero on integers is an error.
  Buf zero = i32({2}, {1, 0}), q(DS_I32, {2});
  Buf num2 = i32({2}, {4, 5});
  for (const char *k : {"div", "mod", "fmod"}) {
    Status s = run("ds.binary", kind(k), {&num2.t, &zero.t}, {&q.t});
    ASSERT_FALSE(s.ok()) << k;
    EXPECT_NE(s.message().find("division by zero"), std::string::npos) << s.message();
  }
}

TEST(ElementwiseKernels, BinaryIntegerGenericTypes) {
  // i16 / u16 / i8 / ui8 / u64 go through the generic or narrow paths and wrap.
  Buf a = make<int16_t>(DS_I16, {3}, {30000, -5, 7});
  Buf b = make<int16_t>(DS_I16, {3}, {10000, 3, -2});
  Buf y(DS_I16, {3});
  ASSERT_TRUE(run("ds.binary", kind("add"), {&a.t, &b.t}, {&y.t}).ok());
  EXPECT_EQ(y.values<int16_t>(), (std::vector<int16_t>{(int16_t)-25536, -2, 5}));
  ASSERT_TRUE(run("ds.binary", kind("mod"), {&a.t, &b.t}, {&y.t}).ok());
  EXPECT_EQ(y.values<int16_t>(), (std::vector<int16_t>{0, 1, -1}));

  Buf u = make<uint8_t>(DS_U8, {3}, {250, 3, 200});
  Buf v = make<uint8_t>(DS_U8, {3}, {10, 5, 100});
  Buf uy(DS_U8, {3});
  ASSERT_TRUE(run("ds.binary", kind("add"), {&u.t, &v.t}, {&uy.t}).ok());
  EXPECT_EQ(uy.values<uint8_t>(), (std::vector<uint8_t>{4, 8, 44}));
  ASSERT_TRUE(run("ds.binary", kind("sub"), {&u.t, &v.t}, {&uy.t}).ok());
  EXPECT_EQ(uy.values<uint8_t>(), (std::vector<uint8_t>{240, 254, 100}));
  ASSERT_TRUE(run("ds.binary", kind("max"), {&u.t, &v.t}, {&uy.t}).ok());
  EXPECT_EQ(uy.values<uint8_t>(), (std::vector<uint8_t>{250, 5, 200}));

  const uint64_t huge = 0xF000000000000000ull;
  Buf p = make<uint64_t>(DS_U64, {2}, {huge, 10});
  Buf q = make<uint64_t>(DS_U64, {2}, {3, 20});
  Buf py(DS_U64, {2});
  ASSERT_TRUE(run("ds.binary", kind("div"), {&p.t, &q.t}, {&py.t}).ok());
  EXPECT_EQ(py.values<uint64_t>(), (std::vector<uint64_t>{huge / 3, 0}));
  ASSERT_TRUE(run("ds.binary", kind("min"), {&p.t, &q.t}, {&py.t}).ok());
  EXPECT_EQ(py.values<uint64_t>(), (std::vector<uint64_t>{3, 10}));

  // Sub-byte storage wraps into range.
  Buf s4 = make<int8_t>(DS_I4, {2}, {7, -8}), t4 = make<int8_t>(DS_I4, {2}, {1, -1});
  Buf y4(DS_I4, {2});
  ASSERT_TRUE(run("ds.binary", kind("add"), {&s4.t, &t4.t}, {&y4.t}).ok());
  EXPECT_EQ(y4.values<int8_t>(), (std::vector<int8_t>{-8, 7}));
}

TEST(ElementwiseKernels, BinaryPow) {
  // Float base, integer exponent of another dtype.
  Buf base = f32({4}, {2.0f, -3.0f, 0.5f, 9.0f});
  Buf e = i64({4}, {3, 2, -2, 0});
  Buf y(DS_F32, {4});
  ASSERT_TRUE(run("ds.binary", kind("pow"), {&base.t, &e.t}, {&y.t}).ok());
  expectNear(y.values<float>(), {8, 9, 4, 1}, "pow f32^i64");
  // Exact integer power.
  Buf ib = i64({4}, {3, -2, 2, 5}), ie = i64({4}, {39, 3, -1, 0});
  Buf iy(DS_I64, {4});
  ASSERT_TRUE(run("ds.binary", kind("pow"), {&ib.t, &ie.t}, {&iy.t}).ok());
  int64_t p39 = 1;
  for (int i = 0; i < 39; ++i)
    p39 *= 3;
  EXPECT_EQ(iy.values<int64_t>(), (std::vector<int64_t>{p39, -8, 0, 1}));
  // Integer base, float exponent: truncated.
  Buf fe = f32({4}, {0.5f, 2.0f, 2.0f, 1.0f}), ty(DS_I64, {4});
  ASSERT_TRUE(run("ds.binary", kind("pow"), {&ib.t, &fe.t}, {&ty.t}).ok());
  EXPECT_EQ(ty.values<int64_t>()[0], 1); // sqrt(3) = 1.73 -> 1
  EXPECT_EQ(ty.values<int64_t>()[1], 4);
}

TEST(ElementwiseKernels, BinaryBitwiseAndShifts) {
  Buf a = make<uint8_t>(DS_U8, {4}, {0xF0, 0x0F, 0xFF, 1});
  Buf b = make<uint8_t>(DS_U8, {4}, {0x3C, 0x3C, 4, 7});
  Buf y(DS_U8, {4});
  ASSERT_TRUE(run("ds.binary", kind("bitwise_and"), {&a.t, &b.t}, {&y.t}).ok());
  EXPECT_EQ(y.values<uint8_t>(), (std::vector<uint8_t>{0x30, 0x0C, 4, 1}));
  ASSERT_TRUE(run("ds.binary", kind("bitwise_or"), {&a.t, &b.t}, {&y.t}).ok());
  EXPECT_EQ(y.values<uint8_t>(), (std::vector<uint8_t>{0xFC, 0x3F, 0xFF, 7}));
  ASSERT_TRUE(run("ds.binary", kind("bitwise_xor"), {&a.t, &b.t}, {&y.t}).ok());
  EXPECT_EQ(y.values<uint8_t>(), (std::vector<uint8_t>{0xCC, 0x33, 0xFB, 6}));

  Buf s = make<uint32_t>(DS_U32, {4}, {1, 0x80000000u, 16, 5});
  Buf n = make<uint32_t>(DS_U32, {4}, {31, 1, 2, 40});
  Buf sy(DS_U32, {4});
  ASSERT_TRUE(run("ds.binary", kind("shift_left"), {&s.t, &n.t}, {&sy.t}).ok());
  EXPECT_EQ(sy.values<uint32_t>(), (std::vector<uint32_t>{0x80000000u, 0, 64, 0}));
  ASSERT_TRUE(run("ds.binary", kind("shift_right"), {&s.t, &n.t}, {&sy.t}).ok());
  EXPECT_EQ(sy.values<uint32_t>(), (std::vector<uint32_t>{0, 0x40000000u, 4, 0}));

  Buf f = f32({1}, {1}), fy(DS_F32, {1});
  EXPECT_FALSE(run("ds.binary", kind("bitwise_and"), {&f.t, &f.t}, {&fy.t}).ok());
}

TEST(ElementwiseKernels, BinaryLogical) {
  Buf a = boolean({2, 2}, {0, 0, 1, 1}), b = boolean({2}, {0, 1});
  Buf y(DS_BOOL, {2, 2});
  ASSERT_TRUE(run("ds.binary", kind("and"), {&a.t, &b.t}, {&y.t}).ok());
  EXPECT_EQ(y.values<uint8_t>(), (std::vector<uint8_t>{0, 0, 0, 1}));
  ASSERT_TRUE(run("ds.binary", kind("or"), {&a.t, &b.t}, {&y.t}).ok());
  EXPECT_EQ(y.values<uint8_t>(), (std::vector<uint8_t>{0, 1, 1, 1}));
  ASSERT_TRUE(run("ds.binary", kind("xor"), {&a.t, &b.t}, {&y.t}).ok());
  EXPECT_EQ(y.values<uint8_t>(), (std::vector<uint8_t>{0, 1, 1, 0}));
  Buf f = f32({2}, {1, 0}), fy(DS_F32, {2});
  EXPECT_FALSE(run("ds.binary", kind("and"), {&f.t, &f.t}, {&fy.t}).ok());
  EXPECT_FALSE(run("ds.binary", kind("add"), {&a.t, &a.t}, {&y.t}).ok());
}

TEST(ElementwiseKernels, BinaryHalf) {
  Buf a = f16({2, 2}, {1.0f, 2.5f, -3.0f, 0.125f}), b = f16({2}, {0.5f, 2.0f});
  Buf y(DS_F16, {2, 2});
  ASSERT_TRUE(run("ds.binary", kind("mul"), {&a.t, &b.t}, {&y.t}).ok());
  EXPECT_EQ(f16Values(y), (std::vector<float>{0.5f, 5.0f, -1.5f, 0.25f}));
}

TEST(ElementwiseKernels, BinaryErrors) {
  Buf a = f32({2}, {1, 2}), b = f32({2}, {1, 2}), y(DS_F32, {2});
  Status s = run("ds.binary", kind("hypot"), {&a.t, &b.t}, {&y.t});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("ds.binary"), std::string::npos);
  Buf c = i32({2}, {1, 2});
  EXPECT_FALSE(run("ds.binary", kind("add"), {&a.t, &c.t}, {&y.t}).ok()); // dtypes differ
  Buf wrongOut(DS_I32, {2});
  EXPECT_FALSE(run("ds.binary", kind("add"), {&a.t, &b.t}, {&wrongOut.t}).ok());
  EXPECT_FALSE(run("ds.binary", kind("add"), {&a.t}, {&y.t}).ok());
}

//===----------------------------------------------------------------------===//
// ds.compare / ds.select
//===----------------------------------------------------------------------===//

TEST(ElementwiseKernels, Compare) {
  Buf a = f32({2, 3}, {1, 2, 3, 4, std::nanf(""), 6}), b = f32({3}, {2, 2, 2});
  struct {
    const char *kind;
    std::vector<uint8_t> want;
  } cases[] = {{"eq", {0, 1, 0, 0, 0, 0}},
               {"lt", {1, 0, 0, 0, 0, 0}},
               {"le", {1, 1, 0, 0, 0, 0}},
               {"gt", {0, 0, 1, 1, 0, 1}},
               {"ge", {0, 1, 1, 1, 0, 1}}};
  for (auto &c : cases) {
    Buf y(DS_BOOL, {2, 3});
    ASSERT_TRUE(run("ds.compare", kind(c.kind), {&a.t, &b.t}, {&y.t}, chunkedContext(2)).ok())
        << c.kind;
    EXPECT_EQ(y.values<uint8_t>(), c.want) << c.kind;
  }
  // i64 comparisons are exact beyond 2^53; u64 compares unsigned.
  const int64_t p53 = int64_t(1) << 53;
  Buf x = i64({2}, {p53 + 1, -5}), z = i64({2}, {p53, 3});
  Buf y(DS_BOOL, {2});
  ASSERT_TRUE(run("ds.compare", kind("gt"), {&x.t, &z.t}, {&y.t}).ok());
  EXPECT_EQ(y.values<uint8_t>(), (std::vector<uint8_t>{1, 0}));
  Buf u = make<uint64_t>(DS_U64, {1}, {~0ull}), v = make<uint64_t>(DS_U64, {1}, {1});
  Buf uy(DS_BOOL, {1});
  ASSERT_TRUE(run("ds.compare", kind("gt"), {&u.t, &v.t}, {&uy.t}).ok());
  EXPECT_EQ(uy.at<uint8_t>(0), 1);
  Buf bad(DS_F32, {2, 3});
  EXPECT_FALSE(run("ds.compare", kind("eq"), {&a.t, &b.t}, {&bad.t}).ok());
  Buf y2(DS_BOOL, {2, 3});
  EXPECT_FALSE(run("ds.compare", kind("ne"), {&a.t, &b.t}, {&y2.t}).ok());
}

TEST(ElementwiseKernels, SelectBroadcasts) {
  Buf c = boolean({2, 1}, {1, 0});
  Buf t = f32({}, {9.0f});
  Buf f = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  for (int64_t chunk : {0, 1, 4}) {
    Buf y(DS_F32, {2, 3});
    ASSERT_TRUE(run("ds.select", {}, {&c.t, &t.t, &f.t}, {&y.t}, chunkedContext(chunk)).ok());
    EXPECT_EQ(y.values<float>(), (std::vector<float>{9, 9, 9, 4, 5, 6}));
  }
  Buf c2 = boolean({3}, {0, 1, 0});
  Buf a = i64({3}, {1, 2, 3}), b = i64({1}, {-1});
  Buf y(DS_I64, {3});
  ASSERT_TRUE(run("ds.select", {}, {&c2.t, &a.t, &b.t}, {&y.t}).ok());
  EXPECT_EQ(y.values<int64_t>(), (std::vector<int64_t>{-1, 2, -1}));
  Buf h1 = f16({3}, {1, 2, 3}), h2 = f16({3}, {-1, -2, -3}), hy(DS_F16, {3});
  ASSERT_TRUE(run("ds.select", {}, {&c2.t, &h1.t, &h2.t}, {&hy.t}).ok());
  EXPECT_EQ(f16Values(hy), (std::vector<float>{-1, 2, -3}));
  Buf mixed(DS_F32, {3});
  EXPECT_FALSE(run("ds.select", {}, {&c2.t, &a.t, &b.t}, {&mixed.t}).ok());
}

//===----------------------------------------------------------------------===//
// ds.cast
//===----------------------------------------------------------------------===//

TEST(ElementwiseKernels, CastBasics) {
  Buf x = f32({5}, {-1.7f, 2.9f, 0.0f, -0.2f, 300.0f});
  Buf yi(DS_I32, {5});
  ASSERT_TRUE(run("ds.cast", {}, {&x.t}, {&yi.t}).ok());
  EXPECT_EQ(yi.values<int32_t>(), (std::vector<int32_t>{-1, 2, 0, 0, 300}));
  Buf yb(DS_BOOL, {5});
  ASSERT_TRUE(run("ds.cast", {}, {&x.t}, {&yb.t}).ok());
  EXPECT_EQ(yb.values<uint8_t>(), (std::vector<uint8_t>{1, 1, 0, 1, 1}));
  Buf yh(DS_F16, {5});
  ASSERT_TRUE(run("ds.cast", {}, {&x.t}, {&yh.t}).ok());
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(yh.values<uint16_t>()[i], floatToHalf(x.at<float>(i)));
  Buf back(DS_F32, {5});
  ASSERT_TRUE(run("ds.cast", {}, {&yh.t}, {&back.t}).ok());
  EXPECT_FLOAT_EQ(back.at<float>(1), halfToFloat(floatToHalf(2.9f)));
  Buf yd(DS_F64, {5});
  ASSERT_TRUE(run("ds.cast", {}, {&x.t}, {&yd.t}).ok());
  EXPECT_EQ(yd.at<double>(0), (double)-1.7f);
  Buf ybf(DS_BF16, {5});
  ASSERT_TRUE(run("ds.cast", {}, {&x.t}, {&ybf.t}).ok());
  EXPECT_EQ(ybf.values<uint16_t>()[4], floatToBf16(300.0f));

  const int64_t big = (int64_t(1) << 62) + 1;
  Buf l = i64({3}, {big, -3, 0});
  Buf lf(DS_F32, {3});
  ASSERT_TRUE(run("ds.cast", {}, {&l.t}, {&lf.t}).ok());
  EXPECT_EQ(lf.at<float>(0), (float)big);
  Buf li(DS_I32, {3}), lb(DS_BOOL, {3}), lu(DS_U8, {3});
  ASSERT_TRUE(run("ds.cast", {}, {&l.t}, {&li.t}).ok());
  EXPECT_EQ(li.values<int32_t>(), (std::vector<int32_t>{1, -3, 0}));
  ASSERT_TRUE(run("ds.cast", {}, {&l.t}, {&lb.t}).ok());
  EXPECT_EQ(lb.values<uint8_t>(), (std::vector<uint8_t>{1, 1, 0}));
  ASSERT_TRUE(run("ds.cast", {}, {&l.t}, {&lu.t}).ok());
  EXPECT_EQ(lu.values<uint8_t>(), (std::vector<uint8_t>{1, 253, 0}));

  Buf u = make<uint64_t>(DS_U64, {1}, {~0ull}), uf(DS_F64, {1});
  ASSERT_TRUE(run("ds.cast", {}, {&u.t}, {&uf.t}).ok());
  EXPECT_EQ(uf.at<double>(0), 18446744073709551615.0);
  Buf bo = boolean({2}, {1, 0}), bf(DS_F32, {2});
  ASSERT_TRUE(run("ds.cast", {}, {&bo.t}, {&bf.t}).ok());
  EXPECT_EQ(bf.values<float>(), (std::vector<float>{1, 0}));

  // Sub-byte results wrap; NaN to int does not crash.
  Buf s = f32({3}, {7.0f, 9.0f, -8.0f}), s4(DS_I4, {3});
  ASSERT_TRUE(run("ds.cast", {}, {&s.t}, {&s4.t}).ok());
  EXPECT_EQ(s4.values<int8_t>(), (std::vector<int8_t>{7, -7, -8}));
  Buf n = f32({1}, {std::nanf("")}), ni(DS_I64, {1});
  EXPECT_TRUE(run("ds.cast", {}, {&n.t}, {&ni.t}).ok());
  Buf h = f16({2}, {3.75f, -2.5f}), hi(DS_I16, {2});
  ASSERT_TRUE(run("ds.cast", {}, {&h.t}, {&hi.t}).ok());
  EXPECT_EQ(hi.values<int16_t>(), (std::vector<int16_t>{3, -2}));
}

std::vector<uint8_t> castToF8(DType to, const std::vector<float> &v, bool saturate) {
  Buf x = f32({(int64_t)v.size()}, v);
  Buf y(to, {(int64_t)v.size()});
  Attributes a;
  if (saturate)
    a.set("saturate", intAttr(1));
  Status s = run("ds.cast", a, {&x.t}, {&y.t});
  EXPECT_TRUE(s.ok()) << s.message();
  return y.values<uint8_t>();
}

TEST(ElementwiseKernels, CastFloat8E4M3FN) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> in = {1.0f,    448.0f,        500.0f, -1000.0f,
                           inf,     std::nanf(""), -0.0f,  0.001953125f /* 2^-9 */,
                           1.0625f, 1.1875f,       464.0f, 1e-6f};
  EXPECT_EQ(castToF8(DS_F8E4M3FN, in, true),
            (std::vector<uint8_t>{0x38, 0x7E, 0x7E, 0xFE, 0x7E, 0x7F, 0x80, 0x01, 0x38, 0x3A, 0x7E,
                                  0x00}));
  std::vector<uint8_t> nosat = castToF8(DS_F8E4M3FN, in, false);
  EXPECT_EQ(nosat[2], 0x7F); // overflow -> NaN
  EXPECT_EQ(nosat[3], 0xFF);
  EXPECT_EQ(nosat[4], 0x7F);
  EXPECT_EQ(nosat[10], 0x7E); // 464 is a tie that rounds to even 448
  // Every finite code round-trips through f32.
  Buf codes(DS_F8E4M3FN, {256});
  for (int i = 0; i < 256; ++i)
    static_cast<uint8_t *>(codes.t.data)[i] = (uint8_t)i;
  Buf f(DS_F32, {256});
  ASSERT_TRUE(run("ds.cast", {}, {&codes.t}, {&f.t}).ok());
  EXPECT_EQ(f.at<float>(0x38), 1.0f);
  EXPECT_EQ(f.at<float>(0x7E), 448.0f);
  EXPECT_EQ(f.at<float>(0x01), 0.001953125f);
  EXPECT_TRUE(std::isnan(f.at<float>(0x7F)));
  Buf again(DS_F8E4M3FN, {256});
  ASSERT_TRUE(run("ds.cast", attrs({{"saturate", intAttr(1)}}), {&f.t}, {&again.t}).ok());
  for (int i = 0; i < 256; ++i)
    if ((i & 0x7F) != 0x7F) {
      EXPECT_EQ(again.at<uint8_t>(i), i) << i;
    }
}

TEST(ElementwiseKernels, CastFloat8E5M2AndFnuz) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> in = {1.0f, 57344.0f, 1e6f, inf, -inf, std::nanf(""), -0.0f, 1.5f};
  EXPECT_EQ(castToF8(DS_F8E5M2, in, true),
            (std::vector<uint8_t>{0x3C, 0x7B, 0x7B, 0x7B, 0xFB, 0x7F, 0x80, 0x3E}));
  std::vector<uint8_t> nosat = castToF8(DS_F8E5M2, in, false);
  EXPECT_EQ(nosat[2], 0x7C); // overflow -> inf
  EXPECT_EQ(nosat[3], 0x7C);
  EXPECT_EQ(nosat[4], 0xFC);
  Buf codes(DS_F8E5M2, {256});
  for (int i = 0; i < 256; ++i)
    static_cast<uint8_t *>(codes.t.data)[i] = (uint8_t)i;
  Buf f(DS_F32, {256});
  ASSERT_TRUE(run("ds.cast", {}, {&codes.t}, {&f.t}).ok());
  EXPECT_EQ(f.at<float>(0x7C), inf);
  EXPECT_EQ(f.at<float>(0x01), std::ldexp(1.0f, -16));
  Buf again(DS_F8E5M2, {256});
  ASSERT_TRUE(run("ds.cast", {}, {&f.t}, {&again.t}).ok());
  for (int i = 0; i < 256; ++i)
    if ((i & 0x7F) <= 0x7C) {
      EXPECT_EQ(again.at<uint8_t>(i), i) << i;
    }

  // fnuz: no negative zero, 0x80 is NaN, max 240 / 57344.
  std::vector<uint8_t> e4 =
      castToF8(DS_F8E4M3FNUZ, {1.0f, -0.0f, 240.0f, 1000.0f, std::nanf(""), -1e-9f}, true);
  EXPECT_EQ(e4, (std::vector<uint8_t>{0x40, 0x00, 0x7F, 0x7F, 0x80, 0x00}));
  EXPECT_EQ(castToF8(DS_F8E4M3FNUZ, {1000.0f}, false)[0], 0x80);
  std::vector<uint8_t> e5 = castToF8(DS_F8E5M2FNUZ, {1.0f, 57344.0f, inf}, true);
  EXPECT_EQ(e5, (std::vector<uint8_t>{0x40, 0x7F, 0x7F}));
  Buf nz = make<uint8_t>(DS_F8E4M3FNUZ, {2}, {0x80, 0x40}), nzf(DS_F32, {2});
  ASSERT_TRUE(run("ds.cast", {}, {&nz.t}, {&nzf.t}).ok());
  EXPECT_TRUE(std::isnan(nzf.at<float>(0)));
  EXPECT_EQ(nzf.at<float>(1), 1.0f);
  // Between float8 types and from integers.
  Buf i = i32({2}, {2, -3}), i8f(DS_F8E4M3FN, {2});
  ASSERT_TRUE(run("ds.cast", {}, {&i.t}, {&i8f.t}).ok());
  EXPECT_EQ(i8f.values<uint8_t>(), (std::vector<uint8_t>{0x40, 0xC4}));
  Buf e5m2(DS_F8E5M2, {2});
  ASSERT_TRUE(run("ds.cast", {}, {&i8f.t}, {&e5m2.t}).ok());
  EXPECT_EQ(e5m2.values<uint8_t>(), (std::vector<uint8_t>{0x40, 0xC2}));
}

TEST(ElementwiseKernels, CastErrors) {
  Buf x = f32({2}, {1, 2}), y(DS_I32, {3});
  EXPECT_FALSE(run("ds.cast", {}, {&x.t}, {&y.t}).ok());
  EXPECT_FALSE(run("ds.cast", {}, {nullptr}, {&y.t}).ok());
}

} // namespace
