//===- DirectConv.h - 2-D convolution on packed weights, no im2col -*- C++ -*-===//
#ifndef DS_RUNTIME_CPU_DIRECTCONV_H
#define DS_RUNTIME_CPU_DIRECTCONV_H

#include "cpu/KernelUtils.h"
#include "cpu/Window.h"

namespace dsrt::cpu {

/// y = conv(x, wt) + bias for a 2-D f32 convolution (NCHW) whose weights
/// were packed when the session started (ctx.packed), without im2col: the
/// packed-weight micro-kernels read each window in place from a padded,
/// stride-phase-split copy of the input. Results equal the im2col path on
/// the same packed weights bit for bit (one fma chain per output; products
/// under 2^16 multiply-adds that the im2col path gave to the library GEMM
/// now take this one too). False, before writing anything,
/// when the weights are not packed or the geometry does not suit (not 2-D,
/// a scratch far larger than the tensors, or over a third of the computed
/// columns wasted on the padding); the caller's im2col path then runs.
bool runDirectConv2D(KernelContext &ctx, const float *x, const float *wt, const float *bias,
                     float *y, int64_t N, int64_t C, int64_t M, int64_t group, const Window &w);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_DIRECTCONV_H
