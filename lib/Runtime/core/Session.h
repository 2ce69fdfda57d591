//===- Session.h - executing a program on the CPU ---------------*- C++ -*-===//
#ifndef DS_RUNTIME_CORE_SESSION_H
#define DS_RUNTIME_CORE_SESSION_H

#include "core/Artifact.h"
#include "core/ElementwiseFusion.h"
#include "core/Executor.h"
#include "core/ThreadPool.h"

#include <cstdint>
#include <memory>

namespace dsrt {

/// `bytes` rounded up to a multiple of 64: every buffer the runtime lays out
/// in a block (arena, output copies) starts on a cache line.
inline uint64_t align64(uint64_t bytes) { return (bytes + 63) / 64 * 64; }

/// Not thread-safe: the C API serializes the calls on one session.
class Session : public Executor {
public:
  /// Starts `numThreads - 1` workers and allocates the arena; an error (never
  /// an exception) when either fails. `program` must outlive the session.
  static Status create(const Program &program, int numThreads, std::unique_ptr<Session> &out);
  ~Session();
  /// Validates `inputs` against the signature, then runs every step.
  Status run(const ds_tensor *inputs, int32_t numInputs) override;
  const Tensor &output(size_t i) const override { return outputs_[i]; }
  size_t numOutputs() const override { return program_.outputs.size(); }
  bool hasRun() const override { return hasRun_; }
  int numThreads() const { return pool_.size(); }

private:
  explicit Session(const Program &program) : program_(program) {}
  Status init(int numThreads);

  const Program &program_;
  ThreadPool pool_;
  KernelContext context_;
  void *arena_ = nullptr;
  std::vector<Tensor> tensors_; ///< one per value id
  std::vector<ExecUnit> units_; ///< steps grouped for execution
  /// What output(i) hands out: arena values in place; constants and inputs
  /// copied after each run into `copies_`, so that every output is writable
  /// memory of the session (constants live in the read-only mapping).
  std::vector<Tensor> outputs_;
  void *copies_ = nullptr;
  bool hasRun_ = false;
};

} // namespace dsrt

#endif // DS_RUNTIME_CORE_SESSION_H
