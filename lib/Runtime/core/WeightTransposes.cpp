//===- WeightTransposes.cpp - matmuls that read transposed weights in place ===//
#include "core/WeightTransposes.h"
#include "cpu/Kernels.h"

#include <algorithm>
#include <vector>

namespace dsrt {
namespace {

/// Whether `step` is a 2-D transpose of an f32 constant.
bool transposesConstantMatrix(const Program &program, const Step &step) {
  if (step.op != "ds.transpose" || step.inputs.size() != 1 || step.outputs.size() != 1 ||
      step.inputs[0] == DSX_ABSENT)
    return false;
  const ValueInfo &c = program.values[step.inputs[0]];
  return c.storage == DSX_STORAGE_CONSTANT && c.dtype == DS_F32 && c.dims.size() == 2 &&
         step.attrs.getInts("perm") == std::vector<int64_t>{1, 0};
}

} // namespace

size_t readWeightTransposesInPlace(Program &program) {
  if (program.target != DSX_TARGET_CPU)
    return 0;
  // The steps reading each value.
  std::vector<std::vector<size_t>> readers(program.values.size());
  for (size_t s = 0; s < program.steps.size(); ++s)
    for (uint32_t id : program.steps[s].inputs)
      if (id != DSX_ABSENT && (readers[id].empty() || readers[id].back() != s))
        readers[id].push_back(s);
  size_t rewritten = 0;
  for (Step &transpose : program.steps) {
    if (!transposesConstantMatrix(program, transpose))
      continue;
    const uint32_t constant = transpose.inputs[0], result = transpose.outputs[0];
    const std::vector<size_t> &users = readers[result];
    const bool isOutput = std::find(program.outputs.begin(), program.outputs.end(), result) !=
                          program.outputs.end();
    // Every reader an f32 matmul taking the result as its rhs only.
    bool all = !users.empty() && !isOutput;
    for (size_t s = 0; all && s < users.size(); ++s) {
      const Step &user = program.steps[users[s]];
      all = user.op == "ds.matmul" && user.inputs.size() == 2 && user.inputs[0] != result &&
            user.inputs[1] == result && user.inputs[0] != DSX_ABSENT &&
            program.values[user.inputs[0]].dtype == DS_F32;
    }
    if (!all)
      continue;
    for (size_t s : users) {
      Step &user = program.steps[s];
      user.op = cpu::kTransposedWeightMatmul;
      user.inputs[1] = constant;
      user.cpu = &cpu::transposedWeightMatmul();
      user.kernel = user.cpu->kernel;
      ++rewritten;
    }
    transpose.elided = true;
  }
  return rewritten;
}

} // namespace dsrt
