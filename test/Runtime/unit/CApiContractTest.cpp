//===- CApiContractTest.cpp - lifetimes, names and failures of the C API -===//
//
// What ds_runtime.h promises beyond running: outputs are writable memory of
// the session (constants and inputs copied, never the read-only mapping or
// the caller's buffer), sessions keep their model alive, names reach callers
// whole and unique, and a session that cannot start its threads says so.
//
//===----------------------------------------------------------------------===//
#include "RuntimeTestArtifacts.h"
#include "ds-runtime/ds_runtime.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sys/resource.h>

using namespace dstest;

namespace {
constexpr int64_t kN = 4096;

std::vector<float> ramp() {
  std::vector<float> x(kN);
  for (int64_t i = 0; i < kN; ++i)
    x[i] = (float)(i % 50) / 10.0f - 2.5f;
  return x;
}

/// Loads `spec` through the C API; the status code, its message in `message`.
ds_status_code loadCode(const ArtifactSpec &spec, std::string *message) {
  std::string path = writeTempArtifact(buildArtifact(spec));
  ds_model *model = nullptr;
  ds_status s = ds_model_load(path.c_str(), &model);
  std::remove(path.c_str());
  ds_status_code code = ds_status_get_code(s);
  *message = ds_status_get_message(s);
  ds_status_release(s);
  ds_model_release(model);
  return code;
}

class Contract : public ::testing::Test {
protected:
  void SetUp() override {
    path_ = writeTempArtifact(buildArtifact(tanhAddArtifact(kN)));
    ASSERT_FALSE(path_.empty());
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_;
  std::vector<float> x_ = ramp();
};

void expectRunCorrect(ds_session *session, std::vector<float> &x) {
  ds_tensor in{DS_F32, 1, &kN, x.data(), x.size() * 4};
  ds_status s = ds_session_run(session, &in, 1);
  ASSERT_EQ(s, nullptr) << ds_status_get_message(s);
  ds_tensor y, z, w, xc;
  ASSERT_EQ(ds_session_output(session, 0, &y), nullptr);
  ASSERT_EQ(ds_session_output(session, 1, &z), nullptr);
  ASSERT_EQ(ds_session_output(session, 2, &w), nullptr);
  ASSERT_EQ(ds_session_output(session, 3, &xc), nullptr);
  int bad = 0;
  for (int64_t i = 0; i < kN; ++i) {
    float wi = tanhAddWeight(i);
    bad += ((const float *)w.data)[i] != wi;
    bad += ((const float *)xc.data)[i] != x[i];
    bad += ((const float *)z.data)[i] != ((const float *)y.data)[i] + wi;
    bad += std::fabs(((const float *)y.data)[i] - std::tanh(x[i])) > 1e-5f;
  }
  EXPECT_EQ(bad, 0);
}
} // namespace

// A constant output used to point into the read-only mapping: writing it
// crashed. Now it is a session-owned copy, refreshed by every run.
TEST_F(Contract, ConstantAndInputOutputsAreWritableCopies) {
  ds::Model model(path_);
  ds::Session session(model, 2);
  expectRunCorrect(session.get(), x_);
  ds_tensor w = session.output(2), xc = session.output(3);
  EXPECT_NE(xc.data, (void *)x_.data()); // not the caller's buffer
  for (int64_t i = 0; i < kN; ++i) {
    ((float *)w.data)[i] = -7.0f; // a write into the mapping would fault here
    ((float *)xc.data)[i] = -7.0f;
  }
  // The scribbles change neither the constant the kernels read nor the next run's outputs.
  expectRunCorrect(session.get(), x_);
  for (int64_t i = 0; i < kN; ++i)
    ASSERT_EQ(x_[i], ramp()[i]) << "the caller's input was written";
}

// Device-resident runs exist only for cuda artifacts: a cpu session says so,
// and its host outputs stay as the last host run left them.
TEST_F(Contract, DeviceResidentRunsNeedACudaArtifact) {
  ds::Model model(path_);
  ds::Session session(model, 1);
  expectRunCorrect(session.get(), x_);
  ds_tensor in{DS_F32, 1, &kN, x_.data(), x_.size() * 4};
  std::vector<float> out(kN * 4);
  ds_tensor outs[4];
  for (int k = 0; k < 4; ++k)
    outs[k] = ds_tensor{DS_F32, 1, &kN, out.data() + k * kN, (size_t)kN * 4};
  ds_status s = ds_session_run_device(session.get(), &in, 1, outs, 4, nullptr);
  EXPECT_EQ(ds_status_get_code(s), DS_UNSUPPORTED);
  EXPECT_NE(std::string(ds_status_get_message(s)).find("--target=cuda"), std::string::npos)
      << ds_status_get_message(s);
  ds_status_release(s);
  ds_tensor y;
  EXPECT_EQ(ds_session_output(session.get(), 0, &y), nullptr);
  s = ds_session_run_device(nullptr, &in, 1, outs, 4, nullptr);
  EXPECT_EQ(ds_status_get_code(s), DS_INVALID_ARGUMENT);
  ds_status_release(s);
}

TEST_F(Contract, RunOutputsAreWritableCopies) {
  ds::Model model(path_);
  ds::Session session(model, 1);
  ds::Outputs first = session.runOutputs({{DS_F32, {kN}, x_.data(), x_.size() * 4}});
  ASSERT_EQ(first.size(), 4u);
  for (int o = 0; o < 4; ++o)
    std::memset(first[o].data, 0xff, first[o].byte_size);
  ds::Outputs second = session.runOutputs({{DS_F32, {kN}, x_.data(), x_.size() * 4}});
  for (int64_t i = 0; i < kN; ++i)
    ASSERT_EQ(((const float *)second[2].data)[i], tanhAddWeight(i));
  ds_tensor t;
  ds_status s = ds_outputs_get(second.get(), 4, &t);
  EXPECT_EQ(ds_status_get_code(s), DS_INVALID_ARGUMENT);
  ds_status_release(s);
}

// Releasing the model before its session freed the program (and unmapped the
// constants) under the session: a use after free. The session now keeps it.
TEST_F(Contract, SessionOutlivesItsModel) {
  ds_model *model = nullptr;
  ASSERT_EQ(ds_model_load(path_.c_str(), &model), nullptr);
  ds_session *session = nullptr;
  ASSERT_EQ(ds_session_create(model, nullptr, &session), nullptr);
  ds_model_release(model);
  expectRunCorrect(session, x_);
  expectRunCorrect(session, x_);
  ds_session_release(session);
}

//===----------------------------------------------------------------------===//
// Names (the C API hands them out as C strings)
//===----------------------------------------------------------------------===//

TEST(Names, RejectsNulInAnOutputName) {
  ArtifactSpec spec = tanhAddArtifact(64);
  spec.outputNames[1] = std::string("y\0z", 3); // read as "y" it would shadow output 0
  std::string message;
  EXPECT_EQ(loadCode(spec, &message), DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("the name of output 1 ('y\\0z') contains a NUL byte"), std::string::npos)
      << message;
}

TEST(Names, RejectsNulInAValueName) {
  ArtifactSpec spec = tanhAddArtifact(64);
  spec.values[0].name = std::string("x\0", 2);
  std::string message;
  EXPECT_EQ(loadCode(spec, &message), DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("value 0 ('x\\0') contains a NUL byte"), std::string::npos) << message;
}

TEST(Names, RejectsDuplicateOutputNames) {
  ArtifactSpec spec = tanhAddArtifact(64);
  spec.outputNames[3] = "z";
  std::string message;
  EXPECT_EQ(loadCode(spec, &message), DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("two outputs are named 'z'"), std::string::npos) << message;
}

TEST(Names, RejectsDuplicateInputNames) {
  ArtifactSpec spec = tanhAddArtifact(64);
  spec.values[1].storage = DSX_STORAGE_INPUT; // w becomes a second input named "x"
  spec.values[1].name = "x";
  spec.inputs = {0, 1};
  std::string message;
  EXPECT_EQ(loadCode(spec, &message), DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("two inputs are named 'x'"), std::string::npos) << message;
}

TEST(Names, TheSameValueMayBeTwoDifferentlyNamedOutputs) {
  ArtifactSpec spec = tanhAddArtifact(64);
  spec.outputs = {2, 2};
  spec.outputNames = {"y", "y_again"};
  std::string message;
  EXPECT_EQ(loadCode(spec, &message), DS_OK) << message;
}

//===----------------------------------------------------------------------===//
// Thread creation failure
//===----------------------------------------------------------------------===//

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define DS_TEST_SANITIZED 1
#endif
#endif

namespace {
/// This process's virtual size, from /proc/self/status.
uint64_t virtualBytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  uint64_t kb = 0;
  while (status >> key)
    if (key == "VmSize:" && status >> kb)
      return kb * 1024;
  return 0;
}

/// In a child process (a death test): caps the address space a little above
/// what the process uses, so thread stacks cannot be mapped, and creates a
/// 64-thread session. Exits 0 when it fails with the expected status.
[[noreturn]] void createSessionWithoutRoomForThreads(const std::string &path) {
  ds::Model model(path);
  uint64_t limit = virtualBytes() + (48u << 20);
  struct rlimit rl = {limit, limit};
  if (virtualBytes() == 0 || setrlimit(RLIMIT_AS, &rl) != 0) {
    std::fprintf(stderr, "cannot cap the address space\n");
    std::_Exit(2);
  }
  ds_session_options options;
  ds_session_options_init(&options);
  options.num_threads = 64;
  ds_session *session = nullptr;
  ds_status s = ds_session_create(model.get(), &options, &session);
  std::fprintf(stderr, "%s\n", s ? ds_status_get_message(s) : "created");
  std::_Exit(s && !session && ds_status_get_code(s) == DS_RUNTIME_ERROR ? 0 : 1);
}
} // namespace

// Creating the workers used to throw std::system_error out of the C API
// (ds-run aborted, Python hung). Now the session is refused with a status,
// after the workers already started are stopped.
TEST_F(Contract, ThreadsThatCannotStartGiveAStatus) {
#ifdef DS_TEST_SANITIZED
  GTEST_SKIP() << "sanitizers reserve the address space that RLIMIT_AS would cap";
#else
  EXPECT_EXIT(createSessionWithoutRoomForThreads(path_), ::testing::ExitedWithCode(0),
              "cannot start worker thread [0-9]+ of 64: Resource temporarily unavailable; "
              "use fewer threads");
#endif
}
