//===- QuantizedWeightMatmul.cpp - ds.matmul_quantized_weight -------------===//
//
// x · dequantize(W) for an 8- or 4-bit [K, N] weight (held one byte per
// element, a 4-bit one sign-extended when signed; codes the session packed,
// 4-bit ones two per byte in NibbleMatrix and 8-bit ones in groups of 64
// columns in ByteGroupMatrix, are read from there and then only there),
// with
// scales (and zero points) per tensor, per column or per column and block
// of rows.
//
// Few rows (decoding one token, a small batch) are bound by reading the
// weight: 64 columns at a time (one cache line per k), two rows at a time,
// the integers widened and multiplied in registers with eight independent
// accumulator chains, one block of rows at a time with the block's scale
// applied to the block's sum. More rows are bound by arithmetic: each task
// dequantizes a slab of columns into the packed GEMM's panels, in cache, and
// runs the packed f32 GEMM on it (a K x N dequantization per call against
// M·K·N multiply-adds; no f32 copy of the whole weight).
//
//===----------------------------------------------------------------------===//
#include "cpu/ContractionShapes.h"
#include "cpu/Gemm.h"
#include "cpu/KernelUtils.h"
#include "cpu/Kernels.h"
#include "cpu/Multiversion.h"
#include "cpu/PackedConstants.h"
#include "cpu/PackedGemm.h"

#include <atomic>
#include <immintrin.h>

namespace dsrt::cpu {
namespace {

/// What one call reads: the weight and, per block of rows, its scales and
/// zero points (block = K for per-column and per-tensor scales).
struct QuantizedWeight {
  const uint8_t *q = nullptr; ///< K x N bytes
  /// The 4-bit codes two per byte, when the session packed them. Then q is
  /// never read: a session may hold only these (codes the artifact stores
  /// packed, which no other step reads).
  const NibbleMatrix *nibbles = nullptr;
  /// 8-bit codes in groups of 64 columns, when the session packed them
  /// (then q is not read either).
  const ByteGroupMatrix *groups = nullptr;
  bool isSigned = true;
  const float *scale = nullptr;
  const uint8_t *zp = nullptr; ///< the weight's type, shaped like scale; null: 0
  bool perTensor = false;
  int64_t K = 0, N = 0, block = 0;

  int64_t blocks() const { return (K + block - 1) / block; }
  /// Scale / zero point index of (block b, column n).
  int64_t at(int64_t b, int64_t n) const { return perTensor ? 0 : b * N + n; }
  /// Code (k, n) as one byte, sign-extended when signed.
  uint8_t code(int64_t k, int64_t n) const {
    if (groups)
      return groups->row(n / ByteGroupMatrix::kGroup, k)[n % ByteGroupMatrix::kGroup];
    if (!nibbles)
      return q[k * N + n];
    const int64_t j = n % NibbleMatrix::kGroup, half = NibbleMatrix::kGroup / 2;
    const uint8_t byte = nibbles->row(n / NibbleMatrix::kGroup, k)[j % half];
    const uint8_t top = j < half ? (uint8_t)(byte << 4) : (uint8_t)(byte & 0xF0);
    return isSigned ? (uint8_t)((int8_t)top >> 4) : (uint8_t)(top >> 4);
  }
  int value(int64_t k, int64_t n) const {
    return isSigned ? (int)(int8_t)code(k, n) : (int)code(k, n);
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

/// Up to this many rows, the panel-streaming kernel; above, dequantize + GEMM
/// (bench/weight_only.py's matmuls: the GEMM wins from about 4 rows).
constexpr int64_t kStreamingRows = 4;
/// Columns a task of the dequantize + GEMM path dequantizes at once: one
/// group of four panels (dequantizeGroupAvx512), K x 64 floats that stay in
/// the core's L2 between their dequantization and the GEMM over them (256
/// columns, 2 MiB at K = 2048, did not: bench/weight_only.py's int8 prefill
/// ran 1.26x ds fp32's time).
constexpr int64_t kSlabColumns = 64;

/// Columns [n0, n0 + width) (width <= 16) of rows [r0, r1), portable: the
/// same sums as the AVX-512 kernel (block sums, then scaled), k outer and
/// the columns inner so that the AVX2 clone vectorizes them.
DS_VECTORIZED void streamPanelScalar(const QuantizedWeight &w, const float *x, int64_t r0,
                                     int64_t r1, int64_t n0, int64_t width, float *y) {
  const int64_t K = w.K, N = w.N;
  for (int64_t r = r0; r < r1; ++r) {
    float acc[16] = {}, sum[16], zp[16];
    for (int64_t b = 0; b < w.blocks(); ++b) {
      for (int64_t c = 0; c < width; ++c) {
        sum[c] = 0.0f;
        zp[c] = (float)w.zeroPoint(b, n0 + c);
      }
      for (int64_t k = b * w.block; k < std::min(K, (b + 1) * w.block); ++k) {
        const float xv = x[r * K + k];
        uint8_t codes[16];
        if (w.nibbles || w.groups)
          for (int64_t c = 0; c < width; ++c)
            codes[c] = w.code(k, n0 + c);
        const uint8_t *row = w.nibbles || w.groups ? codes : w.q + k * N + n0;
        if (w.isSigned)
          for (int64_t c = 0; c < width; ++c)
            sum[c] = std::fma(xv, (float)(int8_t)row[c] - zp[c], sum[c]);
        else
          for (int64_t c = 0; c < width; ++c)
            sum[c] = std::fma(xv, (float)row[c] - zp[c], sum[c]);
      }
      for (int64_t c = 0; c < width; ++c)
        acc[c] = std::fma(sum[c], w.scale[w.at(b, n0 + c)], acc[c]);
    }
    for (int64_t c = 0; c < width; ++c)
      y[r * N + n0 + c] = acc[c];
  }
}

#define DS_AVX512_BW_VL __attribute__((target("avx512f,avx512bw,avx512vl")))

DS_AVX512_BW_VL inline __m512 widen(const uint8_t *p, __mmask16 mask, bool isSigned) {
  __m128i bytes = _mm_maskz_loadu_epi8(mask, p);
  __m512i ints = isSigned ? _mm512_cvtepi8_epi32(bytes) : _mm512_cvtepu8_epi32(bytes);
  return _mm512_cvtepi32_ps(ints);
}

/// The 32 bytes of a nibble row as the 64 codes' int8 values, columns 0-31
/// in `low` and 32-63 in `high` (4-bit two's complement sign-extended).
DS_AVX512_BW_VL inline void unpackNibbles(const uint8_t *row, bool isSigned, __m256i &low,
                                          __m256i &high) {
  const __m256i bytes = _mm256_loadu_si256((const __m256i *)row);
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  low = _mm256_and_si256(bytes, nibble);
  high = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), nibble);
  if (isSigned) { // (v ^ 8) - 8
    const __m256i eight = _mm256_set1_epi8(8);
    low = _mm256_sub_epi8(_mm256_xor_si256(low, eight), eight);
    high = _mm256_sub_epi8(_mm256_xor_si256(high, eight), eight);
  }
}

/// Panel p (0-3) of an unpacked nibble row as floats.
DS_AVX512_BW_VL inline __m512 nibblePanel(__m256i low, __m256i high, int p) {
  __m256i half = p < 2 ? low : high;
  __m128i bytes = (p & 1) ? _mm256_extracti128_si256(half, 1) : _mm256_castsi256_si128(half);
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(bytes));
}

/// Columns past N of a group of kGroupPanels 16-column panels load as zeros
/// and are not stored.
constexpr int64_t kGroupPanels = 4;
/// How many weight rows ahead the streaming kernel prefetches.
constexpr int64_t kPrefetchRows = 128;
/// How far ahead it prefetches in the session's packed layouts, whose
/// rows of a group follow each other: the hardware prefetchers alone left
/// the 8-bit decode step bound by latency (2.2x slower on bench/weight_only.py's).
constexpr int64_t kPrefetchBytes = kPrefetchRows * 64;

/// Asks for the line `bytes` past `p`, which may lie past the weight's end
/// (a prefetch never faults; the address is formed as an integer, not by
/// pointer arithmetic past the allocation).
DS_AVX512_BW_VL inline void prefetchAhead(const uint8_t *p, int64_t bytes) {
  _mm_prefetch((const char *)((uintptr_t)p + (uintptr_t)bytes), _MM_HINT_T0);
}

/// R rows (R <= 2) times the kGroupPanels panels from column n0: R x 4
/// independent chains of fused multiply-adds, so that one row is not bound
/// by one chain's latency, and one 64-byte line of the weight per k.
template <int R>
DS_AVX512_BW_VL void streamGroupAvx512(const QuantizedWeight &w, const float *x, int64_t r0,
                                       int64_t n0, float *y) {
  constexpr int P = kGroupPanels;
  const int64_t K = w.K, N = w.N;
  __mmask16 mask[P];
  for (int p = 0; p < P; ++p) {
    int64_t width = std::clamp<int64_t>(N - (n0 + 16 * p), 0, 16);
    mask[p] = (__mmask16)((1u << width) - 1);
  }
  __m512 acc[R][P];
  for (int r = 0; r < R; ++r)
    for (int p = 0; p < P; ++p)
      acc[r][p] = _mm512_setzero_ps();
  for (int64_t b = 0; b < w.blocks(); ++b) {
    __m512 sum[R][P], zp[P];
    for (int p = 0; p < P; ++p) {
      zp[p] = !w.zp          ? _mm512_setzero_ps()
              : w.perTensor  ? _mm512_set1_ps((float)w.zeroPoint(0, 0))
                             : widen(w.zp + w.at(b, n0 + 16 * p), mask[p], w.isSigned);
      for (int r = 0; r < R; ++r)
        sum[r][p] = _mm512_setzero_ps();
    }
    // The next block's scales are a row of scales away: fetched while this
    // block runs (past the end: harmless).
    if (!w.perTensor)
      for (int p = 0; p < P; ++p)
        _mm_prefetch((const char *)(w.scale + w.at(b + 1, n0 + 16 * p)), _MM_HINT_T0);
    const int64_t kEnd = std::min(K, (b + 1) * w.block);
    for (int64_t k = b * w.block; k < kEnd; ++k) {
      __m512 xs[R];
      for (int r = 0; r < R; ++r)
        xs[r] = _mm512_set1_ps(x[(r0 + r) * K + k]);
      if (w.nibbles) { // 32 bytes in order, asked for well ahead too
        __m256i low, high;
        const uint8_t *row = w.nibbles->row(n0 / NibbleMatrix::kGroup, k);
        prefetchAhead(row, kPrefetchBytes);
        unpackNibbles(row, w.isSigned, low, high);
        for (int p = 0; p < P; ++p) {
          __m512 v = _mm512_sub_ps(nibblePanel(low, high, p), zp[p]);
          for (int r = 0; r < R; ++r)
            sum[r][p] = _mm512_fmadd_ps(xs[r], v, sum[r][p]);
        }
        continue;
      }
      const uint8_t *row;
      if (w.groups) { // one group's rows in order
        row = w.groups->row(n0 / ByteGroupMatrix::kGroup, k);
        prefetchAhead(row, kPrefetchBytes);
      } else {
        row = w.q + k * N + n0;
        // Consecutive k are a row of the weight apart, usually past a page:
        // the hardware prefetchers do not follow, so ask ahead (a prefetch
        // past the weight's end is harmless).
        prefetchAhead(row, kPrefetchRows * N);
      }
      for (int p = 0; p < P; ++p) {
        // Exact: the integers and their difference fit a float's significand.
        __m512 v = _mm512_sub_ps(widen(row + 16 * p, mask[p], w.isSigned), zp[p]);
        for (int r = 0; r < R; ++r)
          sum[r][p] = _mm512_fmadd_ps(xs[r], v, sum[r][p]);
      }
    }
    for (int p = 0; p < P; ++p) {
      __m512 scale = w.perTensor ? _mm512_set1_ps(w.scale[0])
                                 : _mm512_maskz_loadu_ps(mask[p], w.scale + w.at(b, n0 + 16 * p));
      for (int r = 0; r < R; ++r)
        acc[r][p] = _mm512_fmadd_ps(sum[r][p], scale, acc[r][p]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int p = 0; p < P; ++p)
      _mm512_mask_storeu_ps(y + (r0 + r) * N + n0 + 16 * p, mask[p], acc[r][p]);
}

/// Columns [n0, n0 + width) of W dequantized into `panels` as the packed
/// GEMM reads them ([panel][K][16], zero past width), for n0 a multiple of
/// 64 and width <= 64: one group of kGroupPanels panels. Row by row, so each
/// weight row is read once (one cache line of int8 codes, or its nibble row)
/// and the next rows are prefetched: panel by panel, every row was a cache
/// line a page away from the last, fetched once per panel, and the
/// dequantization took a fifth of a prefill.
DS_AVX512_BW_VL void dequantizeGroupAvx512(const QuantizedWeight &w, int64_t n0, int64_t width,
                                           float *panels) {
  constexpr int P = kGroupPanels;
  const int numPanels = (int)((width + 15) / 16);
  __mmask16 mask[P];
  for (int p = 0; p < P; ++p)
    mask[p] = (__mmask16)((1u << std::clamp<int64_t>(width - 16 * p, 0, 16)) - 1);
  for (int64_t b = 0; b < w.blocks(); ++b) {
    __m512 zp[P], scale[P];
    for (int p = 0; p < numPanels; ++p) {
      const int64_t c = n0 + 16 * p;
      zp[p] = !w.zp         ? _mm512_setzero_ps()
              : w.perTensor ? _mm512_set1_ps((float)w.zeroPoint(0, 0))
                            : widen(w.zp + w.at(b, c), mask[p], w.isSigned);
      scale[p] = w.perTensor ? _mm512_set1_ps(w.scale[0])
                             : _mm512_maskz_loadu_ps(mask[p], w.scale + w.at(b, c));
    }
    const int64_t kEnd = std::min(w.K, (b + 1) * w.block);
    for (int64_t k = b * w.block; k < kEnd; ++k) {
      __m256i low, high;
      const uint8_t *row = nullptr;
      if (w.nibbles) {
        const uint8_t *nibbleRow = w.nibbles->row(n0 / NibbleMatrix::kGroup, k);
        prefetchAhead(nibbleRow, kPrefetchBytes);
        unpackNibbles(nibbleRow, w.isSigned, low, high);
      } else if (w.groups) {
        row = w.groups->row(n0 / ByteGroupMatrix::kGroup, k);
        prefetchAhead(row, kPrefetchBytes);
      } else {
        row = w.q + k * w.N + n0;
        // A prefetch past the weight's end is harmless.
        prefetchAhead(row, kPrefetchRows * w.N);
      }
      for (int p = 0; p < numPanels; ++p) {
        const __m512 codes =
            w.nibbles ? nibblePanel(low, high, p) : widen(row + 16 * p, mask[p], w.isSigned);
        _mm512_store_ps(panels + (p * w.K + k) * 16,
                        _mm512_maskz_mul_ps(mask[p], _mm512_sub_ps(codes, zp[p]), scale[p]));
      }
    }
  }
}

std::atomic<bool> portableOnly{false};

bool hasAvx512BwVl() {
  static const bool yes = __builtin_cpu_supports("avx512f") &&
                          __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl");
  return yes && !portableOnly.load(std::memory_order_relaxed);
}

/// y = x · dequantize(W) for `rows` rows, streaming W's panels.
void streamingMatmul(KernelContext &ctx, const QuantizedWeight &w, const float *x, int64_t rows,
                     float *y) {
  constexpr int64_t kPanel = 16;
  if (!hasAvx512BwVl()) {
    const int64_t panels = (w.N + kPanel - 1) / kPanel;
    const int64_t grain = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, w.K * kPanel));
    parallel(ctx, panels, grain, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p)
        streamPanelScalar(w, x, 0, rows, p * kPanel, std::min(kPanel, w.N - p * kPanel), y);
    });
    return;
  }
  const int64_t groupColumns = kGroupPanels * kPanel;
  const int64_t groups = (w.N + groupColumns - 1) / groupColumns;
  // A task streams at least ~2^15 weight bytes.
  const int64_t grain =
      std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, w.K * groupColumns));
  parallel(ctx, groups, grain, [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      int64_t r = 0;
      for (; r + 2 <= rows; r += 2)
        streamGroupAvx512<2>(w, x, r, g * groupColumns, y);
      if (r < rows)
        streamGroupAvx512<1>(w, x, r, g * groupColumns, y);
    }
  });
}

/// y = x · dequantize(W) for many rows: slabs of kSlabColumns columns, each
/// task dequantizing its slab into the packed GEMM's panels (a per-thread
/// buffer of K x kSlabColumns floats, kept for the next call) and running
/// the packed GEMM on it for every row on its own thread. No f32 copy of the
/// whole weight is made; a slab stays in the core's cache between the two.
/// False when a buffer cannot be allocated.
bool dequantizedGemm(KernelContext &ctx, const QuantizedWeight &w, const float *x, int64_t rows,
                     float *y) {
  constexpr int64_t kPanel = PackedMatrix::kPanel;
  static_assert(kSlabColumns == kGroupPanels * kPanel, "a slab is one group of panels");
  const int64_t slabs = (w.N + kSlabColumns - 1) / kSlabColumns;
  const bool avx512 = hasAvx512BwVl();
  std::atomic<bool> allocated{true};
  parallel(ctx, slabs, 1, [&](int64_t s0, int64_t s1) {
    static thread_local PackedMatrix slab;
    static thread_local int64_t capacityK = 0;
    if (capacityK < w.K) {
      if (!allocatePacked(w.K, kSlabColumns, slab)) {
        allocated = false;
        return;
      }
      capacityK = w.K;
    }
    KernelContext serial; // this task's rows and columns on this thread
    serial.numThreads = 1;
    for (int64_t s = s0; s < s1; ++s) {
      const int64_t n0 = s * kSlabColumns, width = std::min(kSlabColumns, w.N - n0);
      slab.K = w.K;
      slab.N = width;
      float *dst = slab.data.get();
      if (avx512) {
        dequantizeGroupAvx512(w, n0, width, dst);
      } else {
        for (int64_t p = 0; p < slab.panels(); ++p)
          for (int64_t k = 0; k < w.K; ++k)
            for (int64_t c = 0; c < kPanel; ++c) {
              const int64_t n = n0 + p * kPanel + c;
              dst[(p * w.K + k) * kPanel + c] = n < w.N ? w.dequantized(k, n) : 0.0f;
            }
      }
      packedGemm(serial, rows, x, w.K, slab, y + n0, w.N, /*accumulate=*/false);
    }
  });
  return allocated;
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
  if (y.shape != shapes[0])
    return fail(op, "result " + shapeText(y.shape) + " should be " + shapeText(shapes[0]));
  if (y.numel() == 0)
    return Status();
  QuantizedWeight w;
  w.K = q.shape[0];
  w.N = q.shape[1];
  w.q = q.as<uint8_t>();
  w.isSigned = q.dtype == DS_I8 || q.dtype == DS_I4;
  w.scale = scale.as<float>();
  w.zp = zp ? zp->as<uint8_t>() : nullptr;
  // Whenever the session packed them, the portable loops included: the
  // tensor's bytes may be the artifact's packed codes (QuantizedWeight).
  if (ctx.packed && (q.dtype == DS_I4 || q.dtype == DS_U4))
    w.nibbles = ctx.packed->findNibbles(q.data, w.K, w.N);
  if (ctx.packed && (q.dtype == DS_I8 || q.dtype == DS_U8))
    w.groups = ctx.packed->findByteGroups(q.data, w.K, w.N);
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
    return fail(op, "cannot allocate " + std::to_string(w.K * kSlabColumns * 4) +
                        " bytes for a slab of the dequantized weight");
  return Status();
}

} // namespace

void forcePortableQuantizedWeightKernels(bool portable) { portableOnly = portable; }

bool packsQuantizedWeights() { return hasAvx512BwVl(); }

void registerQuantizedWeightMatmulKernels(KernelTable &table) {
  table["ds.matmul_quantized_weight"] =
      CpuOp(matmulQuantizedWeightKernel, matmulQuantizedWeightShape);
}

} // namespace dsrt::cpu
