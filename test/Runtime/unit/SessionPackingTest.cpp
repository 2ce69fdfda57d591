//===- SessionPackingTest.cpp - what a session packs when it starts ---------===//
//
// Session::packWeights decides, per step, which constants the kernels will
// find packed. The kernel tests pack by hand; these load artifacts and ask
// the session's own store, so that a packing rule and a kernel's lookup
// cannot drift apart unnoticed (a miss is not an error: the kernel falls
// back to a slower path and the results stay right).
//
//===----------------------------------------------------------------------===//
#include "ConvTestUtils.h"
#include "CudaArtifactBuilder.h"
#include "KernelTestUtils.h"
#include "core/Artifact.h"
#include "core/Session.h"
#include "cpu/ConvByPixels.h"
#include "cpu/PackedConstants.h"
#include "cpu/WinogradConv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {
using namespace dsrt;
using namespace dsrt::test;

/// y = conv(x, w) + b, all f16, w and b constants: the artifact
/// ds-assign-precision's fp16 policy makes of a convolution.
std::string halfConvArtifact(const Conv2D &p, const std::vector<uint16_t> &w,
                             const std::vector<uint16_t> &b) {
  dstest::ArtifactSpec a;
  a.version = 3;
  a.target = DSX_TARGET_CPU;
  const uint64_t wBytes = w.size() * 2, bOffset = (wBytes + 63) / 64 * 64;
  a.values = {{DS_F16, DSX_STORAGE_INPUT, {p.N, p.C, p.H, p.W}, 0, "x"},
              {DS_F16, DSX_STORAGE_CONSTANT, {p.M, p.C, p.KH, p.KW}, 0, "w"},
              {DS_F16, DSX_STORAGE_CONSTANT, {p.M}, bOffset, "b"},
              {DS_F16, DSX_STORAGE_ARENA, {p.N, p.M, p.OH(), p.OW()}, 0, "y"}};
  a.arenaBytes = (uint64_t)(p.N * p.M * p.OH() * p.OW() * 2 + 63) / 64 * 64;
  a.inputs = {0};
  a.outputs = {3};
  a.outputNames = {"y"};
  a.steps = {{"ds.conv",
              {0, 1, 2},
              {3},
              {dstest::intsAttr("strides", {p.sh, p.sw}),
               dstest::intsAttr("pads", {p.pt, p.pl, p.pb, p.pr}),
               dstest::intsAttr("dilations", {p.dh, p.dw}), dstest::intAttr("group", p.group)}}};
  a.constants.assign((const char *)w.data(), wBytes);
  a.constants.resize(bOffset);
  a.constants.append((const char *)b.data(), b.size() * 2);
  return dstest::buildArtifact(a);
}

} // namespace

// f16 convolution weights are widened once and the f32 copy is packed for
// the path the kernel takes (direct, Winograd or by pixels), found by the
// copy's address; a run gives the f16 convolution within one rounding.
TEST(SessionPacking, HalfConvolutionWeightsWidenedAndPackedForTheirPath) {
  if (!cpu::packedGemmAvailable())
    GTEST_SKIP() << "no packed GEMM on this CPU: nothing is packed";
  for (const Conv2D &p : kPackedPathCases) {
    const cpu::Window window = windowOf(p);
    const int64_t taps = p.KH * p.KW, weights = p.M * p.C * taps;
    const std::vector<float> xv = roundedToHalf(randomFloats((size_t)(p.N * p.C * p.H * p.W), 51)),
                             wv = roundedToHalf(randomFloats((size_t)weights, 52)),
                             bv = roundedToHalf(randomFloats((size_t)p.M, 53));
    const std::string bytes = halfConvArtifact(p, halfBits(wv), halfBits(bv));
    std::unique_ptr<Program> program;
    Status s = Program::fromBuffer((const unsigned char *)bytes.data(), bytes.size(), program);
    ASSERT_TRUE(s.ok()) << s.message();
    std::unique_ptr<Session> session;
    s = Session::create(*program, 2, session);
    ASSERT_TRUE(s.ok()) << s.message();

    const cpu::PackedConstants &packed = session->packedConstants();
    const float *copy = packed.findWidenedCopy(program->constantData(program->values[1]), weights);
    ASSERT_NE(copy, nullptr) << "the f16 weights were not widened at load";
    for (int64_t i = 0; i < weights; ++i)
      ASSERT_EQ(copy[i], wv[(size_t)i]) << i;
    const int64_t variant = cpu::winogradTileSize(window, p.C, p.M, 1);
    std::string path;
    if (cpu::convByPixels(window, p.C, p.M, 1)) {
      path = "by pixels";
      EXPECT_NE(packed.findTransposed(copy, p.M, p.C * taps), nullptr) << path;
    } else if (variant) {
      path = "Winograd";
      EXPECT_NE(packed.findSet(copy, p.M, p.C, variant), nullptr) << path;
    } else {
      path = "direct";
      EXPECT_NE(packed.findLeft(copy, p.M, p.C * taps), nullptr) << path;
    }

    const std::vector<uint16_t> x16 = halfBits(xv);
    const int64_t dims[4] = {p.N, p.C, p.H, p.W};
    ds_tensor input{DS_F16, 4, dims, const_cast<uint16_t *>(x16.data()), x16.size() * 2};
    s = session->run(&input, 1);
    ASSERT_TRUE(s.ok()) << s.message();
    const Tensor &y = session->output(0);
    const std::vector<float> want = naiveConv(p, xv, wv, bv);
    ASSERT_EQ((size_t)y.numel(), want.size());
    const auto *got = static_cast<const uint16_t *>(y.data);
    for (size_t i = 0; i < want.size(); ++i) // within one f16 rounding (and f32 sums)
      ASSERT_NEAR(cpu::halfToFloat(got[i]), want[i], std::fabs(want[i]) * 0x1p-10 + 1e-4)
          << path << " [" << i << "]";
  }
}
