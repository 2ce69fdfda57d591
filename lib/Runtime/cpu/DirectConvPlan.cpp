//===- DirectConvPlan.cpp - the padded input a direct convolution reads ---===//
#include "cpu/DirectConvPlan.h"
#include "cpu/KernelUtils.h"

#include <algorithm>

namespace dsrt::cpu {

bool makeDirectConvPlan(const Window &w, int64_t channels, int64_t slack, DirectConvPlan &p) {
  if (w.spatial != 2)
    return false;
  p = DirectConvPlan{w.in[0],        w.in[1],        w.out[0],      w.out[1],
                     w.kernel[0],    w.kernel[1],    w.strides[0],  w.strides[1],
                     w.dilations[0], w.dilations[1], w.padBegin[0], w.padBegin[1]};
  if (p.KH < 1 || p.KW < 1 || p.OH < 1 || p.OW < 1) // an empty kernel has no taps to read
    return false;
  int64_t rReach, cReach, phases, elems;
  if (__builtin_mul_overflow(p.KH - 1, p.DH, &rReach) ||
      __builtin_mul_overflow(p.KW - 1, p.DW, &cReach))
    return false;
  p.Hq = p.OH + rReach / p.SH;
  p.Wq = p.OW + cReach / p.SW;
  if (p.SW == 1) {
    // Without column phases consecutive rows may share their padding: row
    // i's right pad is read from row i + 1's left pad (padding too), so a
    // row needs its data, its left pad, and only the right pad that exceeds
    // it (3 x 3, pads 1: W + 1 columns instead of W + 2; on a 7 x 7 map 12%
    // of the computed columns are padding instead of 22%).
    int64_t data, reach;
    if (__builtin_add_overflow(p.PL, p.W, &data) ||
        __builtin_add_overflow(p.OW, cReach - p.PL, &reach))
      return false;
    p.Wq = std::max({data, reach, p.OW});
  }
  // (7 x 7 maps with 22% padding, before rows shared it, still ran faster
  // directly on ResNet-18.)
  if (p.Wq - p.OW > p.OW / 2)
    return false;
  if (__builtin_mul_overflow(p.Hq, p.Wq, &p.plane) || __builtin_mul_overflow(p.SH, p.SW, &phases) ||
      __builtin_mul_overflow(phases, channels, &elems) ||
      __builtin_mul_overflow(elems, p.plane, &p.body) ||
      p.body / 4 > channels * (p.H * p.W + p.OH * p.OW) + 1024)
    return false;
  p.scratch = p.body + cReach / p.SW + slack;
  return true;
}

void DirectConvPlan::planeExtent(int64_t t, int64_t &top, int64_t &left, int64_t &rlo,
                                 int64_t &rhi, int64_t &lo, int64_t &hi) const {
  const int64_t phase = t % phases(), py = phase / SW, px = phase % SW;
  // Phase row i is input row i * SH + top, phase column j input column
  // j * SW + left.
  top = py - PT, left = px - PL;
  rlo = std::clamp<int64_t>(ceilDivSigned(-top, SH), 0, Hq);
  rhi = std::max(rlo, std::clamp<int64_t>(ceilDivSigned(H - top, SH), 0, Hq));
  lo = std::clamp<int64_t>(ceilDivSigned(-left, SW), 0, Wq);
  hi = std::max(lo, std::clamp<int64_t>(ceilDivSigned(W - left, SW), 0, Wq));
}

std::vector<int64_t> directConvOffsets(const DirectConvPlan &p, int64_t channels) {
  std::vector<int64_t> offsets((size_t)(channels * p.KH * p.KW));
  for (int64_t c = 0, k = 0; c < channels; ++c)
    for (int64_t kh = 0; kh < p.KH; ++kh)
      for (int64_t kw = 0; kw < p.KW; ++kw, ++k) {
        const int64_t r = kh * p.DH, col = kw * p.DW;
        const int64_t phase = (c * p.SH + r % p.SH) * p.SW + col % p.SW;
        offsets[(size_t)k] = phase * p.plane + r / p.SH * p.Wq + col / p.SW;
      }
  return offsets;
}

} // namespace dsrt::cpu
