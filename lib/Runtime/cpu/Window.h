//===- Window.h - sliding-window geometry of conv and pool ------*- C++ -*-===//
//
// The geometry ds.conv, ds.conv_integer, ds.conv_transpose and ds.pool
// share, and im2col, which lays the windows of a convolution out as GEMM
// columns.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_WINDOW_H
#define DS_RUNTIME_CPU_WINDOW_H

#include "cpu/KernelUtils.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace dsrt::cpu {

struct Window {
  int64_t spatial = 0;
  std::vector<int64_t> in, kernel, out, strides, padBegin, padEnd, dilations;
  int64_t inSize = 1, kernelSize = 1, outSize = 1;
  std::vector<int64_t> inStrides, outStrides, kernelStrides;

  void finish() {
    inSize = kernelSize = outSize = 1;
    for (int64_t d = 0; d < spatial; ++d) {
      inSize *= in[(size_t)d];
      kernelSize *= kernel[(size_t)d];
      outSize *= out[(size_t)d];
    }
    inStrides = stridesOf(in);
    outStrides = stridesOf(out);
    kernelStrides = stridesOf(kernel);
  }
};

/// Reads strides / pads / dilations for `spatial` dims (defaults 1 / 0 / 1).
Status readWindowAttrs(const char *op, const Attributes &attrs, int64_t spatial, Window &w);

/// Fills w.in / w.kernel / w.out from the spatial dims of `x`, a kernel shape
/// whose last w.spatial dims are the taps, and `y`.
void setWindowShapes(const Tensor &x, const std::vector<int64_t> &kernel, const Tensor &y,
                     Window &w);

/// ceil(a / b) for b > 0 and any sign of a.
inline int64_t ceilDivSigned(int64_t a, int64_t b) {
  return a >= 0 ? a / b + (a % b != 0) : -((-a) / b); // no a + b - 1: b may be near INT64_MAX
}

/// im2col for two spatial dims (see im2col): the common case, with the
/// geometry in scalars instead of per-dim vectors.
template <typename T>
void im2col2D(KernelContext &ctx, const T *x, int64_t channels, const Window &w, int64_t q0,
              int64_t q1, T *col, T pad) {
  const int64_t width = q1 - q0, H = w.in[0], W = w.in[1], OW = w.out[1];
  const int64_t KH = w.kernel[0], KW = w.kernel[1], SH = w.strides[0], SW = w.strides[1];
  const int64_t DH = w.dilations[0], DW = w.dilations[1], PT = w.padBegin[0], PL = w.padBegin[1];
  parallel(ctx, channels * KH * KW, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, width)),
           [&](int64_t rb, int64_t re) {
             for (int64_t r = rb; r < re; ++r) {
               const int64_t c = r / (KH * KW), kh = r / KW % KH, kw = r % KW;
               const T *xc = x + c * H * W;
               T *dst = col + r * width;
               for (int64_t q = q0; q < q1;) {
                 const int64_t oh = q / OW, ow = q % OW;
                 const int64_t run = std::min(OW - ow, q1 - q);
                 const int64_t ih = oh * SH - PT + kh * DH;
                 T *d0 = dst + (q - q0);
                 q += run;
                 if (ih < 0 || ih >= H) {
                   std::fill(d0, d0 + run, pad);
                   continue;
                 }
                 // Input column p0 + t * SW for output t of the run: zeros
                 // where it falls in the padding, the input row between.
                 const int64_t p0 = ow * SW - PL + kw * DW;
                 const int64_t lo = std::clamp<int64_t>(ceilDivSigned(-p0, SW), 0, run);
                 const int64_t hi = std::max(lo, std::clamp<int64_t>(ceilDivSigned(W - p0, SW), 0, run));
                 const T *xr = xc + ih * W + p0;
                 std::fill(d0, d0 + lo, pad);
                 if (SW == 1) {
                   std::memcpy(d0 + lo, xr + lo, (size_t)(hi - lo) * sizeof(T));
                 } else {
                   for (int64_t t = lo; t < hi; ++t)
                     d0[t] = xr[t * SW];
                 }
                 std::fill(d0 + hi, d0 + run, pad);
               }
             }
           });
}

/// col[r][q - q0] for rows r = (c, kernel offset) of `channels` channels and
/// output positions q in [q0, q1): the input element under that tap, or
/// `pad` (an integer convolution pads with its input's zero point).
template <typename T>
void im2col(KernelContext &ctx, const T *x, int64_t channels, const Window &w, int64_t q0,
            int64_t q1, T *col, T pad = T(0)) {
  if (w.spatial == 2)
    return im2col2D(ctx, x, channels, w, q0, q1, col, pad);
  int64_t width = q1 - q0, sp = w.spatial, last = sp - 1;
  parallel(ctx, channels * w.kernelSize, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, width)),
           [&](int64_t rb, int64_t re) {
             std::vector<int64_t> k((size_t)sp), o((size_t)sp);
             for (int64_t r = rb; r < re; ++r) {
               int64_t c = r / w.kernelSize, kf = r % w.kernelSize;
               for (int64_t d = 0; d < sp; ++d) {
                 k[(size_t)d] = kf / w.kernelStrides[(size_t)d];
                 kf %= w.kernelStrides[(size_t)d];
               }
               const T *xc = x + c * w.inSize;
               T *dst = col + r * width;
               int64_t rem = q0;
               for (int64_t d = 0; d < sp; ++d) {
                 o[(size_t)d] = rem / w.outStrides[(size_t)d];
                 rem %= w.outStrides[(size_t)d];
               }
               const int64_t kOff = k[(size_t)last] * w.dilations[(size_t)last] -
                                    w.padBegin[(size_t)last];
               const int64_t s = w.strides[(size_t)last], inLast = w.in[(size_t)last];
               int64_t q = q0;
               while (q < q1) {
                 int64_t off = 0;
                 bool ok = true;
                 for (int64_t d = 0; d < last; ++d) {
                   int64_t p = o[(size_t)d] * w.strides[(size_t)d] - w.padBegin[(size_t)d] +
                               k[(size_t)d] * w.dilations[(size_t)d];
                   if (p < 0 || p >= w.in[(size_t)d])
                     ok = false;
                   off += p * w.inStrides[(size_t)d];
                 }
                 int64_t run = std::min(w.out[(size_t)last] - o[(size_t)last], q1 - q);
                 T *d0 = dst + (q - q0);
                 if (!ok) {
                   std::fill(d0, d0 + run, pad);
                 } else {
                   const T *xr = xc + off;
                   int64_t p = o[(size_t)last] * s + kOff;
                   if (s == 1) {
                     // Zeros over the padding at either end, one copy between.
                     int64_t lo = std::clamp<int64_t>(-p, 0, run);
                     int64_t hi = std::max(lo, std::clamp<int64_t>(inLast - p, 0, run));
                     std::fill(d0, d0 + lo, pad);
                     std::memcpy(d0 + lo, xr + p + lo, (size_t)(hi - lo) * sizeof(T));
                     std::fill(d0 + hi, d0 + run, pad);
                   } else {
                     for (int64_t t = 0; t < run; ++t, p += s)
                       d0[t] = (p >= 0 && p < inLast) ? xr[p] : pad;
                   }
                 }
                 q += run;
                 o[(size_t)last] += run;
                 for (int64_t d = last; d > 0 && o[(size_t)d] >= w.out[(size_t)d]; --d) {
                   o[(size_t)d] = 0;
                   ++o[(size_t)(d - 1)];
                 }
               }
             }
           });
}

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_WINDOW_H
