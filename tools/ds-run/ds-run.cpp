//===- ds-run.cpp - load an artifact, run it, time it ---------------------===//
//
//   ds-run model.dsx [--input name=file.npy|file.pb]... [--inputs-dir DIR]
//          [--threads N] [--warmup N] [--runs N] [--pause MS] [--output-dir DIR]
//          [--expect-dir DIR [--rtol R] [--atol A]] [--seed S]
//          [--max-random-bytes N] [--shape name=DIMS]... [--quiet]
//
// A model given as .onnx is compiled first with the ds-compile next to this
// binary (or on PATH). Inputs not given take the model's default (an ONNX
// initializer that is also an input) or else seeded random data, at most
// --max-random-bytes (default 4 GiB) per input; an input with dynamic dims
// needs --shape name=1x128 for random data (each invocation may give other
// shapes to one artifact). Outputs go to
// DIR/<output name>.npy ('/' in a name becomes '_'), each written under a
// temporary name and renamed. --expect-dir compares with DIR/output_<i>.pb or
// .npy (exit 3 on a mismatch, a missing expected output, or an expected output
// the model does not produce). Runs on the runtime's C++ wrappers only (no
// LLVM), like an application would. --pause sleeps that many milliseconds
// before each timed run, as a server between requests: idle worker threads
// (and the cores under them) then have to wake up for every run.
//
//===----------------------------------------------------------------------===//
#include "Compare.h"
#include "CompileModel.h"
#include "Npy.h"
#include "ds-runtime/ds_runtime.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <map>
#include <new>
#include <random>
#include <set>
#include <sys/resource.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace {
struct Options {
  std::string model;
  std::map<std::string, std::string> inputs;          ///< name -> file
  std::map<std::string, std::vector<int64_t>> shapes; ///< name -> dims of random data
  std::string inputsDir, outputDir, expectDir;
  int threads = 0, warmup = 2, runs = 10;
  double pauseMs = 0.0;
  unsigned seed = 0;
  double rtol = 1e-3, atol = 1e-7;
  double maxRandomBytes = 4.0 * (1ull << 30);
  bool quiet = false;
};

const char kUsage[] = "usage: ds-run model.dsx|model.onnx [--input name=file.npy|file.pb]... "
                      "[--inputs-dir DIR] [--threads N] [--warmup N] [--runs N] [--pause MS] "
                      "[--output-dir DIR] "
                      "[--expect-dir DIR] [--rtol R] [--atol A] [--seed S] "
                      "[--max-random-bytes N] [--shape name=DIMS]... [--quiet]\n";

[[noreturn]] void usage(const char *message) {
  std::fprintf(stderr, "ds-run: %s\n", message);
  std::fputs(kUsage, stderr);
  std::exit(2);
}

/// --help: what each option does, on stdout, and a zero exit.
[[noreturn]] void help() {
  std::fputs("ds-run: runs a compiled artifact (or an .onnx model, compiled first) on the CPU and "
             "times it\n",
             stdout);
  std::fputs(kUsage, stdout);
  std::fputs(
      "  --input name=FILE      an input from a .npy or TensorProto .pb file (repeatable)\n"
      "  --inputs-dir DIR       inputs from DIR/input_<i>.pb (the ONNX test-case layout)\n"
      "  --shape name=DIMS      dims of a dynamic input given random values, e.g. 1x128\n"
      "                         (inputs not given: the model's default, else random)\n"
      "  --seed S               seed of the random inputs (default 0)\n"
      "  --max-random-bytes N   largest random input (default 4 GiB)\n"
      "  --threads N            threads (default 0: all cores)\n"
      "  --warmup N, --runs N   untimed runs, then timed runs (defaults 2 and 10)\n"
      "  --pause MS             sleep before each timed run (idle workers must wake)\n"
      "  --output-dir DIR       write each output to DIR/<name>.npy\n"
      "  --expect-dir DIR       compare with DIR/output_<i>.pb or .npy within --rtol (1e-3)\n"
      "                         and --atol (1e-7); exit 3 on a mismatch\n"
      "  --quiet                no input, output or timing lines\n"
      "Environment: DS_CPU_PROFILE=1 prints time per op kind after the runs.\n",
      stdout);
  std::exit(0);
}

Options parse(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      size_t eq = a.find('=');
      if (eq != std::string::npos && a.rfind("--", 0) == 0 && a.find("--input=") != 0)
        return a.substr(eq + 1);
      if (i + 1 >= argc)
        usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    auto key = a.substr(0, a.find('='));
    auto number = [&](const std::string &v) {
      char *end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      if (!end || *end)
        usage(("bad number '" + v + "' for " + key).c_str());
      return d;
    };
    if (a == "--help" || a == "-h") {
      help();
    } else if (key == "--input") {
      std::string v = a.find('=') != std::string::npos ? a.substr(a.find('=') + 1) : value();
      size_t eq = v.find('=');
      if (eq == std::string::npos)
        usage("--input takes name=file");
      o.inputs[v.substr(0, eq)] = v.substr(eq + 1);
    } else if (key == "--shape") {
      std::string v = value();
      size_t eq = v.find('=');
      if (eq == std::string::npos)
        usage("--shape takes name=DIMS (e.g. input_ids=1x128, or name=scalar)");
      std::vector<int64_t> dims;
      std::string text = v.substr(eq + 1);
      for (size_t at = 0; text != "scalar" && at <= text.size();) {
        size_t x = std::min(text.find('x', at), text.size());
        std::string part = text.substr(at, x - at);
        char *end = nullptr;
        long long d = std::strtoll(part.c_str(), &end, 10);
        if (part.empty() || !end || *end || d < 0)
          usage(("bad dim '" + part + "' in --shape " + v).c_str());
        dims.push_back(d);
        at = x + 1;
      }
      o.shapes[v.substr(0, eq)] = dims;
    } else if (key == "--inputs-dir")
      o.inputsDir = value();
    else if (key == "--output-dir")
      o.outputDir = value();
    else if (key == "--expect-dir")
      o.expectDir = value();
    else if (key == "--threads")
      o.threads = (int)number(value());
    else if (key == "--warmup")
      o.warmup = (int)number(value());
    else if (key == "--runs")
      o.runs = (int)number(value());
    else if (key == "--pause")
      o.pauseMs = number(value());
    else if (key == "--seed")
      o.seed = (unsigned)number(value());
    else if (key == "--rtol")
      o.rtol = number(value());
    else if (key == "--atol")
      o.atol = number(value());
    else if (key == "--max-random-bytes")
      o.maxRandomBytes = number(value());
    else if (key == "--quiet")
      o.quiet = true;
    else if (a.rfind("-", 0) == 0)
      usage(("unknown option " + a).c_str());
    else if (o.model.empty())
      o.model = a;
    else
      usage("more than one model given");
  }
  if (o.model.empty())
    usage("no model given");
  if (o.runs < 1 || o.warmup < 0 || o.threads < 0 || !(o.maxRandomBytes >= 0))
    usage("--runs must be >= 1, --warmup, --threads and --max-random-bytes >= 0");
  if (!(o.pauseMs >= 0.0 && o.pauseMs <= 60000.0))
    usage("--pause must be 0 to 60000 milliseconds");
  struct stat st;
  if (!o.expectDir.empty() && (stat(o.expectDir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)))
    usage(("--expect-dir '" + o.expectDir + "' is not a directory").c_str());
  return o;
}

void fillRandom(dsrun::HostTensor &t, std::mt19937 &rng) {
  size_t n = t.data.size() / std::max<size_t>(1, ds_dtype_size(t.dtype));
  std::uniform_real_distribution<float> uniform(-1.f, 1.f);
  std::uniform_int_distribution<int> small(0, 3);
  for (size_t i = 0; i < n; ++i) {
    switch (t.dtype) {
    case DS_F32:
      ((float *)t.data.data())[i] = uniform(rng);
      break;
    case DS_F64:
      ((double *)t.data.data())[i] = uniform(rng);
      break;
    case DS_I64:
      ((int64_t *)t.data.data())[i] = small(rng);
      break;
    case DS_I32:
      ((int32_t *)t.data.data())[i] = small(rng);
      break;
    case DS_BOOL:
      t.data[i] = small(rng) != 0;
      break;
    default:
      t.data[i * ds_dtype_size(t.dtype)] = (unsigned char)small(rng);
      break;
    }
  }
}

std::string dimsText(const int64_t *dims, int32_t rank) {
  std::string s;
  for (int32_t i = 0; i < rank; ++i)
    s += (i ? "x" : "") + std::to_string(dims[i]);
  return s.empty() ? "scalar" : s;
}

/// Bytes of a random input with these dims, or a message saying why there is none.
bool randomInputBytes(const ds_value_info &info, double limit, size_t &bytes, std::string &error) {
  uint64_t n = ds_dtype_size(info.dtype);
  for (int32_t k = 0; k < info.rank; ++k) {
    if (info.dims[k] < 0)
      return (error = "has a dynamic dim; give it with --input or its dims with --shape", false);
    if (info.dims[k] && n > UINT64_MAX / (uint64_t)info.dims[k])
      return (error = "is too large for random data", false);
    n *= (uint64_t)info.dims[k];
  }
  if ((double)n > limit) {
    char text[160];
    std::snprintf(text, sizeof text,
                  "would take %.4g GiB of random data, above --max-random-bytes (%.4g GiB); give "
                  "it with --input or raise the limit",
                  n / 1073741824.0, limit / 1073741824.0);
    return (error = text, false);
  }
  bytes = (size_t)n;
  return true;
}

/// A file name for an output: its name with '/' replaced, never '.' or '..'.
std::string outputFileName(const std::string &name) {
  std::string s = name;
  std::replace(s.begin(), s.end(), '/', '_');
  if (s.empty() || s == "." || s == "..")
    s = "_" + s;
  return s + ".npy";
}

/// One file name per output. Two names can map to one file ('a/b' and 'a_b');
/// a later output then gets its index appended ('a_b.1.npy') rather than
/// overwriting the earlier one's file, and a note says so.
std::vector<std::string> outputFileNames(const ds::Model &model) {
  std::vector<std::string> names;
  std::set<std::string> taken;
  for (int i = 0; i < model.numOutputs(); ++i)
    names.push_back(outputFileName(model.output(i).name));
  std::vector<bool> duplicate(names.size());
  for (size_t i = 0; i < names.size(); ++i)
    duplicate[i] = !taken.insert(names[i]).second;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!duplicate[i])
      continue;
    std::string stem = names[i].substr(0, names[i].size() - 4), unique;
    for (std::string tag = "." + std::to_string(i);; tag += "_") // never a name in use
      if (taken.insert(unique = stem + tag + ".npy").second)
        break;
    std::fprintf(stderr,
                 "ds-run: note: output %zu '%s' is written as '%s' ('%s' is taken by "
                 "an earlier output)\n",
                 i, model.output((int)i).name, unique.c_str(), names[i].c_str());
    names[i] = unique;
  }
  return names;
}

/// Indices of the expected outputs in DIR (output_<i>.pb / .npy).
std::vector<long> expectedOutputIndices(const std::string &dir) {
  std::vector<long> found;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d)) {
      std::string name = e->d_name;
      size_t dot = name.rfind('.');
      if (name.rfind("output_", 0) != 0 || dot == std::string::npos ||
          (name.substr(dot) != ".pb" && name.substr(dot) != ".npy"))
        continue;
      std::string digits = name.substr(7, dot - 7);
      if (!digits.empty() && digits.size() < 9 &&
          digits.find_first_not_of("0123456789") == std::string::npos)
        found.push_back(std::stol(digits));
    }
    closedir(d);
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  return found;
}

bool fileExists(const std::string &path) { return access(path.c_str(), F_OK) == 0; }

bool readTensorFile(const std::string &path, dsrun::HostTensor &t) {
  std::string error;
  bool ok = dsrun::readTensorFile(path, t, error);
  if (!ok)
    std::fprintf(stderr, "ds-run: %s\n", error.c_str());
  return ok;
}
} // namespace

int main(int argc, char **argv) {
  Options opts = parse(argc, argv);
  std::string artifact = opts.model;
  bool compiled = artifact.size() > 5 && artifact.substr(artifact.size() - 5) == ".onnx";
  if (compiled && !dsrun::compileModel("ds-run", opts.model, {}, artifact))
    return 1;
  try {
    ds::Model model(artifact);
    if (compiled)
      std::remove(artifact.c_str());
    std::mt19937 rng(opts.seed);
    std::vector<dsrun::HostTensor> hostInputs(model.numInputs());
    std::vector<ds::TensorRef> refs;
    std::vector<std::string> named;
    for (const auto &input : opts.inputs)
      named.push_back(input.first);
    for (const auto &shape : opts.shapes)
      named.push_back(shape.first);
    for (const std::string &name : named) {
      bool known = false;
      for (int i = 0; i < model.numInputs(); ++i)
        known |= name == model.input(i).name;
      if (!known) {
        std::fprintf(stderr, "ds-run: the model has no input named '%s'\n", name.c_str());
        return 1;
      }
    }

    for (int i = 0; i < model.numInputs(); ++i) {
      ds_value_info info = model.input(i);
      dsrun::HostTensor &t = hostInputs[i];
      std::string file;
      if (opts.inputs.count(info.name))
        file = opts.inputs[info.name];
      else if (!opts.inputsDir.empty())
        file = opts.inputsDir + "/input_" + std::to_string(i) + ".pb";
      ds_tensor fallback{};
      ds_status noDefault = ds_model_input_default(model.get(), i, &fallback);
      ds_status_release(noDefault);
      if (!file.empty()) {
        if (!readTensorFile(file, t))
          return 1;
        std::string error;
        if (!dsrun::adoptStorageDtype(t, info.dtype, error)) {
          std::fprintf(stderr, "ds-run: input '%s' (%s): %s\n", info.name, file.c_str(),
                       error.c_str());
          return 1;
        }
      } else if (!noDefault && fallback.data) { // the model's default for the input
        t.dtype = fallback.dtype;
        t.dims.assign(fallback.dims, fallback.dims + fallback.rank);
        const auto *bytes = static_cast<const unsigned char *>(fallback.data);
        t.data.assign(bytes, bytes + fallback.byte_size);
        if (!opts.quiet)
          std::printf("input %d '%s': its default %s[%s]\n", i, info.name,
                      ds_dtype_name(info.dtype), dimsText(info.dims, info.rank).c_str());
      } else {
        t.dtype = info.dtype;
        t.dims.assign(info.dims, info.dims + info.rank);
        auto shape = opts.shapes.find(info.name);
        if (shape != opts.shapes.end()) {
          if (shape->second.size() != (size_t)info.rank) {
            std::fprintf(stderr, "ds-run: --shape gives input '%s' rank %zu, the model's is %d\n",
                         info.name, shape->second.size(), info.rank);
            return 1;
          }
          t.dims = shape->second; // the runtime checks it against the signature
        }
        ds_value_info sized = info;
        sized.dims = t.dims.data();
        size_t bytes = 0;
        std::string why;
        if (!randomInputBytes(sized, opts.maxRandomBytes, bytes, why)) {
          std::fprintf(stderr, "ds-run: input %d ('%s') %s\n", i, info.name, why.c_str());
          return 1;
        }
        t.data.assign(bytes, 0);
        fillRandom(t, rng);
        if (!opts.quiet)
          std::printf("input %d '%s': random %s[%s]\n", i, info.name, ds_dtype_name(info.dtype),
                      dimsText(t.dims.data(), info.rank).c_str());
      }
      refs.push_back({t.dtype, t.dims, t.data.data(), t.data.size()});
    }
    ds::Session session(model, opts.threads);
    for (int i = 0; i < opts.warmup; ++i)
      session.run(refs);
    std::vector<double> ms;
    for (int i = 0; i < opts.runs; ++i) {
      if (opts.pauseMs > 0.0)
        std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(opts.pauseMs));
      auto start = std::chrono::steady_clock::now();
      session.run(refs);
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
    }
    std::sort(ms.begin(), ms.end());
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);

    int failures = 0;
    std::vector<std::string> fileNames;
    if (!opts.outputDir.empty())
      fileNames = outputFileNames(model);
    for (int i = 0; i < model.numOutputs(); ++i) {
      ds_tensor out = session.output(i);
      ds_value_info info = model.output(i);
      size_t n = out.byte_size / std::max<size_t>(1, ds_dtype_size(out.dtype));
      double lo = INFINITY, hi = -INFINITY, sum = 0;
      for (size_t k = 0; k < n; ++k) {
        double v = dsrun::elementAsDouble(out.data, out.dtype, k);
        lo = std::min(lo, v);
        hi = std::max(hi, v);
        sum += v;
      }
      if (!opts.quiet)
        std::printf("output %d '%s': %s[%s] min %.6g max %.6g mean %.6g\n", i, info.name,
                    ds_dtype_name(out.dtype), dimsText(out.dims, out.rank).c_str(), lo, hi,
                    n ? sum / n : 0.0);
      if (!opts.outputDir.empty()) {
        std::string error;
        if (!dsrun::writeNpy(opts.outputDir + "/" + fileNames[i], out, error)) {
          std::fprintf(stderr, "ds-run: %s\n", error.c_str());
          return 1;
        }
      }
      if (!opts.expectDir.empty()) {
        std::string base = opts.expectDir + "/output_" + std::to_string(i);
        std::string file = fileExists(base + ".pb") ? base + ".pb" : base + ".npy";
        dsrun::HostTensor expected;
        std::string report;
        if (!fileExists(file)) {
          std::printf("MISMATCH output %d '%s': no expected value (%s.pb or .npy)\n", i, info.name,
                      base.c_str());
          ++failures;
        } else if (!readTensorFile(file, expected)) {
          return 1;
        } else if (!dsrun::compareTensor(out, expected, opts.rtol, opts.atol, report)) {
          std::printf("MISMATCH output %d '%s': %s\n", i, info.name, report.c_str());
          ++failures;
        }
      }
    }
    if (!opts.expectDir.empty())
      for (long k : expectedOutputIndices(opts.expectDir))
        if (k >= model.numOutputs()) {
          std::printf("MISMATCH expected output %ld (output_%ld in %s) was not produced: the "
                      "model has %d outputs\n",
                      k, k, opts.expectDir.c_str(), model.numOutputs());
          ++failures;
        }
    if (!opts.quiet) {
      auto pct = [&](double p) { return ms[std::min(ms.size() - 1, (size_t)(p * ms.size()))]; };
      char pauseText[48] = "";
      if (opts.pauseMs > 0.0)
        std::snprintf(pauseText, sizeof pauseText, " %g ms apart", opts.pauseMs);
      std::printf("threads %d, %d warm-up + %d runs%s: median %.3f ms (p10 %.3f, p90 %.3f)\n",
                  opts.threads, opts.warmup, opts.runs, pauseText, pct(0.5), pct(0.1), pct(0.9));
      std::printf("peak memory %.1f MiB (arena %.1f MiB)\n", usage.ru_maxrss / 1024.0,
                  model.arenaBytes() / 1048576.0);
    }
    if (!opts.expectDir.empty())
      std::printf("%s\n", failures ? "FAIL" : "PASS");
    return failures ? 3 : 0;
  } catch (const ds::Error &e) {
    if (compiled)
      std::remove(artifact.c_str());
    std::fprintf(stderr, "ds-run: %s\n", e.what());
    return e.code() == DS_NO_DEVICE ? 4 : 1; // 4: a cuda artifact on a machine without a GPU
  } catch (const std::bad_alloc &) {
    if (compiled)
      std::remove(artifact.c_str());
    std::fprintf(stderr, "ds-run: out of memory\n");
    return 1;
  }
}
