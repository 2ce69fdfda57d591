//===- CudaPlan.cpp - sizing a dynamic cuda program per input shape -------===//
//
// CudaSession::plan: the size programs of a program with dynamic dims
// evaluated for one input shape, the values placed by the shared arena
// planner, device and pinned buffers grown to fit, grids and GEMM extents
// checked (docs/cuda-backend.md, "Dynamic dims").
//
//===----------------------------------------------------------------------===//
#include "core/ArenaPlan.h"
#include "cuda/CudaSession.h"

#include <algorithm>

namespace dsrt::cuda {

Status CudaSession::grow(CUdeviceptr &p, uint64_t &capacity, uint64_t bytes, const char *what) {
  if (bytes <= capacity)
    return Status();
  if (p)
    cu_.cuMemFree(p);
  p = 0;
  capacity = 0;
  Status s = cu_.check(cu_.cuMemAlloc(&p, bytes),
                       std::string("allocating ") + std::to_string(bytes) + " bytes of " + what);
  if (s)
    capacity = bytes;
  return s;
}

Status CudaSession::growHost(void *&p, uint64_t &capacity, uint64_t bytes, const char *what) {
  if (bytes <= capacity)
    return Status();
  if (p)
    cu_.cuMemFreeHost(p);
  p = nullptr;
  capacity = 0;
  Status s = cu_.check(cu_.cuMemHostAlloc(&p, bytes, 0), what);
  if (s)
    capacity = bytes;
  return s;
}

/// Sizes a dynamic program for the dim symbols' sizes `symbols`: every
/// value's dims and bytes, arena offsets (cuda.alias results share their
/// input's bytes), buffers grown to fit, grids and GEMM extents evaluated.
Status CudaSession::plan(const std::vector<int64_t> &symbols) {
  if (planned_ && symbols == symbols_)
    return Status();
  Status s = cu_.check(cu_.cuStreamSynchronize(stream_), "waiting for the previous run");
  if (!s)
    return s;
  planned_ = false;
  auto tooLarge = [&](const std::string &what) {
    return Status::error("the input shapes make " + what + " too large or negative",
                         DS_INVALID_ARGUMENT);
  };
  // 1. Dims and bytes.
  values_ = program_.values;
  for (uint32_t id : program_.inputs) {
    ValueInfo &v = values_[id];
    for (size_t d = 0; d < v.dims.size(); ++d)
      if (v.symbols[d] >= 0) // the loader keeps each dynamic dim's symbol here
        v.dims[d] = symbols[(size_t)v.symbols[d]];
  }
  for (size_t i = 0; i < program_.steps.size(); ++i)
    for (const SizeEntry &e : ops_[i].resultDims) {
      int64_t size = 0;
      if (!evalSize(e.program, symbols, size))
        return tooLarge("a dim of step " + std::to_string(i));
      values_[program_.steps[i].outputs[(size_t)e.key[0]]].dims[(size_t)e.key[1]] = size;
    }
  for (ValueInfo &v : values_) {
    if (v.storage == DSX_STORAGE_CONSTANT)
      continue;
    uint64_t elements = 1;
    for (int64_t d : v.dims)
      if (d < 0 || __builtin_mul_overflow(elements, (uint64_t)d, &elements))
        return tooLarge("value '" + v.name + "'");
    if (__builtin_mul_overflow(elements, (uint64_t)dtypeSize(v.dtype), &v.bytes) ||
        v.bytes > ((uint64_t)1 << 44))
      return tooLarge("value '" + v.name + "'");
  }
  // 2. Arena offsets: a cuda.alias result takes its input's bytes (the
  // writer does the same for static programs).
  const size_t n = program_.values.size(), steps = program_.steps.size();
  std::vector<int64_t> root(n, -1), def(n, -1);
  for (size_t id = 0; id < n; ++id)
    if (program_.values[id].storage == DSX_STORAGE_ARENA)
      root[id] = (int64_t)id;
  std::vector<StepSpan> spans(steps);
  for (size_t i = 0; i < steps; ++i) {
    const Step &step = program_.steps[i];
    spans[i] = {(int64_t)i, (int64_t)i};
    for (uint32_t out : step.outputs)
      def[out] = (int64_t)i;
    // Only a view of the same size shares bytes (a crafted artifact could
    // pair values of different sizes; the copy path handles those).
    if (step.op == "cuda.alias" && root[step.inputs[0]] >= 0 && root[step.outputs[0]] >= 0 &&
        values_[step.inputs[0]].bytes == values_[step.outputs[0]].bytes)
      root[step.outputs[0]] = root[step.inputs[0]];
  }
  std::vector<BufferLifetime> lives(n);
  std::vector<char> used(n, 0);
  for (size_t id = 0; id < n; ++id)
    if (root[id] == (int64_t)id) {
      lives[id] = {def[id], def[id], values_[id].bytes};
      used[id] = 1;
    }
  for (size_t id = 0; id < n; ++id) // an alias chain's bytes: its largest view
    if (root[id] >= 0)
      lives[(size_t)root[id]].bytes = std::max(lives[(size_t)root[id]].bytes, values_[id].bytes);
  auto use = [&](uint32_t id, int64_t at) {
    if (id != DSX_ABSENT && root[id] >= 0)
      extendLifetime(lives[(size_t)root[id]], def[(size_t)root[id]], at, spans);
  };
  for (size_t i = 0; i < steps; ++i) {
    for (uint32_t id : program_.steps[i].inputs)
      use(id, (int64_t)i);
    for (uint32_t id : program_.steps[i].outputs) // an alias keeps its root alive
      use(id, (int64_t)i);
  }
  for (uint32_t id : program_.outputs)
    use(id, (int64_t)steps);
  std::vector<BufferLifetime> buffers;
  std::vector<size_t> owner;
  for (size_t id = 0; id < n; ++id)
    if (used[id]) {
      buffers.push_back(lives[id]);
      owner.push_back(id);
    }
  uint64_t arenaBytes = 0;
  std::vector<uint64_t> offsets = planArena(buffers, kAlign, arenaBytes);
  const uint64_t limit = (uint64_t)1 << 48; // as the writer bounds a static arena
  if (arenaBytes > limit)
    return tooLarge("the arena");
  for (size_t b = 0; b < owner.size(); ++b)
    values_[owner[b]].offset = offsets[b];
  for (size_t id = 0; id < n; ++id)
    if (root[id] >= 0)
      values_[id].offset = values_[(size_t)root[id]].offset;

  // 3. Buffers, grown to the largest shape seen.
  uint64_t inputBytes = 0, outputBytes = 0;
  inputOffsets_.clear();
  outputOffsets_.clear();
  // Each value is at most 2^44 bytes (above), so these sums cannot wrap.
  for (uint32_t id : program_.inputs) {
    inputOffsets_.push_back(inputBytes);
    inputBytes += alignUp(values_[id].bytes);
  }
  for (uint32_t id : program_.outputs) {
    outputOffsets_.push_back(outputBytes);
    outputBytes += alignUp(values_[id].bytes);
  }
  if (inputBytes > limit || outputBytes > limit)
    return tooLarge("the inputs or outputs");
  s = grow(arena_, arenaCapacity_, alignUp(arenaBytes), "arena");
  if (s)
    s = grow(inputs_, inputCapacity_, inputBytes, "inputs");
  if (s)
    s = growHost(hostIn_, hostInCapacity_, inputBytes, "pinned input staging");
  if (s)
    s = growHost(hostOut_, hostOutCapacity_, outputBytes, "pinned output staging");
  if (!s)
    return s;
  for (size_t id = 0; id < n; ++id)
    if (root[id] >= 0)
      pointers_[id] = arena_ + values_[id].offset;
  for (size_t i = 0; i < program_.inputs.size(); ++i)
    pointers_[program_.inputs[i]] = inputs_ + inputOffsets_[i];
  ownPointers_ = pointers_;
  bindOutputTensors();

  // 4. Grids and GEMM extents.
  for (size_t i = 0; i < steps; ++i) {
    Op &op = ops_[i];
    const Step &step = program_.steps[i];
    // Nothing to compute when every result is empty (a reduction over an
    // empty row still writes its identity to a non-empty reduced result).
    op.empty = !step.outputs.empty();
    for (uint32_t id : step.outputs)
      op.empty = op.empty && values_[id].bytes == 0;
    if (op.kind == Op::Launch && !op.launch.dynamicGrid.empty()) {
      int64_t grid[3] = {op.launch.grid[0], op.launch.grid[1], op.launch.grid[2]};
      for (const SizeEntry &e : op.launch.dynamicGrid)
        if (!evalSize(e.program, symbols, grid[e.key[0]]))
          return tooLarge("the grid of step " + std::to_string(i));
      op.empty = op.empty || grid[0] == 0 || grid[1] == 0 || grid[2] == 0;
      if (!op.empty && !gridWithinLimits(grid))
        return tooLarge("the grid of kernel '" + op.launch.kernel + "'");
      for (int d = 0; d < 3; ++d)
        op.launch.grid[d] = (uint32_t)std::max<int64_t>(grid[d], 1);
    } else if (op.kind == Op::Gemm) {
      // Every GEMM of a dynamic program is checked against this plan's
      // operand sizes (the loader could not: they vary per shape).
      CudaGemm &g = op.gemmSpec;
      int64_t *fields[DSX_GEMM_FIELD_COUNT] = {&g.m,       &g.n,       &g.k,      &g.batch,
                                               &g.strideA, &g.strideB, &g.strideD};
      for (const SizeEntry &e : g.dynamicFields)
        if (!evalSize(e.program, symbols, *fields[e.key[0]]) || *fields[e.key[0]] > INT32_MAX)
          return tooLarge("the GEMM of step " + std::to_string(i));
      if (!op.empty && g.k == 0)
        return Status::error("step " + std::to_string(i) + " (cuda.gemm): an empty contraction "
                             "dim (k = 0) is not supported by the CUDA backend",
                             DS_UNSUPPORTED);
      op.empty = op.empty || g.m == 0 || g.n == 0 || g.batch == 0;
      if (!op.empty) {
        s = checkGemmOperands(step, g, values_);
        if (!s)
          return s;
      }
    }
  }
  symbols_ = symbols;
  sameShapeRuns_ = 0;
  if (graph_)
    cu_.cuGraphExecDestroy(graph_);
  graph_ = nullptr;
  graphTried_ = false;
  s = bindOperands();
  planned_ = s.ok();
  return s;
}

} // namespace dsrt::cuda
