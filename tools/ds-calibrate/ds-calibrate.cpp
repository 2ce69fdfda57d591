//===- ds-calibrate.cpp - activation ranges for static quantization -------===//
//
//   ds-calibrate model.onnx DATA -o table.txt [--method=minmax|percentile|entropy]
//                [--percentile=P] [--smooth-quant=ALPHA] [--threads N] [--max-samples N]
//                [-- ds-compile flags]
//
// The calibration step of post-training static quantization: compiles the
// model with its quantizable activations as extra outputs (ds-compile
// --calibration-probes), runs it on every sample in DATA, and writes each
// activation's range under the method to a calibration table, which
// `ds-compile --quantize=static --calibration-table=table.txt` reads. With
// --smooth-quant it calibrates twice: per-channel statistics, then the
// ranges of the activations smoothed with them (ds-smooth-quant).
//
// DATA holds one sub-folder per sample with one file per model input, named
// after the input (`<name>.npy`, '/' written as '_') or by position
// (`input_<i>.pb` / `input_<i>.npy`, the ONNX test-data layout); for a model
// with one input, DATA may instead hold one .npy or .pb file per sample.
// Runs on the runtime's C++ wrappers (no LLVM), like ds-run.
//
//===----------------------------------------------------------------------===//
#include "CompileModel.h"
#include "Npy.h"
#include "ds-runtime/ds_runtime.hpp"
#include "ds/Calibration/Calibration.h"

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
};

[[noreturn]] void usage(const std::string &message) {
  std::fprintf(stderr, "ds-calibrate: %s\n", message.c_str());
  std::fprintf(stderr,
               "usage: ds-calibrate model.onnx DATA -o table.txt "
               "[--method=minmax|percentile|entropy] [--percentile=P] [--threads N] "
               "[--smooth-quant=ALPHA] [--max-samples N] [-- ds-compile flags]\n");
  std::exit(2);
}

double number(const std::string &flag, const std::string &text) {
  char *end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end)
    usage(flag + ": '" + text + "' is not a number");
  return v;
}

bool endsWith(const std::string &s, const char *suffix) {
  size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
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
    else if (key == "--method") {
      std::string m = value();
      if (!cal::parseMethod(m, o.method))
        usage("--method: '" + m + "' is not minmax, percentile or entropy");
    } else if (key == "--percentile") {
      o.percentile = number(key, value());
      if (!(o.percentile > 0.0 && o.percentile <= 100.0))
        usage("--percentile must be in (0, 100]");
    } else if (key == "--smooth-quant") {
      o.smoothQuant = number(key, value());
      if (!(o.smoothQuant > 0.0 && o.smoothQuant <= 1.0))
        usage("--smooth-quant: alpha must be in (0, 1]");
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
    else if (a == "-h" || a == "--help") usage("calibrates a model for --quantize=static");
    else if (a.rfind("-", 0) == 0) usage("unknown option " + a);
    else positional.push_back(a);
  }
  if (positional.size() != 2)
    usage("expected a model and a data folder");
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

bool isDir(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string &path) { return access(path.c_str(), F_OK) == 0; }

/// The entries of a folder, sorted, without dot files.
std::vector<std::string> listDir(const std::string &dir) {
  std::vector<std::string> names;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d))
      if (e->d_name[0] != '.')
        names.push_back(e->d_name);
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

/// One sample: a file per model input.
using Sample = std::vector<std::string>;

std::string fileSafe(std::string name) {
  std::replace(name.begin(), name.end(), '/', '_');
  return name;
}

/// False with `error` for a folder that is not laid out as the header says
/// (no exit here: the caller removes its temporary files).
bool findSamples(const std::string &data, const ds::Model &model, std::vector<Sample> &samples,
                 std::string &error) {
  std::vector<std::string> entries = listDir(data);
  bool folders = std::any_of(entries.begin(), entries.end(),
                             [&](const std::string &e) { return isDir(data + "/" + e); });
  if (!folders) {
    if (model.numInputs() != 1)
      return (error = "'" + data + "' holds files, not one folder per sample (the model has " +
                      std::to_string(model.numInputs()) + " inputs)",
              false);
    for (const std::string &e : entries)
      if (endsWith(e, ".npy") || endsWith(e, ".pb"))
        samples.push_back({data + "/" + e});
    return true;
  }
  for (const std::string &e : entries) {
    std::string dir = data + "/" + e;
    if (!isDir(dir))
      continue;
    Sample sample;
    for (int i = 0; i < model.numInputs(); ++i) {
      std::string name = model.input(i).name;
      std::vector<std::string> candidates = {dir + "/" + fileSafe(name) + ".npy",
                                             dir + "/input_" + std::to_string(i) + ".pb",
                                             dir + "/input_" + std::to_string(i) + ".npy"};
      auto found = std::find_if(candidates.begin(), candidates.end(), exists);
      if (found == candidates.end())
        return (error = "sample '" + dir + "' has no file for input " + std::to_string(i) +
                        " '" + name + "' (" + fileSafe(name) + ".npy or input_" +
                        std::to_string(i) + ".pb)",
                false);
      sample.push_back(*found);
    }
    samples.push_back(sample);
  }
  return true;
}

/// A progress bar on stderr when it is a terminal.
void progress(const char *label, size_t done, size_t total) {
  static const bool terminal = isatty(STDERR_FILENO);
  if (!terminal)
    return;
  constexpr int kWidth = 30;
  int filled = total ? (int)(kWidth * done / total) : kWidth;
  std::fprintf(stderr, "\rds-calibrate: %s%s[%s%s] %zu/%zu samples", label, *label ? " " : "",
               std::string(filled, '#').c_str(), std::string(kWidth - filled, '.').c_str(), done,
               total);
  if (done == total)
    std::fputc('\n', stderr);
  std::fflush(stderr);
}

bool writeTable(const std::string &path, const std::string &text) {
  std::string temp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(temp, std::ios::binary);
    out << text;
    if (!out.flush()) {
      std::remove(temp.c_str());
      return false;
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    return false;
  }
  return true;
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
  std::string error;
  if (!findSamples(opts.data, model, samples, error)) {
    std::fprintf(stderr, "ds-calibrate: %s\n", error.c_str());
    return false;
  }
  if (opts.maxSamples >= 0 && samples.size() > (size_t)opts.maxSamples)
    samples.resize((size_t)opts.maxSamples);
  if (samples.empty()) {
    std::fprintf(stderr, "ds-calibrate: '%s' holds no samples\n", opts.data.c_str());
    return false;
  }
  ds::Session session(model, opts.threads);
  pass.collectors.assign(outputs.size(), cal::RangeCollector());
  for (size_t s = 0; s < samples.size(); ++s) {
    progress(label, s, samples.size());
    std::vector<dsrun::HostTensor> inputs(samples[s].size());
    std::vector<ds::TensorRef> refs;
    for (size_t i = 0; i < inputs.size(); ++i) {
      std::string error;
      if (!dsrun::readTensorFile(samples[s][i], inputs[i], error)) {
        std::fprintf(stderr, "\nds-calibrate: %s\n", error.c_str());
        return false;
      }
      refs.push_back(ds::TensorRef{inputs[i].dtype, inputs[i].dims, inputs[i].data.data(),
                                   inputs[i].data.size()});
    }
    try {
      session.run(refs);
    } catch (const ds::Error &e) {
      std::fprintf(stderr, "\nds-calibrate: sample %s: %s\n", samples[s][0].c_str(), e.what());
      return false;
    }
    for (size_t p = 0; p < outputs.size(); ++p) {
      ds_tensor t = session.output(outputs[p]);
      if (t.dtype != DS_F32) {
        std::fprintf(stderr, "\nds-calibrate: probe '%s' is %s, not f32\n", pass.keys[p].c_str(),
                     ds_dtype_name(t.dtype));
        return false;
      }
      size_t lastDim = t.rank ? (size_t)t.dims[t.rank - 1] : 1;
      pass.collectors[p].add(static_cast<const float *>(t.data), t.byte_size / sizeof(float),
                             channels ? lastDim : 0);
    }
  }
  progress(label, samples.size(), samples.size());
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

int main(int argc, char **argv) { return calibrate(parse(argc, argv)); }
