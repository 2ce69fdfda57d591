//===- Session.h - executing a program on the CPU ---------------*- C++ -*-===//
#ifndef DS_RUNTIME_CORE_SESSION_H
#define DS_RUNTIME_CORE_SESSION_H

#include "core/Artifact.h"
#include "core/ElementwiseFusion.h"
#include "core/Executor.h"
#include "core/ThreadPool.h"

#include <memory>

namespace dsrt {

class Session : public Executor {
public:
  Session(const Program &program, int numThreads);
  ~Session();
  /// Validates `inputs` against the signature, then runs every step.
  Status run(const ds_tensor *inputs, int32_t numInputs) override;
  const Tensor &output(size_t i) const override { return tensors_[program_.outputs[i]]; }
  size_t numOutputs() const override { return program_.outputs.size(); }
  /// False when the arena could not be allocated.
  bool valid() const { return program_.arenaBytes == 0 || arena_ != nullptr; }
  bool hasRun() const override { return hasRun_; }
  int numThreads() const { return pool_.size(); }

private:
  const Program &program_;
  ThreadPool pool_;
  KernelContext context_;
  void *arena_ = nullptr;
  std::vector<Tensor> tensors_; ///< one per value id
  std::vector<ExecUnit> units_; ///< steps grouped for execution
  bool hasRun_ = false;
};

} // namespace dsrt

#endif // DS_RUNTIME_CORE_SESSION_H
