//===- WidenedIntegerGemm.cpp - exact 8-bit GEMM on AVX2 ------------------===//
//
// C = (A - za)(B - zb) by 16-bit pairs (WidenedIntegerGemm.h). A's rows are
// widened once into 16-bit values, which the kernel reads as 32-bit pairs
// (k, k + 1); each task
// widens its panels of 16 columns of B the same way ([pairs][16][2]) and
// runs every row of A over each, four rows at a time in 8 ymm accumulators,
// kBlockPairs pairs of k at a time (16 KiB of the panel, which stays in L1
// while the rows pass; later blocks add to what the earlier ones stored).
//
//===----------------------------------------------------------------------===//
#include "cpu/WidenedIntegerGemm.h"
#include "cpu/KernelUtils.h"
#include "cpu/VectorIsa.h"

#include <algorithm>
#include <cstring>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define DS_WIDENED_X86 1
#define DS_AVX2 __attribute__((target("avx2")))
#endif

namespace dsrt::cpu {
namespace {

constexpr int64_t kPanel = 16;       ///< columns per panel (two ymm of 8 i32)
constexpr int64_t kRows = 4;         ///< rows per register block
constexpr int64_t kBlockPairs = 256; ///< pairs of k per pass over the rows

#ifdef DS_WIDENED_X86
/// Rows [r0, r1) of A less their zero points in 16 bits, 2 * pairs values
/// per row (an odd K's last padded with 0): read 32 bits at a time, the
/// pairs (k, k + 1) the kernel broadcasts.
DS_AVX2 void widenRows(const WidenedGemmOperands &op, int64_t pairs, int64_t r0, int64_t r1,
                       int16_t *out) {
  for (int64_t i = r0; i < r1; ++i) {
    const int16_t z = (int16_t)op.za[i];
    int16_t *o = out + i * 2 * pairs;
    const uint8_t *row = (const uint8_t *)op.a + i * op.lda;
    const __m256i zv = _mm256_set1_epi16(z);
    int64_t k = 0;
    for (; k + 16 <= op.K; k += 16) {
      __m128i bytes = _mm_loadu_si128((const __m128i *)(row + k));
      __m256i v = op.aSigned ? _mm256_cvtepi8_epi16(bytes) : _mm256_cvtepu8_epi16(bytes);
      _mm256_storeu_si256((__m256i *)(o + k), _mm256_sub_epi16(v, zv));
    }
    for (; k < op.K; ++k)
      o[k] = (int16_t)((op.aSigned ? (int)(int8_t)row[k] : (int)row[k]) - z);
    if (op.K % 2)
      o[op.K] = 0;
  }
}

/// Columns [j0, j0 + 16) of B's row k less their zero points `zv` (zeros
/// past K).
DS_AVX2 inline __m256i widenedRow(const WidenedGemmOperands &op, int64_t k, int64_t j0,
                                  __m256i zv) {
  if (k >= op.K)
    return _mm256_setzero_si256();
  __m128i bytes = _mm_loadu_si128((const __m128i *)(op.b + k * op.ldb + j0));
  return _mm256_sub_epi16(_mm256_cvtepi8_epi16(bytes), zv);
}

/// Columns [j0, j0 + cols) of B less their zero points as [pairs][16][2]
/// 16-bit values, padded with zeros.
DS_AVX2 void widenPanel(const WidenedGemmOperands &op, int64_t pairs, int64_t j0, int64_t cols,
                        int16_t *panel) {
  if (cols < kPanel) {
    std::memset(panel, 0, (size_t)(pairs * 2 * kPanel) * sizeof(int16_t));
    for (int64_t k = 0; k < op.K; ++k) {
      const int8_t *row = op.b + k * op.ldb + j0;
      int16_t *d = panel + (k / 2) * 2 * kPanel + (k % 2);
      for (int64_t j = 0; j < cols; ++j)
        d[2 * j] = (int16_t)((int)row[j] - op.zb[j0 + j]);
    }
    return;
  }
  alignas(32) int16_t zb16[kPanel];
  for (int64_t j = 0; j < kPanel; ++j)
    zb16[j] = (int16_t)op.zb[j0 + j];
  const __m256i zv = _mm256_load_si256((const __m256i *)zb16);
  for (int64_t p = 0; p < pairs; ++p) {
    __m256i even = widenedRow(op, 2 * p, j0, zv), odd = widenedRow(op, 2 * p + 1, j0, zv);
    // Within each 128-bit lane: columns 0-3 | 8-11 and 4-7 | 12-15 paired.
    __m256i lo = _mm256_unpacklo_epi16(even, odd), hi = _mm256_unpackhi_epi16(even, odd);
    __m256i *d = (__m256i *)(panel + p * 2 * kPanel);
    _mm256_storeu_si256(d, _mm256_permute2x128_si256(lo, hi, 0x20));     // columns 0-7
    _mm256_storeu_si256(d + 1, _mm256_permute2x128_si256(lo, hi, 0x31)); // columns 8-15
  }
}

/// R rows (at most kRows) of A's pairs (row stride lda pairs) against
/// `pairs` pairs of a panel; the first `cols` of its 16 columns stored, or
/// added to C with `accumulate`.
template <int R>
DS_AVX2 void panelBlock(const int16_t *aw, int64_t lda, int64_t pairs, const int16_t *panel,
                        int32_t *c, int64_t ldc, int64_t cols, bool accumulate) {
  __m256i acc[R][2];
  for (int r = 0; r < R; ++r) {
    acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    if (!accumulate)
      continue;
    alignas(32) int32_t start[kPanel] = {};
    std::memcpy(start, c + r * ldc, (size_t)cols * sizeof(int32_t));
    acc[r][0] = _mm256_load_si256((const __m256i *)start);
    acc[r][1] = _mm256_load_si256((const __m256i *)(start + 8));
  }
  for (int64_t p = 0; p < pairs; ++p) {
    __m256i b0 = _mm256_loadu_si256((const __m256i *)(panel + p * 32));
    __m256i b1 = _mm256_loadu_si256((const __m256i *)(panel + p * 32 + 16));
    for (int r = 0; r < R; ++r) {
      int32_t pair;
      std::memcpy(&pair, aw + 2 * (r * lda + p), sizeof pair);
      __m256i av = _mm256_set1_epi32(pair);
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(av, b0));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(av, b1));
    }
  }
  for (int r = 0; r < R; ++r) {
    int32_t *row = c + r * ldc;
    if (cols == kPanel) {
      _mm256_storeu_si256((__m256i *)row, acc[r][0]);
      _mm256_storeu_si256((__m256i *)(row + 8), acc[r][1]);
      continue;
    }
    alignas(32) int32_t tail[kPanel];
    _mm256_store_si256((__m256i *)tail, acc[r][0]);
    _mm256_store_si256((__m256i *)(tail + 8), acc[r][1]);
    std::memcpy(row, tail, (size_t)cols * sizeof(int32_t));
  }
}

/// Every row of A's pairs over one widened panel, a block of k at a time.
void panelRows(const int16_t *aw, int64_t M, int64_t pairs, const int16_t *panel, int32_t *c,
               int64_t ldc, int64_t cols) {
  for (int64_t k0 = 0; k0 < pairs; k0 += kBlockPairs) {
    const int64_t n = std::min(kBlockPairs, pairs - k0);
    const bool accumulate = k0 > 0;
    for (int64_t r = 0; r < M; r += kRows) {
      const int16_t *w = aw + 2 * (r * pairs + k0);
      const int16_t *slice = panel + k0 * 2 * kPanel;
      int32_t *out = c + r * ldc;
      switch (std::min(kRows, M - r)) {
      case 4:
        panelBlock<4>(w, pairs, n, slice, out, ldc, cols, accumulate);
        break;
      case 3:
        panelBlock<3>(w, pairs, n, slice, out, ldc, cols, accumulate);
        break;
      case 2:
        panelBlock<2>(w, pairs, n, slice, out, ldc, cols, accumulate);
        break;
      default:
        panelBlock<1>(w, pairs, n, slice, out, ldc, cols, accumulate);
        break;
      }
    }
  }
}
#endif

} // namespace

bool widenedIntegerGemmAvailable() {
#ifdef DS_WIDENED_X86
  return cpuHasAvx2();
#else
  return false;
#endif
}

void widenedIntegerGemm(KernelContext &ctx, bool nested, const WidenedGemmOperands &op) {
#ifdef DS_WIDENED_X86
  if (op.M <= 0 || op.N <= 0)
    return;
  if (op.K <= 0) { // empty sums
    for (int64_t i = 0; i < op.M; ++i)
      std::memset(op.c + i * op.ldc, 0, (size_t)op.N * sizeof(int32_t));
    return;
  }
  const int64_t pairs = (op.K + 1) / 2, panels = (op.N + kPanel - 1) / kPanel;
  std::vector<int16_t> aw((size_t)(op.M * pairs * 2));
  auto widenA = [&](int64_t r0, int64_t r1) { widenRows(op, pairs, r0, r1, aw.data()); };
  auto columns = [&](int64_t p0, int64_t p1) {
    std::vector<int16_t> panel((size_t)(pairs * 2 * kPanel));
    for (int64_t p = p0; p < p1; ++p) {
      int64_t j0 = p * kPanel, cols = std::min(kPanel, op.N - j0);
      widenPanel(op, pairs, j0, cols, panel.data());
      panelRows(aw.data(), op.M, pairs, panel.data(), op.c + j0, op.ldc, cols);
    }
  };
  if (nested) {
    widenA(0, op.M);
    columns(0, panels);
    return;
  }
  // Tasks of at least about a million multiply-adds.
  parallel(ctx, op.M, std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(1, op.K)), widenA);
  parallel(ctx, panels,
           std::max<int64_t>(1, (1 << 20) / std::max<int64_t>(1, op.M * op.K * kPanel)), columns);
#else
  (void)ctx, (void)nested, (void)op;
#endif
}

} // namespace dsrt::cpu
