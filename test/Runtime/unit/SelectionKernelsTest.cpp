//===- SelectionKernelsTest.cpp - ds.nonzero -------------------------------===//
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
