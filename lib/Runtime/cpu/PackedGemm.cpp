//===- PackedGemm.cpp - f32 GEMM on weights packed once -------------------===//
//
// Blocking (per task: a range of rows and of panels): row groups of the lhs
// (kMc rows) pass over one or two panels of B at a time, each over all of
// K, so every tile of C is loaded and stored once. The
// micro-kernels keep an MR x (16 * NP) tile of C in registers: AVX-512
// 12 x 32 (24 zmm accumulators), AVX2 6 x 16 (12 ymm), portable 4 x 16.
//
//===----------------------------------------------------------------------===//
#include "cpu/PackedGemm.h"
#include "cpu/TaskGrid.h"
#include "cpu/KernelUtils.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace dsrt::cpu {
namespace {

constexpr int64_t kPanel = PackedMatrix::kPanel;
/// Lhs rows per block. The k dim is not blocked on a packed right operand:
/// on a Zen 5 core (48 KiB L1d, 1 MiB L2) the micro-kernel reads a panel's
/// two 16-float rows per k from L2 as fast as from L1, and each k block
/// cost a pass loading and storing every tile of C (docs/runtime.md, "k
/// blocks": BERT-base 127-129 -> 109-112 ms at one thread).
constexpr int64_t kMc = 96;
/// k and rows per block of a GEMM on packed-left weights (convolutions):
/// k follows the packed layout's blocks (256: ResNet-50 at one thread 45.3
/// -> 44.3 ms against 128); 48 rows for windows read in place (indirect B),
/// whose rows are spread over the input (ResNet-18: 6-10% faster than 96).
constexpr int64_t kLeftKc = PackedLeftMatrix::kBlock, kIndirectMc = 48;
/// The fewest columns for which a right-operand GEMM packs its lhs.
constexpr int64_t kPackLhsMinColumns = 256;

struct MicroArgs {
  int64_t kc;
  const float *A; ///< row 0 at k0: the lhs (row stride lda), or a packed-left panel
  int64_t lda;
  const float *B;      ///< the first of the tile's 16-column vectors at k0
  int64_t bPanel;      ///< from one 16-column vector to the next
  int64_t bK;          ///< from one k to the next (strided B)
  const int64_t *bOff; ///< k's row of B at B + bOff[k] (indirect B)
  float *C;            ///< row 0, first column of the tile
  int64_t ldc;
  bool loadC; ///< continue the chains from C (else from 0)
};
using MicroKernel = void (*)(const MicroArgs &);

/// Where a micro-kernel finds A[i][k]: in the lhs as it is (packed right
/// operand), or in a packed-left panel of PR rows ([k][PR]).
struct InPlaceA {
  static int64_t at(int i, int64_t k, int64_t lda) { return i * lda + k; }
};
template <int PR> struct PanelA {
  static int64_t at(int i, int64_t k, int64_t) { return k * PR + i; }
};
/// A stored by columns (A[i][k] at k * lda + i): a 1 x 1 convolution's
/// input [C][HW] read as its HW x C left operand.
struct ColumnA {
  static int64_t at(int i, int64_t k, int64_t lda) { return k * lda + i; }
};

/// Where a micro-kernel finds row k of its B tile: at a fixed stride (a
/// packed panel, or a block of copied columns), or through a table of
/// offsets (a convolution's windows read in place from its padded input).
struct StridedB {
  static const float *row(const MicroArgs &g, int64_t k) { return g.B + k * g.bK; }
};
struct IndirectB {
  static const float *row(const MicroArgs &g, int64_t k) { return g.B + g.bOff[k]; }
};

/// The portable kernel: MR x 16 with std::fma, the same chains as the
/// vector kernels.
template <class ALayout, class BLayout, int MR> void microPortable(const MicroArgs &g) {
  float acc[MR][kPanel];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < kPanel; ++j)
      acc[i][j] = g.loadC ? g.C[i * g.ldc + j] : 0.0f;
  for (int64_t k = 0; k < g.kc; ++k) {
    const float *b = BLayout::row(g, k);
    for (int i = 0; i < MR; ++i) {
      const float a = g.A[ALayout::at(i, k, g.lda)];
      for (int j = 0; j < kPanel; ++j)
        acc[i][j] = std::fma(a, b[j], acc[i][j]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < kPanel; ++j)
      g.C[i * g.ldc + j] = acc[i][j];
}

#if defined(__x86_64__)
#define DS_AVX512 __attribute__((target("avx512f")))
#define DS_AVX2 __attribute__((target("avx2,fma")))

template <class ALayout, class BLayout, int MR, int NP>
DS_AVX512 void microAvx512(const MicroArgs &g) {
  __m512 acc[MR][NP];
  for (int i = 0; i < MR; ++i)
    for (int p = 0; p < NP; ++p)
      acc[i][p] = g.loadC ? _mm512_loadu_ps(g.C + i * g.ldc + p * kPanel) : _mm512_setzero_ps();
  for (int64_t k = 0; k < g.kc; ++k) {
    const float *row = BLayout::row(g, k);
    __m512 b[NP];
    for (int p = 0; p < NP; ++p)
      b[p] = _mm512_loadu_ps(row + p * g.bPanel);
    for (int i = 0; i < MR; ++i) {
      const __m512 a = _mm512_set1_ps(g.A[ALayout::at(i, k, g.lda)]);
      for (int p = 0; p < NP; ++p)
        acc[i][p] = _mm512_fmadd_ps(a, b[p], acc[i][p]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int p = 0; p < NP; ++p)
      _mm512_storeu_ps(g.C + i * g.ldc + p * kPanel, acc[i][p]);
}

template <class ALayout, class BLayout, int MR> DS_AVX2 void microAvx2(const MicroArgs &g) {
  __m256 acc[MR][2];
  for (int i = 0; i < MR; ++i)
    for (int h = 0; h < 2; ++h)
      acc[i][h] = g.loadC ? _mm256_loadu_ps(g.C + i * g.ldc + h * 8) : _mm256_setzero_ps();
  for (int64_t k = 0; k < g.kc; ++k) {
    const float *b = BLayout::row(g, k);
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    for (int i = 0; i < MR; ++i) {
      const __m256 a = _mm256_broadcast_ss(g.A + ALayout::at(i, k, g.lda));
      acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(a, b1, acc[i][1]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int h = 0; h < 2; ++h)
      _mm256_storeu_ps(g.C + i * g.ldc + h * 8, acc[i][h]);
}
#endif

/// The micro-kernels of one instruction set, by rows (1..mr) and panels (1..np).
struct Isa {
  using Table = std::array<std::array<MicroKernel, 12>, 2>;
  int mr = 0, np = 0;
  Table kernels{};  ///< packed right operand
  Table left{};     ///< packed left operand, strided B
  Table indirect{}; ///< packed left operand, indirect B
  Table column{};   ///< packed right operand, A stored by columns
};

template <template <int, class> class Make, class B, size_t... I>
std::array<MicroKernel, 12> table(std::index_sequence<I...>) {
  std::array<MicroKernel, 12> t{};
  ((t[I] = Make<(int)I + 1, B>::fn), ...);
  return t;
}
template <template <int, class> class Make, class B = StridedB>
std::array<MicroKernel, 12> table() {
  return table<Make, B>(std::make_index_sequence<12>());
}
// Table entries by rows (MR = index + 1); a packed-left kernel exists only
// up to its panel height.
template <int MR, class B> struct Portable {
  static constexpr MicroKernel fn = &microPortable<InPlaceA, B, MR>;
};
template <int MR, class B> struct ColumnPortable {
  static constexpr MicroKernel fn = &microPortable<ColumnA, B, MR>;
};
template <int MR, class B> struct LeftPortable {
  static constexpr MicroKernel fn =
      MR <= 4 ? &microPortable<PanelA<4>, B, (MR <= 4 ? MR : 4)> : nullptr;
};
#if defined(__x86_64__)
template <int MR, class B> struct Avx512x1 {
  static constexpr MicroKernel fn = &microAvx512<InPlaceA, B, MR, 1>;
};
template <int MR, class B> struct Avx512x2 {
  static constexpr MicroKernel fn = &microAvx512<InPlaceA, B, MR, 2>;
};
template <int MR, class B> struct Avx2 {
  static constexpr MicroKernel fn = &microAvx2<InPlaceA, B, MR>;
};
template <int MR, class B> struct ColumnAvx512x1 {
  static constexpr MicroKernel fn = &microAvx512<ColumnA, B, MR, 1>;
};
template <int MR, class B> struct ColumnAvx512x2 {
  static constexpr MicroKernel fn = &microAvx512<ColumnA, B, MR, 2>;
};
template <int MR, class B> struct ColumnAvx2 {
  static constexpr MicroKernel fn = &microAvx2<ColumnA, B, MR>;
};
template <int MR, class B> struct LeftAvx512x1 {
  static constexpr MicroKernel fn = &microAvx512<PanelA<12>, B, MR, 1>;
};
template <int MR, class B> struct LeftAvx512x2 {
  static constexpr MicroKernel fn = &microAvx512<PanelA<12>, B, MR, 2>;
};
template <int MR, class B> struct LeftAvx2 {
  static constexpr MicroKernel fn =
      MR <= 6 ? &microAvx2<PanelA<6>, B, (MR <= 6 ? MR : 6)> : nullptr;
};
#endif

const Isa &isa() {
  static const Isa chosen = [] {
    Isa s;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) {
      s.mr = 12, s.np = 2;
      s.kernels = {table<Avx512x1>(), table<Avx512x2>()};
      s.left = {table<LeftAvx512x1>(), table<LeftAvx512x2>()};
      s.indirect = {table<LeftAvx512x1, IndirectB>(), table<LeftAvx512x2, IndirectB>()};
      s.column = {table<ColumnAvx512x1>(), table<ColumnAvx512x2>()};
      return s;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
      s.mr = 6, s.np = 1;
      s.kernels[0] = table<Avx2>();
      s.left[0] = table<LeftAvx2>();
      s.indirect[0] = table<LeftAvx2, IndirectB>();
      s.column[0] = table<ColumnAvx2>();
      return s;
    }
#endif
    s.mr = 4, s.np = 1;
    s.kernels[0] = table<Portable>();
    s.left[0] = table<LeftPortable>();
    s.indirect[0] = table<LeftPortable, IndirectB>();
    s.column[0] = table<ColumnPortable>();
    return s;
  }();
  return chosen;
}

/// Runs `kernel` on the tile of `g` (mr rows, its vectors' 16 * np
/// columns) of which only the first `cols` exist in C: a short last group
/// of columns goes through a local tile, so nothing past C's row is read or
/// written.
void runTile(MicroKernel kernel, MicroArgs g, int64_t mr, int64_t np, int64_t cols) {
  const int64_t width = np * kPanel;
  if (cols == width) {
    kernel(g);
    return;
  }
  float tile[12 * 2 * kPanel];
  float *out = g.C;
  const int64_t ldc = g.ldc;
  if (g.loadC)
    for (int64_t r = 0; r < mr; ++r)
      std::memcpy(tile + r * width, out + r * ldc, (size_t)cols * sizeof(float));
  g.C = tile;
  g.ldc = width;
  kernel(g);
  for (int64_t r = 0; r < mr; ++r)
    std::memcpy(out + r * ldc, tile + r * width, (size_t)cols * sizeof(float));
}

/// A K x N right operand whose 16-column vectors the micro-kernels load:
/// row k of vector p at data + p * panelStride + k * rowStride (packed
/// panels: K * 16 and 16; a row-major matrix read in place: 16 and its row
/// stride).
struct RightOperand {
  const float *data;
  int64_t panelStride, rowStride, K, N;
  int64_t panels() const { return (N + kPanel - 1) / kPanel; }
};

/// Rows [r0, r1) and panels [p0, p1) of C, each tile over all of K (a
/// GEMM of one row group, a decode step's, so streams whole panels in
/// order); A read in place (row stride lda) or, when `panelsA` is set, from
/// its panels of s.mr rows.
void gemmBlock(const Isa &s, int64_t r0, int64_t r1, int64_t p0, int64_t p1, const float *A,
               int64_t lda, const float *panelsA, const RightOperand &B, float *C, int64_t ldc,
               bool accumulate) {
  const int64_t K = B.K, N = B.N;
  const Isa::Table &kernels = panelsA ? s.left : s.kernels;
  for (int64_t m0 = r0; m0 < r1; m0 += kMc) {
    const int64_t m1 = std::min(r1, m0 + kMc);
    for (int64_t p = p0; p < p1; p += s.np) {
      const int64_t np = std::min<int64_t>(s.np, p1 - p);
      const int64_t col = p * kPanel, cols = std::min(np * kPanel, N - col);
      const float *panel = B.data + p * B.panelStride;
      for (int64_t i = m0; i < m1; i += s.mr) {
        const int64_t mr = std::min<int64_t>(s.mr, m1 - i);
        const float *a = panelsA ? panelsA + (i / s.mr) * K * s.mr : A + i * lda;
        MicroArgs g{K,   a,          lda, panel, B.panelStride, B.rowStride, nullptr,
                    C + i * ldc + col, ldc, accumulate};
        runTile(kernels[(size_t)(np - 1)][(size_t)(mr - 1)], g, mr, np, cols);
      }
    }
  }
}

/// out[c * ldo + i] = tile[i * ldt + c] + bias[c] (bias may be null) for
/// i < rows, c < cols: a block of sums stored transposed.
void storeTransposedScalar(const float *tile, int64_t ldt, int64_t rows, int64_t cols,
                           const float *bias, float *out, int64_t ldo) {
  for (int64_t c = 0; c < cols; ++c) {
    const float b = bias ? bias[c] : 0.0f;
    for (int64_t i = 0; i < rows; ++i)
      out[c * ldo + i] = tile[i * ldt + c] + b;
  }
}

#if defined(__x86_64__)
/// The same, 8 x 8 blocks at a time through registers.
DS_AVX2 void storeTransposedAvx2(const float *tile, int64_t ldt, int64_t rows, int64_t cols,
                                 const float *bias, float *out, int64_t ldo) {
  const int64_t rows8 = rows / 8 * 8, cols8 = cols / 8 * 8;
  for (int64_t c = 0; c < cols8; c += 8)
    for (int64_t i = 0; i < rows8; i += 8) {
      __m256 r[8], t[8];
      for (int j = 0; j < 8; ++j)
        r[j] = _mm256_loadu_ps(tile + (i + j) * ldt + c);
      for (int j = 0; j < 8; j += 2) {
        t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);
        t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);
      }
      for (int j = 0; j < 8; j += 4) {
        r[j] = _mm256_shuffle_ps(t[j], t[j + 2], 0x44);
        r[j + 1] = _mm256_shuffle_ps(t[j], t[j + 2], 0xEE);
        r[j + 2] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0x44);
        r[j + 3] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0xEE);
      }
      // r[j] (j < 4): column j of rows 0-3 in its low half, column j + 4
      // in its high half; r[j + 4] the same for rows 4-7.
      for (int j = 0; j < 4; ++j) {
        const __m256 lo = _mm256_permute2f128_ps(r[j], r[j + 4], 0x20);
        const __m256 hi = _mm256_permute2f128_ps(r[j], r[j + 4], 0x31);
        const __m256 blo = _mm256_set1_ps(bias ? bias[c + j] : 0.0f);
        const __m256 bhi = _mm256_set1_ps(bias ? bias[c + j + 4] : 0.0f);
        _mm256_storeu_ps(out + (c + j) * ldo + i, _mm256_add_ps(lo, blo));
        _mm256_storeu_ps(out + (c + j + 4) * ldo + i, _mm256_add_ps(hi, bhi));
      }
    }
  // The edges: rows past the last 8 of the first cols8 columns, then the
  // columns past those.
  storeTransposedScalar(tile + rows8 * ldt, ldt, rows - rows8, cols8, bias, out + rows8, ldo);
  storeTransposedScalar(tile + cols8, ldt, rows, cols - cols8, bias ? bias + cols8 : nullptr,
                        out + cols8 * ldo, ldo);
}
#endif

void storeTransposed(const float *tile, int64_t ldt, int64_t rows, int64_t cols, const float *bias,
                     float *out, int64_t ldo) {
#if defined(__x86_64__)
  if (isa().mr != 4) // AVX2 or AVX-512 (which has AVX2)
    return storeTransposedAvx2(tile, ldt, rows, cols, bias, out, ldo);
#endif
  storeTransposedScalar(tile, ldt, rows, cols, bias, out, ldo);
}

/// Rows [r0, r1) and panels [p0, p1) of A B (A stored by columns, column
/// stride lda), each tile over all of K into a local tile, then stored
/// transposed with the bias: Ct[n * ldct + i] = (A B)[i][n] + bias[n].
void transposedOutBlock(const Isa &s, int64_t r0, int64_t r1, int64_t p0, int64_t p1,
                        const float *A, int64_t lda, const RightOperand &B, float *Ct,
                        int64_t ldct, const float *bias) {
  const int64_t K = B.K, N = B.N, width = s.np * kPanel;
  float tile[12 * 2 * kPanel];
  for (int64_t p = p0; p < p1; p += s.np) {
    const int64_t np = std::min<int64_t>(s.np, p1 - p);
    const int64_t col = p * kPanel, cols = std::min(np * kPanel, N - col);
    const float *panel = B.data + p * B.panelStride;
    for (int64_t i = r0; i < r1; i += s.mr) {
      const int64_t mr = std::min<int64_t>(s.mr, r1 - i);
      MicroArgs g{K, A + i, lda, panel, B.panelStride, B.rowStride, nullptr, tile, width, false};
      s.column[(size_t)(np - 1)][(size_t)(mr - 1)](g);
      for (int64_t c = 0; c < cols; ++c) {
        float *out = Ct + (col + c) * ldct + i;
        const float b = bias ? bias[col + c] : 0.0f;
        for (int64_t r = 0; r < mr; ++r)
          out[r] = tile[r * width + c] + b;
      }
    }
  }
}

/// The packed matrix `B` as a right operand.
RightOperand rightOperand(const PackedMatrix &B) {
  return {B.data.get(), B.K * kPanel, kPanel, B.K, B.N};
}

/// Row panels [m0, m1) of packed A (from k0) times one column group of B
/// (its `cols` columns from `col`): `g` holds kc, where B's rows are and
/// loadC; each panel's A and C are set here.
void leftPanels(const Isa &s, const Isa::Table &kernels, const PackedLeftMatrix &A, int64_t k0,
                int64_t m0, int64_t m1, int64_t col, int64_t cols, MicroArgs g, float *C,
                int64_t ldc) {
  const int64_t np = (cols + kPanel - 1) / kPanel;
  g.ldc = ldc;
  for (int64_t i = m0; i < m1; i += s.mr) {
    const int64_t mr = std::min<int64_t>(s.mr, m1 - i);
    g.A = A.slice(i / s.mr, k0);
    g.C = C + i * ldc + col;
    runTile(kernels[(size_t)(np - 1)][(size_t)(mr - 1)], g, mr, np, cols);
  }
}

/// Rows [r0, r1) (multiples of s.mr, the last may be short) and column
/// groups [c0, c1) of 16 * s.np columns of C = A B, A packed by rows. Each
/// kLeftKc x 512 block of B is first copied into contiguous groups ([k][16 *
/// np], zero-padded at the right edge): reading B in place touched one page
/// per k (im2col columns are long rows), and the copy is reused by every
/// row panel.
void leftBlock(const Isa &s, int64_t r0, int64_t r1, int64_t c0, int64_t c1,
               const PackedLeftMatrix &A, const float *B, int64_t ldb, int64_t N, float *C,
               int64_t ldc, bool accumulate) {
  const int64_t K = A.K, width = s.np * kPanel;
  const int64_t groupsPerBlock = std::max<int64_t>(1, 512 / width);
  // Per thread, grown once: small convolutions call this thousands of times.
  thread_local std::vector<float> block;
  const size_t need = (size_t)(std::min(groupsPerBlock, c1 - c0) * std::min(kLeftKc, K) * width);
  if (block.size() < need)
    block.resize(need);
  for (int64_t k0 = 0; k0 < K; k0 += kLeftKc) {
    const int64_t kc = std::min(kLeftKc, K - k0);
    const bool loadC = accumulate || k0 > 0;
    for (int64_t n0 = c0; n0 < c1; n0 += groupsPerBlock) {
      const int64_t n1 = std::min(c1, n0 + groupsPerBlock);
      for (int64_t grp = n0; grp < n1; ++grp) {
        const int64_t col = grp * width, cols = std::min(width, N - col);
        float *dst = block.data() + (grp - n0) * kc * width;
        const float *src = B + k0 * ldb + col;
        // Whole groups by fixed-size copies (inlined as a few vector moves:
        // a memcpy call per row of 16 floats cost as much as the products
        // of a 16-row pointwise convolution).
        auto copyWhole = [&](auto floats) {
          for (int64_t k = 0; k < kc; ++k)
            std::memcpy(dst + k * width, src + k * ldb, floats * sizeof(float));
        };
        if (cols == width && width == kPanel)
          copyWhole(std::integral_constant<int64_t, kPanel>());
        else if (cols == width && width == 2 * kPanel)
          copyWhole(std::integral_constant<int64_t, 2 * kPanel>());
        else
          for (int64_t k = 0; k < kc; ++k) {
            std::memcpy(dst + k * width, src + k * ldb, (size_t)cols * sizeof(float));
            std::fill(dst + k * width + cols, dst + (k + 1) * width, 0.0f);
          }
      }
      for (int64_t m0 = r0; m0 < r1; m0 += kMc) {
        const int64_t m1 = std::min(r1, m0 + kMc);
        for (int64_t grp = n0; grp < n1; ++grp) {
          const int64_t col = grp * width;
          const float *b = block.data() + (grp - n0) * kc * width;
          MicroArgs g{kc, nullptr, 0, b, kPanel, width, nullptr, nullptr, 0, loadC};
          leftPanels(s, s.left, A, k0, m0, m1, col, std::min(width, N - col), g, C, ldc);
        }
      }
    }
  }
}

/// Rows [r0, r1) and column groups [c0, c1) of C = A B, A packed by rows
/// and B[k][n] = B[offsets[k] + n]: each micro-kernel reads its rows of B
/// in place, so nothing is copied.
void indirectBlock(const Isa &s, int64_t r0, int64_t r1, int64_t c0, int64_t c1,
                   const PackedLeftMatrix &A, const float *B, const int64_t *offsets, int64_t N,
                   float *C, int64_t ldc, bool accumulate) {
  const int64_t K = A.K, width = s.np * kPanel;
  for (int64_t k0 = 0; k0 < K; k0 += kLeftKc) {
    const int64_t kc = std::min(kLeftKc, K - k0);
    const bool loadC = accumulate || k0 > 0;
    for (int64_t m0 = r0; m0 < r1; m0 += kIndirectMc) {
      const int64_t m1 = std::min(r1, m0 + kIndirectMc);
      for (int64_t grp = c0; grp < c1; ++grp) {
        const int64_t col = grp * width;
        MicroArgs g{kc, nullptr, 0, B + col, kPanel, 0, offsets + k0, nullptr, 0, loadC};
        leftPanels(s, s.indirect, A, k0, m0, m1, col, std::min(width, N - col), g, C, ldc);
      }
    }
  }
}

/// cpu/TaskGrid.h's count for this session's threads.
int64_t tasksWanted(const KernelContext &ctx, int64_t M, int64_t N, int64_t K) {
  return gemmTasksWanted(ctx.numThreads, M, N, K);
}

/// Splits C = A B (A packed by rows, M x K; N columns) into a TaskGrid and
/// runs fn(r0, r1, c0, c1) (rows, column groups) for each in parallel.
template <typename Fn>
void forLeftTasks(KernelContext &ctx, const Isa &s, int64_t M, int64_t N, int64_t K, Fn fn) {
  const int64_t width = s.np * kPanel;
  const TaskGrid grid((M + s.mr - 1) / s.mr, (N + width - 1) / width, tasksWanted(ctx, M, N, K),
                      ctx.numThreads);
  runTasks(ctx, false, grid, [&](int64_t p0, int64_t p1, int64_t c0, int64_t c1) {
    fn(p0 * s.mr, std::min(M, p1 * s.mr), c0, c1);
  });
}

/// Runs task t of `grid` over the packed right operand B: rows and panel
/// groups of C = A B (A read in place, or from `panelsA`).
void rightTask(const Isa &s, const TaskGrid &grid, int64_t t, int64_t M, const float *A,
               int64_t lda, const float *panelsA, const PackedMatrix &B, float *C, int64_t ldc,
               bool accumulate) {
  int64_t p0, p1, g0, g1;
  grid.task(t, p0, p1, g0, g1);
  const int64_t r0 = p0 * s.mr, r1 = std::min(M, p1 * s.mr);
  const int64_t b0 = g0 * s.np, b1 = std::min(B.panels(), g1 * s.np);
  if (r0 < r1 && b0 < b1)
    gemmBlock(s, r0, r1, b0, b1, A, lda, panelsA, rightOperand(B), C, ldc, accumulate);
}

/// C = 0 (unless accumulating) for an empty k dim.
void clearRows(int64_t M, int64_t N, float *C, int64_t ldc, bool accumulate) {
  if (!accumulate)
    for (int64_t i = 0; i < M; ++i)
      std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
}

} // namespace

bool packedGemmAvailable() {
#if defined(__x86_64__)
  return isa().mr != 4; // not the portable kernel
#else
  return true;
#endif
}

/// Column k of row panel p of A (pr rows, zero past M) into dst[0, pr).
inline void packColumn(const float *A, int64_t M, int64_t lda, int64_t pr, int64_t p, int64_t k,
                       float *dst) {
  for (int64_t i = 0; i < pr; ++i) {
    const int64_t row = p * pr + i;
    dst[i] = row < M ? A[row * lda + k] : 0.0f;
  }
}

/// Panels [p0, p1) of A (M x K, row stride lda) in rows of pr, [K][pr]
/// each (zero rows past M), into dst (which holds panel p0).
void packPanels(const float *A, int64_t M, int64_t K, int64_t lda, int64_t pr, int64_t p0,
                int64_t p1, float *dst) {
  for (int64_t p = p0; p < p1; ++p)
    for (int64_t k = 0; k < K; ++k, dst += pr)
      packColumn(A, M, lda, pr, p, k, dst);
}

bool packLeftMatrix(const float *A, int64_t M, int64_t K, int64_t lda, PackedLeftMatrix &out) {
  const int64_t pr = isa().mr;
  out.M = M;
  out.K = K;
  out.rowsPerPanel = pr;
  const int64_t panels = (M + pr - 1) / pr;
  const size_t bytes = (size_t)(panels * K * pr) * sizeof(float);
  void *raw = std::aligned_alloc(64, std::max<size_t>(64, (bytes + 63) / 64 * 64));
  if (!raw)
    return false;
  out.data = std::unique_ptr<float, void (*)(void *)>(static_cast<float *>(raw), std::free);
  float *dst = out.data.get(); // k block by k block (PackedLeftMatrix)
  for (int64_t k0 = 0; k0 < K; k0 += PackedLeftMatrix::kBlock) {
    const int64_t k1 = std::min(K, k0 + PackedLeftMatrix::kBlock);
    for (int64_t p = 0; p < panels; ++p)
      for (int64_t k = k0; k < k1; ++k, dst += pr)
        packColumn(A, M, lda, pr, p, k, dst);
  }
  return true;
}

void packedLeftGemm(KernelContext &ctx, const PackedLeftMatrix &A, const float *B, int64_t ldb,
                    int64_t N, float *C, int64_t ldc, bool accumulate) {
  const Isa &s = isa();
  if (A.M <= 0 || N <= 0)
    return;
  if (A.K == 0)
    return clearRows(A.M, N, C, ldc, accumulate);
  forLeftTasks(ctx, s, A.M, N, A.K, [&](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    leftBlock(s, r0, r1, c0, c1, A, B, ldb, N, C, ldc, accumulate);
  });
}

void packedLeftGemmIndirect(KernelContext &ctx, const PackedLeftMatrix &A, const float *B,
                            const int64_t *offsets, int64_t N, float *C, int64_t ldc,
                            bool accumulate) {
  const Isa &s = isa();
  if (A.M <= 0 || N <= 0)
    return;
  if (A.K == 0)
    return clearRows(A.M, N, C, ldc, accumulate);
  forLeftTasks(ctx, s, A.M, N, A.K, [&](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    indirectBlock(s, r0, r1, c0, c1, A, B, offsets, N, C, ldc, accumulate);
  });
}

bool allocatePacked(int64_t K, int64_t N, PackedMatrix &out) {
  out.K = K;
  out.N = N;
  const size_t bytes = (size_t)(out.panels() * K * kPanel) * sizeof(float);
  void *raw = std::aligned_alloc(64, std::max<size_t>(64, (bytes + 63) / 64 * 64));
  if (!raw)
    return false;
  out.data = std::unique_ptr<float, void (*)(void *)>(static_cast<float *>(raw), std::free);
  return true;
}

namespace {
/// Writes the K x N matrix whose element (k, n) is B[k * kStride + n *
/// nStride] as panels of 16 columns at dst.
void fillPanels(const float *B, int64_t K, int64_t N, int64_t kStride, int64_t nStride,
                float *dst) {
  for (int64_t p = 0; p < (N + kPanel - 1) / kPanel; ++p) {
    const int64_t col = p * kPanel, cols = std::min(kPanel, N - col);
    for (int64_t k = 0; k < K; ++k, dst += kPanel) {
      const float *src = B + k * kStride + col * nStride;
      if (nStride == 1)
        std::memcpy(dst, src, (size_t)cols * sizeof(float));
      else // a matrix stored transposed: its 16 rows side by side, a k at a time
        for (int64_t j = 0; j < cols; ++j)
          dst[j] = src[j * nStride];
      std::fill(dst + cols, dst + kPanel, 0.0f);
    }
  }
}

/// Packs that matrix into `out`; false when out of memory.
bool packStrided(const float *B, int64_t K, int64_t N, int64_t kStride, int64_t nStride,
                 PackedMatrix &out) {
  if (!allocatePacked(K, N, out))
    return false;
  fillPanels(B, K, N, kStride, nStride, out.data.get());
  return true;
}

/// C (+)= A B on the calling thread.
void gemmSerial(int64_t M, const float *A, int64_t lda, const RightOperand &B, float *C,
                int64_t ldc, bool accumulate) {
  if (M <= 0 || B.N <= 0)
    return;
  if (B.K == 0)
    return clearRows(M, B.N, C, ldc, accumulate);
  gemmBlock(isa(), 0, M, 0, B.panels(), A, lda, nullptr, B, C, ldc, accumulate);
}
} // namespace

void packTransposedPanels(const float *Bt, int64_t N, int64_t K, int64_t ldbt, float *panels) {
  fillPanels(Bt, K, N, 1, ldbt, panels);
}

void gemmSerialPanels(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                      const float *panels, float *C, int64_t ldc, bool accumulate) {
  gemmSerial(M, A, lda, {panels, K * kPanel, kPanel, K, N}, C, ldc, accumulate);
}

void gemmSerialRowMajor(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                        const float *B, int64_t ldb, float *C, int64_t ldc, bool accumulate) {
  // Each micro-kernel loads whole 16-column vectors of B's rows: the
  // columns of a last partial vector are copied into a zero-padded panel
  // rather than read past the row (and past B's last row).
  if (M <= 0 || N <= 0)
    return;
  if (K == 0) // B may have no rows at all (null)
    return clearRows(M, N, C, ldc, accumulate);
  const int64_t whole = N / kPanel * kPanel;
  if (whole > 0)
    gemmSerial(M, A, lda, {B, kPanel, ldb, K, whole}, C, ldc, accumulate);
  if (whole == N)
    return;
  thread_local std::vector<float> tail;
  tail.resize((size_t)(K * kPanel));
  fillPanels(B + whole, K, N - whole, ldb, 1, tail.data());
  gemmSerial(M, A, lda, {tail.data(), K * kPanel, kPanel, K, N - whole}, C + whole, ldc,
             accumulate);
}

bool packMatrix(const float *B, int64_t K, int64_t N, int64_t ldb, PackedMatrix &out) {
  return packStrided(B, K, N, ldb, 1, out);
}

bool packTransposedMatrix(const float *Bt, int64_t N, int64_t K, PackedMatrix &out) {
  return packStrided(Bt, K, N, 1, K, out);
}

void packedGemm(KernelContext &ctx, int64_t M, const float *A, int64_t lda, const PackedMatrix &B,
                float *C, int64_t ldc, bool accumulate) {
  const Isa &s = isa();
  const int64_t N = B.N, K = B.K;
  if (M <= 0 || N <= 0)
    return;
  if (K == 0)
    return clearRows(M, N, C, ldc, accumulate);
  // Results do not depend on the blocks, so they may follow the threads.
  const TaskGrid grid((M + s.mr - 1) / s.mr, (B.panels() + s.np - 1) / s.np,
                      tasksWanted(ctx, M, N, K), ctx.numThreads);
  // With more than one row panel the lhs is first packed into panels too:
  // read in place, every micro-kernel streams s.mr rows of it at once, and
  // every column task does so again. Each panel is reused by N / 32 column
  // groups; under 256 columns the packing cost more than it saved (the
  // small LLaMA block: 0.039 -> 0.031 ms without it).
  const int64_t panelsA = (M + s.mr - 1) / s.mr;
  thread_local std::vector<float> panelBuffer; // the caller's; tasks get the pointer
  float *packedA = nullptr;
  if (panelsA > 1 && N >= kPackLhsMinColumns) {
    if (panelBuffer.size() < (size_t)(panelsA * K * s.mr))
      panelBuffer.resize((size_t)(panelsA * K * s.mr));
    packedA = panelBuffer.data();
    parallel(ctx, panelsA, std::max<int64_t>(1, 16384 / (K * s.mr)), [&](int64_t b, int64_t e) {
      packPanels(A, M, K, lda, s.mr, b, e, packedA + b * K * s.mr);
    });
  }
  parallel(ctx, grid.size(), 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t)
      rightTask(s, grid, t, M, A, lda, packedA, B, C, ldc, accumulate);
  });
}

/// Ct = (A B)ᵀ + bias for an empty k dim: the bias alone (zeros without one).
static void biasOnlyTransposed(int64_t M, int64_t N, float *Ct, int64_t ldct, const float *bias) {
  for (int64_t n = 0; n < N; ++n)
    std::fill(Ct + n * ldct, Ct + n * ldct + M, bias ? bias[n] : 0.0f);
}

void packedGemmTransposed(KernelContext &ctx, int64_t M, const float *A, int64_t lda,
                          const PackedMatrix &B, float *Ct, int64_t ldct, const float *bias) {
  const Isa &s = isa();
  const int64_t N = B.N, K = B.K;
  if (M <= 0 || N <= 0)
    return;
  if (K == 0)
    return biasOnlyTransposed(M, N, Ct, ldct, bias);
  // Column tasks first: each streams its share of B (the weights) once,
  // over every row.
  const TaskGrid grid((M + s.mr - 1) / s.mr, (B.panels() + s.np - 1) / s.np,
                      tasksWanted(ctx, M, N, K), ctx.numThreads);
  const RightOperand right = rightOperand(B);
  runTasks(ctx, false, grid, [&](int64_t q0, int64_t q1, int64_t g0, int64_t g1) {
    const int64_t r0 = q0 * s.mr, r1 = std::min(M, q1 * s.mr);
    const int64_t b0 = g0 * s.np, b1 = std::min(B.panels(), g1 * s.np);
    if (r0 < r1 && b0 < b1)
      transposedOutBlock(s, r0, r1, b0, b1, A, lda, right, Ct, ldct, bias);
  });
}

int64_t packedGemmPanelRows() { return isa().mr; }

void panelGemmTransposed(KernelContext &ctx, int64_t M, const PanelPacker &packRows,
                         const PackedMatrix &B, float *Ct, int64_t ldct, const float *bias) {
  const Isa &s = isa();
  const int64_t N = B.N, K = B.K;
  if (M <= 0 || N <= 0)
    return;
  if (K == 0)
    return biasOnlyTransposed(M, N, Ct, ldct, bias);
  const int64_t panelsM = (M + s.mr - 1) / s.mr, width = s.np * kPanel;
  const int64_t groups = (B.panels() + s.np - 1) / s.np;
  // One task per thread (each packs the rows it multiplies), columns first.
  const TaskGrid grid(panelsM, groups, tasksWanted(ctx, M, N, K) == 1 ? 1 : ctx.numThreads,
                      ctx.numThreads);
  runTasks(ctx, false, grid, [&](int64_t q0, int64_t q1, int64_t g0, int64_t g1) {
    const int64_t taskColumns = (g1 - g0) * width, rows = (q1 - q0) * s.mr;
    thread_local std::vector<float> sumsBuffer, panelBuffer; // this thread's
    auto grow = [](std::vector<float> &buffer, int64_t floats) {
      if (buffer.size() < (size_t)floats)
        buffer.resize((size_t)floats);
      return buffer.data();
    };
    // One k block of column group g over row panels [b0, b1), A's slices
    // at `a` (panel by panel), into sums (row stride ldSums).
    auto products = [&](int64_t g, int64_t k0, int64_t b0, int64_t b1, const float *a, float *out,
                        int64_t ldSums) {
      const int64_t kc = std::min(kLeftKc, K - k0);
      const int64_t np = std::min<int64_t>(s.np, B.panels() - g * s.np);
      const float *b = B.data.get() + g * s.np * K * kPanel + k0 * kPanel;
      for (int64_t q = b0; q < b1; ++q) {
        MicroArgs args{kc,      a + (q - b0) * kc * s.mr,       0,      b,     K * kPanel, kPanel,
                       nullptr, out + (q - b0) * s.mr * ldSums, ldSums, k0 > 0};
        s.left[(size_t)(np - 1)][(size_t)(s.mr - 1)](args);
      }
    };
    auto store = [&](const float *sums, int64_t ldSums, int64_t b0, int64_t b1, int64_t col,
                     int64_t cols) {
      const int64_t r0 = b0 * s.mr;
      storeTransposed(sums, ldSums, std::min(M, b1 * s.mr) - r0, std::min(cols, N - col),
                      bias ? bias + col : nullptr, Ct + col * ldct + r0, ldct);
    };
    if (rows * K <= (64 << 10)) {
      // All of the task's A fits in L2 (256 KiB): packed once, then each
      // column group streams its panel of B over it once, its sums a small
      // tile in L1.
      float *A = grow(panelBuffer, rows * K);
      for (int64_t k0 = 0; k0 < K; k0 += kLeftKc)
        packRows(q0, q1, k0, std::min(K, k0 + kLeftKc), A + k0 * rows);
      float *sums = grow(sumsBuffer, rows * width);
      for (int64_t g = g0; g < g1; ++g) {
        for (int64_t k0 = 0; k0 < K; k0 += kLeftKc)
          products(g, k0, q0, q1, A + k0 * rows, sums, width);
        store(sums, width, q0, q1, g * width, width);
      }
      return;
    }
    // Else row panels in blocks whose sums over the task's columns stay in
    // L2 (192 KiB): each block's k block of A is packed just before every
    // column group's k block of B passes over it from L1; B is read once
    // per row block (all rows in one where the columns allow: a 3 x 3
    // layer's weights on a 7 x 7 map are megabytes).
    const int64_t blockPanels = std::clamp<int64_t>((48 << 10) / (s.mr * taskColumns), 1, q1 - q0);
    float *sums = grow(sumsBuffer, blockPanels * s.mr * taskColumns);
    float *A = grow(panelBuffer, blockPanels * s.mr * std::min(K, kLeftKc));
    for (int64_t b0 = q0; b0 < q1; b0 += blockPanels) {
      const int64_t b1 = std::min(q1, b0 + blockPanels);
      for (int64_t k0 = 0; k0 < K; k0 += kLeftKc) {
        packRows(b0, b1, k0, std::min(K, k0 + kLeftKc), A);
        for (int64_t g = g0; g < g1; ++g)
          products(g, k0, b0, b1, A, sums + (g - g0) * width, taskColumns);
      }
      store(sums, taskColumns, b0, b1, g0 * width, taskColumns);
    }
  });
}

void packedGemmBatch(KernelContext &ctx, int64_t count, int64_t M, const float *const *A,
                     int64_t lda, const PackedMatrix *const *B, float *const *C, int64_t ldc) {
  const Isa &s = isa();
  if (count <= 0 || M <= 0 || B[0]->N <= 0)
    return;
  if (B[0]->K == 0) {
    for (int64_t b = 0; b < count; ++b)
      clearRows(M, B[0]->N, C[b], ldc, false);
    return;
  }
  // The tasks of all products share the threads: a product is split only
  // when there are fewer products than tasks wanted.
  const int64_t wanted = tasksWanted(ctx, count * M, B[0]->N, B[0]->K);
  const TaskGrid grid((M + s.mr - 1) / s.mr, (B[0]->panels() + s.np - 1) / s.np,
                      (wanted + count - 1) / count, (ctx.numThreads + count - 1) / count);
  const int64_t perProduct = grid.size();
  // One task in all (tasksWanted's small products) runs on this thread.
  const int64_t grain = wanted == 1 ? count * perProduct : 1;
  parallel(ctx, count * perProduct, grain, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t)
      rightTask(s, grid, t % perProduct, M, A[t / perProduct], lda, nullptr, *B[t / perProduct],
                C[t / perProduct], ldc, false);
  });
}

} // namespace dsrt::cpu
