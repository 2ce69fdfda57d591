//===- ArtifactTest.cpp - loading, validation and C API of the runtime ----===//
//
// Builds small artifacts byte by byte (the layout of ds_artifact_format.h), so
// these tests run where the compiler is not built.
//
//===----------------------------------------------------------------------===//
#include "ds-runtime/ds_artifact_format.h"
#include "ds-runtime/ds_runtime.hpp"
#include "CudaArtifactBuilder.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {
using Bytes = dstest::ByteWriter;

/// relu over an f32[2,3] input: value 0 = input, value 1 = arena output.
/// `arenaBytes` and `listInput` (value 0 in the input list) craft bad variants;
/// `inputFlags` and `constants` give the input a default (dsx_value_flag).
std::string reluArtifact(uint32_t version = 1, uint64_t arenaBytes = 64, bool listInput = true,
                         uint16_t inputFlags = 0, const std::string &constants = "") {
  Bytes meta;
  meta.put<uint32_t>(2);
  for (int v = 0; v < 2; ++v) {
    meta.put<uint8_t>(DS_F32);
    meta.put<uint8_t>(v == 0 ? DSX_STORAGE_INPUT : DSX_STORAGE_ARENA);
    meta.put<uint16_t>(v == 0 ? inputFlags : 0);
    meta.put<uint32_t>(2);
    meta.put<int64_t>(2);
    meta.put<int64_t>(3);
    meta.put<uint64_t>(0);
    meta.put<uint64_t>(24);
    meta.str(v == 0 ? "x" : "");
  }
  meta.put<uint64_t>(arenaBytes);
  meta.put<uint32_t>(listInput ? 1 : 0);
  if (listInput)
    meta.put<uint32_t>(0);
  meta.put<uint32_t>(1);
  meta.put<uint32_t>(1);
  meta.str("y");
  meta.put<uint32_t>(1); // one step
  meta.str("ds.unary");
  meta.put<uint32_t>(1);
  meta.put<uint32_t>(0);
  meta.put<uint32_t>(1);
  meta.put<uint32_t>(1);
  meta.put<uint32_t>(1);
  meta.str("kind");
  meta.put<uint8_t>(DSX_ATTR_STRING);
  meta.str("relu");

  uint64_t metaOffset = DSX_HEADER_SIZE;
  uint64_t constOffset = (metaOffset + meta.data.size() + 63) / 64 * 64;
  std::string body = meta.data;
  body.resize(constOffset - metaOffset, '\0');
  body += constants;
  Bytes header;
  header.data.append(DSX_MAGIC, 7);
  header.put<uint8_t>(0);
  header.put<uint32_t>(version);
  header.put<uint32_t>(DSX_HEADER_SIZE);
  header.put<uint64_t>(constOffset + constants.size());
  header.put<uint64_t>(dsx_checksum((const unsigned char *)body.data(), body.size()));
  header.put<uint64_t>(metaOffset);
  header.put<uint64_t>(meta.data.size());
  header.put<uint64_t>(constOffset);
  header.put<uint64_t>(constants.size());
  header.data.resize(DSX_HEADER_SIZE, '\0');
  return header.data + body;
}

std::string writeTemp(const std::string &bytes) {
  char path[] = "/tmp/ds-artifact-test-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, bytes.data(), bytes.size()), (ssize_t)bytes.size());
  close(fd);
  return path;
}

/// Loads `bytes` and returns the status code (the model is released).
ds_status_code loadCode(const std::string &bytes, std::string *message = nullptr) {
  std::string path = writeTemp(bytes);
  ds_model *model = nullptr;
  ds_status s = ds_model_load(path.c_str(), &model);
  std::remove(path.c_str());
  ds_status_code code = ds_status_get_code(s);
  if (message)
    *message = ds_status_get_message(s);
  ds_status_release(s);
  ds_model_release(model);
  return code;
}
} // namespace

TEST(Artifact, RunsAValidArtifact) {
  std::string path = writeTemp(reluArtifact());
  ds::Model model(path);
  std::remove(path.c_str());
  ASSERT_EQ(model.numInputs(), 1);
  ASSERT_EQ(model.numOutputs(), 1);
  EXPECT_STREQ(model.input(0).name, "x");
  EXPECT_STREQ(model.output(0).name, "y");
  ds::Session session(model, 2);
  float x[6] = {-1, 2, -3, 4, 0, -0.5f};
  session.run({{DS_F32, {2, 3}, x, sizeof(x)}});
  ds_tensor y = session.output(0);
  ASSERT_EQ(y.byte_size, sizeof(x));
  const float *out = (const float *)y.data;
  float expected[6] = {0, 2, 0, 4, 0, 0};
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(out[i], expected[i]);
}

TEST(Artifact, RejectsAnArenaWhoseSizeCouldWrap) {
  std::string message;
  EXPECT_EQ(loadCode(reluArtifact(1, UINT64_MAX - 10), &message), DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("more than 2^48"), std::string::npos) << message;
}

TEST(Artifact, RejectsInputStorageThatIsNotAnInput) {
  std::string message;
  EXPECT_EQ(loadCode(reluArtifact(1, 64, /*listInput=*/false), &message), DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("stored as an input but is not one"), std::string::npos) << message;
}

TEST(Artifact, GivesAnInputsDefault) {
  float defaults[16] = {1, 2, 3, 4, 5, 6};
  std::string path = writeTemp(reluArtifact(1, 64, true, DSX_VALUE_HAS_DEFAULT,
                                            std::string((const char *)defaults, sizeof(defaults))));
  ds::Model model(path);
  std::remove(path.c_str());
  ds_tensor value{};
  ds_status s = ds_model_input_default(model.get(), 0, &value);
  ASSERT_EQ(s, nullptr) << ds_status_get_message(s);
  ASSERT_EQ(value.byte_size, 24u);
  ASSERT_EQ(value.rank, 2);
  EXPECT_EQ(std::memcmp(value.data, defaults, 24), 0);
  // Without a default, no data.
  path = writeTemp(reluArtifact());
  ds::Model plain(path);
  std::remove(path.c_str());
  ASSERT_EQ(ds_model_input_default(plain.get(), 0, &value), nullptr);
  EXPECT_EQ(value.data, nullptr);
  EXPECT_EQ(value.byte_size, 0u);
}

TEST(Artifact, RejectsBadInputDefaults) {
  std::string message;
  // A default that lies outside the constants section.
  EXPECT_EQ(loadCode(reluArtifact(1, 64, true, DSX_VALUE_HAS_DEFAULT), &message),
            DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("outside the constants section"), std::string::npos) << message;
  // A flag this runtime does not know (2 is DSX_VALUE_ANY_RANK, 4
  // DSX_VALUE_PACKED_CODES).
  EXPECT_EQ(loadCode(reluArtifact(1, 64, true, 8, std::string(64, '\0')), &message),
            DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("bad value record"), std::string::npos) << message;
}

TEST(Artifact, RejectsTruncationAtEveryByteOfHeaderAndMetadata) {
  std::string good = reluArtifact();
  for (size_t cut = 0; cut < good.size(); ++cut)
    EXPECT_EQ(loadCode(good.substr(0, cut)), DS_INVALID_ARTIFACT) << "cut at " << cut;
}

TEST(Artifact, RejectsCorruption) {
  std::string bytes = reluArtifact();
  bytes[DSX_HEADER_SIZE + 5] ^= 0x40;
  std::string message;
  EXPECT_EQ(loadCode(bytes, &message), DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("checksum"), std::string::npos) << message;
}

TEST(Artifact, RejectsForeignFiles) {
  std::string message;
  EXPECT_EQ(loadCode(std::string(200, 'x'), &message), DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("not a ds artifact"), std::string::npos) << message;
  EXPECT_EQ(loadCode(""), DS_INVALID_ARTIFACT);
}

TEST(Artifact, RejectsOtherFormatVersions) {
  std::string message;
  EXPECT_EQ(loadCode(reluArtifact(DSX_FORMAT_VERSION_MAX + 1), &message), DS_INVALID_ARTIFACT);
  EXPECT_NE(message.find("format version"), std::string::npos) << message;
}

TEST(Artifact, ReportsMissingFiles) {
  ds_model *model = nullptr;
  ds_status s = ds_model_load("/nonexistent/model.dsx", &model);
  EXPECT_EQ(ds_status_get_code(s), DS_IO_ERROR);
  EXPECT_EQ(model, nullptr);
  ds_status_release(s);
}

class SessionInputs : public ::testing::Test {
protected:
  void SetUp() override {
    path_ = writeTemp(reluArtifact());
    model_ = std::make_unique<ds::Model>(path_);
    session_ = std::make_unique<ds::Session>(*model_, 1);
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void expectRejected(const std::vector<ds::TensorRef> &inputs, const char *needle) {
    try {
      session_->run(inputs);
      FAIL() << "run accepted bad input";
    } catch (const ds::Error &e) {
      EXPECT_EQ(e.code(), DS_INVALID_ARGUMENT);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
  std::string path_;
  std::unique_ptr<ds::Model> model_;
  std::unique_ptr<ds::Session> session_;
  float data_[6] = {};
};

TEST_F(SessionInputs, WrongDType) {
  expectRejected({{DS_F64, {2, 3}, data_, sizeof(data_)}}, "has dtype f64, expected f32");
}
TEST_F(SessionInputs, WrongRank) {
  expectRejected({{DS_F32, {6}, data_, sizeof(data_)}}, "has rank 1, expected 2");
}
TEST_F(SessionInputs, WrongDims) {
  expectRejected({{DS_F32, {3, 2}, data_, sizeof(data_)}}, "has dims [3x2], expected [2x3]");
}
TEST_F(SessionInputs, WrongByteSize) {
  expectRejected({{DS_F32, {2, 3}, data_, 8}}, "holds 8 bytes, expected 24");
}
TEST_F(SessionInputs, MissingAndExtraInputs) {
  expectRejected({}, "takes 1 inputs, got 0");
  expectRejected({{DS_F32, {2, 3}, data_, sizeof(data_)}, {DS_F32, {2, 3}, data_, sizeof(data_)}},
                 "takes 1 inputs, got 2");
}
TEST_F(SessionInputs, NullData) {
  expectRejected({{DS_F32, {2, 3}, nullptr, sizeof(data_)}}, "has no data");
}

TEST(CApi, NullArgumentsGiveStatuses) {
  ds_status s = ds_model_load(nullptr, nullptr);
  EXPECT_EQ(ds_status_get_code(s), DS_INVALID_ARGUMENT);
  ds_status_release(s);
  s = ds_session_run(nullptr, nullptr, 0);
  EXPECT_EQ(ds_status_get_code(s), DS_INVALID_ARGUMENT);
  ds_status_release(s);
  EXPECT_EQ(ds_status_get_code(nullptr), DS_OK);
}

TEST(CApi, RejectsBadThreadCounts) {
  std::string path = writeTemp(reluArtifact());
  ds::Model model(path);
  std::remove(path.c_str());
  for (int threads : {-1, 100000}) {
    ds_session_options options;
    ds_session_options_init(&options);
    options.num_threads = threads;
    ds_session *session = nullptr;
    ds_status s = ds_session_create(model.get(), &options, &session);
    EXPECT_EQ(ds_status_get_code(s), DS_INVALID_ARGUMENT) << threads;
    EXPECT_EQ(session, nullptr);
    ds_status_release(s);
  }
}
