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
#include <utility>
#include <vector>

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

//===----------------------------------------------------------------------===//
// Dynamic shapes (format version 3): an input dim -(k+1) names symbol k, any
// other value's negative dim is "known at run time"; such values have bytes 0
// and offset 0, and the program's arena bytes are 0.
//===----------------------------------------------------------------------===//

/// A version-3 cpu artifact with no values yet.
inline ArtifactSpec dynamicArtifact(std::vector<SymbolSpec> symbols) {
  ArtifactSpec a;
  a.version = 3;
  a.target = DSX_TARGET_CPU;
  a.symbols = std::move(symbols);
  return a;
}

/// x: f32[batch, 4] (symbol "batch", 1..8); y = tanh(x), z = y + w with w a
/// constant f32[4] = {0.5, 1, 1.5, 2} broadcast over the rows. Outputs y, z.
inline ArtifactSpec dynamicTanhAddArtifact() {
  ArtifactSpec a = dynamicArtifact({{"batch", 1, 8}});
  a.values = {{DS_F32, DSX_STORAGE_INPUT, {-1, 4}, 0, "x"},
              {DS_F32, DSX_STORAGE_CONSTANT, {4}, 0, "w"},
              {DS_F32, DSX_STORAGE_ARENA, {-1, 4}, 0, "y"},
              {DS_F32, DSX_STORAGE_ARENA, {-1, 4}, 0, "z"}};
  a.inputs = {0};
  a.outputs = {2, 3};
  a.outputNames = {"y", "z"};
  a.steps = {{"ds.unary", {0}, {2}, {strAttr("kind", "tanh")}},
             {"ds.binary", {2, 1}, {3}, {strAttr("kind", "add")}}};
  for (int i = 0; i < 4; ++i) {
    float w = 0.5f * (float)(i + 1);
    a.constants.append((const char *)&w, 4);
  }
  return a;
}

/// x: f32[n], y: f32[n] (both name symbol "n", unbounded from 0); z = x + y.
inline ArtifactSpec dynamicSharedSymbolArtifact() {
  ArtifactSpec a = dynamicArtifact({{"n", 0, -1}});
  a.values = {{DS_F32, DSX_STORAGE_INPUT, {-1}, 0, "x"},
              {DS_F32, DSX_STORAGE_INPUT, {-1}, 0, "y"},
              {DS_F32, DSX_STORAGE_ARENA, {-1}, 0, "z"}};
  a.inputs = {0, 1};
  a.outputs = {2};
  a.outputNames = {"z"};
  a.steps = {{"ds.binary", {0, 1}, {2}, {strAttr("kind", "add")}}};
  return a;
}

/// x: f32[b, 6] (symbol "b", 1 up, unbounded); s = ds.shape(x)[0:1],
/// t = concat(s, c) with c a constant i64 {2, 3}, r = reshape(x, t) (f32[b,
/// 2, 3]), u = neg(r). Outputs: u, s (precomputed while planning) and x (the
/// input passed through).
inline ArtifactSpec dynamicShapeReshapeArtifact() {
  ArtifactSpec a = dynamicArtifact({{"b", 1, -1}});
  a.values = {{DS_F32, DSX_STORAGE_INPUT, {-1, 6}, 0, "x"},
              {DS_I64, DSX_STORAGE_ARENA, {1}, 0, "s"},
              {DS_I64, DSX_STORAGE_CONSTANT, {2}, 0, "c"},
              {DS_I64, DSX_STORAGE_ARENA, {3}, 0, "t"},
              {DS_F32, DSX_STORAGE_ARENA, {-1, 2, 3}, 0, "r"},
              {DS_F32, DSX_STORAGE_ARENA, {-1, 2, 3}, 0, "u"}};
  a.inputs = {0};
  a.outputs = {5, 1, 0};
  a.outputNames = {"u", "s", "x_copy"};
  a.steps = {{"ds.shape", {0}, {1}, {intAttr("start", 0), intAttr("end", 1)}},
             {"ds.concat", {1, 2}, {3}, {intAttr("axis", 0)}},
             {"ds.reshape", {0, 3}, {4}, {}},
             {"ds.unary", {4}, {5}, {strAttr("kind", "neg")}}};
  for (int64_t v : {int64_t(2), int64_t(3)})
    a.constants.append((const char *)&v, 8);
  return a;
}

/// x: f32[n] (symbol "n", 1..64), shape: i64[2] (a graph input, so only the
/// run's data decides r's shape); r = reshape(x, shape), u = neg(r). Output u.
inline ArtifactSpec dynamicReshapeByInputArtifact() {
  ArtifactSpec a = dynamicArtifact({{"n", 1, 64}});
  a.values = {{DS_F32, DSX_STORAGE_INPUT, {-1}, 0, "x"},
              {DS_I64, DSX_STORAGE_INPUT, {2}, 0, "shape"},
              {DS_F32, DSX_STORAGE_ARENA, {-1, -1}, 0, "r"},
              {DS_F32, DSX_STORAGE_ARENA, {-1, -1}, 0, "u"}};
  a.inputs = {0, 1};
  a.outputs = {3};
  a.outputNames = {"u"};
  a.steps = {{"ds.reshape", {0, 1}, {2}, {}}, {"ds.unary", {2}, {3}, {strAttr("kind", "neg")}}};
  return a;
}

//===----------------------------------------------------------------------===//
// A training step (ds_artifact_format.h, DSX_TRAIN_*)
//===----------------------------------------------------------------------===//

/// One SGD-like step on parameter p: f32[4] (default {1, 2, 3, 4}) with
/// state p.momentum (default 0) and batch x: f32[4]. d = p - x,
/// loss = sum(d * d), g = d * learning_rate (default 0.5), p.next = p - g,
/// p.momentum.next = g. With `lossScaling`, input loss_scale (default 1):
/// the gradients count as overflowing when loss * loss_scale >= 1e6, and then
/// p.next = p and grads_finite = 0, as a compiled step does.
inline ArtifactSpec trainingStepArtifact(bool lossScaling, const std::string &p = "p") {
  ArtifactSpec a;
  a.version = 2;
  a.target = DSX_TARGET_CPU;
  const uint16_t hasDefault = DSX_VALUE_HAS_DEFAULT;
  a.values = {{DS_F32, DSX_STORAGE_INPUT, {4}, 0, "x"},
              {DS_F32, DSX_STORAGE_INPUT, {4}, 0, p, -1, hasDefault},
              {DS_F32, DSX_STORAGE_INPUT, {}, 64, "learning_rate", -1, hasDefault},
              {DS_F32, DSX_STORAGE_INPUT, {4}, 128, p + ".momentum", -1, hasDefault},
              {DS_F32, DSX_STORAGE_ARENA, {4}, 0, "d"},
              {DS_F32, DSX_STORAGE_ARENA, {4}, 64, "sq"},
              {DS_F32, DSX_STORAGE_ARENA, {}, 128, "loss"},
              {DS_F32, DSX_STORAGE_ARENA, {4}, 192, "g"},
              {DS_F32, DSX_STORAGE_ARENA, {4}, 256, "next"}};
  a.inputs = {0, 1, 2, 3};
  a.steps = {{"ds.binary", {1, 0}, {4}, {strAttr("kind", "sub")}},
             {"ds.binary", {4, 4}, {5}, {strAttr("kind", "mul")}},
             {"ds.reduce", {5}, {6}, {strAttr("kind", "sum"), intsAttr("axes", {0}),
                                      intAttr("keepdims", 0)}},
             {"ds.binary", {4, 2}, {7}, {strAttr("kind", "mul")}},
             {"ds.binary", {1, 7}, {8}, {strAttr("kind", "sub")}}};
  a.arenaBytes = 320;
  a.outputs = {6, 8, 7};
  a.outputNames = {"loss", p + ".next", p + ".momentum.next"};
  auto constant = [&](std::initializer_list<float> values) {
    a.constants.resize((a.constants.size() + 63) / 64 * 64, '\0');
    for (float v : values)
      a.constants.append((const char *)&v, 4);
  };
  constant({1, 2, 3, 4});
  constant({0.5f});
  constant({0, 0, 0, 0});
  if (lossScaling) {
    a.values.push_back({DS_F32, DSX_STORAGE_INPUT, {}, 192, "loss_scale", -1, hasDefault});
    a.values.push_back({DS_F32, DSX_STORAGE_CONSTANT, {}, 256, "limit"});
    a.values.push_back({DS_F32, DSX_STORAGE_ARENA, {}, 320, "scaled"});
    a.values.push_back({DS_BOOL, DSX_STORAGE_ARENA, {}, 384, "ok", 1});
    a.values.push_back({DS_F32, DSX_STORAGE_ARENA, {}, 448, "finite"});
    a.values.push_back({DS_F32, DSX_STORAGE_ARENA, {4}, 512, "kept"});
    a.inputs.push_back(9);
    a.steps.push_back({"ds.binary", {6, 9}, {11}, {strAttr("kind", "mul")}});
    a.steps.push_back({"ds.compare", {11, 10}, {12}, {strAttr("kind", "lt")}});
    a.steps.push_back({"ds.cast", {12}, {13}, {}});
    a.steps.push_back({"ds.select", {12, 8, 1}, {14}, {}});
    a.arenaBytes = 576;
    a.outputs = {6, 14, 7, 13};
    a.outputNames.push_back("grads_finite");
    constant({1});
    constant({1e6f});
  }
  return a;
}

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
