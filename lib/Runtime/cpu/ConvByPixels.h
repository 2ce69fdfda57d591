//===- ConvByPixels.h - convolutions on small maps, pixels as rows -*- C++ -*-===//
//
// A convolution is the GEMM W [M][K] x X [K][P] over its K = C x taps
// window values and P output pixels. The packed-left paths make the pixels
// the columns, computed in whole vectors: on ResNet-50's 7 x 7 maps 64
// columns for 49. Here the pixels are the rows instead, (X^T W^T)^T, with
// the weights packed transposed when the session starts, and each block of
// results stored transposed into the NCHW output with the bias.
//
// Two builds, chosen per CPU (VectorIsa; tests run both where they can):
// - AVX-512: 1 x 1 convolutions without padding on maps of at most 196
//   pixels whose count is not a multiple of 32; X read in place by columns
//   (packedGemmTransposed). Measured on a Zen 5 core (twenty-fifth session).
// - AVX2: any 2-D window of one group (and unpadded windows of any rank;
//   the session packs weights for 2-D convolutions only) on maps of at most
//   196 pixels that Winograd does not take: the
//   window values are first copied into row panels of the micro-kernel's
//   height (panelGemmTransposed), a strided or padded window through a
//   per-pixel table. Read in place, each k of a 6-pixel tile was a cache
//   line of its own from L2 (ResNet-50's 7 x 7 pointwise convolutions at
//   about half the core's FMA peak); docs/runtime.md has the measurements.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_CONVBYPIXELS_H
#define DS_RUNTIME_CPU_CONVBYPIXELS_H

#include "cpu/KernelUtils.h"
#include "cpu/VectorIsa.h"
#include "cpu/Window.h"

namespace dsrt::cpu {

/// The build this CPU runs: AVX-512's where it has AVX-512, else AVX2's
/// (also on CPUs with neither: the packed GEMM then declines).
VectorIsa convByPixelsIsa();

/// Whether a convolution of this geometry runs by pixels in `isa`'s build
/// (so its weights are packed for it, transposed as a K x M matrix, rather
/// than for the packed-left or Winograd paths). Packed GEMMs must be
/// available.
bool convByPixels(const Window &w, int64_t C, int64_t M, int64_t group,
                  VectorIsa isa = convByPixelsIsa());

/// y = conv(x, wt) + bias on the transposed weights of `wt` found in
/// ctx.packed, in `isa`'s build; false, before writing anything, when they
/// are not there or the geometry does not suit (another path then runs).
/// Each output is one fma chain over (c, kh, kw) in order, padding taps
/// included, plus its bias, as on the other packed paths.
bool runConvByPixels(KernelContext &ctx, const float *x, const float *wt, const float *bias,
                     float *y, int64_t N, int64_t C, int64_t M, int64_t group, const Window &w,
                     VectorIsa isa = convByPixelsIsa());

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_CONVBYPIXELS_H
