//===- Pool2D.cpp - 2-D max and average pooling ---------------------------===//
//
// Max pooling is separable: each output row takes the max of every input
// column over its window's rows, then of each window's columns, both over
// whole runs of columns so that the loops vectorize (cpu/Multiversion.h
// clones) whatever the stride (tap by tap over the strided outputs, a
// 3 x 3 stride-2 pool over a 32-wide row was 15 outputs per vector loop:
// all scalar remainder). The order changes at most the sign of a zero.
//
// Average pooling sums each window in row-major order: each output row
// splits into the outputs whose windows lie inside the input's columns
// (the interior, tap by tap over the whole run of outputs, no bounds
// tests) and those that reach into the padding (per output), in the same
// order, so results do not depend on which path an output took.
//
//===----------------------------------------------------------------------===//
#include "cpu/Pool2D.h"
#include "cpu/Multiversion.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace dsrt::cpu {
namespace {

/// Average pooling's taps (kh rows [h0, h1), all kw) over interior
/// outputs [o0, o1) of one row: `row0` is input row 0 of the plane, the
/// window of output o starts at column o * SW - PL; sums in the border
/// loop's order. SW is a constant so that the strided loads vectorize.
template <typename T, int64_t SW>
DS_INLINE void interiorBody(const T *__restrict row0, int64_t W, int64_t h0, int64_t h1, int64_t KW,
                            int64_t PL, int64_t o0, int64_t o1, T *__restrict out) {
  for (int64_t o = o0; o < o1; ++o)
    out[o] = T(0);
  for (int64_t h = h0; h < h1; ++h)
    for (int64_t kw = 0; kw < KW; ++kw) {
      const T *src = row0 + h * W + kw - PL;
      for (int64_t o = o0; o < o1; ++o)
        out[o] += src[o * SW];
    }
}

/// Strides 1 and 2 (the common ones) as constants; others one output at
/// a time (a single output's run has no stride).
template <typename T>
DS_INLINE void interiorAnyStride(const T *row0, int64_t W, int64_t h0, int64_t h1, int64_t KW,
                                 int64_t SW, int64_t PL, int64_t o0, int64_t o1, T *out) {
  if (SW == 1)
    return interiorBody<T, 1>(row0, W, h0, h1, KW, PL, o0, o1, out);
  if (SW == 2)
    return interiorBody<T, 2>(row0, W, h0, h1, KW, PL, o0, o1, out);
  for (int64_t o = o0; o < o1; ++o) // output o's window starts at o * SW - PL
    interiorBody<T, 1>(row0 + o * (SW - 1), W, h0, h1, KW, PL, o, o + 1, out);
}

DS_VECTORIZED void interior(const float *row0, int64_t W, int64_t h0, int64_t h1, int64_t KW,
                            int64_t SW, int64_t PL, int64_t o0, int64_t o1, float *out) {
  interiorAnyStride(row0, W, h0, h1, KW, SW, PL, o0, o1, out);
}
DS_VECTORIZED void interior(const double *row0, int64_t W, int64_t h0, int64_t h1, int64_t KW,
                            int64_t SW, int64_t PL, int64_t o0, int64_t o1, double *out) {
  interiorAnyStride(row0, W, h0, h1, KW, SW, PL, o0, o1, out);
}

/// The larger of acc and v, NaN once either is NaN (v != v takes v, and no
/// later v > NaN replaces it).
template <typename T> DS_INLINE T maxKeepingNaN(T acc, T v) {
  return (v > acc || v != v) ? v : acc;
}

/// out[c] = the max of in[c + j * step] over j < n, for c < count. Each
/// block of kBlock columns is reduced in registers and stored once (a
/// pass per j through memory stalled on store forwarding: its loads of
/// short rows overlap the previous pass's stores of another width); the
/// last block ends at `count`, overlapping the one before.
constexpr int64_t kBlock = 16;
template <typename T>
DS_INLINE void blockMax(const T *__restrict in, int64_t step, int64_t n, int64_t c,
                        T *__restrict out) {
  T acc[kBlock];
  for (int64_t l = 0; l < kBlock; ++l)
    acc[l] = in[c + l];
  for (int64_t j = 1; j < n; ++j)
    for (int64_t l = 0; l < kBlock; ++l)
      acc[l] = maxKeepingNaN(acc[l], in[j * step + c + l]);
  for (int64_t l = 0; l < kBlock; ++l)
    out[c + l] = acc[l];
}
template <typename T>
DS_INLINE void stridedMaxBody(const T *__restrict in, int64_t step, int64_t n, int64_t count,
                              T *__restrict out) {
  if (count < kBlock) {
    for (int64_t c = 0; c < count; ++c) {
      T acc = in[c];
      for (int64_t j = 1; j < n; ++j)
        acc = maxKeepingNaN(acc, in[j * step + c]);
      out[c] = acc;
    }
    return;
  }
  for (int64_t c = 0; c + kBlock <= count; c += kBlock)
    blockMax(in, step, n, c, out);
  if (count % kBlock)
    blockMax(in, step, n, count - kBlock, out);
}

/// col[c] = the max of rows[r * W + c] over r < n (c < W).
DS_VECTORIZED void columnMax(const float *rows, int64_t W, int64_t n, float *col) {
  stridedMaxBody(rows, W, n, W, col);
}
DS_VECTORIZED void columnMax(const double *rows, int64_t W, int64_t n, double *col) {
  stridedMaxBody(rows, W, n, W, col);
}
/// out[c] = the max of col[c .. c + KW) for c < count.
DS_VECTORIZED void slidingMax(const float *col, int64_t count, int64_t KW, float *out) {
  stridedMaxBody(col, 1, KW, count, out);
}
DS_VECTORIZED void slidingMax(const double *col, int64_t count, int64_t KW, double *out) {
  stridedMaxBody(col, 1, KW, count, out);
}

/// v, or the quiet NaN for any NaN (whatever payload the input had).
template <typename T> inline T quietNaN(T v) {
  return v != v ? std::numeric_limits<T>::quiet_NaN() : v;
}

/// One output row of a max pool over the input rows [hBegin, hEnd) of the
/// plane at xp: the max of each column over those rows first (whole rows:
/// the loops vectorize whatever the stride), then over each window's
/// columns. A window interior to the row takes a sliding max computed at
/// every column (stride 1, vectorized) and keeps every SW-th; a border one
/// reduces its clipped columns.
template <typename T>
void maxPoolRow(const T *xp, int64_t W, int64_t hBegin, int64_t hEnd, int64_t OW, int64_t KW,
                int64_t SW, int64_t PL, int64_t o0, int64_t o1, T *scratch, T *yp) {
  if (hEnd <= hBegin) { // the window's rows are all padding
    std::fill(yp, yp + OW, std::numeric_limits<T>::lowest());
    return;
  }
  T *col = scratch, *sliding = scratch + W;
  columnMax(xp + hBegin * W, W, hEnd - hBegin, col);
  if (o0 < o1) {
    // Windows starting at columns [o0 * SW - PL, (o1 - 1) * SW - PL].
    const int64_t first = o0 * SW - PL, count = (o1 - 1 - o0) * SW + 1;
    slidingMax(col + first, count, KW, sliding);
    for (int64_t ow = o0; ow < o1; ++ow)
      yp[ow] = quietNaN(sliding[(ow - o0) * SW]);
  }
  for (int64_t ow = 0; ow < OW; ++ow) {
    if (ow == o0 && o0 < o1)
      ow = o1; // the interior is done
    if (ow >= OW)
      break;
    const int64_t w0 = ow * SW - PL;
    const int64_t wBegin = std::max<int64_t>(w0, 0), wEnd = std::min(w0 + KW, W);
    T best = -std::numeric_limits<T>::infinity();
    for (int64_t c = wBegin; c < wEnd; ++c)
      best = maxKeepingNaN(best, col[c]);
    yp[ow] = wBegin < wEnd ? quietNaN(best) : std::numeric_limits<T>::lowest();
  }
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
    thread_local std::vector<T> scratch; // max: a row's column maxima, then its windows'
    if (kind == 0 && scratch.size() < (size_t)(2 * W))
      scratch.resize((size_t)(2 * W));
    for (int64_t t = b; t < e; ++t) {
      const T *xp = x + (t / OH) * H * W;
      T *yp = y + t * OW;
      int64_t h0 = (t % OH) * SH - PT;
      int64_t hBegin = std::max<int64_t>(h0, 0), hEnd = std::min(h0 + KH, H);
      int64_t hPadded = std::min(h0 + KH, HP) - std::max(h0, -PT);
      if (kind == 0) {
        maxPoolRow(xp, W, hBegin, hEnd, OW, KW, SW, PL, o0, o1, scratch.data(), yp);
        continue;
      }
      if (o0 < o1) {
        interior(xp, W, hBegin, std::max(hBegin, hEnd), KW, SW, PL, o0, o1, yp);
        const double count =
            (double)(includePad ? hPadded : std::max<int64_t>(0, hEnd - hBegin)) * (double)KW;
        for (int64_t ow = o0; ow < o1; ++ow)
          yp[ow] = count > 0 ? yp[ow] / (T)count : T(0);
      }
      for (int64_t ow = 0; ow < OW; ++ow) {
        if (ow == o0 && o0 < o1)
          ow = o1; // the interior is done
        if (ow >= OW)
          break;
        int64_t w0 = ow * SW - PL;
        int64_t wBegin = std::max<int64_t>(w0, 0), wEnd = std::min(w0 + KW, W);
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
  });
  return true;
}

template bool runPool2D<float>(KernelContext &, const float *, float *, int64_t, const Window &,
                               int, bool);
template bool runPool2D<double>(KernelContext &, const double *, double *, int64_t, const Window &,
                                int, bool);

} // namespace dsrt::cpu
