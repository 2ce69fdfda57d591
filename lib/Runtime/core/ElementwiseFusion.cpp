//===- ElementwiseFusion.cpp - running elementwise chains in tiles --------===//
#include "core/ElementwiseFusion.h"

#include <algorithm>
#include <mutex>

namespace dsrt {
namespace {
/// Elements per tile: a few tiles of intermediates fit in L2 together.
constexpr int64_t kTileElements = 8192;
/// Smaller results run unfused: tiling would only add overhead.
constexpr int64_t kMinFusedElements = 4096;

bool isElementwise(const Step &step) { return step.opClass == DSX_OP_ELEMENTWISE; }

int64_t product(const std::vector<int64_t> &dims, size_t from = 0) {
  int64_t n = 1;
  for (size_t i = from; i < dims.size(); ++i)
    n *= dims[i];
  return n;
}

/// How many trailing dims of `result` an operand spans, or -1 when it
/// broadcasts in another way than along leading dims.
int suffixRank(const std::vector<int64_t> &operand, const std::vector<int64_t> &result) {
  size_t first = 0;
  while (first < operand.size() && operand[first] == 1)
    ++first;
  size_t span = operand.size() - first;
  if (span > result.size())
    return -1;
  for (size_t i = 0; i < span; ++i)
    if (operand[first + i] != result[result.size() - span + i])
      return -1;
  return (int)span;
}
/// True when the chain's result shares arena bytes with an operand the chain
/// reads from outside. The memory plan may place them together (the operand's
/// life ends at its step), but a fused chain writes its result tile by tile
/// while later tiles still read the operand. Reading and writing the very same
/// elements (same offset, shape and type) is safe: each tile reads its own
/// elements before it writes them.
bool outputOverlapsOperand(const Program &program, const std::vector<ValueInfo> &values,
                           const ExecUnit &unit) {
  const ValueInfo &out = values[program.steps[unit.steps.back()].outputs[0]];
  for (size_t s = 0; s < unit.steps.size(); ++s) {
    const Step &step = program.steps[unit.steps[s]];
    for (uint32_t id : step.inputs) {
      bool internal = s > 0 && id == program.steps[unit.steps[s - 1]].outputs[0];
      if (internal || id == DSX_ABSENT)
        continue;
      const ValueInfo &in = values[id];
      if (in.storage != DSX_STORAGE_ARENA || in.offset >= out.offset + out.bytes ||
          out.offset >= in.offset + in.bytes)
        continue;
      if (in.offset != out.offset || in.dims != out.dims || in.dtype != out.dtype)
        return true;
    }
  }
  return false;
}
} // namespace

std::vector<ExecUnit> planExecution(const Program &program, const std::vector<ValueInfo> &values,
                                   const std::vector<uint8_t> *skip) {
  const size_t numValues = values.size();
  std::vector<int> uses(numValues, 0);
  for (const Step &step : program.steps)
    for (uint32_t id : step.inputs)
      if (id != DSX_ABSENT)
        ++uses[id];
  for (uint32_t id : program.outputs)
    uses[id] += 2; // graph outputs are never fused away

  std::vector<ExecUnit> units;
  size_t i = 0;
  auto skipped = [&](size_t step) { return skip && (*skip)[step]; };
  while (i < program.steps.size()) {
    if (skipped(i)) {
      ++i;
      continue;
    }
    ExecUnit unit;
    unit.steps.push_back(i);
    const Step &first = program.steps[i];
    if (isElementwise(first) && first.outputs.size() == 1) {
      const std::vector<int64_t> &shape = values[first.outputs[0]].dims;
      uint32_t last = first.outputs[0];
      size_t j = i + 1;
      while (j < program.steps.size() && uses[last] == 1) {
        const Step &next = program.steps[j];
        if (skipped(j) || !isElementwise(next) || next.outputs.size() != 1 ||
            values[next.outputs[0]].dims != shape ||
            std::find(next.inputs.begin(), next.inputs.end(), last) == next.inputs.end())
          break;
        unit.steps.push_back(j);
        last = next.outputs[0];
        ++j;
      }
      // Operands from outside the chain decide how many trailing dims a tile keeps.
      int inner = 0;
      size_t blocker = unit.steps.size(); // first step with an unfusible broadcast
      for (size_t s = 0; blocker == unit.steps.size() && s < unit.steps.size(); ++s) {
        const Step &step = program.steps[unit.steps[s]];
        for (uint32_t id : step.inputs) {
          bool internal = s > 0 && id == program.steps[unit.steps[s - 1]].outputs[0];
          if (internal || id == DSX_ABSENT)
            continue;
          const std::vector<int64_t> &dims = values[id].dims;
          if (dims == shape)
            continue;
          int rank = suffixRank(dims, shape);
          if (rank < 0)
            blocker = s;
          inner = std::max(inner, rank);
        }
      }
      // A chain through the blocking step cannot fuse: end the chain before it
      // (the blocking step then starts the next one, alone).
      if (blocker < unit.steps.size()) {
        unit.steps.resize(std::max<size_t>(1, blocker));
        j = i + unit.steps.size();
      }
      if (unit.steps.size() > 1 && product(shape) >= kMinFusedElements &&
          !outputOverlapsOperand(program, values, unit)) {
        unit.inner.assign(shape.end() - inner, shape.end());
        int64_t innerSize = product(unit.inner);
        unit.rows = product(shape) / std::max<int64_t>(1, innerSize);
        unit.rowsPerTile = std::max<int64_t>(1, kTileElements / std::max<int64_t>(1, innerSize));
        units.push_back(std::move(unit));
        i = j;
        continue;
      }
      // Too small to fuse: run the chain's steps one by one and go on after
      // it, which keeps planning linear on long chains.
      for (; i < j; ++i)
        units.push_back(ExecUnit{{i}});
      continue;
    }
    units.push_back(std::move(unit));
    ++i;
  }
  return units;
}

Status runFusedChain(const Program &program, const ExecUnit &unit, std::vector<Tensor> &tensors,
                     ThreadPool &pool) {
  const Tensor &chainResult = tensors[program.steps[unit.steps.back()].outputs[0]];
  KernelContext serial;
  serial.numThreads = 1;
  serial.parallelFor = [](int64_t n, int64_t, const std::function<void(int64_t, int64_t)> &body) {
    if (n > 0)
      body(0, n);
  };
  int64_t innerSize = product(unit.inner);
  int64_t tiles = (unit.rows + unit.rowsPerTile - 1) / unit.rowsPerTile;
  std::mutex errorMutex;
  Status failure;
  pool.parallelFor(tiles, 1, [&](int64_t tileBegin, int64_t tileEnd) {
    // One slot of tile scratch per step, carved from a per-thread buffer that
    // grows once and is reused by every later run.
    thread_local std::vector<unsigned char> scratch;
    const size_t slot = (size_t)(unit.rowsPerTile * innerSize) * 8; // widest dtype
    if (scratch.size() < slot * unit.steps.size())
      scratch.resize(slot * unit.steps.size());
    std::vector<Tensor> tileValues(unit.steps.size());
    std::vector<Tensor> views;
    std::vector<const Tensor *> ins;
    std::vector<Tensor *> outs;
    for (int64_t tile = tileBegin; tile < tileEnd; ++tile) {
      int64_t row0 = tile * unit.rowsPerTile;
      int64_t rows = std::min(unit.rowsPerTile, unit.rows - row0);
      std::vector<int64_t> tileShape{rows};
      tileShape.insert(tileShape.end(), unit.inner.begin(), unit.inner.end());
      for (size_t s = 0; s < unit.steps.size(); ++s) {
        const Step &step = program.steps[unit.steps[s]];
        // Views of whole-shape operands cover this tile's rows; broadcast
        // operands are passed whole and broadcast by the kernel.
        views.assign(step.inputs.size(), Tensor());
        ins.clear();
        for (size_t k = 0; k < step.inputs.size(); ++k) {
          uint32_t id = step.inputs[k];
          if (id == DSX_ABSENT) {
            ins.push_back(nullptr);
          } else if (s > 0 && id == program.steps[unit.steps[s - 1]].outputs[0]) {
            ins.push_back(&tileValues[s - 1]);
          } else if (tensors[id].shape == chainResult.shape) {
            const Tensor &whole = tensors[id];
            views[k] = Tensor{whole.dtype, tileShape,
                              static_cast<char *>(whole.data) +
                                  row0 * innerSize * dtypeSize(whole.dtype)};
            ins.push_back(&views[k]);
          } else {
            // Drop leading unit dims so that the operand's rank fits the tile's.
            const Tensor &whole = tensors[id];
            auto firstDim = std::find_if(whole.shape.begin(), whole.shape.end(),
                                         [](int64_t d) { return d != 1; });
            views[k] = Tensor{whole.dtype, std::vector<int64_t>(firstDim, whole.shape.end()),
                              whole.data};
            ins.push_back(&views[k]);
          }
        }
        Tensor &result = tensors[step.outputs[0]];
        Tensor &out = tileValues[s];
        out.dtype = result.dtype;
        out.shape = tileShape;
        if (s + 1 == unit.steps.size()) {
          out.data = static_cast<char *>(result.data) + row0 * innerSize * dtypeSize(result.dtype);
        } else {
          out.data = scratch.data() + s * slot;
        }
        outs.assign(1, &out);
        Status status = step.kernel(serial, step.attrs, ins, outs);
        if (!status) {
          std::lock_guard<std::mutex> lock(errorMutex);
          if (failure.ok())
            failure = Status::error(step.op + ": " + status.message(), status.code());
          return;
        }
      }
    }
  });
  return failure;
}

} // namespace dsrt
