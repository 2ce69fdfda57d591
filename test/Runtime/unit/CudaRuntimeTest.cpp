//===- CudaRuntimeTest.cpp - cuda artifacts: loading, validation, sessions ===//
//
// Loading and validation need no GPU. Session tests need a device: without
// one they check for DS_NO_DEVICE and the ones that would run kernels are
// skipped (GTEST_SKIP with the runtime's message), so they show as skipped.
// test/Runtime/fake-cuda runs the session logic against a stand-in driver.
//
//===----------------------------------------------------------------------===//
#include "CudaArtifactBuilder.h"
#include "core/Artifact.h"
#include "ds-runtime/ds_runtime.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <fstream>
#include <unistd.h>

using namespace dstest;

namespace {
std::unique_ptr<dsrt::Program> parse(const ArtifactSpec &spec, dsrt::Status &status) {
  std::string bytes = buildArtifact(spec);
  std::unique_ptr<dsrt::Program> program;
  status = dsrt::Program::fromBuffer((const unsigned char *)bytes.data(), bytes.size(), program);
  return program;
}

/// The status code of loading `spec`, with its message in `message`.
ds_status_code loadCode(const ArtifactSpec &spec, std::string *message = nullptr) {
  dsrt::Status s;
  parse(spec, s);
  if (message)
    *message = s.message();
  return s.code();
}

std::string writeTemp(const std::string &bytes) {
  char path[] = "/tmp/ds-cuda-test-XXXXXX";
  int fd = mkstemp(path);
  ::close(fd);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

AttrSpec *findAttr(StepSpec &step, const std::string &name) {
  for (AttrSpec &a : step.attrs)
    if (a.name == name)
      return &a;
  return nullptr;
}

void eraseAttr(StepSpec &step, const std::string &name) {
  for (size_t i = 0; i < step.attrs.size(); ++i)
    if (step.attrs[i].name == name)
      step.attrs.erase(step.attrs.begin() + (long)i);
}

/// D = A(m x k) B(k x n) (+ bias) with relu, f32, as a cuda.gemm step.
ArtifactSpec gemmArtifact(int64_t m, int64_t n, int64_t k, bool transA, bool transB,
                          int64_t batch = 1, const std::string &epilogue = "bias_relu") {
  ArtifactSpec a;
  a.values = {{DS_F32, DSX_STORAGE_INPUT, {batch, transA ? k : m, transA ? m : k}, 0, "a"},
              {DS_F32, DSX_STORAGE_INPUT, {batch, transB ? n : k, transB ? k : n}, 0, "b"},
              {DS_F32, DSX_STORAGE_CONSTANT, {n}, 0, "bias"},
              {DS_F32, DSX_STORAGE_ARENA, {batch, m, n}, 0, "d"}};
  for (int64_t j = 0; j < n; ++j) {
    float v = 0.25f * (float)(j % 5) - 0.5f;
    a.constants.append((const char *)&v, 4);
  }
  a.arenaBytes = (uint64_t)(batch * m * n * 4 + 63) / 64 * 64;
  a.inputs = {0, 1};
  a.outputs = {3};
  a.outputNames = {"d"};
  bool bias = epilogue.rfind("bias", 0) == 0;
  a.steps = {{"cuda.gemm",
              bias ? std::vector<uint32_t>{0, 1, 2} : std::vector<uint32_t>{0, 1},
              {3},
              {intAttr("m", m), intAttr("n", n), intAttr("k", k), intAttr("batch", batch),
               intAttr("trans_a", transA), intAttr("trans_b", transB),
               intAttr("stride_a", m * k), intAttr("stride_b", k * n), intAttr("stride_d", m * n),
               floatAttr("alpha", 1.0), floatAttr("beta", 0.0), strAttr("epilogue", epilogue)}}};
  return a;
}
} // namespace

TEST(CudaArtifact, ParsesTargetAndImages) {
  dsrt::Status s;
  auto program = parse(addArtifact(), s);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(program->target, DSX_TARGET_CUDA);
  ASSERT_EQ(program->images.size(), 2u);
  EXPECT_EQ(program->images[0].arch, "sm_90a");
  EXPECT_EQ(program->images[1].arch, "compute_80");
  EXPECT_EQ(program->images[1].offset % DSX_CONSTANT_ALIGNMENT, 0u);
  std::string ptx((const char *)program->imageData(program->images[1]), program->images[1].size);
  EXPECT_EQ(ptx, addKernelPtx());
  EXPECT_EQ(program->steps.size(), 2u);
}

TEST(CudaArtifact, VersionTwoCpuArtifactRunsOnTheCpu) {
  ArtifactSpec a;
  a.target = DSX_TARGET_CPU;
  a.values = {{DS_F32, DSX_STORAGE_INPUT, {4}, 0, "x"}, {DS_F32, DSX_STORAGE_ARENA, {4}, 0, "y"}};
  a.arenaBytes = 64;
  a.inputs = {0};
  a.outputs = {1};
  a.steps = {{"ds.unary", {0}, {1}, {strAttr("kind", "relu")}}};
  std::string path = writeTemp(buildArtifact(a));
  ds::Model model(path);
  EXPECT_STREQ(ds_model_target(model.get()), "cpu");
  ds::Session session(model, 1);
  float x[4] = {-1, 2, -3, 4};
  session.run({{DS_F32, {4}, x, sizeof x}});
  const float *y = (const float *)session.output(0).data;
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[3], 4.0f);
  std::remove(path.c_str());
}

TEST(CudaArtifact, RejectsBadImages) {
  std::string message;
  ArtifactSpec a = addArtifact();
  a.images[1].offsetOverride = 1 << 20; // past the constants section
  EXPECT_EQ(loadCode(a, &message), DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("outside the constants section"), std::string::npos) << message;

  a = addArtifact();
  a.images[1].offsetOverride = 8; // misaligned
  EXPECT_EQ(loadCode(a), DS_INVALID_ARTIFACT);

  a = addArtifact();
  a.images[0].arch = std::string(DSX_MAX_ARCH_LENGTH + 1, 'x');
  EXPECT_EQ(loadCode(a, &message), DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("architecture"), std::string::npos) << message;

  a = addArtifact();
  a.images[0].arch = "sm 90";
  EXPECT_EQ(loadCode(a), DS_INVALID_ARTIFACT);

  a = addArtifact();
  a.images.clear(); // launches need a module
  EXPECT_EQ(loadCode(a, &message), DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("no kernel images"), std::string::npos) << message;

  a = addArtifact();
  a.target = 7;
  EXPECT_EQ(loadCode(a, &message), DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("unknown target"), std::string::npos) << message;

  a = addArtifact();
  a.target = DSX_TARGET_CPU; // cpu artifacts carry no images
  EXPECT_EQ(loadCode(a), DS_INVALID_ARTIFACT);
}

TEST(CudaArtifact, RejectsTruncatedTargetSection) {
  // A version-2 header over a version-1 body: the target is missing.
  ArtifactSpec a = addArtifact();
  a.version = 1;
  std::string bytes = buildArtifact(a);
  bytes[8] = 2; // the version field
  std::string body = bytes.substr(DSX_HEADER_SIZE);
  uint64_t sum = dsx_checksum((const unsigned char *)body.data(), body.size());
  std::memcpy(&bytes[24], &sum, 8);
  std::unique_ptr<dsrt::Program> program;
  dsrt::Status s =
      dsrt::Program::fromBuffer((const unsigned char *)bytes.data(), bytes.size(), program);
  EXPECT_EQ(s.code(), DS_INVALID_ARTIFACT) << s.message();
}

TEST(CudaArtifact, RejectsBadLaunchSteps) {
  std::string message;
  ArtifactSpec a = addArtifact();
  eraseAttr(a.steps[0], "kernel");
  EXPECT_EQ(loadCode(a, &message), DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("'kernel'"), std::string::npos) << message;

  a = addArtifact();
  eraseAttr(a.steps[0], "shared_bytes");
  EXPECT_EQ(loadCode(a, &message), DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("shared_bytes"), std::string::npos) << message;

  a = addArtifact();
  findAttr(a.steps[0], "grid")->ints = {0, 1, 1};
  EXPECT_EQ(loadCode(a, &message), DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("grid"), std::string::npos) << message;

  a = addArtifact();
  findAttr(a.steps[0], "grid")->ints = {1, 70000, 1}; // y is at most 65535
  EXPECT_EQ(loadCode(a), DS_INVALID_ARTIFACT);

  a = addArtifact();
  findAttr(a.steps[0], "grid")->ints = {2, 1};
  EXPECT_EQ(loadCode(a), DS_INVALID_ARTIFACT);

  a = addArtifact();
  findAttr(a.steps[0], "block")->ints = {64, 32, 1}; // 2048 threads
  EXPECT_EQ(loadCode(a, &message), DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("1024 threads"), std::string::npos) << message;

  a = addArtifact();
  findAttr(a.steps[0], "shared_bytes")->i = 1 << 20;
  EXPECT_EQ(loadCode(a), DS_INVALID_ARTIFACT);

  a = addArtifact();
  a.steps[1].inputs = {2, 2};
  EXPECT_EQ(loadCode(a), DS_INVALID_ARTIFACT); // cuda.alias takes one input

  a = addArtifact();
  a.steps[0].op = "cuda.conv";
  EXPECT_EQ(loadCode(a, &message), DS_UNSUPPORTED);
  EXPECT_NE(message.find("cuda.conv"), std::string::npos) << message;

  a = addArtifact();
  a.steps[0].op = "ds.unary"; // a CPU op inside a cuda artifact
  EXPECT_EQ(loadCode(a), DS_UNSUPPORTED);
}

TEST(CudaArtifact, RejectsBadGemmSteps) {
  EXPECT_EQ(loadCode(gemmArtifact(3, 5, 4, false, false)), DS_OK);
  EXPECT_EQ(loadCode(gemmArtifact(3, 5, 4, true, true, 2, "relu")), DS_OK);
  std::string message;
  ArtifactSpec a = gemmArtifact(3, 5, 4, false, false);
  eraseAttr(a.steps[0], "k");
  EXPECT_EQ(loadCode(a, &message), DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("'k'"), std::string::npos) << message;

  a = gemmArtifact(3, 5, 4, false, false);
  findAttr(a.steps[0], "k")->i = 40; // reaches past A and B
  EXPECT_EQ(loadCode(a, &message), DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("reach past"), std::string::npos) << message;

  a = gemmArtifact(3, 5, 4, false, false, 2);
  findAttr(a.steps[0], "stride_a")->i = 100;
  EXPECT_EQ(loadCode(a), DS_INVALID_ARTIFACT);

  a = gemmArtifact(3, 5, 4, false, false);
  findAttr(a.steps[0], "epilogue")->s = "swish";
  EXPECT_EQ(loadCode(a), DS_INVALID_ARTIFACT);

  a = gemmArtifact(3, 5, 4, false, false, 1, "relu");
  a.steps[0].inputs = {0, 1, 2}; // a bias without a bias epilogue
  EXPECT_EQ(loadCode(a), DS_INVALID_ARTIFACT);

  a = gemmArtifact(3, 5, 4, false, false);
  findAttr(a.steps[0], "beta")->f = 1.0; // beta without C
  EXPECT_EQ(loadCode(a, &message), DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("beta"), std::string::npos) << message;

  a = gemmArtifact(3, 5, 4, false, false);
  a.values[0].dtype = DS_I32;
  EXPECT_EQ(loadCode(a), DS_INVALID_ARTIFACT);

  // batch x stride_d = 2^64 elements: wrapped to 0, D's span looked like one matrix.
  a = gemmArtifact(3, 5, 4, false, false);
  findAttr(a.steps[0], "batch")->i = (int64_t(1) << 24) + 1;
  findAttr(a.steps[0], "stride_a")->i = 0;
  findAttr(a.steps[0], "stride_b")->i = 0;
  findAttr(a.steps[0], "stride_d")->i = int64_t(1) << 40;
  EXPECT_EQ(loadCode(a, &message), DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("reach past"), std::string::npos) << message;
}

/// Without a driver (this build's CI machines) a cuda session is DS_NO_DEVICE
/// with a message naming what is missing; never a crash.
TEST(CudaSession, ReportsNoDevice) {
  std::string path = writeTemp(buildArtifact(addArtifact()));
  ds_model *model = nullptr;
  ASSERT_EQ(ds_model_load(path.c_str(), &model), nullptr);
  EXPECT_STREQ(ds_model_target(model), "cuda");
  ds_session *session = nullptr;
  ds_status status = ds_session_create(model, nullptr, &session);
  ds_status_code code = ds_status_get_code(status);
  std::string message = ds_status_get_message(status);
  ds_status_release(status);
  ds_session_release(session);
  ds_model_release(model);
  std::remove(path.c_str());
  if (code == DS_OK)
    GTEST_SKIP() << "a CUDA device is present: the CudaGpu tests cover sessions";
#ifdef DS_TEST_HAVE_CUDA
  EXPECT_EQ(code, DS_NO_DEVICE) << message;
  EXPECT_NE(message.find("no CUDA device"), std::string::npos) << message;
#else
  EXPECT_EQ(code, DS_UNSUPPORTED) << message;
  EXPECT_NE(message.find("without the CUDA backend"), std::string::npos) << message;
#endif
}

TEST(CudaSession, OldOptionsStructIsAccepted) {
  // A caller built before `device` was appended passes the shorter struct.
  std::string path = writeTemp(buildArtifact(gemmArtifact(2, 2, 2, false, false)));
  ds::Model model(path);
  ds_session_options old;
  ds_session_options_init(&old);
  old.struct_size = offsetof(ds_session_options, device);
  ds_session *session = nullptr;
  ds_status status = ds_session_create(model.get(), &old, &session);
  EXPECT_NE(ds_status_get_code(status), DS_INVALID_ARGUMENT) << ds_status_get_message(status);
  ds_status_release(status);
  ds_session_release(session);
  old.struct_size = 3;
  status = ds_session_create(model.get(), &old, &session);
  EXPECT_EQ(ds_status_get_code(status), DS_INVALID_ARGUMENT);
  ds_status_release(status);
  std::remove(path.c_str());
}

namespace {
/// True where an NVIDIA GPU's device node exists, whatever this runtime was built with.
bool machineHasNvidiaGpu() { return access("/dev/nvidia0", F_OK) == 0; }

/// A session on a real device, or a skip naming why there is none. A runtime
/// built without the CUDA backend skips only on a machine without a GPU: on a
/// GPU machine that build would pass every test while checking nothing.
#define DS_SESSION_OR_SKIP(session, model)                                                     \
  std::unique_ptr<ds::Session> session;                                                        \
  try {                                                                                        \
    session = std::make_unique<ds::Session>(model);                                            \
  } catch (const ds::Error &e) {                                                               \
    if (e.code() == DS_UNSUPPORTED && machineHasNvidiaGpu())                                   \
      FAIL() << "this machine has a GPU (/dev/nvidia0) but: " << e.what();                     \
    if (e.code() == DS_NO_DEVICE || e.code() == DS_UNSUPPORTED)                                \
      GTEST_SKIP() << e.what();                                                                \
    throw;                                                                                     \
  }
} // namespace

TEST(CudaGpu, RunsPtxKernelWithGraphReplay) {
  std::string path = writeTemp(buildArtifact(addArtifact()));
  ds::Model model(path);
  DS_SESSION_OR_SKIP(session, model);
  std::vector<float> x(256);
  for (int run = 0; run < 3; ++run) { // run 0 eager, then captured and replayed
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = (float)(run * 1000 + (int)i);
    session->run({{DS_F32, {256}, x.data(), x.size() * 4}});
    const float *z = (const float *)session->output(0).data;
    for (size_t i = 0; i < x.size(); ++i)
      ASSERT_EQ(z[i], x[i] + 0.5f * (float)i) << "run " << run << " element " << i;
  }
  std::remove(path.c_str());
}

TEST(CudaGpu, GemmMatchesReferenceInEveryLayout) {
  const int64_t m = 37, n = 19, k = 23, batch = 3;
  for (int variant = 0; variant < 4; ++variant) {
    bool ta = variant & 1, tb = variant & 2;
    ArtifactSpec spec = gemmArtifact(m, n, k, ta, tb, batch);
    std::string path = writeTemp(buildArtifact(spec));
    ds::Model model(path);
    DS_SESSION_OR_SKIP(session, model);
    std::vector<float> a(batch * m * k), b(batch * k * n);
    for (size_t i = 0; i < a.size(); ++i)
      a[i] = (float)((i * 7) % 11) * 0.125f - 0.6f;
    for (size_t i = 0; i < b.size(); ++i)
      b[i] = (float)((i * 5) % 13) * 0.1f - 0.6f;
    const float *bias = (const float *)spec.constants.data();
    session->run({{DS_F32, spec.values[0].dims, a.data(), a.size() * 4},
                  {DS_F32, spec.values[1].dims, b.data(), b.size() * 4}});
    const float *d = (const float *)session->output(0).data;
    for (int64_t p = 0; p < batch; ++p)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double acc = bias[j];
          for (int64_t q = 0; q < k; ++q)
            acc += (double)a[p * m * k + (ta ? q * m + i : i * k + q)] *
                   b[p * k * n + (tb ? j * k + q : q * n + j)];
          ASSERT_NEAR(d[(p * m + i) * n + j], std::max(acc, 0.0), 1e-4)
              << "trans_a " << ta << " trans_b " << tb << " at " << p << "," << i << "," << j;
        }
    std::remove(path.c_str());
  }
}

namespace {
/// The few driver calls a test needs to hold device memory of its own (the
/// session made the primary context current on this thread). Declared here:
/// this test builds without cuda.h. 0 is 0.
using DevicePtr = unsigned long long; // DevicePtr
struct TestDriver {
  int (*alloc)(DevicePtr *, size_t) = nullptr;
  int (*free)(DevicePtr) = nullptr;
  int (*toDevice)(DevicePtr, const void *, size_t) = nullptr;
  int (*toHost)(void *, DevicePtr, size_t) = nullptr;
  bool open() {
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
      return false;
    alloc = (decltype(alloc))dlsym(lib, "cuMemAlloc_v2");
    free = (decltype(free))dlsym(lib, "cuMemFree_v2");
    toDevice = (decltype(toDevice))dlsym(lib, "cuMemcpyHtoD_v2");
    toHost = (decltype(toHost))dlsym(lib, "cuMemcpyDtoH_v2");
    return alloc && free && toDevice && toHost;
  }
};
} // namespace

/// ds_session_run_device: a GEMM (cuBLASLt) and a kernel on the caller's
/// device buffers, on the default stream, twice with the same pointers (the
/// second a graph replay) and once with another output buffer.
TEST(CudaGpu, RunsOnDeviceResidentBuffers) {
  const int64_t m = 33, n = 17, k = 21, batch = 2;
  ArtifactSpec spec = gemmArtifact(m, n, k, false, true, batch);
  std::string path = writeTemp(buildArtifact(spec));
  ds::Model model(path);
  DS_SESSION_OR_SKIP(session, model);
  TestDriver cu;
  ASSERT_TRUE(cu.open()) << "a session runs but libcuda.so.1 does not open here";
  std::vector<float> a(batch * m * k), b(batch * k * n);
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = (float)((i * 7) % 11) * 0.125f - 0.6f;
  for (size_t i = 0; i < b.size(); ++i)
    b[i] = (float)((i * 5) % 13) * 0.1f - 0.6f;
  std::vector<int64_t> dDims = {batch, m, n};
  size_t dBytes = (size_t)(batch * m * n) * 4;
  session->run({{DS_F32, spec.values[0].dims, a.data(), a.size() * 4},
                {DS_F32, spec.values[1].dims, b.data(), b.size() * 4}});
  ds_tensor host = session->output(0);
  std::vector<float> want((const float *)host.data, (const float *)host.data + batch * m * n);

  DevicePtr da = 0, db = 0, dd[2] = {0, 0};
  ASSERT_EQ(cu.alloc(&da, a.size() * 4), 0);
  ASSERT_EQ(cu.alloc(&db, b.size() * 4), 0);
  ASSERT_EQ(cu.alloc(&dd[0], dBytes), 0);
  ASSERT_EQ(cu.alloc(&dd[1], dBytes), 0);
  ASSERT_EQ(cu.toDevice(da, a.data(), a.size() * 4), 0);
  ASSERT_EQ(cu.toDevice(db, b.data(), b.size() * 4), 0);
  for (int run = 0; run < 3; ++run) {
    DevicePtr out = dd[run == 2];
    session->runDevice({{DS_F32, spec.values[0].dims, (void *)da, a.size() * 4},
                        {DS_F32, spec.values[1].dims, (void *)db, b.size() * 4}},
                       {{DS_F32, dDims, (void *)out, dBytes}});
    std::vector<float> got(batch * m * n, -7.0f);
    ASSERT_EQ(cu.toHost(got.data(), out, dBytes), 0); // ordered on the default stream
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], want[i]) << "run " << run << " element " << i;
  }
  for (DevicePtr p : {da, db, dd[0], dd[1]})
    cu.free(p);
  std::remove(path.c_str());
}
