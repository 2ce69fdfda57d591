//===- Bf16DirectConv.h - bf16 convolution on AVX512-BF16, no im2col -*- C++ -*-===//
//
// ds-assign-precision's bf16 convolutions ran as im2col and oneDNN's bf16
// GEMM, which packs both operands on every call: a bf16 ResNet-18 took
// longer than the f32 one. Here, as in the 8-bit direct convolution
// (cpu/IntegerDirectConv.h), the weights are packed once at load and the
// input is copied once, padded and split by stride phase
// (cpu/DirectConvPlan.h), two channels to a 32-bit word: one vdpbf16ps
// advances 16 output columns by two channels.
//
// Each result is the f32 sum vdpbf16ps forms (products of bf16 values exact
// in f32, added pair by pair in (channel pair, kh, kw) order, denormals
// flushed) plus the bias, rounded to bf16 once as floatToBf16 does: the same
// value on every thread count, not bit for bit oneDNN's.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_BF16DIRECTCONV_H
#define DS_RUNTIME_CPU_BF16DIRECTCONV_H

#include "cpu/KernelUtils.h"
#include "cpu/Window.h"

#include <cstdint>
#include <memory>

namespace dsrt::cpu {

/// One group's bf16 convolution weights (M x Cg x KH x KW, raw bits) packed
/// for vdpbf16ps: panels of kRows output channels; in a panel, for each
/// step k2 = (c2, kh, kw) in that order, kRows words, word r holding row r's
/// weights of channels 2 c2 (low half) and 2 c2 + 1 at tap (kh, kw)
/// (channels past Cg and rows past M: 0).
struct PackedBf16Conv {
  static constexpr int64_t kRows = 6;
  int64_t M = 0, Cg = 0, taps = 0;
  std::unique_ptr<uint32_t[]> words;
  int64_t channelWords() const { return (Cg + 1) / 2; }
  int64_t steps() const { return channelWords() * taps; }
  int64_t panels() const { return (M + kRows - 1) / kRows; }
  const uint32_t *panel(int64_t p) const { return words.get() + p * steps() * kRows; }
};

/// Packs the M x (Cg * taps) bf16 weights at `w`; false when out of memory.
bool packBf16ConvWeights(const uint16_t *w, int64_t M, int64_t Cg, int64_t taps,
                         PackedBf16Conv &out);

/// y = conv(x, wt) + bias for a 2-D NCHW bf16 convolution (raw bits; bias
/// optional, M values) whose weights were packed when the session started
/// (ctx.packed). The padded copies of as many (image, group) items as
/// `scratchWords` 32-bit words hold (at least one) are made before their
/// products run, in scratch the calling thread keeps. False, before
/// writing anything, without AVX512-BF16 (bf16GemmAvailable()), packed
/// weights or a geometry that suits (makeDirectConvPlan; one channel per
/// group, a depthwise convolution, would fill half of every word with
/// zeros); the caller's path then runs.
bool runBf16DirectConv2D(KernelContext &ctx, const uint16_t *x, const uint16_t *wt,
                         const uint16_t *bias, uint16_t *y, int64_t N, int64_t C, int64_t M,
                         int64_t group, const Window &w, int64_t scratchWords = int64_t(1) << 21);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_BF16DIRECTCONV_H
