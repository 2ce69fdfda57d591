//===- PrecisionCalibration.cpp - ds-calibrate --precision ----------------===//
#include "PrecisionCalibration.h"
#include "CompileModel.h"
#include "Samples.h"
#include "ds/Calibration/PrecisionTable.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

namespace cal = ds_calibration;

namespace ds_calibrate {
namespace {

/// The probe pairs of a precision-probes artifact: for each op key, the
/// output indices of its f32 results and of the same in the low type.
struct ProbePairs {
  std::vector<std::string> keys;
  std::vector<std::vector<std::pair<int, int>>> outputs;
};

/// Pairs `ds.precision:<r>:<key>` with `ds.precision-<type>:<r>:<key>`.
bool findProbes(const ds::Model &model, const std::string &type, bool probed,
                ProbePairs &pairs, std::string &error) {
  const std::string reference = "ds.precision:", low = "ds.precision-" + type + ":";
  std::map<std::string, int> lowIndex;
  for (int i = 0; i < model.numOutputs(); ++i) {
    std::string name = model.output(i).name;
    if (name.rfind(low, 0) == 0)
      lowIndex[name.substr(low.size())] = i;
  }
  std::map<std::string, size_t> keyIndex;
  for (int i = 0; i < model.numOutputs(); ++i) {
    std::string name = model.output(i).name;
    if (name.rfind(reference, 0) != 0)
      continue;
    std::string suffix = name.substr(reference.size()); // <r>:<key>
    size_t colon = suffix.find(':');
    auto partner = lowIndex.find(suffix);
    if (colon == std::string::npos || partner == lowIndex.end())
      return (error = "output '" + name + "' has no " + type +
                      " partner (an artifact with "
                      "precision probes of another type?)",
              false);
    std::string key = suffix.substr(colon + 1);
    auto [it, added] = keyIndex.try_emplace(key, pairs.keys.size());
    if (added) {
      pairs.keys.push_back(key);
      pairs.outputs.emplace_back();
    }
    pairs.outputs[it->second].push_back({i, partner->second});
  }
  if (pairs.keys.empty() && model.numOutputs() > 0 && !probed)
    return (error = "has no precision probes of " + type +
                    " (compile it with ds-compile --precision-probes=" + type +
                    ", or give the .onnx model)",
            false);
  if (pairs.keys.empty())
    return (error =
                "no op to measure in " + type +
                (type == "fp8"
                     ? " (no contraction or attention op with f32 operands)"
                     : " (no contraction, attention, elementwise or window op with f32 values)"),
            false);
  return true;
}

bool measure(const PrecisionOptions &opts, const std::string &artifact,
             cal::PrecisionTable &table) {
  ds::Model model(artifact);
  ProbePairs pairs;
  std::string error;
  // A model compiled here has its probes; a .dsx given may not.
  if (!findProbes(model, opts.type, !endsWith(opts.model, ".dsx"), pairs, error)) {
    std::fprintf(stderr, "ds-calibrate: %s: %s\n", opts.model.c_str(), error.c_str());
    return false;
  }
  std::vector<Sample> samples;
  if (!loadSamples(opts.data, model, opts.maxSamples, samples))
    return false;
  ds::Session session(model, opts.threads);
  std::vector<cal::PrecisionCollector> collectors(pairs.keys.size());
  auto seen = [&](ds::Session &run) {
    for (size_t k = 0; k < pairs.keys.size(); ++k)
      for (auto [ref, low] : pairs.outputs[k]) {
        ds_tensor r = run.output(ref), l = run.output(low);
        if (r.dtype != DS_F32 || l.dtype != DS_F32 || r.byte_size != l.byte_size) {
          std::fprintf(stderr,
                       "\nds-calibrate: the probes of '%s' are not two f32 tensors of "
                       "one size\n",
                       pairs.keys[k].c_str());
          return false;
        }
        collectors[k].add(static_cast<const float *>(r.data), static_cast<const float *>(l.data),
                          r.byte_size / sizeof(float));
      }
    return true;
  };
  if (!runSamples(session, samples, opts.type.c_str(), seen))
    return false;
  table.type = opts.type;
  table.samples = samples.size();
  for (size_t k = 0; k < pairs.keys.size(); ++k)
    table.entries.push_back({pairs.keys[k], collectors[k].relativeError(),
                             collectors[k].overflows(), collectors[k].absMax()});
  return true;
}

} // namespace

int calibratePrecision(const PrecisionOptions &opts) {
  // A .dsx is a probes artifact compiled already (ds-compile
  // --precision-probes); anything else is a model for ds-compile.
  std::string artifact = opts.model;
  bool compiled = !endsWith(artifact, ".dsx");
  if (compiled) {
    std::vector<std::string> args = {"--precision-probes=" + opts.type};
    args.insert(args.end(), opts.compileArgs.begin(), opts.compileArgs.end());
    if (!dsrun::compileModel("ds-calibrate", opts.model, args, artifact))
      return 1;
  }
  cal::PrecisionTable table;
  bool ok;
  try {
    ok = measure(opts, artifact, table);
  } catch (const ds::Error &e) {
    std::fprintf(stderr, "ds-calibrate: %s\n", e.what());
    ok = false;
  }
  if (compiled)
    std::remove(artifact.c_str());
  if (!ok)
    return 1;
  if (!writeTable(opts.table, cal::formatPrecisionTable(table))) {
    std::fprintf(stderr, "ds-calibrate: cannot write '%s': %s\n", opts.table.c_str(),
                 std::strerror(errno));
    return 1;
  }
  // What ds-compile --precision=auto will keep in fp32 at the default budget.
  double budget = cal::defaultPrecisionBudget(opts.type);
  size_t overflowing = 0, overBudget = 0;
  for (const cal::PrecisionEntry &entry : table.entries) {
    overflowing += entry.overflows > 0;
    overBudget += entry.overflows == 0 && entry.relativeError > budget;
  }
  std::printf("ds-calibrate: %zu ops measured in %s over %llu samples: %zu overflow, %zu over "
              "the default budget %.3g -> %s\n",
              table.entries.size(), opts.type.c_str(), (unsigned long long)table.samples,
              overflowing, overBudget, budget, opts.table.c_str());
  return 0;
}

} // namespace ds_calibrate
