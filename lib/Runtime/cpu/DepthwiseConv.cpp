//===- DepthwiseConv.cpp - direct depthwise 2-D convolution ---------------===//
//
// Each channel is copied into a zero-padded scratch whose columns are split
// by phase (padded column c lands in phase c % stride, at c / stride). Every
// tap then reads one contiguous run of the scratch for a run of outputs,
// whatever the stride, and no inner loop tests the borders: the loops
// vectorize (AVX-512 / AVX2 clones, cpu/Multiversion.h).
//
//===----------------------------------------------------------------------===//
#include "cpu/DepthwiseConv.h"
#include "cpu/Multiversion.h"

#include <algorithm>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace dsrt::cpu {
namespace {

struct DepthwisePlan {
  int64_t H, W, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL;
  int64_t rows = 0;     ///< padded rows the taps reach
  int64_t phaseLen = 0; ///< scratch columns per phase
  int64_t scratchElems() const { return rows * SW * phaseLen; }
};

/// Whether scratch padded for plan `a` has its zeros where `b` wants them
/// (every copy writes the same positions, so they stay zero).
bool samePadding(const DepthwisePlan &a, const DepthwisePlan &b) {
  return a.H == b.H && a.W == b.W && a.PT == b.PT && a.PL == b.PL && a.SW == b.SW &&
         a.rows == b.rows && a.phaseLen == b.phaseLen;
}

/// The padded, phase-split copy of one channel `xc` [H][W] into scratch
/// whose padding is already zero: only the input's positions are written.
template <typename T>
DS_INLINE void padChannelBody(const DepthwisePlan &p, const T *xc, T *scratch) {
  for (int64_t r = 0; r < p.rows; ++r) {
    int64_t ih = r - p.PT;
    if (ih < 0 || ih >= p.H)
      continue;
    const T *src = xc + ih * p.W;
    for (int64_t phase = 0; phase < p.SW; ++phase) {
      // Scratch column j of this phase is padded column j * SW + phase,
      // input column j * SW + phase - PL.
      int64_t lo = std::max<int64_t>(0, ceilDivSigned(p.PL - phase, p.SW));
      int64_t hi = std::min(p.phaseLen, ceilDivSigned(p.W + p.PL - phase, p.SW));
      T *dst = scratch + (r * p.SW + phase) * p.phaseLen;
      const T *s = src + phase - p.PL;
      if (p.SW == 1) {
        std::copy(s + lo, s + hi, dst + lo);
      } else if (p.SW == 2) { // a constant stride: the loop vectorizes with shuffles
        for (int64_t j = lo; j < hi; ++j)
          dst[j] = s[j * 2];
      } else {
        for (int64_t j = lo; j < hi; ++j)
          dst[j] = s[j * p.SW];
      }
    }
  }
}

/// One output channel from its padded input channel: taps accumulated into
/// blocks of outputs held in registers.
template <typename T>
DS_INLINE void channelBody(const DepthwisePlan &p, const T *__restrict scratch,
                           const T *__restrict k, T b0, T *__restrict yc) {
  constexpr int64_t kBlock = 64;
  for (int64_t oh = 0; oh < p.OH; ++oh) {
    T *yrow = yc + oh * p.OW;
    for (int64_t o0 = 0; o0 < p.OW; o0 += kBlock) {
      const int64_t n = std::min(kBlock, p.OW - o0);
      T acc[kBlock];
      for (int64_t i = 0; i < kBlock; ++i)
        acc[i] = b0;
      for (int64_t kh = 0; kh < p.KH; ++kh) {
        const T *row = scratch + (oh * p.SH + kh * p.DH) * p.SW * p.phaseLen;
        for (int64_t kw = 0; kw < p.KW; ++kw) {
          const int64_t c = kw * p.DW;
          const T *src = row + (c % p.SW) * p.phaseLen + c / p.SW + o0;
          const T kv = k[kh * p.KW + kw];
          if (n == kBlock) { // the full block: a fixed trip count
            for (int64_t i = 0; i < kBlock; ++i)
              acc[i] += kv * src[i];
          } else {
            for (int64_t i = 0; i < n; ++i)
              acc[i] += kv * src[i];
          }
        }
      }
      std::copy(acc, acc + n, yrow + o0);
    }
  }
}

DS_VECTORIZED void padChannel(const DepthwisePlan &p, const float *xc, float *scratch) {
  padChannelBody(p, xc, scratch);
}
DS_VECTORIZED void padChannel(const DepthwisePlan &p, const double *xc, double *scratch) {
  padChannelBody(p, xc, scratch);
}
DS_VECTORIZED void depthwiseChannel(const DepthwisePlan &p, const float *scratch, const float *k,
                                    float b0, float *yc) {
  channelBody(p, scratch, k, b0, yc);
}
DS_VECTORIZED void depthwiseChannel(const DepthwisePlan &p, const double *scratch, const double *k,
                                    double b0, double *yc) {
  channelBody(p, scratch, k, b0, yc);
}

#if defined(__x86_64__)
/// channelBody for float in AVX-512 registers: up to four vectors of
/// outputs of up to four rows held across all taps (the clone of the
/// generic loop spilled its block to memory on every tap; one row's 9-tap
/// chains alone waited on the adder's latency), the row's tail by masks.
/// The same multiply, then add, in the same tap order: equal results bit
/// for bit.
__attribute__((target("avx512f"))) void depthwiseChannelAvx512(const DepthwisePlan &p,
                                                               const float *scratch, const float *k,
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
#endif

#if defined(__x86_64__)
/// One column block (V vectors of 16 outputs, the last one under `last`)
/// of every output row, for a KW-wide window at column stride SW and
/// column dilation 1: the accumulators, the rows of a row block and each
/// tap's phase and offset are constants, so the block stays in registers
/// (the runtime-shaped kernel above spilled it on every tap and divided to
/// find each tap's phase). More rows per block when rows are short, so
/// that enough independent sums hide the adder's latency. The same
/// multiply, then add, in the same tap order as the other kernels.
template <int KW, int SW, int V>
__attribute__((target("avx512f"))) void depthwiseColumnsAvx512(const DepthwisePlan &p,
                                                               const float *scratch,
                                                               const float *k, float b0,
                                                               float *yc, int64_t o0,
                                                               __mmask16 last) {
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
            const __m512 x = v + 1 < V ? _mm512_loadu_ps(s + 16 * v)
                                       : _mm512_maskz_loadu_ps(last, s + 16 * v);
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

/// depthwiseChannelAvx512 for a KW-wide window at column stride SW and
/// column dilation 1: column blocks of up to 64 outputs.
template <int KW, int SW>
__attribute__((target("avx512f"))) void depthwiseChannelFixedAvx512(const DepthwisePlan &p,
                                                                    const float *scratch,
                                                                    const float *k, float b0,
                                                                    float *yc) {
  for (int64_t o0 = 0; o0 < p.OW; o0 += 64) {
    const int64_t n = std::min<int64_t>(64, p.OW - o0);
    const __mmask16 last = (__mmask16)(n % 16 ? (1u << (n % 16)) - 1 : 0xFFFF);
    switch ((n + 15) / 16) {
    case 1:
      depthwiseColumnsAvx512<KW, SW, 1>(p, scratch, k, b0, yc, o0, last);
      break;
    case 2:
      depthwiseColumnsAvx512<KW, SW, 2>(p, scratch, k, b0, yc, o0, last);
      break;
    case 3:
      depthwiseColumnsAvx512<KW, SW, 3>(p, scratch, k, b0, yc, o0, last);
      break;
    default:
      depthwiseColumnsAvx512<KW, SW, 4>(p, scratch, k, b0, yc, o0, last);
      break;
    }
  }
}

/// The kernel for a plan's window (3 or 5 taps wide, column stride 1 or 2,
/// no column dilation: MobileNet's), null for the runtime-shaped one.
using ChannelKernel = void (*)(const DepthwisePlan &, const float *, const float *, float,
                               float *);
ChannelKernel fixedChannelKernel(const DepthwisePlan &p) {
  if (p.DW != 1)
    return nullptr;
  if (p.KW == 3 && p.SW == 1)
    return depthwiseChannelFixedAvx512<3, 1>;
  if (p.KW == 3 && p.SW == 2)
    return depthwiseChannelFixedAvx512<3, 2>;
  if (p.KW == 5 && p.SW == 1)
    return depthwiseChannelFixedAvx512<5, 1>;
  if (p.KW == 5 && p.SW == 2)
    return depthwiseChannelFixedAvx512<5, 2>;
  return nullptr;
}
#endif

#if defined(__x86_64__)
/// padChannel for float at column stride 1 in AVX-512 registers: each row
/// is a few vectors (the generic copy called memmove per row, which cost
/// more than the copy on 32-wide maps).
__attribute__((target("avx512f"))) void padChannelStride1Avx512(const DepthwisePlan &p,
                                                                const float *xc, float *scratch) {
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

/// Where lanes [0, count) of a vector of input columns first, first + 2,
/// ... go: column i to phase (i + PL) % 2 at (i + PL) / 2; positions at or
/// past phaseLen (past the taps' reach) are masked off.
struct PhaseStore {
  int64_t offset; ///< from the padded row's start
  __mmask16 mask;
};
PhaseStore phaseStore(const DepthwisePlan &p, int64_t first, int64_t count) {
  const int64_t phase = (first + p.PL) & 1, at = (first + p.PL) >> 1;
  const int64_t n = std::max<int64_t>(0, std::min<int64_t>(count, p.phaseLen - at));
  if (n == 0)
    return {0, 0};
  return {phase * p.phaseLen + at, (__mmask16)((1u << n) - 1)};
}

/// The same at column stride 2: 32 input columns at a time split into their
/// even and odd lanes (one permute each) and stored into the two phases.
/// Column blocks outside, rows inside: each block's masks and offsets are
/// worked out once per channel, not once per row (that bookkeeping was
/// most of the copy on 32-wide maps).
__attribute__((target("avx512f"))) void padChannelStride2Avx512(const DepthwisePlan &p,
                                                                const float *xc, float *scratch) {
  const __m512i evens =
      _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odds = _mm512_add_epi32(evens, _mm512_set1_epi32(1));
  const int64_t r0 = std::max<int64_t>(0, p.PT), r1 = std::min(p.rows, p.H + p.PT);
  for (int64_t i0 = 0; i0 < p.W; i0 += 32) {
    const int64_t n = std::min<int64_t>(32, p.W - i0);
    const __mmask16 m0 = (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1);
    const __mmask16 m1 = (__mmask16)(n > 16 ? (1u << (n - 16)) - 1 : 0);
    const PhaseStore even = phaseStore(p, i0, (n + 1) / 2), odd = phaseStore(p, i0 + 1, n / 2);
    const float *src = xc + (r0 - p.PT) * p.W + i0;
    float *row = scratch + r0 * 2 * p.phaseLen;
    for (int64_t r = r0; r < r1; ++r, src += p.W, row += 2 * p.phaseLen) {
      const __m512 a = _mm512_maskz_loadu_ps(m0, src);
      const __m512 b = _mm512_maskz_loadu_ps(m1, src + 16);
      _mm512_mask_storeu_ps(row + even.offset, even.mask, _mm512_permutex2var_ps(a, evens, b));
      _mm512_mask_storeu_ps(row + odd.offset, odd.mask, _mm512_permutex2var_ps(a, odds, b));
    }
  }
}
#endif

/// The padded copy for this CPU (decided once).
void padChannelBest(const DepthwisePlan &p, const float *xc, float *scratch) {
#if defined(__x86_64__)
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (avx512 && p.SW == 1)
    return padChannelStride1Avx512(p, xc, scratch);
  if (avx512 && p.SW == 2)
    return padChannelStride2Avx512(p, xc, scratch);
#endif
  padChannel(p, xc, scratch);
}
void padChannelBest(const DepthwisePlan &p, const double *xc, double *scratch) {
  padChannel(p, xc, scratch);
}

/// The float kernel for this CPU (decided once).
void depthwiseChannelBest(const DepthwisePlan &p, const float *scratch, const float *k, float b0,
                          float *yc) {
#if defined(__x86_64__)
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (avx512) {
    if (ChannelKernel fixed = fixedChannelKernel(p))
      return fixed(p, scratch, k, b0, yc);
    return depthwiseChannelAvx512(p, scratch, k, b0, yc);
  }
#endif
  depthwiseChannel(p, scratch, k, b0, yc);
}
void depthwiseChannelBest(const DepthwisePlan &p, const double *scratch, const double *k, double b0,
                          double *yc) {
  depthwiseChannel(p, scratch, k, b0, yc);
}

} // namespace

template <typename T>
bool runDepthwise2D(KernelContext &ctx, const T *x, const T *wt, const T *bias, T *y, int64_t N,
                    int64_t C, int64_t M, int64_t group, const Window &w) {
  if (w.spatial != 2 || group != C || M % C != 0)
    return false;
  DepthwisePlan p{w.in[0],        w.in[1],        w.out[0],      w.out[1],
                  w.kernel[0],    w.kernel[1],    w.strides[0],  w.strides[1],
                  w.dilations[0], w.dilations[1], w.padBegin[0], w.padBegin[1]};
  if (N == 0 || M == 0 || p.OH <= 0 || p.OW <= 0)
    return true;
  // Padded rows and columns the taps reach (through the last tap of the
  // last output: blocks read whole runs), in checked arithmetic: strides,
  // pads and dilations come from the artifact unbounded.
  auto extent = [](int64_t outputs, int64_t stride, int64_t taps, int64_t dilation, int64_t &out) {
    int64_t reach;
    return !__builtin_mul_overflow(outputs - 1, stride, &out) &&
           !__builtin_mul_overflow(taps - 1, dilation, &reach) &&
           !__builtin_add_overflow(out, reach, &out) && !__builtin_add_overflow(out, 1, &out);
  };
  int64_t cols, elems;
  if (!extent(p.OH, p.SH, p.KH, p.DH, p.rows) || !extent(p.OW, p.SW, p.KW, p.DW, cols))
    return false;
  p.phaseLen = ceilDivSigned(cols, p.SW);
  if (__builtin_mul_overflow(p.rows, p.SW, &elems) ||
      __builtin_mul_overflow(elems, p.phaseLen, &elems) ||
      elems / 4 > p.H * p.W + p.OH * p.OW + 1024)
    return false;
  const int64_t mult = M / C; // output channels per input channel
  parallel(ctx, N * C, 1, [&](int64_t begin, int64_t end) {
    // Per thread and kept across calls: zeroed once per geometry, after
    // which each channel only copies its rows in (the fill was a third of
    // the kernel's time on the MobileNet).
    thread_local std::vector<T> scratch;
    thread_local DepthwisePlan zeroedFor{};
    if (scratch.size() != (size_t)p.scratchElems() || !samePadding(zeroedFor, p)) {
      scratch.assign((size_t)p.scratchElems(), T(0));
      zeroedFor = p;
    }
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / C, c = t % C;
      padChannelBest(p, x + t * p.H * p.W, scratch.data());
      for (int64_t j = 0; j < mult; ++j) {
        const int64_t m = c * mult + j;
        depthwiseChannelBest(p, scratch.data(), wt + m * p.KH * p.KW, bias ? bias[m] : T(0),
                             y + (n * M + m) * p.OH * p.OW);
      }
    }
  });
  return true;
}

template bool runDepthwise2D<float>(KernelContext &, const float *, const float *, const float *,
                                    float *, int64_t, int64_t, int64_t, int64_t, const Window &);
template bool runDepthwise2D<double>(KernelContext &, const double *, const double *,
                                     const double *, double *, int64_t, int64_t, int64_t, int64_t,
                                     const Window &);

} // namespace dsrt::cpu
