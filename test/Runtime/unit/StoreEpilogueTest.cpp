//===- StoreEpilogueTest.cpp - a group's tail run as sums are stored ------===//
//
// cpu/StoreEpilogue's chains, fed i32 sums directly: every shape of the
// usual quantized tail (scale, bias, a residual added from either side, a
// ReLU, a quantize; see prepareStoreEpilogue) must give what the steps' own
// kernels give on the whole tensor, bit for bit (a NaN's payload aside
// where two NaNs meet), prepared (the register loop) and unprepared (the
// op-by-op block loop), channels first and channels last, operands on
// either side, with NaN / inf / 0 scales, NaN biases and residuals, and
// partial vectors. Skipped
// where the CPU has no AVX-512 (the store epilogue's only callers need it).
//
//===----------------------------------------------------------------------===//
#include "cpu/StoreEpilogue.h"
#include "KernelTestUtils.h"
#include "cpu/IntegerPackedGemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {
using namespace dsrt;
using namespace dsrt::test;
using Op = cpu::StoreEpilogue::Op;

struct TailShape {
  bool residual, residualFirst, relu, quantize;
  std::string name() const {
    return std::string(residual ? (residualFirst ? "residual+x " : "x+residual ") : "") +
           (relu ? "relu " : "") + (quantize ? "quantize" : "f32");
  }
};

/// The steps' kernels on the whole [N, M, P] (channels first) or [R, M]
/// (channels last) tensor: the expected bytes of the chain's one store.
std::vector<uint8_t> stepsKernels(const TailShape &shape, bool channelsFirst,
                                  const std::vector<int64_t> &dims,
                                  const std::vector<int32_t> &sums, const std::vector<float> &scale,
                                  const std::vector<float> &bias,
                                  const std::vector<float> &residual, float qScale, uint8_t qZero,
                                  bool scaleFirst, std::vector<float> &beforeQuantize) {
  const int64_t M = channelsFirst ? dims[1] : dims.back();
  const std::vector<int64_t> perChannel =
      channelsFirst ? std::vector<int64_t>{M, 1} : std::vector<int64_t>{M};
  Tensors ts;
  Tensor *v = ts.make<int32_t>(DS_I32, dims, sums);
  auto step = [&](const std::string &op, const Attributes &a,
                  std::vector<const Tensor *> in) -> Tensor * {
    Tensor *out = ts.empty(DS_F32, dims);
    EXPECT_TRUE(run(op, a, std::move(in), {out}).ok()) << op;
    return out;
  };
  v = step("ds.cast", {}, {v});
  // Scale first and bias second, or the other way round.
  Tensor *scaleT = ts.f32(perChannel, scale), *biasT = ts.f32(perChannel, bias);
  v = step("ds.binary", attrs({{"kind", strAttr("mul")}}),
           scaleFirst ? std::vector<const Tensor *>{scaleT, v}
                      : std::vector<const Tensor *>{v, scaleT});
  v = step("ds.binary", attrs({{"kind", strAttr("add")}}),
           scaleFirst ? std::vector<const Tensor *>{v, biasT}
                      : std::vector<const Tensor *>{biasT, v});
  if (shape.residual) {
    Tensor *r = ts.f32(dims, residual);
    v = shape.residualFirst ? step("ds.binary", attrs({{"kind", strAttr("add")}}), {r, v})
                            : step("ds.binary", attrs({{"kind", strAttr("add")}}), {v, r});
  }
  if (shape.relu)
    v = step("ds.unary", attrs({{"kind", strAttr("relu")}}), {v});
  beforeQuantize = values<float>(v);
  if (!shape.quantize) {
    const auto *bytes = static_cast<const uint8_t *>(v->data);
    return std::vector<uint8_t>(bytes, bytes + sums.size() * sizeof(float));
  }
  Tensor *q = ts.empty(DS_U8, dims);
  EXPECT_TRUE(run("ds.quantize", attrs({{"axis", intAttr(1)}, {"block_size", intAttr(0)}}),
                  {v, ts.f32({}, {qScale}), ts.make<uint8_t>(DS_U8, {}, {qZero})}, {q})
                  .ok());
  return values<uint8_t>(q);
}

/// `count` f32 values at `got` and `want` (raw bytes): the same bits, or
/// both NaN where `nansMeet(i)` (two NaNs met in an add or multiply).
template <typename NansMeet>
void expectSameFloats(const uint8_t *got, const uint8_t *want, size_t count, NansMeet nansMeet,
                      const std::string &what) {
  size_t bad = 0;
  for (size_t i = 0; i < count; ++i) {
    float g, w;
    std::memcpy(&g, got + 4 * i, 4);
    std::memcpy(&w, want + 4 * i, 4);
    const bool same =
        std::memcmp(&g, &w, 4) == 0 || (nansMeet(i) && std::isnan(g) && std::isnan(w));
    if (!same && bad++ < 5)
      ADD_FAILURE() << what << " [" << i << "]: " << g << " vs " << w;
  }
  EXPECT_EQ(bad, 0u) << what;
}

TEST(StoreEpilogue, EveryTailShapeEqualsTheStepsKernelsInRegistersAndInBlocks) {
  if (!cpu::integerVnniKernelsAvailable())
    GTEST_SKIP() << "no AVX-512 on this CPU";
  const int64_t N = 2, M = 11, P = 75; // 75: four full vectors and a partial one
  const int64_t count = N * M * P;
  // Element i is channel (i / P) % M channels first, i % M channels last.
  auto inChannel = [&](size_t i, int64_t c) {
    return (int64_t)(i / P) % M == c || (int64_t)i % M == c;
  };
  std::vector<int32_t> sums((size_t)count);
  {
    const std::vector<float> r = randomFloats((size_t)count, 301);
    for (size_t i = 0; i < sums.size(); ++i)
      sums[i] = inChannel(i, 2) && i % 3 == 0 ? 0 : (int32_t)(r[i] * 40000.0f);
  }
  std::vector<float> scale = randomFloats((size_t)M, 302), bias = randomFloats((size_t)M, 303);
  for (float &s : scale)
    s = std::fabs(s) * 1e-4f;
  // NaNs meet: channel 2's zero sums times its inf scale are the default
  // NaN, its bias a NaN of another payload; channel 1's NaN scale meets
  // residual NaNs of a third payload. Which payload survives depends on
  // the operand order the compiler gives an IEEE add or multiply (it may
  // commute them, in the steps' kernels as here), so f32 results there
  // compare as both NaN, and everywhere else as the same bits.
  scale[1] = NAN, scale[2] = INFINITY, scale[3] = 0.0f;
  bias[2] = std::nanf("0x123"), bias[4] = NAN;
  std::vector<float> residual = randomFloats((size_t)count, 304);
  for (size_t i = 0; i < residual.size(); ++i)
    if (inChannel(i, 1) && i % 2 == 0)
      residual[i] = -std::nanf("0x456");
  const float qScale = 0.03f;
  const uint8_t qZero = 120;

  for (int bits = 0; bits < 16; ++bits) {
    const TailShape shape{(bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0, (bits & 8) != 0};
    if (!shape.residual && shape.residualFirst)
      continue;
    for (bool channelsFirst : {true, false})
      for (bool scaleFirst : {false, true}) {
        // Channels last: the same values as rows of M, N * P rows.
        const std::vector<int64_t> dims =
            channelsFirst ? std::vector<int64_t>{N, M, P} : std::vector<int64_t>{N * P, M};
        std::vector<float> wantF32;
        const std::vector<uint8_t> want =
            stepsKernels(shape, channelsFirst, dims, sums, scale, bias, residual, qScale, qZero,
                         scaleFirst, wantF32);
        const size_t bytes = want.size();
        std::vector<uint8_t> got(bytes);
        // With a quantize, the f32 value before it is kept too in a second
        // round (a residual block's output, read again by the next block).
        for (bool keepF32 : {false, true}) {
          if (keepF32 && !shape.quantize)
            continue;
          std::vector<float> gotF32(wantF32.size());

          cpu::StoreEpilogue epilogue;
          epilogue.channels = M;
          epilogue.pixels = channelsFirst ? P : 0;
          auto push = [&](Op::Kind kind, Op::Source source, const float *values, bool first) {
            Op op;
            op.kind = kind, op.source = source, op.values = values, op.operandFirst = first;
            op.scalar = values ? values[0] : 0.0f;
            epilogue.ops.push_back(op);
          };
          push(Op::Mul, Op::PerChannel, scale.data(), scaleFirst);
          push(Op::Add, Op::PerChannel, bias.data(), !scaleFirst);
          if (shape.residual)
            push(Op::Add, Op::Full, residual.data(), shape.residualFirst);
          if (shape.relu)
            push(Op::Relu, Op::Scalar, nullptr, false);
          if (shape.quantize) {
            push(Op::Quantize, Op::Scalar, nullptr, false);
            epilogue.ops.back().scale = qScale, epilogue.ops.back().zeroPoint = qZero;
            epilogue.ops.back().lo = 0.0f, epilogue.ops.back().hi = 255.0f;
          }
          epilogue.ops.back().store = got.data();
          epilogue.ops.back().storeType = shape.quantize ? DS_U8 : DS_F32;
          if (keepF32)
            epilogue.ops[epilogue.ops.size() - 2].store = gotF32.data();

          for (bool prepared : {false, true}) {
            const std::string what =
                shape.name() + (channelsFirst ? ", channels first" : ", rows") +
                (scaleFirst ? ", operands first" : ", operands second") +
                (prepared ? ", prepared" : ", op by op") + (keepF32 ? ", f32 kept" : "");
            if (prepared) {
              cpu::prepareStoreEpilogue(epilogue);
              ASSERT_GE(epilogue.tailLoop, 0) << what << ": the usual tail is not recognized";
            }
            std::fill(got.begin(), got.end(), 0xAB);
            std::fill(gotF32.begin(), gotF32.end(), -7.0f);
            // In pieces as the kernels hand them: channel rows of part of a
            // map, rows of part of a row.
            if (channelsFirst) {
              for (int64_t n = 0; n < N; ++n)
                for (int64_t m0 = 0; m0 < M; m0 += 6)
                  for (int64_t p0 = 0; p0 < P; p0 += 40) {
                    const int64_t rows = std::min<int64_t>(6, M - m0),
                                  cols = std::min<int64_t>(40, P - p0);
                    cpu::storeChannelsWithEpilogue(epilogue, sums.data() + (n * M + m0) * P + p0, P,
                                                   n, m0, rows, p0, cols);
                  }
            } else {
              for (int64_t r0 = 0; r0 < N * P; r0 += 6)
                for (int64_t c0 = 0; c0 < M; c0 += 7) {
                  const int64_t rows = std::min<int64_t>(6, N * P - r0),
                                cols = std::min<int64_t>(7, M - c0);
                  cpu::storeRowsWithEpilogue(epilogue, sums.data() + r0 * M + c0, M, r0, rows, c0,
                                             cols);
                }
            }
            // Where two NaNs met in this layout: channel 2's 0 x inf and its
            // NaN bias; a NaN residual and the NaN value of channel 1 (NaN
            // scale), 2 or 4 (NaN bias).
            auto nansMeet = [&](size_t i) {
              const int64_t c = channelsFirst ? (int64_t)(i / P) % M : (int64_t)i % M;
              return (c == 2 && sums[i] == 0) ||
                     (shape.residual && std::isnan(residual[i]) && (c == 1 || c == 2 || c == 4));
            };
            if (shape.quantize)
              EXPECT_EQ(0, std::memcmp(got.data(), want.data(), bytes)) << what;
            else
              expectSameFloats(got.data(), want.data(), wantF32.size(), nansMeet, what);
            if (keepF32)
              expectSameFloats(reinterpret_cast<const uint8_t *>(gotF32.data()),
                               reinterpret_cast<const uint8_t *>(wantF32.data()), wantF32.size(),
                               nansMeet, what + " (f32)");
          }
        }
      }
  }
}

TEST(StoreEpilogue, OtherChainsKeepTheGeneralLoop) {
  auto chain = [](std::initializer_list<Op::Kind> kinds, bool middleStore) {
    cpu::StoreEpilogue e;
    static float one = 1.0f;
    for (Op::Kind kind : kinds) {
      Op op;
      op.kind = kind, op.source = Op::Scalar, op.values = &one;
      e.ops.push_back(op);
    }
    static float sink[1];
    e.ops.back().store = sink;
    if (middleStore)
      e.ops[1].store = sink;
    cpu::prepareStoreEpilogue(e);
    return e.tailLoop;
  };
  if (!cpu::integerVnniKernelsAvailable())
    GTEST_SKIP() << "no AVX-512 on this CPU";
  EXPECT_GE(chain({Op::Mul, Op::Add, Op::Relu, Op::Quantize}, false), 0);
  EXPECT_EQ(chain({Op::Mul, Op::Add, Op::Relu, Op::Quantize}, true), -1); // stored midway
  EXPECT_EQ(chain({Op::Mul, Op::Add, Op::Relu}, true), -1); // f32 kept without a quantize
  EXPECT_EQ(chain({Op::Mul, Op::Add, Op::Gelu}, false), -1);
  EXPECT_EQ(chain({Op::Add, Op::Mul}, false), -1);
  EXPECT_EQ(chain({Op::Mul, Op::Add, Op::Quantize, Op::Dequantize}, false), -1);
  EXPECT_EQ(chain({Op::Mul}, false), -1);
}

} // namespace
