//===- Samples.h - ds-calibrate's data folder and output files -*- C++ -*-===//
//
// What both calibrations (activation ranges, precision errors) share: the
// samples in a data folder (layout in ds-calibrate.cpp's header), reading
// one into runtime tensors, a progress bar, and a table written whole or not
// at all.
//
//===----------------------------------------------------------------------===//
#ifndef DS_TOOLS_DS_CALIBRATE_SAMPLES_H
#define DS_TOOLS_DS_CALIBRATE_SAMPLES_H

#include "Npy.h"
#include "ds-runtime/ds_runtime.hpp"

#include <functional>
#include <string>
#include <vector>

namespace ds_calibrate {

bool endsWith(const std::string &s, const char *suffix);
bool isDir(const std::string &path);

/// One sample: a file per model input.
using Sample = std::vector<std::string>;

/// False with `error` for a folder that is not laid out as ds-calibrate
/// reads it (no exit here: the caller removes its temporary files).
bool findSamples(const std::string &data, const ds::Model &model, std::vector<Sample> &samples,
                 std::string &error);

/// findSamples, the first `maxSamples` of them (all when negative), at
/// least one; false after an error message on stderr.
bool loadSamples(const std::string &data, const ds::Model &model, long maxSamples,
                 std::vector<Sample> &samples);

/// Reads a sample's files; `refs` point into `inputs`.
bool readSample(const Sample &sample, std::vector<dsrun::HostTensor> &inputs,
                std::vector<ds::TensorRef> &refs, std::string &error);

/// A progress bar on stderr when it is a terminal.
void progress(const char *label, size_t done, size_t total);

/// Runs `session` on each sample in turn (a progress bar under `label`),
/// handing it to `seen` after each run to read its outputs; false after an
/// error message on stderr (`seen` prints its own and returns false).
bool runSamples(ds::Session &session, const std::vector<Sample> &samples, const char *label,
                const std::function<bool(ds::Session &)> &seen);

/// Writes `text` to a temporary file renamed over `path`.
bool writeTable(const std::string &path, const std::string &text);

} // namespace ds_calibrate

#endif // DS_TOOLS_DS_CALIBRATE_SAMPLES_H
