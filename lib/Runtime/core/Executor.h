//===- Executor.h - the interface every backend's session implements -*- C++ -*-===//
//
// The C API holds one Executor per session: the CPU Session (core/Session.h)
// or the CUDA session (cuda/CudaSession.h), chosen by the artifact's target.
// An executor is not thread-safe (one arena, one set of output buffers): the
// C API's session holds a mutex around every call, so executors never see two
// callers at once. The program must outlive the executor (the C API's session
// holds a reference to it).
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CORE_EXECUTOR_H
#define DS_RUNTIME_CORE_EXECUTOR_H

#include "core/Artifact.h"

#include <memory>

namespace dsrt {

class Executor {
public:
  virtual ~Executor() = default;
  /// Validates `inputs` against the signature, then runs every step.
  virtual Status run(const ds_tensor *inputs, int32_t numInputs) = 0;
  /// Writable host memory owned by the executor (never the read-only
  /// artifact or a caller's input), valid until the next run.
  virtual const Tensor &output(size_t i) const = 0;
  virtual size_t numOutputs() const = 0;
  virtual bool hasRun() const = 0;
  /// Inputs and outputs in device memory, ordered on the caller's stream
  /// (ds_session_run_device); only the CUDA backend has device memory.
  virtual Status runDevice(const ds_tensor *, int32_t, const ds_tensor *, int32_t, void *) {
    return Status::error("device-resident runs need a session of an artifact compiled with "
                         "--target=cuda",
                         DS_UNSUPPORTED);
  }
};

/// "[2x3x4]", for diagnostics.
std::string formatDims(const int64_t *dims, int64_t rank);

/// Checks count, dtype, rank, dims, byte size and data of the caller's inputs;
/// with `symbolSizes`, also returns the size each dim symbol binds (-1 for
/// one no input names).
Status validateInputs(const Program &program, const ds_tensor *inputs, int32_t numInputs,
                      std::vector<int64_t> *symbolSizes = nullptr);

/// The CUDA backend (cuda/CudaSession.cpp); DS_NO_DEVICE without a driver or
/// device, DS_UNSUPPORTED in a runtime built without it.
Status createCudaExecutor(const Program &program, int device, std::unique_ptr<Executor> &out);

} // namespace dsrt

#endif // DS_RUNTIME_CORE_EXECUTOR_H
