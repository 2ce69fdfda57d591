//===- ConvKernels.cpp - conv, conv_transpose and pooling -----------------===//
//
// The sliding-window ops ds.conv, ds.conv_transpose and ds.pool, on a shared
// window geometry. A 2-D f32 conv on packed weights runs without im2col
// (cpu/DirectConv.h), a depthwise one directly (cpu/DepthwiseConv.h); the
// rest go through im2col / col2im and the GEMMs of cpu/Gemm.h and
// cpu/PackedGemm.h.
//
// Floating-point work runs in float (f32, f16, bf16) or double (f64);
// integer work runs exactly in 64-bit wrap-around arithmetic and is stored
// back into the result type (cpu/Gemm.h).
//
//===----------------------------------------------------------------------===//
#include "cpu/Bf16DirectConv.h"
#include "cpu/ContractionShapes.h"
#include "cpu/ConvByPixels.h"
#include "cpu/DepthwiseConv.h"
#include "cpu/DirectConv.h"
#include "cpu/Gemm.h"
#include "cpu/KernelUtils.h"
#include "cpu/Kernels.h"
#include "cpu/PackedConstants.h"
#include "cpu/PackedGemm.h"
#include "cpu/Pool2D.h"
#include "cpu/Window.h"
#include "cpu/WinogradConv.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace dsrt::cpu {

/// Reads strides / pads / dilations for `spatial` dims (defaults 1 / 0 / 1).
Status readWindowAttrs(const char *op, const Attributes &attrs, int64_t spatial, Window &w) {
  w.spatial = spatial;
  w.strides = attrs.getInts("strides");
  w.dilations = attrs.getInts("dilations");
  std::vector<int64_t> pads = attrs.getInts("pads");
  if (w.strides.empty())
    w.strides.assign((size_t)spatial, 1);
  if (w.dilations.empty())
    w.dilations.assign((size_t)spatial, 1);
  if (pads.empty())
    pads.assign((size_t)(2 * spatial), 0);
  if ((int64_t)w.strides.size() != spatial || (int64_t)w.dilations.size() != spatial ||
      (int64_t)pads.size() != 2 * spatial)
    return fail(op, "expected " + std::to_string(spatial) + " strides and dilations and " +
                        std::to_string(2 * spatial) + " pads");
  for (int64_t d = 0; d < spatial; ++d) {
    if (w.strides[(size_t)d] <= 0 || w.dilations[(size_t)d] <= 0)
      return fail(op, "strides and dilations must be positive");
    if (pads[(size_t)d] < 0 || pads[(size_t)(d + spatial)] < 0)
      return fail(op, "pads must be non-negative");
  }
  w.padBegin.assign(pads.begin(), pads.begin() + spatial);
  w.padEnd.assign(pads.begin() + spatial, pads.end());
  return Status();
}

/// Fills w.in / w.kernel / w.out from the spatial dims of `x`, a kernel shape
/// whose last w.spatial dims are the taps, and `y`.
void setWindowShapes(const Tensor &x, const std::vector<int64_t> &kernel, const Tensor &y,
                     Window &w) {
  const size_t first = x.shape.size() - (size_t)w.spatial;
  const size_t firstTap = kernel.size() - (size_t)w.spatial;
  for (size_t d = 0; d < (size_t)w.spatial; ++d) {
    w.in.push_back(x.shape[first + d]);
    w.kernel.push_back(kernel[firstTap + d]);
    w.out.push_back(y.shape[first + d]);
  }
}

namespace {

//===----------------------------------------------------------------------===//
// conv
//===----------------------------------------------------------------------===//

/// Convolution GEMMs of fewer multiply-adds stay on the library's
/// small-matrix kernel, which packs nothing (below).
constexpr int64_t kPackedProductMin = int64_t(1) << 16;

/// C = A B for the convolution's GEMMs: T operands into Y results, through
/// gemm<T> when they are one type and oneDNN's bf16 GEMM for bf16 (raw bits)
/// into f32. False when the bf16 GEMM was refused.
template <typename T, typename Y>
bool convGemm(KernelContext &ctx, int64_t M, int64_t N, int64_t K, const T *A, int64_t lda,
              const T *B, int64_t ldb, Y *C, int64_t ldc) {
  if constexpr (std::is_same_v<T, Y>) {
    gemm(ctx, false, false, false, M, N, K, A, lda, B, ldb, C, ldc, false);
    return true;
  } else {
    static_assert(std::is_same_v<T, uint16_t> && std::is_same_v<Y, float>);
    return gemmBf16(ctx, false, false, false, M, N, K, A, lda, B, ldb, C, ldc);
  }
}

/// The convolution of T data into Y results (T = Y, or bf16 bits into f32).
/// False when a GEMM was refused (only the bf16 one can be).
template <typename T, typename Y = T>
bool runConv(KernelContext &ctx, const T *x, const T *wt, const Y *bias, Y *y, int64_t N,
             int64_t C, int64_t M, int64_t group, const Window &w) {
  if constexpr (std::is_floating_point_v<T> && std::is_same_v<T, Y>)
    if (runDepthwise2D(ctx, x, wt, bias, y, N, C, M, group, w))
      return true;
  int64_t Cg = C / group, Mg = M / group;
  int64_t rows = Cg * w.kernelSize, OO = w.outSize;
  // 1 x 1 taps without padding: a GEMM on the input itself, or, strided,
  // on the pixels it reads gathered by im2col where the weights are packed
  // and the product large enough for the packed GEMM (the direct path's
  // padded copy would hold every stride phase of the input, four times what
  // a stride of 2 reads). A last short im2col tile of a huge map may still
  // take the library GEMM (tiles of 8M elements).
  bool unpadded1x1 = w.kernelSize == 1, pointwise = unpadded1x1;
  for (int64_t d = 0; d < w.spatial && unpadded1x1; ++d) {
    const size_t i = (size_t)d;
    unpadded1x1 = w.padBegin[i] == 0 && w.padEnd[i] == 0;
    pointwise = pointwise && unpadded1x1 && w.strides[i] == 1 && w.in[i] == w.out[i];
  }
  const bool gathersPixels = unpadded1x1 && Mg * OO * rows >= kPackedProductMin && ctx.packed &&
                             ctx.packed->findLeft(wt, Mg, rows);
  if constexpr (std::is_same_v<T, float> && std::is_same_v<Y, float>) {
    if (runConvByPixels(ctx, x, wt, bias, y, N, C, M, group, w))
      return true;
    if (!pointwise && !gathersPixels &&
        (runWinogradConv(ctx, x, wt, bias, y, N, C, M, group, w) ||
         runDirectConv2D(ctx, x, wt, bias, y, N, C, M, group, w)))
      return true;
  }
  // Output columns per im2col tile, keeping the buffer to about 8M elements.
  int64_t tile = std::max<int64_t>(1, std::min<int64_t>(OO, (int64_t)(8 << 20) / std::max<int64_t>(rows, 1)));
  if (tile < OO)
    tile = std::max<int64_t>(64, tile / 64 * 64);
  std::vector<T> col;
  if (!pointwise)
    col.resize((size_t)(rows * std::min(tile, OO)));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t g = 0; g < group; ++g) {
      const T *xg = x + (n * C + g * Cg) * w.inSize;
      const T *wg = wt + g * Mg * rows;
      Y *yg = y + (n * M + g * Mg) * OO;
      // yg[:, q0 : q0 + width] = wg . cols (rows x width, row stride ldb):
      // on the weights packed when the session started, else a library GEMM.
      const PackedLeftMatrix *packed = nullptr;
      if constexpr (std::is_same_v<T, float> && std::is_same_v<Y, float>)
        packed = ctx.packed ? ctx.packed->findLeft(wg, Mg, rows) : nullptr;
      auto product = [&](const T *cols, int64_t ldb, int64_t q0, int64_t width) {
        // (Products under 2^16 multiply-adds stay on the library's
        // small-matrix kernel, which packs nothing. At 2^20, the bound
        // before, the MobileNet's pointwise convolutions took OpenBLAS's
        // Haswell kernels where a shell forces them: 0.210 -> 0.195 ms at
        // 2^16, and no change with OpenBLAS's own choice.)
        if constexpr (std::is_same_v<T, float> && std::is_same_v<Y, float>)
          if (packed && Mg * width * rows >= kPackedProductMin) {
            packedLeftGemm(ctx, *packed, cols, ldb, width, yg + q0, OO, false);
            return true;
          }
        return convGemm(ctx, Mg, width, rows, wg, rows, cols, ldb, yg + q0, OO);
      };
      if (pointwise) {
        if (!product(xg, w.inSize, 0, OO))
          return false;
        continue;
      }
      for (int64_t q0 = 0; q0 < OO; q0 += tile) {
        int64_t q1 = std::min(OO, q0 + tile), width = q1 - q0;
        im2col(ctx, xg, Cg, w, q0, q1, col.data());
        if (!product(col.data(), width, q0, width))
          return false;
      }
    }
  if (bias)
    parallel(ctx, N * M, std::max<int64_t>(1, 16384 / std::max<int64_t>(OO, 1)),
             [&](int64_t b, int64_t e) {
               for (int64_t r = b; r < e; ++r) {
                 Y bv = bias[r % M];
                 Y *row = y + r * OO;
                 for (int64_t i = 0; i < OO; ++i)
                   row[i] += bv;
               }
             });
  return true;
}

/// A bf16 convolution on oneDNN's bf16 GEMM: im2col copies bf16 bits, the
/// GEMM accumulates in f32, bias is added in f32 and each result rounded to
/// bf16 once. False when oneDNN is absent or refused (the f32 path runs).
bool runConvBf16(KernelContext &ctx, const Tensor &x, const Tensor &wt, const Tensor *bias,
                 Tensor &y, int64_t N, int64_t C, int64_t M, int64_t group, const Window &w) {
  // Depthwise convolutions have no GEMM; they take the f32 path.
  if (!dnnl::available() || (group == C && group == M))
    return false;
  std::vector<float> sb, sy;
  const float *B = bias ? viewAs<float>(*bias, sb) : nullptr;
  float *Y = outputAs<float>(y, sy);
  if (!runConv<uint16_t, float>(ctx, x.as<uint16_t>(), wt.as<uint16_t>(), B, Y, N, C, M, group, w))
    return false;
  finishOutput<float>(y, Y);
  return true;
}

Status convKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                  const Outputs &out) {
  const char *op = "ds.conv";
  if (Status s = need(op, in, out, 2, 1); !s)
    return s;
  const Tensor &x = *in[0], &wt = *in[1];
  const Tensor *bias = in.size() > 2 ? in[2] : nullptr;
  Tensor &y = *out[0];
  int64_t rank = x.rank();
  if (rank < 3 || wt.rank() != rank || y.rank() != rank)
    return fail(op, "needs input, weight and result of equal rank >= 3, got " +
                        shapeText(x.shape) + ", " + shapeText(wt.shape));
  if (wt.dtype != x.dtype || y.dtype != x.dtype || (bias && bias->dtype != x.dtype))
    return fail(op, "operands differ in element type");
  // The shape function checks group, bias and window with overflow checks
  // before any of the arithmetic below.
  if (Status s = checkResultShape(op, convShape, attrs, in, y); !s)
    return s;
  int64_t group = attrs.getInt("group", 1);
  int64_t N = x.shape[0], C = x.shape[1], M = wt.shape[0];
  if (group <= 0 || C != wt.shape[1] * group || M % group)
    return fail(op, "input " + shapeText(x.shape) + " and weight " + shapeText(wt.shape) +
                        " do not match group " + std::to_string(group));
  if (bias && (bias->rank() != 1 || bias->shape[0] != M))
    return fail(op, "bias must be 1-D with " + std::to_string(M) + " elements");
  Window w;
  if (Status s = readWindowAttrs(op, attrs, rank - 2, w); !s)
    return s;
  setWindowShapes(x, wt.shape, y, w);
  w.finish();
  if (y.numel() == 0)
    return Status();
  Compute kind = computeOf(x.dtype);
  if (kind == Compute::None)
    return fail(op, std::string("unsupported element type ") + dtypeName(x.dtype));
  if (x.dtype == DS_BF16 &&
      (runBf16DirectConv2D(ctx, x.as<uint16_t>(), wt.as<uint16_t>(),
                           bias ? bias->as<uint16_t>() : nullptr, y.as<uint16_t>(), N, C, M,
                           group, w) ||
       runConvBf16(ctx, x, wt, bias, y, N, C, M, group, w)))
    return Status();
  auto run = [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> sx, sw, sb, sy;
    const T *X = viewAs<T>(x, sx), *W = nullptr;
    // f16 weights widened at load: the f32 packed forms are found by that
    // copy's address (Session::packWeights).
    if constexpr (std::is_same_v<T, float>)
      if (wt.dtype == DS_F16 && ctx.packed)
        W = ctx.packed->findWidenedCopy(wt.data, wt.numel());
    if (!W)
      W = viewAs<T>(wt, sw);
    const T *B = bias ? viewAs<T>(*bias, sb) : nullptr;
    T *Y = outputAs<T>(y, sy);
    runConv<T>(ctx, X, W, B, Y, N, C, M, group, w);
    finishOutput<T>(y, Y);
  };
  if (kind == Compute::F32)
    run(float());
  else if (kind == Compute::F64)
    run(double());
  else
    run(uint64_t());
  return Status();
}

//===----------------------------------------------------------------------===//
// conv_transpose
//===----------------------------------------------------------------------===//

/// Scatter-adds col[(m, kernel offset)][q - q0] for input positions q in
/// [q0, q1) into y[m][output position].
template <typename T>
void col2im(KernelContext &ctx, const T *col, int64_t channels, const Window &w, int64_t q0,
            int64_t q1, T *y) {
  int64_t width = q1 - q0, sp = w.spatial;
  parallel(ctx, channels, 1, [&](int64_t mb, int64_t me) {
    std::vector<int64_t> k((size_t)sp), i((size_t)sp);
    for (int64_t m = mb; m < me; ++m) {
      T *ym = y + m * w.outSize;
      for (int64_t kf0 = 0; kf0 < w.kernelSize; ++kf0) {
        int64_t kf = kf0;
        for (int64_t d = 0; d < sp; ++d) {
          k[(size_t)d] = kf / w.kernelStrides[(size_t)d];
          kf %= w.kernelStrides[(size_t)d];
        }
        const T *src = col + (m * w.kernelSize + kf0) * width;
        int64_t rem = q0;
        for (int64_t d = 0; d < sp; ++d) {
          i[(size_t)d] = rem / w.inStrides[(size_t)d];
          rem %= w.inStrides[(size_t)d];
        }
        for (int64_t q = q0; q < q1; ++q) {
          int64_t off = 0;
          bool ok = true;
          for (int64_t d = 0; d < sp && ok; ++d) {
            int64_t p = i[(size_t)d] * w.strides[(size_t)d] - w.padBegin[(size_t)d] +
                        k[(size_t)d] * w.dilations[(size_t)d];
            ok = p >= 0 && p < w.out[(size_t)d];
            off += p * w.outStrides[(size_t)d];
          }
          if (ok)
            ym[off] += src[q - q0];
          for (int64_t d = sp - 1; d >= 0; --d) {
            if (++i[(size_t)d] < w.in[(size_t)d])
              break;
            i[(size_t)d] = 0;
          }
        }
      }
    }
  });
}

template <typename T>
void runConvTranspose(KernelContext &ctx, const T *x, const T *wt, const T *bias, T *y,
                      int64_t N, int64_t C, int64_t M, int64_t group, const Window &w) {
  int64_t Cg = C / group, Mg = M / group;
  int64_t rows = Mg * w.kernelSize, II = w.inSize, OO = w.outSize;
  int64_t tile = std::max<int64_t>(1, std::min<int64_t>(II, (int64_t)(8 << 20) / std::max<int64_t>(rows, 1)));
  std::vector<T> col((size_t)(rows * tile));
  for (int64_t n = 0; n < N; ++n) {
    T *yn = y + n * M * OO;
    for (int64_t m = 0; m < M; ++m)
      std::fill(yn + m * OO, yn + (m + 1) * OO, bias ? bias[m] : T(0));
    for (int64_t g = 0; g < group; ++g) {
      const T *xg = x + (n * C + g * Cg) * II;
      const T *wg = wt + g * Cg * rows; // [Cg, Mg * KK]
      for (int64_t q0 = 0; q0 < II; q0 += tile) {
        int64_t q1 = std::min(II, q0 + tile), width = q1 - q0;
        // col[Mg*KK, width] = wg^T [Mg*KK, Cg] x xg[:, q0:q1]
        gemm(ctx, false, true, false, rows, width, Cg, wg, rows, xg + q0, II, col.data(), width,
             false);
        col2im(ctx, col.data(), Mg, w, q0, q1, yn + g * Mg * OO);
      }
    }
  }
}

Status convTransposeKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                           const Outputs &out) {
  const char *op = "ds.conv_transpose";
  if (Status s = need(op, in, out, 2, 1); !s)
    return s;
  const Tensor &x = *in[0], &wt = *in[1];
  const Tensor *bias = in.size() > 2 ? in[2] : nullptr;
  Tensor &y = *out[0];
  int64_t rank = x.rank();
  if (rank < 3 || wt.rank() != rank || y.rank() != rank)
    return fail(op, "needs input, weight and result of equal rank >= 3");
  if (wt.dtype != x.dtype || y.dtype != x.dtype || (bias && bias->dtype != x.dtype))
    return fail(op, "operands differ in element type");
  // output_padding only sizes the result; the shape function checks it, the
  // group and the window with overflow checks before the arithmetic below.
  if (Status s = checkResultShape(op, convTransposeShape, attrs, in, y); !s)
    return s;
  int64_t group = attrs.getInt("group", 1);
  int64_t N = x.shape[0], C = x.shape[1];
  if (group <= 0 || wt.shape[0] != C || C % group)
    return fail(op, "input " + shapeText(x.shape) + " and weight " + shapeText(wt.shape) +
                        " do not match group " + std::to_string(group));
  int64_t M = wt.shape[1] * group;
  if (bias && (bias->rank() != 1 || bias->shape[0] != M))
    return fail(op, "bias must be 1-D with " + std::to_string(M) + " elements");
  Window w;
  if (Status s = readWindowAttrs(op, attrs, rank - 2, w); !s)
    return s;
  setWindowShapes(x, wt.shape, y, w);
  w.finish();
  if (y.numel() == 0)
    return Status();
  Compute kind = computeOf(x.dtype);
  if (kind == Compute::None)
    return fail(op, std::string("unsupported element type ") + dtypeName(x.dtype));
  auto run = [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> sx, sw, sb, sy;
    const T *X = viewAs<T>(x, sx), *W = viewAs<T>(wt, sw);
    const T *B = bias ? viewAs<T>(*bias, sb) : nullptr;
    T *Y = outputAs<T>(y, sy);
    runConvTranspose<T>(ctx, X, W, B, Y, N, C, M, group, w);
    finishOutput<T>(y, Y);
  };
  if (kind == Compute::F32)
    run(float());
  else if (kind == Compute::F64)
    run(double());
  else
    run(uint64_t());
  return Status();
}

//===----------------------------------------------------------------------===//
// pool
//===----------------------------------------------------------------------===//

template <typename T>
void runPool(KernelContext &ctx, const T *x, T *y, int64_t planes, const Window &w, int kind,
             bool includePad, int64_t p) {
  if (runPool2D(ctx, x, y, planes, w, kind, includePad))
    return;
  int64_t sp = w.spatial;
  parallel(ctx, planes * w.outSize, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, w.kernelSize)),
           [&](int64_t b, int64_t e) {
             std::vector<int64_t> o((size_t)sp), start((size_t)sp);
             for (int64_t t = b; t < e; ++t) {
               int64_t plane = t / w.outSize, rem = t % w.outSize;
               for (int64_t d = 0; d < sp; ++d) {
                 o[(size_t)d] = rem / w.outStrides[(size_t)d];
                 rem %= w.outStrides[(size_t)d];
                 start[(size_t)d] = o[(size_t)d] * w.strides[(size_t)d] - w.padBegin[(size_t)d];
               }
               const T *xp = x + plane * w.inSize;
               double acc = kind == 0 ? -std::numeric_limits<double>::infinity() : 0.0;
               bool any = false, sawNan = false;
               int64_t valid = 0, padded = 0;
               for (int64_t kf = 0; kf < w.kernelSize; ++kf) {
                 int64_t r = kf, off = 0;
                 bool in = true, inPadded = true;
                 for (int64_t d = 0; d < sp; ++d) {
                   int64_t k = r / w.kernelStrides[(size_t)d];
                   r %= w.kernelStrides[(size_t)d];
                   int64_t pos = start[(size_t)d] + k * w.dilations[(size_t)d];
                   if (pos < 0 || pos >= w.in[(size_t)d])
                     in = false;
                   if (pos < -w.padBegin[(size_t)d] || pos >= w.in[(size_t)d] + w.padEnd[(size_t)d])
                     inPadded = false;
                   off += pos * w.inStrides[(size_t)d];
                 }
                 if (inPadded)
                   ++padded;
                 if (!in)
                   continue;
                 ++valid;
                 double v = (double)xp[off];
                 if (kind == 0) {
                   if (std::isnan(v))
                     sawNan = true;
                   if (!any || v > acc)
                     acc = v;
                   any = true;
                 } else if (kind == 1) {
                   acc += v;
                 } else {
                   double a = std::fabs(v);
                   acc += p == 1 ? a : p == 2 ? a * a : std::pow(a, (double)p);
                 }
               }
               double result;
               if (kind == 0)
                 result = sawNan ? std::numeric_limits<double>::quiet_NaN()
                          : any  ? acc
                                 : (double)std::numeric_limits<T>::lowest();
               else if (kind == 1) {
                 int64_t count = includePad ? padded : valid;
                 result = count ? acc / (double)count : 0.0;
               } else {
                 result = p == 1 ? acc : p == 2 ? std::sqrt(acc) : std::pow(acc, 1.0 / (double)p);
               }
               y[t] = (T)result;
             }
           });
}

Status poolKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                  const Outputs &out) {
  const char *op = "ds.pool";
  if (Status s = need(op, in, out, 1, 1); !s)
    return s;
  const Tensor &x = *in[0];
  Tensor &y = *out[0];
  int64_t rank = x.rank();
  std::string kindText = attrs.getString("kind"); // required (ds_op_attributes.def)
  int kind = kindText == "max" ? 0 : kindText == "avg" ? 1 : kindText == "lp" ? 2 : -1;
  if (kind < 0)
    return fail(op, "unknown pool kind '" + kindText + "'");
  std::vector<int64_t> kernel = attrs.getInts("kernel_shape");
  if (rank < 3 || (int64_t)kernel.size() != rank - 2 || y.rank() != rank ||
      y.dtype != x.dtype)
    return fail(op, "needs an input of rank >= 3 and one kernel dim per spatial dim");
  Window w;
  if (Status s = readWindowAttrs(op, attrs, rank - 2, w); !s)
    return s;
  if (y.shape[0] != x.shape[0] || y.shape[1] != x.shape[1])
    return fail(op, "result " + shapeText(y.shape) + " differs from input " +
                        shapeText(x.shape) + " in batch or channels");
  // kernel_shape and ceil_mode only size the result (checked there).
  if (Status s = checkResultShape(op, poolShape, attrs, in, y); !s)
    return s;
  setWindowShapes(x, kernel, y, w);
  w.finish();
  int64_t p = attrs.getInt("p", 2);
  if (kind == 2 && p <= 0)
    return fail(op, "p must be positive");
  bool includePad = attrs.getInt("count_include_pad", 0) != 0;
  int64_t planes = x.shape[0] * x.shape[1];
  if (y.numel() == 0)
    return Status();
  if (x.dtype == DS_F32) {
    runPool<float>(ctx, x.as<float>(), y.as<float>(), planes, w, kind, includePad, p);
    return Status();
  }
  if (x.dtype == DS_F64) {
    runPool<double>(ctx, x.as<double>(), y.as<double>(), planes, w, kind, includePad, p);
    return Status();
  }
  if (kind == 0 && x.dtype == DS_U8 &&
      runPool2D(ctx, x.as<uint8_t>(), y.as<uint8_t>(), planes, w, kind, includePad))
    return Status();
  if (kind == 0 && x.dtype == DS_I8 &&
      runPool2D(ctx, x.as<int8_t>(), y.as<int8_t>(), planes, w, kind, includePad))
    return Status();
  // A half-precision max pool widens to f32, pools there and narrows back:
  // every result is one of the inputs or NaN, so narrowing it is exact (a
  // window wholly in padding, f32's lowest value, narrows to -inf, as the
  // decoding loop below gives it). That loop took 5.6 of a bf16
  // ResNet-18's 24 ms.
  // Planes a few at a time on each thread, so that the f32 copies stay
  // small and in cache (whole-tensor copies of a bf16 ResNet's stem output
  // were 6.4 MiB, mapped afresh on every run).
  if (kind == 0 && (x.dtype == DS_F16 || x.dtype == DS_BF16)) {
    const int64_t inPlane = w.inSize, outPlane = w.outSize;
    const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, inPlane));
    KernelContext serial = ctx;
    serial.parallelFor = nullptr;
    // A thread's share of the planes, `grain` at a time through its buffers.
    parallel(ctx, planes, grain, [&](int64_t begin, int64_t end) {
      ThreadStorage<float, 2> storage;
      for (int64_t p0 = begin; p0 < end; p0 += grain) {
        const int64_t n = std::min(grain, end - p0);
        storage[0].resize((size_t)(n * inPlane));
        storage[1].resize((size_t)(n * outPlane));
        widenToFloatN(x.dtype, x.as<uint16_t>() + p0 * inPlane, storage[0].data(), n * inPlane);
        runPool<float>(serial, storage[0].data(), storage[1].data(), n, w, kind, includePad, p);
        narrowFromFloatN(y.dtype, storage[1].data(), y.as<uint16_t>() + p0 * outPlane,
                         n * outPlane);
      }
    });
    return Status();
  }
  if (!isIntegerType(x.dtype) && x.dtype != DS_F16 && x.dtype != DS_BF16)
    return fail(op, std::string("unsupported element type ") + dtypeName(x.dtype));
  if (kind != 0 && isIntegerType(x.dtype))
    return fail(op, std::string("average / Lp pooling needs a floating-point input, got ") +
                        dtypeName(x.dtype));
  std::vector<double> xd((size_t)x.numel()), yd((size_t)y.numel());
  for (int64_t i = 0; i < x.numel(); ++i)
    xd[(size_t)i] = loadAsDouble(x, i);
  runPool<double>(ctx, xd.data(), yd.data(), planes, w, kind, includePad, p);
  // A max window wholly in the padding is the lowest double: for integers
  // the type's lowest value, as cpu/Pool2D.cpp gives it (the conversion of
  // -DBL_MAX to an integer is undefined).
  const bool integer = isIntegerType(y.dtype);
  const int64_t lowest = isUnsignedInt(y.dtype)  ? 0
                         : dtypeSize(y.dtype) >= 8 ? std::numeric_limits<int64_t>::min()
                                                  : -(int64_t(1) << (8 * dtypeSize(y.dtype) - 1));
  for (int64_t i = 0; i < y.numel(); ++i) {
    if (integer && yd[(size_t)i] < -9.2e18)
      storeInt(y, i, lowest);
    else
      storeDouble(y, i, yd[(size_t)i]);
  }
  return Status();
}

} // namespace

void registerWindowKernels(KernelTable &table) {
  table["ds.conv"] = CpuOp(convKernel, convShape);
  table["ds.conv_transpose"] = CpuOp(convTransposeKernel, convTransposeShape);
  table["ds.pool"] = CpuOp(poolKernel, poolShape);
}

} // namespace dsrt::cpu
