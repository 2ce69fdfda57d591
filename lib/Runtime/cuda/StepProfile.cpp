//===- StepProfile.cpp - device time per step, on request -----------------===//
#include "cuda/StepProfile.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>

namespace dsrt::cuda {

StepProfile::Mode StepProfile::requested() {
  const char *env = std::getenv("DS_CUDA_PROFILE");
  if (!env)
    return Off;
  if (std::strcmp(env, "steps") == 0 || std::strcmp(env, "1") == 0)
    return Steps;
  return std::strcmp(env, "graph") == 0 ? Graph : Off;
}

void StepProfile::start(const Driver &driver, Mode mode, std::vector<std::string> labels) {
  if (mode == Off || !driver.hasEvents()) {
    if (mode != Off)
      std::fprintf(stderr, "ds: DS_CUDA_PROFILE ignored: the driver has no cuEventElapsedTime_v2\n");
    return;
  }
  cu_ = &driver;
  labels_ = std::move(labels);
  size_t marks = mode == Steps ? labels_.size() + 1 : 2;
  for (size_t i = 0; i < marks; ++i) {
    CUevent event = nullptr;
    if (cu_->cuEventCreate(&event, CU_EVENT_DEFAULT) != CUDA_SUCCESS)
      return; // the destructor frees what was made; mode_ stays Off
    marks_.push_back(event);
  }
  totalMs_.assign(mode == Steps ? labels_.size() : 1, 0.0);
  mode_ = mode;
}

StepProfile::~StepProfile() { finish(); }

void StepProfile::finish() {
  if (mode_ != Off && !runMs_.empty())
    std::fputs(report().c_str(), stderr);
  for (CUevent e : marks_)
    cu_->cuEventDestroy(e);
  marks_.clear();
  mode_ = Off;
}

void StepProfile::mark(size_t index, CUstream stream) {
  if (mode_ != Off && index < marks_.size())
    cu_->cuEventRecord(marks_[index], stream);
}

void StepProfile::collect() {
  if (mode_ == Off || cu_->cuEventSynchronize(marks_.back()) != CUDA_SUCCESS)
    return;
  if (!warmedUp_) { // the first run loads kernels and plans GEMMs: not what runs cost
    warmedUp_ = true;
    return;
  }
  double run = 0;
  for (size_t i = 0; i + 1 < marks_.size(); ++i) {
    float ms = 0;
    if (cu_->cuEventElapsedTime(&ms, marks_[i], marks_[i + 1]) != CUDA_SUCCESS)
      return;
    totalMs_[i] += ms;
    run += ms;
  }
  runMs_.push_back(run);
}

std::string StepProfile::report() const {
  if (runMs_.empty())
    return "";
  std::vector<double> sorted = runMs_;
  std::sort(sorted.begin(), sorted.end());
  double total = std::accumulate(totalMs_.begin(), totalMs_.end(), 0.0);
  char line[512];
  std::snprintf(line, sizeof line,
                "ds: CUDA profile (%s), %zu runs after the first: device time per run median %.4f ms, min %.4f ms\n",
                mode_ == Steps ? "steps, eager" : "graph replay", sorted.size(),
                sorted[sorted.size() / 2], sorted.front());
  std::string out = line;
  if (mode_ != Steps)
    return out;
  std::vector<size_t> order(totalMs_.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return totalMs_[a] > totalMs_[b]; });
  size_t shown = std::min<size_t>(order.size(), 25);
  for (size_t k = 0; k < shown; ++k) {
    size_t i = order[k];
    std::snprintf(line, sizeof line, "ds:   step %4zu %9.4f ms/run %5.1f%%  %s\n", i,
                  totalMs_[i] / runMs_.size(), total > 0 ? 100.0 * totalMs_[i] / total : 0.0,
                  labels_[i].c_str());
    out += line;
  }
  if (shown < order.size())
    out += "ds:   (" + std::to_string(order.size() - shown) + " shorter steps)\n";
  return out;
}

} // namespace dsrt::cuda
