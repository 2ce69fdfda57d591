//===- PrecisionTable.cpp - measured error of ops in a low type -----------===//
#include "ds/Calibration/PrecisionTable.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <set>
#include <sstream>

namespace ds_calibration {

void PrecisionCollector::add(const float *reference, const float *low, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    float r = reference[i];
    if (!std::isfinite(r))
      continue;
    ++count_;
    absMax_ = std::max(absMax_, std::fabs(r));
    if (!std::isfinite(low[i])) {
      ++overflows_;
      continue;
    }
    double d = (double)low[i] - (double)r;
    squaredError_ += d * d;
    squaredReference_ += (double)r * r;
  }
}

double PrecisionCollector::relativeError() const {
  if (squaredReference_ > 0.0)
    return std::sqrt(squaredError_ / squaredReference_);
  return squaredError_ > 0.0 ? std::numeric_limits<double>::infinity() : 0.0;
}

bool isPrecisionTableType(const std::string &type) {
  return type == "fp16" || type == "bf16" || type == "fp8";
}

double defaultPrecisionBudget(const std::string &type) {
  if (type == "fp8")
    return 0.08;
  return 16.0 * std::ldexp(1.0, type == "bf16" ? -8 : -11);
}

std::string formatPrecisionTable(const PrecisionTable &table) {
  std::ostringstream os;
  os << "# ds precision table 1\n";
  os << "type=" << table.type << " samples=" << table.samples << "\n";
  char number[96];
  for (const PrecisionEntry &entry : table.entries) {
    std::snprintf(number, sizeof number, "%.6g %llu %.9g ", entry.relativeError,
                  (unsigned long long)entry.overflows, entry.absMax);
    os << number << entry.name << "\n";
  }
  return os.str();
}

namespace {
/// A whole field as a number (strtod's forms; "inf" included).
bool parseNumber(const std::string &text, double &value) {
  if (text.empty())
    return false;
  char *end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && !std::isnan(value);
}

bool parseCount(const std::string &text, uint64_t &value) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  char *end = nullptr;
  errno = 0;
  value = std::strtoull(text.c_str(), &end, 10);
  return *end == 0 && errno != ERANGE;
}

/// The next space-separated field of `line` from `pos` (one space between
/// fields, as formatPrecisionTable writes them); empty at the end.
std::string nextField(const std::string &line, size_t &pos) {
  size_t space = line.find(' ', pos);
  std::string field = line.substr(pos, space == std::string::npos ? space : space - pos);
  pos = space == std::string::npos ? line.size() : space + 1;
  return field;
}
} // namespace

bool parsePrecisionTable(const std::string &text, PrecisionTable &table, std::string &error) {
  std::istringstream in(text);
  std::string line;
  int number = 0;
  auto fail = [&](const std::string &message) {
    error = "line " + std::to_string(number) + ": " + message;
    return false;
  };
  table = PrecisionTable();
  bool sawHeader = false;
  std::set<std::string> names;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') // written on Windows
      line.pop_back();
    if (number == 1) {
      if (line != "# ds precision table 1")
        return fail("not a ds precision table (expected '# ds precision table 1')");
      continue;
    }
    if (!sawHeader) {
      std::istringstream fields(line);
      std::string type, samples, extra;
      fields >> type >> samples >> extra;
      if (type.rfind("type=", 0) != 0 || samples.rfind("samples=", 0) != 0 || !extra.empty() ||
          !isPrecisionTableType(type.substr(5)))
        return fail("expected 'type=fp16|bf16|fp8 samples=N'");
      table.type = type.substr(5);
      if (!parseCount(samples.substr(8), table.samples))
        return fail("'" + samples + "': the sample count is not a number");
      sawHeader = true;
      continue;
    }
    if (line.empty())
      continue;
    size_t pos = 0;
    std::string err = nextField(line, pos), overflows = nextField(line, pos),
                absMax = nextField(line, pos);
    if (pos >= line.size())
      return fail("expected 'error overflows absmax name'");
    PrecisionEntry entry;
    entry.name = line.substr(pos);
    if (!names.insert(entry.name).second)
      return fail("a second measurement of '" + entry.name + "'");
    double absMaxValue;
    if (!parseNumber(err, entry.relativeError) || entry.relativeError < 0.0 ||
        !parseCount(overflows, entry.overflows) || !parseNumber(absMax, absMaxValue) ||
        !(absMaxValue >= 0.0) || std::isinf(absMaxValue))
      return fail("the measurements of '" + entry.name +
                  "' are not an error >= 0, an overflow count and a finite |x|");
    entry.absMax = (float)absMaxValue;
    table.entries.push_back(std::move(entry));
  }
  if (!sawHeader)
    return fail(number == 0 ? "empty file, not a ds precision table"
                            : "missing the 'type=... samples=...' line");
  return true;
}

} // namespace ds_calibration
