//===- PrecisionCalibration.h - ds-calibrate --precision --------*- C++ -*-===//
#ifndef DS_TOOLS_DS_CALIBRATE_PRECISIONCALIBRATION_H
#define DS_TOOLS_DS_CALIBRATE_PRECISIONCALIBRATION_H

#include <string>
#include <vector>

namespace ds_calibrate {

struct PrecisionOptions {
  std::string model, data, table;
  /// The low type measured: "fp16" or "bf16".
  std::string type;
  int threads = 0;
  long maxSamples = -1;
  std::vector<std::string> compileArgs;
};

/// Compiles the model with precision probes (ds-compile
/// --precision-probes=TYPE), runs every sample, compares each op's result in
/// the low type with its f32 result and writes the precision table that
/// `ds-compile --precision=auto --precision-table` reads. The exit status.
int calibratePrecision(const PrecisionOptions &opts);

} // namespace ds_calibrate

#endif // DS_TOOLS_DS_CALIBRATE_PRECISIONCALIBRATION_H
