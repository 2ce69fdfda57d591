//===- FakeCudaSessionTest.cpp - the CUDA session against a stand-in driver ===//
//
// DS_CUDA_DRIVER points the runtime at libds-fake-cuda (FakeCuda.cpp), which
// runs known kernels on the host. This checks, without a GPU: image choice
// (the bogus sm_90a cubin is refused, the PTX loads), kernel parameters
// (inputs then outputs), the first run eager, then capture once and replay,
// and the validation of steps against the module.
//
//===----------------------------------------------------------------------===//
#include "CudaArtifactBuilder.h"
#include "ds-runtime/ds_runtime.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <fstream>
#include <unistd.h>

using namespace dstest;

namespace {
std::string writeTemp(const std::string &bytes) {
  char path[] = "/tmp/ds-fake-cuda-XXXXXX";
  int fd = mkstemp(path);
  ::close(fd);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

int fakeCounter(const char *name) {
  void *lib = dlopen(DS_FAKE_CUDA_PATH, RTLD_NOW | RTLD_NOLOAD);
  auto fn = lib ? (int (*)())dlsym(lib, name) : nullptr;
  return fn ? fn() : -1;
}
} // namespace

TEST(FakeCuda, RunsEagerlyThenReplaysTheGraph) {
  std::string path = writeTemp(buildArtifact(addArtifact()));
  ds::Model model(path);
  ds::Session session(model);
  int launches = fakeCounter("ds_fake_cuda_launches");
  int replays = fakeCounter("ds_fake_cuda_graph_launches");
  std::vector<float> x(256);
  for (int run = 0; run < 3; ++run) {
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = (float)(run * 100 + (int)i);
    session.run({{DS_F32, {256}, x.data(), x.size() * 4}});
    const float *z = (const float *)session.output(0).data;
    for (size_t i = 0; i < x.size(); ++i)
      ASSERT_EQ(z[i], x[i] + 0.5f * (float)i) << "run " << run << " element " << i;
  }
  // One launch per run; runs 2 and 3 are graph replays.
  EXPECT_EQ(fakeCounter("ds_fake_cuda_launches") - launches, 3);
  EXPECT_EQ(fakeCounter("ds_fake_cuda_graph_launches") - replays, 2);
  std::remove(path.c_str());
}

/// DS_CUDA_PROFILE=steps: launches stay eager (no graph) and the session's end
/// prints device time per run and per kernel; =graph times each replay.
TEST(FakeCuda, ProfilesStepsOrGraphReplaysOnRequest) {
  std::string path = writeTemp(buildArtifact(addArtifact()));
  ds::Model model(path);
  std::vector<float> x(256, 1.0f);
  for (const char *mode : {"steps", "graph"}) {
    setenv("DS_CUDA_PROFILE", mode, 1);
    int replays = fakeCounter("ds_fake_cuda_graph_launches");
    testing::internal::CaptureStderr();
    {
      ds::Session session(model);
      for (int run = 0; run < 3; ++run)
        session.run({{DS_F32, {256}, x.data(), x.size() * 4}});
    }
    std::string report = testing::internal::GetCapturedStderr();
    unsetenv("DS_CUDA_PROFILE");
    bool steps = std::string(mode) == "steps";
    EXPECT_EQ(fakeCounter("ds_fake_cuda_graph_launches") - replays, steps ? 0 : 2) << mode;
    EXPECT_NE(report.find(steps ? "ds: CUDA profile (steps, eager), 2 runs after the first"
                                : "ds: CUDA profile (graph replay), 2 runs after the first"),
              std::string::npos)
        << report;
    EXPECT_EQ(report.find("ds_test_add") != std::string::npos, steps) << report;
  }
  std::remove(path.c_str());
}

/// The stand-in driver's device memory is host memory, so host buffers serve
/// as device pointers here: the steps read the caller's input and write the
/// caller's output in place (no staging), eagerly once, then as graph replays;
/// other pointers re-bind the steps and capture again; a host run after that
/// uses the session's own buffers again.
TEST(FakeCuda, RunsOnDeviceResidentTensorsInPlace) {
  std::string path = writeTemp(buildArtifact(addArtifact()));
  ds::Model model(path);
  ds::Session session(model);
  alignas(16) float x[256], z1[256], z2[256];
  for (int i = 0; i < 256; ++i)
    x[i] = (float)i;
  int replays = fakeCounter("ds_fake_cuda_graph_launches");
  for (int run = 0; run < 3; ++run) {
    std::fill(z1, z1 + 256, -1.0f);
    session.runDevice({{DS_F32, {256}, x, sizeof x}}, {{DS_F32, {256}, z1, sizeof z1}});
    for (int i = 0; i < 256; ++i)
      ASSERT_EQ(z1[i], x[i] + 0.5f * (float)i) << "run " << run << " element " << i;
  }
  EXPECT_EQ(fakeCounter("ds_fake_cuda_graph_launches") - replays, 2);
  session.runDevice({{DS_F32, {256}, x, sizeof x}}, {{DS_F32, {256}, z2, sizeof z2}});
  session.runDevice({{DS_F32, {256}, z1, sizeof z1}}, {{DS_F32, {256}, z2, sizeof z2}});
  for (int i = 0; i < 256; ++i)
    ASSERT_EQ(z2[i], z1[i] + 0.5f * (float)i) << "re-bound element " << i;
  try { // outputs of a device-resident run are not host outputs
    session.output(0);
    FAIL() << "ds_session_output answered after a device-resident run";
  } catch (const ds::Error &e) {
    EXPECT_EQ(e.code(), DS_INVALID_ARGUMENT);
  }
  session.run({{DS_F32, {256}, x, sizeof x}});
  const float *z = (const float *)session.output(0).data;
  EXPECT_NE(z, z2);
  for (int i = 0; i < 256; ++i)
    ASSERT_EQ(z[i], x[i] + 0.5f * (float)i) << "host run after device runs, element " << i;
  std::remove(path.c_str());
}

TEST(FakeCuda, RefusesBadDeviceOperands) {
  std::string path = writeTemp(buildArtifact(addArtifact()));
  ds::Model model(path);
  ds::Session session(model);
  alignas(16) float x[260], z[260];
  auto code = [&](std::vector<ds::TensorRef> in, std::vector<ds::TensorRef> out, std::string &why) {
    try {
      session.runDevice(in, out);
    } catch (const ds::Error &e) {
      why = e.what();
      return e.code();
    }
    return DS_OK;
  };
  std::string why;
  EXPECT_EQ(code({{DS_F32, {256}, x + 1, 1024}}, {{DS_F32, {256}, z, 1024}}, why),
            DS_INVALID_ARGUMENT);
  EXPECT_NE(why.find("16-byte aligned"), std::string::npos) << why;
  EXPECT_EQ(code({{DS_F32, {256}, x, 1024}}, {{DS_F32, {128}, z, 512}}, why), DS_INVALID_ARGUMENT);
  EXPECT_NE(why.find("output 0"), std::string::npos) << why;
  EXPECT_EQ(code({{DS_F32, {256}, x, 1024}}, {}, why), DS_INVALID_ARGUMENT);
  EXPECT_EQ(code({{DS_F32, {128}, x, 512}}, {{DS_F32, {256}, z, 1024}}, why), DS_INVALID_ARGUMENT);
  std::remove(path.c_str());
}

/// A dynamic program: each new length is planned (dims, grid, arena), the
/// kernel gets the length as its size parameter, output dims follow; a graph
/// is captured only once a length repeats, and a new length drops it.
TEST(FakeCuda, PlansDynamicDimsPerInputShape) {
  // Also with the length as symbol 1 of two (the input's dim names it; the
  // first runtime sized every input dim by symbol 0).
  for (bool otherSymbol : {false, true}) {
    SCOPED_TRACE(otherSymbol ? "n is symbol 1" : "n is symbol 0");
    std::string path = writeTemp(buildArtifact(dynamicAddArtifact(otherSymbol)));
    ds::Model model(path);
    ds::Session session(model);
    int replays = fakeCounter("ds_fake_cuda_graph_launches");
    for (int64_t n : {5, 300, 300, 300, 7, 0}) {
      std::vector<float> x((size_t)n);
      for (int64_t i = 0; i < n; ++i)
        x[(size_t)i] = (float)(i + n);
      session.run({{DS_F32, {n}, x.data(), x.size() * 4}});
      ds_tensor z = session.output(0);
      ASSERT_EQ(z.rank, 1);
      ASSERT_EQ(z.dims[0], n);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(((const float *)z.data)[i], 2.0f * x[(size_t)i]) << "n " << n << " at " << i;
    }
    // 300 ran eagerly twice, then was captured and replayed once.
    EXPECT_EQ(fakeCounter("ds_fake_cuda_graph_launches") - replays, 1);
    // A length outside the symbol's bounds is refused with its name.
    std::vector<float> big(100001);
    try {
      session.run({{DS_F32, {100001}, big.data(), big.size() * 4}});
      FAIL() << "a length past the bound ran";
    } catch (const ds::Error &e) {
      EXPECT_NE(std::string(e.what()).find("'n'"), std::string::npos) << e.what();
    }
    std::remove(path.c_str());
  }
}

TEST(FakeCuda, ValidatesInputs) {
  std::string path = writeTemp(buildArtifact(addArtifact()));
  ds::Model model(path);
  ds::Session session(model);
  std::vector<float> x(128);
  try {
    session.run({{DS_F32, {128}, x.data(), x.size() * 4}});
    FAIL() << "wrong dims accepted";
  } catch (const ds::Error &e) {
    EXPECT_EQ(e.code(), DS_INVALID_ARGUMENT);
  }
  std::remove(path.c_str());
}

TEST(FakeCuda, RejectsKernelsMissingFromTheModule) {
  ArtifactSpec spec = addArtifact();
  spec.steps[0].attrs[0].s = "ds_missing_kernel";
  std::string path = writeTemp(buildArtifact(spec));
  ds::Model model(path);
  try {
    ds::Session session(model);
    FAIL() << "a missing kernel symbol was accepted";
  } catch (const ds::Error &e) {
    EXPECT_EQ(e.code(), DS_INVALID_ARTIFACT);
    EXPECT_NE(std::string(e.what()).find("ds_missing_kernel"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

TEST(FakeCuda, NeedsAnImageForTheDevice) {
  ArtifactSpec spec = addArtifact();
  spec.images = {{"sm_100", "\x7f" "ELF"}, {"compute_100", addKernelPtx()}}; // newer than 9.0
  std::string path = writeTemp(buildArtifact(spec));
  ds::Model model(path);
  try {
    ds::Session session(model);
    FAIL() << "an image for a newer GPU was accepted";
  } catch (const ds::Error &e) {
    EXPECT_EQ(e.code(), DS_UNSUPPORTED);
    EXPECT_NE(std::string(e.what()).find("no kernel image for sm_90"), std::string::npos)
        << e.what();
  }
  std::remove(path.c_str());
}

TEST(FakeCuda, ReportsAMissingDeviceOrdinal) {
  std::string path = writeTemp(buildArtifact(addArtifact()));
  ds::Model model(path);
  ds_session_options options;
  ds_session_options_init(&options);
  options.device = 3;
  ds_session *session = nullptr;
  ds_status status = ds_session_create(model.get(), &options, &session);
  EXPECT_EQ(ds_status_get_code(status), DS_NO_DEVICE);
  EXPECT_NE(std::string(ds_status_get_message(status)).find("no CUDA device 3"),
            std::string::npos);
  ds_status_release(status);
  std::remove(path.c_str());
}

int main(int argc, char **argv) {
  setenv("DS_CUDA_DRIVER", DS_FAKE_CUDA_PATH, 1);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
