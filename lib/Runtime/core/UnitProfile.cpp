//===- UnitProfile.cpp - CPU time per op, on request ----------------------===//
#include "core/UnitProfile.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace dsrt {

std::unique_ptr<UnitProfile> UnitProfile::fromEnvironment() {
  const char *value = std::getenv("DS_CPU_PROFILE");
  if (!value || !*value || std::strcmp(value, "0") == 0)
    return nullptr;
  return std::make_unique<UnitProfile>();
}

UnitProfile::~UnitProfile() { std::fputs(report().c_str(), stderr); }

void UnitProfile::beginRun() {
  pending_.clear();
  runStart_ = std::chrono::steady_clock::now();
}

void UnitProfile::endRun() {
  if (runsSeen_++ == 0) // the warm-up run's units are not counted either
    return;
  runSeconds_.push_back(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - runStart_).count());
  for (auto &[label, seconds] : pending_) {
    Entry &entry = entries_[label];
    entry.seconds += seconds;
    ++entry.calls;
  }
  pending_.clear();
}

void UnitProfile::record(const Program &program, const ExecUnit &unit,
                         const std::vector<Tensor> &tensors, double seconds) {
  std::string label;
  for (size_t s : unit.steps) {
    if (!label.empty())
      label += " + ";
    label += program.steps[s].op;
  }
  if (unit.tiled())
    label = "fused(" + label + ")";
  else if (unit.epilogue)
    label = "stored(" + label + ")";
  auto typeOf = [&](uint32_t value) -> std::string {
    if (value == DSX_ABSENT || value >= tensors.size())
      return "none";
    const Tensor &t = tensors[value];
    std::string type = std::string(dtypeName(t.dtype)) + "[";
    for (size_t d = 0; d < t.shape.size(); ++d)
      type += (d ? "x" : "") + std::to_string(t.shape[d]);
    return type + "]";
  };
  const Step &last = program.steps[unit.steps.back()];
  if (!last.outputs.empty())
    label += " -> " + typeOf(last.outputs[0]);
  // A step alone also shows its first two operands (a convolution's input
  // and weights: layers with one result shape differ by them).
  if (unit.steps.size() == 1 && !last.inputs.empty()) {
    label += " (";
    for (size_t i = 0; i < std::min<size_t>(2, last.inputs.size()); ++i)
      label += (i ? ", " : "") + typeOf(last.inputs[i]);
    label += ")";
  }
  pending_.emplace_back(std::move(label), seconds);
}

std::string UnitProfile::report() const {
  if (runSeconds_.empty())
    return "";
  std::vector<double> sorted = runSeconds_;
  std::sort(sorted.begin(), sorted.end());
  double runs = (double)runSeconds_.size(), total = 0;
  for (const auto &[label, entry] : entries_)
    total += entry.seconds;
  char line[640];
  std::snprintf(line, sizeof line,
                "ds: CPU profile, %zu runs after the first: median %.3f ms, min %.3f ms; "
                "%.3f ms per run in ops\n",
                sorted.size(), 1e3 * sorted[sorted.size() / 2], 1e3 * sorted.front(),
                1e3 * total / runs);
  std::string out = line;
  std::vector<const std::pair<const std::string, Entry> *> order;
  for (const auto &item : entries_)
    order.push_back(&item);
  std::sort(order.begin(), order.end(),
            [](auto *a, auto *b) { return a->second.seconds > b->second.seconds; });
  size_t shown = std::min<size_t>(order.size(), 30);
  for (size_t k = 0; k < shown; ++k) {
    const auto &[label, entry] = *order[k];
    std::snprintf(line, sizeof line, "ds:   %9.3f ms/run %5.1f%% %4.0f/run  %.400s\n",
                  1e3 * entry.seconds / runs, total > 0 ? 100.0 * entry.seconds / total : 0.0,
                  entry.calls / runs, label.c_str());
    out += line;
  }
  if (shown < order.size())
    out += "ds:   (" + std::to_string(order.size() - shown) + " shorter kinds of unit)\n";
  return out;
}

} // namespace dsrt
