//===- IntegerConvAvx2.h - 8-bit convolutions on AVX2 without VNNI -*- C++ -*-===//
//
// ds.conv_integer on CPUs with AVX2 and no VNNI, for constant s8 weights
// without a zero point (static quantization's and onnxruntime's QDQ
// models'): the weights are widened to 16 bits once, when the session
// starts, and each run packs the input under a block of output positions
// into the 8-column panels of cpu/IntegerPackedGemm.h (from a channels-last
// copy of the input where the channels come in fours, else from im2col),
// which the AVX2 GEMM tile (cpu/IntegerPackedGemmAvx2.h) runs the weight
// rows over.
// The sums are exact (16-bit products summed in pairs into i32), and land
// in the result's [N, M, positions] layout directly.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_INTEGERCONVAVX2_H
#define DS_RUNTIME_CPU_INTEGERCONVAVX2_H

#include "core/Tensor.h"
#include "cpu/Window.h"

#include <cstdint>
#include <vector>

namespace dsrt::cpu {

/// One group's M x (Cg * taps) s8 convolution weights in 16 bits.
struct WidenedInt8Conv {
  int64_t M = 0, Cg = 0, taps = 0;
  int64_t padded = 0; ///< Cg * taps rounded up to four
  /// Cg a multiple of four: each row's k runs over taps then channels
  /// (k = tap * Cg + c), so that four k are four channels of one input
  /// pixel, read from a channels-last copy of the input. Otherwise k = c *
  /// taps + tap, im2col's order.
  bool tapsOuter = false;
  std::vector<int16_t> rows;    ///< M rows of `padded` values, zeros past Cg * taps
  std::vector<int32_t> rowSums; ///< each row's sum: the input zero point's share
};

/// Widens the weights at `w`; false when out of memory.
bool widenInt8Conv(const int8_t *w, int64_t M, int64_t Cg, int64_t taps, WidenedInt8Conv &out);

/// y = (x - zx) * wt, exact in i32, for N images of C channels (u8, or s8
/// with `xSigned`) and M output channels in `group` groups, when every
/// group's weights were widened at load (ctx.packed, by each group's
/// address). Returns false, writing nothing, when it does not run: no AVX2,
/// no widened weights.
bool runIntegerConvAvx2(KernelContext &ctx, const void *x, bool xSigned, int zx, const int8_t *wt,
                        int32_t *y, int64_t N, int64_t C, int64_t M, int64_t group,
                        const Window &w);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_INTEGERCONVAVX2_H
