//===- DynamicShapesTest.cpp - artifacts with dynamic dims (format 3) -----===//
//
// Through the C API: inputs whose dims name symbols with bounds, values sized
// per run (shape plans cached per input-shape signature, the arena grown and
// reused), shape-only steps precomputed while planning, the step-by-step path
// where a run-time value decides a shape, writable outputs, and the loader's
// checks of version-3 metadata. Artifacts are built byte by byte
// (RuntimeTestArtifacts.h), so this runs in a runtime-only build.
//
//===----------------------------------------------------------------------===//
#include "RuntimeTestArtifacts.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace dstest;

namespace {

/// Loads `spec` through the C API; the status code, its message in `message`.
ds_status_code loadCode(const ArtifactSpec &spec, std::string *message = nullptr) {
  std::string path = writeTempArtifact(buildArtifact(spec));
  EXPECT_FALSE(path.empty());
  ds_model *model = nullptr;
  ds_status s = ds_model_load(path.c_str(), &model);
  std::remove(path.c_str());
  ds_status_code code = ds_status_get_code(s);
  if (message)
    *message = s ? ds_status_get_message(s) : "";
  ds_status_release(s);
  ds_model_release(model);
  return code;
}

/// A model and a two-thread session over an artifact built from `spec`.
class Loaded {
public:
  explicit Loaded(const ArtifactSpec &spec) {
    std::string path = writeTempArtifact(buildArtifact(spec));
    ds_status s = ds_model_load(path.c_str(), &model);
    std::remove(path.c_str());
    if (s) {
      error = ds_status_get_message(s);
      ds_status_release(s);
      return;
    }
    ds_session_options options;
    ds_session_options_init(&options);
    options.num_threads = 2;
    s = ds_session_create(model, &options, &session);
    if (s) {
      error = ds_status_get_message(s);
      ds_status_release(s);
    }
  }
  ~Loaded() {
    ds_session_release(session);
    ds_model_release(model);
  }
  Loaded(const Loaded &) = delete;
  Loaded &operator=(const Loaded &) = delete;
  bool ok() const { return session != nullptr; }

  /// Runs; DS_OK or the failure's code, its message in `message`.
  ds_status_code run(const std::vector<ds_tensor> &inputs, std::string *message = nullptr) {
    ds_status s = ds_session_run(session, inputs.data(), (int32_t)inputs.size());
    ds_status_code code = ds_status_get_code(s);
    if (message)
      *message = s ? ds_status_get_message(s) : "";
    ds_status_release(s);
    return code;
  }
  ds_tensor output(int32_t index) {
    ds_tensor t{};
    ds_status s = ds_session_output(session, index, &t);
    EXPECT_EQ(s, nullptr) << ds_status_get_message(s);
    ds_status_release(s);
    return t;
  }

  ds_model *model = nullptr;
  ds_session *session = nullptr;
  std::string error;
};

ds_tensor f32(const std::vector<int64_t> &dims, std::vector<float> &data) {
  return {DS_F32, (int32_t)dims.size(), dims.data(), data.data(), data.size() * 4};
}
ds_tensor i64(const std::vector<int64_t> &dims, std::vector<int64_t> &data) {
  return {DS_I64, (int32_t)dims.size(), dims.data(), data.data(), data.size() * 8};
}

std::vector<int64_t> dimsOf(const ds_tensor &t) { return {t.dims, t.dims + t.rank}; }

/// Values that differ per size, so a stale or misplaced result shows.
std::vector<float> ramp(int64_t n, int64_t salt) {
  std::vector<float> x((size_t)n);
  for (int64_t i = 0; i < n; ++i)
    x[(size_t)i] = (float)((i * 7 + salt) % 23) / 8.0f - 1.25f;
  return x;
}

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

//===----------------------------------------------------------------------===//
// 1. x: [batch, 4], batch in 1..8
//===----------------------------------------------------------------------===//

TEST(DynamicShapes, InputInfoReportsDynamicDims) {
  Loaded m(dynamicTanhAddArtifact());
  ASSERT_TRUE(m.ok()) << m.error;
  ds_value_info info;
  ASSERT_EQ(ds_model_input_info(m.model, 0, &info), nullptr);
  EXPECT_STREQ(info.name, "x");
  ASSERT_EQ(info.rank, 2);
  EXPECT_EQ(info.dims[0], -1);
  EXPECT_EQ(info.dims[1], 4);
  ASSERT_EQ(ds_model_output_info(m.model, 1, &info), nullptr);
  EXPECT_STREQ(info.name, "z");
  ASSERT_EQ(info.rank, 2);
  EXPECT_EQ(info.dims[0], -1);
  EXPECT_EQ(info.dims[1], 4);
  EXPECT_EQ(ds_model_arena_bytes(m.model), 0u);
  EXPECT_STREQ(ds_model_target(m.model), "cpu");
}

void expectTanhAdd(Loaded &m, int64_t batch, const std::vector<float> &x) {
  ds_tensor y = m.output(0), z = m.output(1);
  std::vector<int64_t> want{batch, 4};
  ASSERT_EQ(dimsOf(y), want);
  ASSERT_EQ(dimsOf(z), want);
  ASSERT_EQ(y.byte_size, (size_t)batch * 16);
  ASSERT_EQ(z.byte_size, (size_t)batch * 16);
  int bad = 0;
  for (int64_t i = 0; i < batch * 4; ++i) {
    float t = std::tanh(x[(size_t)i]);
    bad += std::fabs(((const float *)y.data)[i] - t) > 1e-5f;
    bad += std::fabs(((const float *)z.data)[i] - (t + 0.5f * (float)(i % 4 + 1))) > 1e-5f;
  }
  EXPECT_EQ(bad, 0) << "batch " << batch;
}

TEST(DynamicShapes, ElementwiseRunsAtEveryBatch) {
  Loaded m(dynamicTanhAddArtifact());
  ASSERT_TRUE(m.ok()) << m.error;
  for (int64_t batch : {1, 3, 8, 3, 1, 8, 5}) {
    std::vector<float> x = ramp(batch * 4, batch);
    std::vector<int64_t> dims{batch, 4};
    std::string message;
    ASSERT_EQ(m.run({f32(dims, x)}, &message), DS_OK) << message;
    expectTanhAdd(m, batch, x);
  }
}

TEST(DynamicShapes, RunOutputsCopiesDynamicResults) {
  Loaded m(dynamicTanhAddArtifact());
  ASSERT_TRUE(m.ok()) << m.error;
  for (int64_t batch : {2, 7}) {
    std::vector<float> x = ramp(batch * 4, 3 * batch);
    std::vector<int64_t> dims{batch, 4};
    ds_tensor in = f32(dims, x);
    ds_outputs *outs = nullptr;
    ds_status s = ds_session_run_outputs(m.session, &in, 1, &outs);
    ASSERT_EQ(s, nullptr) << ds_status_get_message(s);
    ASSERT_EQ(ds_outputs_count(outs), 2);
    ds_tensor z;
    ASSERT_EQ(ds_outputs_get(outs, 1, &z), nullptr);
    EXPECT_EQ(dimsOf(z), dims);
    ASSERT_EQ(z.byte_size, (size_t)batch * 16);
    int bad = 0;
    for (int64_t i = 0; i < batch * 4; ++i)
      bad += std::fabs(((const float *)z.data)[i] -
                       (std::tanh(x[(size_t)i]) + 0.5f * (float)(i % 4 + 1))) > 1e-5f;
    EXPECT_EQ(bad, 0);
    ds_outputs_release(outs);
  }
}

TEST(DynamicShapes, BatchOutsideBoundsIsRefused) {
  Loaded m(dynamicTanhAddArtifact());
  ASSERT_TRUE(m.ok()) << m.error;
  std::vector<float> good = ramp(8, 1);
  std::vector<int64_t> goodDims{2, 4};
  ASSERT_EQ(m.run({f32(goodDims, good)}), DS_OK);
  for (int64_t batch : {0, 9}) {
    std::vector<float> x = ramp(batch * 4, 2);
    std::vector<int64_t> dims{batch, 4};
    std::string message;
    EXPECT_EQ(m.run({f32(dims, x)}, &message), DS_INVALID_ARGUMENT) << "batch " << batch;
    EXPECT_TRUE(contains(message, "'batch'")) << message;
    EXPECT_TRUE(contains(message, "1..8")) << message;
  }
  // A run refused for its inputs leaves the last run's outputs.
  expectTanhAdd(m, 2, good);
}

TEST(DynamicShapes, RankStaticDimAndSizeMismatchesAreRefused) {
  Loaded m(dynamicTanhAddArtifact());
  ASSERT_TRUE(m.ok()) << m.error;
  std::string message;
  std::vector<float> x = ramp(12, 0);
  std::vector<int64_t> rank1{12}, rank3{1, 3, 4}, wrongStatic{4, 3}, negative{-3, 4};
  EXPECT_EQ(m.run({f32(rank1, x)}, &message), DS_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(message, "rank")) << message;
  EXPECT_EQ(m.run({f32(rank3, x)}, &message), DS_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(message, "rank")) << message;
  EXPECT_EQ(m.run({f32(wrongStatic, x)}, &message), DS_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(message, "must be 4")) << message;
  ds_tensor in = f32(negative, x);
  EXPECT_EQ(m.run({in}, &message), DS_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(message, "negative")) << message;
  // Dims [3, 4] with the bytes of [2, 4]: the byte size follows the dims.
  std::vector<int64_t> dims{3, 4};
  in = f32(dims, x);
  in.byte_size = 32;
  EXPECT_EQ(m.run({in}, &message), DS_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(message, "48")) << message;
  in.byte_size = 48;
  in.data = nullptr;
  EXPECT_EQ(m.run({in}, &message), DS_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(message, "no data")) << message;
  std::vector<int32_t> ints(12);
  ds_tensor wrongType{DS_I32, 2, dims.data(), ints.data(), 48};
  EXPECT_EQ(m.run({wrongType}, &message), DS_INVALID_ARGUMENT);
}

TEST(DynamicShapes, FusedChainOverLargeAndSmallBatches) {
  // Unbounded batch: large enough that the fused tanh + add chain tiles its
  // rows over the pool, then small, then large again (a cached plan).
  ArtifactSpec spec = dynamicTanhAddArtifact();
  spec.symbols = {{"batch", 1, -1}};
  Loaded m(spec);
  ASSERT_TRUE(m.ok()) << m.error;
  for (int64_t batch : {50000, 3, 50001, 50000, 1}) {
    std::vector<float> x = ramp(batch * 4, batch);
    std::vector<int64_t> dims{batch, 4};
    std::string message;
    ASSERT_EQ(m.run({f32(dims, x)}, &message), DS_OK) << message;
    expectTanhAdd(m, batch, x);
  }
}

TEST(DynamicShapes, ConcurrentRunsWithVaryingShapes) {
  // ds_session_run_outputs from several threads on one session (plans built
  // and the arena grown under its lock), and a second session of the model.
  ArtifactSpec spec = dynamicShapeReshapeArtifact();
  std::string path = writeTempArtifact(buildArtifact(spec));
  ds_model *model = nullptr;
  ds_status st = ds_model_load(path.c_str(), &model);
  std::remove(path.c_str());
  ASSERT_EQ(st, nullptr) << ds_status_get_message(st);
  ds_session *sessions[2] = {nullptr, nullptr};
  for (ds_session *&session : sessions) {
    ds_session_options options;
    ds_session_options_init(&options);
    options.num_threads = 2;
    ASSERT_EQ(ds_session_create(model, &options, &session), nullptr);
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      ds_session *session = sessions[t % 2];
      for (int i = 0; i < 40; ++i) {
        int64_t b = 1 + (t * 7 + i * 5) % 37;
        std::vector<float> x = ramp(b * 6, t + i);
        std::vector<int64_t> dims{b, 6};
        ds_tensor in = f32(dims, x);
        ds_outputs *outs = nullptr;
        ds_status s = ds_session_run_outputs(session, &in, 1, &outs);
        if (s) {
          ds_status_release(s);
          ++failures;
          continue;
        }
        ds_tensor u, shape;
        ds_outputs_get(outs, 0, &u);
        ds_outputs_get(outs, 1, &shape);
        bool ok = u.rank == 3 && u.dims[0] == b && u.byte_size == x.size() * 4 &&
                  ((const int64_t *)shape.data)[0] == b;
        for (size_t k = 0; ok && k < x.size(); ++k)
          ok = ((const float *)u.data)[k] == -x[k];
        failures += !ok;
        ds_outputs_release(outs);
      }
    });
  for (std::thread &thread : threads)
    thread.join();
  EXPECT_EQ(failures.load(), 0);
  for (ds_session *session : sessions)
    ds_session_release(session);
  ds_model_release(model);
}

//===----------------------------------------------------------------------===//
// 2. x: [n], y: [n]
//===----------------------------------------------------------------------===//

void expectSum(Loaded &m, const std::vector<float> &x, const std::vector<float> &y) {
  ds_tensor z = m.output(0);
  ASSERT_EQ(dimsOf(z), std::vector<int64_t>{(int64_t)x.size()});
  ASSERT_EQ(z.byte_size, x.size() * 4);
  int bad = 0;
  for (size_t i = 0; i < x.size(); ++i)
    bad += ((const float *)z.data)[i] != x[i] + y[i];
  EXPECT_EQ(bad, 0) << "n " << x.size();
}

TEST(DynamicShapes, InputsSharingASymbolMustAgree) {
  Loaded m(dynamicSharedSymbolArtifact());
  ASSERT_TRUE(m.ok()) << m.error;
  std::vector<float> x = ramp(3, 1), y = ramp(4, 2);
  std::vector<int64_t> dx{3}, dy{4};
  std::string message;
  EXPECT_EQ(m.run({f32(dx, x), f32(dy, y)}, &message), DS_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(message, "'n'")) << message;
  EXPECT_TRUE(contains(message, "3")) << message;
  EXPECT_TRUE(contains(message, "input 1 ('y')")) << message;
  y.resize(3);
  ASSERT_EQ(m.run({f32(dx, x), f32(dx, y)}, &message), DS_OK) << message;
  expectSum(m, x, y);
}

TEST(DynamicShapes, SharedSymbolRunsAtManySizesIncludingZero) {
  Loaded m(dynamicSharedSymbolArtifact());
  ASSERT_TRUE(m.ok()) << m.error;
  // More sizes than the plan cache keeps (64), then earlier ones again.
  std::vector<int64_t> sizes;
  for (int64_t n = 0; n < 80; ++n)
    sizes.push_back(n * 13 % 97);
  for (int64_t n : {5, 0, 4096, 5, 1})
    sizes.push_back(n);
  for (int64_t n : sizes) {
    std::vector<float> x = ramp(n, n), y = ramp(n, n + 5);
    std::vector<int64_t> dims{n};
    std::string message;
    ASSERT_EQ(m.run({f32(dims, x), f32(dims, y)}, &message), DS_OK) << "n " << n << ": " << message;
    expectSum(m, x, y);
  }
}

TEST(DynamicShapes, OneSymbolTwiceInOneInput) {
  // x: [n, n]: both dims bind one size.
  ArtifactSpec spec = dynamicSharedSymbolArtifact();
  spec.values = {{DS_F32, DSX_STORAGE_INPUT, {-1, -1}, 0, "x"},
                 {DS_F32, DSX_STORAGE_INPUT, {-1}, 0, "y"},
                 {DS_F32, DSX_STORAGE_ARENA, {-1, -1}, 0, "z"}};
  Loaded m(spec);
  ASSERT_TRUE(m.ok()) << m.error;
  std::vector<float> x = ramp(12, 0), y = ramp(4, 1);
  std::vector<int64_t> dx{3, 4}, dy{4};
  std::string message;
  EXPECT_EQ(m.run({f32(dx, x), f32(dy, y)}, &message), DS_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(message, "'n'")) << message;
  x = ramp(16, 0);
  dx = {4, 4};
  ASSERT_EQ(m.run({f32(dx, x), f32(dy, y)}, &message), DS_OK) << message;
  ds_tensor z = m.output(0);
  ASSERT_EQ(dimsOf(z), dx);
  int bad = 0;
  for (int64_t i = 0; i < 16; ++i)
    bad += ((const float *)z.data)[i] != x[(size_t)i] + y[(size_t)(i % 4)];
  EXPECT_EQ(bad, 0);
}

//===----------------------------------------------------------------------===//
// 3 and 5. x: [b, 6] -> reshape(x, concat(shape(x)[0:1], {2, 3}))
//===----------------------------------------------------------------------===//

/// Checks the outputs u = -reshape(x), s = {b}, x_copy = x of a run at `b`.
void expectShapeReshape(Loaded &m, int64_t b, const std::vector<float> &x) {
  ds_tensor u = m.output(0), s = m.output(1), xc = m.output(2);
  ASSERT_EQ(dimsOf(u), (std::vector<int64_t>{b, 2, 3}));
  ASSERT_EQ(u.byte_size, (size_t)b * 24);
  ASSERT_EQ(dimsOf(s), std::vector<int64_t>{1});
  ASSERT_EQ(s.dtype, DS_I64);
  ASSERT_EQ(s.byte_size, 8u);
  EXPECT_EQ(((const int64_t *)s.data)[0], b);
  ASSERT_EQ(dimsOf(xc), (std::vector<int64_t>{b, 6}));
  ASSERT_EQ(xc.byte_size, x.size() * 4);
  EXPECT_NE(xc.data, (const void *)x.data()) << "an input output must be a copy";
  int bad = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    bad += ((const float *)u.data)[i] != -x[i];
    bad += ((const float *)xc.data)[i] != x[i];
  }
  EXPECT_EQ(bad, 0) << "b " << b;
}

TEST(DynamicShapes, ShapeConcatReshapeAcrossSizes) {
  Loaded m(dynamicShapeReshapeArtifact());
  ASSERT_TRUE(m.ok()) << m.error;
  // Alternating sizes: cached plans are reused, the arena grows (5, then
  // 300) and smaller plans run in the grown arena.
  int64_t salt = 0;
  for (int64_t b : {2, 5, 2, 5, 1, 300, 2, 5, 300, 1}) {
    std::vector<float> x = ramp(b * 6, ++salt);
    std::vector<int64_t> dims{b, 6};
    std::string message;
    ASSERT_EQ(m.run({f32(dims, x)}, &message), DS_OK) << "b " << b << ": " << message;
    expectShapeReshape(m, b, x);
  }
}

TEST(DynamicShapes, ShapeConcatReshapeAtSizeZero) {
  ArtifactSpec spec = dynamicShapeReshapeArtifact();
  spec.symbols = {{"b", 0, -1}};
  Loaded m(spec);
  ASSERT_TRUE(m.ok()) << m.error;
  for (int64_t b : {0, 4, 0}) {
    std::vector<float> x = ramp(b * 6, b);
    std::vector<int64_t> dims{b, 6};
    std::string message;
    ASSERT_EQ(m.run({f32(dims, x)}, &message), DS_OK) << "b " << b << ": " << message;
    expectShapeReshape(m, b, x);
  }
}

TEST(DynamicShapes, PrecomputedAndInputOutputsAreWritableCopies) {
  Loaded m(dynamicShapeReshapeArtifact());
  ASSERT_TRUE(m.ok()) << m.error;
  for (int64_t b : {3, 3, 4, 3}) { // the second and fourth runs reuse a cached plan
    std::vector<float> x = ramp(b * 6, b);
    std::vector<float> original = x;
    std::vector<int64_t> dims{b, 6};
    std::string message;
    ASSERT_EQ(m.run({f32(dims, x)}, &message), DS_OK) << message;
    expectShapeReshape(m, b, x);
    for (int32_t i = 0; i < 3; ++i) {
      ds_tensor t = m.output(i);
      std::memset(t.data, 0xA5, t.byte_size); // all outputs are writable
    }
    EXPECT_EQ(x, original) << "writing an output changed the caller's input";
    ASSERT_EQ(m.run({f32(dims, x)}, &message), DS_OK) << message;
    expectShapeReshape(m, b, x);
  }
}

//===----------------------------------------------------------------------===//
// 4. reshape(x, shape) with shape a graph input: step by step
//===----------------------------------------------------------------------===//

void expectNegReshaped(Loaded &m, const std::vector<int64_t> &dims, const std::vector<float> &x) {
  ds_tensor u = m.output(0);
  ASSERT_EQ(dimsOf(u), dims);
  ASSERT_EQ(u.byte_size, x.size() * 4);
  int bad = 0;
  for (size_t i = 0; i < x.size(); ++i)
    bad += ((const float *)u.data)[i] != -x[i];
  EXPECT_EQ(bad, 0);
}

TEST(DynamicShapes, ShapeFromAnInputRunsStepByStep) {
  Loaded m(dynamicReshapeByInputArtifact());
  ASSERT_TRUE(m.ok()) << m.error;
  std::vector<int64_t> xDims{12}, shapeDims{2};
  std::vector<float> x = ramp(12, 4);
  struct Case {
    std::vector<int64_t> shape, want;
  };
  // Same input shapes every time, different shape values.
  for (const Case &c : std::vector<Case>{{{3, 4}, {3, 4}},
                                         {{2, 6}, {2, 6}},
                                         {{-1, 3}, {4, 3}},
                                         {{0, -1}, {12, 1}},
                                         {{3, 4}, {3, 4}}}) {
    std::vector<int64_t> shape = c.shape;
    std::string message;
    ASSERT_EQ(m.run({f32(xDims, x), i64(shapeDims, shape)}, &message), DS_OK) << message;
    expectNegReshaped(m, c.want, x);
  }
  // Another input size.
  std::vector<int64_t> x8Dims{8}, shape{2, -1};
  std::vector<float> x8 = ramp(8, 9);
  ASSERT_EQ(m.run({f32(x8Dims, x8), i64(shapeDims, shape)}), DS_OK);
  expectNegReshaped(m, {2, 4}, x8);
}

TEST(DynamicShapes, BadShapeValueIsAnErrorNotACrash) {
  Loaded m(dynamicReshapeByInputArtifact());
  ASSERT_TRUE(m.ok()) << m.error;
  std::vector<int64_t> xDims{12}, shapeDims{2};
  std::vector<float> x = ramp(12, 4);
  for (std::vector<int64_t> shape : std::vector<std::vector<int64_t>>{
           {5, 5}, {-1, -1}, {-1, 5}, {-7, 2}, {0, 12}, {INT64_MAX, 2}, {INT64_MIN, 1}}) {
    std::string message;
    ds_status_code code = m.run({f32(xDims, x), i64(shapeDims, shape)}, &message);
    EXPECT_NE(code, DS_OK) << shape[0] << "," << shape[1];
    EXPECT_TRUE(contains(message, "ds.reshape")) << message;
    // A run that failed once it started leaves no outputs.
    ds_tensor t{};
    ds_status s = ds_session_output(m.session, 0, &t);
    EXPECT_NE(s, nullptr);
    ds_status_release(s);
  }
  std::vector<int64_t> shape{6, 2};
  std::string message;
  ASSERT_EQ(m.run({f32(xDims, x), i64(shapeDims, shape)}, &message), DS_OK) << message;
  expectNegReshaped(m, {6, 2}, x);
}

//===----------------------------------------------------------------------===//
// 6. malformed version-3 metadata
//===----------------------------------------------------------------------===//

TEST(DynamicShapes, WellFormedArtifactsLoad) {
  std::string message;
  EXPECT_EQ(loadCode(dynamicTanhAddArtifact(), &message), DS_OK) << message;
  EXPECT_EQ(loadCode(dynamicSharedSymbolArtifact(), &message), DS_OK) << message;
  EXPECT_EQ(loadCode(dynamicShapeReshapeArtifact(), &message), DS_OK) << message;
  EXPECT_EQ(loadCode(dynamicReshapeByInputArtifact(), &message), DS_OK) << message;
  // Version 3 without dynamic dims: a static program, empty symbol table.
  ArtifactSpec fixed = tanhAddArtifact(256);
  fixed.version = 3;
  EXPECT_EQ(loadCode(fixed, &message), DS_OK) << message;
  // Symbols that no input names are allowed.
  ArtifactSpec extra = dynamicTanhAddArtifact();
  extra.symbols.push_back({"unused", 0, -1});
  EXPECT_EQ(loadCode(extra, &message), DS_OK) << message;
}

TEST(DynamicShapes, StaticVersion3ArtifactRuns) {
  ArtifactSpec spec = tanhAddArtifact(256);
  spec.version = 3;
  Loaded m(spec);
  ASSERT_TRUE(m.ok()) << m.error;
  std::vector<float> x = ramp(256, 0);
  std::vector<int64_t> dims{256};
  ASSERT_EQ(m.run({f32(dims, x)}), DS_OK);
  ds_tensor z = m.output(1);
  int bad = 0;
  for (int64_t i = 0; i < 256; ++i)
    bad += std::fabs(((const float *)z.data)[i] - (std::tanh(x[i]) + tanhAddWeight(i))) > 1e-5f;
  EXPECT_EQ(bad, 0);
}

void expectInvalid(const ArtifactSpec &spec, const std::string &part, const char *what) {
  std::string message;
  EXPECT_EQ(loadCode(spec, &message), DS_INVALID_ARTIFACT) << what << ": " << message;
  EXPECT_TRUE(contains(message, part)) << what << ": " << message;
}

TEST(DynamicShapes, MalformedMetadataIsRefused) {
  ArtifactSpec a = dynamicTanhAddArtifact();
  a.values[0].dims = {-2, 4}; // symbol 1 of a table of 1
  expectInvalid(a, "dim symbol 1", "symbol index beyond the table");

  a = dynamicTanhAddArtifact();
  a.symbols.clear();
  expectInvalid(a, "dim symbol 0", "empty symbol table");

  a = dynamicTanhAddArtifact();
  a.symbols = {{"batch", 9, 2}};
  expectInvalid(a, "bad bounds", "min > max");

  a = dynamicTanhAddArtifact();
  a.symbols = {{"batch", -1, 8}};
  expectInvalid(a, "bad bounds", "negative min");

  a = dynamicTanhAddArtifact();
  a.symbols = {{"batch", 1, -2}};
  expectInvalid(a, "bad bounds", "max below -1");

  a = dynamicTanhAddArtifact();
  a.values[2].bytes = 64; // y: [-1, 4] with a size
  expectInvalid(a, "'y'", "dynamic arena value with nonzero bytes");

  a = dynamicTanhAddArtifact();
  a.values[0].bytes = 16; // x: [batch, 4] with a size
  expectInvalid(a, "'x'", "dynamic input with nonzero bytes");

  a = dynamicTanhAddArtifact();
  a.values[3].offset = 64; // z placed in an arena a dynamic program does not plan
  a.values[3].bytes = 0;
  expectInvalid(a, "'z'", "dynamic value with an arena offset");

  a = dynamicTanhAddArtifact();
  a.values[1].dims = {-1}; // the constant w
  expectInvalid(a, "'w'", "dynamic constant");

  a = dynamicTanhAddArtifact();
  a.version = 2; // no symbol table, and negative dims are not version 2
  expectInvalid(a, "bad dims", "dynamic dim in a version-2 file");

  a = dynamicTanhAddArtifact();
  a.version = 1;
  expectInvalid(a, "bad dims", "dynamic dim in a version-1 file");

  a = dynamicTanhAddArtifact();
  a.arenaBytes = 64;
  expectInvalid(a, "arena", "dynamic program with arena bytes");

  // A dynamic cuda program: every dynamic result dim has one well-formed size
  // program over the table's symbols (ds_artifact_format.h, dsx_size_op).
  ArtifactSpec c = dynamicAddArtifact();
  c.steps[0].attrs.pop_back(); // the launch's dynamic_dims
  expectInvalid(c, "needs one 'dynamic_dims' entry", "dynamic result dim without a size");
  c = dynamicAddArtifact();
  c.steps[0].attrs[4].ints = {0, 1, DSX_SIZE_SYMBOL, 1}; // grid x from symbol 1
  expectInvalid(c, "reads a dim symbol the program lacks", "size of a missing symbol");
  c = dynamicAddArtifact();
  c.steps[0].attrs[4].ints = {0, 2, DSX_SIZE_SYMBOL, 0, DSX_SIZE_ADD, 0};
  expectInvalid(c, "malformed size program", "add with one operand");
  c = dynamicAddArtifact();
  c.steps[0].attrs[4].ints = {0, 2, DSX_SIZE_CONST, 1, DSX_SIZE_CONST, 2};
  expectInvalid(c, "malformed size program", "two values left");
  c = dynamicAddArtifact();
  c.steps[0].attrs[4].ints = {3, 1, DSX_SIZE_CONST, 1}; // field 3 of a launch
  expectInvalid(c, "names no dynamic field or dim", "grid field 3");
  c = dynamicAddArtifact();
  c.steps[0].attrs[5].ints = {0, 0, 9, DSX_SIZE_CONST, 1}; // 9 pairs announced, 1 there
  expectInvalid(c, "bad length", "size program past the attribute");
  c = dynamicAddArtifact();
  c.steps[1].attrs[0].ints.push_back(0); // an entry cut short
  expectInvalid(c, "ends inside an entry", "truncated entry");

  a = dynamicTanhAddArtifact();
  a.values[0].dims = {INT64_MIN, 4};
  expectInvalid(a, "bad dims", "dim far below any symbol");

  a = dynamicTanhAddArtifact();
  a.steps[0].opClass = DSX_OP_CLASS_MAX + 1;
  expectInvalid(a, "unknown op class", "op class beyond dsx_op_class");

  // A known class the op does not have: the runtime would precompute tanh as
  // if it read only shapes (with no data), so it is refused, not trusted.
  a = dynamicTanhAddArtifact();
  a.steps[0].opClass = DSX_OP_SHAPE;
  expectInvalid(a, "has op class 7, not the op's 1", "tanh declared shape-only");
  a = dynamicTanhAddArtifact();
  a.steps[0].opClass = DSX_OP_ELEMENTWISE; // its own class: fine
  std::string message;
  EXPECT_EQ(loadCode(a, &message), DS_OK) << message;
}

TEST(DynamicShapes, ValuesMustBeWrittenBeforeTheyAreRead) {
  // y is read by the add before any step writes it (the steps swapped).
  ArtifactSpec a = dynamicTanhAddArtifact();
  std::swap(a.steps[0], a.steps[1]);
  expectInvalid(a, "step 0 (ds.binary) reads value 2 before any step writes it", "read first");

  // z is an output no step writes.
  a = dynamicTanhAddArtifact();
  a.steps.pop_back();
  expectInvalid(a, "output value 3 is never written", "output never written");

  // y written twice.
  a = dynamicTanhAddArtifact();
  a.steps[1].outputs = {2};
  expectInvalid(a, "writes value 2, which is already defined", "value written twice");
}

TEST(DynamicShapes, TruncatedSymbolTableIsRefused) {
  // The metadata ends inside the last symbol (its max is cut off); the file
  // is otherwise consistent (sizes, offsets, checksum).
  ArtifactSpec a = dynamicTanhAddArtifact();
  std::string full = buildArtifact(a);
  uint64_t metaSize;
  std::memcpy(&metaSize, full.data() + 40, 8);
  std::string meta = full.substr(DSX_HEADER_SIZE, metaSize - 8);
  uint64_t constOffset = (DSX_HEADER_SIZE + meta.size() + 63) / 64 * 64;
  std::string body = meta;
  body.resize(constOffset - DSX_HEADER_SIZE, '\0');
  body += a.constants;
  ByteWriter h;
  h.data.append(DSX_MAGIC, 7);
  h.put<uint8_t>(0);
  h.put<uint32_t>(3);
  h.put<uint32_t>(DSX_HEADER_SIZE);
  h.put<uint64_t>(DSX_HEADER_SIZE + body.size());
  h.put<uint64_t>(dsx_checksum((const unsigned char *)body.data(), body.size()));
  h.put<uint64_t>(DSX_HEADER_SIZE);
  h.put<uint64_t>(meta.size());
  h.put<uint64_t>(constOffset);
  h.put<uint64_t>(a.constants.size());
  h.data.resize(DSX_HEADER_SIZE, '\0');
  std::string path = writeTempArtifact(h.data + body);
  ds_model *model = nullptr;
  ds_status s = ds_model_load(path.c_str(), &model);
  std::remove(path.c_str());
  EXPECT_EQ(ds_status_get_code(s), DS_INVALID_ARTIFACT);
  if (s)
    EXPECT_TRUE(contains(ds_status_get_message(s), "truncated")) << ds_status_get_message(s);
  ds_status_release(s);
  ds_model_release(model);
}

} // namespace

/// An input the model declares without a shape (DSX_VALUE_ANY_RANK) takes one
/// element at any rank, viewed at its declared rank; more elements, or another
/// rank for an ordinary input, are refused.
TEST(DynamicShapes, ShapelessInputTakesOneElementAtAnyRank) {
  ArtifactSpec spec = tanhAddArtifact(1);
  spec.values[0].flags = DSX_VALUE_ANY_RANK;
  Loaded m(spec);
  ASSERT_TRUE(m.ok()) << m.error;
  EXPECT_EQ(ds_model_input_any_rank(m.model, 0), 1);
  EXPECT_EQ(ds_model_input_any_rank(m.model, 1), 0); // no such input
  for (std::vector<int64_t> dims : {std::vector<int64_t>{}, {1}, {1, 1, 1}}) {
    std::vector<float> x{0.5f};
    ASSERT_EQ(m.run({f32(dims, x)}), DS_OK) << dims.size();
    ds_tensor y = m.output(0);
    EXPECT_EQ(dimsOf(y), std::vector<int64_t>{1});
    EXPECT_NEAR(((const float *)y.data)[0], std::tanh(0.5f), 1e-6f);
  }
  std::vector<float> two{1, 2};
  std::string message;
  EXPECT_EQ(m.run({f32({1, 2}, two)}, &message), DS_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(message, "without a shape")) << message;

  Loaded plain(tanhAddArtifact(1));
  ASSERT_TRUE(plain.ok()) << plain.error;
  EXPECT_EQ(ds_model_input_any_rank(plain.model, 0), 0);
  std::vector<float> x{0.5f};
  EXPECT_EQ(plain.run({f32({}, x)}, &message), DS_INVALID_ARGUMENT);
  EXPECT_FALSE(contains(message, "without a shape")) << message;

  // The flag belongs to inputs only.
  ArtifactSpec bad = tanhAddArtifact(1);
  bad.values[2].flags = DSX_VALUE_ANY_RANK;
  expectInvalid(bad, "bad value record", "any-rank flag on an arena value");
}
