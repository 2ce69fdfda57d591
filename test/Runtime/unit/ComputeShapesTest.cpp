//===- ComputeShapesTest.cpp - shape functions of the compute ops ---------===//
//
// The shape functions of the elementwise, reduction and contraction ops,
// called the way the runtime calls them before a step runs: every operand has
// a shape but no data, except those in the op's shape-operand mask (topk's k).
// The kernel tests check the same functions against every result they accept.
//
//===----------------------------------------------------------------------===//
#include "KernelTestUtils.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace dsrt;
using namespace dsrt::test;

namespace {

/// A tensor with a shape and no data.
Tensor shaped(Shape shape, DType dtype = DS_F32) {
  Tensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  return t;
}

/// Calls `op`'s shape function for `numResults` results.
Status infer(const std::string &op, const Attributes &a, std::vector<const Tensor *> in,
             std::vector<Shape> &out, size_t numResults = 1) {
  const CpuOp *cpuOp = findCpuOp(op);
  if (!cpuOp || !cpuOp->shape)
    return Status::error("no shape function for " + op);
  out.assign(numResults, Shape{-7}); // garbage a function must overwrite
  return cpuOp->shape(a, in, out);
}

/// Runs `op`'s shape function on data-less operands of `shapes` (f32, or
/// `dtypes` where given).
Status inferOn(const std::string &op, const Attributes &a, const std::vector<Shape> &shapes,
               const std::vector<DType> &dtypes, std::vector<Shape> &out, size_t numResults) {
  std::vector<Tensor> tensors;
  for (size_t i = 0; i < shapes.size(); ++i)
    tensors.push_back(shaped(shapes[i], i < dtypes.size() ? dtypes[i] : DS_F32));
  std::vector<const Tensor *> in;
  for (const Tensor &t : tensors)
    in.push_back(&t);
  return infer(op, a, in, out, numResults);
}

/// The single result shape of `op` (see inferOn).
Shape inferShape(const std::string &op, const Attributes &a, const std::vector<Shape> &shapes,
                 const std::vector<DType> &dtypes = {}) {
  std::vector<Shape> out;
  Status s = inferOn(op, a, shapes, dtypes, out, 1);
  EXPECT_TRUE(s.ok()) << s.message();
  return s ? out[0] : Shape{-1};
}

/// The error of `op`'s shape function (see inferOn), "" when it succeeds.
std::string inferError(const std::string &op, const Attributes &a, const std::vector<Shape> &shapes,
                       size_t numResults = 1, const std::vector<DType> &dtypes = {}) {
  std::vector<Shape> out;
  Status s = inferOn(op, a, shapes, dtypes, out, numResults);
  return s ? std::string() : s.message();
}

/// Expects an error message containing `part`.
#define EXPECT_ERROR(message, part)                                                                \
  do {                                                                                             \
    std::string m_ = (message);                                                                    \
    EXPECT_NE(m_.find(part), std::string::npos) << "message: '" << m_ << "'";                      \
  } while (0)

Attribute ints(std::vector<int64_t> v) { return intsAttr(std::move(v)); }

//===----------------------------------------------------------------------===//
// Registration
//===----------------------------------------------------------------------===//

TEST(ComputeShapes, EveryOpHasAShapeFunctionAndMinimalMask) {
  for (const char *op :
       {"ds.unary", "ds.binary", "ds.compare", "ds.select", "ds.cast", "ds.reduce", "ds.arg_reduce",
        "ds.softmax", "ds.norm", "ds.cumsum", "ds.topk", "ds.matmul", "ds.conv",
        "ds.conv_transpose", "ds.pool", "ds.einsum", "ds.attention", "ds.rotary_embedding",
        "ds.dynamic_reduce"}) {
    const CpuOp *cpuOp = findCpuOp(op);
    ASSERT_TRUE(cpuOp) << op;
    EXPECT_TRUE(cpuOp->shape) << op;
    // Only topk's k and dynamic_reduce's axes (operand 1) decide a result
    // shape by their value.
    bool byValue = std::string(op) == "ds.topk" || std::string(op) == "ds.dynamic_reduce";
    EXPECT_EQ(cpuOp->shapeOperands, byValue ? operandMask({1}) : 0u) << op;
  }
}

TEST(ComputeShapes, OperandAndResultCounts) {
  EXPECT_ERROR(inferError("ds.binary", attrs({{"kind", strAttr("add")}}), {{2}}), "operands");
  EXPECT_ERROR(inferError("ds.binary", attrs({{"kind", strAttr("add")}}), {{2}, {2}}, 2),
               "results");
  EXPECT_ERROR(inferError("ds.matmul", {}, {{2, 2}}), "operands");
  EXPECT_ERROR(inferError("ds.topk", attrs({{"axis", intAttr(0)}}), {{4}, {1}}, 1), "results");
  std::vector<Shape> out;
  Tensor x = shaped({2});
  EXPECT_FALSE(infer("ds.select", {}, {&x, nullptr, &x}, out).ok()); // required operand absent
  EXPECT_FALSE(infer("ds.einsum", attrs({{"equation", strAttr("")}}), {}, out).ok());
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

TEST(ComputeShapes, ElementwiseBroadcast) {
  Attributes add = attrs({{"kind", strAttr("add")}});
  EXPECT_EQ(inferShape("ds.binary", add, {{2, 1, 3}, {4, 1}}), (Shape{2, 4, 3}));
  EXPECT_EQ(inferShape("ds.binary", add, {{}, {5}}), (Shape{5}));
  EXPECT_EQ(inferShape("ds.binary", add, {{}, {}}), (Shape{}));
  EXPECT_EQ(inferShape("ds.binary", add, {{0, 3}, {1, 3}}), (Shape{0, 3}));
  EXPECT_EQ(inferShape("ds.compare", attrs({{"kind", strAttr("lt")}}), {{3, 1}, {1, 4}}),
            (Shape{3, 4}));
  EXPECT_EQ(inferShape("ds.select", {}, {{4, 1, 1}, {}, {1, 5, 6}}), (Shape{4, 5, 6}));
  EXPECT_EQ(inferShape("ds.unary", attrs({{"kind", strAttr("exp")}}), {{2, 0, 3}}),
            (Shape{2, 0, 3}));
  EXPECT_EQ(inferShape("ds.cast", {}, {{7}}), (Shape{7}));
}

TEST(ComputeShapes, ElementwiseErrors) {
  EXPECT_ERROR(inferError("ds.binary", attrs({{"kind", strAttr("add")}}), {{2, 3}, {4}}),
               "cannot broadcast");
  EXPECT_ERROR(inferError("ds.binary", attrs({{"kind", strAttr("add")}}), {{0}, {3}}),
               "cannot broadcast");
  EXPECT_ERROR(inferError("ds.select", {}, {{2}, {3}, {1}}), "cannot broadcast");
  // 2^40 x 2^40 elements do not fit.
  const int64_t big = int64_t(1) << 40;
  EXPECT_ERROR(inferError("ds.compare", attrs({{"kind", strAttr("eq")}}), {{big, 1}, {big}}),
               "too many elements");
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

TEST(ComputeShapes, Reduce) {
  auto reduce = [](std::vector<int64_t> axes, int64_t keep) {
    return attrs({{"kind", strAttr("sum")}, {"axes", ints(axes)}, {"keepdims", intAttr(keep)}});
  };
  EXPECT_EQ(inferShape("ds.reduce", reduce({1}, 0), {{2, 3, 4}}), (Shape{2, 4}));
  EXPECT_EQ(inferShape("ds.reduce", reduce({1}, 1), {{2, 3, 4}}), (Shape{2, 1, 4}));
  EXPECT_EQ(inferShape("ds.reduce", reduce({0, -1}, 0), {{2, 3, 4}}), (Shape{3}));
  EXPECT_EQ(inferShape("ds.reduce", reduce({0, 1, 2}, 0), {{2, 3, 4}}), (Shape{}));
  // No axes: nothing is reduced (the importer spells out "all axes").
  EXPECT_EQ(inferShape("ds.reduce", reduce({}, 0), {{2, 3}}), (Shape{2, 3}));
  EXPECT_EQ(inferShape("ds.reduce", reduce({}, 1), {{2, 3}}), (Shape{2, 3}));
  EXPECT_ERROR(inferError("ds.reduce", reduce({3}, 0), {{2, 3, 4}}), "out of range");
  EXPECT_ERROR(inferError("ds.reduce", reduce({-4}, 1), {{2, 3, 4}}), "out of range");
}

TEST(ComputeShapes, ArgReduce) {
  auto arg = [](int64_t axis, int64_t keep) {
    return attrs(
        {{"kind", strAttr("argmax")}, {"axis", intAttr(axis)}, {"keepdims", intAttr(keep)}});
  };
  EXPECT_EQ(inferShape("ds.arg_reduce", arg(1, 0), {{2, 5, 3}}), (Shape{2, 3}));
  EXPECT_EQ(inferShape("ds.arg_reduce", arg(-1, 1), {{2, 5, 3}}), (Shape{2, 5, 1}));
  EXPECT_EQ(inferShape("ds.arg_reduce", arg(1, 0), {{0, 0}}), (Shape{0}));
  EXPECT_ERROR(inferError("ds.arg_reduce", arg(2, 0), {{2, 5}}), "out of range");
  EXPECT_ERROR(inferError("ds.arg_reduce", arg(0, 0), {{}}), "out of range");
  // A non-empty result over an empty axis has no index to hold.
  EXPECT_ERROR(inferError("ds.arg_reduce", arg(0, 0), {{0, 3}}), "empty axis");
}

TEST(ComputeShapes, SoftmaxNormCumsumKeepTheShape) {
  EXPECT_EQ(inferShape("ds.softmax", attrs({{"axis", intAttr(-1)}}), {{2, 7}}), (Shape{2, 7}));
  EXPECT_EQ(inferShape("ds.cumsum", attrs({{"axis", intAttr(1)}}), {{2, 7}}), (Shape{2, 7}));
  Attributes norm = attrs({{"kind", strAttr("rms")}, {"axis", intAttr(-1)}});
  EXPECT_EQ(inferShape("ds.norm", norm, {{1, 16, 64}, {64}}), (Shape{1, 16, 64}));
  EXPECT_EQ(inferShape("ds.norm", norm, {{1, 16, 64}, {16, 1}, {64}}), (Shape{1, 16, 64}));
  EXPECT_ERROR(inferError("ds.norm", norm, {{1, 16, 64}, {32}}), "does not broadcast");
  EXPECT_ERROR(inferError("ds.norm", norm, {{16, 64}, {1, 16, 64}}), "does not broadcast");
  EXPECT_ERROR(inferError("ds.softmax", attrs({{"axis", intAttr(2)}}), {{2, 7}}), "out of range");
  EXPECT_ERROR(inferError("ds.cumsum", attrs({{"axis", intAttr(-3)}}), {{2, 7}}), "out of range");
}

/// ds.topk's shapes for a data-less input of shape `x` and the k tensor `k`.
Status topk(Shape x, int64_t axis, Tensor &k, std::vector<Shape> &out) {
  Tensor input = shaped(std::move(x));
  return infer("ds.topk", attrs({{"axis", intAttr(axis)}, {"largest", intAttr(1)}}), {&input, &k},
               out, 2);
}

TEST(ComputeShapes, TopKReadsKFromItsValue) {
  Tensors ts;
  std::vector<Shape> out;
  ASSERT_TRUE(topk({3, 4}, 1, *ts.i64({1}, {2}), out).ok());
  EXPECT_EQ(out[0], (Shape{3, 2}));
  EXPECT_EQ(out[1], (Shape{3, 2}));
  ASSERT_TRUE(topk({5, 4}, 0, *ts.make<int32_t>(DS_I32, {}, {5}), out).ok());
  EXPECT_EQ(out[0], (Shape{5, 4}));
  ASSERT_TRUE(topk({5, 4}, -2, *ts.i64({1}, {0}), out).ok());
  EXPECT_EQ(out[1], (Shape{0, 4}));

  EXPECT_ERROR(topk({3, 4}, 1, *ts.i64({1}, {5}), out).message(), "outside [0, 4]");
  EXPECT_ERROR(topk({3, 4}, 1, *ts.i64({1}, {-1}), out).message(), "outside [0, 4]");
  EXPECT_ERROR(topk({3, 4}, 2, *ts.i64({1}, {1}), out).message(), "out of range");
  EXPECT_ERROR(topk({3, 4}, 1, *ts.i64({2}, {1, 1}), out).message(), "one-element integer");
  EXPECT_ERROR(topk({3, 4}, 1, *ts.f32({1}, {1}), out).message(), "one-element integer");
  Tensor noData = shaped({1}, DS_I64); // k is in the mask: without data it is an error
  EXPECT_ERROR(topk({3, 4}, 1, noData, out).message(), "no data");
}

/// ds.dynamic_reduce's shape for a data-less input of shape `x` and axes `axes`.
Status dynamicReduce(Shape x, Tensor &axes, bool keepdims, std::vector<Shape> &out) {
  Tensor input = shaped(std::move(x));
  return infer("ds.dynamic_reduce", attrs({{"kind", strAttr("sum")}, {"keepdims", intAttr(keepdims)}}),
               {&input, &axes}, out);
}

TEST(ComputeShapes, DynamicReduceReadsItsAxes) {
  Tensors ts;
  std::vector<Shape> out;
  ASSERT_TRUE(dynamicReduce({2, 3, 4}, *ts.i64({2}, {0, -1}), true, out).ok());
  EXPECT_EQ(out[0], (Shape{1, 3, 1}));
  ASSERT_TRUE(dynamicReduce({2, 3, 4}, *ts.i64({2}, {2, 0}), false, out).ok());
  EXPECT_EQ(out[0], (Shape{3}));
  ASSERT_TRUE(dynamicReduce({2, 0}, *ts.make<int32_t>(DS_I32, {1}, {1}), false, out).ok());
  EXPECT_EQ(out[0], (Shape{2}));

  EXPECT_ERROR(dynamicReduce({2, 3}, *ts.i64({1}, {2}), true, out).message(), "out of range");
  // A repeated axis is reduced once; without keepdims it would leave the
  // result a rank short of the one compiled.
  ASSERT_TRUE(dynamicReduce({2, 3}, *ts.i64({2}, {1, -1}), true, out).ok());
  EXPECT_EQ(out[0], (Shape{2, 1}));
  EXPECT_ERROR(dynamicReduce({2, 3}, *ts.i64({2}, {1, -1}), false, out).message(),
               "axis -1 is given twice");
  EXPECT_ERROR(dynamicReduce({2, 3}, *ts.i64({1, 1}, {1}), true, out).message(), "1-D");
  EXPECT_ERROR(dynamicReduce({2, 3}, *ts.f32({1}, {1}), true, out).message(), "axes");
  Tensor noData = shaped({1}, DS_I64); // axes are in the mask: without data it is an error
  EXPECT_ERROR(dynamicReduce({2, 3}, noData, true, out).message(), "no data");
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

TEST(ComputeShapes, MatMul) {
  EXPECT_EQ(inferShape("ds.matmul", {}, {{3}, {3}}), (Shape{}));
  EXPECT_EQ(inferShape("ds.matmul", {}, {{3}, {3, 4}}), (Shape{4}));
  EXPECT_EQ(inferShape("ds.matmul", {}, {{2, 3}, {3}}), (Shape{2}));
  EXPECT_EQ(inferShape("ds.matmul", {}, {{3}, {5, 3, 4}}), (Shape{5, 4}));
  EXPECT_EQ(inferShape("ds.matmul", {}, {{2, 3}, {3, 4}}), (Shape{2, 4}));
  EXPECT_EQ(inferShape("ds.matmul", {}, {{5, 1, 2, 3}, {4, 3, 6}}), (Shape{5, 4, 2, 6}));
  EXPECT_EQ(inferShape("ds.matmul", {}, {{0, 2, 3}, {3, 6}}), (Shape{0, 2, 6}));
  EXPECT_ERROR(inferError("ds.matmul", {}, {{2, 3}, {4, 5}}), "contraction dims differ");
  EXPECT_ERROR(inferError("ds.matmul", {}, {{3}, {4}}), "contraction dims differ");
  EXPECT_ERROR(inferError("ds.matmul", {}, {{2, 2, 3}, {4, 3, 1}}), "batch dims");
  EXPECT_ERROR(inferError("ds.matmul", {}, {{}, {3}}), "rank >= 1");
}

Attributes window(std::vector<int64_t> strides, std::vector<int64_t> pads,
                  std::vector<int64_t> dilations, int64_t group = 1) {
  return attrs({{"strides", ints(strides)},
                {"pads", ints(pads)},
                {"dilations", ints(dilations)},
                {"group", intAttr(group)}});
}

TEST(ComputeShapes, Conv) {
  EXPECT_EQ(inferShape("ds.conv", window({1, 1}, {1, 1, 1, 1}, {1, 1}),
                       {{1, 3, 32, 32}, {8, 3, 3, 3}, {8}}),
            (Shape{1, 8, 32, 32}));
  EXPECT_EQ(
      inferShape("ds.conv", window({2, 2}, {1, 1, 1, 1}, {1, 1}), {{1, 3, 32, 32}, {8, 3, 3, 3}}),
      (Shape{1, 8, 16, 16}));
  // Dilation 2 widens a 3-tap window to 5; stride 3 over 10 + 1 + 0 - 5.
  EXPECT_EQ(inferShape("ds.conv", window({3}, {1, 0}, {2}), {{2, 4, 10}, {6, 4, 3}}),
            (Shape{2, 6, 3}));
  // Grouped: 4 channels in 2 groups of 2, 6 filters.
  EXPECT_EQ(inferShape("ds.conv", window({1}, {0, 0}, {1}, 2), {{1, 4, 5}, {6, 2, 2}}),
            (Shape{1, 6, 4}));
  EXPECT_EQ(inferShape("ds.conv", {}, {{1, 1, 4, 4, 4}, {2, 1, 2, 2, 2}}),
            (Shape{1, 2, 3, 3, 3})); // attributes default to stride 1, no pads
  // A window larger than the padded input leaves nothing, as in the kernel.
  EXPECT_EQ(inferShape("ds.conv", window({1}, {0, 0}, {1}), {{1, 1, 2}, {1, 1, 3}}),
            (Shape{1, 1, 0}));
}

TEST(ComputeShapes, ConvErrors) {
  Attributes a = window({1}, {0, 0}, {1});
  EXPECT_ERROR(inferError("ds.conv", a, {{1, 3, 8}, {4, 2, 3}}), "do not match group");
  EXPECT_ERROR(inferError("ds.conv", window({1}, {0, 0}, {1}, 2), {{1, 4, 8}, {3, 2, 3}}),
               "do not match group");
  EXPECT_ERROR(inferError("ds.conv", a, {{1, 3, 8}, {4, 3, 3}, {3}}), "bias");
  EXPECT_ERROR(inferError("ds.conv", a, {{3, 8}, {4, 3}}), "rank >= 3");
  EXPECT_ERROR(inferError("ds.conv", a, {{1, 3, 8, 8}, {4, 3, 3}}), "rank >= 3");
  EXPECT_ERROR(inferError("ds.conv", window({1, 1}, {0, 0}, {1}), {{1, 3, 8}, {4, 3, 3}}),
               "strides and dilations");
  EXPECT_ERROR(inferError("ds.conv", window({0}, {0, 0}, {1}), {{1, 3, 8}, {4, 3, 3}}), "positive");
  EXPECT_ERROR(inferError("ds.conv", window({1}, {-1, 0}, {1}), {{1, 3, 8}, {4, 3, 3}}),
               "non-negative");
  // (k - 1) * dilation overflows int64.
  EXPECT_ERROR(
      inferError("ds.conv", window({1}, {0, 0}, {int64_t(1) << 62}), {{1, 3, 8}, {4, 3, 9}}),
      "overflows");
  EXPECT_ERROR(inferError("ds.conv", window({1}, {INT64_MAX, 0}, {1}), {{1, 3, 8}, {4, 3, 1}}),
               "overflows");
}

TEST(ComputeShapes, ConvTranspose) {
  Attributes a = window({2}, {0, 0}, {1});
  // 2 * (8 - 1) + (3 - 1) + 1 = 17.
  EXPECT_EQ(inferShape("ds.conv_transpose", a, {{1, 4, 8}, {4, 2, 3}}), (Shape{1, 2, 17}));
  Attributes padded = window({2}, {1, 1}, {1});
  padded.set("output_padding", ints({1}));
  EXPECT_EQ(inferShape("ds.conv_transpose", padded, {{1, 4, 8}, {4, 2, 3}, {2}}),
            (Shape{1, 2, 16}));
  // Grouped: weight [C, M / group, k], so 2 groups of 3 give 6 outputs.
  EXPECT_EQ(inferShape("ds.conv_transpose", window({1, 1}, {0, 0, 0, 0}, {2, 1}, 2),
                       {{1, 4, 5, 5}, {4, 3, 2, 2}}),
            (Shape{1, 6, 7, 6}));
  EXPECT_ERROR(inferError("ds.conv_transpose", a, {{1, 4, 8}, {3, 2, 3}}), "do not match group");
  Attributes badPad = a;
  badPad.set("output_padding", ints({1, 1}));
  EXPECT_ERROR(inferError("ds.conv_transpose", badPad, {{1, 4, 8}, {4, 2, 3}}), "output_padding");
  EXPECT_ERROR(inferError("ds.conv_transpose", window({int64_t(1) << 62}, {0, 0}, {1}),
                          {{1, 4, 8}, {4, 2, 3}}),
               "overflows");
}

Attributes pool(std::vector<int64_t> kernel, std::vector<int64_t> strides,
                std::vector<int64_t> pads, int64_t ceil, std::string kind = "max") {
  return attrs({{"kind", strAttr(kind)},
                {"kernel_shape", ints(kernel)},
                {"strides", ints(strides)},
                {"pads", ints(pads)},
                {"ceil_mode", intAttr(ceil)}});
}

TEST(ComputeShapes, Pool) {
  EXPECT_EQ(inferShape("ds.pool", pool({3, 3}, {2, 2}, {1, 1, 1, 1}, 0), {{1, 8, 32, 32}}),
            (Shape{1, 8, 16, 16}));
  // 5 wide, window 2, stride 2: floor gives 2 windows, ceil 3.
  EXPECT_EQ(inferShape("ds.pool", pool({2}, {2}, {0, 0}, 0), {{1, 1, 5}}), (Shape{1, 1, 2}));
  EXPECT_EQ(inferShape("ds.pool", pool({2}, {2}, {0, 0}, 1), {{1, 1, 5}}), (Shape{1, 1, 3}));
  // With ceil_mode a window that would start in the end padding is dropped.
  EXPECT_EQ(inferShape("ds.pool", pool({2}, {2}, {0, 1}, 1), {{1, 1, 4}}), (Shape{1, 1, 2}));
  Attributes dilated = pool({2}, {1}, {0, 0}, 0, "avg");
  dilated.set("dilations", ints({3}));
  EXPECT_EQ(inferShape("ds.pool", dilated, {{2, 3, 7}}), (Shape{2, 3, 4}));
  EXPECT_EQ(inferShape("ds.pool", pool({4}, {1}, {0, 0}, 1, "lp"), {{1, 1, 3}}), (Shape{1, 1, 0}));

  EXPECT_ERROR(inferError("ds.pool", pool({2}, {1}, {0, 0}, 0, "median"), {{1, 1, 4}}),
               "unknown pool kind");
  EXPECT_ERROR(inferError("ds.pool", pool({2, 2}, {1}, {0, 0}, 0), {{1, 1, 4}}), "kernel dim");
  EXPECT_ERROR(inferError("ds.pool", pool({0}, {1}, {0, 0}, 0), {{1, 1, 4}}), "positive");
  EXPECT_ERROR(inferError("ds.pool", pool({2}, {1}, {0, 0}, 0), {{4, 4}}), "rank >= 3");
  EXPECT_ERROR(inferError("ds.pool", pool({2}, {1}, {INT64_MAX - 1, 2}, 0), {{1, 1, 4}}),
               "overflows");
}

Attributes equation(const std::string &eq) { return attrs({{"equation", strAttr(eq)}}); }

TEST(ComputeShapes, Einsum) {
  EXPECT_EQ(inferShape("ds.einsum", equation("bij,bjk->bik"), {{2, 3, 4}, {2, 4, 5}}),
            (Shape{2, 3, 5}));
  EXPECT_EQ(inferShape("ds.einsum", equation("ij,jk"), {{2, 3}, {3, 4}}), (Shape{2, 4}));
  EXPECT_EQ(inferShape("ds.einsum", equation("ji"), {{2, 3}}), (Shape{3, 2})); // sorted labels
  EXPECT_EQ(inferShape("ds.einsum", equation("ii->i"), {{3, 3}}), (Shape{3}));
  EXPECT_EQ(inferShape("ds.einsum", equation("ii"), {{3, 3}}), (Shape{}));
  EXPECT_EQ(inferShape("ds.einsum", equation("i,j->ij"), {{2}, {5}}), (Shape{2, 5}));
  EXPECT_EQ(inferShape("ds.einsum", equation("i j , j k -> i k"), {{2, 3}, {3, 4}}), (Shape{2, 4}));
  // Ellipses broadcast like numpy, right-aligned.
  EXPECT_EQ(inferShape("ds.einsum", equation("...ij,...jk->...ik"), {{2, 1, 3, 4}, {5, 4, 6}}),
            (Shape{2, 5, 3, 6}));
  EXPECT_EQ(inferShape("ds.einsum", equation("...ij,jk"), {{7, 3, 4}, {4, 6}}), (Shape{7, 3, 6}));
  EXPECT_EQ(inferShape("ds.einsum", equation("i...->..."), {{2, 3, 4}}), (Shape{3, 4}));
  // A label of size 1 broadcasts against the same label elsewhere.
  EXPECT_EQ(inferShape("ds.einsum", equation("ij,ij->ij"), {{1, 3}, {4, 3}}), (Shape{4, 3}));
}

TEST(ComputeShapes, EinsumErrors) {
  EXPECT_ERROR(inferError("ds.einsum", equation("ij,jk->ik"), {{2, 3}, {4, 5}}), "label sizes");
  EXPECT_ERROR(inferError("ds.einsum", equation("ij->ik"), {{2, 3}}), "not in any input");
  EXPECT_ERROR(inferError("ds.einsum", equation("ij->ii"), {{2, 3}}), "repeated");
  EXPECT_ERROR(inferError("ds.einsum", equation("ij,jk"), {{2, 3}}), "terms for");
  EXPECT_ERROR(inferError("ds.einsum", equation("ijk"), {{2, 3}}), "does not match");
  EXPECT_ERROR(inferError("ds.einsum", equation("i"), {{2, 3}}), "does not match");
  EXPECT_ERROR(inferError("ds.einsum", equation("i1"), {{2, 3}}), "not a letter");
  EXPECT_ERROR(inferError("ds.einsum", equation("...i...->i"), {{2, 3, 4, 5, 6, 7, 8, 9, 10}}),
               "more than one");
  EXPECT_ERROR(inferError("ds.einsum", equation("...i->......"), {{2, 3}}), "more than one");
  EXPECT_ERROR(inferError("ds.einsum", equation("...i,...i"), {{2, 3}, {4, 3}}), "label sizes");
}

TEST(ComputeShapes, Attention) {
  EXPECT_EQ(inferShape("ds.attention", {}, {{1, 4, 16, 8}, {1, 2, 10, 8}, {1, 2, 10, 6}}),
            (Shape{1, 4, 16, 6}));
  EXPECT_EQ(inferShape("ds.attention", attrs({{"is_causal", intAttr(1)}}),
                       {{2, 4, 16, 8}, {2, 4, 16, 8}, {2, 4, 16, 8}, {16, 16}}),
            (Shape{2, 4, 16, 8}));
  EXPECT_ERROR(inferError("ds.attention", {}, {{1, 4, 16, 8}, {1, 3, 10, 8}, {1, 3, 10, 6}}),
               "do not fit");
  EXPECT_ERROR(inferError("ds.attention", {}, {{1, 4, 16, 8}, {1, 2, 10, 7}, {1, 2, 10, 6}}),
               "do not fit");
  EXPECT_ERROR(inferError("ds.attention", {}, {{1, 4, 16, 8}, {1, 2, 10, 8}, {1, 2, 9, 6}}),
               "do not fit");
  EXPECT_ERROR(inferError("ds.attention", {}, {{4, 16, 8}, {2, 10, 8}, {2, 10, 6}}), "4-D");
  EXPECT_ERROR(
      inferError("ds.attention", {}, {{1, 4, 16, 8}, {1, 2, 10, 8}, {1, 2, 10, 6}, {16, 16}}),
      "mask");
}

TEST(ComputeShapes, RotaryEmbedding) {
  Attributes a = attrs({{"rotary_embedding_dim", intAttr(0)}, {"num_heads", intAttr(0)}});
  EXPECT_EQ(inferShape("ds.rotary_embedding", a, {{1, 4, 16, 16}, {64, 8}, {64, 8}, {1, 16}},
                       {DS_F32, DS_F32, DS_F32, DS_I64}),
            (Shape{1, 4, 16, 16}));
  EXPECT_EQ(inferShape("ds.rotary_embedding", a, {{2, 4, 6, 8}, {2, 6, 4}, {2, 6, 4}}),
            (Shape{2, 4, 6, 8}));
  Attributes heads = attrs({{"rotary_embedding_dim", intAttr(4)}, {"num_heads", intAttr(2)}});
  EXPECT_EQ(inferShape("ds.rotary_embedding", heads, {{1, 16, 16}, {32, 2}, {32, 2}, {1, 16}},
                       {DS_F32, DS_F32, DS_F32, DS_I32}),
            (Shape{1, 16, 16}));
  EXPECT_ERROR(inferError("ds.rotary_embedding", a, {{1, 16, 16}, {32, 8}, {32, 8}, {1, 16}}),
               "num_heads");
  EXPECT_ERROR(inferError("ds.rotary_embedding", a, {{1, 4, 16, 16}, {64, 4}, {64, 4}, {1, 16}}),
               "max_pos");
  EXPECT_ERROR(inferError("ds.rotary_embedding", a, {{1, 4, 16, 16}, {64, 8}, {64, 8}, {2, 16}}, 1,
                          {DS_F32, DS_F32, DS_F32, DS_I64}),
               "position_ids");
  EXPECT_ERROR(inferError("ds.rotary_embedding", a, {{1, 4, 16, 16}, {64, 8}, {64, 8}, {1, 16}}, 1,
                          {DS_F32, DS_F32, DS_F32, DS_F32}),
               "position_ids");
  EXPECT_ERROR(inferError("ds.rotary_embedding", a, {{1, 4, 16, 16}, {64, 8}, {32, 8}}),
               "differ in shape");
}

} // namespace
