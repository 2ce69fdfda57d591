//===- ds-calibrate.cpp - activation ranges for static quantization -------===//
//
//   ds-calibrate model.onnx DATA -o table.txt [--method=minmax|percentile|entropy]
//                [--percentile=P] [--threads N] [--max-samples N] [-- ds-compile flags]
//
// The calibration step of post-training static quantization: compiles the
// model with its quantizable activations as extra outputs (ds-compile
// --calibration-probes), runs it on every sample in DATA, and writes each
// activation's range under the method to a calibration table, which
// `ds-compile --quantize=static --calibration-table=table.txt` reads.
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

namespace cal = ds::calibration;

namespace {

constexpr const char *kProbePrefix = "ds.calibration:";

struct Options {
  std::string model, data, table;
  cal::Method method = cal::Method::MinMax;
  double percentile = 99.99;
  int threads = 0;
  long maxSamples = -1;
  std::vector<std::string> compileArgs;
};

[[noreturn]] void usage(const std::string &message) {
  std::fprintf(stderr, "ds-calibrate: %s\n", message.c_str());
  std::fprintf(stderr,
               "usage: ds-calibrate model.onnx DATA -o table.txt "
               "[--method=minmax|percentile|entropy] [--percentile=P] [--threads N] "
               "[--max-samples N] [-- ds-compile flags]\n");
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
    else if (key == "--method") {
      std::string m = value();
      if (!cal::parseMethod(m, o.method))
        usage("--method: '" + m + "' is not minmax, percentile or entropy");
    } else if (key == "--percentile") {
      o.percentile = number(key, value());
      if (!(o.percentile > 0.0 && o.percentile <= 100.0))
        usage("--percentile must be in (0, 100]");
    } else if (key == "--threads") o.threads = (int)number(key, value());
    else if (key == "--max-samples") o.maxSamples = (long)number(key, value());
    else if (a == "-h" || a == "--help") usage("calibrates a model for --quantize=static");
    else if (a.rfind("-", 0) == 0) usage("unknown option " + a);
    else positional.push_back(a);
  }
  if (positional.size() != 2)
    usage("expected a model and a data folder");
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

bool endsWith(const std::string &s, const char *suffix) {
  size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

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

std::vector<Sample> findSamples(const std::string &data, const ds::Model &model) {
  std::vector<Sample> samples;
  std::vector<std::string> entries = listDir(data);
  bool folders = std::any_of(entries.begin(), entries.end(),
                             [&](const std::string &e) { return isDir(data + "/" + e); });
  if (!folders) {
    if (model.numInputs() != 1)
      usage("'" + data + "' holds files, not one folder per sample (the model has " +
            std::to_string(model.numInputs()) + " inputs)");
    for (const std::string &e : entries)
      if (endsWith(e, ".npy") || endsWith(e, ".pb"))
        samples.push_back({data + "/" + e});
    return samples;
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
        usage("sample '" + dir + "' has no file for input " + std::to_string(i) + " '" + name +
              "' (" + fileSafe(name) + ".npy or input_" + std::to_string(i) + ".pb)");
      sample.push_back(*found);
    }
    samples.push_back(sample);
  }
  return samples;
}

/// A progress bar on stderr when it is a terminal.
void progress(size_t done, size_t total) {
  static const bool terminal = isatty(STDERR_FILENO);
  if (!terminal)
    return;
  constexpr int kWidth = 30;
  int filled = total ? (int)(kWidth * done / total) : kWidth;
  std::fprintf(stderr, "\rds-calibrate: [%s%s] %zu/%zu samples", std::string(filled, '#').c_str(),
               std::string(kWidth - filled, '.').c_str(), done, total);
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

int calibrate(const Options &opts, const std::string &artifact) {
  ds::Model model(artifact);
  // The probes: the outputs ds-insert-calibration-probes added.
  std::map<int, std::string> probes;
  for (int i = 0; i < model.numOutputs(); ++i) {
    std::string name = model.output(i).name;
    if (name.rfind(kProbePrefix, 0) == 0)
      probes[i] = name.substr(std::strlen(kProbePrefix));
  }
  if (probes.empty()) {
    std::fprintf(stderr, "ds-calibrate: %s has no matmul that static quantization would "
                         "quantize (an f32 matmul with a constant weight)\n",
                 opts.model.c_str());
    return 1;
  }
  std::vector<Sample> samples = findSamples(opts.data, model);
  if (opts.maxSamples >= 0 && samples.size() > (size_t)opts.maxSamples)
    samples.resize((size_t)opts.maxSamples);
  if (samples.empty()) {
    std::fprintf(stderr, "ds-calibrate: '%s' holds no samples\n", opts.data.c_str());
    return 1;
  }
  ds::Session session(model, opts.threads);
  std::map<int, cal::RangeCollector> collectors;
  for (size_t s = 0; s < samples.size(); ++s) {
    progress(s, samples.size());
    std::vector<dsrun::HostTensor> inputs(samples[s].size());
    std::vector<ds::TensorRef> refs;
    for (size_t i = 0; i < inputs.size(); ++i) {
      std::string error;
      if (!dsrun::readTensorFile(samples[s][i], inputs[i], error)) {
        std::fprintf(stderr, "\nds-calibrate: %s\n", error.c_str());
        return 1;
      }
      refs.push_back(ds::TensorRef{inputs[i].dtype, inputs[i].dims, inputs[i].data.data(),
                                   inputs[i].data.size()});
    }
    try {
      session.run(refs);
    } catch (const ds::Error &e) {
      std::fprintf(stderr, "\nds-calibrate: sample %s: %s\n", samples[s][0].c_str(), e.what());
      return 1;
    }
    for (const auto &[index, key] : probes) {
      ds_tensor t = session.output(index);
      if (t.dtype != DS_F32) {
        std::fprintf(stderr, "\nds-calibrate: probe '%s' is %s, not f32\n", key.c_str(),
                     ds_dtype_name(t.dtype));
        return 1;
      }
      collectors[index].add(static_cast<const float *>(t.data), t.byte_size / sizeof(float));
    }
  }
  progress(samples.size(), samples.size());
  cal::Table table;
  table.method = opts.method;
  table.samples = samples.size();
  for (const auto &[index, key] : probes) {
    const cal::RangeCollector &c = collectors[index];
    if (c.nonFinite())
      std::fprintf(stderr, "ds-calibrate: warning: '%s' held %llu NaN or infinite values, left "
                           "out of its range\n",
                   key.c_str(), (unsigned long long)c.nonFinite());
    table.entries.push_back({key, c.range(opts.method, opts.percentile)});
  }
  if (!writeTable(opts.table, cal::formatTable(table))) {
    std::fprintf(stderr, "ds-calibrate: cannot write '%s': %s\n", opts.table.c_str(),
                 std::strerror(errno));
    return 1;
  }
  std::printf("ds-calibrate: %zu activations over %zu samples (%s) -> %s\n", probes.size(),
              samples.size(), cal::methodName(opts.method), opts.table.c_str());
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  Options opts = parse(argc, argv);
  std::string artifact = opts.model;
  bool compiled = endsWith(artifact, ".onnx");
  if (compiled) {
    std::vector<std::string> args = {"--calibration-probes"};
    args.insert(args.end(), opts.compileArgs.begin(), opts.compileArgs.end());
    if (!dsrun::compileModel("ds-calibrate", opts.model, args, artifact))
      return 1;
  }
  int rc;
  try {
    rc = calibrate(opts, artifact);
  } catch (const ds::Error &e) {
    std::fprintf(stderr, "ds-calibrate: %s\n", e.what());
    rc = 1;
  }
  if (compiled)
    std::remove(artifact.c_str());
  return rc;
}
