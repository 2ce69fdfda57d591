//===- DataMovementKernelsTest.cpp - shape, copy, gather, pad, resize ------===//
//
// Calls the CPU kernels of DataMovementKernels.cpp directly. Expectations are
// hand-computed, from the ONNX operator examples, or (where marked) values
// onnxruntime produces for the same inputs.
//
//===----------------------------------------------------------------------===//
#include "KernelTestUtils.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace {
using namespace dsrt;
using namespace dsrt::test;

void expectNear(const std::vector<float> &got, const std::vector<float> &want, float tol = 1e-5f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tol * std::max(1.0f, std::fabs(want[i]))) << "at " << i;
}

std::vector<float> iota(size_t n, float start = 0) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = start + (float)i;
  return v;
}

TEST(DataMovementKernels, RegistersEveryOp) {
  for (const char *name : {"ds.shape", "ds.reshape", "ds.transpose", "ds.concat", "ds.slice",
                           "ds.gather", "ds.gather_elements", "ds.gather_nd",
                           "ds.scatter_elements", "ds.scatter_nd", "ds.expand", "ds.tile",
                           "ds.pad", "ds.fill", "ds.range", "ds.trilu"})
    EXPECT_TRUE(registers(cpu::registerDataMovementKernels, name)) << name;
  EXPECT_TRUE(registers(cpu::registerResizeKernel, "ds.resize"));
  EXPECT_TRUE(registers(cpu::registerAssertKernel, "ds.assert"));
}

TEST(DataMovementKernels, ShapeClampsStartAndEnd) {
  Tensors ts;
  Tensor *x = ts.empty(DS_F32, {2, 3, 4});
  Tensor *y = ts.empty(DS_I64, {2});
  Attributes attrs;
  attrs.set("start", intAttr(-2));
  attrs.set("end", intAttr(100));
  ASSERT_TRUE(run("ds.shape", attrs, {x}, {y}).ok());
  EXPECT_EQ(values<int64_t>(y), (std::vector<int64_t>{3, 4}));
}

TEST(DataMovementKernels, ReshapeCopiesBytes) {
  Tensors ts;
  Tensor *x = ts.f32({2, 3}, iota(6));
  Tensor *shape = ts.i64({2}, {3, 2});
  Tensor *y = ts.empty(DS_F32, {3, 2});
  ASSERT_TRUE(run("ds.reshape", {}, {x, shape}, {y}).ok());
  EXPECT_EQ(values<float>(y), iota(6));
}

TEST(DataMovementKernels, TransposeMatchesNaiveLoop) {
  Tensors ts;
  Tensor *x = ts.f32({2, 3, 4}, iota(24));
  Tensor *y = ts.empty(DS_F32, {4, 2, 3});
  Attributes attrs;
  attrs.set("perm", intsAttr({2, 0, 1}));
  for (KernelContext ctx : {serialContext(), chunkedContext(3)}) {
    ASSERT_TRUE(run("ds.transpose", attrs, {x}, {y}, ctx).ok());
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 3; ++b)
        for (int c = 0; c < 4; ++c)
          EXPECT_EQ(y->as<float>()[(c * 2 + a) * 3 + b], x->as<float>()[(a * 3 + b) * 4 + c]);
  }
}

TEST(DataMovementKernels, TransposeIsDtypeAgnostic) {
  Tensors ts;
  Tensor *x = ts.make<uint16_t>(DS_F16, {2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor *y = ts.empty(DS_F16, {3, 2});
  Attributes attrs;
  attrs.set("perm", intsAttr({1, 0}));
  ASSERT_TRUE(run("ds.transpose", attrs, {x}, {y}).ok());
  EXPECT_EQ(values<uint16_t>(y), (std::vector<uint16_t>{1, 4, 2, 5, 3, 6}));
}

// Transposes large enough for the tiled path (rows and columns of 8 or more,
// edges not multiples of the tile), of 2-, 4- and 8-byte elements, against
// the index arithmetic; also an expand-like copy (a broadcast last dim).
template <typename T>
void checkTransposes(DType dtype) {
  struct Case {
    std::vector<int64_t> shape, perm;
  };
  for (const Case &c : std::vector<Case>{{{37, 70}, {1, 0}},
                                         {{3, 45, 33}, {0, 2, 1}},
                                         {{9, 40, 2, 11}, {1, 3, 0, 2}},
                                         {{4, 128, 4, 32}, {0, 2, 1, 3}},
                                         {{4, 128, 512}, {0, 2, 1}},
                                         {{2, 3, 50, 9}, {3, 2, 1, 0}}}) {
    Tensors ts;
    int64_t n = 1;
    for (int64_t d : c.shape)
      n *= d;
    std::vector<T> data((size_t)n);
    for (int64_t i = 0; i < n; ++i)
      data[(size_t)i] = (T)(i * 7 + 3);
    Tensor *x = ts.make<T>(dtype, c.shape, data);
    std::vector<int64_t> outShape;
    for (int64_t p : c.perm)
      outShape.push_back(c.shape[(size_t)p]);
    Tensor *y = ts.empty(dtype, outShape);
    Attributes attrs;
    attrs.set("perm", intsAttr(c.perm));
    std::vector<int64_t> inStrides(c.shape.size(), 1);
    for (size_t d = c.shape.size() - 1; d-- > 0;)
      inStrides[d] = inStrides[d + 1] * c.shape[d + 1];
    for (KernelContext ctx : {serialContext(), chunkedContext(3)}) {
      std::fill(y->as<T>(), y->as<T>() + n, (T)0);
      ASSERT_TRUE(run("ds.transpose", attrs, {x}, {y}, ctx).ok());
      std::vector<int64_t> coord(outShape.size(), 0);
      for (int64_t i = 0; i < n; ++i) {
        int64_t at = 0, rem = i;
        for (size_t d = outShape.size(); d-- > 0;) {
          coord[d] = rem % outShape[d];
          rem /= outShape[d];
        }
        for (size_t d = 0; d < outShape.size(); ++d)
          at += coord[d] * inStrides[(size_t)c.perm[d]];
        ASSERT_EQ(y->as<T>()[i], data[(size_t)at])
            << "element " << i << " of a transpose of a rank-" << c.shape.size() << " tensor of "
            << n << " elements";
      }
    }
  }
}

TEST(DataMovementKernels, TiledTransposesMatchIndexArithmetic) {
  checkTransposes<uint16_t>(DS_F16);
  checkTransposes<float>(DS_F32);
  checkTransposes<int64_t>(DS_I64);
}

TEST(DataMovementKernels, ExpandAlongTheLastDimBroadcastsColumns) {
  Tensors ts;
  Tensor *x = ts.f32({40, 1}, iota(40));
  Tensor *shape = ts.i64({2}, {40, 33});
  Tensor *y = ts.empty(DS_F32, {40, 33});
  for (KernelContext ctx : {serialContext(), chunkedContext(3)}) {
    ASSERT_TRUE(run("ds.expand", {}, {x, shape}, {y}, ctx).ok());
    for (int r = 0; r < 40; ++r)
      for (int c = 0; c < 33; ++c)
        ASSERT_EQ(y->as<float>()[r * 33 + c], (float)r);
  }
}

TEST(DataMovementKernels, ConcatAlongMiddleAxis) {
  Tensors ts;
  Tensor *a = ts.f32({2, 1, 2}, {1, 2, 3, 4});
  Tensor *b = ts.f32({2, 2, 2}, {5, 6, 7, 8, 9, 10, 11, 12});
  Tensor *y = ts.empty(DS_F32, {2, 3, 2});
  Attributes attrs;
  attrs.set("axis", intAttr(-2));
  ASSERT_TRUE(run("ds.concat", attrs, {a, b}, {y}).ok());
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12}));
}

TEST(DataMovementKernels, SliceWithNegativeStepAndClamping) {
  Tensors ts;
  Tensor *x = ts.f32({10}, iota(10));
  Tensor *y = ts.empty(DS_F32, {3});
  ASSERT_TRUE(run("ds.slice", {},
                  {x, ts.i64({1}, {8}), ts.i64({1}, {1}), ts.i64({1}, {0}), ts.i64({1}, {-3})},
                  {y})
                  .ok());
  EXPECT_EQ(values<float>(y), (std::vector<float>{8, 5, 2}));

  // ONNX clamping: start INT64_MAX with a negative step starts at the last element.
  Tensor *y2 = ts.empty(DS_F32, {10});
  ASSERT_TRUE(run("ds.slice", {},
                  {x, ts.i64({1}, {INT64_MAX}), ts.i64({1}, {INT64_MIN}), ts.i64({1}, {0}),
                   ts.i64({1}, {-1})},
                  {y2})
                  .ok());
  EXPECT_EQ(values<float>(y2), (std::vector<float>{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}));
}

TEST(DataMovementKernels, Slice2DWithInt32Parameters) {
  Tensors ts;
  Tensor *x = ts.f32({3, 4}, iota(12));
  Tensor *y = ts.empty(DS_F32, {3, 2});
  auto i32 = [&](int32_t v) { return ts.make<int32_t>(DS_I32, {1}, {v}); };
  // Columns 1 and 3 (axis -1, step 2) of every row.
  ASSERT_TRUE(
      run("ds.slice", {}, {x, i32(1), i32(100), i32(-1), i32(2)}, {y}, chunkedContext(3)).ok());
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, 3, 5, 7, 9, 11}));
}

TEST(DataMovementKernels, SliceRejectsAMismatchedResult) {
  Tensors ts;
  Tensor *x = ts.f32({10}, iota(10));
  Tensor *y = ts.empty(DS_F32, {4});
  Status s = run("ds.slice", {},
                 {x, ts.i64({1}, {0}), ts.i64({1}, {3}), ts.i64({1}, {0}), ts.i64({1}, {1})},
                 {y});
  EXPECT_FALSE(s.ok());
}

TEST(DataMovementKernels, GatherWrapsNegativeIndices) {
  Tensors ts;
  Tensor *x = ts.f32({2, 3}, iota(6));
  Tensor *idx = ts.i64({2}, {-1, 0});
  Tensor *y = ts.empty(DS_F32, {2, 2});
  Attributes attrs;
  attrs.set("axis", intAttr(1));
  ASSERT_TRUE(run("ds.gather", attrs, {x, idx}, {y}).ok());
  EXPECT_EQ(values<float>(y), (std::vector<float>{2, 0, 5, 3}));
}

TEST(DataMovementKernels, GatherOutOfRangeIsAnError) {
  Tensors ts;
  Tensor *x = ts.f32({2, 5}, iota(10));
  Tensor *idx = ts.i64({2}, {0, 7});
  Tensor *y = ts.empty(DS_F32, {2, 2});
  Attributes attrs;
  attrs.set("axis", intAttr(1));
  Status s = run("ds.gather", attrs, {x, idx}, {y});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("index 7 is out of range for dim 5"), std::string::npos)
      << s.message();
}

TEST(DataMovementKernels, GatherElementsOnnxExample) {
  Tensors ts;
  Tensor *x = ts.f32({2, 2}, {1, 2, 3, 4});
  Tensor *idx = ts.i64({2, 2}, {0, 0, 1, 0});
  Tensor *y = ts.empty(DS_F32, {2, 2});
  Attributes attrs;
  attrs.set("axis", intAttr(1));
  ASSERT_TRUE(run("ds.gather_elements", attrs, {x, idx}, {y}).ok());
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, 1, 4, 3}));
}

TEST(DataMovementKernels, GatherNDWithBatchDims) {
  Tensors ts;
  Tensor *x = ts.f32({2, 2, 2}, iota(8));
  Tensor *idx = ts.i64({2, 1}, {1, 0});
  Tensor *y = ts.empty(DS_F32, {2, 2});
  Attributes attrs;
  attrs.set("batch_dims", intAttr(1));
  ASSERT_TRUE(run("ds.gather_nd", attrs, {x, idx}, {y}).ok());
  EXPECT_EQ(values<float>(y), (std::vector<float>{2, 3, 4, 5}));

  Tensor *bad = ts.i64({2, 1}, {1, 2});
  EXPECT_FALSE(run("ds.gather_nd", attrs, {x, bad}, {y}).ok());
}

TEST(DataMovementKernels, ScatterElementsAddsDuplicates) {
  Tensors ts;
  Tensor *x = ts.f32({1, 5}, {1, 2, 3, 4, 5});
  Tensor *idx = ts.i64({1, 2}, {1, 1});
  Tensor *u = ts.f32({1, 2}, {1.1f, 2.1f});
  Tensor *y = ts.empty(DS_F32, {1, 5});
  Attributes attrs;
  attrs.set("axis", intAttr(1));
  attrs.set("reduction", strAttr("add"));
  ASSERT_TRUE(run("ds.scatter_elements", attrs, {x, idx, u}, {y}).ok());
  expectNear(values<float>(y), {1, 5.2f, 3, 4, 5});

  Tensor *bad = ts.i64({1, 2}, {1, 5});
  EXPECT_FALSE(run("ds.scatter_elements", attrs, {x, bad, u}, {y}).ok());
}

TEST(DataMovementKernels, ScatterNDOnnxExample) {
  Tensors ts;
  Tensor *x = ts.f32({8}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor *idx = ts.i64({4, 1}, {4, 3, 1, 7});
  Tensor *u = ts.f32({4}, {9, 10, 11, 12});
  Tensor *y = ts.empty(DS_F32, {8});
  Attributes attrs;
  attrs.set("reduction", strAttr("none"));
  ASSERT_TRUE(run("ds.scatter_nd", attrs, {x, idx, u}, {y}).ok());
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, 11, 3, 10, 9, 6, 7, 12}));
}

TEST(DataMovementKernels, ExpandBroadcasts) {
  Tensors ts;
  Tensor *x = ts.f32({3, 1}, {1, 2, 3});
  Tensor *shape = ts.i64({3}, {2, 1, 2});
  Tensor *y = ts.empty(DS_F32, {2, 3, 2});
  ASSERT_TRUE(run("ds.expand", {}, {x, shape}, {y}, chunkedContext(3)).ok());
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}));
}

TEST(DataMovementKernels, TileRepeats) {
  Tensors ts;
  Tensor *x = ts.f32({2, 2}, {1, 2, 3, 4});
  Tensor *reps = ts.i64({2}, {2, 2});
  Tensor *y = ts.empty(DS_F32, {4, 4});
  ASSERT_TRUE(run("ds.tile", {}, {x, reps}, {y}).ok());
  EXPECT_EQ(values<float>(y),
            (std::vector<float>{1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4}));
}

TEST(DataMovementKernels, PadReflectOnnxExample) {
  Tensors ts;
  Tensor *x = ts.f32({3, 2}, {1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f});
  Tensor *pads = ts.i64({4}, {0, 2, 0, 0});
  Tensor *y = ts.empty(DS_F32, {3, 4});
  Attributes attrs;
  attrs.set("mode", strAttr("reflect"));
  ASSERT_TRUE(run("ds.pad", attrs, {x, pads, nullptr}, {y}).ok());
  EXPECT_EQ(values<float>(y), (std::vector<float>{1.0f, 1.2f, 1.0f, 1.2f, 2.3f, 3.4f, 2.3f, 3.4f,
                                                  4.5f, 5.7f, 4.5f, 5.7f}));
}

TEST(DataMovementKernels, PadModes) {
  Tensors ts;
  Tensor *x = ts.f32({4}, {1, 2, 3, 4});
  Tensor *pads = ts.i64({2}, {2, 3});
  Tensor *y = ts.empty(DS_F32, {9});
  Attributes attrs;
  attrs.set("mode", strAttr("edge"));
  ASSERT_TRUE(run("ds.pad", attrs, {x, pads, nullptr}, {y}).ok());
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, 1, 1, 2, 3, 4, 4, 4, 4}));
  attrs.set("mode", strAttr("wrap"));
  ASSERT_TRUE(run("ds.pad", attrs, {x, pads, nullptr}, {y}).ok());
  EXPECT_EQ(values<float>(y), (std::vector<float>{3, 4, 1, 2, 3, 4, 1, 2, 3}));
  attrs.set("mode", strAttr("reflect"));
  ASSERT_TRUE(run("ds.pad", attrs, {x, pads, nullptr}, {y}).ok());
  EXPECT_EQ(values<float>(y), (std::vector<float>{3, 2, 1, 2, 3, 4, 3, 2, 1}));
  attrs.set("mode", strAttr("constant"));
  Tensor *value = ts.f32({}, {-1});
  ASSERT_TRUE(run("ds.pad", attrs, {x, pads, value}, {y}).ok());
  EXPECT_EQ(values<float>(y), (std::vector<float>{-1, -1, 1, 2, 3, 4, -1, -1, -1}));
  // Negative pads crop.
  Tensor *crop = ts.i64({2}, {-1, 1});
  Tensor *y2 = ts.empty(DS_F32, {4});
  ASSERT_TRUE(run("ds.pad", attrs, {x, crop, nullptr}, {y2}).ok());
  EXPECT_EQ(values<float>(y2), (std::vector<float>{2, 3, 4, 0}));
}

TEST(DataMovementKernels, FillWithTensorAttribute) {
  Tensors ts;
  Tensor *shape = ts.i64({2}, {2, 3});
  Tensor *y = ts.empty(DS_F32, {2, 3});
  Attribute value;
  value.kind = Attribute::Tensor;
  value.tensorType = DS_F32;
  float v = 2.5f;
  value.s.assign(reinterpret_cast<const char *>(&v), sizeof(v));
  Attributes attrs;
  attrs.set("value", value);
  ASSERT_TRUE(run("ds.fill", attrs, {shape}, {y}).ok());
  EXPECT_EQ(values<float>(y), std::vector<float>(6, 2.5f));
}

TEST(DataMovementKernels, RangeIntegerAndFloat) {
  Tensors ts;
  Tensor *y = ts.empty(DS_I64, {2});
  ASSERT_TRUE(
      run("ds.range", {}, {ts.i64({}, {10}), ts.i64({}, {4}), ts.i64({}, {-3})}, {y}).ok());
  EXPECT_EQ(values<int64_t>(y), (std::vector<int64_t>{10, 7}));
  Tensor *yf = ts.empty(DS_F32, {4});
  ASSERT_TRUE(
      run("ds.range", {}, {ts.f32({}, {1}), ts.f32({}, {3}), ts.f32({}, {0.5f})}, {yf}).ok());
  expectNear(values<float>(yf), {1, 1.5f, 2, 2.5f});
  Tensor *wrong = ts.empty(DS_I64, {3});
  EXPECT_FALSE(
      run("ds.range", {}, {ts.i64({}, {10}), ts.i64({}, {4}), ts.i64({}, {-3})}, {wrong}).ok());
}

TEST(DataMovementKernels, TriluUpperAndLower) {
  Tensors ts;
  Tensor *x = ts.f32({3, 4}, iota(12, 1));
  Tensor *y = ts.empty(DS_F32, {3, 4});
  Attributes upper;
  upper.set("upper", intAttr(1));
  ASSERT_TRUE(run("ds.trilu", upper, {x, ts.i64({}, {1})}, {y}).ok());
  EXPECT_EQ(values<float>(y), (std::vector<float>{0, 2, 3, 4, 0, 0, 7, 8, 0, 0, 0, 12}));
  ASSERT_TRUE(run("ds.trilu", {}, {x, ts.i64({}, {-1})}, {y}).ok());
  EXPECT_EQ(values<float>(y), (std::vector<float>{0, 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0}));
  ASSERT_TRUE(run("ds.trilu", {}, {x, nullptr}, {y}).ok());
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, 0, 0, 0, 5, 6, 0, 0, 9, 10, 11, 0}));
}

Attributes resizeAttrs(const std::string &mode, const std::string &ctm = "half_pixel") {
  Attributes a;
  a.set("mode", strAttr(mode));
  a.set("coordinate_transformation_mode", strAttr(ctm));
  a.set("nearest_mode", strAttr("round_prefer_floor"));
  a.set("cubic_coeff_a", floatAttr(-0.75));
  a.set("exclude_outside", intAttr(0));
  a.set("extrapolation_value", floatAttr(0.0));
  a.set("antialias", intAttr(0));
  return a;
}

TEST(DataMovementKernels, ResizeNearestUpsample) {
  Tensors ts;
  Tensor *x = ts.f32({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor *scales = ts.f32({4}, {1, 1, 2, 3});
  Tensor *y = ts.empty(DS_F32, {1, 1, 4, 6});
  ASSERT_TRUE(run("ds.resize", resizeAttrs("nearest"), {x, nullptr, scales, nullptr}, {y}).ok());
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2,
                                                  3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}));
}

TEST(DataMovementKernels, ResizeNearestCopiesIntegers) {
  Tensors ts;
  Tensor *x = ts.i64({1, 2}, {INT64_MAX, -7});
  Tensor *sizes = ts.i64({2}, {1, 4});
  Tensor *y = ts.empty(DS_I64, {1, 4});
  ASSERT_TRUE(run("ds.resize", resizeAttrs("nearest", "asymmetric"), {x, nullptr, nullptr, sizes},
                  {y})
                  .ok());
  EXPECT_EQ(values<int64_t>(y), (std::vector<int64_t>{INT64_MAX, INT64_MAX, -7, -7}));
}

TEST(DataMovementKernels, ResizeLinear) {
  Tensors ts;
  Tensor *x = ts.f32({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor *scales = ts.f32({4}, {1, 1, 2, 2});
  Tensor *y = ts.empty(DS_F32, {1, 1, 4, 4});
  ASSERT_TRUE(run("ds.resize", resizeAttrs("linear"), {x, nullptr, scales, nullptr}, {y}).ok());
  expectNear(values<float>(y), {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f,
                                3.5f, 3, 3.25f, 3.75f, 4});
  ASSERT_TRUE(run("ds.resize", resizeAttrs("linear", "align_corners"),
                  {x, nullptr, scales, nullptr}, {y})
                  .ok());
  float t = 1.0f / 3, u = 2.0f / 3;
  expectNear(values<float>(y), {1, 1 + t, 1 + u, 2, 1 + u, 2, 2 + t, 2 + u, 2 + t, 2 + u, 3,
                                3 + t, 3, 3 + t, 3 + u, 4});
  Tensor *x2 = ts.f32({1, 1, 2, 4}, iota(8, 1));
  Tensor *down = ts.f32({4}, {1, 1, 0.6f, 0.6f});
  Tensor *y2 = ts.empty(DS_F32, {1, 1, 1, 2});
  ASSERT_TRUE(run("ds.resize", resizeAttrs("linear"), {x2, nullptr, down, nullptr}, {y2}).ok());
  expectNear(values<float>(y2), {2.6666665f, 4.333333f});
}

TEST(DataMovementKernels, ResizeCubicAndAntialiasMatchOnnxruntime) {
  Tensors ts;
  Tensor *x = ts.f32({1, 1, 4, 4}, iota(16, 1));
  Tensor *up = ts.f32({4}, {1, 1, 2, 2});
  Tensor *y = ts.empty(DS_F32, {1, 1, 8, 8});
  ASSERT_TRUE(run("ds.resize", resizeAttrs("cubic"), {x, nullptr, up, nullptr}, {y}).ok());
  std::vector<float> all = values<float>(y);
  // Rows 0 and 3 as onnxruntime computes them.
  expectNear(std::vector<float>(all.begin(), all.begin() + 8),
             {0.47265625f, 0.76953125f, 1.2460938f, 1.875f, 2.28125f, 2.9101562f, 3.3867188f,
              3.6835938f});
  expectNear(std::vector<float>(all.begin() + 24, all.begin() + 32),
             {6.0820312f, 6.3789062f, 6.8554688f, 7.484375f, 7.890625f, 8.5195312f, 8.9960938f,
              9.2929688f});
  Tensor *down = ts.f32({4}, {1, 1, 0.6f, 0.6f});
  Tensor *y2 = ts.empty(DS_F32, {1, 1, 2, 2});
  Attributes aa = resizeAttrs("linear");
  aa.set("antialias", intAttr(1));
  ASSERT_TRUE(run("ds.resize", aa, {x, nullptr, down, nullptr}, {y2}).ok());
  expectNear(values<float>(y2), {2.875f, 4.5f, 9.375f, 11.0f});
  aa.set("mode", strAttr("cubic"));
  ASSERT_TRUE(run("ds.resize", aa, {x, nullptr, down, nullptr}, {y2}).ok());
  expectNear(values<float>(y2), {2.5180712f, 4.2858858f, 9.5893297f, 11.357143f});
}

TEST(DataMovementKernels, ResizeTfCropAndResizeExtrapolates) {
  Tensors ts;
  Tensor *x = ts.f32({1, 1, 4, 4}, iota(16, 1));
  Tensor *roi = ts.f32({8}, {0, 0, 0.4f, 0.6f, 1, 1, 1.2f, 1.7f});
  Tensor *sizes = ts.i64({4}, {1, 1, 3, 3});
  Tensor *y = ts.empty(DS_F32, {1, 1, 3, 3});
  Attributes attrs = resizeAttrs("linear", "tf_crop_and_resize");
  attrs.set("extrapolation_value", floatAttr(10.0));
  ASSERT_TRUE(run("ds.resize", attrs, {x, roi, nullptr, sizes}, {y}).ok());
  expectNear(values<float>(y), {7.6000009f, 10, 10, 12.400001f, 10, 10, 10, 10, 10});
}

} // namespace

namespace {
using namespace dsrt;
using namespace dsrt::test;

TEST(DataMovementKernels, AssertPassesTheValueOnOrFailsWithItsMessage) {
  Tensors ts;
  auto condition = [&](std::vector<int64_t> shape, std::vector<uint8_t> v) {
    return ts.make<uint8_t>(DS_BOOL, std::move(shape), v);
  };
  auto fails = [&](std::vector<const Tensor *> in, Tensor *out, const std::string &part) {
    Attributes a = attrs({{"message", strAttr("Split: split sizes must add up")}});
    Status s = run("ds.assert", a, std::move(in), {out});
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find(part), std::string::npos) << s.message();
  };
  Tensor *x = ts.i64({3}, {2, 1, 4});
  Tensor *y = ts.empty(DS_I64, {3});
  Attributes a = attrs({{"message", strAttr("Split: split sizes must add up")}});
  ASSERT_TRUE(run("ds.assert", a, {condition({2}, {1, 1}), x}, {y}).ok());
  EXPECT_EQ(values<int64_t>(y), (std::vector<int64_t>{2, 1, 4}));
  // An empty condition holds.
  ASSERT_TRUE(run("ds.assert", a, {condition({0}, {}), x}, {y}).ok());
  fails({condition({2}, {1, 0}), x}, y, "ds.assert: Split: split sizes must add up");
  // The condition is a bool tensor; the result has the operand's shape.
  fails({ts.i64({1}, {1}), x}, y, "must be bool");
  fails({condition({1}, {1}), x}, ts.empty(DS_I64, {2}), "differs from the operand");
}
} // namespace
