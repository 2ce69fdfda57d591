//===- Session.cpp - executing a program on the CPU -----------------------===//
#include "core/Session.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

namespace dsrt {
namespace {
std::string formatDims(const int64_t *dims, int64_t rank) {
  std::ostringstream os;
  os << "[";
  for (int64_t i = 0; i < rank; ++i)
    os << (i ? "x" : "") << dims[i];
  os << "]";
  return os.str();
}

/// The dtype a caller stored, read as the integer it is: a C caller may store
/// any value there, and loading an out-of-range enum is undefined in C++.
int32_t rawDType(const ds_tensor &t) {
  static_assert(sizeof(t.dtype) == sizeof(int32_t), "ds_dtype is an int");
  int32_t value;
  std::memcpy(&value, &t.dtype, sizeof value);
  return value;
}

std::string dtypeText(int32_t dtype) {
  if (dtype >= DS_F32 && dtype <= DS_U2)
    return ds_dtype_name((ds_dtype)dtype);
  return "unknown (" + std::to_string(dtype) + ")";
}
} // namespace

Status validateInputs(const Program &program, const ds_tensor *inputs, int32_t numInputs) {
  const auto &expected = program.inputs;
  if (numInputs != (int32_t)expected.size())
    return Status::error("the model takes " + std::to_string(expected.size()) + " inputs, got " +
                             std::to_string(numInputs),
                         DS_INVALID_ARGUMENT);
  if (numInputs > 0 && !inputs)
    return Status::error("inputs is null", DS_INVALID_ARGUMENT);
  for (int32_t i = 0; i < numInputs; ++i) {
    const ValueInfo &v = program.values[expected[i]];
    const ds_tensor &in = inputs[i];
    // Built only for a diagnostic: validation runs on every call.
    auto where = [&] { return "input " + std::to_string(i) + " ('" + v.name + "')"; };
    if (rawDType(in) != (int32_t)v.dtype)
      return Status::error(where() + " has dtype " + dtypeText(rawDType(in)) + ", expected " +
                               ds_dtype_name(v.dtype),
                           DS_INVALID_ARGUMENT);
    if (in.rank != (int32_t)v.dims.size() || (in.rank > 0 && !in.dims))
      return Status::error(where() + " has rank " + std::to_string(in.rank) + ", expected " +
                               std::to_string(v.dims.size()),
                           DS_INVALID_ARGUMENT);
    for (int32_t d = 0; d < in.rank; ++d)
      if (in.dims[d] != v.dims[d])
        return Status::error(where() + " has dims " + formatDims(in.dims, in.rank) +
                                 ", expected " + formatDims(v.dims.data(), v.dims.size()),
                             DS_INVALID_ARGUMENT);
    if (in.byte_size != v.bytes)
      return Status::error(where() + " holds " + std::to_string(in.byte_size) + " bytes, expected " +
                               std::to_string(v.bytes),
                           DS_INVALID_ARGUMENT);
    if (!in.data && v.bytes)
      return Status::error(where() + " has no data", DS_INVALID_ARGUMENT);
  }
  return Status();
}

Session::Session(const Program &program, int numThreads)
    : program_(program), pool_(numThreads) {
  context_.numThreads = pool_.size();
  context_.parallelFor = [this](int64_t n, int64_t grain,
                                const std::function<void(int64_t, int64_t)> &body) {
    pool_.parallelFor(n, grain, body);
  };
  size_t bytes = ((size_t)program.arenaBytes + 63) / 64 * 64;
  arena_ = bytes ? std::aligned_alloc(64, bytes) : nullptr;
  units_ = planExecution(program);
  tensors_.resize(program.values.size());
  for (size_t id = 0; id < program.values.size(); ++id) {
    const ValueInfo &v = program.values[id];
    Tensor &t = tensors_[id];
    t.dtype = v.dtype;
    t.shape = v.dims;
    if (v.storage == DSX_STORAGE_CONSTANT)
      t.data = const_cast<unsigned char *>(program.constantData(v));
    else if (v.storage == DSX_STORAGE_ARENA)
      t.data = static_cast<char *>(arena_) + v.offset;
  }
}

Session::~Session() { std::free(arena_); }

Status Session::run(const ds_tensor *inputs, int32_t numInputs) {
  if (program_.target != DSX_TARGET_CPU)
    return Status::error("the CPU backend cannot run an artifact compiled for another target "
                         "(recompile with --target=cpu)",
                         DS_UNSUPPORTED);
  Status valid = validateInputs(program_, inputs, numInputs);
  if (!valid)
    return valid;
  for (int32_t i = 0; i < numInputs; ++i)
    tensors_[program_.inputs[i]].data = inputs[i].data;
  hasRun_ = false;
  std::vector<const Tensor *> ins;
  std::vector<Tensor *> outs;
  for (const ExecUnit &unit : units_) {
    if (unit.steps.size() > 1) {
      Status s = runFusedChain(program_, unit, tensors_, pool_);
      if (!s)
        return s;
      continue;
    }
    const Step &step = program_.steps[unit.steps[0]];
    ins.clear();
    outs.clear();
    for (uint32_t id : step.inputs)
      ins.push_back(id == DSX_ABSENT ? nullptr : &tensors_[id]);
    for (uint32_t id : step.outputs)
      outs.push_back(&tensors_[id]);
    Status s = step.kernel(context_, step.attrs, ins, outs);
    if (!s)
      return Status::error(step.op + ": " + s.message(),
                           s.code() == DS_OK ? DS_RUNTIME_ERROR : s.code());
  }
  hasRun_ = true;
  return Status();
}

} // namespace dsrt
