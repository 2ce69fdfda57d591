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

Status Session::create(const Program &program, int numThreads, std::unique_ptr<Session> &out) {
  std::unique_ptr<Session> session(new Session(program));
  Status s = session->init(numThreads);
  if (!s)
    return s;
  out = std::move(session);
  return Status();
}

Status Session::init(int numThreads) {
  Status started = pool_.start(numThreads);
  if (!started)
    return started;
  context_.numThreads = pool_.size();
  context_.parallelFor = [this](int64_t n, int64_t grain,
                                const std::function<void(int64_t, int64_t)> &body) {
    pool_.parallelFor(n, grain, body);
  };
  size_t bytes = align64(program_.arenaBytes);
  arena_ = bytes ? std::aligned_alloc(64, bytes) : nullptr;
  if (bytes && !arena_)
    return Status::error("cannot allocate the " + std::to_string(program_.arenaBytes) +
                         "-byte activation arena");
  units_ = planExecution(program_);
  tensors_.resize(program_.values.size());
  for (size_t id = 0; id < program_.values.size(); ++id) {
    const ValueInfo &v = program_.values[id];
    Tensor &t = tensors_[id];
    t.dtype = v.dtype;
    t.shape = v.dims;
    if (v.storage == DSX_STORAGE_CONSTANT)
      t.data = const_cast<unsigned char *>(program_.constantData(v)); // kernels only read it
    else if (v.storage == DSX_STORAGE_ARENA)
      t.data = static_cast<char *>(arena_) + v.offset;
  }
  uint64_t copyBytes = 0;
  for (uint32_t id : program_.outputs)
    if (program_.values[id].storage != DSX_STORAGE_ARENA)
      copyBytes += align64(program_.values[id].bytes);
  copies_ = copyBytes ? std::aligned_alloc(64, copyBytes) : nullptr;
  if (copyBytes && !copies_)
    return Status::error("cannot allocate " + std::to_string(copyBytes) +
                         " bytes for the outputs that are constants or inputs");
  uint64_t offset = 0;
  for (uint32_t id : program_.outputs) {
    outputs_.push_back(tensors_[id]);
    if (program_.values[id].storage != DSX_STORAGE_ARENA) {
      outputs_.back().data = static_cast<char *>(copies_) + offset;
      offset += align64(program_.values[id].bytes);
    }
  }
  return Status();
}

Session::~Session() {
  std::free(arena_);
  std::free(copies_);
}

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
  // Refreshed every run: the caller may have written into the last copies.
  for (size_t i = 0; i < outputs_.size(); ++i) {
    const Tensor &source = tensors_[program_.outputs[i]];
    if (outputs_[i].data != source.data && program_.values[program_.outputs[i]].bytes)
      std::memcpy(outputs_[i].data, source.data, program_.values[program_.outputs[i]].bytes);
  }
  hasRun_ = true;
  return Status();
}

} // namespace dsrt
