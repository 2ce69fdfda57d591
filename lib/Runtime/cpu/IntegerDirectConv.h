//===- IntegerDirectConv.h - 8-bit convolution on VNNI, no im2col -*- C++ -*-===//
#ifndef DS_RUNTIME_CPU_INTEGERDIRECTCONV_H
#define DS_RUNTIME_CPU_INTEGERDIRECTCONV_H

#include "cpu/KernelUtils.h"
#include "cpu/StoreEpilogue.h"
#include "cpu/Window.h"

#include <cstdint>
#include <memory>

namespace dsrt::cpu {

/// One group's s8 convolution weights (M x Cg x KH x KW) packed for
/// vpdpbusd: panels of kRows output channels; in a panel, for each step
/// k4 = (c4, kh, kw) in that order, kRows 32-bit words, word r holding the
/// weights of channels 4 c4 .. 4 c4 + 3 of row r at tap (kh, kw) (channels
/// past Cg and rows past M: 0). rowSums[m] is the sum of row m's weights,
/// which takes the input's zero point out: sum (x - zx) w = sum x w - zx sum w.
struct PackedInt8Conv {
  static constexpr int64_t kRows = 6;
  int64_t M = 0, Cg = 0, taps = 0;
  std::unique_ptr<int32_t[]> words;
  std::unique_ptr<int32_t[]> rowSums;
  int64_t channelWords() const { return (Cg + 3) / 4; }
  int64_t steps() const { return channelWords() * taps; }
  int64_t panels() const { return (M + kRows - 1) / kRows; }
  const int32_t *panel(int64_t p) const { return words.get() + p * steps() * kRows; }
};

/// Packs the M x (Cg * taps) s8 weights at `w`; false when out of memory.
bool packInt8ConvWeights(const int8_t *w, int64_t M, int64_t Cg, int64_t taps,
                         PackedInt8Conv &out);

/// y = sum (x - zx) * w in i32 (ONNX ConvInteger with no weight zero point)
/// for a 2-D NCHW convolution of u8 or s8 (`xSigned`) data whose s8 weights
/// were packed when the session started (ctx.packed), without im2col: the
/// input is copied once, padded with its zero point and split by stride
/// phase, four channels to a 32-bit word (cpu/DirectConvPlan.h), and 6 x 64
/// tiles of the result accumulate one vpdpbusd per four channels. Exact
/// (the same i32 sums as the reference loops). With an `epilogue`, y is
/// not written: each tile's sums go through it instead. The padded copies
/// of as many images as `scratchWords` 32-bit words hold (at least one)
/// are made before their products run, in scratch the calling thread keeps. False, before writing
/// anything, when the CPU lacks VNNI (integerVnniKernelsAvailable()), the
/// weights are not packed or the geometry does not suit; the caller's
/// im2col path then runs.
bool runIntegerDirectConv2D(KernelContext &ctx, const void *x, bool xSigned, int zx,
                            const int8_t *wt, int32_t *y, int64_t N, int64_t C, int64_t M,
                            int64_t group, const Window &w,
                            const StoreEpilogue *epilogue = nullptr,
                            int64_t scratchWords = int64_t(1) << 21);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_INTEGERDIRECTCONV_H
