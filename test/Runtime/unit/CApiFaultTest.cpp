//===- CApiFaultTest.cpp - the C API under allocation failures ------------===//
//
// ds_runtime.h promises that no C++ exception leaves the C API. This binary
// replaces the global operator new so that a test can make this thread's
// allocations fail: every call must still return a status (the preallocated
// out-of-memory one when even the message cannot be built), and a run that
// failed part way leaves no outputs to read.
//
//===----------------------------------------------------------------------===//
#include "RuntimeTestArtifacts.h"
#include "ds-runtime/ds_runtime.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <string>
#include <vector>

// The sanitizers' runtimes define operator new themselves: there the
// allocation-failure tests are skipped.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DS_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||                         \
    __has_feature(memory_sanitizer)
#define DS_TEST_SANITIZED 1
#endif
#endif
#ifdef DS_TEST_SANITIZED
#define SKIP_WHEN_SANITIZED() GTEST_SKIP() << "operator new is the sanitizer's"
#else
#define SKIP_WHEN_SANITIZED() (void)0
#endif

namespace {
/// Allocations on this thread to fail from now on; negative: all of them.
thread_local int failingAllocations = 0;

[[maybe_unused]] void *allocate(std::size_t n) {
  if (failingAllocations != 0) {
    if (failingAllocations > 0)
      --failingAllocations;
    throw std::bad_alloc();
  }
  if (void *p = std::malloc(n ? n : 1))
    return p;
  throw std::bad_alloc();
}

/// Runs `call` with this thread's allocations failing as `failing` says.
template <typename F> ds_status withFailingNew(int failing, F &&call) {
  failingAllocations = failing;
  ds_status s = nullptr;
  try {
    s = call();
  } catch (...) {
    failingAllocations = 0;
    ADD_FAILURE() << "a C++ exception escaped the C API";
    return nullptr;
  }
  failingAllocations = 0;
  return s;
}

std::string takeMessage(ds_status s, ds_status_code *code) {
  *code = ds_status_get_code(s);
  std::string message = ds_status_get_message(s);
  ds_status_release(s);
  return message;
}
} // namespace

#ifndef DS_TEST_SANITIZED
void *operator new(std::size_t n) { return allocate(n); }
void *operator new[](std::size_t n) { return allocate(n); }
void *operator new(std::size_t n, const std::nothrow_t &) noexcept {
  try {
    return allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void *operator new[](std::size_t n, const std::nothrow_t &) noexcept {
  return operator new(n, std::nothrow);
}
void operator delete(void *p) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t) noexcept { std::free(p); }
#endif

// Before, the message of an argument error was built outside any handler and
// a bad_alloc escaped through the C function.
TEST(CApiFaults, ArgumentErrorWithoutMemoryIsTheOutOfMemoryStatus) {
  SKIP_WHEN_SANITIZED();
  ds_status s = withFailingNew(-1, [] { return ds_session_create(nullptr, nullptr, nullptr); });
  ASSERT_NE(s, nullptr);
  ds_status_code code;
  // Released like any other status (the static one is not freed).
  EXPECT_EQ(takeMessage(s, &code), "out of memory");
  EXPECT_EQ(code, DS_RUNTIME_ERROR);
}

class CApiFaultSession : public ::testing::Test {
protected:
  void SetUp() override {
    SKIP_WHEN_SANITIZED();
    path_ = dstest::writeTempArtifact(dstest::buildArtifact(dstest::tanhAddArtifact(kN)));
    ASSERT_FALSE(path_.empty());
    ASSERT_EQ(ds_model_load(path_.c_str(), &model_), nullptr);
    ds_session_options options;
    ds_session_options_init(&options);
    options.num_threads = 2;
    ASSERT_EQ(ds_session_create(model_, &options, &session_), nullptr);
    x_.assign(kN, 0.5f);
    dims_ = {kN};
    input_ = {DS_F32, 1, dims_.data(), x_.data(), x_.size() * 4};
  }
  void TearDown() override {
    if (path_.empty())
      return;
    ds_session_release(session_);
    ds_model_release(model_);
    std::remove(path_.c_str());
  }
  ds_status_code outputCode() {
    ds_tensor out;
    ds_status s = ds_session_output(session_, 1, &out);
    ds_status_code code = ds_status_get_code(s);
    ds_status_release(s);
    return code;
  }

  static constexpr int64_t kN = 4096;
  std::string path_;
  ds_model *model_ = nullptr;
  ds_session *session_ = nullptr;
  std::vector<float> x_;
  std::vector<int64_t> dims_;
  ds_tensor input_;
};

// An allocation failing inside a run is a DS_RUNTIME_ERROR; when the message
// cannot be allocated either (before: a bad_alloc out of guarded's handler),
// the preallocated status. Either way the run's outputs are gone, while a
// run refused for its inputs keeps the earlier ones (ds_session_output).
TEST_F(CApiFaultSession, RunOutOfMemoryIsAStatusAndLeavesNoOutputs) {
  ASSERT_EQ(ds_session_run(session_, &input_, 1), nullptr);
  EXPECT_EQ(outputCode(), DS_OK);

  ds_status_code code;
  ds_status refused = ds_session_run(session_, &input_, 0);
  ASSERT_NE(refused, nullptr);
  takeMessage(refused, &code);
  EXPECT_EQ(code, DS_INVALID_ARGUMENT);
  EXPECT_EQ(outputCode(), DS_OK) << "inputs refused: the earlier outputs stay";

  ds_status s = withFailingNew(1, [&] { return ds_session_run(session_, &input_, 1); });
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(takeMessage(s, &code), "ds_session_run: out of memory");
  EXPECT_EQ(code, DS_RUNTIME_ERROR);
  EXPECT_EQ(outputCode(), DS_INVALID_ARGUMENT) << "a failed run leaves no outputs";

  s = withFailingNew(-1, [&] { return ds_session_run(session_, &input_, 1); });
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(takeMessage(s, &code), "out of memory");
  EXPECT_EQ(code, DS_RUNTIME_ERROR);

  s = withFailingNew(-1, [&] {
    ds_outputs *outs = nullptr;
    return ds_session_run_outputs(session_, &input_, 1, &outs);
  });
  ASSERT_NE(s, nullptr);
  takeMessage(s, &code);
  EXPECT_EQ(code, DS_RUNTIME_ERROR);

  // The session recovers once memory is back.
  ASSERT_EQ(ds_session_run(session_, &input_, 1), nullptr);
  EXPECT_EQ(outputCode(), DS_OK);
}
