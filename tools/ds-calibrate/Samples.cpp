//===- Samples.cpp - ds-calibrate's data folder and output files ----------===//
#include "Samples.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace ds_calibrate {

bool endsWith(const std::string &s, const char *suffix) {
  size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

bool isDir(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

static bool exists(const std::string &path) { return access(path.c_str(), F_OK) == 0; }

/// The entries of a folder, sorted, without dot files.
static std::vector<std::string> listDir(const std::string &dir) {
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

static std::string fileSafe(std::string name) {
  std::replace(name.begin(), name.end(), '/', '_');
  return name;
}

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
        return (error = "sample '" + dir + "' has no file for input " + std::to_string(i) + " '" +
                        name + "' (" + fileSafe(name) + ".npy or input_" + std::to_string(i) +
                        ".pb)",
                false);
      sample.push_back(*found);
    }
    samples.push_back(sample);
  }
  return true;
}

bool loadSamples(const std::string &data, const ds::Model &model, long maxSamples,
                 std::vector<Sample> &samples) {
  std::string error;
  if (!findSamples(data, model, samples, error)) {
    std::fprintf(stderr, "ds-calibrate: %s\n", error.c_str());
    return false;
  }
  if (maxSamples >= 0 && samples.size() > (size_t)maxSamples)
    samples.resize((size_t)maxSamples);
  if (samples.empty()) {
    std::fprintf(stderr, "ds-calibrate: '%s' holds no samples\n", data.c_str());
    return false;
  }
  return true;
}

bool readSample(const Sample &sample, std::vector<dsrun::HostTensor> &inputs,
                std::vector<ds::TensorRef> &refs, std::string &error) {
  inputs.assign(sample.size(), dsrun::HostTensor());
  refs.clear();
  for (size_t i = 0; i < sample.size(); ++i) {
    if (!dsrun::readTensorFile(sample[i], inputs[i], error))
      return false;
    refs.push_back(ds::TensorRef{inputs[i].dtype, inputs[i].dims, inputs[i].data.data(),
                                 inputs[i].data.size()});
  }
  return true;
}

bool runSamples(ds::Session &session, const std::vector<Sample> &samples, const char *label,
                const std::function<bool(ds::Session &)> &seen) {
  for (size_t s = 0; s < samples.size(); ++s) {
    progress(label, s, samples.size());
    std::vector<dsrun::HostTensor> inputs;
    std::vector<ds::TensorRef> refs;
    std::string error;
    if (!readSample(samples[s], inputs, refs, error)) {
      std::fprintf(stderr, "\nds-calibrate: %s\n", error.c_str());
      return false;
    }
    try {
      session.run(refs);
    } catch (const ds::Error &e) {
      std::fprintf(stderr, "\nds-calibrate: sample %s: %s\n", samples[s][0].c_str(), e.what());
      return false;
    }
    if (!seen(session))
      return false;
  }
  progress(label, samples.size(), samples.size());
  return true;
}

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

} // namespace ds_calibrate
