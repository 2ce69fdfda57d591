//===- PrecisionTable.h - measured error of ops in a low type ---*- C++ -*-===//
//
// ds-assign-precision's `auto` policy keeps in fp32 the ops whose values
// overflow the low type or whose error against fp32 exceeds a budget on
// calibration data. A calibration run (ds-insert-precision-probes) returns,
// for each op the policy may lower, its f32 result and the same op computed
// in the low type from its rounded f32 inputs; a PrecisionCollector compares
// the two over every sample, and the precision table carries what it saw to
// the compiler. The error is the op's own: its inputs are the fp32 run's, so
// nothing upstream is counted twice.
//
// No LLVM, no runtime (like Calibration.h).
//
//===----------------------------------------------------------------------===//
#ifndef DS_CALIBRATION_PRECISIONTABLE_H
#define DS_CALIBRATION_PRECISIONTABLE_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ds_calibration {

/// One op's low-type result against its f32 result, over every sample.
class PrecisionCollector {
public:
  /// `reference` and `low` hold `count` values each. Elements whose
  /// reference is NaN or infinite are left out; a finite reference whose
  /// low value is not counts as an overflow.
  void add(const float *reference, const float *low, size_t count);
  /// ||low - reference|| / ||reference|| over the finite pairs (0 when both
  /// are zero, infinite when only the reference is).
  double relativeError() const;
  uint64_t overflows() const { return overflows_; }
  /// The largest finite |reference| (overflowing elements included).
  float absMax() const { return absMax_; }
  uint64_t count() const { return count_; }

private:
  double squaredError_ = 0.0, squaredReference_ = 0.0;
  float absMax_ = 0.0f;
  uint64_t overflows_ = 0, count_ = 0;
};

struct PrecisionEntry {
  /// The op's key (ds-insert-precision-probes names them).
  std::string name;
  double relativeError = 0.0;
  uint64_t overflows = 0;
  float absMax = 0.0f;
};

/// Whether `type` is a low type a precision table measures: fp16, bf16 or
/// fp8 (e4m3 with a scale per tensor, as ds-assign-precision's fp8 policy
/// rounds contraction operands).
bool isPrecisionTableType(const std::string &type);

/// The error an op may add in `type` under policy=auto when no budget is
/// given (relative L2 against fp32, as PrecisionCollector measures it).
/// fp16 / bf16: 16 unit roundoffs (7.8e-3, 6.25e-2). fp8: 0.08, about twice
/// what rounding both operands of a matmul to e4m3 costs when their values
/// are spread over the scale (2.1e-2 to 4.4e-2 on the e2e tests' BERT and
/// LLaMA exports); an op above it reads operands whose outliers leave the
/// other values few bits (test_precision_auto.py's outlier model: 0.2).
double defaultPrecisionBudget(const std::string &type);

struct PrecisionTable {
  /// The low type measured: "fp16", "bf16" or "fp8".
  std::string type = "fp16";
  uint64_t samples = 0;
  std::vector<PrecisionEntry> entries;
};

/// `# ds precision table 1`, `type=fp16|bf16|fp8 samples=N`, then one
/// `error overflows absmax name` line per op (the name is the rest of the
/// line).
std::string formatPrecisionTable(const PrecisionTable &table);
/// False with `error` ("line N: ...") for anything but that form.
bool parsePrecisionTable(const std::string &text, PrecisionTable &table, std::string &error);

} // namespace ds_calibration

#endif // DS_CALIBRATION_PRECISIONTABLE_H
