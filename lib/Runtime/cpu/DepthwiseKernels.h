//===- DepthwiseKernels.h - per-ISA builds of the depthwise loops -*- C++ -*-===//
//
// DepthwiseConv.cpp's plan of one depthwise convolution and the hand-
// vectorized builds of its two loops (the padded copy of a channel, and
// one output channel from it), one file per instruction set. Every build
// multiplies, then adds, in (kh, kw) tap order from the bias, so that all
// of them give the generic loop's results bit for bit.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_DEPTHWISEKERNELS_H
#define DS_RUNTIME_CPU_DEPTHWISEKERNELS_H

#include <cstdint>

namespace dsrt::cpu {

/// One depthwise convolution's geometry and the layout of its scratch: a
/// channel copied zero-padded with its columns split by phase (padded
/// column c lands in phase c % SW, at c / SW).
struct DepthwisePlan {
  int64_t H, W, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL;
  int64_t rows = 0;     ///< padded rows the taps reach
  int64_t phaseLen = 0; ///< scratch columns per phase
  int64_t scratchElems() const { return rows * SW * phaseLen; }
};

/// Floats the scratch has past scratchElems(): vector loads and masked
/// stores of its last row may reach up to a vector past its end.
constexpr int64_t kDepthwiseScratchSlack = 16;

/// Copies channel xc [H][W] into scratch whose padding is already zero.
using DepthwisePadKernel = void (*)(const DepthwisePlan &, const float *xc, float *scratch);
/// One output channel yc [OH][OW] from its padded input channel, taps k
/// [KH][KW] and bias b0.
using DepthwiseChannelKernel = void (*)(const DepthwisePlan &, const float *scratch, const float *k,
                                        float b0, float *yc);

/// Where `count` input columns first, first + 2, ... of a row go in the
/// scratch at column stride 2: column i to phase (i + PL) % 2 at
/// (i + PL) / 2. Positions at or past phaseLen (past the taps' reach) are
/// left out: `count` is how many of them are stored (0: none, offset 0).
struct PhaseRun {
  int64_t offset; ///< from the padded row's start
  int64_t count;
};
inline PhaseRun phaseRun(const DepthwisePlan &p, int64_t first, int64_t count) {
  const int64_t phase = (first + p.PL) & 1, at = (first + p.PL) >> 1;
  const int64_t n = count < p.phaseLen - at ? count : p.phaseLen - at;
  return n > 0 ? PhaseRun{phase * p.phaseLen + at, n} : PhaseRun{0, 0};
}

/// The fixed-window channel kernel a build has for p's window (3 or 5 taps
/// wide, column stride 1 or 2, no column dilation: MobileNet's), null for
/// any other: Build::channel<KW, SW> is the build's kernel.
template <class Build> DepthwiseChannelKernel fixedWindowKernel(const DepthwisePlan &p) {
  if (p.DW != 1 || (p.KW != 3 && p.KW != 5) || (p.SW != 1 && p.SW != 2))
    return nullptr;
  if (p.KW == 3)
    return p.SW == 1 ? Build::template channel<3, 1> : Build::template channel<3, 2>;
  return p.SW == 1 ? Build::template channel<5, 1> : Build::template channel<5, 2>;
}

/// The AVX-512 builds: a channel kernel for every plan, a padded copy for
/// column strides 1 and 2 (null otherwise).
DepthwiseChannelKernel depthwiseChannelAvx512(const DepthwisePlan &p);
DepthwisePadKernel depthwisePadAvx512(const DepthwisePlan &p);
/// The AVX2 + FMA builds: a channel kernel for windows 3 or 5 taps wide
/// at column stride 1 or 2 without column dilation, a padded copy for
/// column strides 1 and 2 (null otherwise: the generic loops run).
DepthwiseChannelKernel depthwiseChannelAvx2(const DepthwisePlan &p);
DepthwisePadKernel depthwisePadAvx2(const DepthwisePlan &p);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_DEPTHWISEKERNELS_H
