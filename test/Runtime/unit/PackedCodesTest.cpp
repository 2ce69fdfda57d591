//===- PackedCodesTest.cpp - sub-byte constants stored packed in artifacts ---===//
//
// A cpu artifact stores i4 / u4 / i2 / u2 constants 8 / bits codes to a byte
// (DSX_VALUE_PACKED_CODES). A session reads 4-bit weights that only the
// weight-only matmul reads straight from the packed bytes (repacked for its
// kernel, no unpacked copy) and unpacks every other such constant; the
// results equal those of the same constants stored a code per byte.
//
//===----------------------------------------------------------------------===//
#include "CudaArtifactBuilder.h"
#include "core/Artifact.h"
#include "core/Session.h"
#include "cpu/Kernels.h"
#include "cpu/PackedConstants.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {
using namespace dsrt;

/// `codes` (one per byte, sign-extended when signed) packed 8 / bits to a
/// byte, low bits first.
std::string pack(const std::vector<int> &codes, unsigned bits) {
  const unsigned perByte = 8 / bits;
  std::string out((codes.size() + perByte - 1) / perByte, '\0');
  for (size_t i = 0; i < codes.size(); ++i)
    out[i / perByte] = (char)((uint8_t)out[i / perByte] |
                              (((unsigned)codes[i] & ((1u << bits) - 1)) << (i % perByte * bits)));
  return out;
}

/// y = x @ dequantize(w) with per-column scales (ds.matmul_quantized_weight),
/// w a K x N constant of `type` stored packed (or a code per byte); with
/// `wIsOutput` the weight is an output too (so it must be unpacked).
std::string matmulArtifact(DType type, const std::vector<int> &w, int64_t rows, int64_t K,
                           int64_t N, bool packed, bool wIsOutput,
                           uint32_t target = DSX_TARGET_CPU) {
  dstest::ArtifactSpec a;
  a.version = 3;
  a.target = target;
  std::string wBytes = packed ? pack(w, 4) : std::string();
  if (!packed)
    for (int c : w)
      wBytes.push_back((char)(int8_t)c);
  const uint64_t sOffset = (wBytes.size() + 63) / 64 * 64;
  dstest::ValueSpec wValue{type, DSX_STORAGE_CONSTANT, {K, N}, 0, "w", (int64_t)wBytes.size()};
  if (packed)
    wValue.flags = DSX_VALUE_PACKED_CODES;
  a.values = {{DS_F32, DSX_STORAGE_INPUT, {rows, K}, 0, "x"},
              wValue,
              {DS_F32, DSX_STORAGE_CONSTANT, {N}, sOffset, "s"},
              {DS_F32, DSX_STORAGE_ARENA, {rows, N}, 0, "y"}};
  a.arenaBytes = (uint64_t)(rows * N * 4 + 63) / 64 * 64;
  a.inputs = {0};
  a.outputs = {3};
  a.outputNames = {"y"};
  if (wIsOutput) {
    a.outputs.push_back(1);
    a.outputNames.push_back("w");
  }
  a.steps = {{"ds.matmul_quantized_weight",
              {0, 1, 2},
              {3},
              {dstest::intAttr("block_size", 0)},
              DSX_OP_CONTRACTION}};
  a.constants = wBytes;
  a.constants.resize(sOffset);
  for (int64_t n = 0; n < N; ++n) {
    const float s = 0.01f * (float)(n % 7 + 1);
    a.constants.append((const char *)&s, 4);
  }
  return dstest::buildArtifact(a);
}

struct Loaded {
  std::unique_ptr<Program> program;
  std::unique_ptr<Session> session;
};

Status load(const std::string &bytes, Loaded &out) {
  Status s = Program::fromBuffer((const unsigned char *)bytes.data(), bytes.size(), out.program);
  if (!s)
    return s;
  return Session::create(*out.program, 2, out.session);
}

std::vector<int> randomCodes(int64_t n, bool isSigned, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> code(isSigned ? -8 : 0, isSigned ? 7 : 15);
  std::vector<int> v((size_t)n);
  for (int &c : v)
    c = code(gen);
  return v;
}

/// Runs `loaded` on x and returns output `i` as floats.
std::vector<float> runMatmul(Loaded &loaded, const std::vector<float> &x, int64_t rows, int64_t K) {
  const int64_t dims[2] = {rows, K};
  ds_tensor input{DS_F32, 2, dims, const_cast<float *>(x.data()), x.size() * 4};
  Status s = loaded.session->run(&input, 1);
  EXPECT_TRUE(s.ok()) << s.message();
  const Tensor &y = loaded.session->output(0);
  const float *p = static_cast<const float *>(y.data);
  return std::vector<float>(p, p + y.numel());
}

} // namespace

// 4-bit weights stored packed give the same products as stored a code per
// byte, on every path of the kernel (few rows: streamed; many: dequantized
// into the GEMM; the portable loops), signed and unsigned, with an odd code
// count and columns past a 64-column group. Where the nibble kernel runs,
// the session keeps no unpacked copy: its packed form is found by the
// artifact's own (packed) bytes.
TEST(PackedCodes, FourBitWeightsReadPackedMatchOneCodePerByte) {
  const int64_t K = 37, N = 75;
  for (DType type : {DS_I4, DS_U4})
    for (int64_t rows : {2, 9})
      for (bool portable : {false, true}) {
        const std::vector<int> w = randomCodes(K * N, type == DS_I4, (uint32_t)(rows + type));
        std::vector<float> x((size_t)(rows * K));
        for (size_t i = 0; i < x.size(); ++i)
          x[i] = std::sin(0.37f * (float)i);
        Loaded packed, bytes;
        Status s = load(matmulArtifact(type, w, rows, K, N, true, false), packed);
        ASSERT_TRUE(s.ok()) << s.message();
        s = load(matmulArtifact(type, w, rows, K, N, false, false), bytes);
        ASSERT_TRUE(s.ok()) << s.message();
        const ValueInfo &wInfo = packed.program->values[1];
        EXPECT_TRUE(wInfo.packedCodes);
        EXPECT_EQ(wInfo.bytes, (uint64_t)(K * N));
        EXPECT_EQ(wInfo.storedBytes, (uint64_t)(K * N + 1) / 2);
        if (cpu::packsNibbleWeights())
          EXPECT_NE(packed.session->packedConstants().findNibbles(
                        packed.program->constantData(wInfo), K, N),
                    nullptr);
        cpu::forcePortableQuantizedWeightKernels(portable);
        const std::vector<float> got = runMatmul(packed, x, rows, K),
                                 want = runMatmul(bytes, x, rows, K);
        cpu::forcePortableQuantizedWeightKernels(false);
        ASSERT_EQ(got.size(), want.size());
        for (size_t i = 0; i < got.size(); ++i)
          ASSERT_EQ(got[i], want[i]) << dtypeName(type) << " rows " << rows << " portable "
                                     << portable << " [" << i << "]";
      }
}

// A packed constant that anything else reads (here: it is an output) is
// unpacked by the session: the output holds one sign-extended code per
// byte, and the matmul still reads the right codes.
TEST(PackedCodes, OtherReadersGetOneCodePerByte) {
  const int64_t K = 5, N = 3, rows = 2;
  const std::vector<int> w = randomCodes(K * N, true, 11);
  Loaded loaded;
  Status s = load(matmulArtifact(DS_I4, w, rows, K, N, true, true), loaded);
  ASSERT_TRUE(s.ok()) << s.message();
  std::vector<float> x((size_t)(rows * K), 1.0f);
  const std::vector<float> y = runMatmul(loaded, x, rows, K);
  const Tensor &wOut = loaded.session->output(1);
  ASSERT_EQ(wOut.numel(), K * N);
  for (int64_t i = 0; i < K * N; ++i)
    ASSERT_EQ((int)static_cast<const int8_t *>(wOut.data)[i], w[(size_t)i]) << i;
  for (int64_t n = 0; n < N; ++n) {
    double want = 0;
    for (int64_t k = 0; k < K; ++k)
      want += w[(size_t)(k * N + n)] * (double)(0.01f * (float)(n % 7 + 1));
    EXPECT_NEAR(y[(size_t)n], want, 1e-5) << n;
  }
}

// Program::unpackCodes for every width and signedness: element i from bits
// [(i % k) * bits, ...) of byte i / k.
TEST(PackedCodes, UnpacksEveryWidth) {
  struct Case {
    DType type;
    unsigned bits;
    std::vector<int> codes;
  };
  const Case cases[] = {{DS_I4, 4, {-8, -1, 0, 3, 7}},
                        {DS_U4, 4, {0, 15, 9, 1, 8, 7, 2}},
                        {DS_I2, 2, {-2, -1, 0, 1, 1, -2, 0}},
                        {DS_U2, 2, {0, 3, 2, 1, 3}}};
  for (const Case &c : cases) {
    dstest::ArtifactSpec a;
    a.version = 3;
    a.target = DSX_TARGET_CPU;
    const std::string bytes = pack(c.codes, c.bits);
    dstest::ValueSpec v{c.type, DSX_STORAGE_CONSTANT, {(int64_t)c.codes.size()}, 0,
                        "c",    (int64_t)bytes.size()};
    v.flags = DSX_VALUE_PACKED_CODES;
    a.values = {v};
    a.outputs = {0};
    a.outputNames = {"c"};
    a.constants = bytes;
    Loaded loaded;
    Status s = load(dstest::buildArtifact(a), loaded);
    ASSERT_TRUE(s.ok()) << s.message();
    ASSERT_TRUE(loaded.session->run(nullptr, 0).ok());
    const Tensor &out = loaded.session->output(0);
    ASSERT_EQ(out.numel(), (int64_t)c.codes.size());
    for (size_t i = 0; i < c.codes.size(); ++i) {
      const uint8_t b = static_cast<const uint8_t *>(out.data)[i];
      const int got = c.type == DS_I4 || c.type == DS_I2 ? (int)(int8_t)b : (int)b;
      EXPECT_EQ(got, c.codes[i]) << dtypeName(c.type) << " [" << i << "]";
    }
  }
}

// Packed codes only where they can be: a constant of 4- or 2-bit integers,
// with ceil(n / k) bytes, in a cpu artifact.
TEST(PackedCodes, RefusesWhatCannotBePacked) {
  auto refused = [](const std::string &bytes, const std::string &expected) {
    std::unique_ptr<Program> program;
    Status s = Program::fromBuffer((const unsigned char *)bytes.data(), bytes.size(), program);
    EXPECT_EQ(s.code(), DS_INVALID_ARTIFACT) << s.message();
    EXPECT_NE(s.message().find(expected), std::string::npos) << s.message();
  };
  auto artifact = [](DType type, dsx_storage storage, int64_t elements, int64_t bytes,
                     uint32_t target) {
    dstest::ArtifactSpec a;
    a.version = 3;
    a.target = target;
    dstest::ValueSpec v{type, storage, {elements}, 0, "c", bytes};
    v.flags = DSX_VALUE_PACKED_CODES;
    a.values = {v};
    if (storage == DSX_STORAGE_INPUT)
      a.inputs = {0};
    a.outputs = {0};
    a.constants = std::string(64, '\0');
    return dstest::buildArtifact(a);
  };
  refused(artifact(DS_I8, DSX_STORAGE_CONSTANT, 6, 3, DSX_TARGET_CPU),
          "has packed codes but is not a constant of 4- or 2-bit integers");
  refused(artifact(DS_I4, DSX_STORAGE_INPUT, 6, 3, DSX_TARGET_CPU),
          "has packed codes but is not a constant of 4- or 2-bit integers");
  refused(artifact(DS_I4, DSX_STORAGE_CONSTANT, 5, 2, DSX_TARGET_CPU),
          "byte size that does not match its dims");
  refused(artifact(DS_I2, DSX_STORAGE_CONSTANT, 5, 1, DSX_TARGET_CPU),
          "byte size that does not match its dims");
  refused(artifact(DS_I4, DSX_STORAGE_CONSTANT, 6, 3, DSX_TARGET_CUDA),
          "has packed codes in a cuda artifact");
  // The packed size, not the held one, must fit the constants section.
  refused(artifact(DS_U4, DSX_STORAGE_CONSTANT, 130, 65, DSX_TARGET_CPU),
          "lies outside the constants section");
}
