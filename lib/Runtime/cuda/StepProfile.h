//===- StepProfile.h - device time per step, on request ---------*- C++ -*-===//
//
// DS_CUDA_PROFILE=steps: every run launches its steps eagerly with an event
// after each, and the session prints, when it ends, the steps that took the
// most device time. DS_CUDA_PROFILE=graph: runs replay the CUDA Graph as usual
// between two events, and the report gives device time per run, which leaves
// out the host <-> device copies of inputs and outputs. Profiling is for
// people reading the report; it changes nothing the session computes.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CUDA_STEPPROFILE_H
#define DS_RUNTIME_CUDA_STEPPROFILE_H

#include "cuda/CudaDriver.h"

#include <string>
#include <vector>

namespace dsrt::cuda {

class StepProfile {
public:
  enum Mode { Off, Steps, Graph };
  /// DS_CUDA_PROFILE's mode (Off when unset, "0" or unknown words).
  static Mode requested();

  StepProfile() = default;
  StepProfile(const StepProfile &) = delete;
  StepProfile &operator=(const StepProfile &) = delete;
  ~StepProfile();

  /// `labels` name the steps (Steps mode) in order. Off without events in the driver.
  void start(const Driver &driver, Mode mode, std::vector<std::string> labels);
  Mode mode() const { return mode_; }

  /// Marks: mark(0) before the first step, mark(i + 1) after step i (Steps);
  /// mark(0) and mark(1) around the graph launch (Graph).
  void mark(size_t index, CUstream stream);
  /// After the stream synchronized: adds this run's times.
  void collect();
  /// Prints the report to stderr and frees the events (while the context lives).
  void finish();
  /// The report, worst steps first; empty when nothing was measured.
  std::string report() const;

private:
  const Driver *cu_ = nullptr;
  Mode mode_ = Off;
  std::vector<std::string> labels_;
  std::vector<CUevent> marks_;
  std::vector<double> totalMs_; ///< per step (Steps) or one entry (Graph)
  std::vector<double> runMs_;   ///< device time of each run
  bool warmedUp_ = false;       ///< the first run is left out
};

} // namespace dsrt::cuda

#endif // DS_RUNTIME_CUDA_STEPPROFILE_H
