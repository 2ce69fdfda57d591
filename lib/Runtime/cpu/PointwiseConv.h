//===- PointwiseConv.h - 1 x 1 convolutions on small maps -------*- C++ -*-===//
//
// A 1 x 1 convolution is the GEMM W [M][C] x X [C][HW]. The packed-left
// path makes the HW pixels its columns, computed in whole vectors of 32:
// on ResNet-50's 7 x 7 maps 64 columns for 49. Here the pixels are the
// rows instead, (X^T W^T)^T: X read in place by columns, the weights
// packed transposed when the session starts, tiles of 12 pixels and a
// short last one, each tile stored transposed into the NCHW output with
// the bias.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_POINTWISECONV_H
#define DS_RUNTIME_CPU_POINTWISECONV_H

#include "cpu/KernelUtils.h"
#include "cpu/Window.h"

namespace dsrt::cpu {

/// Whether a convolution of this geometry runs by pixels (so its weights
/// are packed for it, transposed, rather than for the packed-left path):
/// 1 x 1 taps, no padding, one group, an output map of at most 196 pixels
/// whose count is not a multiple of 32, packed GEMMs available. A stride
/// (ResNet's downsampling) gathers the pixels it reads first.
bool pointwiseByPixels(const Window &w, int64_t C, int64_t M, int64_t group);

/// y = conv(x, wt) + bias on the transposed weights of `wt` found in
/// ctx.packed; false, before writing anything, when they are not there or
/// the geometry does not suit (another path then runs).
bool runPointwiseByPixels(KernelContext &ctx, const float *x, const float *wt, const float *bias,
                          float *y, int64_t N, int64_t C, int64_t M, int64_t group,
                          const Window &w);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_POINTWISECONV_H
