//===- ConvByPixels.cpp - convolutions on small maps, pixels as rows ------===//
#include "cpu/ConvByPixels.h"
#include "cpu/PackedConstants.h"
#include "cpu/PackedGemm.h"
#include "cpu/WinogradConv.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace dsrt::cpu {
namespace {
/// Maps up to this many pixels go by pixels (14 x 14 and below).
constexpr int64_t kMaxPixelRows = 196;

/// The output pixel count when every dim is positive and the map has at
/// most kMaxPixelRows pixels, else 0.
int64_t smallMapPixels(const Window &w) {
  int64_t pixels = 1;
  for (int64_t d = 0; d < w.spatial; ++d) {
    const int64_t out = w.out[(size_t)d];
    if (out < 1 || out > kMaxPixelRows || w.in[(size_t)d] < 1)
      return 0;
    pixels *= out;
    if (pixels > kMaxPixelRows)
      return 0;
  }
  return w.spatial >= 1 ? pixels : 0;
}

bool padded(const Window &w) {
  for (int64_t d = 0; d < w.spatial; ++d)
    if (w.padBegin[(size_t)d] != 0 || w.padEnd[(size_t)d] != 0)
      return true;
  return false;
}

/// Extent, along dim d, of what the windows read: (out - 1) * stride +
/// (kernel - 1) * dilation + 1, or -1 when a factor is not positive or it
/// overflows.
int64_t reach(const Window &w, int64_t d) {
  const size_t i = (size_t)d;
  int64_t a, b, r;
  if (w.kernel[i] < 1 || w.strides[i] < 1 || w.dilations[i] < 1 ||
      __builtin_mul_overflow(w.out[i] - 1, w.strides[i], &a) ||
      __builtin_mul_overflow(w.kernel[i] - 1, w.dilations[i], &b) ||
      __builtin_add_overflow(a, b, &r))
    return -1;
  return r + 1;
}

//===----------------------------------------------------------------------===//
// AVX-512: 1 x 1, the input read in place by columns
//===----------------------------------------------------------------------===//

bool columnsSuit(const Window &w, int64_t C, int64_t M, int64_t group) {
  if (group != 1 || C <= 0 || M <= 0 || padded(w))
    return false;
  const int64_t pixels = smallMapPixels(w);
  for (int64_t d = 0; d < w.spatial && pixels; ++d) {
    const size_t i = (size_t)d;
    if (w.kernel[i] != 1 || w.strides[i] < 1 || w.out[i] != (w.in[i] - 1) / w.strides[i] + 1)
      return false;
  }
  return pixels && pixels % 32 != 0;
}

void runColumns(KernelContext &ctx, const float *x, const PackedMatrix &packed, const float *bias,
                float *y, int64_t N, int64_t C, int64_t M, const Window &w) {
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
    packedGemmTransposed(ctx, pixels, xn, pixels, packed, y + n * M * pixels, pixels, bias);
  }
}

//===----------------------------------------------------------------------===//
// AVX2: any window, copied into row panels first
//===----------------------------------------------------------------------===//

/// Geometries whose tap table (K entries) or whose zero-padded copy of an
/// image would pass this many elements decline: sizes come from the
/// artifact unbounded, and a huge pad or dilation on a small map asks for a
/// huge, mostly zero copy (the direct path declines those too).
constexpr int64_t kMaxSourceFloats = int64_t(1) << 28;

bool panelsSuit(const Window &w, int64_t C, int64_t M, int64_t group) {
  if (group != 1 || C <= 0 || M <= 0 || !smallMapPixels(w) || (padded(w) && w.spatial != 2) ||
      winogradTileSize(w, C, M, group))
    return false;
  int64_t copy = C; // the padded copy's elements per image
  for (int64_t d = 0; d < w.spatial; ++d) {
    const int64_t r = reach(w, d);
    // Unpadded windows are read in place: they must stay inside the input.
    if (r < 1 || (!padded(w) && r > w.in[(size_t)d]) || __builtin_mul_overflow(copy, r, &copy) ||
        copy > kMaxSourceFloats)
      return false;
  }
  // The copy also stays near the tensors' own size.
  if (padded(w) && copy / 4 > C * w.inSize + M * w.outSize + (1 << 16))
    return false;
  int64_t K;
  return !__builtin_mul_overflow(C, w.kernelSize, &K) && K <= kMaxSourceFloats;
}

/// Where the windows of one image are read: the image itself, or a
/// zero-padded copy of it (2-D only) just large enough for every window.
struct Source {
  std::vector<int64_t> dims; ///< the spatial dims read
  int64_t size = 1;          ///< elements per channel
  std::vector<int64_t> strides;
  bool copy = false;
};

Source sourceOf(const Window &w) {
  Source s;
  s.copy = padded(w);
  for (int64_t d = 0; d < w.spatial; ++d)
    s.dims.push_back(s.copy ? reach(w, d) : w.in[(size_t)d]);
  s.strides = stridesOf(s.dims);
  for (int64_t v : s.dims)
    s.size *= v;
  return s;
}

/// Channels of image `x` into `dst` ([C][S0][S1]): input (r, c) at (r +
/// padBegin0, c + padBegin1), zeros elsewhere.
void padImage(KernelContext &ctx, const float *x, int64_t C, const Window &w, const Source &s,
              float *dst) {
  const int64_t H = w.in[0], W = w.in[1], S0 = s.dims[0], S1 = s.dims[1];
  const int64_t PT = w.padBegin[0], PL = w.padBegin[1];
  // Input columns [c0, c1) land in the copy's columns [c0 + PL, c1 + PL).
  const int64_t c0 = std::clamp<int64_t>(-PL, 0, W), c1 = std::clamp<int64_t>(S1 - PL, c0, W);
  parallel(ctx, C, std::max<int64_t>(1, 16384 / s.size), [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c)
      for (int64_t r = 0; r < S0; ++r) {
        float *row = dst + c * s.size + r * S1;
        const int64_t ih = r - PT;
        if (ih < 0 || ih >= H || c1 <= c0) {
          std::fill(row, row + S1, 0.0f);
          continue;
        }
        std::fill(row, row + c0 + PL, 0.0f);
        std::memcpy(row + c0 + PL, x + (c * H + ih) * W + c0, (size_t)(c1 - c0) * sizeof(float));
        std::fill(row + c1 + PL, row + S1, 0.0f);
      }
  });
}

/// The per-image tables: where output pixel p's window starts in the
/// source, where tap k = (c, taps...) lies from there, and which row
/// panels read their pixels as one contiguous run.
struct PanelTables {
  std::vector<int64_t> pixel, tap;
  std::vector<char> contiguous;
};

void fillTables(const Window &w, const Source &s, int64_t C, int64_t R, PanelTables &t) {
  const int64_t P = w.outSize, taps = w.kernelSize;
  t.pixel.resize((size_t)P);
  for (int64_t p = 0; p < P; ++p) {
    int64_t offset = 0, rest = p;
    for (int64_t d = w.spatial - 1; d >= 0; --d) {
      const size_t i = (size_t)d;
      offset += (rest % w.out[i]) * w.strides[i] * s.strides[i];
      rest /= w.out[i];
    }
    t.pixel[(size_t)p] = offset;
  }
  t.tap.resize((size_t)(C * taps));
  for (int64_t k = 0; k < taps; ++k) {
    int64_t offset = 0, rest = k;
    for (int64_t d = w.spatial - 1; d >= 0; --d) {
      const size_t i = (size_t)d;
      offset += (rest % w.kernel[i]) * w.dilations[i] * s.strides[i];
      rest /= w.kernel[i];
    }
    for (int64_t c = 0; c < C; ++c)
      t.tap[(size_t)(c * taps + k)] = c * s.size + offset;
  }
  const int64_t panels = ceilDivSigned(P, R);
  t.contiguous.assign((size_t)panels, 0);
  for (int64_t q = 0; q < panels; ++q) {
    const int64_t p0 = q * R;
    bool run = p0 + R <= P;
    for (int64_t r = 1; r < R && run; ++r)
      run = t.pixel[(size_t)(p0 + r)] == t.pixel[(size_t)p0] + r;
    t.contiguous[(size_t)q] = run;
  }
}

/// Columns [k0, k1) of row panels [q0, q1) (R pixels each: q * R ...,
/// zero past P) at dst, panel by panel ([k1 - k0][R] each), written k by k
/// so that side by side the panels read the source along its rows (panel
/// by panel, each k's R floats were a cache line of their own). Source
/// lines a few k ahead are fetched early: the loads, not the stores, kept
/// this loop waiting.
template <int R>
void packPanels(const float *src, const PanelTables &t, int64_t P, int64_t q0, int64_t q1,
                int64_t k0, int64_t k1, float *dst) {
  const int64_t panelStride = (k1 - k0) * R;
  for (int64_t k = k0; k < k1; ++k) {
    const float *at = src + t.tap[(size_t)k];
    if (k + 8 < (int64_t)t.tap.size()) { // addresses only: may pass the source's end
      const uintptr_t ahead =
          reinterpret_cast<uintptr_t>(src) +
          (uintptr_t)(t.tap[(size_t)(k + 8)] + t.pixel[(size_t)(q0 * R)]) * sizeof(float);
      for (int64_t j = 0; j < (q1 - q0) * R; j += 16)
        __builtin_prefetch(reinterpret_cast<const void *>(ahead + (uintptr_t)j * sizeof(float)));
    }
    float *out = dst + (k - k0) * R;
    for (int64_t q = q0; q < q1; ++q, out += panelStride) {
      const int64_t p0 = q * R;
      if (t.contiguous[(size_t)q]) {
        std::memcpy(out, at + t.pixel[(size_t)p0], R * sizeof(float));
        continue;
      }
      const int64_t n = std::min<int64_t>(R, P - p0);
      for (int64_t r = 0; r < n; ++r)
        out[r] = at[t.pixel[(size_t)(p0 + r)]];
      for (int64_t r = n; r < R; ++r)
        out[r] = 0.0f;
    }
  }
}

using PackPanels = void (*)(const float *, const PanelTables &, int64_t, int64_t, int64_t, int64_t,
                            int64_t, float *);

bool runPanels(KernelContext &ctx, const float *x, const PackedMatrix &packed, const float *bias,
               float *y, int64_t N, int64_t C, int64_t M, const Window &w) {
  // Panels of 12 rows (AVX-512), 6 (AVX2) or 4 (the portable kernels,
  // where packed GEMMs are available without x86 vectors).
  const int64_t R = packedGemmPanelRows();
  if (R != 6 && R != 12 && R != 4)
    return false;
  const PackPanels pack = R == 6 ? &packPanels<6> : R == 12 ? &packPanels<12> : &packPanels<4>;
  const int64_t P = w.outSize;
  const Source source = sourceOf(w);
  // Kept by the calling thread across runs, grown only (tasks get the
  // pointers; every element a run reads it writes first).
  thread_local PanelTables tables;
  thread_local std::vector<float> copy;
  fillTables(w, source, C, R, tables);
  if (source.copy && copy.size() < (size_t)(C * source.size))
    copy.resize((size_t)(C * source.size));
  for (int64_t n = 0; n < N; ++n) {
    const float *src = x + n * C * w.inSize;
    if (source.copy) {
      padImage(ctx, src, C, w, source, copy.data());
      src = copy.data();
    }
    // (The pool's threads see their own thread_local tables: they get the
    // caller's by pointer.)
    const PanelTables *t = &tables;
    const PanelPacker packRows = [=](int64_t q0, int64_t q1, int64_t k0, int64_t k1, float *dst) {
      pack(src, *t, P, q0, q1, k0, k1, dst);
    };
    panelGemmTransposed(ctx, P, packRows, packed, y + n * M * P, P, bias);
  }
  return true;
}

} // namespace

VectorIsa convByPixelsIsa() {
  return widestVectorIsa() == VectorIsa::Avx512 ? VectorIsa::Avx512 : VectorIsa::Avx2;
}

bool convByPixels(const Window &w, int64_t C, int64_t M, int64_t group, VectorIsa isa) {
  if (!packedGemmAvailable())
    return false;
  return isa == VectorIsa::Avx512 ? columnsSuit(w, C, M, group) : panelsSuit(w, C, M, group);
}

bool runConvByPixels(KernelContext &ctx, const float *x, const float *wt, const float *bias,
                     float *y, int64_t N, int64_t C, int64_t M, int64_t group, const Window &w,
                     VectorIsa isa) {
  if (!ctx.packed || !convByPixels(w, C, M, group, isa))
    return false;
  const PackedMatrix *packed = ctx.packed->findTransposed(wt, M, C * w.kernelSize);
  if (!packed)
    return false;
  if (isa == VectorIsa::Avx512) {
    runColumns(ctx, x, *packed, bias, y, N, C, M, w);
    return true;
  }
  return runPanels(ctx, x, *packed, bias, y, N, C, M, w);
}

} // namespace dsrt::cpu
