//===- QuantizedWeightMatmul.cpp - ds.matmul_quantized_weight -------------===//
//
// x · dequantize(W) for an 8- or 4-bit [K, N] weight (one byte per element
// in memory; a 4-bit one sign-extended when signed), with scales (and zero
// points) per tensor, per column or per column and block of rows.
//
// Few rows (decoding one token, a small batch) are bound by reading the
// weight: each 16-column panel is read once, in its own width, for up to
// kRowsPerPass rows at a time, its integers widened and multiplied in
// registers, one block of rows at a time with the block's scale applied to
// the block's sum. More rows are bound by arithmetic: the weight is
// dequantized once per call straight into the packed GEMM's panels, and
// the packed f32 GEMM runs (a K x N dequantization against M·K·N
// multiply-adds).
//
//===----------------------------------------------------------------------===//
#include "cpu/ContractionShapes.h"
#include "cpu/Gemm.h"
#include "cpu/KernelUtils.h"
#include "cpu/Kernels.h"
#include "cpu/PackedGemm.h"

#include <immintrin.h>

namespace dsrt::cpu {
namespace {

/// What one call reads: the weight and, per block of rows, its scales and
/// zero points (block = K for per-column and per-tensor scales).
struct QuantizedWeight {
  const uint8_t *q = nullptr; ///< K x N bytes
  bool isSigned = true;
  const float *scale = nullptr;
  const uint8_t *zp = nullptr; ///< the weight's type, shaped like scale; null: 0
  bool perTensor = false;
  int64_t K = 0, N = 0, block = 0;

  int64_t blocks() const { return (K + block - 1) / block; }
  /// Scale / zero point index of (block b, column n).
  int64_t at(int64_t b, int64_t n) const { return perTensor ? 0 : b * N + n; }
  int value(int64_t k, int64_t n) const {
    return isSigned ? (int)(int8_t)q[k * N + n] : (int)q[k * N + n];
  }
  int zeroPoint(int64_t b, int64_t n) const {
    if (!zp)
      return 0;
    return isSigned ? (int)(int8_t)zp[at(b, n)] : (int)zp[at(b, n)];
  }
  float dequantized(int64_t k, int64_t n) const {
    int64_t b = k / block;
    return (float)(value(k, n) - zeroPoint(b, n)) * scale[at(b, n)];
  }
};

/// Rows handled by one read of a panel.
constexpr int64_t kRowsPerPass = 8;
/// Up to this many rows, the panel-streaming kernel; above, dequantize + GEMM.
constexpr int64_t kStreamingRows = 16;

/// Columns [n0, n0 + width) of rows [r0, r1) (r1 - r0 <= kRowsPerPass),
/// portable: the same sums as the AVX-512 kernel (block sums, then scaled).
void streamPanelScalar(const QuantizedWeight &w, const float *x, int64_t r0, int64_t r1,
                       int64_t n0, int64_t width, float *y) {
  const int64_t K = w.K, N = w.N;
  for (int64_t c = 0; c < width; ++c) {
    int64_t n = n0 + c;
    for (int64_t r = r0; r < r1; ++r) {
      float acc = 0.0f;
      for (int64_t b = 0; b < w.blocks(); ++b) {
        float sum = 0.0f;
        int zp = w.zeroPoint(b, n);
        for (int64_t k = b * w.block; k < std::min(K, (b + 1) * w.block); ++k)
          sum = std::fma(x[r * K + k], (float)(w.value(k, n) - zp), sum);
        acc = std::fma(sum, w.scale[w.at(b, n)], acc);
      }
      y[r * N + n] = acc;
    }
  }
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) inline __m512 widen(const uint8_t *p,
                                                                __mmask16 mask, bool isSigned) {
  __m128i bytes = _mm_maskz_loadu_epi8(mask, p);
  __m512i ints = isSigned ? _mm512_cvtepi8_epi32(bytes) : _mm512_cvtepu8_epi32(bytes);
  return _mm512_cvtepi32_ps(ints);
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) void
streamPanelAvx512(const QuantizedWeight &w, const float *x, int64_t r0, int64_t r1, int64_t n0,
                  int64_t width, float *y) {
  const int64_t K = w.K, N = w.N, rows = r1 - r0;
  const __mmask16 mask = (__mmask16)((1u << width) - 1);
  __m512 acc[kRowsPerPass];
  for (int64_t r = 0; r < rows; ++r)
    acc[r] = _mm512_setzero_ps();
  for (int64_t b = 0; b < w.blocks(); ++b) {
    __m512 sum[kRowsPerPass];
    for (int64_t r = 0; r < rows; ++r)
      sum[r] = _mm512_setzero_ps();
    __m512 zp = w.zp ? (w.perTensor ? _mm512_set1_ps((float)w.zeroPoint(0, 0))
                                    : widen(w.zp + w.at(b, n0), mask, w.isSigned))
                     : _mm512_setzero_ps();
    const int64_t kEnd = std::min(K, (b + 1) * w.block);
    for (int64_t k = b * w.block; k < kEnd; ++k) {
      // Exact: the integers and their difference fit a float's significand.
      __m512 v = _mm512_sub_ps(widen(w.q + k * N + n0, mask, w.isSigned), zp);
      for (int64_t r = 0; r < rows; ++r)
        sum[r] = _mm512_fmadd_ps(_mm512_set1_ps(x[(r0 + r) * K + k]), v, sum[r]);
    }
    __m512 scale = w.perTensor ? _mm512_set1_ps(w.scale[0])
                               : _mm512_maskz_loadu_ps(mask, w.scale + w.at(b, n0));
    for (int64_t r = 0; r < rows; ++r)
      acc[r] = _mm512_fmadd_ps(sum[r], scale, acc[r]);
  }
  for (int64_t r = 0; r < rows; ++r)
    _mm512_mask_storeu_ps(y + (r0 + r) * N + n0, mask, acc[r]);
}

/// y = x · dequantize(W) for `rows` rows, streaming W's panels.
void streamingMatmul(KernelContext &ctx, const QuantizedWeight &w, const float *x, int64_t rows,
                     float *y) {
  static const bool avx512 =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl");
  constexpr int64_t kPanel = 16;
  const int64_t panels = (w.N + kPanel - 1) / kPanel;
  // A task streams at least ~2^15 weight bytes.
  const int64_t grain = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, w.K * kPanel));
  parallel(ctx, panels, grain, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      int64_t n0 = p * kPanel, width = std::min(kPanel, w.N - n0);
      for (int64_t r0 = 0; r0 < rows; r0 += kRowsPerPass) {
        int64_t r1 = std::min(rows, r0 + kRowsPerPass);
        if (avx512)
          streamPanelAvx512(w, x, r0, r1, n0, width, y);
        else
          streamPanelScalar(w, x, r0, r1, n0, width, y);
      }
    }
  });
}

/// y = x · dequantize(W) for many rows: W dequantized into the packed GEMM's
/// panels (a per-thread buffer kept for the next call), then the packed GEMM.
/// False when the buffer cannot be allocated.
bool dequantizedGemm(KernelContext &ctx, const QuantizedWeight &w, const float *x, int64_t rows,
                     float *y) {
  constexpr int64_t kPanel = PackedMatrix::kPanel;
  static thread_local PackedMatrix scratch;
  static thread_local size_t capacity = 0;
  const int64_t panels = (w.N + kPanel - 1) / kPanel;
  const size_t needed = (size_t)(panels * w.K * kPanel);
  if (needed > capacity) {
    if (!allocatePacked(w.K, w.N, scratch))
      return false;
    capacity = needed;
  }
  scratch.K = w.K;
  scratch.N = w.N;
  float *dst = scratch.data.get();
  const int64_t grain = std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(1, w.K * kPanel));
  parallel(ctx, panels, grain, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t k = 0; k < w.K; ++k) {
        float *row = dst + (p * w.K + k) * kPanel;
        for (int64_t c = 0; c < kPanel; ++c) {
          int64_t n = p * kPanel + c;
          row[c] = n < w.N ? w.dequantized(k, n) : 0.0f;
        }
      }
  });
  packedGemm(ctx, rows, x, w.K, scratch, y, w.N, /*accumulate=*/false);
  return true;
}

Status matmulQuantizedWeightKernel(KernelContext &ctx, const Attributes &attrs,
                                   const Inputs &in, const Outputs &out) {
  const char *op = "ds.matmul_quantized_weight";
  if (Status s = checkOperands(op, in, 3, out, 1, /*checkOptional=*/true); !s)
    return s;
  const Tensor &x = *in[0], &q = *in[1], &scale = *in[2];
  const Tensor *zp = in.size() > 3 ? in[3] : nullptr;
  Tensor &y = *out[0];
  auto isQuantized = [](DType t) { return t == DS_I8 || t == DS_U8 || t == DS_I4 || t == DS_U4; };
  if (x.dtype != DS_F32 || !isQuantized(q.dtype) || scale.dtype != DS_F32 || y.dtype != DS_F32 ||
      (zp && zp->dtype != q.dtype))
    return fail(op, std::string("expects f32 x, an 8- or 4-bit weight, f32 scales and zero "
                                "points of the weight's type, got ") +
                        dtypeName(x.dtype) + " x " + dtypeName(q.dtype) + ", scale " +
                        dtypeName(scale.dtype));
  std::vector<Shape> shapes(1);
  if (Status s = matmulQuantizedWeightShape(attrs, in, shapes); !s)
    return s;
  if (y.numel() == 0)
    return Status();
  QuantizedWeight w;
  w.K = q.shape[0];
  w.N = q.shape[1];
  w.q = q.as<uint8_t>();
  w.isSigned = q.dtype == DS_I8 || q.dtype == DS_I4;
  w.scale = scale.as<float>();
  w.zp = zp ? zp->as<uint8_t>() : nullptr;
  w.perTensor = scale.numel() == 1 && attrs.getInt("block_size", 0) == 0;
  w.block = attrs.getInt("block_size", 0) > 0 ? attrs.getInt("block_size", 0) : w.K;
  if (w.K == 0) {
    std::fill(y.as<float>(), y.as<float>() + y.numel(), 0.0f);
    return Status();
  }
  // The weight has no batch dims: every lhs row is one GEMM row.
  const int64_t rows = x.numel() / w.K;
  if (rows <= kStreamingRows || !packedGemmAvailable()) {
    streamingMatmul(ctx, w, x.as<float>(), rows, y.as<float>());
    return Status();
  }
  if (!dequantizedGemm(ctx, w, x.as<float>(), rows, y.as<float>()))
    return fail(op, "cannot allocate " + std::to_string(w.K * w.N * 4) +
                        " bytes for the dequantized weight");
  return Status();
}

} // namespace

void registerQuantizedWeightMatmulKernels(KernelTable &table) {
  table["ds.matmul_quantized_weight"] =
      CpuOp(matmulQuantizedWeightKernel, matmulQuantizedWeightShape);
}

} // namespace dsrt::cpu
