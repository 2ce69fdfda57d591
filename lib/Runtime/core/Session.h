//===- Session.h - executing a program on the CPU ---------------*- C++ -*-===//
#ifndef DS_RUNTIME_CORE_SESSION_H
#define DS_RUNTIME_CORE_SESSION_H

#include "core/Artifact.h"
#include "core/FusedExecution.h"
#include "core/ShapePlan.h"
#include "core/Executor.h"
#include "core/ThreadPool.h"
#include "core/UnitProfile.h"
#include "cpu/PackedConstants.h"

#include <cstdint>
#include <map>
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
  /// The constants packed when the session started (what each kernel finds
  /// on every run).
  const cpu::PackedConstants &packedConstants() const { return packed_; }
  /// Where the kernels read constant `id` (for tests).
  const unsigned char *constantBytes(uint32_t id) const { return constants_[id]; }

private:
  explicit Session(const Program &program) : program_(program) {}
  Status init(int numThreads);
  /// Runs `units` over `tensors` (one per value id).
  Status execute(const std::vector<ExecUnit> &units, std::vector<Tensor> &tensors);
  /// One run, after validation.
  Status runProgram(const ds_tensor *inputs, int32_t numInputs);
  /// A dynamic program: the cached plan for the inputs' shapes, else step by step.
  Status runDynamic(const ds_tensor *inputs, int32_t numInputs);
  Status runPlanned(ShapePlan &plan, const ds_tensor *inputs, int32_t numInputs);
  Status runStepByStep(const ds_tensor *inputs, int32_t numInputs);
  /// Points output(i) at the run's results, copying those that are not
  /// arena values (inputs, constants, values `plan` precomputed) into
  /// session memory.
  void collectOutputs(const std::vector<Tensor> &tensors, const std::vector<ValueInfo> &values,
                      const ShapePlan *plan);
  /// Grows the arena to `bytes`; kept at its largest size.
  Status reserveArena(uint64_t bytes);
  /// Where each constant's bytes are for the kernels (constants_).
  Status placeConstants();
  /// Packs the constant f32 weight matrices of the program's matmuls.
  Status packWeights();

  const Program &program_;
  ThreadPool pool_;
  KernelContext context_;
  cpu::PackedConstants packed_;
  /// Per value id, a constant's bytes as kernels read them: the artifact's,
  /// or for codes it stores packed (DSX_VALUE_PACKED_CODES) the program's
  /// unpacked copy, except packed 4-bit weights only the weight-only matmul
  /// reads (the key of their packed form in packed_, never read as bytes).
  std::vector<const unsigned char *> constants_;
  /// Per value id: read other than as the weight of a weight-only matmul
  /// (by another step, or as a graph output).
  std::vector<uint8_t> readElsewhere_;
  void *arena_ = nullptr;
  std::vector<Tensor> tensors_; ///< one per value id
  std::vector<ExecUnit> units_; ///< steps grouped for execution
  /// What output(i) hands out: arena values in place; constants and inputs
  /// copied after each run into `copies_`, so that every output is writable
  /// memory of the session (constants live in the read-only mapping).
  std::vector<Tensor> outputs_;
  void *copies_ = nullptr;
  bool hasRun_ = false;
  std::unique_ptr<UnitProfile> profile_; ///< DS_CPU_PROFILE only
  // Dynamic programs only.
  uint64_t arenaCapacity_ = 0;
  ShapeAnalysis shapes_;
  std::map<std::vector<int64_t>, std::unique_ptr<ShapePlan>> plans_; ///< by shape signature
  std::vector<std::vector<uint64_t>> stepStorage_; ///< per value, when run step by step
  std::vector<uint64_t> outputCopies_;
};

} // namespace dsrt

#endif // DS_RUNTIME_CORE_SESSION_H
