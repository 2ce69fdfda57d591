//===- UnitProfile.h - CPU time per op, on request --------------*- C++ -*-===//
//
// DS_CPU_PROFILE=1: a CPU session times every execution unit (one step, or
// a fusion group run in tiles) of every run, and prints, when it ends, the
// ops that took the most time, grouped by op and result shape. For people
// reading the report (which op to make faster, what a pass bought); it
// changes nothing the session computes. The CUDA session's counterpart is
// DS_CUDA_PROFILE (cuda/StepProfile.h).
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CORE_UNITPROFILE_H
#define DS_RUNTIME_CORE_UNITPROFILE_H

#include "core/Artifact.h"
#include "core/FusedExecution.h"
#include "core/Tensor.h"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace dsrt {

class UnitProfile {
public:
  /// A profile when DS_CPU_PROFILE is set to anything but "" or "0".
  static std::unique_ptr<UnitProfile> fromEnvironment();
  ~UnitProfile();

  /// Brackets one run; the first run (warm-up: packing, page faults) is
  /// not counted, nor a run that failed (no endRun before the next begin).
  void beginRun();
  void endRun();
  /// Adds `seconds` for `unit` of `program`, labelled by its ops and the
  /// shape of its last result in `tensors`.
  void record(const Program &program, const ExecUnit &unit, const std::vector<Tensor> &tensors,
              double seconds);
  /// The table printed at the end ("" before a counted run).
  std::string report() const;

private:
  struct Entry {
    double seconds = 0;
    uint64_t calls = 0;
  };
  std::map<std::string, Entry> entries_;
  std::vector<std::pair<std::string, double>> pending_; ///< the current run's units
  std::vector<double> runSeconds_;
  std::chrono::steady_clock::time_point runStart_;
  int runsSeen_ = 0;
};

} // namespace dsrt

#endif // DS_RUNTIME_CORE_UNITPROFILE_H
