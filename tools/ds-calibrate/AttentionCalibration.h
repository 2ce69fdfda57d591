//===- AttentionCalibration.h - ds-calibrate --attention-window -*- C++ -*-===//
#ifndef DS_TOOLS_DS_CALIBRATE_ATTENTIONCALIBRATION_H
#define DS_TOOLS_DS_CALIBRATE_ATTENTIONCALIBRATION_H

#include <string>
#include <vector>

namespace ds_calibrate {

struct AttentionOptions {
  std::string model, data, table;
  /// The pattern measured: `window` keys ending at each query's diagonal and
  /// the first `sinks` keys.
  long window = 0, sinks = 0;
  /// A head stays dense when the pattern keeps less than this share of its
  /// attention.
  double keep = 0.9;
  int threads = 0;
  long maxSamples = -1;
  std::vector<std::string> compileArgs;
};

/// Compiles the model with attention probes (ds-compile --attention-probes
/// --attention-window --attention-sinks), runs every sample, and writes per
/// attention and query head the share of its probability mass the pattern
/// keeps, marking the heads under `keep` dense; prints the
/// --attention-dense-heads flag that keeps them dense. The exit status.
int calibrateAttentionHeads(const AttentionOptions &opts);

} // namespace ds_calibrate

#endif // DS_TOOLS_DS_CALIBRATE_ATTENTIONCALIBRATION_H
