//===- WinogradConv.h - 3x3 convolutions in the Winograd domain -*- C++ -*-===//
//
// F(4x4, 3x3) (Lavin and Gray, 2015): a 4 x 4 block of outputs of a 3 x 3,
// stride-1 convolution is A^T [(G g G^T) . (B^T d B)] A over the 6 x 6
// input patch d under it, so the block costs 36 multiplies per channel
// pair instead of 144. Over all blocks ("tiles") this is 36 independent
// GEMMs, tiles x C times C x M, one per point of the 6 x 6 transform, on
// weights transformed and packed once when the session starts (36/9 of
// the weights' size). Small maps take F(2x2, 3x3): 16 points, 16
// multiplies per 4 outputs, weights 16/9 of their size.
//
// The price is rounding: in F(4x4) each transformed input is a sum of up
// to 16 patch values with coefficients up to 25 (their magnitudes summing
// to as much as 100), each output a sum of up to 36 products with
// coefficients up to 64 (magnitudes summing to 361), so results differ from the direct
// convolution's in the last bits (docs/runtime.md has the measured
// differences). And non-finite or huge values spread: an infinity in the
// input makes NaN in outputs whose windows do not hold it (inf - inf in
// the transform), and finite inputs beyond about 3e36 can overflow there;
// ONNX's direct sum keeps them to their own windows.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_WINOGRADCONV_H
#define DS_RUNTIME_CPU_WINOGRADCONV_H

#include "cpu/KernelUtils.h"
#include "cpu/PackedGemm.h"
#include "cpu/VectorIsa.h"
#include "cpu/Window.h"

namespace dsrt::cpu {

/// The widest build of the transforms this CPU runs (None: no Winograd
/// path here; it also needs the packed GEMM).
VectorIsa winogradIsa();

/// The variant a convolution of this geometry runs in (so its weights are
/// packed for it rather than for the direct path): 4 for F(4x4, 3x3), 2
/// for F(2x2, 3x3) on small maps, 0 for none. Needs 2-D, 3 x 3, stride 1,
/// dilation 1, one group, channel counts that are multiples of 16 (the
/// transforms run on 16 channels at once), enough tiles to amortize the
/// larger weights, and AVX-512 or AVX2 + FMA.
int64_t winogradTileSize(const Window &w, int64_t C, int64_t M, int64_t group);

/// The (n + 2)^2 C x M matrices G g G^T of M x C x 3 x 3 weights for
/// variant n (computed in double, rounded once), packed; false when out of
/// memory or for a variant or M that winogradTileSize never gives.
bool transformWinogradWeights(const float *wt, int64_t M, int64_t C, int64_t n, PackedSet &out);

/// y = conv(x, wt) + bias on the transformed weights of `wt` found in
/// ctx.packed; false, before writing anything, when they are not there or
/// the geometry does not suit (the direct path then runs). The transforms
/// run in `isa`'s build (false if this CPU lacks it).
bool runWinogradConv(KernelContext &ctx, const float *x, const float *wt, const float *bias,
                     float *y, int64_t N, int64_t C, int64_t M, int64_t group, const Window &w,
                     VectorIsa isa = winogradIsa());

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_WINOGRADCONV_H
