//===- AttentionCalibration.cpp - ds-calibrate --attention-window ---------===//
//
// Dense heads from data: the share of each head's attention a sliding
// window with sinks keeps, measured on calibration samples. DuoAttention
// trains a gate per head to tell retrieval heads (which need every key)
// from streaming heads (which a window with sinks serves); here the same
// split comes from the attention itself: a head whose probability mass
// falls mostly outside the pattern stays dense.
//
//===----------------------------------------------------------------------===//
#include "AttentionCalibration.h"
#include "CompileModel.h"
#include "Samples.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace ds_calibrate {
namespace {

constexpr const char *kPrefix = "ds.attention-probe:";

/// One probed attention: its output, and the sums over samples of the mass
/// kept and of the whole mass per query head.
struct Probe {
  int output;
  long attention;
  std::vector<double> kept, whole;
};

bool findProbes(const ds::Model &model, std::vector<Probe> &probes) {
  for (int i = 0; i < model.numOutputs(); ++i) {
    std::string name = model.output(i).name;
    if (name.rfind(kPrefix, 0) == 0)
      probes.push_back({i, std::atol(name.c_str() + std::strlen(kPrefix)), {}, {}});
  }
  return !probes.empty();
}

bool measure(const AttentionOptions &opts, const std::string &artifact,
             std::vector<Probe> &probes, size_t &sampleCount) {
  ds::Model model(artifact);
  if (!findProbes(model, probes)) {
    std::fprintf(stderr,
                 "ds-calibrate: %s has no attention to measure (a causal ds.attention with "
                 "static shapes, f32, not sparse already; ds-compile --attention-probes "
                 "remarks why one is left out)\n",
                 opts.model.c_str());
    return false;
  }
  std::vector<Sample> samples;
  if (!loadSamples(opts.data, model, opts.maxSamples, samples))
    return false;
  ds::Session session(model, opts.threads);
  auto seen = [&](ds::Session &run) {
    for (Probe &probe : probes) {
      ds_tensor t = run.output(probe.output);
      if (t.dtype != DS_F32 || t.rank != 2 || t.dims[0] != 2) {
        std::fprintf(stderr, "\nds-calibrate: attention probe %ld is not f32 [2, heads]\n",
                     probe.attention);
        return false;
      }
      const size_t heads = (size_t)t.dims[1];
      const float *sums = static_cast<const float *>(t.data);
      probe.kept.resize(heads), probe.whole.resize(heads);
      for (size_t h = 0; h < heads; ++h) {
        probe.kept[h] += sums[h];
        probe.whole[h] += sums[heads + h];
      }
    }
    return true;
  };
  if (!runSamples(session, samples, "attention", seen))
    return false;
  sampleCount = samples.size();
  return true;
}

} // namespace

int calibrateAttentionHeads(const AttentionOptions &opts) {
  // The probes carry no pattern of their own: a .dsx compiled for another
  // window would be reported under this one.
  if (endsWith(opts.model, ".dsx")) {
    std::fprintf(stderr, "ds-calibrate: --attention-window compiles its own probes for the "
                         "window measured: give the .onnx model, not an artifact\n");
    return 2;
  }
  std::string artifact;
  std::vector<std::string> args = {"--attention-probes",
                                   "--attention-window=" + std::to_string(opts.window),
                                   "--attention-sinks=" + std::to_string(opts.sinks)};
  args.insert(args.end(), opts.compileArgs.begin(), opts.compileArgs.end());
  if (!dsrun::compileModel("ds-calibrate", opts.model, args, artifact))
    return 1;
  std::vector<Probe> probes;
  size_t samples = 0;
  bool ok;
  try {
    ok = measure(opts, artifact, probes, samples);
  } catch (const ds::Error &e) {
    std::fprintf(stderr, "ds-calibrate: %s\n", e.what());
    ok = false;
  }
  std::remove(artifact.c_str());
  if (!ok)
    return 1;
  std::ostringstream table, flag;
  table << "# ds-calibrate attention heads: window " << opts.window << ", " << opts.sinks
        << " sink keys, " << samples << " samples\n"
        << "# a head stays dense when the pattern keeps less than " << opts.keep
        << " of its attention\n"
        << "# attention head kept\n";
  size_t heads = 0, dense = 0;
  for (const Probe &probe : probes)
    for (size_t h = 0; h < probe.kept.size(); ++h, ++heads) {
      // A head no query of which saw a key keeps everything there is.
      const double kept = probe.whole[h] > 0.0 ? probe.kept[h] / probe.whole[h] : 1.0;
      const bool keepDense = kept < opts.keep;
      table << probe.attention << " " << h << " " << kept << (keepDense ? " dense" : "") << "\n";
      if (keepDense)
        flag << (dense++ ? "," : "") << probe.attention << ":" << h;
    }
  if (!writeTable(opts.table, table.str())) {
    std::fprintf(stderr, "ds-calibrate: cannot write '%s': %s\n", opts.table.c_str(),
                 std::strerror(errno));
    return 1;
  }
  std::printf("ds-calibrate: %zu of %zu heads keep less than %g of their attention in a window "
              "of %ld with %ld sink keys -> %s\n",
              dense, heads, opts.keep, opts.window, opts.sinks, opts.table.c_str());
  std::printf("--attention-window=%ld --attention-sinks=%ld%s%s\n", opts.window, opts.sinks,
              dense ? " --attention-dense-heads=" : "", flag.str().c_str());
  return 0;
}

} // namespace ds_calibrate
