//===- ElementwiseFusionTest.cpp - which steps the runtime fuses ----------===//
#include "core/ElementwiseFusion.h"

#include <gtest/gtest.h>

using namespace dsrt;

namespace {
/// A program over f32 values of the given shapes; value 0 is the input.
struct ProgramBuilder {
  Program program;
  uint32_t value(std::vector<int64_t> dims, dsx_storage storage = DSX_STORAGE_ARENA) {
    ValueInfo v;
    v.dtype = DS_F32;
    v.storage = storage;
    v.dims = std::move(dims);
    program.values.push_back(v);
    return (uint32_t)program.values.size() - 1;
  }
  uint32_t step(const std::string &op, std::vector<uint32_t> inputs, std::vector<int64_t> dims) {
    Step s;
    s.op = op;
    // The class the compiler declares on these ops (DS_OpClass in DSOps.td).
    bool elementwise = op == "ds.unary" || op == "ds.binary" || op == "ds.compare" ||
                       op == "ds.select" || op == "ds.cast";
    s.opClass = elementwise          ? DSX_OP_ELEMENTWISE
                : op == "ds.matmul" ? DSX_OP_CONTRACTION
                                    : DSX_OP_DATA_MOVEMENT;
    s.inputs = std::move(inputs);
    s.outputs = {value(std::move(dims))};
    s.kernel = findCpuKernel(op);
    program.steps.push_back(std::move(s));
    return program.steps.back().outputs[0];
  }
};
} // namespace

TEST(ElementwiseFusion, FusesASingleUseChainWithBroadcastOperands) {
  ProgramBuilder b;
  std::vector<int64_t> shape{8, 128, 96};
  uint32_t x = b.value(shape, DSX_STORAGE_INPUT);
  uint32_t bias = b.value({96}, DSX_STORAGE_CONSTANT);
  uint32_t scalar = b.value({}, DSX_STORAGE_CONSTANT);
  uint32_t a = b.step("ds.binary", {x, bias}, shape);
  uint32_t m = b.step("ds.binary", {a, scalar}, shape);
  uint32_t e = b.step("ds.unary", {m}, shape);
  uint32_t y = b.step("ds.matmul", {e, e}, {8, 128, 128});
  b.program.outputs = {y};
  std::vector<ExecUnit> units = planExecution(b.program);
  ASSERT_EQ(units.size(), 2u);
  EXPECT_EQ(units[0].steps, (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(units[0].inner, (std::vector<int64_t>{96})); // the bias spans the last dim
  EXPECT_EQ(units[0].rows, 8 * 128);
  EXPECT_EQ(units[1].steps, (std::vector<size_t>{3}));
}

TEST(ElementwiseFusion, StopsAtValuesReadTwiceOrReturned) {
  ProgramBuilder b;
  std::vector<int64_t> shape{64, 128};
  uint32_t x = b.value(shape, DSX_STORAGE_INPUT);
  uint32_t a = b.step("ds.unary", {x}, shape);
  uint32_t c = b.step("ds.binary", {a, a}, shape); // `a` read twice: no chain a -> c
  uint32_t d = b.step("ds.unary", {c}, shape);
  b.program.outputs = {c, d}; // `c` is returned: no chain c -> d
  std::vector<ExecUnit> units = planExecution(b.program);
  ASSERT_EQ(units.size(), 3u);
  for (const ExecUnit &unit : units)
    EXPECT_EQ(unit.steps.size(), 1u);
}

TEST(ElementwiseFusion, LeavesSmallAndOddlyBroadcastChainsAlone) {
  ProgramBuilder small;
  uint32_t x = small.value({16}, DSX_STORAGE_INPUT);
  small.program.outputs = {small.step("ds.unary", {small.step("ds.unary", {x}, {16})}, {16})};
  EXPECT_EQ(planExecution(small.program).size(), 2u);

  ProgramBuilder odd;
  std::vector<int64_t> shape{64, 128};
  uint32_t in = odd.value(shape, DSX_STORAGE_INPUT);
  uint32_t column = odd.value({64, 1}, DSX_STORAGE_CONSTANT); // broadcasts along the last dim
  uint32_t a = odd.step("ds.binary", {in, column}, shape);
  odd.program.outputs = {odd.step("ds.unary", {a}, shape)};
  EXPECT_EQ(planExecution(odd.program).size(), 2u);
}
