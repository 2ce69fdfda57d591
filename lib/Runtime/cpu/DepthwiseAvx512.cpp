//===- DepthwiseAvx512.cpp - depthwise loops in AVX-512 registers ---------===//
//
// The AVX-512 builds of DepthwiseKernels.h: the runtime-shaped channel
// kernel, fixed-window ones for 3- and 5-tap rows at column stride 1 or 2
// (MobileNet's), and the padded copies at column stride 1 and 2.
//
//===----------------------------------------------------------------------===//
#include "cpu/DepthwiseKernels.h"

#include <algorithm>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace dsrt::cpu {

#if defined(__x86_64__)
namespace {
#define DS_AVX512 __attribute__((target("avx512f")))

/// channelBody for float in AVX-512 registers: up to four vectors of
/// outputs of up to four rows held across all taps (the clone of the
/// generic loop spilled its block to memory on every tap; one row's 9-tap
/// chains alone waited on the adder's latency), the row's tail by masks.
/// The same multiply, then add, in the same tap order: equal results bit
/// for bit.
DS_AVX512 void runtimeShapedChannel(const DepthwisePlan &p, const float *scratch, const float *k,
                                    float b0, float *yc) {
  constexpr int64_t kVectors = 4, kBlock = 16 * kVectors, kRows = 4;
  const int64_t rowStride = p.SW * p.phaseLen;
  for (int64_t o0 = 0; o0 < p.OW; o0 += kBlock) {
    const int64_t n = std::min(kBlock, p.OW - o0);
    const int64_t full = n / 16, tail = n % 16;
    const __mmask16 mask = (__mmask16)((1u << tail) - 1);
    for (int64_t oh0 = 0; oh0 < p.OH; oh0 += kRows) {
      const int64_t rows = std::min(kRows, p.OH - oh0);
      __m512 acc[kRows][kVectors];
      for (int64_t r = 0; r < kRows; ++r)
        for (int64_t v = 0; v < kVectors; ++v)
          acc[r][v] = _mm512_set1_ps(b0);
      for (int64_t kh = 0; kh < p.KH; ++kh)
        for (int64_t kw = 0; kw < p.KW; ++kw) {
          const int64_t c = kw * p.DW;
          const float *src = scratch + (oh0 * p.SH + kh * p.DH) * rowStride +
                             (c % p.SW) * p.phaseLen + c / p.SW + o0;
          const __m512 kv = _mm512_set1_ps(k[kh * p.KW + kw]);
          for (int64_t r = 0; r < kRows; ++r) {
            if (r >= rows)
              break;
            const float *s = src + r * p.SH * rowStride;
            for (int64_t v = 0; v < kVectors; ++v) {
              if (v < full)
                acc[r][v] =
                    _mm512_add_ps(acc[r][v], _mm512_mul_ps(kv, _mm512_loadu_ps(s + 16 * v)));
              else if (v == full && tail)
                acc[r][v] = _mm512_add_ps(
                    acc[r][v], _mm512_mul_ps(kv, _mm512_maskz_loadu_ps(mask, s + 16 * v)));
            }
          }
        }
      for (int64_t r = 0; r < rows; ++r) {
        float *yrow = yc + (oh0 + r) * p.OW + o0;
        for (int64_t v = 0; v < full; ++v)
          _mm512_storeu_ps(yrow + 16 * v, acc[r][v]);
        if (tail)
          _mm512_mask_storeu_ps(yrow + 16 * full, mask, acc[r][full < kVectors ? full : 0]);
      }
    }
  }
}

/// One column block (V vectors of 16 outputs, the last one under `last`)
/// of every output row, for a KW-wide window at column stride SW and
/// column dilation 1: the accumulators, the rows of a row block and each
/// tap's phase and offset are constants, so the block stays in registers
/// (the runtime-shaped kernel above spilled it on every tap and divided to
/// find each tap's phase). More rows per block when rows are short, so
/// that enough independent sums hide the adder's latency. The same
/// multiply, then add, in the same tap order as the other kernels.
template <int KW, int SW, int V>
DS_AVX512 void columnBlock(const DepthwisePlan &p, const float *scratch, const float *k, float b0,
                           float *yc, int64_t o0, __mmask16 last) {
  constexpr int kRows = V == 1 ? 8 : V == 2 ? 6 : 4;
  const int64_t rowStride = SW * p.phaseLen;
  for (int64_t oh0 = 0; oh0 < p.OH; oh0 += kRows) {
    const int64_t rows = std::min<int64_t>(kRows, p.OH - oh0);
    __m512 acc[kRows][V];
#pragma unroll
    for (int r = 0; r < kRows; ++r)
#pragma unroll
      for (int v = 0; v < V; ++v)
        acc[r][v] = _mm512_set1_ps(b0);
    for (int64_t kh = 0; kh < p.KH; ++kh) {
      const float *base = scratch + (oh0 * p.SH + kh * p.DH) * rowStride + o0;
#pragma unroll
      for (int kw = 0; kw < KW; ++kw) {
        const __m512 kv = _mm512_set1_ps(k[kh * KW + kw]);
        const float *src = base + (kw % SW) * p.phaseLen + kw / SW;
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
          if (r >= rows)
            break;
          const float *s = src + r * p.SH * rowStride;
#pragma unroll
          for (int v = 0; v < V; ++v) {
            const __m512 x =
                v + 1 < V ? _mm512_loadu_ps(s + 16 * v) : _mm512_maskz_loadu_ps(last, s + 16 * v);
            acc[r][v] = _mm512_add_ps(acc[r][v], _mm512_mul_ps(kv, x));
          }
        }
      }
    }
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      if (r >= rows)
        break;
      float *yrow = yc + (oh0 + r) * p.OW + o0;
#pragma unroll
      for (int v = 0; v < V; ++v) {
        if (v + 1 < V)
          _mm512_storeu_ps(yrow + 16 * v, acc[r][v]);
        else
          _mm512_mask_storeu_ps(yrow + 16 * v, last, acc[r][v]);
      }
    }
  }
}

/// runtimeShapedChannel for a KW-wide window at column stride SW and
/// column dilation 1: column blocks of up to 64 outputs.
template <int KW, int SW>
DS_AVX512 void fixedChannel(const DepthwisePlan &p, const float *scratch, const float *k, float b0,
                            float *yc) {
  for (int64_t o0 = 0; o0 < p.OW; o0 += 64) {
    const int64_t n = std::min<int64_t>(64, p.OW - o0);
    const __mmask16 last = (__mmask16)(n % 16 ? (1u << (n % 16)) - 1 : 0xFFFF);
    switch ((n + 15) / 16) {
    case 1:
      columnBlock<KW, SW, 1>(p, scratch, k, b0, yc, o0, last);
      break;
    case 2:
      columnBlock<KW, SW, 2>(p, scratch, k, b0, yc, o0, last);
      break;
    case 3:
      columnBlock<KW, SW, 3>(p, scratch, k, b0, yc, o0, last);
      break;
    default:
      columnBlock<KW, SW, 4>(p, scratch, k, b0, yc, o0, last);
      break;
    }
  }
}

/// padChannel for float at column stride 1 in AVX-512 registers: each row
/// is a few vectors (the generic copy called memmove per row, which cost
/// more than the copy on 32-wide maps).
DS_AVX512 void padStride1(const DepthwisePlan &p, const float *xc, float *scratch) {
  const int64_t lo = std::max<int64_t>(0, p.PL), hi = std::min(p.phaseLen, p.W + p.PL);
  for (int64_t r = std::max<int64_t>(0, p.PT); r < std::min(p.rows, p.H + p.PT); ++r) {
    const float *src = xc + (r - p.PT) * p.W - p.PL;
    float *dst = scratch + r * p.phaseLen;
    int64_t j = lo;
    for (; j + 16 <= hi; j += 16)
      _mm512_storeu_ps(dst + j, _mm512_loadu_ps(src + j));
    if (j < hi) {
      const __mmask16 mask = (__mmask16)((1u << (hi - j)) - 1);
      _mm512_mask_storeu_ps(dst + j, mask, _mm512_maskz_loadu_ps(mask, src + j));
    }
  }
}

/// Lanes [0, n) on (none for n <= 0, all 16 for n >= 16).
inline __mmask16 lanes(int64_t n) {
  return (__mmask16)(n >= 16 ? 0xFFFF : n <= 0 ? 0 : (1u << n) - 1);
}

/// The same at column stride 2: 32 input columns at a time split into their
/// even and odd lanes (one permute each) and stored into the two phases.
/// Column blocks outside, rows inside: each block's masks and offsets are
/// worked out once per channel, not once per row (that bookkeeping was
/// most of the copy on 32-wide maps).
DS_AVX512 void padStride2(const DepthwisePlan &p, const float *xc, float *scratch) {
  const __m512i evens =
      _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odds = _mm512_add_epi32(evens, _mm512_set1_epi32(1));
  const int64_t r0 = std::max<int64_t>(0, p.PT), r1 = std::min(p.rows, p.H + p.PT);
  for (int64_t i0 = 0; i0 < p.W; i0 += 32) {
    const int64_t n = std::min<int64_t>(32, p.W - i0);
    const __mmask16 m0 = lanes(n), m1 = lanes(n - 16);
    const PhaseRun even = phaseRun(p, i0, (n + 1) / 2), odd = phaseRun(p, i0 + 1, n / 2);
    const __mmask16 evenMask = lanes(even.count), oddMask = lanes(odd.count);
    const float *src = xc + (r0 - p.PT) * p.W + i0;
    float *row = scratch + r0 * 2 * p.phaseLen;
    for (int64_t r = r0; r < r1; ++r, src += p.W, row += 2 * p.phaseLen) {
      const __m512 a = _mm512_maskz_loadu_ps(m0, src);
      const __m512 b = _mm512_maskz_loadu_ps(m1, src + 16);
      _mm512_mask_storeu_ps(row + even.offset, evenMask, _mm512_permutex2var_ps(a, evens, b));
      _mm512_mask_storeu_ps(row + odd.offset, oddMask, _mm512_permutex2var_ps(a, odds, b));
    }
  }
}

struct Avx512Build {
  template <int KW, int SW> static constexpr DepthwiseChannelKernel channel = fixedChannel<KW, SW>;
};
} // namespace

DepthwiseChannelKernel depthwiseChannelAvx512(const DepthwisePlan &p) {
  if (DepthwiseChannelKernel fixed = fixedWindowKernel<Avx512Build>(p))
    return fixed;
  return runtimeShapedChannel;
}

DepthwisePadKernel depthwisePadAvx512(const DepthwisePlan &p) {
  return p.SW == 1 ? padStride1 : p.SW == 2 ? padStride2 : nullptr;
}
#else
DepthwiseChannelKernel depthwiseChannelAvx512(const DepthwisePlan &) { return nullptr; }
DepthwisePadKernel depthwisePadAvx512(const DepthwisePlan &) { return nullptr; }
#endif

} // namespace dsrt::cpu
