//===- Calibration.h - activation ranges for static quantization -*- C++ -*-===//
//
// Post-training quantization needs, for every activation a quantized op
// reads, the range [lo, hi] its values are mapped onto. The range comes from
// running the model on calibration data: a RangeCollector sees every value
// of one activation over all samples and then answers with a range under a
// method (min-max, a percentile of |x|, or the threshold minimizing the KL
// divergence between the |x| histogram and its 128-level quantization, the
// entropy method of TensorRT's calibrator). The ranges travel from the
// calibration run to the compiler as a calibration table, a text file
// written and parsed here only.
//
// No LLVM, no runtime: ds-calibrate, the Python package and the compiler's
// ds-quantize-static pass all link this.
//
//===----------------------------------------------------------------------===//
#ifndef DS_CALIBRATION_CALIBRATION_H
#define DS_CALIBRATION_CALIBRATION_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ds_calibration {

enum class Method { MinMax, Percentile, Entropy };

/// "minmax", "percentile" or "entropy".
const char *methodName(Method method);
bool parseMethod(const std::string &name, Method &method);

struct Range {
  float lo = 0.0f, hi = 0.0f;
};

/// Statistics of one activation over every sample: min, max, a histogram
/// of |x| whose range doubles (merging bins in pairs, so no count moves to
/// a wrong bin) when a later sample holds larger values, and the largest
/// |x| of each channel (the last axis) for SmoothQuant.
class RangeCollector {
public:
  static constexpr int kBins = 2048;

  /// Non-finite values are counted and left out of the statistics.
  /// `channels` > 0 is the last axis' size (`count` a multiple of it); 0
  /// keeps no channel statistics.
  void add(const float *values, size_t count, size_t channels = 0);

  /// The range under `method`, always holding 0 (an affine quantization
  /// must represent zero exactly). `percentile` (in (0, 100]) is the share
  /// of |x| kept by the percentile method.
  Range range(Method method, double percentile = 99.99) const;

  uint64_t count() const { return count_; }
  uint64_t nonFinite() const { return nonFinite_; }
  /// max |x| per channel; empty without channel statistics (or when
  /// samples disagreed on the channel count).
  const std::vector<float> &channelAbsMax() const { return channelAbsMax_; }

private:
  /// The clipping threshold on |x| each method picks.
  double percentileThreshold(double percentile) const;
  double entropyThreshold() const;
  void growTo(double maxAbs);

  double min_ = 0.0, max_ = 0.0;
  /// |x| in [0, limit_) spread over kBins bins; limit_ 0 until a nonzero
  /// value arrives (zeros are counted in bin 0 all the same).
  double limit_ = 0.0;
  std::vector<uint64_t> histogram_ = std::vector<uint64_t>(kBins, 0);
  uint64_t count_ = 0, nonFinite_ = 0;
  std::vector<float> channelAbsMax_;
  bool channelsDisagree_ = false;
};

/// What a calibration table knows of the activation read by the op named
/// `name` (ds-insert-calibration-probes names them): its range, and with
/// SmoothQuant the largest |x| per input channel before smoothing.
struct TableEntry {
  std::string name;
  Range range;
  std::vector<float> channelAbsMax;
};

struct Table {
  Method method = Method::MinMax;
  uint64_t samples = 0;
  /// SmoothQuant's alpha when the activations were smoothed (the ranges are
  /// then those of the smoothed activations); 0 when they were not.
  double smoothQuantAlpha = 0.0;
  std::vector<TableEntry> entries;
};

/// The text form: a header line, `method=... samples=... [smooth-quant=A]`,
/// then one `lo hi name` line per entry (the name is the rest of the line,
/// so it may hold spaces), each followed by `absmax v0,v1,... name` when it
/// has channel statistics. Floats are written so that they read back
/// exactly.
std::string formatTable(const Table &table);
/// False with `error` ("line N: ...") for anything but that form.
bool parseTable(const std::string &text, Table &table, std::string &error);

} // namespace ds_calibration

#endif // DS_CALIBRATION_CALIBRATION_H
