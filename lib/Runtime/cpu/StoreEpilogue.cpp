//===- StoreEpilogue.cpp - a fusion group's tail, run as a kernel stores --===//
//
// The usual tail of a quantized layer (scale, bias, residual, ReLU,
// quantize, the f32 value kept where the next block adds it; see
// AffineTail) runs vector by vector with each value in a
// register from the cast to its store, one compiled loop per shape of the
// chain. Any other chain runs op by op over blocks of up to 8 runs of 64
// values held in L1 (16 at a time in AVX-512 registers), one dispatch per
// op and block.
// Each op is the IEEE operation its step's kernel performs (ds.binary's f32
// add / sub / mul / div, ds.quantize's division, round-half-even by the
// 1.5 * 2^23 trick, saturation and NaN to the zero point, ds.dequantize's
// (q - zero point) * scale, the GELUs and the logistic of cpu/VectorMath.h
// that the unary kernel calls), so every value equals the unfused steps' bit
// for bit, a NaN's payload aside where two NaNs meet (tests: StoreEpilogue,
// IntegerDirectConv and IntegerPackedGemm's StoreEpilogueEqualsTheStepsKernels).
//
//===----------------------------------------------------------------------===//
#include "cpu/StoreEpilogue.h"
#include "cpu/VectorMath.h"

#include <algorithm>
#include <array>
#include <utility>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

namespace dsrt::cpu {
namespace {

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DS_AVX512_EPILOGUE 1
#define DS_AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl")))

constexpr int64_t kColumns = 64, kRows = 8;

/// Where a block of the result lies: `rows` runs of `count` (<= kColumns)
/// elements, run r at offset + r * stride; for per-channel operands, run
/// r's channel channel + r (channels first: a run is one channel's pixels)
/// or the column of each run's first element (channels last, `channel` <
/// 0: a run is part of a row).
struct BlockPlace {
  int64_t offset, stride, rows, count, channel, column;
};

/// The block's values, run r at v[r * kColumns].
struct alignas(64) BlockValues {
  float v[kRows * kColumns];
};

/// f(run, i, mask) for each 16 values of each run.
template <typename F>
DS_AVX512_TARGET inline void eachVector(const BlockPlace &at, F &&f) {
  for (int64_t r = 0; r < at.rows; ++r)
    for (int64_t i = 0; i < at.count; i += 16) {
      const int64_t n = std::min<int64_t>(16, at.count - i);
      f(r, i, (__mmask16)((1u << n) - 1));
    }
}

/// A binary op on the block: `Kind` fixed, so the loop holds one operation.
template <StoreEpilogue::Op::Kind Kind>
DS_AVX512_TARGET void binaryOp(const StoreEpilogue::Op &op, const BlockPlace &at,
                               BlockValues &b) {
  // The operand: one value per run (a scalar, or the run's channel), or
  // read at (run, i) from `base` with `stride` between runs.
  const bool perRun = op.source == StoreEpilogue::Op::Scalar ||
                      (op.source == StoreEpilogue::Op::PerChannel && at.channel >= 0);
  const float *base = op.source == StoreEpilogue::Op::Full ? op.values + at.offset
                                                           : op.values + at.column;
  const int64_t stride = op.source == StoreEpilogue::Op::Full ? at.stride : 0;
  for (int64_t r = 0; r < at.rows; ++r) {
    const __m512 one = _mm512_set1_ps(!perRun ? 0.0f
                                      : op.source == StoreEpilogue::Op::Scalar
                                          ? op.scalar
                                          : op.values[at.channel + r]);
    for (int64_t i = 0; i < at.count; i += 16) {
      const __mmask16 mask = (__mmask16)((1u << std::min<int64_t>(16, at.count - i)) - 1);
      float *v = b.v + r * kColumns + i;
      const __m512 x = _mm512_load_ps(v);
      const __m512 y = perRun ? one : _mm512_maskz_loadu_ps(mask, base + r * stride + i);
      const __m512 l = op.operandFirst ? y : x, rr = op.operandFirst ? x : y;
      __m512 z;
      if constexpr (Kind == StoreEpilogue::Op::Add)
        z = _mm512_add_ps(l, rr);
      else if constexpr (Kind == StoreEpilogue::Op::Sub)
        z = _mm512_sub_ps(l, rr);
      else if constexpr (Kind == StoreEpilogue::Op::Mul)
        z = _mm512_mul_ps(l, rr);
      else
        z = _mm512_div_ps(l, rr);
      _mm512_store_ps(v, z);
    }
  }
}

/// One op on the block.
DS_AVX512_TARGET void applyOp(const StoreEpilogue::Op &op, const BlockPlace &at,
                              BlockValues &b) {
  using Op = StoreEpilogue::Op;
  switch (op.kind) {
  case Op::Add:
    return binaryOp<Op::Add>(op, at, b);
  case Op::Sub:
    return binaryOp<Op::Sub>(op, at, b);
  case Op::Mul:
    return binaryOp<Op::Mul>(op, at, b);
  case Op::Div:
    return binaryOp<Op::Div>(op, at, b);
  case Op::Relu:
    // x > 0 or NaN: x; otherwise 0 (-0 too).
    return eachVector(at, [&](int64_t r, int64_t i, __mmask16) DS_AVX512_TARGET {
      float *v = b.v + r * kColumns + i;
      const __m512 x = _mm512_load_ps(v);
      const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ) |
                             _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
      _mm512_store_ps(v, _mm512_maskz_mov_ps(keep, x));
    });
  case Op::Gelu:
  case Op::GeluTanh:
    // The unary kernel's own loops, a run at a time (values past `count`
    // are never read).
    for (int64_t r = 0; r < at.rows; ++r) {
      alignas(64) float y[kColumns];
      float *v = b.v + r * kColumns;
      if (op.kind == Op::Gelu)
        vmath::gelu(v, y, at.count);
      else
        vmath::geluTanh(v, y, at.count);
      std::memcpy(v, y, sizeof(float) * (size_t)at.count);
    }
    return;
  case Op::Silu:
    // vmath::sigmoid as the unary kernel runs it, then the product's IEEE
    // multiply (commutative: either operand order gives these bits).
    for (int64_t r = 0; r < at.rows; ++r) {
      alignas(64) float y[kColumns];
      float *v = b.v + r * kColumns;
      vmath::sigmoid(v, y, at.count);
      for (int64_t i = 0; i < at.count; i += 16) {
        const __mmask16 mask = (__mmask16)((1u << std::min<int64_t>(16, at.count - i)) - 1);
        _mm512_store_ps(v + i,
                        _mm512_mul_ps(_mm512_load_ps(v + i), _mm512_maskz_load_ps(mask, y + i)));
      }
    }
    return;
  case Op::Quantize: {
    // cpu/VectorMath.cpp's quantizeOne before the narrowing: round half to
    // even by the 1.5 * 2^23 trick, saturate, NaN to the zero point.
    const __m512 magic = _mm512_set1_ps(12582912.0f), zero = _mm512_set1_ps(op.zeroPoint),
                 scale = _mm512_set1_ps(op.scale), lo = _mm512_set1_ps(op.lo),
                 hi = _mm512_set1_ps(op.hi);
    return eachVector(at, [&](int64_t r, int64_t i, __mmask16) DS_AVX512_TARGET {
      float *v = b.v + r * kColumns + i;
      __m512 q = _mm512_div_ps(_mm512_load_ps(v), scale);
      const __mmask16 nan = _mm512_cmp_ps_mask(q, q, _CMP_UNORD_Q);
      q = _mm512_add_ps(_mm512_sub_ps(_mm512_add_ps(q, magic), magic), zero);
      q = _mm512_min_ps(_mm512_max_ps(q, lo), hi);
      _mm512_store_ps(v, _mm512_mask_mov_ps(q, nan, zero));
    });
  }
  case Op::Dequantize: {
    const __m512 zero = _mm512_set1_ps(op.zeroPoint), scale = _mm512_set1_ps(op.scale);
    return eachVector(at, [&](int64_t r, int64_t i, __mmask16) DS_AVX512_TARGET {
      float *v = b.v + r * kColumns + i;
      _mm512_store_ps(v, _mm512_mul_ps(_mm512_sub_ps(_mm512_load_ps(v), zero), scale));
    });
  }
  }
}

/// The block's values where `op` stores them.
DS_AVX512_TARGET void storeBlock(const StoreEpilogue::Op &op, const BlockPlace &at,
                                 const BlockValues &b) {
  const bool bytes = op.storeType == DS_U8 || op.storeType == DS_I8;
  eachVector(at, [&](int64_t r, int64_t i, __mmask16 mask) DS_AVX512_TARGET {
    const __m512 x = _mm512_load_ps(b.v + r * kColumns + i);
    const int64_t at0 = at.offset + r * at.stride + i;
    if (bytes)
      _mm_mask_storeu_epi8(static_cast<int8_t *>(op.store) + at0, mask,
                           _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(x)));
    else
      _mm512_mask_storeu_ps(static_cast<float *>(op.store) + at0, mask, x);
  });
}

/// The chain on one block, op by op: sums of run r at sums + r * ldSums.
DS_AVX512_TARGET void chainBlock(const StoreEpilogue &epilogue, const int32_t *sums,
                                 int64_t ldSums, const BlockPlace &at) {
  BlockValues b;
  eachVector(at, [&](int64_t r, int64_t i, __mmask16 mask) DS_AVX512_TARGET {
    _mm512_store_ps(b.v + r * kColumns + i,
                    _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(mask, sums + r * ldSums + i)));
  });
  for (const StoreEpilogue::Op &op : epilogue.ops) {
    applyOp(op, at, b);
    if (op.store)
      storeBlock(op, at, b);
  }
}

/// The chain most quantized convolutions and matmuls end in: the scale
/// that dequantizes the sums and the bias (each one value or one per
/// channel), then optionally a residual added, a ReLU and the next layer's
/// quantize, stored at the end and, with a quantize, optionally also just
/// before it (a residual network's block output: the next block adds it in
/// f32 and its convolution reads it quantized). Its ops, as
/// prepareStoreEpilogue found them.
struct AffineTail {
  const StoreEpilogue::Op *scale, *bias, *residual, *quantize, *last;
  float *beforeQuantize; ///< where the f32 value before the quantize goes, or null

  explicit AffineTail(const StoreEpilogue &e)
      : scale(&e.ops[0]), bias(&e.ops[1]), residual(&e.ops[e.tailResidual]),
        quantize(&e.ops[e.tailQuantize]), last(&e.ops.back()),
        beforeQuantize(e.tailQuantize > 0 ? static_cast<float *>(e.ops[e.tailQuantize - 1].store)
                                          : nullptr) {}
};

/// The AffineTail loop's flags for `epilogue` (bit 0, channels last, is
/// added per call), or -1 when its chain has another shape.
int matchAffineTail(StoreEpilogue &epilogue) {
  using Op = StoreEpilogue::Op;
  const std::vector<Op> &ops = epilogue.ops;
  auto perRunOperand = [](const Op &op, Op::Kind kind) {
    return op.kind == kind && op.source != Op::Full;
  };
  if (ops.size() < 2 || !perRunOperand(ops[0], Op::Mul) || !perRunOperand(ops[1], Op::Add))
    return -1;
  int flags = 0;
  size_t k = 2;
  epilogue.tailResidual = epilogue.tailQuantize = 0;
  if (k < ops.size() && ops[k].kind == Op::Add && ops[k].source == Op::Full) {
    flags |= 2 | (ops[k].operandFirst ? 4 : 0);
    epilogue.tailResidual = k++;
  }
  if (k < ops.size() && ops[k].kind == Op::Relu)
    flags |= 8, ++k;
  if (k < ops.size() && ops[k].kind == Op::Quantize) {
    flags |= 16;
    epilogue.tailQuantize = k++;
  }
  if (k != ops.size() || !ops.back().store)
    return -1;
  // Stores: at the end, and with a quantize also the f32 value before it.
  for (size_t i = 0; i + 1 < ops.size(); ++i)
    if (ops[i].store && !((flags & 16) && i + 1 == epilogue.tailQuantize &&
                          ops[i].storeType == DS_F32))
      return -1;
  return flags;
}

/// An AffineTail vector by vector, each 16 values in a register from the
/// cast to the store: the same IEEE operations in the same order as
/// applyOp and storeBlock, without a load and a store per op in between.
template <bool PerColumn, bool Residual, bool ResidualFirst, bool Relu, bool Quantize>
DS_AVX512_TARGET void affineTail(const AffineTail &t, const int32_t *sums, int64_t ldSums,
                                 const BlockPlace &at) {
  using Op = StoreEpilogue::Op;
  auto operand = [&](const Op &op, int64_t r) {
    return op.source == Op::Scalar ? op.scalar : PerColumn ? 0.0f : op.values[at.channel + r];
  };
  const bool scaleVaries = PerColumn && t.scale->source == Op::PerChannel,
             biasVaries = PerColumn && t.bias->source == Op::PerChannel;
  const bool scaleFirst = t.scale->operandFirst, biasFirst = t.bias->operandFirst;
  const Op &q = Quantize ? *t.quantize : *t.last;
  const __m512 magic = _mm512_set1_ps(12582912.0f), zero = _mm512_set1_ps(q.zeroPoint),
               qScale = _mm512_set1_ps(q.scale), lo = _mm512_set1_ps(q.lo),
               hi = _mm512_set1_ps(q.hi);
  for (int64_t r = 0; r < at.rows; ++r) {
    const __m512 runScale = _mm512_set1_ps(operand(*t.scale, r)),
                 runBias = _mm512_set1_ps(operand(*t.bias, r));
    const int64_t run = at.offset + r * at.stride;
    for (int64_t i = 0; i < at.count; i += 16) {
      const __mmask16 mask = (__mmask16)((1u << std::min<int64_t>(16, at.count - i)) - 1);
      __m512 x = _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(mask, sums + r * ldSums + i));
      const __m512 s = scaleVaries ? _mm512_maskz_loadu_ps(mask, t.scale->values + at.column + i)
                                   : runScale;
      x = scaleFirst ? _mm512_mul_ps(s, x) : _mm512_mul_ps(x, s);
      const __m512 b = biasVaries ? _mm512_maskz_loadu_ps(mask, t.bias->values + at.column + i)
                                  : runBias;
      x = biasFirst ? _mm512_add_ps(b, x) : _mm512_add_ps(x, b);
      if constexpr (Residual) {
        const __m512 y = _mm512_maskz_loadu_ps(mask, t.residual->values + run + i);
        x = ResidualFirst ? _mm512_add_ps(y, x) : _mm512_add_ps(x, y);
      }
      if constexpr (Relu) {
        const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ) |
                               _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
        x = _mm512_maskz_mov_ps(keep, x);
      }
      if constexpr (Quantize) {
        if (t.beforeQuantize)
          _mm512_mask_storeu_ps(t.beforeQuantize + run + i, mask, x);
        __m512 v = _mm512_div_ps(x, qScale);
        const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        v = _mm512_add_ps(_mm512_sub_ps(_mm512_add_ps(v, magic), magic), zero);
        v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
        x = _mm512_mask_mov_ps(v, nan, zero);
        _mm_mask_storeu_epi8(static_cast<int8_t *>(t.last->store) + run + i, mask,
                             _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(x)));
      } else {
        _mm512_mask_storeu_ps(static_cast<float *>(t.last->store) + run + i, mask, x);
      }
    }
  }
}

using AffineTailFn = void (*)(const AffineTail &, const int32_t *, int64_t, const BlockPlace &);
template <size_t... I>
constexpr std::array<AffineTailFn, sizeof...(I)> affineTails(std::index_sequence<I...>) {
  return {&affineTail<(I & 1) != 0, (I & 2) != 0, (I & 4) != 0, (I & 8) != 0, (I & 16) != 0>...};
}

/// `at.rows` runs of `count` sums from `at`: a prepared AffineTail in
/// registers, any other chain in blocks of kRows x kColumns.
DS_AVX512_TARGET void chainRuns(const StoreEpilogue &epilogue, const int32_t *sums,
                                int64_t ldSums, BlockPlace at, int64_t count) {
  if (epilogue.tailLoop >= 0) {
    static constexpr auto tails = affineTails(std::make_index_sequence<32>());
    at.count = count;
    return tails[(size_t)(epilogue.tailLoop | (at.channel < 0))](AffineTail(epilogue), sums,
                                                                  ldSums, at);
  }
  const int64_t rows = at.rows;
  for (int64_t r = 0; r < rows; r += kRows)
    for (int64_t i = 0; i < count; i += kColumns) {
      BlockPlace block = at;
      block.rows = std::min(kRows, rows - r);
      block.count = std::min(kColumns, count - i);
      block.offset += r * at.stride + i;
      block.column += i;
      if (at.channel >= 0)
        block.channel += r;
      chainBlock(epilogue, sums + r * ldSums + i, ldSums, block);
    }
}
#endif

} // namespace

void prepareStoreEpilogue(StoreEpilogue &epilogue) {
#if DS_AVX512_EPILOGUE
  epilogue.tailLoop = matchAffineTail(epilogue);
#else
  epilogue.tailLoop = -1;
#endif
}

#if DS_AVX512_EPILOGUE
void storeChannelsWithEpilogue(const StoreEpilogue &epilogue, const int32_t *sums,
                               int64_t ldSums, int64_t image, int64_t channel, int64_t channels,
                               int64_t pixel, int64_t count) {
  const int64_t offset = (image * epilogue.channels + channel) * epilogue.pixels + pixel;
  chainRuns(epilogue, sums, ldSums, {offset, epilogue.pixels, channels, 0, channel, 0}, count);
}

void storeRowsWithEpilogue(const StoreEpilogue &epilogue, const int32_t *sums, int64_t ldSums,
                           int64_t row, int64_t rows, int64_t column, int64_t count) {
  chainRuns(epilogue, sums, ldSums,
            {row * epilogue.channels + column, epilogue.channels, rows, 0, -1, column}, count);
}
#endif

} // namespace dsrt::cpu
