//===- AttentionCalibration.h - ds-calibrate --attention-window -*- C++ -*-===//
#ifndef DS_TOOLS_DS_CALIBRATE_ATTENTIONCALIBRATION_H
#define DS_TOOLS_DS_CALIBRATE_ATTENTIONCALIBRATION_H

#include <string>
#include <vector>

namespace ds_calibrate {

/// The sparse pattern measured, named by the ds-compile flags that give it:
/// `window` keys ending at each query's diagonal and the first `sinks` keys,
/// or a block layout (--attention-local-blocks / -stride-blocks /
/// -global-blocks, blocks of `blockSize`).
struct AttentionPattern {
  long window = 0, sinks = 0;
  long blockSize = 64, localBlocks = 0, strideBlocks = 0, globalBlocks = 0;
  bool layout() const { return localBlocks > 0 || strideBlocks > 0 || globalBlocks > 0; }
  /// The ds-compile flags of the pattern.
  std::vector<std::string> flags() const;
  /// The pattern in words, for the table's header and the summary line.
  std::string describe() const;
};

struct AttentionOptions {
  std::string model, data, table;
  AttentionPattern pattern;
  /// A head stays dense when the pattern keeps less than this share of its
  /// attention.
  double keep = 0.9;
  int threads = 0;
  long maxSamples = -1;
  std::vector<std::string> compileArgs;
};

/// Compiles the model with attention probes (ds-compile --attention-probes
/// and the pattern's flags), runs every sample, and writes per
/// attention and query head the share of its probability mass the pattern
/// keeps, marking the heads under `keep` dense; prints the
/// --attention-dense-heads flag that keeps them dense. The exit status.
int calibrateAttentionHeads(const AttentionOptions &opts);

} // namespace ds_calibrate

#endif // DS_TOOLS_DS_CALIBRATE_ATTENTIONCALIBRATION_H
