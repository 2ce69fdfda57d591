//===- AttentionCalibration.cpp - ds-calibrate --attention-window ---------===//
//
// Dense heads from data: the share of each head's attention a sliding
// window with sinks (or a block layout) keeps, measured on calibration
// samples. DuoAttention
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
                 "ds-calibrate: %s has no attention to measure (a ds.attention with static "
                 "shapes, f32, not sparse already, causal for a window; ds-compile "
                 "--attention-probes remarks why one is left out)\n",
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

std::vector<std::string> AttentionPattern::flags() const {
  auto flag = [](const char *name, long n) { return std::string(name) + "=" + std::to_string(n); };
  if (!layout())
    return {flag("--attention-window", window), flag("--attention-sinks", sinks)};
  return {flag("--attention-block-size", blockSize),
          flag("--attention-local-blocks", localBlocks),
          flag("--attention-stride-blocks", strideBlocks),
          flag("--attention-global-blocks", globalBlocks)};
}

std::string AttentionPattern::describe() const {
  std::ostringstream text;
  if (!layout()) {
    text << "a window of " << window << " with " << sinks << " sink keys";
  } else {
    text << "a block layout of " << localBlocks << " local";
    if (strideBlocks > 0)
      text << ", every " << strideBlocks << "-th";
    text << " and " << globalBlocks << " global blocks of " << blockSize;
  }
  return text.str();
}

int calibrateAttentionHeads(const AttentionOptions &opts) {
  // The probes carry no pattern of their own: a .dsx compiled for another
  // pattern would be reported under this one.
  if (endsWith(opts.model, ".dsx")) {
    std::fprintf(stderr, "ds-calibrate: attention calibration compiles its own probes for the "
                         "pattern measured: give the .onnx model, not an artifact\n");
    return 2;
  }
  std::string artifact;
  std::vector<std::string> args = {"--attention-probes"};
  const std::vector<std::string> patternFlags = opts.pattern.flags();
  args.insert(args.end(), patternFlags.begin(), patternFlags.end());
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
  table << "# ds-calibrate attention heads: " << opts.pattern.describe() << ", " << samples
        << " samples\n"
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
  std::printf("ds-calibrate: %zu of %zu heads keep less than %g of their attention in %s -> "
              "%s\n",
              dense, heads, opts.keep, opts.pattern.describe().c_str(), opts.table.c_str());
  std::string flags;
  for (const std::string &f : patternFlags)
    flags += (flags.empty() ? "" : " ") + f;
  std::printf("%s%s%s\n", flags.c_str(), dense ? " --attention-dense-heads=" : "",
              flag.str().c_str());
  return 0;
}

} // namespace ds_calibrate
