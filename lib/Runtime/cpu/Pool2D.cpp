//===- Pool2D.cpp - 2-D max and average pooling ---------------------------===//
//
// Max pooling is separable: each output row takes the max of every input
// column over its window's rows, into a row padded with -inf, then each
// output the max of its window's columns there: whole blocks of 16
// outputs with no border tests (the last block overlapping the one
// before), vectorized (cpu/Multiversion.h clones; stride 2 in AVX-512
// permutes, where the compiler's strided loads were gathers). The order
// changes at most the sign of a zero.
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
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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
DS_VECTORIZED void columnMax(const uint8_t *rows, int64_t W, int64_t n, uint8_t *col) {
  stridedMaxBody(rows, W, n, W, col);
}
DS_VECTORIZED void columnMax(const int8_t *rows, int64_t W, int64_t n, int8_t *col) {
  stridedMaxBody(rows, W, n, W, col);
}
/// v, or the quiet NaN for any NaN (whatever payload the input had).
template <typename T> DS_INLINE T quietNaN(T v) {
  return v != v ? std::numeric_limits<T>::quiet_NaN() : v;
}

/// out[o] = the max of padded[o * stride + k] over k < KW, for the kBlock
/// outputs from o0. SW > 0 is the stride as a constant (the strided loads
/// vectorize), 0 takes `stride`.
template <typename T, int64_t SW>
DS_INLINE void windowMaxBlock(const T *__restrict padded, int64_t stride, int64_t KW, int64_t o0,
                              T *__restrict out) {
  const int64_t st = SW > 0 ? SW : stride;
  T acc[kBlock];
  for (int64_t l = 0; l < kBlock; ++l)
    acc[l] = padded[(o0 + l) * st];
  for (int64_t k = 1; k < KW; ++k)
    for (int64_t l = 0; l < kBlock; ++l)
      acc[l] = maxKeepingNaN(acc[l], padded[(o0 + l) * st + k]);
  for (int64_t l = 0; l < kBlock; ++l)
    out[o0 + l] = quietNaN(acc[l]);
}
template <typename T, int64_t SW>
DS_INLINE void windowMaxRun(const T *padded, int64_t stride, int64_t KW, int64_t OW, T *out) {
  for (int64_t o0 = 0; o0 + kBlock <= OW; o0 += kBlock)
    windowMaxBlock<T, SW>(padded, stride, KW, o0, out);
  if (OW % kBlock) // the last block ends at OW, overlapping the one before
    windowMaxBlock<T, SW>(padded, stride, KW, OW - kBlock, out);
}

/// out[o] = the max of padded[o * SW + k] over k < KW for o < OW: a row's
/// windows over its column maxima, which lie between columns of -inf (no
/// border tests); fewer than kBlock outputs go one at a time.
template <typename T>
DS_INLINE void windowMaxBody(const T *padded, int64_t KW, int64_t SW, int64_t OW, T *out) {
  if (OW < kBlock) {
    for (int64_t o = 0; o < OW; ++o) {
      T acc = padded[o * SW];
      for (int64_t k = 1; k < KW; ++k)
        acc = maxKeepingNaN(acc, padded[o * SW + k]);
      out[o] = quietNaN(acc);
    }
    return;
  }
  if (SW == 1)
    return windowMaxRun<T, 1>(padded, SW, KW, OW, out);
  if (SW == 2)
    return windowMaxRun<T, 2>(padded, SW, KW, OW, out);
  windowMaxRun<T, 0>(padded, SW, KW, OW, out);
}
DS_VECTORIZED void windowMax(const float *padded, int64_t KW, int64_t SW, int64_t OW, float *out) {
  windowMaxBody(padded, KW, SW, OW, out);
}
DS_VECTORIZED void windowMax(const double *padded, int64_t KW, int64_t SW, int64_t OW,
                             double *out) {
  windowMaxBody(padded, KW, SW, OW, out);
}
/// Bytes at a stride: strided byte loads do not vectorize, so the row is
/// split into its SW phases first (phase p holds padded[p + SW i]); tap k
/// of output o is then element o + k / SW of phase k % SW, and every tap
/// is a run of consecutive bytes.
/// Runs of kRun bytes: fixed-length loops vectorize whole (a loop of OW
/// bytes left a scalar remainder as long as its vector part); the last
/// run of a row ends at its end, overlapping the one before.
constexpr int64_t kRun = 32;

/// Phases 0 and 1 of kRun byte pairs from pair i0, as 16-bit words: the
/// low bytes are phase 0, the high ones phase 1.
template <typename T>
DS_INLINE void splitPairs(const T *__restrict padded, int64_t i0, T *__restrict even,
                          T *__restrict odd) {
  for (int64_t l = 0; l < kRun; ++l) {
    uint16_t pair;
    std::memcpy(&pair, padded + 2 * (i0 + l), 2);
    even[i0 + l] = (T)(uint8_t)pair;
    odd[i0 + l] = (T)(uint8_t)(pair >> 8);
  }
}

/// out[o0 + l] = the max over k < KW of phase k % SW at o0 + l + k / SW.
template <typename T>
DS_INLINE void phasedRun(const T *__restrict phases, int64_t len, int64_t KW, int64_t SW,
                         int64_t o0, T *__restrict out) {
  T acc[kRun];
  for (int64_t l = 0; l < kRun; ++l)
    acc[l] = phases[o0 + l];
  for (int64_t k = 1; k < KW; ++k) {
    const T *__restrict tap = phases + (k % SW) * len + k / SW + o0;
    for (int64_t l = 0; l < kRun; ++l)
      acc[l] = tap[l] > acc[l] ? tap[l] : acc[l];
  }
  for (int64_t l = 0; l < kRun; ++l)
    out[o0 + l] = acc[l];
}

/// Bytes at a stride: strided byte loads do not vectorize, so the row is
/// split into its SW phases first (phase p holds padded[p + SW i]); tap k
/// of output o is then element o + k / SW of phase k % SW, and every tap
/// reads consecutive bytes.
template <typename T>
DS_INLINE void phasedWindowMax(const T *__restrict padded, int64_t KW, int64_t SW, int64_t OW,
                               T *__restrict out, T *__restrict phases) {
  const int64_t len = OW + (KW - 1) / SW;
  if (SW == 2 && KW >= 2 && len >= kRun) {
    // The last pair may read the byte after the row's last tap: the next
    // row's first, or the scratch's slack after the last row.
    for (int64_t i0 = 0; i0 + kRun <= len; i0 += kRun)
      splitPairs(padded, i0, phases, phases + len);
    if (len % kRun)
      splitPairs(padded, len - kRun, phases, phases + len);
  } else {
    for (int64_t p = 0; p < SW && p < KW; ++p) {
      // The taps of phase p reach element OW - 1 + (KW - 1 - p) / SW.
      const int64_t n = OW + (KW - 1 - p) / SW;
      for (int64_t i = 0; i < n; ++i)
        phases[p * len + i] = padded[p + SW * i];
    }
  }
  if (OW < kRun) {
    for (int64_t o = 0; o < OW; ++o) {
      T best = phases[o];
      for (int64_t k = 1; k < KW; ++k) {
        const T v = phases[(k % SW) * len + k / SW + o];
        best = v > best ? v : best;
      }
      out[o] = best;
    }
    return;
  }
  for (int64_t o0 = 0; o0 + kRun <= OW; o0 += kRun)
    phasedRun(phases, len, KW, SW, o0, out);
  if (OW % kRun)
    phasedRun(phases, len, KW, SW, OW - kRun, out);
}
DS_VECTORIZED void windowMax(const uint8_t *padded, int64_t KW, int64_t SW, int64_t OW,
                             uint8_t *out, uint8_t *phases) {
  if (SW == 1)
    return windowMaxBody(padded, KW, SW, OW, out);
  phasedWindowMax(padded, KW, SW, OW, out, phases);
}
DS_VECTORIZED void windowMax(const int8_t *padded, int64_t KW, int64_t SW, int64_t OW,
                             int8_t *out, int8_t *phases) {
  if (SW == 1)
    return windowMaxBody(padded, KW, SW, OW, out);
  phasedWindowMax(padded, KW, SW, OW, out, phases);
}

#if defined(__x86_64__)
/// Tap k of the 16 stride-2 windows from output o0: the even lanes of the
/// 32 padded columns from 2 * o0 + k (two loads, one permute).
__attribute__((target("avx512f"))) inline __m512 stride2Tap(const float *padded, int64_t o0,
                                                            int64_t k) {
  const __m512i evens =
      _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const float *src = padded + 2 * o0 + k;
  return _mm512_permutex2var_ps(_mm512_loadu_ps(src), evens, _mm512_loadu_ps(src + 16));
}

/// Outputs [o0, o0 + 16) of a stride-2 row: maxKeepingNaN tap by tap (v
/// where v > acc or v is NaN), then NaNs made quiet.
__attribute__((target("avx512f"))) inline void stride2Block(const float *padded, int64_t KW,
                                                            int64_t o0, float *out) {
  __m512 acc = stride2Tap(padded, o0, 0);
  for (int64_t k = 1; k < KW; ++k) {
    const __m512 v = stride2Tap(padded, o0, k);
    const __mmask16 take =
        _mm512_cmp_ps_mask(acc, v, _CMP_LT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    acc = _mm512_mask_mov_ps(acc, take, v);
  }
  const __mmask16 nan = _mm512_cmp_ps_mask(acc, acc, _CMP_UNORD_Q);
  const __m512 quiet = _mm512_set1_ps(std::numeric_limits<float>::quiet_NaN());
  _mm512_storeu_ps(out + o0, _mm512_mask_mov_ps(acc, nan, quiet));
}

/// windowMax for float at column stride 2 (at least 16 outputs) in
/// AVX-512 registers, where the generic loop's strided loads became
/// gathers. The same comparisons in the same order.
__attribute__((target("avx512f"))) void windowMaxStride2Avx512(const float *padded, int64_t KW,
                                                               int64_t OW, float *out) {
  for (int64_t o0 = 0; o0 + 16 <= OW; o0 += 16)
    stride2Block(padded, KW, o0, out);
  if (OW % 16) // the last block ends at OW, overlapping the one before
    stride2Block(padded, KW, OW - 16, out);
}
#endif

/// The window pass for this CPU and stride.
void windowMaxBest(const float *padded, int64_t KW, int64_t SW, int64_t OW, float *out) {
#if defined(__x86_64__)
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (avx512 && SW == 2 && OW >= 16)
    return windowMaxStride2Avx512(padded, KW, OW, out);
#endif
  windowMax(padded, KW, SW, OW, out);
}
void windowMaxBest(const double *padded, int64_t KW, int64_t SW, int64_t OW, double *out) {
  windowMax(padded, KW, SW, OW, out);
}
template <typename T> void phasedWindowMaxBest(const T *padded, int64_t KW, int64_t SW, int64_t OW, T *out) {
  // Per thread: the phases of one row (SW of them, OW + KW / SW bytes each).
  thread_local std::vector<T> phases;
  const size_t need = (size_t)(std::min(SW, KW) * (OW + (KW - 1) / SW));
  if (phases.size() < need)
    phases.resize(need);
  windowMax(padded, KW, SW, OW, out, phases.data());
}
void windowMaxBest(const uint8_t *padded, int64_t KW, int64_t SW, int64_t OW, uint8_t *out) {
  phasedWindowMaxBest(padded, KW, SW, OW, out);
}
void windowMaxBest(const int8_t *padded, int64_t KW, int64_t SW, int64_t OW, int8_t *out) {
  phasedWindowMaxBest(padded, KW, SW, OW, out);
}

/// What padding holds for the max: -inf, or an integer type's lowest value.
template <typename T> constexpr T paddingForMax() {
  return std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                              : std::numeric_limits<T>::lowest();
}

/// Output rows per pass: their column maxima are all written before any
/// is read back (reading a row's maxima right after storing them, at
/// other offsets, stalled on store forwarding).
constexpr int64_t kRowsPerPass = 8;

/// 2-D max pooling: for a group of output rows, each row's column maxima
/// over its window's rows (padded with -inf), then each output's max over
/// its window's columns. False where the padded row would be far longer
/// than the input's (pads from the artifact are not bounded: the generic
/// loop takes those).
template <typename T>
bool maxPool2D(KernelContext &ctx, const T *x, T *y, int64_t planes, const Window &w) {
  const int64_t H = w.in[0], W = w.in[1], OH = w.out[0], OW = w.out[1];
  const int64_t KH = w.kernel[0], KW = w.kernel[1], SH = w.strides[0], SW = w.strides[1];
  const int64_t PT = w.padBegin[0], PL = w.padBegin[1];
  if (H == 0 || W == 0) { // no input element: every window is padding (and the
                          // scratch is not sized by an empty input's other dim)
    std::fill(y, y + planes * OH * OW, std::numeric_limits<T>::lowest());
    return true;
  }
  // Padded columns the windows reach (ceil mode can reach past the end
  // padding), at least the input's, in double first: kernel and pads come
  // from the artifact unbounded, and the scratch is sized by them (the
  // generic loop takes windows far wider than the input).
  const double reach =
      std::max((double)PL + (double)W, (double)(OW - 1) * (double)SW + (double)KW);
  if (reach > 2.0 * (double)W + 4096.0)
    return false;
  const int64_t padded = (int64_t)reach;
  // Outputs whose windows hold no input column (pads as wide as the
  // window): the lowest value, as the generic loop gives them.
  const int64_t leading = std::min(OW, std::max<int64_t>(0, ceilDivSigned(PL - KW + 1, SW)));
  const int64_t trailing = std::max(leading, std::min(OW, ceilDivSigned(W + PL, SW)));
  const double rowWork = (double)OW * (double)KH * (double)KW;
  const int64_t grain = rowWork >= 2048.0 ? 1 : 2048 / std::max<int64_t>(1, (int64_t)rowWork);
  parallel(ctx, planes * OH, grain, [&](int64_t b, int64_t e) {
    // Per thread: kRowsPerPass padded rows; only [PL, PL + W) of each is
    // rewritten per output row. A vector's worth of -inf after the last
    // row: the stride-2 path loads 32 columns for 16 outputs, one past a
    // row that ends at the last window's end (the lane is not used).
    thread_local std::vector<T> scratch;
    const size_t need = (size_t)(kRowsPerPass * padded + kBlock);
    if (scratch.size() < need)
      scratch.resize(need);
    const T pad = paddingForMax<T>();
    for (int64_t g = 0; g < kRowsPerPass; ++g) {
      T *row = scratch.data() + g * padded;
      std::fill(row, row + PL, pad);
      std::fill(row + PL + W, row + padded, pad);
    }
    std::fill(scratch.data() + kRowsPerPass * padded, scratch.data() + need, pad);
    for (int64_t t0 = b; t0 < e; t0 += kRowsPerPass) {
      const int64_t t1 = std::min(e, t0 + kRowsPerPass);
      bool empty[kRowsPerPass];
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t h0 = (t % OH) * SH - PT;
        const int64_t hBegin = std::max<int64_t>(h0, 0), hEnd = std::min(h0 + KH, H);
        empty[t - t0] = hEnd <= hBegin; // the window's rows are all padding
        if (!empty[t - t0])
          columnMax(x + (t / OH) * H * W + hBegin * W, W, hEnd - hBegin,
                    scratch.data() + (t - t0) * padded + PL);
      }
      for (int64_t t = t0; t < t1; ++t) {
        T *yp = y + t * OW;
        if (empty[t - t0]) {
          std::fill(yp, yp + OW, std::numeric_limits<T>::lowest());
          continue;
        }
        windowMaxBest(scratch.data() + (t - t0) * padded, KW, SW, OW, yp);
        std::fill(yp, yp + leading, std::numeric_limits<T>::lowest());
        std::fill(yp + trailing, yp + OW, std::numeric_limits<T>::lowest());
      }
    }
  });
  return true;
}

template <typename T>
bool avgPool2D(KernelContext &ctx, const T *x, T *y, int64_t planes, const Window &w,
               bool includePad) {
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

} // namespace

template <typename T>
bool runPool2D(KernelContext &ctx, const T *x, T *y, int64_t planes, const Window &w, int kind,
               bool includePad) {
  if (w.spatial != 2 || kind == 2 || w.dilations[0] != 1 || w.dilations[1] != 1)
    return false;
  if (kind == 0)
    return maxPool2D(ctx, x, y, planes, w);
  if constexpr (std::is_floating_point_v<T>)
    return avgPool2D(ctx, x, y, planes, w, includePad);
  return false; // an integer average needs a wider sum: the generic loop
}

template bool runPool2D<float>(KernelContext &, const float *, float *, int64_t, const Window &,
                               int, bool);
template bool runPool2D<double>(KernelContext &, const double *, double *, int64_t, const Window &,
                                int, bool);
template bool runPool2D<uint8_t>(KernelContext &, const uint8_t *, uint8_t *, int64_t,
                                 const Window &, int, bool);
template bool runPool2D<int8_t>(KernelContext &, const int8_t *, int8_t *, int64_t, const Window &,
                                int, bool);

} // namespace dsrt::cpu
