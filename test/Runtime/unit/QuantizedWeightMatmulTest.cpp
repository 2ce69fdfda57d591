//===- QuantizedWeightMatmulTest.cpp - ds.matmul_quantized_weight ---------===//
//
// The kernel against dequantize-then-multiply in double: signed and
// unsigned 8- and 4-bit weights, with and without zero points, one scale,
// one per column and per block of rows (a last block cut short), column
// counts past a 16-column panel, few rows (the panel-streaming kernel) and
// many (dequantized into the packed GEMM), codes one per byte and as the
// session packs them (4-bit two per byte, 8-bit in groups of 64 columns),
// on a serial and a chunked pool.
//
//===----------------------------------------------------------------------===//
#include "KernelTestUtils.h"
#include "cpu/PackedConstants.h"
#include "cpu/PackedGemm.h"

using namespace dsrt;
using namespace dsrt::test;

namespace {

enum class Scales { One, PerColumn, Blocked };

void checkQuantizedWeight(DType wType, bool zeroPoints, Scales scales, int64_t rows, int64_t K,
                          int64_t N, int64_t block) {
  std::mt19937 gen((uint32_t)(rows * 1000 + K * 10 + N));
  const bool isSigned = wType == DS_I8 || wType == DS_I4;
  const int lo = wType == DS_I8 ? -128 : wType == DS_I4 ? -8 : 0;
  const int hi = wType == DS_I8 ? 127 : wType == DS_I4 ? 7 : wType == DS_U8 ? 255 : 15;
  std::uniform_int_distribution<int> code(lo, hi);
  auto codes = [&](int64_t n) {
    std::vector<uint8_t> v((size_t)n);
    for (uint8_t &c : v)
      c = (uint8_t)(int8_t)code(gen); // a signed code sign-extended, as the runtime keeps it
    return v;
  };
  const int64_t blocks = scales == Scales::Blocked ? (K + block - 1) / block : 1;
  std::vector<int64_t> sShape = scales == Scales::One ? std::vector<int64_t>{}
                                : scales == Scales::PerColumn ? std::vector<int64_t>{N}
                                                              : std::vector<int64_t>{blocks, N};
  const int64_t numScales = scales == Scales::One ? 1 : scales == Scales::PerColumn ? N : blocks * N;
  std::vector<float> x = randomFloats((size_t)(rows * K), 7), s = randomFloats((size_t)numScales, 9);
  for (float &v : s)
    v = 0.01f + std::fabs(v) * 0.1f;
  std::vector<uint8_t> w = codes(K * N), zp = codes(numScales);
  auto value = [&](uint8_t c) { return isSigned ? (double)(int8_t)c : (double)c; };
  std::vector<double> want((size_t)(rows * N), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t n = 0; n < N; ++n) {
      double acc = 0.0;
      for (int64_t k = 0; k < K; ++k) {
        int64_t i = scales == Scales::One ? 0 : scales == Scales::PerColumn ? n : (k / block) * N + n;
        double deq = (value(w[(size_t)(k * N + n)]) - (zeroPoints ? value(zp[(size_t)i]) : 0.0)) *
                     (double)s[(size_t)i];
        acc += (double)x[(size_t)(r * K + k)] * deq;
      }
      want[(size_t)(r * N + n)] = acc;
    }
  Tensors ts;
  std::vector<const Tensor *> in = {ts.f32({rows, K}, x), ts.make<uint8_t>(wType, {K, N}, w),
                                    ts.f32(sShape, s)};
  if (zeroPoints)
    in.push_back(ts.make<uint8_t>(wType, sShape, zp));
  Attributes a = attrs({{"block_size", intAttr(scales == Scales::Blocked ? block : 0)}});
  // The codes also as the session packs them: 4-bit ones two per byte,
  // 8-bit ones in groups of 64 columns, from a weight tensor whose own
  // bytes are then overwritten: a kernel that found the packed form must
  // not read them. (The session packs them only where the kernel runs on
  // AVX-512 BW/VL; its portable loops read them too.)
  cpu::PackedConstants session;
  const bool fourBit = wType == DS_I4 || wType == DS_U4;
  Tensor *junk = ts.make<uint8_t>(wType, {K, N}, w);
  auto *junkBytes = static_cast<uint8_t *>(junk->data);
  ASSERT_TRUE(fourBit ? session.addNibbles(junkBytes, K, N)
                      : session.addByteGroups(junkBytes, K, N));
  std::fill(junkBytes, junkBytes + K * N, (uint8_t)0x5A);
  std::vector<const Tensor *> packedIn = in;
  packedIn[1] = junk;
  for (bool packed : {false, true}) {
    for (KernelContext ctx : {serialContext(), chunkedContext(2)}) {
      ctx.packed = packed ? &session : nullptr;
      Tensor *y = ts.empty(DS_F32, {rows, N});
      ASSERT_TRUE(run("ds.matmul_quantized_weight", a, packed ? packedIn : in, {y}, ctx).ok());
      expectNear(values<float>(y), want,
                 std::string(dtypeName(wType)) + (packed ? " packed" : "") + " rows " +
                     std::to_string(rows),
                 1e-4, 1e-4);
    }
  }
}

} // namespace

void checkAllLayouts() {
  for (int64_t rows : {1, 3, 4, 5, 9, 40}) {
    checkQuantizedWeight(DS_I8, false, Scales::PerColumn, rows, 70, 37, 0);
    checkQuantizedWeight(DS_I4, false, Scales::Blocked, rows, 70, 37, 32);
    checkQuantizedWeight(DS_U4, true, Scales::Blocked, rows, 64, 16, 16);
    checkQuantizedWeight(DS_U8, true, Scales::One, rows, 33, 50, 0);
    checkQuantizedWeight(DS_I8, true, Scales::PerColumn, rows, 128, 5, 0);
    // Several 64-column slabs of the many-rows path, the last one short.
    checkQuantizedWeight(DS_I4, true, Scales::Blocked, rows, 40, 300, 32);
    checkQuantizedWeight(DS_U8, true, Scales::Blocked, rows, 70, 130, 16);
  }
}

TEST(QuantizedWeightMatmul, MatchesDequantizeThenMultiply) { checkAllLayouts(); }

TEST(QuantizedWeightMatmul, PortableLoopsMatchToo) {
  cpu::forcePortableQuantizedWeightKernels(true);
  checkAllLayouts();
  cpu::forcePortableQuantizedWeightKernels(false);
}

TEST(QuantizedWeightMatmul, NibbleLayoutHoldsEveryCode) {
  // 70 x 100: a group of 64 columns cut short, codes -8..7 (sign-extended
  // bytes) read back through NibbleMatrix::row as the kernels do.
  const int64_t K = 70, N = 100;
  std::vector<uint8_t> codes((size_t)(K * N));
  for (size_t i = 0; i < codes.size(); ++i)
    codes[i] = (uint8_t)(int8_t)((int)(i * 7 % 16) - 8);
  ASSERT_TRUE(cpu::canonicalFourBitCodes(codes.data(), K * N, true));
  cpu::PackedConstants packed;
  ASSERT_TRUE(packed.addNibbles(codes.data(), K, N));
  const cpu::NibbleMatrix *m = packed.findNibbles(codes.data(), K, N);
  ASSERT_NE(m, nullptr);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < m->groups() * 64; ++n) {
      uint8_t byte = m->row(n / 64, k)[n % 32];
      int nibble = (n % 64) < 32 ? byte & 0x0F : byte >> 4;
      int value = (nibble ^ 8) - 8;
      EXPECT_EQ(value, n < N ? (int)(int8_t)codes[(size_t)(k * N + n)] : 0) << k << ", " << n;
    }
  // Bytes a writer of ours never makes are not packed (0x0D is not -3
  // sign-extended; 200 is no unsigned 4-bit code).
  uint8_t oddSigned = 0x0D, oddUnsigned = 200;
  EXPECT_FALSE(cpu::canonicalFourBitCodes(&oddSigned, 1, true));
  EXPECT_FALSE(cpu::canonicalFourBitCodes(&oddUnsigned, 1, false));
}

TEST(QuantizedWeightMatmul, BatchedLhsAndBadScales) {
  // A rank-3 lhs folds its batch into the rows.
  Tensors ts;
  std::vector<float> x = randomFloats(2 * 3 * 4, 1);
  std::vector<int8_t> w = {1, -2, 3, 4, -5, 6, 7, -8};
  Tensor *y = ts.empty(DS_F32, {2, 3, 2});
  ASSERT_TRUE(run("ds.matmul_quantized_weight", attrs({{"block_size", intAttr(0)}}),
                  {ts.f32({2, 3, 4}, x), ts.make<int8_t>(DS_I8, {4, 2}, w), ts.f32({}, {0.5f})},
                  {y})
                  .ok());
  for (int64_t r = 0; r < 6; ++r)
    for (int64_t n = 0; n < 2; ++n) {
      float want = 0.0f;
      for (int64_t k = 0; k < 4; ++k)
        want += x[(size_t)(r * 4 + k)] * (float)w[(size_t)(k * 2 + n)] * 0.5f;
      EXPECT_NEAR(values<float>(y)[(size_t)(r * 2 + n)], want, 1e-5);
    }
  // Blocked scales must have ceil(K / block) rows.
  Status bad = run("ds.matmul_quantized_weight", attrs({{"block_size", intAttr(3)}}),
                   {ts.f32({1, 4}, {1, 2, 3, 4}), ts.make<int8_t>(DS_I8, {4, 2}, w),
                    ts.f32({1, 2}, {1, 1})},
                   {ts.empty(DS_F32, {1, 2})});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("does not fit the weight [4, 2] with block_size 3"),
            std::string::npos)
      << bad.message();
}
