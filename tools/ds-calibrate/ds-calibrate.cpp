//===- ds-calibrate.cpp - calibration runs for quantization and precision -===//
//
//   ds-calibrate model.onnx DATA -o table.txt [--method=minmax|percentile|entropy]
//                [--percentile=P] [--smooth-quant=ALPHA] [--threads N] [--max-samples N]
//                [-- ds-compile flags]
//   ds-calibrate model.onnx DATA -o table.txt --precision=fp16|bf16|fp8 [--threads N]
//                [--max-samples N] [-- ds-compile flags]
//   ds-calibrate model.onnx DATA -o heads.txt --attention-window=W [--attention-sinks=N]
//                [--attention-keep=F] [--threads N] [--max-samples N] [-- ds-compile flags]
//   ds-calibrate model.onnx DATA -o heads.txt --attention-local-blocks=N
//                [--attention-stride-blocks=N] [--attention-global-blocks=N]
//                [--attention-block-size=B] [--attention-keep=F] [...]
//
// The calibration step of post-training static quantization: compiles the
// model with its quantizable activations as extra outputs (ds-compile
// --calibration-probes), runs it on every sample in DATA, and writes each
// activation's range under the method to a calibration table, which
// `ds-compile --quantize=static --calibration-table=table.txt` reads. With
// --smooth-quant it calibrates twice: per-channel statistics, then the
// ranges of the activations smoothed with them (ds-smooth-quant).
//
// With --precision it measures instead each op's error and overflow in that
// low type (PrecisionCalibration.cpp) for `ds-compile --precision=auto
// --precision-table=table.txt`. With --attention-window it measures the
// share of each attention head's probability mass a window with sinks
// keeps (with the block-layout flags, a block layout; AttentionCalibration.cpp)
// and prints the --attention-dense-heads that leave the heads under
// --attention-keep (default 0.9) dense.
//
// DATA holds one sub-folder per sample with one file per model input, named
// after the input (`<name>.npy`, '/' written as '_') or by position
// (`input_<i>.pb` / `input_<i>.npy`, the ONNX test-data layout); for a model
// with one input, DATA may instead hold one .npy or .pb file per sample.
// Runs on the runtime's C++ wrappers (no LLVM), like ds-run.
//
//===----------------------------------------------------------------------===//
#include "AttentionCalibration.h"
#include "CompileModel.h"
#include "PrecisionCalibration.h"
#include "Samples.h"
#include "ds-runtime/ds_runtime.hpp"
#include "ds/Calibration/Calibration.h"
#include "ds/Calibration/PrecisionTable.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

namespace cal = ds_calibration;
using namespace ds_calibrate;

namespace {

constexpr const char *kProbePrefix = "ds.calibration:";

struct Options {
  std::string model, data, table;
  cal::Method method = cal::Method::MinMax;
  double percentile = 99.99;
  /// SmoothQuant's alpha; 0 for none.
  double smoothQuant = 0.0;
  int threads = 0;
  long maxSamples = -1;
  std::vector<std::string> compileArgs;
  /// --precision: measure each op in this low type instead (fp16, bf16).
  std::string precision;
  /// Whether a range flag (--method, --percentile) was given.
  bool rangeFlags = false;
  /// --attention-window or a block layout: measure attention heads under
  /// this pattern instead.
  ds_calibrate::AttentionPattern attention;
  double attentionKeep = 0.9;
  bool attentionFlags = false;
};

[[noreturn]] void usage(const std::string &message) {
  std::fprintf(stderr, "ds-calibrate: %s\n", message.c_str());
  std::fprintf(stderr, "usage: ds-calibrate model.onnx DATA -o table.txt "
                       "[--method=minmax|percentile|entropy] [--percentile=P] [--threads N] "
                       "[--smooth-quant=ALPHA] [--max-samples N] [--precision=fp16|bf16|fp8] "
                       "[--attention-window=W [--attention-sinks=N] [--attention-keep=F]] "
                       "[--attention-local-blocks=N --attention-stride-blocks=N "
                       "--attention-global-blocks=N --attention-block-size=B] "
                       "[-- ds-compile flags]\n");
  std::exit(2);
}

double number(const std::string &flag, const std::string &text) {
  char *end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end)
    usage(flag + ": '" + text + "' is not a number");
  return v;
}

Options parse(int argc, char **argv) {
  Options o;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      o.compileArgs.assign(argv + i + 1, argv + argc);
      break;
    }
    std::string key = a.substr(0, a.find('='));
    auto value = [&]() -> std::string {
      if (a.find('=') != std::string::npos && a.rfind("--", 0) == 0)
        return a.substr(a.find('=') + 1);
      if (i + 1 >= argc)
        usage("missing value for " + a);
      return argv[++i];
    };
    if (key == "-o") o.table = value();
    else if (key == "--precision") {
      o.precision = value();
      if (!cal::isPrecisionTableType(o.precision))
        usage("--precision: '" + o.precision + "' is not fp16, bf16 or fp8");
    } else if (key == "--method") {
      o.rangeFlags = true;
      std::string m = value();
      if (!cal::parseMethod(m, o.method))
        usage("--method: '" + m + "' is not minmax, percentile or entropy");
    } else if (key == "--percentile") {
      o.rangeFlags = true;
      o.percentile = number(key, value());
      if (!(o.percentile > 0.0 && o.percentile <= 100.0))
        usage("--percentile must be in (0, 100]");
    } else if (key == "--smooth-quant") {
      o.smoothQuant = number(key, value());
      if (!(o.smoothQuant > 0.0 && o.smoothQuant <= 1.0))
        usage("--smooth-quant: alpha must be in (0, 1]");
    } else if (long *count = key == "--attention-window"          ? &o.attention.window
                             : key == "--attention-sinks"         ? &o.attention.sinks
                             : key == "--attention-block-size"    ? &o.attention.blockSize
                             : key == "--attention-local-blocks"  ? &o.attention.localBlocks
                             : key == "--attention-stride-blocks" ? &o.attention.strideBlocks
                             : key == "--attention-global-blocks" ? &o.attention.globalBlocks
                                                                  : nullptr) {
      o.attentionFlags = true;
      double n = number(key, value());
      if (!(n >= 0 && n <= 1e9) || n != (double)(long)n)
        usage(key + " must be a count");
      *count = (long)n;
    } else if (key == "--attention-keep") {
      o.attentionFlags = true;
      o.attentionKeep = number(key, value());
      if (!(o.attentionKeep > 0.0 && o.attentionKeep <= 1.0))
        usage("--attention-keep must be in (0, 1]");
    } else if (key == "--threads") {
      double n = number(key, value());
      if (!(n >= 0 && n <= 1024))
        usage("--threads must be in [0, 1024]");
      o.threads = (int)n;
    } else if (key == "--max-samples") {
      double n = number(key, value());
      if (!(n >= 0 && n <= 1e15))
        usage("--max-samples must be a non-negative count");
      o.maxSamples = (long)n;
    }
    else if (a == "-h" || a == "--help") usage("calibrates a model for --quantize=static (ranges) or --precision=auto "
                   "(--precision: each op's error in fp16 / bf16)");
    else if (a.rfind("-", 0) == 0) usage("unknown option " + a);
    else positional.push_back(a);
  }
  if (positional.size() != 2)
    usage("expected a model and a data folder");
  if (!o.precision.empty() && (o.rangeFlags || o.smoothQuant > 0.0))
    usage("--precision measures errors, not ranges: --method, --percentile and --smooth-quant "
          "are for static quantization");
  if (o.attentionFlags && (o.attention.window > 0) == o.attention.layout())
    usage("attention calibration measures one pattern: --attention-window > 0 (with "
          "--attention-sinks) or a block layout (--attention-local-blocks, "
          "--attention-stride-blocks, --attention-global-blocks)");
  if (o.attention.layout() && (o.attention.sinks != 0 || o.attention.blockSize < 1 ||
                               o.attention.blockSize > 1024))
    usage("a block layout takes no --attention-sinks and an --attention-block-size in "
          "[1, 1024]");
  if (o.attentionFlags && (!o.precision.empty() || o.rangeFlags || o.smoothQuant > 0.0))
    usage("attention calibration measures attention heads: --precision, --method, "
          "--percentile and --smooth-quant are other calibrations");
  if (o.smoothQuant > 0.0 && endsWith(positional[0], ".dsx"))
    usage("--smooth-quant compiles the model twice: give the .onnx model, not an artifact");
  if (o.table.empty())
    usage("missing -o table.txt");
  o.model = positional[0];
  o.data = positional[1];
  struct stat st;
  if (stat(o.data.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    usage("'" + o.data + "' is not a folder");
  return o;
}

/// What one calibration pass saw: each probe's key and statistics.
struct Pass {
  std::vector<std::string> keys;
  std::vector<cal::RangeCollector> collectors;
  size_t samples = 0;
};

/// Runs the probes artifact on every sample; `channels` also keeps the
/// per-channel statistics SmoothQuant needs. False after an error message.
bool runPass(const Options &opts, const std::string &artifact, bool channels, const char *label,
             Pass &pass) {
  ds::Model model(artifact);
  // The probes: the outputs ds-insert-calibration-probes added.
  std::vector<int> outputs;
  for (int i = 0; i < model.numOutputs(); ++i) {
    std::string name = model.output(i).name;
    if (name.rfind(kProbePrefix, 0) == 0) {
      outputs.push_back(i);
      pass.keys.push_back(name.substr(std::strlen(kProbePrefix)));
    }
  }
  if (outputs.empty()) {
    std::fprintf(stderr, "ds-calibrate: %s has no matmul or convolution that static "
                         "quantization would quantize (f32, with a constant weight)\n",
                 opts.model.c_str());
    return false;
  }
  std::vector<Sample> samples;
  if (!loadSamples(opts.data, model, opts.maxSamples, samples))
    return false;
  ds::Session session(model, opts.threads);
  pass.collectors.assign(outputs.size(), cal::RangeCollector());
  auto seen = [&](ds::Session &run) {
    for (size_t p = 0; p < outputs.size(); ++p) {
      ds_tensor t = run.output(outputs[p]);
      if (t.dtype != DS_F32) {
        std::fprintf(stderr, "\nds-calibrate: probe '%s' is %s, not f32\n", pass.keys[p].c_str(),
                     ds_dtype_name(t.dtype));
        return false;
      }
      size_t lastDim = t.rank ? (size_t)t.dims[t.rank - 1] : 1;
      pass.collectors[p].add(static_cast<const float *>(t.data), t.byte_size / sizeof(float),
                             channels ? lastDim : 0);
    }
    return true;
  };
  if (!runSamples(session, samples, label, seen))
    return false;
  pass.samples = samples.size();
  return true;
}

cal::Table tableOf(const Options &opts, const Pass &pass) {
  cal::Table table;
  table.method = opts.method;
  table.samples = pass.samples;
  for (size_t p = 0; p < pass.keys.size(); ++p) {
    const cal::RangeCollector &c = pass.collectors[p];
    if (c.nonFinite())
      std::fprintf(stderr, "ds-calibrate: warning: '%s' held %llu NaN or infinite values, left "
                           "out of its range\n",
                   pass.keys[p].c_str(), (unsigned long long)c.nonFinite());
    table.entries.push_back({pass.keys[p], c.range(opts.method, opts.percentile),
                             c.channelAbsMax()});
  }
  return table;
}

/// Compiles the probes artifact (with `table`, SmoothQuant's first-pass
/// statistics, when not empty) and runs a pass over the data.
bool compileAndRun(const Options &opts, const std::string &table, bool channels,
                   const char *label, Pass &pass) {
  // A .dsx is a probes artifact compiled already (ds-compile
  // --calibration-probes); anything else is a model for ds-compile.
  std::string artifact = opts.model;
  bool compiled = !endsWith(artifact, ".dsx");
  if (compiled) {
    std::vector<std::string> args = {"--calibration-probes"};
    if (!table.empty())
      args.push_back("--calibration-table=" + table);
    args.insert(args.end(), opts.compileArgs.begin(), opts.compileArgs.end());
    if (!dsrun::compileModel("ds-calibrate", opts.model, args, artifact))
      return false;
  }
  bool ok;
  try {
    ok = runPass(opts, artifact, channels, label, pass);
  } catch (const ds::Error &e) {
    std::fprintf(stderr, "ds-calibrate: %s\n", e.what());
    ok = false;
  }
  if (compiled)
    std::remove(artifact.c_str());
  return ok;
}

int calibrate(const Options &opts) {
  bool smooth = opts.smoothQuant > 0.0;
  Pass first;
  if (!compileAndRun(opts, "", smooth, smooth ? "pass 1/2" : "", first))
    return 1;
  cal::Table table = tableOf(opts, first);
  if (smooth) {
    // The second pass measures the activations as smoothed with the first
    // pass's channel statistics; the table keeps those statistics so that
    // the compile smooths the same way.
    table.smoothQuantAlpha = opts.smoothQuant;
    std::string statistics = opts.table + ".pass1." + std::to_string(getpid());
    if (!writeTable(statistics, cal::formatTable(table))) {
      std::fprintf(stderr, "ds-calibrate: cannot write '%s': %s\n", statistics.c_str(),
                   std::strerror(errno));
      return 1;
    }
    Pass second;
    bool ok = compileAndRun(opts, statistics, false, "pass 2/2", second);
    std::remove(statistics.c_str());
    if (!ok)
      return 1;
    cal::Table smoothed = tableOf(opts, second);
    for (cal::TableEntry &entry : table.entries) {
      auto after = std::find_if(smoothed.entries.begin(), smoothed.entries.end(),
                                [&](const cal::TableEntry &e) { return e.name == entry.name; });
      if (after == smoothed.entries.end()) {
        std::fprintf(stderr, "ds-calibrate: '%s' is not probed after smoothing\n",
                     entry.name.c_str());
        return 1;
      }
      entry.range = after->range;
    }
  }
  if (!writeTable(opts.table, cal::formatTable(table))) {
    std::fprintf(stderr, "ds-calibrate: cannot write '%s': %s\n", opts.table.c_str(),
                 std::strerror(errno));
    return 1;
  }
  std::printf("ds-calibrate: %zu activations over %llu samples (%s%s) -> %s\n",
              table.entries.size(), (unsigned long long)table.samples,
              cal::methodName(opts.method), smooth ? ", SmoothQuant" : "", opts.table.c_str());
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  Options opts = parse(argc, argv);
  if (opts.attentionFlags)
    return calibrateAttentionHeads({opts.model, opts.data, opts.table, opts.attention,
                                    opts.attentionKeep, opts.threads, opts.maxSamples,
                                    opts.compileArgs});
  if (opts.precision.empty())
    return calibrate(opts);
  return calibratePrecision({opts.model, opts.data, opts.table, opts.precision, opts.threads,
                             opts.maxSamples, opts.compileArgs});
}
