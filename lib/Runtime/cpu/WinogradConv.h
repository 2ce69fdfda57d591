//===- WinogradConv.h - 3x3 convolutions in the Winograd domain -*- C++ -*-===//
//
// F(4x4, 3x3) (Lavin and Gray, 2015): a 4 x 4 block of outputs of a 3 x 3,
// stride-1 convolution is A^T [(G g G^T) . (B^T d B)] A over the 6 x 6
// input patch d under it, so the block costs 36 multiplies per channel
// pair instead of 144. Over all blocks ("tiles") this is 36 independent
// GEMMs, tiles x C times C x M, one per point of the 6 x 6 transform, on
// weights transformed and packed once when the session starts.
//
// The price is rounding: the transforms scale values by up to 8 and add
// them before and after the products, so results differ from the direct
// convolution's in the last bits (about 2e-6 relative on unit-scale data,
// against 1e-7 for a direct f32 sum); docs/runtime.md has the measured
// differences on whole models.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_WINOGRADCONV_H
#define DS_RUNTIME_CPU_WINOGRADCONV_H

#include "cpu/KernelUtils.h"
#include "cpu/PackedGemm.h"
#include "cpu/Window.h"

namespace dsrt::cpu {

/// Whether a convolution of this geometry runs in the Winograd domain (so
/// its weights are packed for it rather than for the direct path): 2-D,
/// 3 x 3, stride 1, dilation 1, one group, channel counts that are
/// multiples of 16 (the transforms run on 16 channels at once), enough
/// 4 x 4 output tiles to amortize 4x larger weights, AVX-512.
bool winogradSuits(const Window &w, int64_t C, int64_t M, int64_t group);

/// The 36 C x M matrices G g G^T of M x C x 3 x 3 weights (computed in
/// double, rounded once), packed; false when out of memory.
bool transformWinogradWeights(const float *wt, int64_t M, int64_t C, PackedSet &out);

/// y = conv(x, wt) + bias on the transformed weights of `wt` found in
/// ctx.packed; false, before writing anything, when they are not there or
/// the geometry does not suit (the direct path then runs).
bool runWinogradConv(KernelContext &ctx, const float *x, const float *wt, const float *bias,
                     float *y, int64_t N, int64_t C, int64_t M, int64_t group, const Window &w);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_WINOGRADCONV_H
