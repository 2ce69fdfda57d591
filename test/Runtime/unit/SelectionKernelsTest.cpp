//===- SelectionKernelsTest.cpp - ds.nonzero and ds.unique ------------------===//
//
// Calls the kernels of SelectionKernels.cpp directly (run() also checks that
// the shape function sizes the result alike). Expectations are numpy.nonzero's.
//
//===----------------------------------------------------------------------===//
#include "KernelTestUtils.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace {
using namespace dsrt;
using namespace dsrt::test;

TEST(SelectionKernels, NonZeroListsIndicesPerDimInRowMajorOrder) {
  Tensors ts;
  // [[1, 0, 3], [0, nan, -0.0]]: NaN is nonzero, -0.0 is zero.
  float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor *x = ts.f32({2, 3}, {1, 0, 3, 0, nan, -0.0f});
  Tensor *y = ts.empty(DS_I64, {2, 3});
  ASSERT_TRUE(run("ds.nonzero", {}, {x}, {y}).ok());
  EXPECT_EQ(values<int64_t>(y), (std::vector<int64_t>{0, 0, 1, 0, 2, 1}));
}

TEST(SelectionKernels, NonZeroOfBoolsIntegersScalarsAndEmpty) {
  Tensors ts;
  Tensor *b = ts.make<uint8_t>(DS_BOOL, {4}, {0, 1, 1, 0});
  Tensor *yb = ts.empty(DS_I64, {1, 2});
  ASSERT_TRUE(run("ds.nonzero", {}, {b}, {yb}).ok());
  EXPECT_EQ(values<int64_t>(yb), (std::vector<int64_t>{1, 2}));

  // int64 beyond 2^53 stays nonzero.
  Tensor *big = ts.i64({2}, {0, (int64_t(1) << 62) + 1});
  Tensor *yi = ts.empty(DS_I64, {1, 1});
  ASSERT_TRUE(run("ds.nonzero", {}, {big}, {yi}).ok());
  EXPECT_EQ(values<int64_t>(yi), (std::vector<int64_t>{1}));

  Tensor *scalar = ts.f32({}, {2.5f});
  Tensor *ys = ts.empty(DS_I64, {0, 1});
  EXPECT_TRUE(run("ds.nonzero", {}, {scalar}, {ys}).ok());

  Tensor *empty = ts.f32({0, 3}, {});
  Tensor *ye = ts.empty(DS_I64, {2, 0});
  EXPECT_TRUE(run("ds.nonzero", {}, {empty}, {ye}).ok());
}

TEST(SelectionKernels, NonZeroRefusesAWrongResult) {
  Tensors ts;
  Tensor *x = ts.f32({3}, {1, 0, 1});
  Tensor *tooShort = ts.empty(DS_I64, {1, 1});
  Status s = run("ds.nonzero", {}, {x}, {tooShort});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("ds.nonzero"), std::string::npos) << s.message();
  Tensor *wrongType = ts.empty(DS_I32, {1, 2});
  EXPECT_FALSE(run("ds.nonzero", {}, {x}, {wrongType}).ok());
}

} // namespace

namespace {
using namespace dsrt;
using namespace dsrt::test;

struct UniqueResults {
  Tensor *values, *first, *inverse, *counts;
};

TEST(SelectionKernels, UniqueSortedOrByFirstOccurrence) {
  // ONNX's example: [2, 1, 1, 3, 4, 3].
  for (int sorted : {1, 0}) {
    Tensors ts;
    Tensor *x = ts.f32({6}, {2, 1, 1, 3, 4, 3});
    UniqueResults r{ts.empty(DS_F32, {4}), ts.empty(DS_I64, {4}), ts.empty(DS_I64, {6}),
                    ts.empty(DS_I64, {4})};
    ASSERT_TRUE(run("ds.unique", attrs({{"axis", intAttr(0)}, {"sorted", intAttr(sorted)}}), {x},
                    {r.values, r.first, r.inverse, r.counts})
                    .ok());
    if (sorted) {
      EXPECT_EQ(values<float>(r.values), (std::vector<float>{1, 2, 3, 4}));
      EXPECT_EQ(values<int64_t>(r.first), (std::vector<int64_t>{1, 0, 3, 4}));
      EXPECT_EQ(values<int64_t>(r.inverse), (std::vector<int64_t>{1, 0, 0, 2, 3, 2}));
      EXPECT_EQ(values<int64_t>(r.counts), (std::vector<int64_t>{2, 1, 2, 1}));
    } else {
      EXPECT_EQ(values<float>(r.values), (std::vector<float>{2, 1, 3, 4}));
      EXPECT_EQ(values<int64_t>(r.first), (std::vector<int64_t>{0, 1, 3, 4}));
      EXPECT_EQ(values<int64_t>(r.inverse), (std::vector<int64_t>{0, 1, 1, 2, 3, 2}));
      EXPECT_EQ(values<int64_t>(r.counts), (std::vector<int64_t>{1, 2, 2, 1}));
    }
  }
}

TEST(SelectionKernels, UniqueSlicesAlongAnAxisAndNaNs) {
  Tensors ts;
  // Columns of [[1, 0, 1], [2, 5, 2]] along axis 1: (1,2), (0,5), (1,2).
  Tensor *x = ts.i64({2, 3}, {1, 0, 1, 2, 5, 2});
  UniqueResults r{ts.empty(DS_I64, {2, 2}), ts.empty(DS_I64, {2}), ts.empty(DS_I64, {3}),
                  ts.empty(DS_I64, {2})};
  ASSERT_TRUE(run("ds.unique", attrs({{"axis", intAttr(1)}, {"sorted", intAttr(1)}}), {x},
                  {r.values, r.first, r.inverse, r.counts})
                  .ok());
  EXPECT_EQ(values<int64_t>(r.values), (std::vector<int64_t>{0, 1, 5, 2}));
  EXPECT_EQ(values<int64_t>(r.inverse), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(values<int64_t>(r.counts), (std::vector<int64_t>{1, 2}));

  // NaN sorts after every number and equals NaN.
  float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor *f = ts.f32({4}, {nan, 1, nan, -1});
  UniqueResults n{ts.empty(DS_F32, {3}), ts.empty(DS_I64, {3}), ts.empty(DS_I64, {4}),
                  ts.empty(DS_I64, {3})};
  ASSERT_TRUE(run("ds.unique", attrs({{"axis", intAttr(0)}, {"sorted", intAttr(1)}}), {f},
                  {n.values, n.first, n.inverse, n.counts})
                  .ok());
  std::vector<float> v = values<float>(n.values);
  EXPECT_EQ(v[0], -1);
  EXPECT_EQ(v[1], 1);
  EXPECT_TRUE(std::isnan(v[2]));
  EXPECT_EQ(values<int64_t>(n.counts), (std::vector<int64_t>{1, 1, 2}));

  // A result sized for another count is refused.
  Tensor *wrong = ts.empty(DS_F32, {4});
  EXPECT_FALSE(run("ds.unique", attrs({{"axis", intAttr(0)}, {"sorted", intAttr(1)}}), {f},
                   {wrong, n.first, n.inverse, n.counts})
                   .ok());
}

} // namespace
