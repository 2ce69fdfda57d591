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

/// The padded, phase-split copy of one channel `xc` [H][W].
template <typename T>
DS_INLINE void padChannelBody(const DepthwisePlan &p, const T *xc, T *scratch) {
  std::fill(scratch, scratch + p.scratchElems(), T(0));
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
/// outputs held across all taps (the clone of the generic loop spilled its
/// block to memory on every tap), the row's tail by masks. The same
/// multiply, then add, in the same tap order: equal results bit for bit.
__attribute__((target("avx512f"))) void depthwiseChannelAvx512(const DepthwisePlan &p,
                                                               const float *scratch, const float *k,
                                                               float b0, float *yc) {
  constexpr int64_t kVectors = 4, kBlock = 16 * kVectors;
  for (int64_t oh = 0; oh < p.OH; ++oh) {
    float *yrow = yc + oh * p.OW;
    for (int64_t o0 = 0; o0 < p.OW; o0 += kBlock) {
      const int64_t n = std::min(kBlock, p.OW - o0);
      const int64_t full = n / 16, tail = n % 16;
      const __mmask16 mask = (__mmask16)((1u << tail) - 1);
      __m512 acc[kVectors];
      for (int64_t v = 0; v < kVectors; ++v)
        acc[v] = _mm512_set1_ps(b0);
      for (int64_t kh = 0; kh < p.KH; ++kh) {
        const float *row = scratch + (oh * p.SH + kh * p.DH) * p.SW * p.phaseLen;
        for (int64_t kw = 0; kw < p.KW; ++kw) {
          const int64_t c = kw * p.DW;
          const float *src = row + (c % p.SW) * p.phaseLen + c / p.SW + o0;
          const __m512 kv = _mm512_set1_ps(k[kh * p.KW + kw]);
          for (int64_t v = 0; v < kVectors; ++v) {
            if (v < full)
              acc[v] = _mm512_add_ps(acc[v], _mm512_mul_ps(kv, _mm512_loadu_ps(src + 16 * v)));
            else if (v == full && tail)
              acc[v] = _mm512_add_ps(acc[v],
                                     _mm512_mul_ps(kv, _mm512_maskz_loadu_ps(mask, src + 16 * v)));
          }
        }
      }
      for (int64_t v = 0; v < full; ++v)
        _mm512_storeu_ps(yrow + o0 + 16 * v, acc[v]);
      if (tail)
        _mm512_mask_storeu_ps(yrow + o0 + 16 * full, mask, acc[full < kVectors ? full : 0]);
    }
  }
}
#endif

/// The float kernel for this CPU (decided once).
void depthwiseChannelBest(const DepthwisePlan &p, const float *scratch, const float *k, float b0,
                          float *yc) {
#if defined(__x86_64__)
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (avx512)
    return depthwiseChannelAvx512(p, scratch, k, b0, yc);
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
    std::vector<T> scratch((size_t)p.scratchElems());
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / C, c = t % C;
      padChannel(p, x + t * p.H * p.W, scratch.data());
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
