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
                           int64_t N, bool packed, bool wIsOutput, bool dynamicRows = false) {
  dstest::ArtifactSpec a;
  a.version = 5;
  a.target = DSX_TARGET_CPU;
  if (dynamicRows)
    a.symbols = {{"rows", 1, 64}};
  std::string wBytes = packed ? pack(w, 4) : std::string();
  if (!packed)
    for (int c : w)
      wBytes.push_back((char)(int8_t)c);
  const uint64_t sOffset = (wBytes.size() + 63) / 64 * 64;
  dstest::ValueSpec wValue{type, DSX_STORAGE_CONSTANT, {K, N}, 0, "w", (int64_t)wBytes.size()};
  if (packed)
    wValue.flags = DSX_VALUE_PACKED_CODES;
  a.values = {{DS_F32, DSX_STORAGE_INPUT, {dynamicRows ? -1 : rows, K}, 0, "x"},
              wValue,
              {DS_F32, DSX_STORAGE_CONSTANT, {N}, sOffset, "s"},
              {DS_F32, DSX_STORAGE_ARENA, {dynamicRows ? -1 : rows, N}, 0, "y"}};
  a.arenaBytes = dynamicRows ? 0 : (uint64_t)(rows * N * 4 + 63) / 64 * 64;
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
        if (cpu::packsQuantizedWeights()) { // read packed: no unpacked copy
          const unsigned char *bytes = packed.session->constantBytes(1);
          EXPECT_NE(bytes, packed.program->constantData(wInfo));
          EXPECT_NE(packed.session->packedConstants().findNibbles(bytes, K, N), nullptr);
        }
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

// 8-bit weights are grouped by 64 columns when the session starts, and
// give the same products as read in place.
TEST(PackedCodes, EightBitWeightsAreGroupedAtLoad) {
  const int64_t K = 33, N = 70, rows = 2;
  std::vector<int> w = randomCodes(K * N, true, 3);
  for (int &c : w)
    c *= 9; // -72..63: codes past 4 bits
  std::string bytes;
  for (int c : w)
    bytes.push_back((char)(int8_t)c);
  dstest::ArtifactSpec a;
  a.version = 5;
  a.target = DSX_TARGET_CPU;
  const uint64_t sOffset = (bytes.size() + 63) / 64 * 64;
  a.values = {{DS_F32, DSX_STORAGE_INPUT, {rows, K}, 0, "x"},
              {DS_I8, DSX_STORAGE_CONSTANT, {K, N}, 0, "w", (int64_t)bytes.size()},
              {DS_F32, DSX_STORAGE_CONSTANT, {}, sOffset, "s"},
              {DS_F32, DSX_STORAGE_ARENA, {rows, N}, 0, "y"}};
  a.arenaBytes = (uint64_t)(rows * N * 4 + 63) / 64 * 64;
  a.inputs = {0};
  a.outputs = {3};
  a.outputNames = {"y"};
  a.steps = {{"ds.matmul_quantized_weight",
              {0, 1, 2},
              {3},
              {dstest::intAttr("block_size", 0)},
              DSX_OP_CONTRACTION}};
  a.constants = bytes;
  a.constants.resize(sOffset);
  const float one = 1.0f;
  a.constants.append((const char *)&one, 4);
  Loaded loaded;
  Status s = load(dstest::buildArtifact(a), loaded);
  ASSERT_TRUE(s.ok()) << s.message();
  if (cpu::packsQuantizedWeights())
    EXPECT_NE(
        loaded.session->packedConstants().findByteGroups(loaded.session->constantBytes(1), K, N),
        nullptr);
  std::vector<float> x((size_t)(rows * K));
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = (float)(i % 5) - 2.0f;
  const std::vector<float> y = runMatmul(loaded, x, rows, K);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t n = 0; n < N; ++n) {
      double want = 0;
      for (int64_t k = 0; k < K; ++k)
        want += x[(size_t)(r * K + k)] * w[(size_t)(k * N + n)];
      ASSERT_EQ(y[(size_t)(r * N + n)], (float)want) << r << ", " << n;
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

// A program with a dynamic dim (planned per input shape, and run step by
// step) reads packed weights the same way.
TEST(PackedCodes, DynamicProgramsReadThemToo) {
  const int64_t K = 20, N = 70, rows = 3;
  const std::vector<int> w = randomCodes(K * N, true, 5);
  std::vector<float> x((size_t)(rows * K));
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = std::cos(0.21f * (float)i);
  Loaded dynamic, fixed;
  Status s = load(matmulArtifact(DS_I4, w, rows, K, N, true, false, true), dynamic);
  ASSERT_TRUE(s.ok()) << s.message();
  s = load(matmulArtifact(DS_I4, w, rows, K, N, false, false), fixed);
  ASSERT_TRUE(s.ok()) << s.message();
  for (int round = 0; round < 2; ++round) // planned, then from the plan cache
    EXPECT_EQ(runMatmul(dynamic, x, rows, K), runMatmul(fixed, x, rows, K)) << round;
}

// Two packed weights over the same bytes with other dims each get their
// own packed form (a lookup by address alone would give one of them the
// other's, and its kernel would read the packed bytes a code per byte).
TEST(PackedCodes, WeightsSharingBytesKeepTheirOwnPackedForm) {
  const std::vector<int> codes = randomCodes(64, true, 9);
  dstest::ArtifactSpec a;
  a.version = 5;
  a.target = DSX_TARGET_CPU;
  const std::string bytes = pack(codes, 4); // 32 bytes, read as [4, 16] and as [16, 4]
  dstest::ValueSpec w1{DS_I4, DSX_STORAGE_CONSTANT, {4, 16}, 0, "w1", 32},
      w2{DS_I4, DSX_STORAGE_CONSTANT, {16, 4}, 0, "w2", 32};
  w1.flags = w2.flags = DSX_VALUE_PACKED_CODES;
  a.values = {{DS_F32, DSX_STORAGE_INPUT, {1, 4}, 0, "x1"},
              {DS_F32, DSX_STORAGE_INPUT, {1, 16}, 0, "x2"},
              w1,
              w2,
              {DS_F32, DSX_STORAGE_CONSTANT, {}, 64, "s"},
              {DS_F32, DSX_STORAGE_ARENA, {1, 16}, 0, "y1"},
              {DS_F32, DSX_STORAGE_ARENA, {1, 4}, 64, "y2"}};
  a.arenaBytes = 128;
  a.inputs = {0, 1};
  a.outputs = {5, 6};
  a.outputNames = {"y1", "y2"};
  for (uint32_t i = 0; i < 2; ++i)
    a.steps.push_back({"ds.matmul_quantized_weight",
                       {i, 2 + i, 4},
                       {5 + i},
                       {dstest::intAttr("block_size", 0)},
                       DSX_OP_CONTRACTION});
  a.constants = bytes;
  a.constants.resize(64);
  const float one = 1.0f;
  a.constants.append((const char *)&one, 4);
  Loaded loaded;
  Status s = load(dstest::buildArtifact(a), loaded);
  ASSERT_TRUE(s.ok()) << s.message();
  const std::vector<float> x1 = {1, 2, 3, 4}, x2(16, 1.0f);
  const int64_t d1[2] = {1, 4}, d2[2] = {1, 16};
  const ds_tensor inputs[2] = {{DS_F32, 2, d1, const_cast<float *>(x1.data()), 16},
                               {DS_F32, 2, d2, const_cast<float *>(x2.data()), 64}};
  s = loaded.session->run(inputs, 2);
  ASSERT_TRUE(s.ok()) << s.message();
  const float *y1 = static_cast<const float *>(loaded.session->output(0).data);
  const float *y2 = static_cast<const float *>(loaded.session->output(1).data);
  for (int n = 0; n < 16; ++n) {
    double want = 0;
    for (int k = 0; k < 4; ++k)
      want += x1[(size_t)k] * codes[(size_t)(k * 16 + n)];
    EXPECT_EQ(y1[n], (float)want) << "y1 " << n;
  }
  for (int n = 0; n < 4; ++n) {
    double want = 0;
    for (int k = 0; k < 16; ++k)
      want += codes[(size_t)(k * 4 + n)];
    EXPECT_EQ(y2[n], (float)want) << "y2 " << n;
  }
}

// A packed zero point of an integer matmul is never read a byte per code
// while the session decides what to pack (under ASan, reading its held
// size from the file's bytes ran past the constant; here it ends the
// artifact's buffer).
TEST(PackedCodes, PackedZeroPointsAreNotReadAsBytes) {
  dstest::ArtifactSpec a;
  a.version = 5;
  a.target = DSX_TARGET_CPU;
  dstest::ValueSpec zp{DS_I4, DSX_STORAGE_CONSTANT, {8}, 64, "zw", 4};
  zp.flags = DSX_VALUE_PACKED_CODES;
  a.values = {{DS_U8, DSX_STORAGE_INPUT, {2, 4}, 0, "a", 8},
              {DS_I8, DSX_STORAGE_CONSTANT, {4, 8}, 0, "b", 32},
              zp,
              {DS_I32, DSX_STORAGE_ARENA, {2, 8}, 0, "y"}};
  a.arenaBytes = 64;
  a.inputs = {0};
  a.outputs = {3};
  a.outputNames = {"y"};
  a.steps = {{"ds.matmul_integer", {0, 1, DSX_ABSENT, 2}, {3}, {}, DSX_OP_CONTRACTION}};
  a.constants = std::string(64, '\1') + std::string(4, '\0');
  Loaded loaded;
  Status s = load(dstest::buildArtifact(a), loaded);
  ASSERT_TRUE(s.ok()) << s.message();
}

// Program::unpackedCodes for every width and signedness: element i from bits
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
    a.version = 5;
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
                     uint32_t target, uint32_t version = 5) {
    dstest::ArtifactSpec a;
    a.version = version;
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
  refused(artifact(DS_I4, DSX_STORAGE_CONSTANT, 6, 3, DSX_TARGET_CPU, 4), "bad value record");
  refused(artifact(DS_I8, DSX_STORAGE_CONSTANT, 6, 3, DSX_TARGET_CPU),
          "has packed codes but is not a constant of 4- or 2-bit integers");
  refused(artifact(DS_I4, DSX_STORAGE_INPUT, 6, 3, DSX_TARGET_CPU), "bad value record");
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
