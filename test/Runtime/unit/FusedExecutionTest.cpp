//===- FusedExecutionTest.cpp - fusion groups run in tiles of rows --------===//
//
// Which groups the session tiles and how each operand is read (planning),
// and that a tiled group computes what its steps compute one by one
// (execution, compared element by element).
//
#include "core/FusedExecution.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace dsrt;

namespace {
/// A program over f32 values; groups are added by `group`.
struct ProgramBuilder {
  Program program;
  uint64_t arenaEnd = 0;
  uint32_t value(std::vector<int64_t> dims, dsx_storage storage = DSX_STORAGE_ARENA) {
    ValueInfo v;
    v.dtype = DS_F32;
    v.storage = storage;
    v.dims = std::move(dims);
    v.bytes = 4;
    for (int64_t d : v.dims)
      v.bytes *= (uint64_t)d;
    if (storage == DSX_STORAGE_ARENA) { // every value its own bytes
      v.offset = arenaEnd;
      arenaEnd += (v.bytes + 63) / 64 * 64;
    }
    program.values.push_back(v);
    return (uint32_t)program.values.size() - 1;
  }
  uint32_t step(const std::string &op, std::vector<uint32_t> inputs, std::vector<int64_t> dims,
                Attributes attrs = {}) {
    Step s;
    s.op = op;
    // The class the compiler declares on these ops (DS_OpClass in DSOps.td).
    bool elementwise = op == "ds.unary" || op == "ds.binary" || op == "ds.compare" ||
                       op == "ds.select" || op == "ds.cast";
    bool reduction = op == "ds.softmax" || op == "ds.norm" || op == "ds.reduce";
    s.opClass = elementwise        ? DSX_OP_ELEMENTWISE
                : reduction        ? DSX_OP_REDUCTION
                : op == "ds.matmul" ? DSX_OP_CONTRACTION
                                    : DSX_OP_DATA_MOVEMENT;
    s.inputs = std::move(inputs);
    s.outputs = {value(std::move(dims))};
    s.kernel = findCpuKernel(op);
    s.attrs = std::move(attrs);
    program.steps.push_back(std::move(s));
    return program.steps.back().outputs[0];
  }
  void group(uint32_t first, uint32_t count, uint32_t parallelDims, uint32_t head = 0) {
    program.groups.push_back({first, count, head, parallelDims});
  }
};

Attribute text(const std::string &s) {
  Attribute a;
  a.kind = Attribute::String;
  a.s = s;
  return a;
}
Attribute integer(int64_t i) {
  Attribute a;
  a.i = i;
  return a;
}
Attributes kind(const std::string &k) {
  Attributes a;
  a.set("kind", text(k));
  return a;
}

/// Runs `program` once unit by unit and once step by step over the same
/// inputs; returns the largest difference over every output element.
float runBothWays(const Program &program, const std::vector<ExecUnit> &units) {
  ThreadPool pool;
  EXPECT_TRUE(pool.start(2).ok());
  KernelContext ctx;
  ctx.numThreads = pool.size();
  ctx.parallelFor = [&](int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)> &f) {
    pool.parallelFor(n, grain, f);
  };
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-2.f, 2.f);
  std::vector<std::vector<float>> inputs(program.values.size());
  for (size_t id = 0; id < program.values.size(); ++id)
    if (program.values[id].storage != DSX_STORAGE_ARENA) {
      inputs[id].resize(program.values[id].bytes / 4);
      for (float &x : inputs[id])
        x = dist(rng);
    }
  auto run = [&](bool fused) {
    std::vector<std::vector<float>> storage(program.values.size());
    std::vector<Tensor> tensors(program.values.size());
    for (size_t id = 0; id < program.values.size(); ++id) {
      const ValueInfo &v = program.values[id];
      storage[id] = v.storage == DSX_STORAGE_ARENA ? std::vector<float>(v.bytes / 4, NAN) : inputs[id];
      tensors[id] = Tensor{v.dtype, v.dims, storage[id].data()};
    }
    auto runStep = [&](size_t s) {
      const Step &step = program.steps[s];
      std::vector<const Tensor *> ins;
      std::vector<Tensor *> outs;
      for (uint32_t id : step.inputs)
        ins.push_back(id == DSX_ABSENT ? nullptr : &tensors[id]);
      for (uint32_t id : step.outputs)
        outs.push_back(&tensors[id]);
      EXPECT_TRUE(step.kernel(ctx, step.attrs, ins, outs).ok()) << step.op;
    };
    if (!fused) {
      for (size_t s = 0; s < program.steps.size(); ++s)
        runStep(s);
    } else {
      for (const ExecUnit &unit : units)
        if (unit.tiled())
          EXPECT_TRUE(runTiledUnit(program, unit, tensors, pool).ok());
        else
          runStep(unit.steps[0]);
    }
    std::vector<float> out;
    for (uint32_t id : program.outputs)
      out.insert(out.end(), storage[id].begin(), storage[id].end());
    return out;
  };
  std::vector<float> unfused = run(false), fused = run(true);
  EXPECT_EQ(unfused.size(), fused.size());
  float worst = 0;
  for (size_t i = 0; i < unfused.size(); ++i) {
    EXPECT_FALSE(std::isnan(fused[i])) << "element " << i << " was never written";
    worst = std::max(worst, std::fabs(unfused[i] - fused[i]));
  }
  return worst;
}
} // namespace

TEST(FusedExecution, MatmulRunsWholeBeforeItsTiledEpilogue) {
  // x[4,128,64] . w[64,96] + bias, gelu, + residual: the ds-fuse contraction
  // group of a transformer's MLP. Row tiles would re-pack w for every tile:
  // the compiler puts the matmul in the group's head (getGroupTiling), so it
  // runs whole, with the unfused GEMM's own kernel, and the epilogue in tiles
  // after it.
  ProgramBuilder b;
  uint32_t x = b.value({4, 128, 64}, DSX_STORAGE_INPUT);
  uint32_t w = b.value({64, 96}, DSX_STORAGE_CONSTANT);
  uint32_t bias = b.value({96}, DSX_STORAGE_CONSTANT);
  uint32_t residual = b.value({4, 128, 96}, DSX_STORAGE_INPUT);
  uint32_t m = b.step("ds.matmul", {x, w}, {4, 128, 96});
  uint32_t a = b.step("ds.binary", {m, bias}, {4, 128, 96}, kind("add"));
  uint32_t g = b.step("ds.unary", {a}, {4, 128, 96}, kind("gelu"));
  uint32_t y = b.step("ds.binary", {g, residual}, {4, 128, 96}, kind("add"));
  b.group(0, 4, 2, /*head=*/1);
  b.program.outputs = {y};
  std::vector<ExecUnit> units = planExecution(b.program);
  ASSERT_EQ(units.size(), 2u);
  EXPECT_FALSE(units[0].tiled());
  EXPECT_EQ(units[0].steps, std::vector<size_t>{0});
  const ExecUnit &unit = units[1];
  EXPECT_EQ(unit.rowDims, 2);
  EXPECT_EQ(unit.rows, 4 * 128);
  EXPECT_EQ(unit.operands[0][0].kind, TileOperand::Rows); // the matmul's result
  EXPECT_EQ(unit.operands[0][1].kind, TileOperand::Whole);
  EXPECT_EQ(unit.operands[1][0].kind, TileOperand::Local);
  EXPECT_EQ(unit.operands[2][1].kind, TileOperand::Rows);
  EXPECT_FALSE(unit.results[0][0].toValue); // the bias add stays in scratch
  EXPECT_TRUE(unit.results[2][0].toValue);
  EXPECT_EQ(runBothWays(b.program, units), 0.0f);
}

TEST(FusedExecution, MatmulInsideAGroupKeepsItOpByOp) {
  // relu(x) . w, and an older artifact's group with its matmul outside the
  // head: tiles would split the GEMM's rows, so the groups run op by op.
  ProgramBuilder b;
  uint32_t x = b.value({256, 64}, DSX_STORAGE_INPUT);
  uint32_t w = b.value({64, 96}, DSX_STORAGE_CONSTANT);
  uint32_t r = b.step("ds.unary", {x}, {256, 64}, kind("relu"));
  b.program.outputs = {b.step("ds.matmul", {r, w}, {256, 96})};
  b.group(0, 2, 1);
  std::vector<ExecUnit> units = planExecution(b.program);
  ASSERT_EQ(units.size(), 2u);
  EXPECT_FALSE(units[0].tiled());
  EXPECT_FALSE(units[1].tiled());

  ProgramBuilder old;
  uint32_t a = old.value({256, 64}, DSX_STORAGE_INPUT);
  uint32_t v = old.value({64, 96}, DSX_STORAGE_CONSTANT);
  uint32_t m = old.step("ds.matmul", {a, v}, {256, 96});
  old.program.outputs = {old.step("ds.unary", {m}, {256, 96}, kind("relu"))};
  old.group(0, 2, 1); // no head
  for (const ExecUnit &unit : planExecution(old.program))
    EXPECT_FALSE(unit.tiled());
}

TEST(FusedExecution, SoftmaxWithMaskProducerTilesRowsOfItsAxis) {
  // scores[2,4,64,64] * scale + mask[2,1,1,64] -> softmax(-1): the mask
  // broadcasts over heads and queries, so tiles split only the batch dim.
  ProgramBuilder b;
  uint32_t scores = b.value({2, 4, 64, 64}, DSX_STORAGE_INPUT);
  uint32_t scale = b.value({}, DSX_STORAGE_CONSTANT);
  uint32_t mask = b.value({2, 1, 1, 64}, DSX_STORAGE_INPUT);
  uint32_t s = b.step("ds.binary", {scores, scale}, {2, 4, 64, 64}, kind("mul"));
  uint32_t m = b.step("ds.binary", {s, mask}, {2, 4, 64, 64}, kind("add"));
  Attributes axis;
  axis.set("axis", integer(-1));
  uint32_t p = b.step("ds.softmax", {m}, {2, 4, 64, 64}, axis);
  b.group(0, 3, 3);
  b.program.outputs = {p, s}; // `s` is read after the group too
  std::vector<ExecUnit> units = planExecution(b.program);
  ASSERT_EQ(units.size(), 1u);
  EXPECT_EQ(units[0].rowDims, 1);
  EXPECT_EQ(units[0].operands[1][1].kind, TileOperand::Rows);
  EXPECT_TRUE(units[0].results[0][0].toValue);
  EXPECT_LE(runBothWays(b.program, units), 1e-6f);
}

TEST(FusedExecution, GroupsThatCannotTileRunOpByOp) {
  // Too small.
  ProgramBuilder small;
  uint32_t x = small.value({4, 16}, DSX_STORAGE_INPUT);
  uint32_t a = small.step("ds.unary", {x}, {4, 16}, kind("relu"));
  small.program.outputs = {small.step("ds.unary", {a}, {4, 16}, kind("exp"))};
  small.group(0, 2, 2);
  EXPECT_EQ(planExecution(small.program).size(), 2u);

  // The compiler says no row is independent (a conv anchor).
  ProgramBuilder none;
  x = none.value({64, 128}, DSX_STORAGE_INPUT);
  a = none.step("ds.unary", {x}, {64, 128}, kind("relu"));
  none.program.outputs = {none.step("ds.unary", {a}, {64, 128}, kind("exp"))};
  none.group(0, 2, 0);
  EXPECT_EQ(planExecution(none.program).size(), 2u);

  // A leading dim that broadcasts at run time ([1,128] + [64,128], which a
  // dynamic `?` may bind to): the group's values disagree in their rows.
  ProgramBuilder broadcast;
  x = broadcast.value({1, 128}, DSX_STORAGE_INPUT);
  uint32_t y = broadcast.value({64, 128}, DSX_STORAGE_INPUT);
  a = broadcast.step("ds.unary", {x}, {1, 128}, kind("relu"));
  broadcast.program.outputs = {broadcast.step("ds.binary", {a, y}, {64, 128}, kind("add"))};
  broadcast.group(0, 2, 2);
  EXPECT_EQ(planExecution(broadcast.program).size(), 2u);

  // No groups (an artifact before format 4): every step alone.
  ProgramBuilder old;
  x = old.value({64, 128}, DSX_STORAGE_INPUT);
  a = old.step("ds.unary", {x}, {64, 128}, kind("relu"));
  old.program.outputs = {old.step("ds.unary", {a}, {64, 128}, kind("exp"))};
  EXPECT_EQ(planExecution(old.program).size(), 2u);
}

TEST(FusedExecution, ResultSharingBytesWithAnOperandRunsOpByOp) {
  ProgramBuilder b;
  uint32_t x = b.value({64, 128}, DSX_STORAGE_INPUT);
  uint32_t t = b.step("ds.unary", {x}, {64, 128}, kind("neg")); // outside the group
  uint32_t a = b.step("ds.unary", {t}, {64, 128}, kind("relu"));
  uint32_t y = b.step("ds.unary", {a}, {64, 128}, kind("exp"));
  b.group(1, 2, 2);
  b.program.outputs = {y};
  ASSERT_EQ(planExecution(b.program).size(), 2u); // apart: tiled
  b.program.values[y].offset = b.program.values[t].offset + 64; // a plan that overlaps them
  EXPECT_EQ(planExecution(b.program).size(), 3u);
}

TEST(FusedExecution, HeadRunsWholeAndTheEpilogueInTiles) {
  // A convolution-like head (here a transpose, which has no independent
  // rows) runs alone; its residual add + relu epilogue runs in tiles.
  ProgramBuilder b;
  uint32_t x = b.value({1, 64, 32, 32}, DSX_STORAGE_INPUT);
  uint32_t residual = b.value({1, 64, 32, 32}, DSX_STORAGE_INPUT);
  Attributes perm;
  Attribute p;
  p.kind = Attribute::Ints;
  p.ints = {0, 1, 3, 2};
  perm.set("perm", p);
  uint32_t t = b.step("ds.transpose", {x}, {1, 64, 32, 32}, perm);
  uint32_t a = b.step("ds.binary", {t, residual}, {1, 64, 32, 32}, kind("add"));
  uint32_t y = b.step("ds.unary", {a}, {1, 64, 32, 32}, kind("relu"));
  b.group(0, 3, 4, /*head=*/1);
  b.program.outputs = {y};
  std::vector<ExecUnit> units = planExecution(b.program);
  ASSERT_EQ(units.size(), 2u);
  EXPECT_FALSE(units[0].tiled());
  EXPECT_EQ(units[1].steps, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(units[1].operands[0][0].kind, TileOperand::Rows); // the head's result
  EXPECT_LE(runBothWays(b.program, units), 0.f);
}

TEST(FusedExecution, StepSpansCoverTheStepsAfterTheHead) {
  ProgramBuilder b;
  uint32_t x = b.value({8}, DSX_STORAGE_INPUT);
  uint32_t a = b.step("ds.unary", {x}, {8}, kind("relu"));
  uint32_t c = b.step("ds.unary", {a}, {8}, kind("exp"));
  uint32_t d = b.step("ds.unary", {c}, {8}, kind("neg"));
  b.step("ds.unary", {d}, {8}, kind("abs"));
  b.group(0, 3, 1, /*head=*/1);
  std::vector<StepSpan> spans = stepSpans(b.program);
  ASSERT_EQ(spans.size(), 4u);
  EXPECT_EQ(spans[0].first, 0); // the head: alone
  EXPECT_EQ(spans[0].last, 0);
  EXPECT_EQ(spans[1].first, 1);
  EXPECT_EQ(spans[1].last, 2);
  EXPECT_EQ(spans[2].first, 1);
  EXPECT_EQ(spans[3].first, 3);
  EXPECT_EQ(spans[3].last, 3);
}
