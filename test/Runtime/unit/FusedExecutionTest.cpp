//===- FusedExecutionTest.cpp - fusion groups run in tiles of rows --------===//
//
// Which groups the session tiles and how each operand is read (planning),
// and that a tiled group computes what its steps compute one by one
// (execution, compared element by element).
//
#include "core/FusedExecution.h"
#include "cpu/IntegerPackedGemm.h"
#include "cpu/PackedConstants.h"
#include "cpu/PackedGemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

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

namespace {
/// A tensor over fresh bytes (0xA5 each, kept in `bytes`) for every value
/// of `program`.
std::vector<Tensor> filledTensors(const Program &program,
                                  std::vector<std::vector<uint8_t>> &bytes) {
  std::vector<Tensor> tensors(program.values.size());
  for (size_t id = 0; id < program.values.size(); ++id) {
    const ValueInfo &v = program.values[id];
    bytes[id].assign(v.bytes, 0xA5);
    tensors[id] = Tensor{v.dtype, v.dims, bytes[id].data()};
  }
  return tensors;
}

/// ds.conv_integer (u8 input, s8 constant weights, 3x3, pad 1) and its
/// requantization: cast, scale per channel, bias, quantize to u8; `rest`
/// adds steps after it. Values carry their own dtypes and bytes.
struct RequantizedConv {
  ProgramBuilder b;
  std::vector<int8_t> weights = std::vector<int8_t>(16 * 8 * 9);
  uint32_t x, w, sums, scaled, quantized, qScale, qZero;
  static constexpr int64_t N = 2, C = 8, M = 16, H = 16;

  uint32_t typed(uint32_t id, DType dtype) {
    ValueInfo &v = b.program.values[id];
    uint64_t count = v.bytes / 4;
    v.dtype = dtype;
    v.bytes = count * dtypeSize(dtype);
    return id;
  }
  uint32_t step(const std::string &op, std::vector<uint32_t> in, DType dtype, dsx_op_class cls,
                Attributes a = {}) {
    uint32_t id = b.step(op, std::move(in), {N, M, H, H}, std::move(a));
    b.program.steps.back().opClass = cls;
    return typed(id, dtype);
  }
  RequantizedConv() {
    for (size_t i = 0; i < weights.size(); ++i)
      weights[i] = (int8_t)((int)(i * 37 % 255) - 127);
    x = typed(b.value({N, C, H, H}, DSX_STORAGE_INPUT), DS_U8);
    w = typed(b.value({M, C, 3, 3}, DSX_STORAGE_CONSTANT), DS_I8);
    uint32_t scale = b.value({M, 1, 1}, DSX_STORAGE_CONSTANT);
    uint32_t bias = b.value({1, M, 1, 1}, DSX_STORAGE_CONSTANT);
    qScale = b.value({}, DSX_STORAGE_CONSTANT);
    qZero = typed(b.value({}, DSX_STORAGE_CONSTANT), DS_U8);
    Attributes conv;
    Attribute ones;
    ones.kind = Attribute::Ints;
    ones.ints = {1, 1};
    conv.set("strides", ones);
    conv.set("dilations", ones);
    Attribute pads = ones;
    pads.ints = {1, 1, 1, 1};
    conv.set("pads", pads);
    conv.set("group", integer(1));
    sums = step("ds.conv_integer", {x, w}, DS_I32, DSX_OP_CONTRACTION, conv);
    uint32_t f = step("ds.cast", {sums}, DS_F32, DSX_OP_ELEMENTWISE);
    scaled = step("ds.binary", {f, scale}, DS_F32, DSX_OP_ELEMENTWISE, kind("mul"));
    uint32_t biased = step("ds.binary", {scaled, bias}, DS_F32, DSX_OP_ELEMENTWISE, kind("add"));
    Attributes perTensor;
    perTensor.set("axis", integer(1));
    perTensor.set("block_size", integer(0));
    quantized = step("ds.quantize", {biased, qScale, qZero}, DS_U8, DSX_OP_PRECISION, perTensor);
  }
  void finish(uint32_t numSteps) {
    b.group(0, numSteps, 4, /*head=*/1);
    b.program.outputs = {b.program.steps.back().outputs[0]};
  }
};
} // namespace

TEST(FusedExecution, RequantizingConvolutionRunsAsItsStore) {
  if (!cpu::integerVnniKernelsAvailable())
    GTEST_SKIP() << "no AVX-512 VNNI: integer convolutions keep their tiled epilogue";
  RequantizedConv r;
  r.finish(5);
  std::vector<ExecUnit> units = planExecution(r.b.program);
  ASSERT_EQ(units.size(), 1u);
  ASSERT_TRUE(units[0].epilogue);
  EXPECT_FALSE(units[0].tiled());
  EXPECT_EQ(units[0].steps.size(), 5u);
  const std::vector<EpilogueStepPlan> &steps = units[0].epilogue->steps;
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].source, cpu::StoreEpilogue::Op::PerChannel); // [M, 1, 1]
  EXPECT_EQ(steps[1].source, cpu::StoreEpilogue::Op::PerChannel); // [1, M, 1, 1]
  EXPECT_EQ(steps[2].kind, cpu::StoreEpilogue::Op::Quantize);
  EXPECT_EQ(steps[2].store, r.quantized); // only the group's result is stored
  EXPECT_EQ(steps[0].store, DSX_ABSENT);
  // Its input lives through the whole group (the kernel reads it as it
  // stores); its sums, never written then, end at the cast.
  std::vector<StepSpan> spans = stepSpans(r.b.program);
  EXPECT_EQ(spans[0].first, 0);
  EXPECT_EQ(spans[0].last, 4);
  EXPECT_EQ(spans[1].first, 0);
  BufferLifetime sums{0, 0, 0};
  extendLifetime(sums, 0, 1, spans);
  EXPECT_EQ(sums.end, 1);
  // That tail, tiled, for a run whose kernel declines the chain.
  ASSERT_TRUE(units[0].tail);
  EXPECT_TRUE(units[0].tail->tiled());
  EXPECT_EQ(units[0].tail->steps, (std::vector<size_t>{1, 2, 3, 4}));
}

TEST(FusedExecution, ChainValueReadOutsideIsStoredToo) {
  if (!cpu::integerVnniKernelsAvailable())
    GTEST_SKIP() << "no AVX-512 VNNI: no store epilogues";
  RequantizedConv r;
  r.b.step("ds.unary", {r.scaled}, {r.N, r.M, r.H, r.H}, kind("neg")); // after the group
  r.b.group(0, 5, 4, /*head=*/1);
  r.b.program.outputs = {r.quantized};
  std::vector<ExecUnit> units = planExecution(r.b.program);
  ASSERT_EQ(units.size(), 2u);
  ASSERT_TRUE(units[0].epilogue);
  EXPECT_EQ(units[0].epilogue->steps[0].store, r.scaled);
}

TEST(FusedExecution, GroupsNotAChainKeepTheirTiles) {
  if (!cpu::integerVnniKernelsAvailable())
    GTEST_SKIP() << "no AVX-512 VNNI: no store epilogues";
  { // per-axis quantization reads its scale by channel
    RequantizedConv r;
    r.b.program.values[r.qScale].dims = {r.M};
    r.b.program.values[r.qScale].bytes = 4 * r.M;
    r.finish(5);
    EXPECT_FALSE(planExecution(r.b.program)[0].epilogue);
  }
  { // a chain value read twice inside the group
    RequantizedConv r;
    r.step("ds.binary", {r.quantized, r.quantized}, DS_U8, DSX_OP_ELEMENTWISE, kind("add"));
    r.finish(6);
    EXPECT_FALSE(planExecution(r.b.program)[0].epilogue);
  }
  { // a stored result sharing bytes with the convolution's input
    RequantizedConv r;
    r.finish(5);
    r.b.program.values[r.x].storage = DSX_STORAGE_ARENA;
    r.b.program.values[r.x].offset = r.b.program.values[r.quantized].offset;
    EXPECT_FALSE(planExecution(r.b.program)[0].epilogue);
  }
  { // the sums themselves read after the group
    RequantizedConv r;
    r.b.step("ds.unary", {r.sums}, {r.N, r.M, r.H, r.H}, kind("neg"));
    r.b.group(0, 5, 4, /*head=*/1);
    EXPECT_FALSE(planExecution(r.b.program)[0].epilogue);
  }
}

namespace {
/// ds.matmul_integer ([2, 4, 16] u8 by [16, 32] s8) and a quantized
/// feed-forward's tail: cast, scale per column, a bias of `biasDims`, GELU
/// (or SiLU as exporters write it, x * sigmoid(x)), quantize to u8.
struct QuantizedFeedForward {
  ProgramBuilder b;
  uint32_t x, w, scale, bias, qScale, qZero, sums, quantized;
  std::vector<int8_t> weights = std::vector<int8_t>(16 * 32);
  static constexpr int64_t B = 2, M = 4, K = 16, N = 32;

  uint32_t typed(uint32_t id, DType dtype) {
    ValueInfo &v = b.program.values[id];
    v.bytes = v.bytes / 4 * dtypeSize(dtype);
    v.dtype = dtype;
    return id;
  }
  uint32_t step(const std::string &op, std::vector<uint32_t> in, DType dtype, dsx_op_class cls,
                Attributes a = {}) {
    uint32_t id = b.step(op, std::move(in), {B, M, N}, std::move(a));
    b.program.steps.back().opClass = cls;
    return typed(id, dtype);
  }
  explicit QuantizedFeedForward(std::vector<int64_t> biasDims, bool silu = false) {
    for (size_t i = 0; i < weights.size(); ++i)
      weights[i] = (int8_t)((int)(i * 53 % 255) - 127);
    x = typed(b.value({B, M, K}, DSX_STORAGE_INPUT), DS_U8);
    w = typed(b.value({K, N}, DSX_STORAGE_CONSTANT), DS_I8);
    scale = b.value({N}, DSX_STORAGE_CONSTANT);
    bias = b.value(std::move(biasDims), DSX_STORAGE_CONSTANT);
    qScale = b.value({}, DSX_STORAGE_CONSTANT);
    qZero = typed(b.value({}, DSX_STORAGE_CONSTANT), DS_U8);
    sums = step("ds.matmul_integer", {x, w}, DS_I32, DSX_OP_CONTRACTION);
    uint32_t f = step("ds.cast", {sums}, DS_F32, DSX_OP_ELEMENTWISE);
    uint32_t scaled = step("ds.binary", {f, scale}, DS_F32, DSX_OP_ELEMENTWISE, kind("mul"));
    uint32_t biased = step("ds.binary", {scaled, bias}, DS_F32, DSX_OP_ELEMENTWISE, kind("add"));
    uint32_t act = step("ds.unary", {biased}, DS_F32, DSX_OP_ELEMENTWISE,
                        kind(silu ? "sigmoid" : "gelu"));
    if (silu)
      act = step("ds.binary", {act, biased}, DS_F32, DSX_OP_ELEMENTWISE, kind("mul"));
    Attributes perTensor;
    perTensor.set("axis", integer(1));
    perTensor.set("block_size", integer(0));
    quantized = step("ds.quantize", {act, qScale, qZero}, DS_U8, DSX_OP_PRECISION, perTensor);
    b.group(0, silu ? 7 : 6, 4, /*head=*/1);
    b.program.outputs = {quantized};
  }
};
} // namespace

TEST(FusedExecution, QuantizedMatmulRunsItsTailAsItStores) {
  if (!cpu::integerVnniKernelsAvailable())
    GTEST_SKIP() << "no AVX-512 VNNI: integer matmuls keep their tiled epilogue";
  QuantizedFeedForward f({1, QuantizedFeedForward::N});
  std::vector<ExecUnit> units = planExecution(f.b.program);
  ASSERT_EQ(units.size(), 1u);
  ASSERT_TRUE(units[0].epilogue);
  const std::vector<EpilogueStepPlan> &steps = units[0].epilogue->steps;
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(steps[0].source, cpu::StoreEpilogue::Op::PerChannel); // [N]: the columns
  EXPECT_EQ(steps[1].source, cpu::StoreEpilogue::Op::PerChannel); // [1, N]
  EXPECT_EQ(steps[2].kind, cpu::StoreEpilogue::Op::Gelu);
  EXPECT_EQ(steps[3].store, f.quantized);
  // One span: the kernel reads its lhs while it stores.
  std::vector<StepSpan> spans = stepSpans(f.b.program);
  EXPECT_EQ(spans[0].first, 0);
  EXPECT_EQ(spans[0].last, 5);

  // SiLU, as x * sigmoid(x): one op of the chain.
  QuantizedFeedForward silu({QuantizedFeedForward::N}, /*silu=*/true);
  units = planExecution(silu.b.program);
  ASSERT_EQ(units.size(), 1u);
  ASSERT_TRUE(units[0].epilogue);
  ASSERT_EQ(units[0].epilogue->steps.size(), 4u);
  EXPECT_EQ(units[0].epilogue->steps[2].kind, cpu::StoreEpilogue::Op::Silu);
  // Not when the logistic is read after the group too.
  QuantizedFeedForward shared({QuantizedFeedForward::N}, /*silu=*/true);
  shared.b.program.outputs.push_back(shared.b.program.steps[4].outputs[0]);
  EXPECT_FALSE(planExecution(shared.b.program)[0].epilogue);

  // A bias per row ([M, 1]) is not per channel of a matmul's result.
  QuantizedFeedForward rows({QuantizedFeedForward::M, 1});
  EXPECT_FALSE(planExecution(rows.b.program)[0].epilogue);
}

TEST(FusedExecution, StoreEpilogueUnitEqualsItsSteps) {
  if (!cpu::integerVnniKernelsAvailable())
    GTEST_SKIP() << "no AVX-512 VNNI: no store epilogues";
  RequantizedConv r;
  r.finish(5);
  const Program &program = r.b.program;
  std::vector<ExecUnit> units = planExecution(program);
  ASSERT_TRUE(units[0].epilogue);
  std::vector<std::vector<uint8_t>> bytes(program.values.size());
  auto tensorsFor = [&]() {
    std::vector<Tensor> tensors = filledTensors(program, bytes);
    for (size_t i = 0; i < bytes[r.x].size(); ++i)
      bytes[r.x][i] = (uint8_t)(i * 13 % 251);
    tensors[r.w].data = r.weights.data(); // where the packed copy is found
    float *scale = tensors[r.b.program.steps[2].inputs[1]].as<float>();
    float *bias = tensors[r.b.program.steps[3].inputs[1]].as<float>();
    for (int64_t m = 0; m < r.M; ++m)
      scale[m] = 0.001f * (float)(m + 1), bias[m] = 0.25f * (float)(m - 8);
    *tensors[r.qScale].as<float>() = 0.02f;
    *tensors[r.qZero].as<uint8_t>() = 100;
    return tensors;
  };
  cpu::PackedConstants constants;
  ASSERT_TRUE(constants.addInt8Conv(r.weights.data(), r.M, r.C, 9));
  ThreadPool pool;
  ASSERT_TRUE(pool.start(2).ok());
  std::vector<std::vector<uint8_t>> results;
  for (bool packed : {false, true}) {
    for (bool fused : {false, true}) {
      KernelContext ctx = {};
      ctx.numThreads = 1;
      ctx.parallelFor = [](int64_t n, int64_t, const std::function<void(int64_t, int64_t)> &f) {
        if (n > 0)
          f(0, n);
      };
      ctx.packed = packed ? &constants : nullptr;
      std::vector<Tensor> tensors = tensorsFor();
      if (fused) {
        ASSERT_TRUE(runStoreEpilogueUnit(program, units[0], tensors, ctx, pool).ok());
      } else {
        for (const Step &step : program.steps) {
          std::vector<const Tensor *> ins;
          std::vector<Tensor *> outs;
          for (uint32_t id : step.inputs)
            ins.push_back(&tensors[id]);
          for (uint32_t id : step.outputs)
            outs.push_back(&tensors[id]);
          ASSERT_TRUE(step.kernel(ctx, step.attrs, ins, outs).ok()) << step.op;
        }
      }
      results.push_back(bytes[r.quantized]);
    }
  }
  // Without packed weights the kernel declines the chain (the im2col path)
  // and the unit runs its tiled tail; with them the VNNI kernel stores
  // through the chain.
  for (const std::vector<uint8_t> &result : results)
    EXPECT_EQ(result, results[0]);
  std::set<uint8_t> distinct(results[0].begin(), results[0].end());
  EXPECT_GT(distinct.size(), 20u);
}

TEST(FusedExecution, MatmulStoreEpilogueUnitEqualsItsSteps) {
  if (!cpu::integerVnniKernelsAvailable())
    GTEST_SKIP() << "no AVX-512 VNNI: no store epilogues";
  for (bool silu : {false, true}) {
    QuantizedFeedForward f({QuantizedFeedForward::N}, silu);
    const Program &program = f.b.program;
    std::vector<ExecUnit> units = planExecution(program);
    ASSERT_TRUE(units[0].epilogue);
    std::vector<std::vector<uint8_t>> bytes(program.values.size());
    auto tensorsFor = [&]() {
      std::vector<Tensor> tensors = filledTensors(program, bytes);
      for (size_t i = 0; i < bytes[f.x].size(); ++i)
        bytes[f.x][i] = (uint8_t)(i * 29 % 253);
      tensors[f.w].data = f.weights.data(); // where the packed copy is found
      float *scale = tensors[f.scale].as<float>(), *bias = tensors[f.bias].as<float>();
      for (int64_t n = 0; n < QuantizedFeedForward::N; ++n)
        scale[n] = 1e-6f * (float)(n + 1), bias[n] = 0.125f * (float)(n - 16);
      *tensors[f.qScale].as<float>() = 0.02f;
      *tensors[f.qZero].as<uint8_t>() = 60;
      return tensors;
    };
    cpu::PackedConstants constants;
    ASSERT_TRUE(constants.addInt8Matrix(f.weights.data(), QuantizedFeedForward::K,
                                        QuantizedFeedForward::N));
    ThreadPool pool;
    ASSERT_TRUE(pool.start(2).ok());
    std::vector<std::vector<uint8_t>> results;
    for (bool packed : {false, true})
      for (bool fused : {false, true}) {
        KernelContext ctx = {};
        ctx.numThreads = 2;
        ctx.parallelFor = [&pool](int64_t n, int64_t grain,
                                  const std::function<void(int64_t, int64_t)> &body) {
          pool.parallelFor(n, grain, body);
        };
        ctx.packed = packed ? &constants : nullptr;
        std::vector<Tensor> tensors = tensorsFor();
        if (fused) {
          ASSERT_TRUE(runStoreEpilogueUnit(program, units[0], tensors, ctx, pool).ok());
        } else {
          std::vector<const Tensor *> ins;
          std::vector<Tensor *> outs;
          for (const Step &step : program.steps)
            ASSERT_TRUE(runStep(step, tensors, ctx, ins, outs).ok()) << step.op;
        }
        results.push_back(bytes[f.quantized]);
      }
    // Without packed weights the kernel declines the chain (oneDNN or exact
    // loops) and the unit runs its tail; with them the GEMM stores through
    // the chain, on the pool's two threads.
    for (const std::vector<uint8_t> &result : results)
      EXPECT_EQ(result, results[0]) << (silu ? "silu" : "gelu");
    std::set<uint8_t> distinct(results[0].begin(), results[0].end());
    EXPECT_GT(distinct.size(), 20u) << (silu ? "silu" : "gelu");
  }
}

TEST(FusedExecution, ValuesComputedWhilePlanningAreNotInTheArena) {
  if (!cpu::integerVnniKernelsAvailable())
    GTEST_SKIP() << "no AVX-512 VNNI: no store epilogues";
  // A dynamic plan computes constant-only steps (a reshaped scale) while it
  // plans; their stale arena offsets must not look like a clash.
  RequantizedConv r;
  uint32_t scale = r.b.program.steps[2].inputs[1];
  ProgramBuilder &b = r.b;
  uint32_t raw = b.value({r.M}, DSX_STORAGE_CONSTANT);
  Step reshape;
  reshape.op = "ds.unary";
  reshape.inputs = {raw};
  reshape.outputs = {scale};
  b.program.values[scale].storage = DSX_STORAGE_ARENA;
  b.program.values[scale].offset = b.program.values[r.quantized].offset;
  b.program.steps.insert(b.program.steps.begin(), reshape);
  b.group(1, 5, 4, /*head=*/1);
  b.program.outputs = {r.quantized};
  std::vector<uint8_t> skip(b.program.steps.size(), 0);
  EXPECT_FALSE(planExecution(b.program, b.program.values, &skip)[1].epilogue); // a real clash
  skip[0] = 1;
  std::vector<ExecUnit> units = planExecution(b.program, b.program.values, &skip);
  ASSERT_EQ(units.size(), 1u);
  EXPECT_TRUE(units[0].epilogue);
}
