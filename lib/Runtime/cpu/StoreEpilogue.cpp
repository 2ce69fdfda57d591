//===- StoreEpilogue.cpp - a fusion group's tail, run as a kernel stores --===//
//
// The whole chain runs on 16 values at a time in AVX-512 registers. Each op
// is the IEEE operation its step's kernel performs (ds.binary's f32 add /
// sub / mul / div, ds.quantize's division, round-half-even by the
// 1.5 * 2^23 trick, saturation and NaN to the zero point, ds.dequantize's
// (q - zero point) * scale), so every value equals the unfused steps' bit
// for bit (test: IntegerDirectConv.StoreEpilogueEqualsTheStepsKernels).
//
//===----------------------------------------------------------------------===//
#include "cpu/StoreEpilogue.h"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

namespace dsrt::cpu {
namespace {

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DS_AVX512_EPILOGUE 1
#define DS_AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl")))

/// The whole chain on 16 values (`mask` of them) in registers.
DS_AVX512_TARGET void chainVector(const StoreEpilogue &epilogue, const int32_t *sums,
                                  int64_t channel, int64_t offset, __mmask16 mask) {
  __m512 v = _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(mask, sums));
  for (const StoreEpilogue::Op &op : epilogue.ops) {
    switch (op.kind) {
    case StoreEpilogue::Op::Add:
    case StoreEpilogue::Op::Sub:
    case StoreEpilogue::Op::Mul:
    case StoreEpilogue::Op::Div: {
      __m512 operand =
          op.source == StoreEpilogue::Op::Scalar ? _mm512_set1_ps(op.scalar)
          : op.source == StoreEpilogue::Op::PerChannel
              ? _mm512_set1_ps(op.values[channel])
              : _mm512_maskz_loadu_ps(mask, op.values + offset);
      __m512 l = op.operandFirst ? operand : v, r = op.operandFirst ? v : operand;
      v = op.kind == StoreEpilogue::Op::Add   ? _mm512_add_ps(l, r)
          : op.kind == StoreEpilogue::Op::Sub ? _mm512_sub_ps(l, r)
          : op.kind == StoreEpilogue::Op::Mul ? _mm512_mul_ps(l, r)
                                              : _mm512_div_ps(l, r);
      break;
    }
    case StoreEpilogue::Op::Relu: {
      // x > 0 or NaN: x; otherwise 0 (-0 too).
      __mmask16 keep = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ) |
                       _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
      v = _mm512_maskz_mov_ps(keep, v);
      break;
    }
    case StoreEpilogue::Op::Quantize: {
      // cpu/VectorMath.cpp's quantizeOne before the narrowing: round half
      // to even by the 1.5 * 2^23 trick, saturate, NaN to the zero point.
      const __m512 magic = _mm512_set1_ps(12582912.0f), zero = _mm512_set1_ps(op.zeroPoint);
      __m512 q = _mm512_div_ps(v, _mm512_set1_ps(op.scale));
      __mmask16 nan = _mm512_cmp_ps_mask(q, q, _CMP_UNORD_Q);
      q = _mm512_add_ps(_mm512_sub_ps(_mm512_add_ps(q, magic), magic), zero);
      q = _mm512_min_ps(_mm512_max_ps(q, _mm512_set1_ps(op.lo)), _mm512_set1_ps(op.hi));
      v = _mm512_mask_mov_ps(q, nan, zero);
      break;
    }
    case StoreEpilogue::Op::Dequantize:
      v = _mm512_mul_ps(_mm512_sub_ps(v, _mm512_set1_ps(op.zeroPoint)), _mm512_set1_ps(op.scale));
      break;
    }
    if (!op.store)
      continue;
    switch (op.storeType) {
    case DS_U8:
    case DS_I8:
      _mm_mask_storeu_epi8(static_cast<int8_t *>(op.store) + offset, mask,
                           _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v)));
      break;
    default:
      _mm512_mask_storeu_ps(static_cast<float *>(op.store) + offset, mask, v);
      break;
    }
  }
}

DS_AVX512_TARGET void chainAvx512(const StoreEpilogue &epilogue, const int32_t *sums,
                                  int64_t channel, int64_t offset, int64_t count) {
  for (int64_t i = 0; i < count; i += 16) {
    const int64_t n = std::min<int64_t>(16, count - i);
    chainVector(epilogue, sums + i, channel, offset + i, (__mmask16)((1u << n) - 1));
  }
}
#endif

} // namespace

#if DS_AVX512_EPILOGUE
void storeWithEpilogue(const StoreEpilogue &epilogue, const int32_t *sums, int64_t image,
                       int64_t channel, int64_t pixel, int64_t count) {
  chainAvx512(epilogue, sums, channel,
              (image * epilogue.channels + channel) * epilogue.pixels + pixel, count);
}
#endif

} // namespace dsrt::cpu
