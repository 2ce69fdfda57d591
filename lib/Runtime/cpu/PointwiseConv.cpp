//===- PointwiseConv.cpp - 1 x 1 convolutions on small maps ---------------===//
#include "cpu/PointwiseConv.h"
#include "cpu/PackedConstants.h"
#include "cpu/PackedGemm.h"

#include <vector>

namespace dsrt::cpu {
namespace {
/// Maps up to this many pixels go by pixels (14 x 14 and below).
constexpr int64_t kMaxPixelRows = 196;
} // namespace

bool pointwiseByPixels(const Window &w, int64_t C, int64_t M, int64_t group) {
  if (group != 1 || C <= 0 || M <= 0 || w.spatial < 1 || !packedGemmAvailable())
    return false;
  int64_t pixels = 1;
  for (int64_t d = 0; d < w.spatial; ++d) {
    const size_t i = (size_t)d;
    if (w.kernel[i] != 1 || w.strides[i] < 1 || w.padBegin[i] != 0 || w.padEnd[i] != 0 ||
        w.in[i] < 1 || w.out[i] < 1 || w.out[i] > kMaxPixelRows ||
        w.out[i] != (w.in[i] - 1) / w.strides[i] + 1)
      return false;
    pixels *= w.out[i];
    if (pixels > kMaxPixelRows)
      return false;
  }
  return pixels % 32 != 0;
}

bool runPointwiseByPixels(KernelContext &ctx, const float *x, const float *wt, const float *bias,
                          float *y, int64_t N, int64_t C, int64_t M, int64_t group,
                          const Window &w) {
  if (!ctx.packed || !pointwiseByPixels(w, C, M, group))
    return false;
  const PackedMatrix *packed = ctx.packed->findTransposed(wt, M, C);
  if (!packed)
    return false;
  const int64_t pixels = w.outSize;
  bool strided = false;
  for (int64_t d = 0; d < w.spatial; ++d)
    strided |= w.strides[(size_t)d] != 1;
  // A strided convolution reads every s-th pixel: gathered first into
  // [C][pixels] (kept by the calling thread; tasks get the pointer).
  thread_local std::vector<float> gathered;
  if (strided && gathered.size() < (size_t)(C * pixels))
    gathered.resize((size_t)(C * pixels));
  for (int64_t n = 0; n < N; ++n) {
    const float *xn = x + n * C * w.inSize;
    if (strided) {
      float *out = gathered.data();
      parallel(ctx, C, std::max<int64_t>(1, 16384 / pixels), [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c)
          for (int64_t p = 0; p < pixels; ++p) {
            int64_t offset = 0, rest = p; // the input element under output pixel p
            for (int64_t d = w.spatial - 1; d >= 0; --d) {
              const size_t i = (size_t)d;
              offset += (rest % w.out[i]) * w.strides[i] * w.inStrides[i];
              rest /= w.out[i];
            }
            out[c * pixels + p] = xn[c * w.inSize + offset];
          }
      });
      xn = out;
    }
    packedGemmTransposed(ctx, pixels, xn, pixels, *packed, y + n * M * pixels, pixels, bias);
  }
  return true;
}

} // namespace dsrt::cpu
