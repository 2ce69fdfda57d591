//===- Bf16PackedGemm.cpp - bf16 GEMM on AVX512-BF16, weights packed ------===//
//
// The int8 GEMM's shape (cpu/IntegerPackedGemm.cpp) with pairs of bf16 in
// place of quads of bytes: each step broadcasts two values of a row against
// 64 columns' words, 6 rows x 4 vectors of f32 accumulators.
//
//===----------------------------------------------------------------------===//
#include "cpu/Bf16PackedGemm.h"
#include "cpu/TaskGrid.h"

#include <algorithm>
#include <cstring>
#include <new>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define DS_BF16_KERNEL 1
#define DS_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#endif

namespace dsrt::cpu {

bool bf16GemmAvailable() {
#if DS_BF16_KERNEL
  static const bool available = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
  }();
  return available;
#else
  return false;
#endif
}

bool packBf16Matrix(const uint16_t *b, int64_t K, int64_t N, PackedBf16Matrix &out) {
  constexpr int64_t J = PackedBf16Matrix::kColumns;
  out.K = K, out.N = N;
  const int64_t steps = out.steps(), panels = out.panels();
  out.words.reset(new (std::nothrow) uint32_t[(size_t)std::max<int64_t>(1, panels * steps * J)]());
  if (!out.words)
    return false;
  auto *halves = reinterpret_cast<uint16_t *>(out.words.get());
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n)
      // Half k % 2 of the word: the order vdpbf16ps pairs them in.
      halves[((n / J * steps + k / 2) * J + n % J) * 2 + k % 2] = b[k * N + n];
  return true;
}

#if DS_BF16_KERNEL
namespace {

constexpr int64_t kRows = 6;
constexpr int64_t kCols = PackedBf16Matrix::kColumns;

/// C[r][j] = sum_k A[r][k] B[k][j] for r < R, j < cols (<= 64), rounded to
/// bf16: R x 4 accumulators, one vdpbf16ps per row and vector per step.
template <int R>
DS_BF16_TARGET void tile(const uint32_t *panel, const uint16_t *A, int64_t lda, int64_t K,
                         int64_t cols, uint16_t *C, int64_t ldc) {
  __m512 acc[R][4];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < 4; ++v)
      acc[r][v] = _mm512_setzero_ps();
  const int64_t full = K / 2;
  for (int64_t k = 0; k < full; ++k) {
    const uint32_t *w = panel + k * kCols;
    const __m512bh w0 = (__m512bh)_mm512_loadu_si512(w), w1 = (__m512bh)_mm512_loadu_si512(w + 16),
                   w2 = (__m512bh)_mm512_loadu_si512(w + 32),
                   w3 = (__m512bh)_mm512_loadu_si512(w + 48);
    for (int r = 0; r < R; ++r) {
      int32_t pair;
      std::memcpy(&pair, A + r * lda + 2 * k, 4);
      const __m512bh a = (__m512bh)_mm512_set1_epi32(pair);
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], a, w0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], a, w1);
      acc[r][2] = _mm512_dpbf16_ps(acc[r][2], a, w2);
      acc[r][3] = _mm512_dpbf16_ps(acc[r][3], a, w3);
    }
  }
  if (K % 2) { // the last row alone: its pair's other half is 0 in both
    const uint32_t *w = panel + full * kCols;
    const __m512bh w0 = (__m512bh)_mm512_loadu_si512(w), w1 = (__m512bh)_mm512_loadu_si512(w + 16),
                   w2 = (__m512bh)_mm512_loadu_si512(w + 32),
                   w3 = (__m512bh)_mm512_loadu_si512(w + 48);
    for (int r = 0; r < R; ++r) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32((int32_t)A[r * lda + 2 * full]);
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], a, w0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], a, w1);
      acc[r][2] = _mm512_dpbf16_ps(acc[r][2], a, w2);
      acc[r][3] = _mm512_dpbf16_ps(acc[r][3], a, w3);
    }
  }
  // Rounded to bf16 as floatToBf16 does (the runtime's one rounding).
  alignas(64) float row[kCols];
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < 4; ++v)
      _mm512_store_ps(row + 16 * v, acc[r][v]);
    floatToBf16N(row, C + r * ldc, cols);
  }
}

using TileFn = void (*)(const uint32_t *, const uint16_t *, int64_t, int64_t, int64_t, uint16_t *,
                        int64_t);
constexpr TileFn kTiles[kRows] = {tile<1>, tile<2>, tile<3>, tile<4>, tile<5>, tile<6>};

} // namespace
#endif // DS_BF16_KERNEL

void bf16PackedGemm(KernelContext &ctx, bool nested, const PackedBf16Matrix &B, const uint16_t *A,
                    int64_t M, int64_t lda, uint16_t *C, int64_t ldc) {
#if DS_BF16_KERNEL
  if (M <= 0 || B.N <= 0)
    return;
  const int64_t rowBlocks = (M + kRows - 1) / kRows;
  const TaskGrid grid(rowBlocks, B.panels(),
                      nested ? 1 : gemmTasksWanted(ctx.numThreads, M, B.N, B.K),
                      nested ? 1 : ctx.numThreads);
  runTasks(ctx, nested, grid, [&](int64_t b0, int64_t b1, int64_t p0, int64_t p1) {
    // Panels outer: a panel's words stay in cache while the rows pass.
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t cols = std::min(kCols, B.N - p * kCols);
      for (int64_t r = b0 * kRows, last = std::min(M, b1 * kRows); r < last; r += kRows)
        kTiles[std::min(kRows, last - r) - 1](B.panel(p), A + r * lda, lda, B.K, cols,
                                               C + r * ldc + p * kCols, ldc);
    }
  });
#else
  (void)ctx, (void)nested, (void)B, (void)A, (void)M, (void)lda, (void)C, (void)ldc;
#endif
}

} // namespace dsrt::cpu
