//===- RuntimeTestArtifacts.h - small cpu artifacts for C API tests -*- C++ -*-===//
//
// Built byte by byte (CudaArtifactBuilder.h's writer with the cpu target), so
// the tests that use them run in a runtime-only build.
//
//===----------------------------------------------------------------------===//
#ifndef DS_TEST_RUNTIME_RUNTIMETESTARTIFACTS_H
#define DS_TEST_RUNTIME_RUNTIMETESTARTIFACTS_H

#include "CudaArtifactBuilder.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>

namespace dstest {

/// y = tanh(x), z = y + w over f32[n] with w[i] = 0.25 * (i % 7) constant.
/// Outputs: y, z, w (a constant) and x (an input), named as such. Large
/// enough (n = 65536) that both kernels split their loops over the pool.
inline ArtifactSpec tanhAddArtifact(int64_t n = 65536) {
  ArtifactSpec a;
  a.version = 2;
  a.target = DSX_TARGET_CPU;
  uint64_t bytes = (uint64_t)n * 4;
  a.values = {{DS_F32, DSX_STORAGE_INPUT, {n}, 0, "x"},
              {DS_F32, DSX_STORAGE_CONSTANT, {n}, 0, "w"},
              {DS_F32, DSX_STORAGE_ARENA, {n}, 0, "y"},
              {DS_F32, DSX_STORAGE_ARENA, {n}, (bytes + 63) / 64 * 64, "z"}};
  a.arenaBytes = 2 * ((bytes + 63) / 64 * 64);
  a.inputs = {0};
  a.outputs = {2, 3, 1, 0};
  a.outputNames = {"y", "z", "w", "x_copy"};
  a.steps = {{"ds.unary", {0}, {2}, {strAttr("kind", "tanh")}},
             {"ds.binary", {2, 1}, {3}, {strAttr("kind", "add")}}};
  a.constants.resize(bytes);
  for (int64_t i = 0; i < n; ++i) {
    float w = 0.25f * (float)(i % 7);
    std::memcpy(&a.constants[i * 4], &w, 4);
  }
  return a;
}

/// The reference of tanhAddArtifact's constant w.
inline float tanhAddWeight(int64_t i) { return 0.25f * (float)(i % 7); }

/// Writes `bytes` to a fresh temporary file and returns its path.
inline std::string writeTempArtifact(const std::string &bytes) {
  char path[] = "/tmp/ds-runtime-test-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0)
    return "";
  bool ok = write(fd, bytes.data(), bytes.size()) == (ssize_t)bytes.size();
  close(fd);
  return ok ? path : "";
}

} // namespace dstest

#endif // DS_TEST_RUNTIME_RUNTIMETESTARTIFACTS_H
