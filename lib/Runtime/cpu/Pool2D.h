//===- Pool2D.h - 2-D max and average pooling -------------------*- C++ -*-===//
#ifndef DS_RUNTIME_CPU_POOL2D_H
#define DS_RUNTIME_CPU_POOL2D_H

#include "cpu/KernelUtils.h"
#include "cpu/Window.h"

namespace dsrt::cpu {

/// Max (kind 0) or average (kind 1) pooling over `planes` planes of a 2-D
/// input without dilation, T = float or double (or, for max only, u8 / i8
/// bytes: QDQ models' max pools run on the integers): direct window loops, one
/// output row at a time. False for other cases (the caller's generic loop
/// decodes every index). Max propagates NaN (as a quiet NaN) and gives the
/// lowest finite value (an integer type's lowest) for a window wholly in
/// the padding (as the generic loop does), -inf for a window of -inf, and either zero for a window
/// whose max is +0 and -0; average sums each
/// window in row-major order and divides by its count (padding included
/// when `includePad`).
template <typename T>
bool runPool2D(KernelContext &ctx, const T *x, T *y, int64_t planes, const Window &w, int kind,
               bool includePad);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_POOL2D_H
