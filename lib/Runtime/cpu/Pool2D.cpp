//===- Pool2D.cpp - 2-D max and average pooling ---------------------------===//
//
// Each output row splits into the outputs whose windows lie inside the
// input's columns (the interior) and those that reach into the padding.
// The interior runs tap by tap over the whole run of outputs, no bounds
// tests, so the loop vectorizes (cpu/Multiversion.h clones); the borders
// keep the per-output loop. Both visit a window's elements in the same
// order, so results do not depend on which path an output took.
//
//===----------------------------------------------------------------------===//
#include "cpu/Pool2D.h"
#include "cpu/Multiversion.h"

#include <algorithm>
#include <limits>

namespace dsrt::cpu {
namespace {

/// Taps (kh rows [h0, h1), all kw) over interior outputs [o0, o1) of one
/// row: `row0` is input row 0 of the plane, the window of output o starts
/// at column o * SW - PL. Max keeps NaN (v != v takes v, and no later v >
/// NaN replaces it; from -inf, so a window of -inf gives -inf); average
/// sums in the border loop's order. SW is a constant so that the strided
/// loads vectorize.
template <typename T, int64_t SW>
DS_INLINE void interiorBody(const T *__restrict row0, int64_t W, int64_t h0, int64_t h1, int64_t KW,
                            int64_t PL, int64_t o0, int64_t o1, bool max, T *__restrict out) {
  for (int64_t o = o0; o < o1; ++o)
    out[o] = max ? -std::numeric_limits<T>::infinity() : T(0);
  for (int64_t h = h0; h < h1; ++h)
    for (int64_t kw = 0; kw < KW; ++kw) {
      const T *src = row0 + h * W + kw - PL;
      if (max) {
        for (int64_t o = o0; o < o1; ++o) {
          const T v = src[o * SW];
          out[o] = (v > out[o] || v != v) ? v : out[o];
        }
      } else {
        for (int64_t o = o0; o < o1; ++o)
          out[o] += src[o * SW];
      }
    }
}

/// Strides 1 and 2 (the common ones) as constants; others one output at
/// a time (a single output's run has no stride).
template <typename T>
DS_INLINE void interiorAnyStride(const T *row0, int64_t W, int64_t h0, int64_t h1, int64_t KW,
                                 int64_t SW, int64_t PL, int64_t o0, int64_t o1, bool max, T *out) {
  if (SW == 1)
    return interiorBody<T, 1>(row0, W, h0, h1, KW, PL, o0, o1, max, out);
  if (SW == 2)
    return interiorBody<T, 2>(row0, W, h0, h1, KW, PL, o0, o1, max, out);
  for (int64_t o = o0; o < o1; ++o) // output o's window starts at o * SW - PL
    interiorBody<T, 1>(row0 + o * (SW - 1), W, h0, h1, KW, PL, o, o + 1, max, out);
}

DS_VECTORIZED void interior(const float *row0, int64_t W, int64_t h0, int64_t h1, int64_t KW,
                            int64_t SW, int64_t PL, int64_t o0, int64_t o1, bool max, float *out) {
  interiorAnyStride(row0, W, h0, h1, KW, SW, PL, o0, o1, max, out);
}
DS_VECTORIZED void interior(const double *row0, int64_t W, int64_t h0, int64_t h1, int64_t KW,
                            int64_t SW, int64_t PL, int64_t o0, int64_t o1, bool max, double *out) {
  interiorAnyStride(row0, W, h0, h1, KW, SW, PL, o0, o1, max, out);
}

} // namespace

template <typename T>
bool runPool2D(KernelContext &ctx, const T *x, T *y, int64_t planes, const Window &w, int kind,
               bool includePad) {
  if (w.spatial != 2 || kind == 2 || w.dilations[0] != 1 || w.dilations[1] != 1)
    return false;
  const int64_t H = w.in[0], W = w.in[1], OH = w.out[0], OW = w.out[1];
  const int64_t KH = w.kernel[0], KW = w.kernel[1], SH = w.strides[0], SW = w.strides[1];
  const int64_t PT = w.padBegin[0], PL = w.padBegin[1];
  const int64_t HP = H + w.padEnd[0], WP = W + w.padEnd[1]; // padded extent end
  // Interior outputs: ow * SW - PL >= 0 and ow * SW - PL + KW <= W.
  const int64_t o0 = std::min(OW, ceilDivSigned(PL, SW));
  const int64_t o1 = W - KW + PL < 0 ? o0 : std::max(o0, std::min(OW, (W - KW + PL) / SW + 1));
  // Window sizes come from the artifact: the work per row and the counts
  // below in double (an int64 product of huge pads could wrap).
  const double rowWork = (double)OW * (double)KH * (double)KW;
  const int64_t grain = rowWork >= 2048.0 ? 1 : 2048 / std::max<int64_t>(1, (int64_t)rowWork);
  parallel(ctx, planes * OH, grain, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const T *xp = x + (t / OH) * H * W;
      T *yp = y + t * OW;
      int64_t h0 = (t % OH) * SH - PT;
      int64_t hBegin = std::max<int64_t>(h0, 0), hEnd = std::min(h0 + KH, H);
      int64_t hPadded = std::min(h0 + KH, HP) - std::max(h0, -PT);
      if (o0 < o1) {
        interior(xp, W, hBegin, std::max(hBegin, hEnd), KW, SW, PL, o0, o1, kind == 0, yp);
        for (int64_t ow = o0; ow < o1; ++ow) {
          if (kind == 0) {
            if (yp[ow] != yp[ow])
              yp[ow] = std::numeric_limits<T>::quiet_NaN();
            else if (hEnd <= hBegin) // the window's rows are all padding
              yp[ow] = std::numeric_limits<T>::lowest();
          } else {
            const double count =
                (double)(includePad ? hPadded : std::max<int64_t>(0, hEnd - hBegin)) * (double)KW;
            yp[ow] = count > 0 ? yp[ow] / (T)count : T(0);
          }
        }
      }
      for (int64_t ow = 0; ow < OW; ++ow) {
        if (ow == o0 && o0 < o1)
          ow = o1; // the interior is done
        if (ow >= OW)
          break;
        int64_t w0 = ow * SW - PL;
        int64_t wBegin = std::max<int64_t>(w0, 0), wEnd = std::min(w0 + KW, W);
        if (kind == 0) {
          // From -inf (a window of -inf is -inf); the lowest value
          // for a window wholly in the padding.
          T best = -std::numeric_limits<T>::infinity();
          bool nan = false;
          for (int64_t h = hBegin; h < hEnd; ++h)
            for (int64_t c = wBegin; c < wEnd; ++c) {
              T v = xp[h * W + c];
              nan |= v != v;
              best = v > best ? v : best;
            }
          const bool any = hBegin < hEnd && wBegin < wEnd;
          yp[ow] = nan   ? std::numeric_limits<T>::quiet_NaN()
                   : any ? best
                         : std::numeric_limits<T>::lowest();
        } else {
          T sum = 0;
          for (int64_t h = hBegin; h < hEnd; ++h)
            for (int64_t c = wBegin; c < wEnd; ++c)
              sum += xp[h * W + c];
          const double count =
              includePad ? (double)hPadded * (double)(std::min(w0 + KW, WP) - std::max(w0, -PL))
                         : (double)(hEnd - hBegin) * (double)(wEnd - wBegin);
          yp[ow] = count > 0 ? sum / (T)count : T(0);
        }
      }
    }
  });
  return true;
}

template bool runPool2D<float>(KernelContext &, const float *, float *, int64_t, const Window &,
                               int, bool);
template bool runPool2D<double>(KernelContext &, const double *, double *, int64_t, const Window &,
                                int, bool);

} // namespace dsrt::cpu
