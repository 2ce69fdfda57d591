//===- DirectConv.cpp - 2-D convolution on packed weights, no im2col ------===//
//
// im2col writes every input element once per tap (nine times for a 3x3
// kernel) and the packed-left GEMM then copied the columns again; on
// ResNet-18 the two copies took a quarter of the run. Here the input is
// copied once, zero-padded and split by stride phase: padded element
// (r, c) of channel ch lands in phase (r % SH, c % SW) at (r / SH, c / SW),
// and every phase is Hq x Wq with Wq = OW + the taps' column reach (with
// stride 1, rows share their padding: Wq = W + the larger of the left pad
// and the right pad the taps reach, or OW if that is more). Then
// output (oh, ow), tap (kh, kw) reads phase element (oh + rOff, ow + cOff),
// which is element oh * Wq + ow of a run that starts at a per-tap offset:
// B[k][n] = scratch[offsets[k] + n] over n = oh * Wq + ow, a GEMM whose
// columns are read in place (packedLeftGemmIndirect). Columns with ow >= OW
// are computed and dropped when the result is copied out with its bias.
//
//===----------------------------------------------------------------------===//
#include "cpu/DirectConv.h"
#include "cpu/PackedGemm.h"

#include <algorithm>
#include <vector>

namespace dsrt::cpu {
namespace {

struct DirectPlan {
  int64_t H, W, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL;
  int64_t Hq = 0, Wq = 0; ///< rows and columns of one phase
  int64_t plane = 0;      ///< Hq * Wq
  int64_t body = 0;       ///< floats of the padded copy of one group
  int64_t scratch = 0;    ///< body + the slack the last columns read past it
};

/// The plan for channels-per-group Cg, or false when the geometry does not
/// suit (sizes come from the artifact unbounded: checked arithmetic).
bool makePlan(const Window &w, int64_t Cg, DirectPlan &p) {
  if (w.spatial != 2)
    return false;
  p = DirectPlan{w.in[0],        w.in[1],        w.out[0],      w.out[1],
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
    // i's right pad is read from row i + 1's left pad (zeros too), so a row
    // needs its data, its left pad, and only the right pad that exceeds it
    // (3 x 3, pads 1: W + 1 columns instead of W + 2; on a 7 x 7 map 12%
    // of the computed columns are padding instead of 22%).
    int64_t data, reach;
    if (__builtin_add_overflow(p.PL, p.W, &data) ||
        __builtin_add_overflow(p.OW, cReach - p.PL, &reach))
      return false;
    p.Wq = std::max({data, reach, p.OW});
  }
  // Over a third of the computed columns would be padding (a 1-wide map
  // under a 3 x 3 kernel, or a 2-wide one at stride 2): im2col wastes
  // nothing there. (7 x 7 maps with 22% padding, before rows shared it,
  // still ran faster directly on ResNet-18.)
  if (p.Wq - p.OW > p.OW / 2)
    return false;
  if (__builtin_mul_overflow(p.Hq, p.Wq, &p.plane) || __builtin_mul_overflow(p.SH, p.SW, &phases) ||
      __builtin_mul_overflow(phases, Cg, &elems) ||
      __builtin_mul_overflow(elems, p.plane, &p.body) ||
      p.body / 4 > Cg * (p.H * p.W + p.OH * p.OW) + 1024)
    return false;
  p.scratch = p.body + cReach / p.SW + kIndirectSlack;
  return true;
}

/// The padded, phase-split copy of `channels` channels of x, one phase
/// plane at a time (its rows and columns that hold input fixed once, so
/// the row loop is a copy between zero fills).
void fillScratch(KernelContext &ctx, const DirectPlan &p, const float *x, int64_t channels,
                 float *scratch) {
  const int64_t phases = p.SH * p.SW;
  parallel(ctx, channels * phases, std::max<int64_t>(1, 8192 / p.plane), [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t c = t / phases, py = t % phases / p.SW, px = t % p.SW;
      // Phase row i is input row i * SH + top, phase column j input column
      // j * SW + left; [rlo, rhi) and [lo, hi) are those inside the input.
      const int64_t top = py - p.PT, left = px - p.PL;
      const int64_t rlo = std::clamp<int64_t>(ceilDivSigned(-top, p.SH), 0, p.Hq);
      const int64_t rhi =
          std::max(rlo, std::clamp<int64_t>(ceilDivSigned(p.H - top, p.SH), 0, p.Hq));
      const int64_t lo = std::clamp<int64_t>(ceilDivSigned(-left, p.SW), 0, p.Wq);
      const int64_t hi =
          std::max(lo, std::clamp<int64_t>(ceilDivSigned(p.W - left, p.SW), 0, p.Wq));
      float *plane = scratch + t * p.plane;
      std::fill(plane, plane + rlo * p.Wq, 0.0f);
      for (int64_t i = rlo; i < rhi; ++i) {
        float *dst = plane + i * p.Wq;
        const float *src = x + (c * p.H + i * p.SH + top) * p.W + left;
        std::fill(dst, dst + lo, 0.0f);
        if (p.SW == 1)
          std::copy(src + lo, src + hi, dst + lo);
        else
          for (int64_t j = lo; j < hi; ++j)
            dst[j] = src[j * p.SW];
        std::fill(dst + hi, dst + p.Wq, 0.0f);
      }
      std::fill(plane + rhi * p.Wq, plane + p.plane, 0.0f);
    }
  });
}

} // namespace

bool runDirectConv2D(KernelContext &ctx, const float *x, const float *wt, const float *bias,
                     float *y, int64_t N, int64_t C, int64_t M, int64_t group, const Window &w) {
  if (!ctx.packed || group <= 0)
    return false;
  const int64_t Cg = C / group, Mg = M / group, K = Cg * w.kernelSize;
  DirectPlan p;
  if (!makePlan(w, Cg, p))
    return false;
  std::vector<const PackedLeftMatrix *> packed((size_t)group);
  for (int64_t g = 0; g < group; ++g)
    if (!(packed[(size_t)g] = ctx.packed->findLeft(wt + g * Mg * K, Mg, K)))
      return false;

  // Tap k = (c, kh, kw) of the weights' rows reads from offsets[k] on.
  std::vector<int64_t> offsets((size_t)K);
  for (int64_t c = 0, k = 0; c < Cg; ++c)
    for (int64_t kh = 0; kh < p.KH; ++kh)
      for (int64_t kw = 0; kw < p.KW; ++kw, ++k) {
        const int64_t r = kh * p.DH, col = kw * p.DW;
        const int64_t phase = (c * p.SH + r % p.SH) * p.SW + col % p.SW;
        offsets[(size_t)k] = phase * p.plane + r / p.SH * p.Wq + col / p.SW;
      }

  // Kept by the calling thread: allocating them on every call faulted
  // their pages in on every run. (Tasks see them through these pointers: a
  // thread_local named inside a task would be the pool thread's own.)
  thread_local std::vector<float> scratchBuffer, wideBuffer;
  const int64_t columns = p.OH * p.Wq;
  if (scratchBuffer.size() < (size_t)p.scratch)
    scratchBuffer.resize((size_t)p.scratch);
  if (wideBuffer.size() < (size_t)(Mg * columns))
    wideBuffer.resize((size_t)(Mg * columns));
  float *scratch = scratchBuffer.data(), *wide = wideBuffer.data();
  std::fill(scratch + p.body, scratch + p.scratch, 0.0f); // read by the last columns, unused

  const int64_t OO = p.OH * p.OW;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t g = 0; g < group; ++g) {
      const float *xg = x + (n * C + g * Cg) * p.H * p.W;
      float *yg = y + (n * M + g * Mg) * OO;
      const float *bg = bias ? bias + g * Mg : nullptr;
      fillScratch(ctx, p, xg, Cg, scratch);
      packedLeftGemmIndirect(ctx, *packed[(size_t)g], scratch, offsets.data(), columns, wide,
                             columns, false);
      // The result without its dropped columns, plus bias.
      parallel(ctx, Mg * p.OH, std::max<int64_t>(1, 16384 / p.OW), [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; ++t) {
          const float *src = wide + (t / p.OH) * columns + (t % p.OH) * p.Wq;
          float *dst = yg + t * p.OW;
          if (!bg) {
            std::copy(src, src + p.OW, dst);
            continue;
          }
          const float bv = bg[t / p.OH];
          for (int64_t i = 0; i < p.OW; ++i)
            dst[i] = src[i] + bv;
        }
      });
    }
  return true;
}

} // namespace dsrt::cpu
