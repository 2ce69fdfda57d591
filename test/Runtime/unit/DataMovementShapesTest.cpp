//===- DataMovementShapesTest.cpp - data-movement and quant shape functions ===//
//
// Calls the shape functions of DataMovementShapes.cpp and QuantShapes.cpp the
// way the runtime will: every operand outside the op's shapeOperands mask
// arrives with its shape and dtype but no data, so a function that reads one
// crashes here instead of in a model.
//
//===----------------------------------------------------------------------===//
#include "KernelTestUtils.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <vector>

namespace {
using namespace dsrt;
using namespace dsrt::test;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

/// Runs the shape function of `op` on `in` with the data of every operand
/// outside its mask stripped.
Status infer(const std::string &op, const Attributes &attrs, const std::vector<const Tensor *> &in,
             std::vector<Shape> &shapes, size_t numResults = 1) {
  const CpuOp *cpuOp = findCpuOp(op);
  if (!cpuOp || !cpuOp->shape)
    return Status::error("no shape function for " + op);
  std::deque<Tensor> stripped;
  std::vector<const Tensor *> operands;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!in[i]) {
      operands.push_back(nullptr);
      continue;
    }
    Tensor &t = stripped.emplace_back(*in[i]);
    if (!(cpuOp->shapeOperands & (1u << i)))
      t.data = nullptr;
    operands.push_back(&t);
  }
  shapes.assign(numResults, Shape{-7}); // junk the function must overwrite
  return cpuOp->shape(attrs, operands, shapes);
}

/// The single result shape, failing the test when inference fails.
Shape shapeOf(const std::string &op, const Attributes &attrs,
              const std::vector<const Tensor *> &in) {
  std::vector<Shape> shapes;
  Status s = infer(op, attrs, in, shapes);
  EXPECT_TRUE(s.ok()) << op << ": " << s.message();
  return s ? shapes[0] : Shape{-1};
}

/// Expects inference to fail with a message that mentions `fragment`.
void expectError(const std::string &op, const Attributes &attrs,
                 const std::vector<const Tensor *> &in, const std::string &fragment,
                 size_t numResults = 1) {
  std::vector<Shape> shapes;
  Status s = infer(op, attrs, in, shapes, numResults);
  ASSERT_FALSE(s.ok()) << op << " accepted operands it should reject (" << fragment << ")";
  EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
}

/// A tensor of `shape` whose data the shape function must not need.
Tensor *shaped(Tensors &ts, std::vector<int64_t> shape, DType dtype = DS_F32) {
  return ts.empty(dtype, std::move(shape));
}

Tensor *ints(Tensors &ts, const std::vector<int64_t> &v) { return ts.i64({(int64_t)v.size()}, v); }
Tensor *scalar(Tensors &ts, int64_t v) { return ts.i64({}, {v}); }
Tensor *scalarF(Tensors &ts, float v) { return ts.f32({}, {v}); }

//===----------------------------------------------------------------------===//
// Registration
//===----------------------------------------------------------------------===//

TEST(DataMovementShapes, EveryOpHasAShapeFunctionAndMinimalMask) {
  const std::vector<std::pair<const char *, uint32_t>> ops = {
      {"ds.shape", 0},
      {"ds.reshape", operandMask({1})},
      {"ds.transpose", 0},
      {"ds.concat", 0},
      {"ds.slice", operandMask({1, 2, 3, 4})},
      {"ds.gather", 0},
      {"ds.gather_elements", 0},
      {"ds.gather_nd", 0},
      {"ds.scatter_elements", 0},
      {"ds.scatter_nd", 0},
      {"ds.expand", operandMask({1})},
      {"ds.tile", operandMask({1})},
      {"ds.pad", operandMask({1})},
      {"ds.fill", operandMask({0})},
      {"ds.range", operandMask({0, 1, 2})},
      {"ds.trilu", 0},
      {"ds.resize", operandMask({2, 3})},
      {"ds.quantize", 0},
      {"ds.dequantize", 0},
      {"ds.dynamic_quantize", 0},
  };
  for (auto [name, mask] : ops) {
    const CpuOp *op = findCpuOp(name);
    ASSERT_NE(op, nullptr) << name;
    EXPECT_NE(op->shape, nullptr) << name;
    EXPECT_EQ(op->shapeOperands, mask) << name;
  }
}

TEST(DataMovementShapes, MissingOperandsAndResultCountsAreErrors) {
  Tensors ts;
  expectError("ds.reshape", {}, {shaped(ts, {2})}, "expected 2 operands");
  expectError("ds.reshape", {}, {shaped(ts, {2}), nullptr}, "operand 1 is missing");
  expectError("ds.slice", {}, {shaped(ts, {2}), ints(ts, {0})}, "expected 3 operands");
  expectError("ds.transpose", {}, {shaped(ts, {2})}, "expected 1 results", 2);
  expectError("ds.concat", {}, {}, "at least one input");
}

//===----------------------------------------------------------------------===//
// shape, reshape, transpose, concat
//===----------------------------------------------------------------------===//

TEST(DataMovementShapes, ShapeClampsItsRange) {
  Tensors ts;
  Tensor *x = shaped(ts, {2, 3, 4});
  EXPECT_EQ(shapeOf("ds.shape", {}, {x}), Shape{3});
  EXPECT_EQ(shapeOf("ds.shape", attrs({{"start", intAttr(-2)}}), {x}), Shape{2});
  EXPECT_EQ(shapeOf("ds.shape", attrs({{"start", intAttr(5)}, {"end", intAttr(1)}}), {x}),
            Shape{0});
  EXPECT_EQ(shapeOf("ds.shape", attrs({{"start", intAttr(kMin)}, {"end", intAttr(kMax)}}), {x}),
            Shape{3});
}

TEST(DataMovementShapes, ReshapeZeroAndMinusOne) {
  Tensors ts;
  Tensor *x = shaped(ts, {2, 3, 4});
  EXPECT_EQ(shapeOf("ds.reshape", {}, {x, ints(ts, {0, -1})}), (Shape{2, 12}));
  EXPECT_EQ(shapeOf("ds.reshape", {}, {x, ints(ts, {-1})}), Shape{24});
  EXPECT_EQ(shapeOf("ds.reshape", {}, {x, ints(ts, {4, 0, 2})}), (Shape{4, 3, 2}));
  EXPECT_EQ(shapeOf("ds.reshape", {}, {x, ts.make<int32_t>(DS_I32, {3}, {2, -1, 2})}),
            (Shape{2, 6, 2}));
  // An empty input: 0 copies the dim, -1 is still inferable from the rest.
  Tensor *empty = shaped(ts, {0, 3});
  EXPECT_EQ(shapeOf("ds.reshape", {}, {empty, ints(ts, {3, -1})}), (Shape{3, 0}));
  EXPECT_EQ(shapeOf("ds.reshape", {}, {empty, ints(ts, {0, 3})}), (Shape{0, 3}));
}

TEST(DataMovementShapes, ReshapeAllowZeroKeepsZeros) {
  Tensors ts;
  Attributes allowZero = attrs({{"allowzero", intAttr(1)}});
  EXPECT_EQ(shapeOf("ds.reshape", allowZero, {shaped(ts, {0, 3}), ints(ts, {3, 0})}),
            (Shape{3, 0}));
  // Without allowzero the same 0 copies the input's dim 1.
  EXPECT_EQ(shapeOf("ds.reshape", {}, {shaped(ts, {2, 3}), ints(ts, {1, 0, 2})}), (Shape{1, 3, 2}));
  expectError("ds.reshape", allowZero, {shaped(ts, {2, 3}), ints(ts, {0, 6})}, "cannot reshape");
  // A -1 next to a literal 0 cannot be inferred.
  expectError("ds.reshape", allowZero, {shaped(ts, {0, 3}), ints(ts, {0, -1})}, "cannot reshape");
}

TEST(DataMovementShapes, ReshapeErrors) {
  Tensors ts;
  Tensor *x = shaped(ts, {2, 3, 4});
  expectError("ds.reshape", {}, {x, ints(ts, {5, 5})}, "cannot reshape");
  expectError("ds.reshape", {}, {x, ints(ts, {5, -1})}, "cannot reshape");
  expectError("ds.reshape", {}, {x, ints(ts, {-1, -1})}, "more than one -1");
  expectError("ds.reshape", {}, {x, ints(ts, {-2, -12})}, "invalid dim");
  expectError("ds.reshape", {}, {x, ints(ts, {1, 1, 1, 0})}, "copies dim 3");
  expectError("ds.reshape", {}, {x, ints(ts, {int64_t(1) << 40, int64_t(1) << 40})}, "overflows");
  expectError("ds.reshape", {}, {x, ints(ts, {kMax, kMax, -1})}, "overflows");
  expectError("ds.reshape", {}, {x, ts.f32({2}, {4, 6})}, "must be i64 or i32");
}

TEST(DataMovementShapes, TransposeAndConcat) {
  Tensors ts;
  Tensor *x = shaped(ts, {2, 3, 4});
  EXPECT_EQ(shapeOf("ds.transpose", {}, {x}), (Shape{4, 3, 2}));
  EXPECT_EQ(shapeOf("ds.transpose", attrs({{"perm", intsAttr({0, 2, 1})}}), {x}), (Shape{2, 4, 3}));
  expectError("ds.transpose", attrs({{"perm", intsAttr({0, 0, 1})}}), {x}, "not a permutation");
  expectError("ds.transpose", attrs({{"perm", intsAttr({1, 0})}}), {x}, "entries for rank 3");

  Tensor *a = shaped(ts, {2, 3}), *b = shaped(ts, {2, 5}), *c = shaped(ts, {3, 5});
  EXPECT_EQ(shapeOf("ds.concat", attrs({{"axis", intAttr(-1)}}), {a, b}), (Shape{2, 8}));
  EXPECT_EQ(shapeOf("ds.concat", attrs({{"axis", intAttr(0)}}), {b, c}), (Shape{5, 5}));
  expectError("ds.concat", attrs({{"axis", intAttr(0)}}), {a, b}, "does not fit");
  expectError("ds.concat", attrs({{"axis", intAttr(2)}}), {a, b}, "out of range");
  expectError("ds.concat", attrs({{"axis", intAttr(0)}}), {a, shaped(ts, {2, 3}, DS_I64)},
              "element type");
}

//===----------------------------------------------------------------------===//
// slice
//===----------------------------------------------------------------------===//

TEST(DataMovementShapes, SliceNegativeStepsAndClamping) {
  Tensors ts;
  Tensor *x = shaped(ts, {10});
  auto slice = [&](int64_t start, int64_t end, int64_t step) {
    return shapeOf("ds.slice", {},
                   {x, ints(ts, {start}), ints(ts, {end}), ints(ts, {0}), ints(ts, {step})});
  };
  EXPECT_EQ(slice(8, 1, -3), Shape{3});
  EXPECT_EQ(slice(kMax, kMin, -1), Shape{10});
  EXPECT_EQ(slice(-1, kMin, -2), Shape{5});
  EXPECT_EQ(slice(kMax, kMin, kMin), Shape{1});
  EXPECT_EQ(slice(1, 100, 1), Shape{9});
  EXPECT_EQ(slice(-100, 3, 2), Shape{2});
  EXPECT_EQ(slice(0, 10, kMax), Shape{1});
  EXPECT_EQ(slice(5, 5, 1), Shape{0});
  EXPECT_EQ(slice(3, 7, -1), Shape{0});
  EXPECT_EQ(shapeOf("ds.slice", {},
                    {shaped(ts, {0}), ints(ts, {0}), ints(ts, {5}), ints(ts, {0}), ints(ts, {-1})}),
            Shape{0});
}

TEST(DataMovementShapes, SliceOptionalAxesAndSteps) {
  Tensors ts;
  Tensor *x = shaped(ts, {3, 4});
  // No axes: the first dims; no steps: 1.
  EXPECT_EQ(shapeOf("ds.slice", {}, {x, ints(ts, {1}), ints(ts, {3}), nullptr, nullptr}),
            (Shape{2, 4}));
  EXPECT_EQ(shapeOf("ds.slice", {}, {x, ints(ts, {1}), ints(ts, {3})}), (Shape{2, 4}));
  auto i32 = [&](int32_t v) { return ts.make<int32_t>(DS_I32, {1}, {v}); };
  EXPECT_EQ(shapeOf("ds.slice", {}, {x, i32(1), i32(100), i32(-1), i32(2)}), (Shape{3, 2}));
}

TEST(DataMovementShapes, SliceErrors) {
  Tensors ts;
  Tensor *x = shaped(ts, {3, 4});
  expectError("ds.slice", {}, {x, ints(ts, {0}), ints(ts, {1}), ints(ts, {0}), ints(ts, {0})},
              "step must not be 0");
  expectError("ds.slice", {},
              {x, ints(ts, {0, 0}), ints(ts, {1, 1}), ints(ts, {1, -1}), ints(ts, {1, 1})},
              "repeated");
  expectError("ds.slice", {}, {x, ints(ts, {0}), ints(ts, {1}), ints(ts, {2}), ints(ts, {1})},
              "out of range");
  expectError("ds.slice", {}, {x, ints(ts, {0, 0}), ints(ts, {1}), nullptr, nullptr},
              "differ in length");
  expectError("ds.slice", {}, {x, ts.f32({1}, {0}), ints(ts, {1})}, "must be i64 or i32");
}

//===----------------------------------------------------------------------===//
// gathers and scatters
//===----------------------------------------------------------------------===//

TEST(DataMovementShapes, Gathers) {
  Tensors ts;
  Tensor *x = shaped(ts, {5, 4});
  Tensor *idx = shaped(ts, {2, 3}, DS_I64);
  EXPECT_EQ(shapeOf("ds.gather", attrs({{"axis", intAttr(1)}}), {x, idx}), (Shape{5, 2, 3}));
  EXPECT_EQ(shapeOf("ds.gather", attrs({{"axis", intAttr(0)}}), {x, shaped(ts, {}, DS_I32)}),
            Shape{4});
  expectError("ds.gather", attrs({{"axis", intAttr(2)}}), {x, idx}, "out of range");
  expectError("ds.gather", {}, {x, shaped(ts, {2}, DS_F32)}, "integer");

  Tensor *e = shaped(ts, {5, 2}, DS_I64);
  EXPECT_EQ(shapeOf("ds.gather_elements", attrs({{"axis", intAttr(1)}}), {x, e}), (Shape{5, 2}));
  expectError("ds.gather_elements", {}, {x, shaped(ts, {2, 5}, DS_I64)}, "exceed input");
  expectError("ds.gather_elements", {}, {x, shaped(ts, {5}, DS_I64)}, "rank");

  Tensor *data = shaped(ts, {2, 3, 4});
  Attributes batch1 = attrs({{"batch_dims", intAttr(1)}});
  EXPECT_EQ(shapeOf("ds.gather_nd", batch1, {data, shaped(ts, {2, 5, 1}, DS_I64)}),
            (Shape{2, 5, 4}));
  EXPECT_EQ(shapeOf("ds.gather_nd", {}, {data, shaped(ts, {7, 3}, DS_I64)}), Shape{7});
  expectError("ds.gather_nd", batch1, {data, shaped(ts, {2, 3}, DS_I64)}, "do not fit");
  expectError("ds.gather_nd", batch1, {data, shaped(ts, {3, 1}, DS_I64)}, "batch dims");
  expectError("ds.gather_nd", attrs({{"batch_dims", intAttr(2)}}),
              {data, shaped(ts, {2, 1}, DS_I64)}, "out of range");
}

TEST(DataMovementShapes, ScattersKeepTheInputShape) {
  Tensors ts;
  Tensor *x = shaped(ts, {3, 3});
  EXPECT_EQ(shapeOf("ds.scatter_elements", attrs({{"axis", intAttr(1)}}),
                    {x, shaped(ts, {1, 2}, DS_I64), shaped(ts, {1, 2})}),
            (Shape{3, 3}));
  expectError("ds.scatter_elements", {}, {x, shaped(ts, {1, 2}, DS_I64), shaped(ts, {2, 1})},
              "share one shape");

  Tensor *cube = shaped(ts, {4, 4, 4});
  EXPECT_EQ(shapeOf("ds.scatter_nd", {}, {cube, shaped(ts, {2, 1}, DS_I64), shaped(ts, {2, 4, 4})}),
            (Shape{4, 4, 4}));
  expectError("ds.scatter_nd", {}, {cube, shaped(ts, {2, 1}, DS_I64), shaped(ts, {2, 4})},
              "should be");
  expectError("ds.scatter_nd", {}, {cube, shaped(ts, {2, 5}, DS_I64), shaped(ts, {2})},
              "do not fit");
}

//===----------------------------------------------------------------------===//
// expand, tile, pad
//===----------------------------------------------------------------------===//

TEST(DataMovementShapes, ExpandBroadcastsBothWays) {
  Tensors ts;
  EXPECT_EQ(shapeOf("ds.expand", {}, {shaped(ts, {3, 1}), ints(ts, {2, 1, 6})}), (Shape{2, 3, 6}));
  // A shorter or all-ones target keeps the input's dims.
  EXPECT_EQ(shapeOf("ds.expand", {}, {shaped(ts, {2, 3}), ints(ts, {1})}), (Shape{2, 3}));
  EXPECT_EQ(shapeOf("ds.expand", {}, {shaped(ts, {1}), ints(ts, {0})}), Shape{0});
  EXPECT_EQ(shapeOf("ds.expand", {}, {shaped(ts, {}), ints(ts, {})}), Shape{});
  expectError("ds.expand", {}, {shaped(ts, {3}), ints(ts, {4})}, "cannot broadcast");
  expectError("ds.expand", {}, {shaped(ts, {1}), ints(ts, {-1})}, "negative");
  expectError("ds.expand", {}, {shaped(ts, {1}), ints(ts, {int64_t(1) << 40, int64_t(1) << 40})},
              "too many elements");
  expectError("ds.expand", {}, {shaped(ts, {1}), ts.f32({1}, {2})}, "must be i64 or i32");
}

TEST(DataMovementShapes, Tile) {
  Tensors ts;
  Tensor *x = shaped(ts, {2, 3});
  EXPECT_EQ(shapeOf("ds.tile", {}, {x, ints(ts, {2, 1})}), (Shape{4, 3}));
  EXPECT_EQ(shapeOf("ds.tile", {}, {x, ints(ts, {3, 0})}), (Shape{6, 0}));
  expectError("ds.tile", {}, {x, ints(ts, {2})}, "needs 2 repeats");
  expectError("ds.tile", {}, {x, ints(ts, {-1, 1})}, "non-negative");
  expectError("ds.tile", {}, {x, ints(ts, {kMax, 1})}, "overflows");
  expectError("ds.tile", {}, {x, ints(ts, {int64_t(1) << 40, int64_t(1) << 40})},
              "too many elements");
}

TEST(DataMovementShapes, PadIncludingNegativePads) {
  Tensors ts;
  const Attributes constant = attrs({{"mode", strAttr("constant")}}); // mode is required
  Tensor *x = shaped(ts, {1, 3, 4, 4});
  Tensor *value = shaped(ts, {});
  EXPECT_EQ(shapeOf("ds.pad", constant, {x, ints(ts, {0, 0, 1, 1, 0, 0, 1, 1}), value}),
            (Shape{1, 3, 6, 6}));
  Tensor *v = shaped(ts, {5});
  EXPECT_EQ(shapeOf("ds.pad", constant, {v, ints(ts, {-1, -2}), nullptr}), Shape{2});
  EXPECT_EQ(shapeOf("ds.pad", constant, {v, ints(ts, {-3, 2})}), Shape{4});
  EXPECT_EQ(shapeOf("ds.pad", constant, {v, ints(ts, {-5, 0})}), Shape{0});
  // Constant padding may refill a dim cropped away; the other modes cannot.
  EXPECT_EQ(shapeOf("ds.pad", constant, {v, ints(ts, {-7, 3})}), Shape{1});
  EXPECT_EQ(shapeOf("ds.pad", attrs({{"mode", strAttr("edge")}}), {v, ints(ts, {-2, 1})}),
            Shape{4});
  expectError("ds.pad", attrs({{"mode", strAttr("reflect")}}), {v, ints(ts, {-7, 3})}, "empty dim");
  expectError("ds.pad", attrs({{"mode", strAttr("wrap")}}), {v, ints(ts, {kMin, kMax})}, "empty dim");
  expectError("ds.pad", attrs({{"mode", strAttr("mirror")}}), {v, ints(ts, {1, 1})},
              "unknown mode");
  expectError("ds.pad", constant, {v, ints(ts, {-3, -3})}, "remove more");
  expectError("ds.pad", constant, {v, ints(ts, {1, 1, 1})}, "needs 2 pads");
  expectError("ds.pad", constant, {v, ints(ts, {kMax, 1})}, "overflows");
  expectError("ds.pad", constant, {v, ints(ts, {1, 1}), shaped(ts, {}, DS_I64)}, "element type");
}

//===----------------------------------------------------------------------===//
// fill, range, trilu
//===----------------------------------------------------------------------===//

TEST(DataMovementShapes, Fill) {
  Tensors ts;
  EXPECT_EQ(shapeOf("ds.fill", {}, {ints(ts, {2, 3})}), (Shape{2, 3}));
  EXPECT_EQ(shapeOf("ds.fill", {}, {ints(ts, {})}), Shape{});
  EXPECT_EQ(shapeOf("ds.fill", {}, {ints(ts, {4, 0})}), (Shape{4, 0}));
  expectError("ds.fill", {}, {ints(ts, {2, -3})}, "negative");
  expectError("ds.fill", {}, {ints(ts, {kMax, 2})}, "too many elements");
  expectError("ds.fill", {}, {ts.f32({1}, {3})}, "must be i64 or i32");
}

TEST(DataMovementShapes, RangeIntegerFloatAndEmpty) {
  Tensors ts;
  auto range = [&](Tensor *a, Tensor *b, Tensor *c) { return shapeOf("ds.range", {}, {a, b, c}); };
  EXPECT_EQ(range(scalar(ts, 10), scalar(ts, 4), scalar(ts, -3)), Shape{2});
  EXPECT_EQ(range(scalar(ts, 0), scalar(ts, 10), scalar(ts, 3)), Shape{4});
  EXPECT_EQ(range(scalar(ts, 5), scalar(ts, 1), scalar(ts, 1)), Shape{0});
  EXPECT_EQ(range(scalar(ts, 3), scalar(ts, 3), scalar(ts, -1)), Shape{0});
  EXPECT_EQ(range(scalar(ts, kMin), scalar(ts, kMax), scalar(ts, int64_t(1) << 62)), Shape{4});
  Tensor *i32 = ts.make<int32_t>(DS_I32, {1}, {7});
  EXPECT_EQ(range(ts.make<int32_t>(DS_I32, {}, {0}), i32, ts.make<int32_t>(DS_I32, {}, {2})),
            Shape{4});
  EXPECT_EQ(range(scalarF(ts, 1), scalarF(ts, 3), scalarF(ts, 0.5f)), Shape{4});
  EXPECT_EQ(range(scalarF(ts, 0), scalarF(ts, 1), scalarF(ts, 0.25f)), Shape{4});
  EXPECT_EQ(range(scalarF(ts, 0), scalarF(ts, 1.1f), scalarF(ts, 0.25f)), Shape{5});
  EXPECT_EQ(range(scalarF(ts, 1), scalarF(ts, 0), scalarF(ts, 0.5f)), Shape{0});
  EXPECT_EQ(range(scalarF(ts, 0), scalarF(ts, -INFINITY), scalarF(ts, 1)), Shape{0});
}

TEST(DataMovementShapes, RangeErrors) {
  Tensors ts;
  expectError("ds.range", {}, {scalar(ts, 0), scalar(ts, 4), scalar(ts, 0)}, "delta");
  expectError("ds.range", {}, {scalarF(ts, 0), scalarF(ts, 4), scalarF(ts, 0)}, "delta");
  expectError("ds.range", {}, {scalarF(ts, 0), scalarF(ts, NAN), scalarF(ts, 1)}, "no length");
  expectError("ds.range", {}, {scalarF(ts, 0), scalarF(ts, 1e30f), scalarF(ts, 1)}, "overflows");
  expectError("ds.range", {}, {scalarF(ts, 0), scalarF(ts, INFINITY), scalarF(ts, 1)}, "overflows");
  expectError("ds.range", {}, {scalar(ts, kMin), scalar(ts, kMax), scalar(ts, 1)}, "overflows");
  expectError("ds.range", {}, {scalar(ts, 0), scalar(ts, kMax), scalar(ts, 1)},
              "too many elements");
  expectError("ds.range", {}, {ints(ts, {0, 1}), scalar(ts, 4), scalar(ts, 1)}, "scalar");
  expectError("ds.range", {}, {ts.make<uint8_t>(DS_BOOL, {}, {0}), scalar(ts, 4), scalar(ts, 1)},
              "unsupported");
}

TEST(DataMovementShapes, RangeKernelCountsWithTheShapeFunction) {
  // 2^64 - 1 elements: the kernel once cast that count from long double.
  Tensors ts;
  Tensor *y = ts.empty(DS_I64, {3});
  Status s = run("ds.range", {}, {scalar(ts, kMin), scalar(ts, kMax), scalar(ts, 1)}, {y});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("overflows"), std::string::npos) << s.message();
  ASSERT_TRUE(run("ds.range", {},
                  {scalar(ts, kMin), scalar(ts, kMax), scalar(ts, int64_t(1) << 62)},
                  {y = ts.empty(DS_I64, {4})})
                  .ok());
  EXPECT_EQ(values<int64_t>(y), (std::vector<int64_t>{kMin, kMin / 2, 0, -(kMin / 2)}));
}

TEST(DataMovementShapes, Trilu) {
  Tensors ts;
  EXPECT_EQ(shapeOf("ds.trilu", {}, {shaped(ts, {2, 4, 5}), shaped(ts, {}, DS_I64)}),
            (Shape{2, 4, 5}));
  EXPECT_EQ(shapeOf("ds.trilu", {}, {shaped(ts, {4, 5}), nullptr}), (Shape{4, 5}));
  expectError("ds.trilu", {}, {shaped(ts, {5})}, "rank >= 2");
  expectError("ds.trilu", {}, {shaped(ts, {4, 5}), shaped(ts, {2}, DS_I64)}, "one integer");
}

//===----------------------------------------------------------------------===//
// resize
//===----------------------------------------------------------------------===//

TEST(DataMovementShapes, ResizeFromScalesOrSizes) {
  Tensors ts;
  Tensor *x = shaped(ts, {1, 1, 2, 2});
  Tensor *roi = shaped(ts, {8}); // not a shape operand: no data
  EXPECT_EQ(shapeOf("ds.resize", {}, {x, nullptr, ts.f32({4}, {1, 1, 2, 3}), nullptr}),
            (Shape{1, 1, 4, 6}));
  EXPECT_EQ(shapeOf("ds.resize", {}, {x, roi, ts.f32({4}, {1, 1, 0.6f, 1.5f})}),
            (Shape{1, 1, 1, 3}));
  EXPECT_EQ(shapeOf("ds.resize", {}, {x, roi, nullptr, ints(ts, {1, 1, 3, 5})}),
            (Shape{1, 1, 3, 5}));
  // Empty scales defer to sizes, as in the kernel.
  EXPECT_EQ(shapeOf("ds.resize", {}, {x, nullptr, ts.f32({0}, {}), ints(ts, {1, 2, 3, 4})}),
            (Shape{1, 2, 3, 4}));
  // An empty input resizes to an empty result only.
  EXPECT_EQ(shapeOf("ds.resize", {}, {shaped(ts, {0, 2}), nullptr, ts.f32({2}, {2, 2})}),
            (Shape{0, 4}));
}

TEST(DataMovementShapes, ResizeErrors) {
  Tensors ts;
  Tensor *x = shaped(ts, {1, 1, 2, 2});
  expectError("ds.resize", {}, {x, nullptr, nullptr, nullptr}, "scales or sizes");
  expectError("ds.resize", {}, {x}, "scales or sizes");
  expectError("ds.resize", {}, {x, nullptr, ts.f32({2}, {2, 2})}, "needs 4");
  expectError("ds.resize", {}, {x, nullptr, ts.f32({4}, {1, 1, -2, 2})}, "positive");
  expectError("ds.resize", {}, {x, nullptr, ts.f32({4}, {1, 1, NAN, 2})}, "positive");
  expectError("ds.resize", {}, {x, nullptr, ts.f32({4}, {1, 1, 1e30f, 1e30f})}, "overflows");
  expectError("ds.resize", {}, {x, nullptr, ints(ts, {1, 1, 2, 2})}, "floating-point");
  expectError("ds.resize", {}, {x, nullptr, nullptr, ints(ts, {1, 1, 2})}, "needs 4 sizes");
  expectError("ds.resize", {}, {x, nullptr, nullptr, ints(ts, {1, 1, -2, 2})}, "negative");
  expectError("ds.resize", {}, {shaped(ts, {0, 2}), nullptr, nullptr, ints(ts, {1, 2})},
              "empty input");
}

//===----------------------------------------------------------------------===//
// quantization
//===----------------------------------------------------------------------===//

Attributes quantAttrs(int64_t axis, int64_t block) {
  return attrs({{"axis", intAttr(axis)}, {"block_size", intAttr(block)}});
}

TEST(QuantShapes, QuantizeAndDequantizeKeepTheShape) {
  Tensors ts;
  Tensor *x = shaped(ts, {2, 4});
  Tensor *q = shaped(ts, {2, 4}, DS_I8);
  EXPECT_EQ(shapeOf("ds.quantize", quantAttrs(1, 0), {x, shaped(ts, {}), nullptr}), (Shape{2, 4}));
  EXPECT_EQ(shapeOf("ds.quantize", quantAttrs(1, 0), {x, shaped(ts, {4}), shaped(ts, {4}, DS_U8)}),
            (Shape{2, 4}));
  EXPECT_EQ(shapeOf("ds.quantize", quantAttrs(-1, 2), {x, shaped(ts, {2, 2})}), (Shape{2, 4}));
  EXPECT_EQ(
      shapeOf("ds.dequantize", quantAttrs(0, 0), {q, shaped(ts, {2}), shaped(ts, {2}, DS_I8)}),
      (Shape{2, 4}));
  EXPECT_EQ(shapeOf("ds.dequantize", quantAttrs(1, 3), {q, shaped(ts, {2, 2})}), (Shape{2, 4}));
}

TEST(QuantShapes, LayoutErrors) {
  Tensors ts;
  Tensor *x = shaped(ts, {2, 4});
  Tensor *q = shaped(ts, {2, 4}, DS_I8);
  expectError("ds.quantize", quantAttrs(1, 0), {x, shaped(ts, {3})}, "per-axis scale");
  expectError("ds.quantize", quantAttrs(2, 0), {x, shaped(ts, {4})}, "out of range");
  expectError("ds.quantize", quantAttrs(1, 2), {x, shaped(ts, {2, 3})}, "blocked scale");
  expectError("ds.quantize", quantAttrs(1, -1), {x, shaped(ts, {})}, "block_size");
  expectError("ds.quantize", quantAttrs(1, 0), {x, shaped(ts, {4}), shaped(ts, {2}, DS_U8)},
              "differ in shape");
  expectError("ds.quantize", quantAttrs(1, 0), {q, shaped(ts, {})}, "floating-point");
  expectError("ds.quantize", quantAttrs(1, 0), {x, shaped(ts, {}, DS_I32)}, "floating-point");
  expectError("ds.dequantize", quantAttrs(1, 0), {q, shaped(ts, {}), shaped(ts, {}, DS_U8)},
              "zero point type");
  expectError("ds.dequantize", quantAttrs(1, 0), {q}, "expected 2 operands");
}

TEST(QuantShapes, DynamicQuantizeGivesScalarParameters) {
  Tensors ts;
  std::vector<Shape> shapes;
  ASSERT_TRUE(infer("ds.dynamic_quantize", {}, {shaped(ts, {3, 4})}, shapes, 3).ok());
  EXPECT_EQ(shapes, (std::vector<Shape>{{3, 4}, {}, {}}));
  expectError("ds.dynamic_quantize", {}, {shaped(ts, {3, 4}, DS_F16)}, "must be f32", 3);
  expectError("ds.dynamic_quantize", {}, {shaped(ts, {3, 4})}, "expected 3 results", 1);
}

} // namespace
