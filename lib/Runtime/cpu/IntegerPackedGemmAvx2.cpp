//===- IntegerPackedGemmAvx2.cpp - the packed 8-bit GEMM without VNNI -----===//
//
// On AVX2 the only 8-bit multiply, vpmaddubsw, adds pairs of u8 x s8
// products into 16 bits with saturation: 255 * 127 * 2 overflows, so its
// sums are not MatMulInteger's (onnxruntime's AVX2 kernel accepts that).
// Here the lhs rows less their zero point are widened to 16 bits once per
// call ([-255, 255] fits), and the packed weights' words (four k of a
// column, cpu/IntegerPackedGemm.h) are widened as they are read: one
// vpmovsxbw gives four columns' four k, and vpmaddwd against the row's four
// k broadcast (64 bits) leaves each column's two pair sums in neighbouring
// 32-bit lanes, added together once per tile. vpmaddwd retires as many
// multiply-adds per cycle as the two-instruction vpmaddubsw + vpmaddwd
// sequence, so exactness costs no multiplier time, but it needs a vpaddd
// per vpmaddwd where that sequence needs one per two: about 1.5x its
// instructions (docs/runtime.md). The weights stay one byte each in memory
// (read in order: no per-call packing, unlike the widened GEMM of
// cpu/WidenedIntegerGemm.h for operands that change).
//
//===----------------------------------------------------------------------===//
#include "cpu/IntegerPackedGemmAvx2.h"
#include "cpu/TaskGrid.h"

#include <algorithm>
#include <cstring>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define DS_PACKED_AVX2 1
#define DS_AVX2_TARGET __attribute__((target("avx2")))
#endif

namespace dsrt::cpu {

bool integerPackedGemmAvx2Runs() {
#if DS_PACKED_AVX2
  return cpuHasAvx2();
#else
  return false;
#endif
}

#if DS_PACKED_AVX2
namespace {

constexpr int64_t kRows = 6;                              ///< rows per tile: 12 accumulators of 16
constexpr int64_t kCols = PackedInt8Matrix::kAvx2Columns; ///< a panel, a tile
constexpr int64_t kBlockSteps = 128; ///< 512 k: 4 KiB of a panel, 1 KiB per row

/// Rows [r0, r1) of A less za as 16-bit values, `padded` (K rounded up to
/// four: zeros past K, whose packed weights are zero too) per row.
DS_AVX2_TARGET void widenRows(const uint8_t *A, int64_t lda, bool aSigned, int za, int64_t K,
                              int64_t padded, int64_t r0, int64_t r1, int16_t *out) {
  const __m256i zv = _mm256_set1_epi16((int16_t)za);
  for (int64_t i = r0; i < r1; ++i) {
    const uint8_t *row = A + i * lda;
    int16_t *o = out + i * padded;
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
      const __m128i bytes = _mm_loadu_si128((const __m128i *)(row + k));
      const __m256i v = aSigned ? _mm256_cvtepi8_epi16(bytes) : _mm256_cvtepu8_epi16(bytes);
      _mm256_storeu_si256((__m256i *)(o + k), _mm256_sub_epi16(v, zv));
    }
    for (; k < K; ++k)
      o[k] = (int16_t)((aSigned ? (int)(int8_t)row[k] : (int)row[k]) - za);
    for (; k < padded; ++k)
      o[k] = 0;
  }
}

/// out[r][0..8) (row stride ldo) = init[r] (if any) + the R rows of `aw`
/// (row stride lda, `steps` groups of four k) against a panel's eight
/// columns (kCols words per step, of s8 or `Unsigned` u8 bytes), added to
/// what out holds with `accumulate`.
template <int R, bool Unsigned>
DS_AVX2_TARGET void tile(const int32_t *words, int64_t steps, const int16_t *aw, int64_t lda,
                         const int32_t *init, int32_t *out, int64_t ldo, bool accumulate) {
  __m256i acc[R][2];
  for (int r = 0; r < R; ++r)
    acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  for (int64_t s = 0; s < steps; ++s) {
    const auto *w = reinterpret_cast<const __m128i *>(words + s * kCols);
    // Columns 0-1 | 2-3 and 4-5 | 6-7, each as its four k in 16 bits.
    const __m128i w0 = _mm_loadu_si128(w), w1 = _mm_loadu_si128(w + 1);
    const __m256i b0 = Unsigned ? _mm256_cvtepu8_epi16(w0) : _mm256_cvtepi8_epi16(w0);
    const __m256i b1 = Unsigned ? _mm256_cvtepu8_epi16(w1) : _mm256_cvtepi8_epi16(w1);
    for (int r = 0; r < R; ++r) {
      int64_t four;
      std::memcpy(&four, aw + r * lda + 4 * s, sizeof four);
      const __m256i a = _mm256_set1_epi64x(four);
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(a, b0));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(a, b1));
    }
  }
  for (int r = 0; r < R; ++r) {
    // Lane pairs (k 0-1, k 2-3) per column: [c0 c1 c4 c5 | c2 c3 c6 c7],
    // then in order.
    __m256i s = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][0], acc[r][1]), 0xD8);
    auto *o = (__m256i *)(out + r * ldo);
    if (init)
      s = _mm256_add_epi32(s, _mm256_set1_epi32(init[r]));
    if (accumulate)
      s = _mm256_add_epi32(s, _mm256_loadu_si256(o));
    _mm256_storeu_si256(o, s);
  }
}

using TileFn = void (*)(const int32_t *, int64_t, const int16_t *, int64_t, const int32_t *,
                        int32_t *, int64_t, bool);
constexpr TileFn kTiles[2][kRows] = {
    {tile<1, false>, tile<2, false>, tile<3, false>, tile<4, false>, tile<5, false>,
     tile<6, false>},
    {tile<1, true>, tile<2, true>, tile<3, true>, tile<4, true>, tile<5, true>, tile<6, true>}};

/// Column panels [p0, p1) x rows [r0, r1) of C from the widened rows, a
/// block of k at a time: the panel's block (kBlockSteps x 32 bytes) stays
/// in L1 while the rows pass, later blocks adding to what earlier ones
/// stored. A short last panel's sums go through `tail` (rows x kCols).
void block(const PackedInt8Matrix &B, const int16_t *aw, int64_t lda, int64_t p0, int64_t p1,
           int64_t r0, int64_t r1, int32_t *C, int64_t ldc) {
  const int64_t steps = B.steps();
  std::vector<int32_t> tail;
  for (int64_t k0 = 0; k0 < steps; k0 += kBlockSteps) {
    const int64_t n = std::min(kBlockSteps, steps - k0);
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t cols = std::min(kCols, B.N - p * kCols);
      const int32_t *words = B.panel(p) + k0 * kCols;
      if (cols < kCols && tail.empty())
        tail.assign((size_t)((r1 - r0) * kCols), 0);
      for (int64_t r = r0; r < r1; r += kRows) {
        const int64_t rows = std::min(kRows, r1 - r);
        const int16_t *a = aw + r * lda + 4 * k0;
        if (cols == kCols)
          kTiles[0][rows - 1](words, n, a, lda, nullptr, C + r * ldc + p * kCols, ldc, k0 > 0);
        else
          kTiles[0][rows - 1](words, n, a, lda, nullptr, tail.data() + (r - r0) * kCols, kCols,
                              k0 > 0);
      }
    }
  }
  if (tail.empty())
    return;
  const int64_t p = B.panels() - 1, cols = B.N - p * kCols;
  for (int64_t r = r0; r < r1; ++r)
    std::memcpy(C + r * ldc + p * kCols, tail.data() + (r - r0) * kCols,
                (size_t)cols * sizeof(int32_t));
}

} // namespace
#endif // DS_PACKED_AVX2

void packedTileAvx2(const int32_t *words, bool unsignedWords, int64_t steps, const int16_t *aw,
                    int64_t lda, int64_t rows, const int32_t *init, int32_t *out, int64_t ldo) {
#if DS_PACKED_AVX2
  kTiles[unsignedWords][rows - 1](words, steps, aw, lda, init, out, ldo, false);
#else
  (void)words, (void)unsignedWords, (void)steps, (void)aw, (void)lda, (void)rows, (void)init,
      (void)out, (void)ldo;
#endif
}

void integerPackedGemmAvx2(KernelContext &ctx, bool nested, const PackedInt8Matrix &B,
                           const void *A, bool aSigned, int za, int64_t M, int64_t lda, int32_t *C,
                           int64_t ldc) {
#if DS_PACKED_AVX2
  if (M <= 0 || B.N <= 0)
    return;
  if (B.K <= 0) { // empty sums
    for (int64_t i = 0; i < M; ++i)
      std::memset(C + i * ldc, 0, (size_t)B.N * sizeof(int32_t));
    return;
  }
  const int64_t padded = B.steps() * 4;
  std::vector<int16_t> aw((size_t)(M * padded));
  const auto *a = static_cast<const uint8_t *>(A);
  auto widen = [&](int64_t r0, int64_t r1) {
    widenRows(a, lda, aSigned, za, B.K, padded, r0, r1, aw.data());
  };
  if (nested)
    widen(0, M);
  else
    parallel(ctx, M, std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(1, B.K)), widen);
  const int64_t rowBlocks = (M + kRows - 1) / kRows;
  const TaskGrid grid(rowBlocks, B.panels(),
                      nested ? 1 : gemmTasksWanted(ctx.numThreads, M, B.N, B.K),
                      nested ? 1 : ctx.numThreads);
  runTasks(ctx, nested, grid, [&](int64_t b0, int64_t b1, int64_t p0, int64_t p1) {
    block(B, aw.data(), padded, p0, p1, b0 * kRows, std::min(M, b1 * kRows), C, ldc);
  });
#else
  (void)ctx, (void)nested, (void)B, (void)A, (void)aSigned, (void)za, (void)M, (void)lda, (void)C,
      (void)ldc;
#endif
}

} // namespace dsrt::cpu
