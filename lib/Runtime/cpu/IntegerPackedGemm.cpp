//===- IntegerPackedGemm.cpp - 8-bit GEMM on VNNI, constant weights packed ===//
//
// oneDNN's BLAS-like int8 GEMM (the path this replaces for constant
// weights) packs both operands on every call, so a transformer's weights
// were re-packed once per row block and run: on a LLaMA-style layer most of
// the int8 run. Here the weights are packed once, when the session starts,
// and the lhs is read in place: each step broadcasts four bytes of a row
// (u8; s8 rows flipped by 0x80 into u8 with their zero point) against 64
// columns' words.
//
//===----------------------------------------------------------------------===//
#include "cpu/IntegerPackedGemm.h"
#include "cpu/IntegerPackedGemmAvx2.h"
#include "cpu/TaskGrid.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <new>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define DS_VNNI_KERNEL 1
#define DS_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#endif

namespace dsrt::cpu {

bool integerVnniKernelsAvailable() {
#if DS_VNNI_KERNEL
  static const bool available = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  }();
  return available;
#else
  return false;
#endif
}

VectorIsa integerPackedGemmIsa() {
  static const VectorIsa isa = [] {
    if (integerVnniKernelsAvailable())
      return VectorIsa::Avx512;
#if DS_VNNI_KERNEL
    // AVX-VNNI without AVX-512 (Alder Lake and later): oneDNN's vpdpbusd
    // GEMM (cpu/Dnnl.h) does twice the AVX2 build's multiply-adds per
    // instruction there.
    if (__builtin_cpu_supports("avxvnni"))
      return VectorIsa::None;
#endif
    return integerPackedGemmAvx2Runs() ? VectorIsa::Avx2 : VectorIsa::None;
  }();
  return isa;
}

bool integerPackedGemmRuns(VectorIsa isa) {
  return isa == VectorIsa::Avx512 ? integerVnniKernelsAvailable()
         : isa == VectorIsa::Avx2 ? integerPackedGemmAvx2Runs()
                                  : false;
}

bool packInt8Matrix(const int8_t *b, int64_t K, int64_t N, PackedInt8Matrix &out, VectorIsa isa) {
  const int64_t J =
      isa == VectorIsa::Avx2 ? PackedInt8Matrix::kAvx2Columns : PackedInt8Matrix::kColumns;
  out.K = K, out.N = N, out.columns = J;
  const int64_t steps = out.steps(), panels = out.panels();
  out.words.reset(new (std::nothrow) int32_t[(size_t)std::max<int64_t>(1, panels * steps * J)]());
  out.colSums.reset(new (std::nothrow) int32_t[(size_t)std::max<int64_t>(1, panels * J)]());
  if (!out.words || !out.colSums)
    return false;
  auto *bytes = reinterpret_cast<uint8_t *>(out.words.get());
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) {
      const int8_t v = b[k * N + n];
      // Byte k % 4 of the word: the lane order vpdpbusd pairs them in.
      bytes[((n / J * steps + k / 4) * J + n % J) * 4 + k % 4] = (uint8_t)v;
      out.colSums[n] = (int32_t)((uint32_t)out.colSums[n] + (uint32_t)(int32_t)v); // wraps
    }
  return true;
}

#if DS_VNNI_KERNEL
namespace {

constexpr int64_t kRows = 6;
constexpr int64_t kCols = PackedInt8Matrix::kColumns;

/// The four bytes of `row` at k = 4 step .. 4 step + 3 as u8 (s8 flipped),
/// reading only the `avail` (1-4) that exist.
DS_VNNI_TARGET inline __m512i rowWord(const uint8_t *row, int64_t avail, uint32_t flip) {
  uint32_t word = 0;
  if (avail >= 4)
    std::memcpy(&word, row, 4);
  else
    std::memcpy(&word, row, (size_t)avail);
  return _mm512_set1_epi32((int)(word ^ flip));
}

/// C[r][n0 + j] = init[j] + sum_k <A[r][4k..4k+3], panel[k][j]> for r < R,
/// j < cols (<= 64): R x 4 accumulators, one vpdpbusd per row and vector
/// per step.
/// `Flip`: s8 rows, flipped into u8 after the broadcast (u8 rows are
/// broadcast straight from memory, a load and no ALU work).
template <int R, bool Flip>
DS_VNNI_TARGET void tile(const int32_t *panel, const uint8_t *A, int64_t lda, int64_t K,
                         uint32_t flip, int64_t cols, const int32_t *init, int32_t *C,
                         int64_t ldc) {
  __m512i acc[R][4];
  for (int v = 0; v < 4; ++v) {
    const __m512i start = _mm512_loadu_si512(init + 16 * v);
    for (int r = 0; r < R; ++r)
      acc[r][v] = start;
  }
  const int64_t full = K / 4;
  const __m512i flipped = _mm512_set1_epi32((int)flip);
  for (int64_t k = 0; k < full; ++k) {
    const int32_t *w = panel + k * kCols;
    const __m512i w0 = _mm512_loadu_si512(w), w1 = _mm512_loadu_si512(w + 16),
                  w2 = _mm512_loadu_si512(w + 32), w3 = _mm512_loadu_si512(w + 48);
    for (int r = 0; r < R; ++r) {
      int32_t word;
      std::memcpy(&word, A + r * lda + 4 * k, 4);
      __m512i a = _mm512_set1_epi32(word);
      if constexpr (Flip)
        a = _mm512_xor_si512(a, flipped);
      acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], a, w0);
      acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], a, w1);
      acc[r][2] = _mm512_dpbusd_epi32(acc[r][2], a, w2);
      acc[r][3] = _mm512_dpbusd_epi32(acc[r][3], a, w3);
    }
  }
  if (K % 4) { // the last, partial step: its missing rows' weights are 0
    const int32_t *w = panel + full * kCols;
    const __m512i w0 = _mm512_loadu_si512(w), w1 = _mm512_loadu_si512(w + 16),
                  w2 = _mm512_loadu_si512(w + 32), w3 = _mm512_loadu_si512(w + 48);
    for (int r = 0; r < R; ++r) {
      const __m512i a = rowWord(A + r * lda + 4 * full, K % 4, flip);
      acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], a, w0);
      acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], a, w1);
      acc[r][2] = _mm512_dpbusd_epi32(acc[r][2], a, w2);
      acc[r][3] = _mm512_dpbusd_epi32(acc[r][3], a, w3);
    }
  }
  __mmask16 masks[4];
  for (int v = 0; v < 4; ++v) {
    const int64_t n = std::clamp<int64_t>(cols - 16 * v, 0, 16);
    masks[v] = (__mmask16)((1u << n) - 1);
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < 4; ++v)
      _mm512_mask_storeu_epi32(C + r * ldc + 16 * v, masks[v], acc[r][v]);
}

using TileFn = void (*)(const int32_t *, const uint8_t *, int64_t, int64_t, uint32_t, int64_t,
                        const int32_t *, int32_t *, int64_t);
constexpr TileFn kTiles[2][kRows] = {
    {tile<1, false>, tile<2, false>, tile<3, false>, tile<4, false>, tile<5, false>, tile<6, false>},
    {tile<1, true>, tile<2, true>, tile<3, true>, tile<4, true>, tile<5, true>, tile<6, true>}};

/// Where a tile's sums go: C, or through an epilogue.
struct GemmStore {
  int32_t *C;
  int64_t ldc;
  const StoreEpilogue *epilogue; ///< null: C
  int64_t firstRow;              ///< the epilogue's row of A's row 0
};

/// Column panels [p0, p1) x rows [r0, r1) of C.
void block(const PackedInt8Matrix &B, const uint8_t *A, int64_t lda, uint32_t flip,
           const int32_t *init, int64_t p0, int64_t p1, int64_t r0, int64_t r1,
           const GemmStore &out) {
  alignas(64) int32_t sums[kRows * kCols];
  const TileFn *tiles = kTiles[flip != 0];
  // Panels outer: a panel's words (K x 256 bytes) stay in cache while the
  // rows pass over them.
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t cols = std::min(kCols, B.N - p * kCols);
    for (int64_t r = r0; r < r1; r += kRows) {
      const int64_t rows = std::min(kRows, r1 - r);
      if (!out.epilogue) {
        tiles[rows - 1](B.panel(p), A + r * lda, lda, B.K, flip, cols, init + p * kCols,
                         out.C + r * out.ldc + p * kCols, out.ldc);
        continue;
      }
      tiles[rows - 1](B.panel(p), A + r * lda, lda, B.K, flip, cols, init + p * kCols, sums,
                       kCols);
      storeRowsWithEpilogue(*out.epilogue, sums, kCols, out.firstRow + r, rows, p * kCols, cols);
    }
  }
}

} // namespace
#endif // DS_VNNI_KERNEL

void integerPackedGemm(KernelContext &ctx, bool nested, const PackedInt8Matrix &B, const void *A,
                       bool aSigned, int za, int64_t M, int64_t lda, int32_t *C, int64_t ldc,
                       const StoreEpilogue *epilogue, int64_t firstRow) {
  if (B.columns == PackedInt8Matrix::kAvx2Columns) {
    // No epilogue in this build: callers pass one only with 64-column
    // panels.
    assert(!epilogue && "the AVX2 build of integerPackedGemm takes no epilogue");
    integerPackedGemmAvx2(ctx, nested, B, A, aSigned, za, M, lda, C, ldc);
    return;
  }
#if DS_VNNI_KERNEL
  if (M <= 0 || B.N <= 0)
    return;
  const uint32_t flip = aSigned ? 0x80808080u : 0u;
  // Columns start at -za * (their weights' sum), za in the u8 domain.
  const uint32_t zaU = (uint32_t)(uint8_t)((uint8_t)za ^ (uint8_t)flip);
  const int64_t panels = B.panels();
  std::vector<int32_t> init((size_t)(panels * kCols));
  for (size_t j = 0; j < init.size(); ++j)
    init[j] = (int32_t)(0u - zaU * (uint32_t)B.colSums[j]);
  const auto *a = static_cast<const uint8_t *>(A);
  const int64_t rowBlocks = (M + kRows - 1) / kRows;
  const TaskGrid grid(rowBlocks, panels,
                      nested ? 1 : gemmTasksWanted(ctx.numThreads, M, B.N, B.K),
                      nested ? 1 : ctx.numThreads);
  runTasks(ctx, nested, grid, [&](int64_t b0, int64_t b1, int64_t p0, int64_t p1) {
    block(B, a, lda, flip, init.data(), p0, p1, b0 * kRows, std::min(M, b1 * kRows),
          {C, ldc, epilogue, firstRow});
  });
#else
  (void)ctx, (void)nested, (void)B, (void)A, (void)aSigned, (void)za, (void)M, (void)lda, (void)C,
      (void)ldc, (void)epilogue, (void)firstRow;
#endif
}

} // namespace dsrt::cpu
