//===- TrainingSessionTest.cpp - the C / C++ API's training session -------===//
//
// Against trainingStepArtifact (RuntimeTestArtifacts.h), whose step is
// p.next = p - 0.5 (p - x) with loss sum((p - x)^2): the session's
// bookkeeping (state carried, learning rate, steps, loss scaling, save and
// load) is checked exactly.
//
//===----------------------------------------------------------------------===//
#include "RuntimeTestArtifacts.h"

#include "ds-runtime/ds_artifact_format.h"
#include "ds-runtime/ds_runtime.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <functional>
#include <sys/stat.h>
#include <thread>

namespace {

using Vec = std::vector<float>;

class TrainingSessionTest : public ::testing::Test {
protected:
  std::string artifact(bool lossScaling, const std::string &parameter = "p") {
    std::string path =
        dstest::writeTempArtifact(dstest::buildArtifact(dstest::trainingStepArtifact(
            lossScaling, parameter)));
    files_.push_back(path);
    return path;
  }
  std::string scratch(const std::string &name) {
    std::string path = "/tmp/ds-training-test-" + std::to_string(::getpid()) + "-" + name;
    files_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const std::string &f : files_)
      std::remove(f.c_str());
  }
  static ds::TensorRef batch(Vec &x) { return {DS_F32, {4}, x.data(), x.size() * 4}; }

  std::vector<std::string> files_;
};

std::string messageOf(const std::function<void()> &call, ds_status_code *code = nullptr) {
  try {
    call();
  } catch (const ds::Error &e) {
    if (code)
      *code = e.code();
    return e.what();
  }
  return "";
}

TEST(LossScaler, FollowsTheStateMachineUnderInjectedOverflows) {
  ds_loss_scaler s;
  ds_loss_scaler_init(&s, 65536.0, 3, 1.0);
  std::vector<double> trace;
  for (int finite : {1, 0, 0, 1, 1, 1, 1, 0, 1}) {
    ds_loss_scaler_update(&s, finite);
    trace.push_back(s.scale);
  }
  EXPECT_EQ(trace, (std::vector<double>{65536, 32768, 16384, 16384, 16384, 32768, 32768, 16384,
                                        16384}));
  EXPECT_EQ(s.skipped_steps, 3);
  EXPECT_EQ(s.clean_steps, 1);
  // Never below the minimum.
  ds_loss_scaler_init(&s, 4.0, 2000, 1.0);
  for (int i = 0; i < 5; ++i)
    ds_loss_scaler_update(&s, 0);
  EXPECT_EQ(s.scale, 1.0);
  // The usual configuration doubles after 2,000 clean steps, not 1,999.
  ds_training_options options;
  ds_training_options_init(&options);
  s = options.loss_scaler;
  EXPECT_EQ(s.scale, 65536.0);
  for (int i = 0; i < 1999; ++i)
    ds_loss_scaler_update(&s, 1);
  EXPECT_EQ(s.scale, 65536.0);
  ds_loss_scaler_update(&s, 1);
  EXPECT_EQ(s.scale, 131072.0);
}

TEST_F(TrainingSessionTest, StepsCarryParametersAndState) {
  ds::Model model(artifact(false));
  ds::TrainingSession training(model, 2);
  auto inputs = training.batchInputs();
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_STREQ(inputs[0].name, "x");
  auto state = training.state();
  ASSERT_EQ(state.size(), 2u);
  EXPECT_STREQ(state[0].info.name, "p");
  EXPECT_TRUE(state[0].isParameter);
  EXPECT_STREQ(state[1].info.name, "p.momentum");
  EXPECT_FALSE(state[1].isParameter);
  EXPECT_EQ(training.learningRate(), 0.5);
  EXPECT_EQ(training.stepsDone(), 0);
  EXPECT_NE(messageOf([&] { training.lossScaler(); }), "");

  Vec x{1, 0, 1, 0};
  auto r = training.step({batch(x)});
  EXPECT_TRUE(r.applied);
  EXPECT_EQ(r.loss, 0 + 4 + 4 + 16); // (p - x)^2 with p = {1, 2, 3, 4}
  EXPECT_EQ(training.read<float>("p"), (Vec{1, 1, 2, 2}));
  EXPECT_EQ(training.read<float>("p.momentum"), (Vec{0, 1, 1, 2}));
  EXPECT_EQ(training.stepsDone(), 1);

  // A schedule: the next step uses the new rate.
  training.setLearningRate(0.25);
  Vec zero{0, 0, 0, 0};
  training.step({batch(zero)});
  EXPECT_EQ(training.read<float>("p"), (Vec{0.75f, 0.75f, 1.5f, 1.5f}));
  EXPECT_EQ(training.stepsDone(), 2);
}

TEST_F(TrainingSessionTest, StateIsReadAndWrittenWithItsShape) {
  ds::Model model(artifact(false));
  ds::TrainingSession training(model, 1);
  Vec p{10, 20, 30, 40};
  training.write("p", {DS_F32, {4}, p.data(), 16});
  EXPECT_EQ(training.read<float>("p"), p);
  Vec x{0, 0, 0, 0};
  EXPECT_EQ(training.step({batch(x)}).loss, 3000.0);

  ds_status_code code = DS_OK;
  Vec three{1, 2, 3};
  EXPECT_EQ(messageOf([&] { training.write("p", {DS_F32, {3}, three.data(), 12}); }, &code),
            "ds_training_session_write_state: 'p' is f32[4], not f32[3] of 12 bytes");
  EXPECT_EQ(code, DS_INVALID_ARGUMENT);
  EXPECT_NE(messageOf([&] { training.write("q", {DS_F32, {4}, p.data(), 16}); }), "");
  EXPECT_NE(messageOf([&] { training.read<double>("p"); }), "");
  // A refused step (the batch's shape) changes nothing.
  Vec before = training.read<float>("p");
  EXPECT_NE(messageOf([&] { training.step({{DS_F32, {3}, three.data(), 12}}); }), "");
  EXPECT_NE(messageOf([&] { training.step({}); }), "");
  EXPECT_EQ(training.read<float>("p"), before);
  EXPECT_EQ(training.stepsDone(), 1);
}

TEST_F(TrainingSessionTest, CheckpointResumesBitForBit) {
  ds::Model model(artifact(false));
  std::vector<Vec> data{{1, 2, 3, 4}, {0.3f, -1, 2, 7}, {5, 5, -5, 0.1f}, {0, 1, 0, 1}};
  ds::TrainingSession straight(model, 1);
  std::vector<double> expected;
  for (Vec &x : data)
    expected.push_back(straight.step({batch(x)}).loss);

  ds::TrainingSession first(model, 1);
  first.setLearningRate(0.5);
  first.step({batch(data[0])});
  first.step({batch(data[1])});
  std::string path = scratch("resume.ckpt");
  first.save(path);
  ds::TrainingSession resumed(model, 1);
  resumed.setLearningRate(0.125);
  resumed.load(path);
  EXPECT_EQ(resumed.stepsDone(), 2);
  EXPECT_EQ(resumed.learningRate(), 0.5);
  EXPECT_EQ(resumed.step({batch(data[2])}).loss, expected[2]);
  EXPECT_EQ(resumed.step({batch(data[3])}).loss, expected[3]);
  EXPECT_EQ(resumed.read<float>("p"), straight.read<float>("p"));
  EXPECT_EQ(resumed.read<float>("p.momentum"), straight.read<float>("p.momentum"));
}

TEST_F(TrainingSessionTest, TornCorruptedAndForeignCheckpointsAreRefused) {
  ds::Model model(artifact(false));
  ds::TrainingSession training(model, 1);
  Vec x{1, 0, 1, 0};
  training.step({batch(x)});
  std::string good = scratch("good.ckpt");
  training.save(good);
  std::ifstream in(good, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto writeFile = [&](const std::string &name, const std::string &content) {
    std::string path = scratch(name);
    std::ofstream(path, std::ios::binary) << content;
    return path;
  };
  Vec before = training.read<float>("p");
  ds_status_code code = DS_OK;

  std::string torn = writeFile("torn.ckpt", bytes.substr(0, bytes.size() / 2));
  EXPECT_NE(messageOf([&] { training.load(torn); }, &code).find("torn"), std::string::npos);
  EXPECT_EQ(code, DS_INVALID_ARTIFACT);
  for (size_t at : {bytes.size() / 2, bytes.size() - 1, (size_t)70}) {
    std::string flipped = bytes;
    flipped[at] ^= 0x20;
    std::string path = writeFile("flipped.ckpt", flipped);
    EXPECT_NE(messageOf([&] { training.load(path); }).find("checksum"), std::string::npos) << at;
  }
  std::string header = bytes;
  header[8] = 7; // the format version
  EXPECT_NE(messageOf([&] { training.load(writeFile("version.ckpt", header)); }), "");
  EXPECT_NE(messageOf([&] { training.load(writeFile("empty.ckpt", "")); }), "");
  EXPECT_NE(messageOf([&] { training.load(scratch("missing.ckpt")); }, &code), "");
  EXPECT_EQ(code, DS_IO_ERROR);

  ds::Model other(artifact(false, "q"));
  ds::TrainingSession foreign(other, 1);
  EXPECT_EQ(messageOf([&] { foreign.load(good); }),
            good + ": another model's checkpoint (missing ['q', 'q.momentum'], unexpected "
                   "['p', 'p.momentum'])");
  ds::Model scaled(artifact(true));
  ds::TrainingSession scaling(scaled, 1);
  EXPECT_EQ(messageOf([&] { scaling.load(good); }),
            good + ": saved without loss scaling, this session runs with it");
  EXPECT_EQ(training.read<float>("p"), before);
  EXPECT_EQ(training.stepsDone(), 1);
}

TEST_F(TrainingSessionTest, WellFormedButInsaneCheckpointsAreRefused) {
  // Files whose checksum is right but whose values are not: a forger's or a
  // buggy writer's. Each changes nothing.
  ds::Model model(artifact(false));
  ds::TrainingSession training(model, 1);
  std::string good = scratch("sane.ckpt");
  training.save(good);
  std::ifstream in(good, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto forged = [&](const std::string &name, size_t at, const void *value, size_t size) {
    std::string copy = bytes;
    std::memcpy(&copy[at], value, size);
    uint64_t checksum = dsx_checksum(reinterpret_cast<const unsigned char *>(copy.data()) + 64,
                                     copy.size() - 64);
    std::memcpy(&copy[24], &checksum, 8); // after magic, version, header size, file size
    std::string path = scratch(name);
    std::ofstream(path, std::ios::binary) << copy;
    return path;
  };
  double nan = std::nan("");
  EXPECT_NE(messageOf([&] { training.load(forged("nan.ckpt", 72, &nan, 8)); })
                .find("the learning rate is not finite"),
            std::string::npos);
  uint32_t count = 0x7fffffff;
  EXPECT_NE(messageOf([&] { training.load(forged("count.ckpt", 84, &count, 4)); })
                .find("does not fit the file"),
            std::string::npos);
  uint32_t nameSize = 0xffffff;
  EXPECT_NE(messageOf([&] { training.load(forged("name.ckpt", 88, &nameSize, 4)); })
                .find("malformed"),
            std::string::npos);
  EXPECT_EQ(training.learningRate(), 0.5);

  ds::Model scaledModel(artifact(true));
  ds::TrainingSession scaled(scaledModel, 1);
  scaled.save(good);
  std::ifstream again(good, std::ios::binary);
  bytes.assign((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>());
  double zero = 0;
  EXPECT_NE(messageOf([&] { scaled.load(forged("scale.ckpt", 88, &zero, 8)); })
                .find("the loss scaler's state is out of range"),
            std::string::npos);
  EXPECT_EQ(scaled.lossScaler().scale, 65536.0);
}

TEST_F(TrainingSessionTest, SaveReplacesWholeOrNotAtAll) {
  ds::Model model(artifact(false));
  ds::TrainingSession training(model, 1);
  std::string path = scratch("replace.ckpt");
  training.save(path);
  Vec x{9, 9, 9, 9};
  training.step({batch(x)});
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  training.save(path); // over the previous file, keeping its mode
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  ds::TrainingSession other(model, 1);
  other.load(path);
  EXPECT_EQ(other.read<float>("p"), training.read<float>("p"));
  // A folder that does not exist: an I/O error, nothing left behind.
  ds_status_code code = DS_OK;
  EXPECT_NE(messageOf([&] { training.save("/nonexistent-ds-folder/run.ckpt"); }, &code), "");
  EXPECT_EQ(code, DS_IO_ERROR);
  // A directory in the way: the rename fails and the temporary file goes.
  std::string dir = scratch("dir.ckpt");
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  EXPECT_NE(messageOf([&] { training.save(dir); }), "");
  DIR *tmp = ::opendir("/tmp");
  ASSERT_NE(tmp, nullptr);
  int leftovers = 0;
  while (dirent *e = ::readdir(tmp))
    leftovers += std::string(e->d_name).rfind(".ds-ckpt-", 0) == 0;
  ::closedir(tmp);
  ::rmdir(dir.c_str());
  EXPECT_EQ(leftovers, 0);
}

TEST_F(TrainingSessionTest, OverflowingStepsAreSkippedAndHalveTheScale) {
  ds::Model model(artifact(true));
  ds_loss_scaler initial;
  ds_loss_scaler_init(&initial, 1 << 20, 2, 1.0);
  ds::TrainingSession training(model, 1, &initial);
  auto inputs = training.batchInputs();
  ASSERT_EQ(inputs.size(), 1u); // loss_scale is the session's, not the batch's
  Vec x{0, 2, 3, 4};            // loss 1: overflows while the scale is >= 2^20
  auto r = training.step({batch(x)});
  EXPECT_FALSE(r.applied);
  EXPECT_EQ(r.loss, 1.0);
  EXPECT_EQ(training.read<float>("p"), (Vec{1, 2, 3, 4}));
  EXPECT_EQ(training.read<float>("p.momentum"), (Vec{0, 0, 0, 0}));
  EXPECT_EQ(training.stepsDone(), 0);
  ds_loss_scaler s = training.lossScaler();
  EXPECT_EQ(s.scale, 524288.0);
  EXPECT_EQ(s.skipped_steps, 1);
  // loss 1 x 2^19 < 1e6: applies; two clean steps double the scale again.
  EXPECT_TRUE(training.step({batch(x)}).applied);
  EXPECT_EQ(training.read<float>("p"), (Vec{0.5f, 2, 3, 4}));
  training.step({batch(x)});
  EXPECT_EQ(training.lossScaler().scale, 1048576.0);
  EXPECT_EQ(training.stepsDone(), 2);

  // The scaler survives a checkpoint.
  std::string path = scratch("scaled.ckpt");
  training.save(path);
  ds::TrainingSession resumed(model, 1);
  resumed.load(path);
  s = resumed.lossScaler();
  EXPECT_EQ(s.scale, 1048576.0);
  EXPECT_EQ(s.skipped_steps, 1);
  EXPECT_EQ(s.growth_interval, 2);
}

TEST_F(TrainingSessionTest, RefusesWhatIsNotATrainingStep) {
  ds::Model model(artifact(false));
  ds_status_code code = DS_OK;
  std::string inference = dstest::writeTempArtifact(
      dstest::buildArtifact(dstest::tanhAddArtifact(16)));
  files_.push_back(inference);
  ds::Model plain(inference);
  EXPECT_EQ(messageOf([&] { ds::TrainingSession t(plain); }, &code),
            "ds_training_session_create: not a training step (compile with --gradients "
            "--optimizer=sgd|adamw): no one-element float output 'loss'");
  EXPECT_EQ(code, DS_INVALID_ARGUMENT);
  ds_loss_scaler bad;
  ds_loss_scaler_init(&bad, 0.0, 2000, 1.0);
  EXPECT_NE(messageOf([&] { ds::TrainingSession t(model, 1, &bad); }), "");
  ds_training_session *raw = nullptr;
  ds_training_options options;
  ds_training_options_init(&options);
  options.struct_size = 4;
  ds_status status = ds_training_session_create(model.get(), &options, &raw);
  EXPECT_EQ(ds_status_get_code(status), DS_INVALID_ARGUMENT);
  EXPECT_EQ(raw, nullptr);
  ds_status_release(status);
  status = ds_training_session_create(nullptr, nullptr, &raw);
  EXPECT_EQ(ds_status_get_code(status), DS_INVALID_ARGUMENT);
  ds_status_release(status);
}

TEST_F(TrainingSessionTest, StepsFromManyThreadsAreSerialized) {
  ds::Model model(artifact(false));
  ds::TrainingSession training(model, 2);
  training.setLearningRate(0); // every step leaves p alone: losses are all equal
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      Vec x{0, 0, 0, 0};
      for (int i = 0; i < 50; ++i)
        wrong += training.step({batch(x)}).loss != 30.0;
    });
  for (std::thread &t : threads)
    t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(training.stepsDone(), 200);
}

} // namespace
