//===- Calibration.cpp - activation ranges for static quantization --------===//
#include "ds/Calibration/Calibration.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace ds_calibration {

const char *methodName(Method method) {
  switch (method) {
  case Method::MinMax: return "minmax";
  case Method::Percentile: return "percentile";
  case Method::Entropy: return "entropy";
  }
  return "minmax";
}

bool parseMethod(const std::string &name, Method &method) {
  for (Method m : {Method::MinMax, Method::Percentile, Method::Entropy})
    if (name == methodName(m))
      return (method = m, true);
  return false;
}

void RangeCollector::growTo(double maxAbs) {
  if (limit_ == 0.0) {
    limit_ = maxAbs; // only zeros so far: they stay in bin 0
    return;
  }
  while (limit_ < maxAbs) {
    for (int i = 0; i < kBins / 2; ++i)
      histogram_[i] = histogram_[2 * i] + histogram_[2 * i + 1];
    std::fill(histogram_.begin() + kBins / 2, histogram_.end(), 0);
    limit_ *= 2.0;
  }
}

void RangeCollector::add(const float *values, size_t count, size_t channels) {
  if (channels && count % channels == 0 && !channelsDisagree_) {
    if (channelAbsMax_.empty() && count_ == 0 && nonFinite_ == 0)
      channelAbsMax_.assign(channels, 0.0f);
    if (channelAbsMax_.size() != channels) {
      channelsDisagree_ = true;
      channelAbsMax_.clear();
    } else {
      for (size_t i = 0; i < count; ++i)
        if (std::isfinite(values[i]))
          channelAbsMax_[i % channels] =
              std::max(channelAbsMax_[i % channels], std::fabs(values[i]));
    }
  }
  double lo = 0.0, hi = 0.0;
  uint64_t finite = 0;
  for (size_t i = 0; i < count; ++i) {
    float v = values[i];
    if (!std::isfinite(v))
      continue;
    lo = std::min(lo, (double)v);
    hi = std::max(hi, (double)v);
    ++finite;
  }
  nonFinite_ += count - finite;
  if (finite == 0)
    return;
  min_ = count_ ? std::min(min_, lo) : lo;
  max_ = count_ ? std::max(max_, hi) : hi;
  count_ += finite;
  double maxAbs = std::max(-lo, hi);
  if (maxAbs > limit_)
    growTo(maxAbs);
  if (limit_ == 0.0) {
    histogram_[0] += finite;
    return;
  }
  double perBin = kBins / limit_;
  for (size_t i = 0; i < count; ++i) {
    float v = values[i];
    if (!std::isfinite(v))
      continue;
    int bin = (int)std::min<double>(std::fabs(v) * perBin, kBins - 1);
    ++histogram_[bin];
  }
}

double RangeCollector::percentileThreshold(double percentile) const {
  double keep = (double)count_ * std::clamp(percentile, 0.0, 100.0) / 100.0;
  double seen = 0.0;
  for (int i = 0; i < kBins; ++i) {
    seen += (double)histogram_[i];
    if (seen >= keep)
      return limit_ * (i + 1) / kBins;
  }
  return limit_;
}

/// TensorRT's entropy calibration on the |x| histogram: for each candidate
/// threshold (a bin edge from 128 bins up), P is the histogram clipped there
/// (the clipped tail added to its last bin) and Q the same bins quantized to
/// 128 levels (each level's count spread evenly over its nonzero bins); the
/// threshold with the smallest KL(P || Q) wins.
double RangeCollector::entropyThreshold() const {
  constexpr int kLevels = 128;
  std::vector<double> tail(kBins + 1, 0.0); // tail[i]: counts in bins >= i
  for (int i = kBins - 1; i >= 0; --i)
    tail[i] = tail[i + 1] + (double)histogram_[i];
  double best = INFINITY;
  int bestBins = kBins;
  std::vector<double> q;
  for (int bins = kLevels; bins <= kBins; ++bins) {
    q.assign(bins, 0.0);
    for (int level = 0; level < kLevels; ++level) {
      int begin = (int)((int64_t)level * bins / kLevels);
      int end = (int)((int64_t)(level + 1) * bins / kLevels);
      double total = 0.0;
      int nonzero = 0;
      for (int i = begin; i < end; ++i) {
        total += (double)histogram_[i];
        nonzero += histogram_[i] != 0;
      }
      for (int i = begin; i < end; ++i)
        if (histogram_[i] != 0)
          q[i] = total / nonzero;
    }
    // P's last bin takes the clipped tail; Q, the quantization of the
    // unclipped bins, does not (TensorRT's and MXNet's formulation).
    double clipped = tail[bins];
    double pTotal = tail[0], qTotal = tail[0] - clipped;
    if (qTotal <= 0.0)
      continue;
    double divergence = 0.0;
    for (int i = 0; i < bins; ++i) {
      double p = (double)histogram_[i] + (i == bins - 1 ? clipped : 0.0);
      if (p == 0.0)
        continue;
      // A bin P fills but Q leaves empty gets a tiny mass, not infinity.
      double qi = std::max(q[i], 1e-4) / qTotal;
      divergence += p / pTotal * std::log((p / pTotal) / qi);
    }
    if (divergence < best) {
      best = divergence;
      bestBins = bins;
    }
  }
  return limit_ * bestBins / kBins;
}

Range RangeCollector::range(Method method, double percentile) const {
  if (count_ == 0)
    return {};
  double lo = std::min(min_, 0.0), hi = std::max(max_, 0.0);
  if (method != Method::MinMax && limit_ > 0.0) {
    double threshold = method == Method::Percentile ? percentileThreshold(percentile)
                                                    : entropyThreshold();
    lo = std::max(lo, -threshold);
    hi = std::min(hi, threshold);
  }
  return {(float)lo, (float)hi};
}

std::string formatTable(const Table &table) {
  std::ostringstream os;
  os << "# ds calibration table 1\n";
  os << "method=" << methodName(table.method) << " samples=" << table.samples;
  char number[32];
  if (table.smoothQuantAlpha > 0.0) {
    std::snprintf(number, sizeof number, "%.9g", table.smoothQuantAlpha);
    os << " smooth-quant=" << number;
  }
  os << "\n";
  for (const TableEntry &entry : table.entries) {
    // %.9g reads back as the same float.
    std::snprintf(number, sizeof number, "%.9g ", entry.range.lo);
    os << number;
    std::snprintf(number, sizeof number, "%.9g ", entry.range.hi);
    os << number << entry.name << "\n";
    if (entry.channelAbsMax.empty())
      continue;
    os << "absmax ";
    for (size_t i = 0; i < entry.channelAbsMax.size(); ++i) {
      std::snprintf(number, sizeof number, i ? ",%.9g" : "%.9g", entry.channelAbsMax[i]);
      os << number;
    }
    os << " " << entry.name << "\n";
  }
  return os.str();
}

namespace {
bool parseFloat(const std::string &text, float &value) {
  if (text.empty())
    return false;
  char *end = nullptr;
  value = std::strtof(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(value);
}
} // namespace

bool parseTable(const std::string &text, Table &table, std::string &error) {
  std::istringstream in(text);
  std::string line;
  int number = 0;
  auto fail = [&](const std::string &message) {
    error = "line " + std::to_string(number) + ": " + message;
    return false;
  };
  table = Table();
  bool sawHeader = false;
  while (std::getline(in, line)) {
    ++number;
    if (number == 1) {
      if (line != "# ds calibration table 1")
        return fail("not a ds calibration table (expected '# ds calibration table 1')");
      continue;
    }
    if (!sawHeader) {
      std::istringstream fields(line);
      std::string method, samples, smooth, extra;
      fields >> method >> samples >> smooth >> extra;
      if (method.rfind("method=", 0) != 0 || samples.rfind("samples=", 0) != 0 ||
          !parseMethod(method.substr(7), table.method) || !extra.empty() ||
          (!smooth.empty() && smooth.rfind("smooth-quant=", 0) != 0))
        return fail("expected 'method=minmax|percentile|entropy samples=N [smooth-quant=A]'");
      char *end = nullptr;
      std::string count = samples.substr(8);
      table.samples = std::strtoull(count.c_str(), &end, 10);
      if (count.empty() || *end)
        return fail("'" + samples + "': the sample count is not a number");
      float alpha = 0.0f;
      if (!smooth.empty() && (!parseFloat(smooth.substr(13), alpha) || !(alpha > 0.0f) ||
                              alpha > 1.0f))
        return fail("'" + smooth + "': SmoothQuant's alpha must be in (0, 1]");
      table.smoothQuantAlpha = alpha;
      sawHeader = true;
      continue;
    }
    if (line.empty())
      continue;
    if (line.rfind("absmax ", 0) == 0) {
      size_t space = line.find(' ', 7);
      if (space == std::string::npos || table.entries.empty() ||
          table.entries.back().name != line.substr(space + 1))
        return fail("an 'absmax v0,v1,... name' line must follow the range line of its name");
      std::vector<float> &absMax = table.entries.back().channelAbsMax;
      if (!absMax.empty())
        return fail("a second 'absmax' line for '" + table.entries.back().name + "'");
      std::string list = line.substr(7, space - 7);
      for (size_t begin = 0;;) {
        size_t comma = list.find(',', begin);
        std::string value = list.substr(begin, comma == std::string::npos ? comma : comma - begin);
        float v;
        if (!parseFloat(value, v) || v < 0.0f)
          return fail("'" + value + "' is not a channel's largest |x|");
        absMax.push_back(v);
        if (comma == std::string::npos)
          break;
        begin = comma + 1;
      }
      continue;
    }
    size_t first = line.find(' ');
    size_t second = first == std::string::npos ? first : line.find(' ', first + 1);
    if (second == std::string::npos || second + 1 >= line.size())
      return fail("expected 'lo hi name'");
    TableEntry entry;
    entry.name = line.substr(second + 1);
    if (!parseFloat(line.substr(0, first), entry.range.lo) ||
        !parseFloat(line.substr(first + 1, second - first - 1), entry.range.hi))
      return fail("the range of '" + entry.name + "' is not two finite numbers");
    if (entry.range.lo > 0.0f || entry.range.hi < 0.0f)
      return fail("the range of '" + entry.name + "' does not hold 0");
    table.entries.push_back(std::move(entry));
  }
  if (!sawHeader)
    return fail(number == 0 ? "empty file, not a ds calibration table"
                            : "missing the 'method=... samples=...' line");
  return true;
}

} // namespace ds_calibration
