//===- DirectConv.cpp - 2-D convolution on packed weights, no im2col ------===//
//
// im2col writes every input element once per tap (nine times for a 3x3
// kernel) and the packed-left GEMM then copied the columns again; on
// ResNet-18 the two copies took a quarter of the run. Here the input is
// copied once, zero-padded and split by stride phase (cpu/DirectConvPlan.h)
// and the packed weights multiply its windows in place
// (packedLeftGemmIndirect). Columns with ow >= OW are computed and dropped
// when the result is copied out with its bias.
//
//===----------------------------------------------------------------------===//
#include "cpu/DirectConv.h"
#include "cpu/DirectConvPlan.h"
#include "cpu/PackedConstants.h"
#include "cpu/PackedGemm.h"

#include <algorithm>
#include <vector>

namespace dsrt::cpu {
namespace {

/// The padded, phase-split copy of `channels` channels of x, one phase
/// plane at a time (its rows and columns that hold input fixed once, so
/// the row loop is a copy between zero fills).
void fillScratch(KernelContext &ctx, const DirectConvPlan &p, const float *x, int64_t channels,
                 float *scratch) {
  const int64_t phases = p.SH * p.SW;
  parallel(ctx, channels * phases, std::max<int64_t>(1, 8192 / p.plane), [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t c = t / phases;
      int64_t top, left, rlo, rhi, lo, hi;
      p.planeExtent(t, top, left, rlo, rhi, lo, hi);
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
  DirectConvPlan p;
  if (!makeDirectConvPlan(w, Cg, kIndirectSlack, p))
    return false;
  std::vector<const PackedLeftMatrix *> packed((size_t)group);
  for (int64_t g = 0; g < group; ++g)
    if (!(packed[(size_t)g] = ctx.packed->findLeft(wt + g * Mg * K, Mg, K)))
      return false;

  // Tap k = (c, kh, kw) of the weights' rows reads from offsets[k] on.
  const std::vector<int64_t> offsets = directConvOffsets(p, Cg);

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
