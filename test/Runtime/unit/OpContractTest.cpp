//===- OpContractTest.cpp - step attributes checked at load ---------------===//
//
// ds_op_attributes.def is the one declaration of each CPU op's attributes:
// an artifact whose steps differ from it is refused at load, naming the step,
// the op and the attribute; and the kernel registry and the table list the
// same ops.
//
//===----------------------------------------------------------------------===//
#include "CudaArtifactBuilder.h"
#include "core/Artifact.h"
#include "core/OpContract.h"
#include "cpu/Kernels.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace {
using namespace dstest;

/// t = unary(x) (step 0), y = softmax(t) (step 1) over f32[2,4].
std::string twoStepArtifact(std::vector<AttrSpec> unaryAttrs, std::vector<AttrSpec> softmaxAttrs) {
  ArtifactSpec a;
  a.version = 3;
  a.target = DSX_TARGET_CPU;
  a.values = {{DS_F32, DSX_STORAGE_INPUT, {2, 4}, 0, "x"},
              {DS_F32, DSX_STORAGE_ARENA, {2, 4}, 0, ""},
              {DS_F32, DSX_STORAGE_ARENA, {2, 4}, 64, "y"}};
  a.arenaBytes = 128;
  a.inputs = {0};
  a.outputs = {2};
  a.outputNames = {"y"};
  a.steps = {{"ds.unary", {0}, {1}, std::move(unaryAttrs)},
             {"ds.softmax", {1}, {2}, std::move(softmaxAttrs)}};
  return buildArtifact(a);
}

/// The load status of `bytes`.
dsrt::Status load(const std::string &bytes) {
  std::unique_ptr<dsrt::Program> program;
  return dsrt::Program::fromBuffer((const unsigned char *)bytes.data(), bytes.size(), program);
}

void expectRefused(const std::string &bytes, const std::string &expected) {
  dsrt::Status s = load(bytes);
  EXPECT_EQ(s.code(), DS_INVALID_ARTIFACT) << s.message();
  EXPECT_EQ(s.message(), "invalid artifact: " + expected);
}

const std::vector<AttrSpec> kRelu = {strAttr("kind", "relu")};
} // namespace

TEST(OpContract, LoadsStepsAsTheCompilerWritesThem) {
  dsrt::Status s = load(twoStepArtifact(kRelu, {intAttr("axis", -1)}));
  EXPECT_TRUE(s.ok()) << s.message();
  s = load(twoStepArtifact({strAttr("kind", "leaky_relu"), floatAttr("alpha", 0.1)},
                           {intAttr("axis", 1), intAttr("log", 1)}));
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST(OpContract, RefusesAMissingRequiredAttribute) {
  expectRefused(twoStepArtifact(kRelu, {}), "step 1 (ds.softmax): attribute 'axis' is missing");
  expectRefused(twoStepArtifact({}, {intAttr("axis", 1)}),
                "step 0 (ds.unary): attribute 'kind' is missing");
}

TEST(OpContract, RefusesAWrongKind) {
  expectRefused(twoStepArtifact(kRelu, {strAttr("axis", "1")}),
                "step 1 (ds.softmax): attribute 'axis' has kind string, expected int");
  expectRefused(twoStepArtifact({strAttr("kind", "elu"), intAttr("alpha", 1)}, {intAttr("axis", 1)}),
                "step 0 (ds.unary): attribute 'alpha' has kind int, expected float");
}

TEST(OpContract, RefusesAnUnknownAttribute) {
  // What a renamed ODS attribute looks like: the old name missing, a new one unknown.
  expectRefused(twoStepArtifact(kRelu, {intAttr("dim", 1)}),
                "step 1 (ds.softmax): unknown attribute 'dim'");
  expectRefused(twoStepArtifact(kRelu, {intAttr("axis", 1), floatAttr("temperature", 2)}),
                "step 1 (ds.softmax): unknown attribute 'temperature'");
}

TEST(OpContract, RefusesABadEnumSpellingOrRange) {
  dsrt::Status s = load(twoStepArtifact({strAttr("kind", "tanhh")}, {intAttr("axis", 1)}));
  EXPECT_EQ(s.code(), DS_INVALID_ARTIFACT);
  EXPECT_EQ(s.message().rfind("invalid artifact: step 0 (ds.unary): attribute 'kind' is 'tanhh', "
                              "expected one of abs|neg|",
                              0),
            0u)
      << s.message();
  expectRefused(twoStepArtifact(kRelu, {intAttr("axis", 1), intAttr("log", 2)}),
                "step 1 (ds.softmax): attribute 'log' is 2, outside [0, 1]");
}

TEST(OpContract, ListsExactlyTheOpsTheCpuBackendRegisters) {
  const dsrt::cpu::KernelTable &table = dsrt::cpu::kernelTable();
  std::set<std::string> contract;
  size_t attributes = 0;
  for (const dsrt::OpContract &op : dsrt::opContracts()) {
    EXPECT_TRUE(contract.insert(op.op).second) << op.op << " is listed twice";
    EXPECT_TRUE(table.count(op.op)) << op.op << " is in ds_op_attributes.def but has no kernel";
    std::set<std::string> names;
    for (const dsrt::AttrContract &a : op.attrs) {
      EXPECT_TRUE(names.insert(a.name).second) << op.op << " lists '" << a.name << "' twice";
      EXPECT_LE(a.min, a.max) << op.op << " " << a.name;
      ++attributes;
    }
  }
  for (const auto &[name, op] : table)
    EXPECT_TRUE(contract.count(name)) << name << " has a kernel but no entry in ds_op_attributes.def";
  EXPECT_EQ(contract.size(), 51u);
  EXPECT_EQ(attributes, 123u);
}
