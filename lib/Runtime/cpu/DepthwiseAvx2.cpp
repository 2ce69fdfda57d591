//===- DepthwiseAvx2.cpp - depthwise loops in AVX2 registers --------------===//
//
// The AVX2 builds of DepthwiseKernels.h, as DepthwiseAvx512.cpp's fixed-
// window kernels and padded copies with 8 lanes: the clones of the generic
// loops (cpu/Multiversion.h) spilled their block of outputs on every tap
// and copied each row through memmove, so on a CPU without AVX-512 the
// depthwise convolutions were most of a MobileNet's time.
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
#define DS_AVX2 __attribute__((target("avx2,fma")))

/// Lanes [0, n) on, n in [0, 8].
DS_AVX2 inline __m256i firstLanes(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Masks are kept off the tensors' edges: AMD documents that the lanes a
// masked load or store leaves out may still fault (Intel's never do), and
// a masked store is microcoded and slow there. Tails go through a local
// vector; the scratch, which has slack past its end, takes masked stores.

/// The first n (1 to 8) floats at p, zeros after them.
DS_AVX2 inline __m256 loadFirst(const float *p, int64_t n) {
  if (n == 8)
    return _mm256_loadu_ps(p);
  alignas(32) float lanes[8] = {};
  for (int64_t i = 0; i < n; ++i)
    lanes[i] = p[i];
  return _mm256_load_ps(lanes);
}

/// Stores the first n (1 to 8) lanes of v at p.
DS_AVX2 inline void storeFirst(float *p, int64_t n, __m256 v) {
  if (n == 8)
    return _mm256_storeu_ps(p, v);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, v);
  for (int64_t i = 0; i < n; ++i)
    p[i] = lanes[i];
}

/// One column block (V vectors of 8 outputs, the last one cut to `tail`)
/// of every output row, for a KW-wide window at column stride SW and
/// column dilation 1, its accumulators in registers across all taps: more
/// rows per block when the block is narrow, so that enough independent
/// sums hide the adder's latency (at most 12 accumulators of the 16
/// registers). Multiply, then add, in tap order. Loads read whole vectors:
/// the scratch has kDepthwiseScratchSlack floats past its end. The last
/// vector of a row stores only its first `tail` lanes (8: all).
template <int KW, int SW, int V>
DS_AVX2 void columnBlock(const DepthwisePlan &p, const float *scratch, const float *k, float b0,
                         float *yc, int64_t o0, int64_t tail) {
  constexpr int kRows = V == 1 ? 8 : V == 2 ? 6 : V == 3 ? 4 : 3;
  const int64_t rowStride = SW * p.phaseLen;
  for (int64_t oh0 = 0; oh0 < p.OH; oh0 += kRows) {
    const int64_t rows = std::min<int64_t>(kRows, p.OH - oh0);
    __m256 acc[kRows][V];
#pragma unroll
    for (int r = 0; r < kRows; ++r)
#pragma unroll
      for (int v = 0; v < V; ++v)
        acc[r][v] = _mm256_set1_ps(b0);
    for (int64_t kh = 0; kh < p.KH; ++kh) {
      const float *base = scratch + (oh0 * p.SH + kh * p.DH) * rowStride + o0;
#pragma unroll
      for (int kw = 0; kw < KW; ++kw) {
        const __m256 kv = _mm256_set1_ps(k[kh * KW + kw]);
        const float *src = base + (kw % SW) * p.phaseLen + kw / SW;
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
          if (r >= rows)
            break;
          const float *s = src + r * p.SH * rowStride;
#pragma unroll
          for (int v = 0; v < V; ++v) {
            acc[r][v] = _mm256_add_ps(acc[r][v], _mm256_mul_ps(kv, _mm256_loadu_ps(s + 8 * v)));
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
          _mm256_storeu_ps(yrow + 8 * v, acc[r][v]);
        else
          storeFirst(yrow + 8 * v, tail, acc[r][v]);
      }
    }
  }
}

/// A channel in column blocks of up to 32 outputs.
template <int KW, int SW>
DS_AVX2 void fixedChannel(const DepthwisePlan &p, const float *scratch, const float *k, float b0,
                          float *yc) {
  for (int64_t o0 = 0; o0 < p.OW; o0 += 32) {
    const int64_t n = std::min<int64_t>(32, p.OW - o0);
    const int64_t tail = n % 8 ? n % 8 : 8;
    switch ((n + 7) / 8) {
    case 1:
      columnBlock<KW, SW, 1>(p, scratch, k, b0, yc, o0, tail);
      break;
    case 2:
      columnBlock<KW, SW, 2>(p, scratch, k, b0, yc, o0, tail);
      break;
    case 3:
      columnBlock<KW, SW, 3>(p, scratch, k, b0, yc, o0, tail);
      break;
    default:
      columnBlock<KW, SW, 4>(p, scratch, k, b0, yc, o0, tail);
      break;
    }
  }
}

/// The padded copy at column stride 1: each row a few vectors (the generic
/// copy called memmove per row, which cost more than the copy on small maps).
DS_AVX2 void padStride1(const DepthwisePlan &p, const float *xc, float *scratch) {
  const int64_t lo = std::max<int64_t>(0, p.PL), hi = std::min(p.phaseLen, p.W + p.PL);
  for (int64_t r = std::max<int64_t>(0, p.PT); r < std::min(p.rows, p.H + p.PT); ++r) {
    const float *src = xc + (r - p.PT) * p.W - p.PL;
    float *dst = scratch + r * p.phaseLen;
    int64_t j = lo;
    for (; j + 8 <= hi; j += 8)
      _mm256_storeu_ps(dst + j, _mm256_loadu_ps(src + j));
    for (; j < hi; ++j)
      dst[j] = src[j];
  }
}

/// Stores lanes [0, count) of v: whole vectors without the (slow) mask.
DS_AVX2 inline void storeLanes(float *dst, int64_t count, __m256i mask, __m256 v) {
  if (count == 8)
    _mm256_storeu_ps(dst, v);
  else
    _mm256_maskstore_ps(dst, mask, v);
}

/// Lanes 0, 2, ..., 14 (odd = 0) or 1, 3, ..., 15 (odd = 1) of a:b: within
/// each 128-bit lane a shuffle takes a's pair then b's, and a permute of
/// 64-bit pairs puts a's before b's.
template <int Odd> DS_AVX2 inline __m256 everyOther(__m256 a, __m256 b) {
  const __m256 pairs = _mm256_shuffle_ps(a, b, Odd ? 0xDD : 0x88);
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(pairs), 0xD8));
}

/// The padded copy at column stride 2: 16 input columns at a time split
/// into their even and odd lanes and stored into the two phases, column
/// blocks outside and rows inside (each block's masks worked out once).
DS_AVX2 void padStride2(const DepthwisePlan &p, const float *xc, float *scratch) {
  const int64_t r0 = std::max<int64_t>(0, p.PT), r1 = std::min(p.rows, p.H + p.PT);
  for (int64_t i0 = 0; i0 < p.W; i0 += 16) {
    const int64_t n = std::min<int64_t>(16, p.W - i0);
    const int64_t n0 = std::min<int64_t>(n, 8), n1 = n - n0;
    const PhaseRun even = phaseRun(p, i0, (n + 1) / 2), odd = phaseRun(p, i0 + 1, n / 2);
    const __m256i evenMask = firstLanes(even.count), oddMask = firstLanes(odd.count);
    const float *src = xc + (r0 - p.PT) * p.W + i0;
    float *row = scratch + r0 * 2 * p.phaseLen;
    for (int64_t r = r0; r < r1; ++r, src += p.W, row += 2 * p.phaseLen) {
      const __m256 a = loadFirst(src, n0);
      const __m256 b = n1 ? loadFirst(src + 8, n1) : _mm256_setzero_ps();
      storeLanes(row + even.offset, even.count, evenMask, everyOther<0>(a, b));
      storeLanes(row + odd.offset, odd.count, oddMask, everyOther<1>(a, b));
    }
  }
}

struct Avx2Build {
  template <int KW, int SW> static constexpr DepthwiseChannelKernel channel = fixedChannel<KW, SW>;
};
} // namespace

DepthwiseChannelKernel depthwiseChannelAvx2(const DepthwisePlan &p) {
  return fixedWindowKernel<Avx2Build>(p);
}

DepthwisePadKernel depthwisePadAvx2(const DepthwisePlan &p) {
  return p.SW == 1 ? padStride1 : p.SW == 2 ? padStride2 : nullptr;
}
#else
DepthwiseChannelKernel depthwiseChannelAvx2(const DepthwisePlan &) { return nullptr; }
DepthwisePadKernel depthwisePadAvx2(const DepthwisePlan &) { return nullptr; }
#endif

} // namespace dsrt::cpu
