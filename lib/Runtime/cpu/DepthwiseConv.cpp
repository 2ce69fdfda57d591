//===- DepthwiseConv.cpp - direct depthwise 2-D convolution ---------------===//
//
// Each channel is copied into a zero-padded scratch whose columns are split
// by phase (padded column c lands in phase c % stride, at c / stride). Every
// tap then reads one contiguous run of the scratch for a run of outputs,
// whatever the stride, and no inner loop tests the borders: the loops
// vectorize (AVX-512 / AVX2 clones, cpu/Multiversion.h), and float's have
// hand-vectorized builds for the common windows (DepthwiseKernels.h).
//
//===----------------------------------------------------------------------===//
#include "cpu/DepthwiseConv.h"
#include "cpu/DepthwiseKernels.h"
#include "cpu/Multiversion.h"

#include <algorithm>
#include <vector>

namespace dsrt::cpu {
namespace {

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

/// The loops of one convolution: the hand-vectorized build of `isa` where
/// it has one for the plan and this CPU runs it, else the generic clones.
template <typename T> struct DepthwiseLoops {
  void (*pad)(const DepthwisePlan &, const T *, T *);
  void (*channel)(const DepthwisePlan &, const T *, const T *, T, T *);
};
DepthwiseLoops<double> loopsFor(const DepthwisePlan &, const double *, VectorIsa) {
  return {padChannel, depthwiseChannel};
}
DepthwiseLoops<float> loopsFor(const DepthwisePlan &p, const float *, VectorIsa isa) {
  DepthwiseLoops<float> loops{nullptr, nullptr};
  if (vectorIsaRuns(isa) && isa == VectorIsa::Avx512)
    loops = {depthwisePadAvx512(p), depthwiseChannelAvx512(p)};
  else if (vectorIsaRuns(isa) && isa == VectorIsa::Avx2)
    loops = {depthwisePadAvx2(p), depthwiseChannelAvx2(p)};
  if (!loops.pad)
    loops.pad = padChannel;
  if (!loops.channel)
    loops.channel = depthwiseChannel;
  return loops;
}

} // namespace

template <typename T>
bool runDepthwise2D(KernelContext &ctx, const T *x, const T *wt, const T *bias, T *y, int64_t N,
                    int64_t C, int64_t M, int64_t group, const Window &w, VectorIsa isa) {
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
  const DepthwiseLoops<T> loops = loopsFor(p, x, isa);
  parallel(ctx, N * C, 1, [&](int64_t begin, int64_t end) {
    // Per thread and kept across calls: zeroed once per geometry, after
    // which each channel only copies its rows in (the fill was a third of
    // the kernel's time on the MobileNet).
    thread_local std::vector<T> scratch;
    thread_local DepthwisePlan zeroedFor{};
    const size_t elems = (size_t)(p.scratchElems() + kDepthwiseScratchSlack);
    if (scratch.size() != elems || !samePadding(zeroedFor, p)) {
      scratch.assign(elems, T(0));
      zeroedFor = p;
    }
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / C, c = t % C;
      loops.pad(p, x + t * p.H * p.W, scratch.data());
      for (int64_t j = 0; j < mult; ++j) {
        const int64_t m = c * mult + j;
        loops.channel(p, scratch.data(), wt + m * p.KH * p.KW, bias ? bias[m] : T(0),
                      y + (n * M + m) * p.OH * p.OW);
      }
    }
  });
  return true;
}

template bool runDepthwise2D<float>(KernelContext &, const float *, const float *, const float *,
                                    float *, int64_t, int64_t, int64_t, int64_t, const Window &,
                                    VectorIsa);
template bool runDepthwise2D<double>(KernelContext &, const double *, const double *,
                                     const double *, double *, int64_t, int64_t, int64_t, int64_t,
                                     const Window &, VectorIsa);

} // namespace dsrt::cpu
