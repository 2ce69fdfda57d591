//===- DirectConvPlan.h - the padded input a direct convolution reads -*- C++ -*-===//
//
// The geometry the f32 (cpu/DirectConv.h), 8-bit (cpu/IntegerDirectConv.h)
// and bf16 (cpu/Bf16DirectConv.h) direct convolutions share: the input is
// copied once, zero-padded (or padded with its zero point) and split by
// stride phase: padded element (r, c) of channel ch lands in phase
// (r % SH, c % SW) at (r / SH, c / SW), and every phase is Hq x Wq with
// Wq = OW + the taps' column reach (with stride 1, rows share their
// padding: Wq = W + the larger of the left pad and the right pad the taps
// reach, or OW if that is more). Then output
// (oh, ow), tap (kh, kw) reads phase element (oh + rOff, ow + cOff), which is
// element oh * Wq + ow of a run that starts at a per-tap offset: B[k][n] =
// scratch[offsets[k] + n] over n = oh * Wq + ow, a GEMM whose columns are
// read in place. Columns with ow >= OW are computed and dropped.
//
// A "channel" of the copy is one plane of elements: one f32 channel, four
// 8-bit channels interleaved into 32-bit words (cpu/IntegerDirectConv.h),
// or two bf16 channels to a word (cpu/Bf16DirectConv.h).
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_DIRECTCONVPLAN_H
#define DS_RUNTIME_CPU_DIRECTCONVPLAN_H

#include "cpu/Window.h"

#include <cstdint>
#include <vector>

namespace dsrt::cpu {

struct DirectConvPlan {
  int64_t H, W, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL;
  int64_t Hq = 0, Wq = 0; ///< rows and columns of one phase
  int64_t plane = 0;      ///< Hq * Wq
  int64_t body = 0;       ///< elements of the padded copy of one group
  int64_t scratch = 0;    ///< body + the slack the last columns read past it

  int64_t phases() const { return SH * SW; }
  /// Where phase plane `t` (= channel * phases + phase) starts reading x:
  /// its first row and column in input coordinates, and the rows [rlo, rhi)
  /// and columns [lo, hi) of the plane that hold input.
  void planeExtent(int64_t t, int64_t &top, int64_t &left, int64_t &rlo, int64_t &rhi,
                   int64_t &lo, int64_t &hi) const;
};

/// The plan for `channels` planes per group whose micro-kernels read up to
/// `slack` elements past the last column, or false when the geometry does
/// not suit: not 2-D, a scratch far larger than the tensors, or over a third
/// of the computed columns wasted on padding (im2col wastes nothing there).
/// Sizes come from the artifact unbounded: checked arithmetic.
bool makeDirectConvPlan(const Window &w, int64_t channels, int64_t slack, DirectConvPlan &p);

/// offsets[k] for tap k = (channel, kh, kw) in that order, over `channels`.
std::vector<int64_t> directConvOffsets(const DirectConvPlan &p, int64_t channels);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_DIRECTCONVPLAN_H
