//===- FusedExecution.cpp - running fusion groups in tiles of rows --------===//
#include "core/FusedExecution.h"
#include "cpu/IntegerPackedGemm.h"
#include "cpu/Kernels.h"

#include <algorithm>
#include <mutex>
#include <optional>

namespace dsrt {
namespace {
/// Elements per tile: a few tiles of intermediates fit in L2 together.
constexpr int64_t kTileElements = 8192;
/// Smaller groups run op by op: tiling would only add overhead.
constexpr int64_t kMinFusedElements = 4096;
/// The most tiles a group is split into for its tasks' sake (a group of
/// that many tasks' work, with that many rows, gets that many).
constexpr int64_t kMinTiles = 8;
/// Result elements (summed over the group's steps) a thread takes at least:
/// a small group runs on the calling thread, as the unfused kernels would,
/// instead of waking the pool.
constexpr int64_t kTaskElements = 32768;

using Dims = std::vector<int64_t>;

int64_t product(const Dims &dims, size_t from = 0, size_t to = SIZE_MAX) {
  int64_t n = 1;
  for (size_t i = from; i < std::min(to, dims.size()); ++i)
    n *= dims[i];
  return n;
}

bool samePrefix(const Dims &a, const Dims &b, int64_t length) {
  return (int64_t)a.size() >= length && (int64_t)b.size() >= length &&
         std::equal(a.begin(), a.begin() + length, b.begin());
}

/// Operand dims right-aligned against a result of rank `rank` (numpy
/// broadcasting): true when every dim falling on positions [0, end) is 1 or
/// absent, i.e. the operand is the same for every row there.
bool onesBefore(const Dims &operand, int64_t rank, int64_t end) {
  int64_t offset = rank - (int64_t)operand.size();
  if (offset < 0)
    return false;
  for (int64_t p = offset; p < end; ++p)
    if (operand[p - offset] != 1)
      return false;
  return true;
}

/// A matmul step: ds.matmul, or the kernel a program gives one that reads a
/// transposed constant in place (core/WeightTransposes.h), whose rhs is a
/// 2-D constant.
bool isMatmul(const Step &step) {
  return step.op == "ds.matmul" || step.op == cpu::kTransposedWeightMatmul;
}

/// A ds.quantize / ds.dequantize with one scale: elementwise (the
/// compiler's isPerTensorQuantization).
bool isPerTensorQuantization(const Step &step, const std::vector<ValueInfo> &values) {
  if ((step.op != "ds.quantize" && step.op != "ds.dequantize") || step.inputs.size() < 2 ||
      step.inputs[1] == DSX_ABSENT || step.attrs.getInt("block_size", 0) != 0)
    return false;
  return product(values[step.inputs[1]].dims) == 1;
}

/// Ops a tile may run: those whose result rows read only the same rows of
/// their row operands (the compiler's getParallelLeadingDims).
bool tileable(const Step &step, const std::vector<ValueInfo> &values) {
  return step.opClass == DSX_OP_ELEMENTWISE || step.opClass == DSX_OP_REDUCTION ||
         isMatmul(step) || isPerTensorQuantization(step, values);
}

/// How operand `k` of `step` (dims `operand`; `local` when an earlier step
/// of the unit computes it) is read when tiles split the first `rowDims`
/// dims, whose sizes are `lead`; nullopt when it cannot be.
std::optional<TileOperand::Kind> classify(const Step &step, size_t k, const Dims &operand,
                                          bool local, int64_t rowDims, const Dims &lead,
                                          int64_t resultRank) {
  bool rows = samePrefix(operand, lead, rowDims);
  if (isMatmul(step)) {
    // Rows of the result are batch entries and then rows of M: the lhs is
    // read by rows, the rhs by rows only while tiles split batch dims.
    int64_t batchRank = resultRank - 2;
    if (k == 1) {
      if (rowDims <= batchRank && rows && (int64_t)operand.size() == resultRank)
        return TileOperand::Rows;
      if (!local && onesBefore(operand, resultRank, std::min(rowDims, batchRank)))
        return TileOperand::Whole;
      return std::nullopt;
    }
    if (rows && (int64_t)operand.size() == resultRank)
      return TileOperand::Rows;
    if (!local && rowDims <= batchRank && onesBefore(operand, resultRank, rowDims))
      return TileOperand::Whole;
    return std::nullopt;
  }
  if (step.opClass == DSX_OP_REDUCTION && k == 0) // the reduced input: its rows
    return rows ? std::optional(TileOperand::Rows) : std::nullopt;
  // Elementwise operands and a norm's scale / bias broadcast numpy-style.
  if (rows && (int64_t)operand.size() == resultRank)
    return TileOperand::Rows;
  if (!local && onesBefore(operand, resultRank, rowDims))
    return TileOperand::Whole;
  return std::nullopt;
}

/// Whether tiles of `rowDims` leading dims would split the rows of M of a
/// matmul `step` (not only its batch entries).
bool splitsGemmRows(const Step &step, const std::vector<ValueInfo> &values, int64_t rowDims) {
  return isMatmul(step) && !step.outputs.empty() &&
         rowDims >= (int64_t)values[step.outputs[0]].dims.size() - 1;
}

/// Rows per tile, from the elements of a row and the group's steps.
int64_t rowsPerTile(int64_t rows, int64_t rowElements, int64_t steps) {
  // Enough tiles to give each task (kTaskElements) one, up to kMinTiles, so
  // that a group spreads over the threads (a count from the shape alone,
  // not from the thread count); no more than that, within kTileElements:
  // the tiles of a task run one after another, each paying every step's
  // dispatch (tanh-GELU's 9 steps over 4,096 elements took 8 tiles, 20 us).
  const int64_t work = rows * rowElements * steps;
  const int64_t spread = std::clamp<int64_t>((work + kTaskElements - 1) / kTaskElements, 1, kMinTiles);
  int64_t byElements = std::max<int64_t>(1, kTileElements / std::max<int64_t>(1, rowElements));
  return std::max<int64_t>(1, std::min(byElements, (rows + spread - 1) / spread));
}

/// The tiled plan of `steps` (the live steps of one group after its head),
/// or a unit with rowDims 0 when they must run op by op. `readAfter[v]`:
/// value v is read outside the unit (by a later step or as a graph output);
/// `elsewhere[v]`: v is not in the arena (a dynamic plan computed it).
ExecUnit planTiled(const Program &program, const std::vector<ValueInfo> &values,
                   const std::vector<size_t> &steps, int64_t parallelDims,
                   const std::vector<uint8_t> &readAfter, const std::vector<uint8_t> &elsewhere) {
  ExecUnit unit;
  unit.steps = steps;
  std::vector<int64_t> localOf(values.size(), -1);
  std::vector<uint32_t> produced;
  for (size_t s : steps) {
    const Step &step = program.steps[s];
    if (!tileable(step, values))
      return unit;
    for (uint32_t id : step.outputs) {
      localOf[id] = (int64_t)produced.size();
      produced.push_back(id);
    }
  }
  // Rows: the leading dims every value of the group shares.
  const Dims &lead = values[produced[0]].dims;
  int64_t rowDims = std::min<int64_t>(parallelDims, (int64_t)lead.size());
  for (uint32_t id : produced)
    while (rowDims > 0 && !samePrefix(values[id].dims, lead, rowDims))
      --rowDims;
  // Fewer row dims until every operand is read by rows or whole.
  auto fits = [&](int64_t dims) {
    for (size_t s : steps) {
      const Step &step = program.steps[s];
      int64_t rank = (int64_t)values[step.outputs[0]].dims.size();
      for (size_t k = 0; k < step.inputs.size(); ++k) {
        uint32_t id = step.inputs[k];
        if (id != DSX_ABSENT &&
            !classify(step, k, values[id].dims, localOf[id] >= 0, dims, lead, rank))
          return false;
      }
    }
    return true;
  };
  while (rowDims > 0 && !fits(rowDims))
    --rowDims;
  if (rowDims == 0)
    return unit;
  // A GEMM cut into row tiles re-packs its whole rhs for every tile, and its
  // blocks would differ from the unfused GEMM's (cpu/Gemm.h): the compiler
  // puts a leading matmul in the group's head (getGroupTiling), and a group
  // that would split one otherwise (an older artifact) runs op by op.
  for (size_t s : steps)
    if (splitsGemmRows(program.steps[s], values, rowDims))
      return unit;
  int64_t rows = product(lead, 0, rowDims), rowElements = 0, largest = 0;
  for (uint32_t id : produced) {
    rowElements = std::max(rowElements, product(values[id].dims, rowDims));
    largest = std::max(largest, product(values[id].dims));
  }
  if (rows < 2 || largest < kMinFusedElements)
    return unit;

  // A result read after the group must not share bytes with an operand the
  // group reads from outside: later tiles still read the operand while
  // earlier ones write the result. The compiler's and the runtime's plans
  // keep them apart (extendLifetime); this guards other plans.
  for (uint32_t out : produced) {
    const ValueInfo &o = values[out];
    if (!readAfter[out] || o.storage != DSX_STORAGE_ARENA)
      continue;
    for (size_t s : steps)
      for (uint32_t id : program.steps[s].inputs) {
        if (id == DSX_ABSENT || localOf[id] >= 0 || values[id].storage != DSX_STORAGE_ARENA ||
            elsewhere[id])
          continue;
        const ValueInfo &in = values[id];
        if (in.offset < o.offset + o.bytes && o.offset < in.offset + in.bytes)
          return unit;
      }
  }

  unit.rowDims = rowDims;
  unit.rows = rows;
  unit.rowsPerTile = rowsPerTile(rows, rowElements, (int64_t)steps.size());
  int64_t tileElements = unit.rowsPerTile * rowElements * (int64_t)steps.size();
  unit.tilesPerTask = std::max<int64_t>(1, kTaskElements / std::max<int64_t>(1, tileElements));
  unit.numLocals = (uint32_t)produced.size();
  for (size_t s : steps) {
    const Step &step = program.steps[s];
    int64_t rank = (int64_t)values[step.outputs[0]].dims.size();
    std::vector<TileOperand> operands;
    for (size_t k = 0; k < step.inputs.size(); ++k) {
      uint32_t id = step.inputs[k];
      TileOperand operand;
      if (id != DSX_ABSENT && localOf[id] >= 0) {
        operand.kind = TileOperand::Local;
        operand.local = (uint32_t)localOf[id];
      } else if (id != DSX_ABSENT) {
        operand.kind = *classify(step, k, values[id].dims, false, rowDims, lead, rank);
      }
      operands.push_back(operand);
    }
    unit.operands.push_back(std::move(operands));
    std::vector<TileResult> results;
    for (uint32_t id : step.outputs) {
      TileResult result;
      result.local = (uint32_t)localOf[id];
      result.toValue = readAfter[id] != 0;
      if (!result.toValue) {
        uint64_t bytes = (uint64_t)(unit.rowsPerTile * product(values[id].dims, rowDims)) *
                         dtypeSize(values[id].dtype);
        result.scratchOffset = unit.scratchBytes;
        unit.scratchBytes += (bytes + 63) / 64 * 64;
      }
      results.push_back(result);
    }
    unit.results.push_back(std::move(results));
  }
  return unit;
}

/// The fusion group of each step (-1: none); `withHeads`: a group's head
/// steps count as its own, otherwise only the steps after them.
std::vector<int64_t> stepGroups(const Program &program, bool withHeads) {
  std::vector<int64_t> groupOf(program.steps.size(), -1);
  for (size_t g = 0; g < program.groups.size(); ++g)
    for (uint32_t s = withHeads ? 0 : program.groups[g].headSteps; s < program.groups[g].numSteps;
         ++s)
      groupOf[program.groups[g].firstStep + s] = (int64_t)g;
  return groupOf;
}

/// Values read by a step outside the group that defines them (`groupOf`
/// per step), or graph outputs.
std::vector<uint8_t> readOutsideGroups(const Program &program, size_t numValues,
                                       const std::vector<int64_t> &groupOf) {
  std::vector<int64_t> definedIn(numValues, -2);
  for (size_t s = 0; s < program.steps.size(); ++s)
    for (uint32_t id : program.steps[s].outputs)
      definedIn[id] = groupOf[s];
  std::vector<uint8_t> read(numValues, 0);
  for (size_t s = 0; s < program.steps.size(); ++s)
    for (uint32_t id : program.steps[s].inputs)
      if (id != DSX_ABSENT && (groupOf[s] < 0 || definedIn[id] != groupOf[s]))
        read[id] = 1;
  for (uint32_t id : program.outputs)
    read[id] = 1;
  return read;
}

/// The tile of `rows` rows of a value of `dims`: its first `rowDims` dims
/// become [1, ..., 1, rows], so the rank (and every axis attribute) stays as
/// the compiler wrote it.
Dims tileDims(const Dims &dims, int64_t rowDims, int64_t rows) {
  Dims tile(dims);
  std::fill(tile.begin(), tile.begin() + rowDims - 1, 1);
  tile[rowDims - 1] = rows;
  return tile;
}
} // namespace

std::vector<StepSpan> stepSpans(const Program &program) {
  std::vector<StepSpan> spans(program.steps.size());
  for (size_t s = 0; s < spans.size(); ++s)
    spans[s] = {(int64_t)s, (int64_t)s};
  // A group's head runs whole, step by step; the steps after it together.
  // A head that is an integer convolution or matmul may run the rest as
  // its store (core/StoreEpiloguePlan.h), still reading its input: its
  // group is one span (the compiler's MemoryAnalysis the same). Its sums,
  // read only inside, end at their reader: they take no arena of their own
  // past it, which costs a tiled tail (when the kernel declines the chain)
  // its tiles where a result reuses their bytes.
  for (const FusionGroup &group : program.groups) {
    int64_t tail = (int64_t)group.firstStep + group.headSteps;
    if (group.headSteps == 1 && storesThroughEpilogue(program.steps[group.firstStep].op))
      tail = group.firstStep;
    int64_t last = (int64_t)group.firstStep + group.numSteps - 1;
    for (int64_t s = tail; s <= last; ++s)
      spans[s] = {tail, last};
  }
  return spans;
}

std::vector<ExecUnit> planExecution(const Program &program, const std::vector<ValueInfo> &values,
                                   const std::vector<uint8_t> *skip) {
  const size_t numSteps = program.steps.size();
  auto skipped = [&](size_t step) {
    return (skip && (*skip)[step]) || program.steps[step].elided;
  };
  // The group of each step that runs in tiles (a head step runs alone), and
  // the values read outside their group; the same with the head steps
  // counted in their groups (for epilogues).
  const std::vector<int64_t> groupOf = stepGroups(program, /*withHeads=*/false);
  const std::vector<int64_t> wholeGroupOf = stepGroups(program, /*withHeads=*/true);
  const std::vector<uint8_t> readAfter = readOutsideGroups(program, values.size(), groupOf);
  const std::vector<uint8_t> readOutside =
      readOutsideGroups(program, values.size(), wholeGroupOf);
  // Values of skipped steps were computed while planning: not in the arena.
  std::vector<uint8_t> elsewhere(values.size(), 0);
  for (size_t s = 0; s < numSteps; ++s)
    if (skip && (*skip)[s])
      for (uint32_t id : program.steps[s].outputs)
        elsewhere[id] = 1;

  std::vector<ExecUnit> units;
  size_t s = 0;
  while (s < numSteps) {
    // An integer contraction heading its group: the whole group as its store, if the
    // rest is a chain its kernel can run.
    if (int64_t g = wholeGroupOf[s]; g >= 0 && program.groups[g].headSteps == 1 &&
                                      program.groups[g].firstStep == s) {
      std::vector<size_t> all;
      for (size_t k = s; k < (size_t)program.groups[g].firstStep + program.groups[g].numSteps; ++k)
        if (!skipped(k))
          all.push_back(k);
      auto plan = std::make_shared<EpiloguePlan>();
      if (cpu::integerVnniKernelsAvailable() && all.size() == program.groups[g].numSteps &&
          planStoreEpilogue(program, values, all, readOutside, elsewhere, *plan)) {
        ExecUnit unit;
        unit.steps = std::move(all);
        unit.epilogue = std::move(plan);
        const std::vector<size_t> rest(unit.steps.begin() + 1, unit.steps.end());
        ExecUnit tail = planTiled(program, values, rest, program.groups[g].parallelDims,
                                  readAfter, elsewhere);
        if (tail.tiled())
          unit.tail = std::make_shared<ExecUnit>(std::move(tail));
        units.push_back(std::move(unit));
        s += program.groups[g].numSteps;
        continue;
      }
    }
    if (groupOf[s] < 0) {
      if (!skipped(s))
        units.push_back(ExecUnit{{s}});
      ++s;
      continue;
    }
    const FusionGroup &group = program.groups[groupOf[s]];
    std::vector<size_t> live; // the group's steps after its head
    for (size_t k = s; k < (size_t)group.firstStep + group.numSteps; ++k)
      if (!skipped(k))
        live.push_back(k);
    s = group.firstStep + group.numSteps;
    if (live.size() > 1) {
      ExecUnit unit = planTiled(program, values, live, group.parallelDims, readAfter, elsewhere);
      if (unit.tiled()) {
        units.push_back(std::move(unit));
        continue;
      }
    }
    for (size_t k : live)
      units.push_back(ExecUnit{{k}});
  }
  return units;
}

Status runStoreEpilogueUnit(const Program &program, const ExecUnit &unit,
                            std::vector<Tensor> &tensors, KernelContext &ctx, ThreadPool &pool) {
  bool applied = false;
  if (Status s = runStoreEpilogue(program, unit.steps, *unit.epilogue, tensors, ctx, applied); !s)
    return s;
  if (applied)
    return Status();
  if (unit.tail)
    return runTiledUnit(program, *unit.tail, tensors, pool, ctx.packed);
  std::vector<const Tensor *> ins;
  std::vector<Tensor *> outs;
  for (size_t k = 1; k < unit.steps.size(); ++k)
    if (Status s = runStep(program.steps[unit.steps[k]], tensors, ctx, ins, outs); !s)
      return s;
  return Status();
}

void bindStep(const Step &step, std::vector<Tensor> &tensors, std::vector<const Tensor *> &ins,
              std::vector<Tensor *> &outs) {
  ins.clear();
  outs.clear();
  for (uint32_t id : step.inputs)
    ins.push_back(id == DSX_ABSENT ? nullptr : &tensors[id]);
  for (uint32_t id : step.outputs)
    outs.push_back(&tensors[id]);
}

Status runStep(const Step &step, std::vector<Tensor> &tensors, KernelContext &ctx,
               std::vector<const Tensor *> &ins, std::vector<Tensor *> &outs) {
  bindStep(step, tensors, ins, outs);
  Status s = step.kernel(ctx, step.attrs, ins, outs);
  if (!s)
    return stepError(step.op, s, s.code() == DS_OK ? DS_RUNTIME_ERROR : s.code());
  return Status();
}

Status runTiledUnit(const Program &program, const ExecUnit &unit, std::vector<Tensor> &tensors,
                    ThreadPool &pool, const cpu::PackedConstants *packed) {
  KernelContext serial;
  serial.numThreads = 1;
  serial.packed = packed;
  serial.parallelFor = [](int64_t n, int64_t, const std::function<void(int64_t, int64_t)> &body) {
    if (n > 0)
      body(0, n);
  };
  const int64_t rowDims = unit.rowDims;
  const int64_t tiles = (unit.rows + unit.rowsPerTile - 1) / unit.rowsPerTile;
  std::mutex errorMutex;
  Status failure;
  pool.parallelFor(tiles, unit.tilesPerTask, [&](int64_t tileBegin, int64_t tileEnd) {
    // Scratch grows once per thread and is reused by every later run.
    thread_local std::vector<uint64_t> scratch;
    if (scratch.size() * 8 < unit.scratchBytes)
      scratch.resize(unit.scratchBytes / 8 + 1);
    char *scratchBase = reinterpret_cast<char *>(scratch.data());
    // The task's tensors, shaped once: a tile only moves their data and, for
    // a short last tile, their row count (a tensor made per tile and operand
    // allocated its dims: most of a small group's time).
    const size_t numSteps = unit.steps.size();
    std::vector<Tensor> locals(unit.numLocals);
    std::vector<std::vector<Tensor>> views(numSteps);
    std::vector<std::vector<const Tensor *>> ins(numSteps);
    std::vector<std::vector<Tensor *>> outs(numSteps);
    for (size_t i = 0; i < numSteps; ++i) {
      const Step &step = program.steps[unit.steps[i]];
      views[i].resize(step.inputs.size());
      for (size_t k = 0; k < step.inputs.size(); ++k) {
        const TileOperand &operand = unit.operands[i][k];
        switch (operand.kind) {
        case TileOperand::Absent:
          ins[i].push_back(nullptr);
          break;
        case TileOperand::Whole:
          ins[i].push_back(&tensors[step.inputs[k]]);
          break;
        case TileOperand::Rows: {
          const Tensor &whole = tensors[step.inputs[k]];
          views[i][k] = Tensor{whole.dtype, tileDims(whole.shape, rowDims, unit.rowsPerTile),
                               nullptr};
          ins[i].push_back(&views[i][k]);
          break;
        }
        case TileOperand::Local:
          ins[i].push_back(&locals[operand.local]);
          break;
        }
      }
      for (size_t k = 0; k < step.outputs.size(); ++k) {
        const Tensor &whole = tensors[step.outputs[k]];
        Tensor &local = locals[unit.results[i][k].local];
        local = Tensor{whole.dtype, tileDims(whole.shape, rowDims, unit.rowsPerTile), nullptr};
        outs[i].push_back(&local);
      }
    }
    auto setRows = [&](Tensor &t, int64_t rows) { t.shape[(size_t)rowDims - 1] = rows; };
    for (int64_t tile = tileBegin; tile < tileEnd; ++tile) {
      const int64_t row0 = tile * unit.rowsPerTile;
      const int64_t rows = std::min(unit.rowsPerTile, unit.rows - row0);
      // Row row0 of a whole value.
      auto rowsOf = [&](const Tensor &whole) {
        return static_cast<char *>(whole.data) +
               row0 * product(whole.shape, rowDims) * (int64_t)dtypeSize(whole.dtype);
      };
      for (size_t i = 0; i < numSteps; ++i) {
        const Step &step = program.steps[unit.steps[i]];
        for (size_t k = 0; k < step.inputs.size(); ++k)
          if (unit.operands[i][k].kind == TileOperand::Rows) {
            views[i][k].data = rowsOf(tensors[step.inputs[k]]);
            setRows(views[i][k], rows);
          }
        for (size_t k = 0; k < step.outputs.size(); ++k) {
          const TileResult &result = unit.results[i][k];
          Tensor &out = locals[result.local];
          out.data = result.toValue ? rowsOf(tensors[step.outputs[k]])
                                    : scratchBase + result.scratchOffset;
          setRows(out, rows);
        }
        Status status = step.kernel(serial, step.attrs, ins[i], outs[i]);
        if (!status) {
          std::lock_guard<std::mutex> lock(errorMutex);
          if (failure.ok())
            failure = stepError(step.op, status, status.code());
          return;
        }
      }
    }
  });
  return failure;
}

} // namespace dsrt
