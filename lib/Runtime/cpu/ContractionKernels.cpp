//===- ContractionKernels.cpp - matmul, conv, pooling, einsum, attention --===//
//
// Floating-point work runs in float (f32, f16, bf16) or double (f64);
// integer work runs exactly in 64-bit wrap-around arithmetic and is stored
// back into the result type. f32/f64 GEMMs go to OpenBLAS when it can be
// loaded (cpu/Blas.h), otherwise to a portable blocked loop.
//
//===----------------------------------------------------------------------===//
#include "cpu/Blas.h"
#include "cpu/ContractionShapes.h"
#include "cpu/KernelUtils.h"
#include "cpu/Kernels.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace dsrt::cpu {
namespace {

/// The arithmetic a kernel runs in for an element type.
enum class Compute { F32, F64, Int, None };

Compute computeOf(DType t) {
  switch (t) {
  case DS_F32: case DS_F16: case DS_BF16: return Compute::F32;
  case DS_F64: return Compute::F64;
  default: return isIntegerType(t) ? Compute::Int : Compute::None;
  }
}

/// The elements of `t` as T (float, double or uint64_t two's complement),
/// without a copy when `t` already holds T.
template <typename T> const T *viewAs(const Tensor &t, std::vector<T> &storage) {
  if constexpr (std::is_same_v<T, float>) {
    if (t.dtype == DS_F32)
      return t.as<float>();
  } else if constexpr (std::is_same_v<T, double>) {
    if (t.dtype == DS_F64)
      return t.as<double>();
  }
  int64_t n = t.numel();
  storage.resize((size_t)n);
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<T, uint64_t>)
      storage[(size_t)i] = (uint64_t)loadAsInt(t, i);
    else
      storage[(size_t)i] = (T)loadAsDouble(t, i);
  }
  return storage.data();
}

/// A T buffer for writing `t`: its own memory when it holds T, else `storage`.
template <typename T> T *outputAs(Tensor &t, std::vector<T> &storage) {
  if constexpr (std::is_same_v<T, float>) {
    if (t.dtype == DS_F32)
      return t.as<float>();
  } else if constexpr (std::is_same_v<T, double>) {
    if (t.dtype == DS_F64)
      return t.as<double>();
  }
  storage.assign((size_t)t.numel(), T(0));
  return storage.data();
}

/// Stores `storage` into `t` if outputAs handed out the storage.
template <typename T> void finishOutput(Tensor &t, const T *buffer) {
  if (buffer == t.data)
    return;
  int64_t n = t.numel();
  if constexpr (std::is_same_v<T, uint64_t>) {
    for (int64_t i = 0; i < n; ++i)
      storeInt(t, i, (int64_t)buffer[i]);
  } else if constexpr (std::is_same_v<T, float>) {
    if (t.dtype == DS_F16) {
      for (int64_t i = 0; i < n; ++i)
        t.as<uint16_t>()[i] = floatToHalf(buffer[i]);
      return;
    }
    if (t.dtype == DS_BF16) {
      for (int64_t i = 0; i < n; ++i)
        t.as<uint16_t>()[i] = floatToBf16(buffer[i]);
      return;
    }
    for (int64_t i = 0; i < n; ++i)
      storeDouble(t, i, buffer[i]);
  } else {
    for (int64_t i = 0; i < n; ++i)
      storeDouble(t, i, buffer[i]);
  }
}

//===----------------------------------------------------------------------===//
// GEMM
//===----------------------------------------------------------------------===//

/// Rows [i0, i1) of C (+)= op(A) op(B), op(A) M x K, op(B) K x N, row-major.
template <typename T>
void gemmRows(bool transA, bool transB, int64_t i0, int64_t i1, int64_t N, int64_t K,
              const T *A, int64_t lda, const T *B, int64_t ldb, T *C, int64_t ldc,
              bool accumulate) {
  auto a = [&](int64_t i, int64_t k) { return transA ? A[k * lda + i] : A[i * lda + k]; };
  if (!accumulate)
    for (int64_t i = i0; i < i1; ++i)
      std::fill(C + i * ldc, C + i * ldc + N, T(0));
  if (!transB) {
    constexpr int64_t JB = 256;
    for (int64_t jb = 0; jb < N; jb += JB) {
      int64_t jn = std::min(JB, N - jb);
      int64_t i = i0;
      for (; i + 4 <= i1; i += 4) {
        T *c0 = C + i * ldc + jb, *c1 = c0 + ldc, *c2 = c1 + ldc, *c3 = c2 + ldc;
        for (int64_t k = 0; k < K; ++k) {
          const T *b = B + k * ldb + jb;
          T a0 = a(i, k), a1 = a(i + 1, k), a2 = a(i + 2, k), a3 = a(i + 3, k);
          for (int64_t j = 0; j < jn; ++j) {
            T bv = b[j];
            c0[j] += a0 * bv;
            c1[j] += a1 * bv;
            c2[j] += a2 * bv;
            c3[j] += a3 * bv;
          }
        }
      }
      for (; i < i1; ++i) {
        T *c = C + i * ldc + jb;
        for (int64_t k = 0; k < K; ++k) {
          const T *b = B + k * ldb + jb;
          T av = a(i, k);
          for (int64_t j = 0; j < jn; ++j)
            c[j] += av * b[j];
        }
      }
    }
    return;
  }
  for (int64_t i = i0; i < i1; ++i) {
    T *c = C + i * ldc;
    for (int64_t j = 0; j < N; ++j) {
      const T *b = B + j * ldb;
      T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      int64_t k = 0;
      if (!transA) {
        const T *ar = A + i * lda;
        for (; k + 4 <= K; k += 4) {
          s0 += ar[k] * b[k];
          s1 += ar[k + 1] * b[k + 1];
          s2 += ar[k + 2] * b[k + 2];
          s3 += ar[k + 3] * b[k + 3];
        }
      }
      for (; k < K; ++k)
        s0 += a(i, k) * b[k];
      c[j] += (s0 + s1) + (s2 + s3);
    }
  }
}

template <typename T> constexpr bool blasType() {
  return std::is_same_v<T, float> || std::is_same_v<T, double>;
}

bool fitsBlas(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f) {
  for (int64_t v : {a, b, c, d, e, f})
    if (v > INT_MAX)
      return false;
  return true;
}

/// Most row blocks a BLAS GEMM is split into for the session's threads.
constexpr int64_t kGemmBlocks = 16;

/// C (+)= op(A) op(B). Parallel (through `ctx`) unless called inside a
/// parallel region (`nested`).
template <typename T>
void gemm(KernelContext &ctx, bool nested, bool transA, bool transB, int64_t M, int64_t N,
          int64_t K, const T *A, int64_t lda, const T *B, int64_t ldb, T *C, int64_t ldc,
          bool accumulate) {
  if (M <= 0 || N <= 0)
    return;
  if (K <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; ++i)
        std::fill(C + i * ldc, C + i * ldc + N, T(0));
    return;
  }
  if constexpr (blasType<T>()) {
    if (blas::available() && fitsBlas(M, N, K, lda, ldb, ldc)) {
      // Single-threaded BLAS calls on row blocks spread over the session's
      // pool, so that only one set of threads competes for the cores.
      auto rowsGemm = [&](int64_t b, int64_t e) {
        const T *a = transA ? A + b : A + b * lda;
        if constexpr (std::is_same_v<T, float>)
          blas::sgemm(transA, transB, (int)(e - b), (int)N, (int)K, 1.0f, a, (int)lda, B,
                      (int)ldb, accumulate ? 1.0f : 0.0f, C + b * ldc, (int)ldc);
        else
          blas::dgemm(transA, transB, (int)(e - b), (int)N, (int)K, 1.0, a, (int)lda, B,
                      (int)ldb, accumulate ? 1.0 : 0.0, C + b * ldc, (int)ldc);
      };
      if (nested || M * N * K < (1 << 18)) {
        rowsGemm(0, M);
        return;
      }
      // Row blocks sized from the shape alone: OpenBLAS picks its kernel
      // (small-matrix or blocked, with different summation orders) by the
      // call's shape, so blocks that followed the thread count made results
      // differ in the last bit between thread counts.
      int64_t rows = std::max<int64_t>(32, (M + kGemmBlocks - 1) / kGemmBlocks);
      rows = (rows + 15) / 16 * 16;
      int64_t blocks = (M + rows - 1) / rows;
      parallel(ctx, blocks, 1, [&](int64_t b, int64_t e) {
        for (int64_t block = b; block < e; ++block)
          rowsGemm(block * rows, std::min(M, (block + 1) * rows));
      });
      return;
    }
  }
  if (nested) {
    gemmRows(transA, transB, 0, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
    return;
  }
  int64_t grain = std::max<int64_t>(4, (1 << 16) / std::max<int64_t>(1, N * K));
  parallel(ctx, M, grain, [&](int64_t b, int64_t e) {
    gemmRows(transA, transB, b, e, N, K, A, lda, B, ldb, C, ldc, accumulate);
  });
}

//===----------------------------------------------------------------------===//
// matmul
//===----------------------------------------------------------------------===//

template <typename T>
void runMatmul(KernelContext &ctx, const T *A, const T *B, T *C, int64_t batch,
               const std::vector<int64_t> &aOff, const std::vector<int64_t> &bOff, int64_t M,
               int64_t N, int64_t K) {
  bool bShared = true, aDense = true;
  for (int64_t i = 0; i < batch; ++i) {
    bShared &= bOff[(size_t)i] == 0;
    aDense &= aOff[(size_t)i] == i;
  }
  if (bShared && aDense) { // one GEMM with the batch folded into the rows
    gemm(ctx, false, false, false, batch * M, N, K, A, K, B, N, C, N, false);
    return;
  }
  if (blasType<T>() && blas::available() && M * N * K >= 32768) {
    for (int64_t i = 0; i < batch; ++i)
      gemm(ctx, false, false, false, M, N, K, A + aOff[(size_t)i] * M * K, K,
           B + bOff[(size_t)i] * K * N, N, C + i * M * N, N, false);
    return;
  }
  // Small matrices: parallel over (batch, row) with the portable kernel.
  int64_t grain = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, N * K));
  parallel(ctx, batch * M, grain, [&](int64_t b, int64_t e) {
    while (b < e) {
      int64_t i = b / M, r0 = b % M, r1 = std::min(M, r0 + (e - b));
      gemmRows(false, false, r0, r1, N, K, A + aOff[(size_t)i] * M * K, K,
               B + bOff[(size_t)i] * K * N, N, C + i * M * N, N, false);
      b += r1 - r0;
    }
  });
}

Status matmulKernel(KernelContext &ctx, const Attributes &, const Inputs &in,
                    const Outputs &out) {
  const char *op = "ds.matmul";
  if (Status s = need(op, in, out, 2, 1); !s)
    return s;
  const Tensor &a = *in[0], &b = *in[1];
  Tensor &y = *out[0];
  if (a.rank() < 1 || b.rank() < 1)
    return fail(op, "operands must have rank >= 1");
  if (a.dtype != b.dtype || y.dtype != a.dtype)
    return fail(op, std::string("operands and result differ in element type: ") +
                        dtypeName(a.dtype) + ", " + dtypeName(b.dtype) + " -> " +
                        dtypeName(y.dtype));
  std::vector<int64_t> as = a.shape, bs = b.shape;
  bool aVec = as.size() == 1, bVec = bs.size() == 1;
  if (aVec)
    as.insert(as.begin(), 1);
  if (bVec)
    bs.push_back(1);
  int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  if (bs[bs.size() - 2] != K)
    return fail(op, "contraction dims differ: " + shapeText(a.shape) + " times " +
                        shapeText(b.shape));
  std::vector<int64_t> aBatch(as.begin(), as.end() - 2), bBatch(bs.begin(), bs.end() - 2);
  size_t br = std::max(aBatch.size(), bBatch.size());
  std::vector<int64_t> batchShape(br, 1);
  for (size_t i = 0; i < br; ++i) {
    int64_t da = i + aBatch.size() >= br ? aBatch[i + aBatch.size() - br] : 1;
    int64_t db = i + bBatch.size() >= br ? bBatch[i + bBatch.size() - br] : 1;
    if (da != db && da != 1 && db != 1)
      return fail(op, "batch dims do not broadcast: " + shapeText(a.shape) + " times " +
                          shapeText(b.shape));
    batchShape[i] = da == 1 ? db : da;
  }
  std::vector<int64_t> expect = batchShape;
  if (!aVec)
    expect.push_back(M);
  if (!bVec)
    expect.push_back(N);
  if (expect != y.shape)
    return fail(op, "result " + shapeText(y.shape) + " should be " + shapeText(expect));
  Compute kind = computeOf(a.dtype);
  if (kind == Compute::None)
    return fail(op, std::string("unsupported element type ") + dtypeName(a.dtype));
  int64_t batch = 1;
  for (int64_t d : batchShape)
    batch *= d;
  std::vector<int64_t> aOff((size_t)batch), bOff((size_t)batch);
  {
    std::vector<int64_t> aStr = broadcastStrides(aBatch, batchShape),
                         bStr = broadcastStrides(bBatch, batchShape),
                         outStr = stridesOf(batchShape);
    for (int64_t i = 0; i < batch; ++i) {
      aOff[(size_t)i] = batchShape.empty() ? 0 : mapIndex(i, outStr, aStr);
      bOff[(size_t)i] = batchShape.empty() ? 0 : mapIndex(i, outStr, bStr);
    }
  }
  if (y.numel() == 0)
    return Status();
  auto run = [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> sa, sb, sy;
    const T *A = viewAs<T>(a, sa), *B = viewAs<T>(b, sb);
    T *C = outputAs<T>(y, sy);
    runMatmul<T>(ctx, A, B, C, batch, aOff, bOff, M, N, K);
    finishOutput<T>(y, C);
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
// Window geometry shared by conv, conv_transpose and pool
//===----------------------------------------------------------------------===//

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

/// col[r][q - q0] for rows r = (c, kernel offset) of `channels` channels and
/// output positions q in [q0, q1): the input element under that tap, or 0.
template <typename T>
void im2col(KernelContext &ctx, const T *x, int64_t channels, const Window &w, int64_t q0,
            int64_t q1, T *col) {
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
                   std::fill(d0, d0 + run, T(0));
                 } else {
                   const T *xr = xc + off;
                   int64_t p = o[(size_t)last] * s + kOff;
                   if (s == 1) {
                     // Zeros over the padding at either end, one copy between.
                     int64_t lo = std::clamp<int64_t>(-p, 0, run);
                     int64_t hi = std::max(lo, std::clamp<int64_t>(inLast - p, 0, run));
                     std::fill(d0, d0 + lo, T(0));
                     std::memcpy(d0 + lo, xr + p + lo, (size_t)(hi - lo) * sizeof(T));
                     std::fill(d0 + hi, d0 + run, T(0));
                   } else {
                     for (int64_t t = 0; t < run; ++t, p += s)
                       d0[t] = (p >= 0 && p < inLast) ? xr[p] : T(0);
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

//===----------------------------------------------------------------------===//
// conv
//===----------------------------------------------------------------------===//

/// Depthwise 2-D convolution (one input channel per group): direct loops
/// over each channel's window, instead of im2col + a 1-row GEMM per group.
template <typename T>
bool runDepthwise2D(KernelContext &ctx, const T *x, const T *wt, const T *bias, T *y, int64_t N,
                    int64_t C, int64_t M, int64_t group, const Window &w) {
  if (w.spatial != 2 || group != C || M % C != 0)
    return false;
  const int64_t H = w.in[0], W = w.in[1], OH = w.out[0], OW = w.out[1];
  const int64_t KH = w.kernel[0], KW = w.kernel[1], SH = w.strides[0], SW = w.strides[1];
  const int64_t DH = w.dilations[0], DW = w.dilations[1], PT = w.padBegin[0], PL = w.padBegin[1];
  const int64_t mult = M / C; // output channels per input channel
  parallel(ctx, N * M, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      int64_t n = t / M, m = t % M, c = m / mult;
      const T *xc = x + (n * C + c) * H * W;
      const T *k = wt + m * KH * KW;
      T *yc = y + t * OH * OW;
      T b0 = bias ? bias[m] : T(0);
      // Row-wise accumulation: for each tap, the valid output columns form
      // one range, so the inner loop is contiguous (and vectorizes) when the
      // stride is 1.
      for (int64_t oh = 0; oh < OH; ++oh) {
        T *yrow = yc + oh * OW;
        std::fill(yrow, yrow + OW, b0);
        for (int64_t kh = 0; kh < KH; ++kh) {
          int64_t ih = oh * SH - PT + kh * DH;
          if (ih < 0 || ih >= H)
            continue;
          const T *xrow = xc + ih * W;
          for (int64_t kw = 0; kw < KW; ++kw) {
            const T kv = k[kh * KW + kw];
            const int64_t off = kw * DW - PL;
            int64_t lo = off >= 0 ? 0 : (-off + SW - 1) / SW;
            int64_t hi = W - 1 - off < 0 ? 0 : std::min(OW, (W - 1 - off) / SW + 1);
            if (SW == 1) {
              const T *xs = xrow + off;
              for (int64_t ow = lo; ow < hi; ++ow)
                yrow[ow] += kv * xs[ow];
            } else {
              for (int64_t ow = lo; ow < hi; ++ow)
                yrow[ow] += kv * xrow[ow * SW + off];
            }
          }
        }
      }
    }
  });
  return true;
}

template <typename T>
void runConv(KernelContext &ctx, const T *x, const T *wt, const T *bias, T *y, int64_t N,
             int64_t C, int64_t M, int64_t group, const Window &w) {
  if constexpr (std::is_floating_point_v<T>)
    if (runDepthwise2D(ctx, x, wt, bias, y, N, C, M, group, w))
      return;
  int64_t Cg = C / group, Mg = M / group;
  int64_t rows = Cg * w.kernelSize, OO = w.outSize;
  bool pointwise = w.kernelSize == 1;
  for (int64_t d = 0; d < w.spatial && pointwise; ++d)
    pointwise = w.strides[(size_t)d] == 1 && w.padBegin[(size_t)d] == 0 &&
                w.padEnd[(size_t)d] == 0 && w.in[(size_t)d] == w.out[(size_t)d];
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
      T *yg = y + (n * M + g * Mg) * OO;
      if (pointwise) {
        gemm(ctx, false, false, false, Mg, OO, Cg, wg, Cg, xg, w.inSize, yg, OO, false);
        continue;
      }
      for (int64_t q0 = 0; q0 < OO; q0 += tile) {
        int64_t q1 = std::min(OO, q0 + tile), width = q1 - q0;
        im2col(ctx, xg, Cg, w, q0, q1, col.data());
        gemm(ctx, false, false, false, Mg, width, rows, wg, rows, col.data(), width, yg + q0, OO,
             false);
      }
    }
  if (bias)
    parallel(ctx, N * M, std::max<int64_t>(1, 16384 / std::max<int64_t>(OO, 1)),
             [&](int64_t b, int64_t e) {
               for (int64_t r = b; r < e; ++r) {
                 T bv = bias[r % M];
                 T *row = y + r * OO;
                 for (int64_t i = 0; i < OO; ++i)
                   row[i] += bv;
               }
             });
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
  auto run = [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> sx, sw, sb, sy;
    const T *X = viewAs<T>(x, sx), *W = viewAs<T>(wt, sw);
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

/// 2-D max / average pooling without dilation: direct window loops, one output
/// row at a time (the common CNN case; the generic path below decodes every
/// index).
template <typename T>
bool runPool2D(KernelContext &ctx, const T *x, T *y, int64_t planes, const Window &w, int kind,
               bool includePad) {
  if (w.spatial != 2 || kind == 2 || w.dilations[0] != 1 || w.dilations[1] != 1)
    return false;
  const int64_t H = w.in[0], W = w.in[1], OH = w.out[0], OW = w.out[1];
  const int64_t KH = w.kernel[0], KW = w.kernel[1], SH = w.strides[0], SW = w.strides[1];
  const int64_t PT = w.padBegin[0], PL = w.padBegin[1];
  const int64_t HP = H + w.padEnd[0], WP = W + w.padEnd[1]; // padded extent end
  parallel(ctx, planes * OH, std::max<int64_t>(1, 2048 / std::max<int64_t>(1, OW * KH * KW)),
           [&](int64_t b, int64_t e) {
             for (int64_t t = b; t < e; ++t) {
               const T *xp = x + (t / OH) * H * W;
               T *yp = y + t * OW;
               int64_t h0 = (t % OH) * SH - PT;
               int64_t hBegin = std::max<int64_t>(h0, 0), hEnd = std::min(h0 + KH, H);
               int64_t hPadded = std::min(h0 + KH, HP) - std::max(h0, -PT);
               for (int64_t ow = 0; ow < OW; ++ow) {
                 int64_t w0 = ow * SW - PL;
                 int64_t wBegin = std::max<int64_t>(w0, 0), wEnd = std::min(w0 + KW, W);
                 if (kind == 0) {
                   T best = std::numeric_limits<T>::lowest();
                   bool nan = false;
                   for (int64_t h = hBegin; h < hEnd; ++h)
                     for (int64_t c = wBegin; c < wEnd; ++c) {
                       T v = xp[h * W + c];
                       nan |= v != v;
                       best = v > best ? v : best;
                     }
                   yp[ow] = nan ? std::numeric_limits<T>::quiet_NaN() : best;
                 } else {
                   T sum = 0;
                   for (int64_t h = hBegin; h < hEnd; ++h)
                     for (int64_t c = wBegin; c < wEnd; ++c)
                       sum += xp[h * W + c];
                   int64_t count = includePad
                                       ? hPadded * (std::min(w0 + KW, WP) - std::max(w0, -PL))
                                       : (hEnd - hBegin) * (wEnd - wBegin);
                   yp[ow] = count > 0 ? sum / (T)count : T(0);
                 }
               }
             }
           });
  return true;
}

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
  if (!isIntegerType(x.dtype) && x.dtype != DS_F16 && x.dtype != DS_BF16)
    return fail(op, std::string("unsupported element type ") + dtypeName(x.dtype));
  if (kind != 0 && isIntegerType(x.dtype))
    return fail(op, std::string("average / Lp pooling needs a floating-point input, got ") +
                        dtypeName(x.dtype));
  std::vector<double> xd((size_t)x.numel()), yd((size_t)y.numel());
  for (int64_t i = 0; i < x.numel(); ++i)
    xd[(size_t)i] = loadAsDouble(x, i);
  runPool<double>(ctx, xd.data(), yd.data(), planes, w, kind, includePad, p);
  for (int64_t i = 0; i < y.numel(); ++i)
    storeDouble(y, i, yd[(size_t)i]);
  return Status();
}

//===----------------------------------------------------------------------===//
// einsum
//===----------------------------------------------------------------------===//

struct EinsumPlan {
  std::vector<int64_t> labelSize;            // by label id
  std::vector<std::vector<int64_t>> strides; // [input][label id]
  std::vector<int64_t> outLabels, sumLabels;
};

Status planEinsum(const char *op, const std::string &equationIn, const Inputs &in,
                  const Tensor &y, EinsumPlan &plan) {
  std::string eq;
  for (char c : equationIn)
    if (c != ' ')
      eq.push_back(c);
  size_t arrow = eq.find("->");
  bool explicitOut = arrow != std::string::npos;
  std::string lhs = explicitOut ? eq.substr(0, arrow) : eq;
  std::string rhs = explicitOut ? eq.substr(arrow + 2) : "";
  std::vector<std::string> terms;
  {
    size_t pos = 0;
    while (true) {
      size_t comma = lhs.find(',', pos);
      terms.push_back(lhs.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
      if (comma == std::string::npos)
        break;
      pos = comma + 1;
    }
  }
  if (terms.size() != in.size())
    return fail(op, "equation '" + equationIn + "' has " + std::to_string(terms.size()) +
                        " terms for " + std::to_string(in.size()) + " inputs");
  // Label ids: letters by character code (0..127); ellipsis dims get 128 + j.
  auto letterId = [](char c) { return (int64_t)(unsigned char)c; };
  std::vector<std::vector<int64_t>> termLabels(terms.size());
  int64_t ellipsisRank = 0;
  std::vector<int64_t> termEllipsis(terms.size(), -1);
  for (size_t t = 0; t < terms.size(); ++t) {
    const std::string &term = terms[t];
    size_t dots = term.find("...");
    int64_t letters = (int64_t)term.size() - (dots == std::string::npos ? 0 : 3);
    int64_t er = in[t]->rank() - letters;
    if (er < 0 || (dots == std::string::npos && er != 0))
      return fail(op, "term '" + term + "' does not match an input of rank " +
                          std::to_string(in[t]->rank()));
    if (dots != std::string::npos) {
      termEllipsis[t] = er;
      ellipsisRank = std::max(ellipsisRank, er);
    }
  }
  for (size_t t = 0; t < terms.size(); ++t) {
    const std::string &term = terms[t];
    for (size_t i = 0; i < term.size(); ++i) {
      if (term.compare(i, 3, "...") == 0) {
        int64_t er = termEllipsis[t];
        for (int64_t j = 0; j < er; ++j)
          termLabels[t].push_back(128 + ellipsisRank - er + j);
        i += 2;
        continue;
      }
      char c = term[i];
      if (!std::isalpha((unsigned char)c))
        return fail(op, std::string("label '") + c + "' is not a letter");
      termLabels[t].push_back(letterId(c));
    }
  }
  const int64_t numIds = 128 + ellipsisRank;
  plan.labelSize.assign((size_t)numIds, -1);
  std::vector<int64_t> count((size_t)numIds, 0);
  for (size_t t = 0; t < terms.size(); ++t)
    for (size_t d = 0; d < termLabels[t].size(); ++d) {
      int64_t id = termLabels[t][d], size = in[t]->shape[d];
      int64_t &known = plan.labelSize[(size_t)id];
      if (known < 0 || known == 1)
        known = size;
      else if (size != 1 && size != known)
        return fail(op, "label sizes " + std::to_string(known) + " and " + std::to_string(size) +
                            " differ");
      ++count[(size_t)id];
    }
  if (explicitOut) {
    for (size_t i = 0; i < rhs.size(); ++i) {
      if (rhs.compare(i, 3, "...") == 0) {
        for (int64_t j = 0; j < ellipsisRank; ++j)
          plan.outLabels.push_back(128 + j);
        i += 2;
        continue;
      }
      int64_t id = letterId(rhs[i]);
      if (!std::isalpha((unsigned char)rhs[i]) || plan.labelSize[(size_t)id] < 0)
        return fail(op, std::string("output label '") + rhs[i] + "' is not in any input");
      if (std::find(plan.outLabels.begin(), plan.outLabels.end(), id) != plan.outLabels.end())
        return fail(op, std::string("output label '") + rhs[i] + "' is repeated");
      plan.outLabels.push_back(id);
    }
  } else {
    for (int64_t j = 0; j < ellipsisRank; ++j)
      plan.outLabels.push_back(128 + j);
    for (int64_t id = 0; id < 128; ++id)
      if (count[(size_t)id] == 1)
        plan.outLabels.push_back(id);
  }
  for (int64_t id = 0; id < numIds; ++id)
    if (plan.labelSize[(size_t)id] >= 0 &&
        std::find(plan.outLabels.begin(), plan.outLabels.end(), id) == plan.outLabels.end())
      plan.sumLabels.push_back(id);
  std::vector<int64_t> expect;
  for (int64_t id : plan.outLabels)
    expect.push_back(plan.labelSize[(size_t)id] < 0 ? 1 : plan.labelSize[(size_t)id]);
  if (expect != y.shape)
    return fail(op, "result " + shapeText(y.shape) + " should be " + shapeText(expect));
  plan.strides.assign(in.size(), std::vector<int64_t>((size_t)numIds, 0));
  for (size_t t = 0; t < in.size(); ++t) {
    std::vector<int64_t> st = stridesOf(in[t]->shape);
    for (size_t d = 0; d < termLabels[t].size(); ++d) {
      int64_t id = termLabels[t][d];
      if (in[t]->shape[d] == 1 && plan.labelSize[(size_t)id] != 1)
        continue; // broadcast
      plan.strides[t][(size_t)id] += st[d];
    }
  }
  return Status();
}

template <typename T>
void runEinsum(KernelContext &ctx, const EinsumPlan &plan, const std::vector<const T *> &x,
               T *y, int64_t outCount) {
  const size_t nIn = x.size();
  const size_t nOut = plan.outLabels.size(), nSum = plan.sumLabels.size();
  int64_t sumCount = 1;
  for (int64_t id : plan.sumLabels)
    sumCount *= plan.labelSize[(size_t)id];
  parallel(ctx, outCount, std::max<int64_t>(1, 4096 / std::max<int64_t>(sumCount, 1)),
           [&](int64_t b, int64_t e) {
             std::vector<int64_t> base(nIn), off(nIn), idx(nSum);
             for (int64_t o = b; o < e; ++o) {
               std::fill(base.begin(), base.end(), 0);
               int64_t rem = o;
               for (size_t d = nOut; d-- > 0;) {
                 int64_t id = plan.outLabels[d], size = plan.labelSize[(size_t)id];
                 int64_t c = rem % size;
                 rem /= size;
                 for (size_t t = 0; t < nIn; ++t)
                   base[t] += c * plan.strides[t][(size_t)id];
               }
               T acc = 0;
               if (sumCount == 0) {
                 y[o] = 0;
                 continue;
               }
               if (nSum == 0) {
                 T prod = 1;
                 for (size_t t = 0; t < nIn; ++t)
                   prod *= x[t][base[t]];
                 y[o] = prod;
                 continue;
               }
               std::fill(idx.begin(), idx.end(), 0);
               off = base;
               const int64_t innerId = plan.sumLabels[nSum - 1];
               const int64_t innerSize = plan.labelSize[(size_t)innerId];
               while (true) {
                 for (int64_t i = 0; i < innerSize; ++i) {
                   T prod = 1;
                   for (size_t t = 0; t < nIn; ++t)
                     prod *= x[t][off[t] + i * plan.strides[t][(size_t)innerId]];
                   acc += prod;
                 }
                 size_t d = nSum - 1;
                 bool done = true;
                 while (d-- > 0) {
                   int64_t id = plan.sumLabels[d];
                   for (size_t t = 0; t < nIn; ++t)
                     off[t] += plan.strides[t][(size_t)id];
                   if (++idx[d] < plan.labelSize[(size_t)id]) {
                     done = false;
                     break;
                   }
                   for (size_t t = 0; t < nIn; ++t)
                     off[t] -= plan.strides[t][(size_t)id] * plan.labelSize[(size_t)id];
                   idx[d] = 0;
                 }
                 if (done)
                   break;
               }
               y[o] = acc;
             }
           });
}

Status einsumKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                    const Outputs &out) {
  const char *op = "ds.einsum";
  if (in.empty())
    return fail(op, "needs at least one input");
  if (Status s = need(op, in, out, in.size(), 1); !s)
    return s;
  Tensor &y = *out[0];
  for (const Tensor *t : in)
    if (t->dtype != y.dtype)
      return fail(op, "inputs and result differ in element type");
  EinsumPlan plan;
  if (Status s = planEinsum(op, attrs.getString("equation", ""), in, y, plan); !s)
    return s;
  Compute kind = computeOf(y.dtype);
  if (kind == Compute::None)
    return fail(op, std::string("unsupported element type ") + dtypeName(y.dtype));
  if (y.numel() == 0)
    return Status();
  auto run = [&](auto tag) {
    using T = decltype(tag);
    std::vector<std::vector<T>> storage(in.size());
    std::vector<const T *> xs;
    for (size_t t = 0; t < in.size(); ++t) {
      storage[t].resize((size_t)in[t]->numel());
      for (int64_t i = 0; i < in[t]->numel(); ++i) {
        if constexpr (std::is_same_v<T, uint64_t>)
          storage[t][(size_t)i] = (uint64_t)loadAsInt(*in[t], i);
        else
          storage[t][(size_t)i] = loadAsDouble(*in[t], i);
      }
      xs.push_back(storage[t].data());
    }
    std::vector<T> result((size_t)y.numel());
    runEinsum<T>(ctx, plan, xs, result.data(), y.numel());
    for (int64_t i = 0; i < y.numel(); ++i) {
      if constexpr (std::is_same_v<T, uint64_t>)
        storeInt(y, i, (int64_t)result[(size_t)i]);
      else
        storeDouble(y, i, result[(size_t)i]);
    }
  };
  if (kind == Compute::Int)
    run(uint64_t());
  else
    run(double()); // accumulate in double, round once
  return Status();
}

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

template <typename T> T dot(const T *a, const T *b, int64_t n) {
  T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i)
    s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

struct AttentionShape {
  int64_t B, Hq, Hkv, S, L, D, Dv;
};

template <typename T>
void runAttention(KernelContext &ctx, const AttentionShape &sh, const T *q, const T *k,
                  const T *v, const T *maskF, const uint8_t *maskB,
                  const std::vector<int64_t> &maskStrides, T *y, double scale, bool causal,
                  int64_t causalOffset, double softcap) {
  const int64_t rows = sh.B * sh.Hq * sh.S, group = sh.Hq / sh.Hkv;
  const T negInf = -std::numeric_limits<T>::infinity();
  parallel(ctx, rows, std::max<int64_t>(1, 65536 / std::max<int64_t>(1, sh.L * (sh.D + sh.Dv))),
           [&](int64_t rb, int64_t re) {
             std::vector<T> score((size_t)sh.L);
             std::vector<T> acc((size_t)sh.Dv);
             for (int64_t r = rb; r < re; ++r) {
               int64_t i = r % sh.S, bh = r / sh.S, h = bh % sh.Hq, b = bh / sh.Hq;
               int64_t hk = h / group;
               const T *qi = q + r * sh.D;
               const T *kb = k + (b * sh.Hkv + hk) * sh.L * sh.D;
               const T *vb = v + (b * sh.Hkv + hk) * sh.L * sh.Dv;
               int64_t maskBase = b * maskStrides[0] + h * maskStrides[1] + i * maskStrides[2];
               T best = negInf;
               for (int64_t j = 0; j < sh.L; ++j) {
                 T s = dot(qi, kb + j * sh.D, sh.D) * (T)scale;
                 if (softcap > 0)
                   s = (T)(softcap * std::tanh((double)s / softcap));
                 if (causal && j > i + causalOffset)
                   s = negInf;
                 int64_t mo = maskBase + j * maskStrides[3];
                 if (maskB && !maskB[mo])
                   s = negInf;
                 else if (maskF)
                   s += maskF[mo];
                 score[(size_t)j] = s;
                 if (s > best)
                   best = s;
               }
               T *yi = y + r * sh.Dv;
               if (best == negInf || std::isnan(best)) {
                 // Fully masked row (or NaN scores): zeros, or NaN propagated.
                 T fillv = std::isnan(best) ? std::numeric_limits<T>::quiet_NaN() : T(0);
                 std::fill(yi, yi + sh.Dv, fillv);
                 continue;
               }
               T sum = 0;
               for (int64_t j = 0; j < sh.L; ++j) {
                 T s = score[(size_t)j];
                 T e = s == negInf ? T(0) : std::exp(s - best);
                 score[(size_t)j] = e;
                 sum += e;
               }
               std::fill(acc.begin(), acc.end(), T(0));
               for (int64_t j = 0; j < sh.L; ++j) {
                 T pj = score[(size_t)j];
                 if (pj == 0)
                   continue;
                 const T *vj = vb + j * sh.Dv;
                 for (int64_t d = 0; d < sh.Dv; ++d)
                   acc[(size_t)d] += pj * vj[d];
               }
               T inv = T(1) / sum;
               for (int64_t d = 0; d < sh.Dv; ++d)
                 yi[d] = acc[(size_t)d] * inv;
             }
           });
}

Status attentionKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                       const Outputs &out) {
  const char *op = "ds.attention";
  if (Status s = need(op, in, out, 3, 1); !s)
    return s;
  const Tensor &q = *in[0], &k = *in[1], &v = *in[2];
  const Tensor *mask = in.size() > 3 ? in[3] : nullptr;
  Tensor &y = *out[0];
  if (q.rank() != 4 || k.rank() != 4 || v.rank() != 4)
    return fail(op, "needs 4-D query, key and value [B, H, S, D]");
  AttentionShape sh{q.shape[0], q.shape[1], k.shape[1], q.shape[2], k.shape[2], q.shape[3],
                    v.shape[3]};
  if (k.shape[0] != sh.B || v.shape[0] != sh.B || k.shape[3] != sh.D || v.shape[1] != sh.Hkv ||
      v.shape[2] != sh.L || sh.Hkv <= 0 || sh.Hq % sh.Hkv)
    return fail(op, "query " + shapeText(q.shape) + ", key " + shapeText(k.shape) +
                        " and value " + shapeText(v.shape) + " do not fit together");
  std::vector<int64_t> full{sh.B, sh.Hq, sh.S, sh.Dv};
  if (y.shape != full)
    return fail(op, "result " + shapeText(y.shape) + " should be " + shapeText(full));
  if (k.dtype != q.dtype || v.dtype != q.dtype || y.dtype != q.dtype)
    return fail(op, "query, key, value and result differ in element type");
  Compute kind = computeOf(q.dtype);
  if (kind != Compute::F32 && kind != Compute::F64)
    return fail(op, std::string("unsupported element type ") + dtypeName(q.dtype));
  std::vector<int64_t> maskStrides(4, 0);
  if (mask) {
    std::vector<int64_t> scoreShape{sh.B, sh.Hq, sh.S, sh.L};
    if (mask->rank() > 4)
      return fail(op, "mask has rank > 4");
    size_t off = 4 - mask->shape.size();
    for (size_t d = 0; d < mask->shape.size(); ++d)
      if (mask->shape[d] != 1 && mask->shape[d] != scoreShape[d + off])
        return fail(op, "mask " + shapeText(mask->shape) + " does not broadcast to " +
                            shapeText(scoreShape));
    maskStrides = broadcastStrides(mask->shape, scoreShape);
    if (mask->dtype != DS_BOOL && computeOf(mask->dtype) != Compute::F32 &&
        computeOf(mask->dtype) != Compute::F64)
      return fail(op, std::string("mask must be i1 or floating-point, got ") +
                          dtypeName(mask->dtype));
  }
  double scale = attrs.has("scale") ? attrs.getFloat("scale", 0.0)
                                    : 1.0 / std::sqrt((double)std::max<int64_t>(sh.D, 1));
  bool causal = attrs.has("is_causal") && attrs.getInt("is_causal", 1) != 0;
  int64_t causalOffset = attrs.getInt("causal_offset", 0); // length of a KV cache in front
  double softcap = attrs.getFloat("softcap", 0.0);
  if (y.numel() == 0)
    return Status();
  auto run = [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> sq, sk, sv, sm, sy;
    const T *Q = viewAs<T>(q, sq), *K = viewAs<T>(k, sk), *V = viewAs<T>(v, sv);
    const T *MF = nullptr;
    const uint8_t *MB = nullptr;
    if (mask && mask->dtype == DS_BOOL)
      MB = mask->as<uint8_t>();
    else if (mask)
      MF = viewAs<T>(*mask, sm);
    T *Y = outputAs<T>(y, sy);
    runAttention<T>(ctx, sh, Q, K, V, MF, MB, maskStrides, Y, scale, causal, causalOffset,
                    softcap);
    finishOutput<T>(y, Y);
  };
  if (kind == Compute::F32)
    run(float());
  else
    run(double());
  return Status();
}

//===----------------------------------------------------------------------===//
// rotary_embedding
//===----------------------------------------------------------------------===//

Status rotaryKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                    const Outputs &out) {
  const char *op = "ds.rotary_embedding";
  if (Status s = need(op, in, out, 3, 1); !s)
    return s;
  const Tensor &x = *in[0], &cosT = *in[1], &sinT = *in[2];
  const Tensor *pos = in.size() > 3 ? in[3] : nullptr;
  Tensor &y = *out[0];
  // The shape function checks the layout, the rotary dim and the cos/sin and
  // position_ids shapes; only the ids' values are left to check here.
  if (Status s = checkResultShape(op, rotaryShape, attrs, in, y); !s)
    return s;
  if (y.dtype != x.dtype)
    return fail(op, "result must have the input's type");
  const bool fourD = x.rank() == 4;
  const int64_t H = fourD ? x.shape[1] : attrs.getInt("num_heads", 0);
  const int64_t B = x.shape[0], S = fourD ? x.shape[2] : x.shape[1];
  const int64_t D = fourD ? x.shape[3] : x.shape[2] / H;
  int64_t R = attrs.getInt("rotary_embedding_dim", 0);
  if (R == 0)
    R = D;
  const int64_t half = R / 2;
  std::vector<int64_t> positions;
  if (pos) {
    const int64_t maxPos = cosT.shape[0];
    positions.resize((size_t)(B * S));
    for (int64_t i = 0; i < B * S; ++i) {
      positions[(size_t)i] = loadAsInt(*pos, i);
      if (positions[(size_t)i] < 0 || positions[(size_t)i] >= maxPos)
        return fail(op, "position id " + std::to_string(positions[(size_t)i]) +
                            " is out of range for a cache of " + std::to_string(maxPos));
    }
  }
  Compute kind = computeOf(x.dtype);
  if ((kind != Compute::F32 && kind != Compute::F64) || computeOf(cosT.dtype) == Compute::None ||
      computeOf(cosT.dtype) == Compute::Int)
    return fail(op, std::string("unsupported element type ") + dtypeName(x.dtype));
  bool interleaved = attrs.has("interleaved") && attrs.getInt("interleaved", 1) != 0;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> sx, sc, ss, sy;
    const T *X = viewAs<T>(x, sx), *Cs = viewAs<T>(cosT, sc), *Sn = viewAs<T>(sinT, ss);
    T *Y = outputAs<T>(y, sy);
    parallel(ctx, B * S * H, std::max<int64_t>(1, 4096 / std::max<int64_t>(D, 1)),
             [&](int64_t lo, int64_t hi) {
               for (int64_t t = lo; t < hi; ++t) {
                 int64_t h = t % H, bs = t / H, s = bs % S, b = bs / S;
                 int64_t off = fourD ? ((b * H + h) * S + s) * D : ((b * S + s) * H + h) * D;
                 int64_t row = pos ? positions[(size_t)(b * S + s)] : b * S + s;
                 const T *c = Cs + row * half, *sn = Sn + row * half;
                 const T *xi = X + off;
                 T *yi = Y + off;
                 for (int64_t i = 0; i < half; ++i) {
                   int64_t i1 = interleaved ? 2 * i : i, i2 = interleaved ? 2 * i + 1 : i + half;
                   T x1 = xi[i1], x2 = xi[i2];
                   yi[i1] = c[i] * x1 - sn[i] * x2;
                   yi[i2] = sn[i] * x1 + c[i] * x2;
                 }
                 for (int64_t i = R; i < D; ++i)
                   yi[i] = xi[i];
               }
             });
    finishOutput<T>(y, Y);
  };
  if (kind == Compute::F32)
    run(float());
  else
    run(double());
  return Status();
}

} // namespace

void registerContractionKernels(KernelTable &table) {
  table["ds.matmul"] = CpuOp(matmulKernel, matmulShape);
  table["ds.conv"] = CpuOp(convKernel, convShape);
  table["ds.conv_transpose"] = CpuOp(convTransposeKernel, convTransposeShape);
  table["ds.pool"] = CpuOp(poolKernel, poolShape);
  table["ds.einsum"] = CpuOp(einsumKernel, einsumShape);
  table["ds.attention"] = CpuOp(attentionKernel, attentionShape);
  table["ds.rotary_embedding"] = CpuOp(rotaryKernel, rotaryShape);
}

} // namespace dsrt::cpu
