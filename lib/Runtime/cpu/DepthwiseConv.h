//===- DepthwiseConv.h - direct depthwise 2-D convolution -------*- C++ -*-===//
#ifndef DS_RUNTIME_CPU_DEPTHWISECONV_H
#define DS_RUNTIME_CPU_DEPTHWISECONV_H

#include "cpu/KernelUtils.h"
#include "cpu/VectorIsa.h"
#include "cpu/Window.h"

namespace dsrt::cpu {

/// y = conv(x, wt) + bias for a 2-D convolution with one input channel per
/// group (any channel multiplier M / C), NCHW, T = float or double. Direct
/// loops instead of im2col + a one-row GEMM per group. False when the
/// convolution is not depthwise 2-D, or when its padded scratch would be far
/// larger than its tensors (huge pads with huge strides); the caller's
/// general path then runs. Float runs `isa`'s hand-vectorized loops where
/// they exist and the CPU has them (tests pick each build), else the
/// generic ones; every build gives the same results bit for bit.
template <typename T>
bool runDepthwise2D(KernelContext &ctx, const T *x, const T *wt, const T *bias, T *y, int64_t N,
                    int64_t C, int64_t M, int64_t group, const Window &w,
                    VectorIsa isa = widestVectorIsa());

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_DEPTHWISECONV_H
