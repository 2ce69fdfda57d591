//===- WinogradConv.cpp - 3x3 convolutions in the Winograd domain ---------===//
//
// Per image: the input is copied once, zero-padded, into channels-last
// order (P[row][col][c]), so that the transforms run on 16 channels per
// vector. Then, per block of tile rows: each a x a patch (a = n + 2)
// becomes V = B^T d B (V[point][tile][c]); a^2 packed GEMMs give O[point] =
// V[point] U[point] (tiles x M); each tile's O becomes A^T O A, an n x n
// block of outputs, written with its bias into the NCHW result.
//
// F(4x4, 3x3) uses the points 0, 1, -1, 2, -2 and infinity; F(2x2, 3x3)
// the points 0, 1, -1 and infinity. The per-tile transforms
// (WinogradTiles.inc) are built twice, for AVX-512 and for AVX2 + FMA;
// the padding copy and the weights' transform are plain C++.
//
//===----------------------------------------------------------------------===//
#include "cpu/WinogradConv.h"
#include "cpu/PackedConstants.h"

#include <algorithm>
#include <array>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace dsrt::cpu {
namespace {

constexpr int64_t kLanes = 16; ///< channels per vector
/// F(4x4, 3x3) needs at least this many of its tiles (maps of 25 x 25 and
/// more); smaller maps take F(2x2, 3x3), whose weights are 16/9 of the
/// direct ones instead of 36/9 (the GEMMs of small maps stream their
/// weights once per run) and whose GEMMs have 4x the rows. Measured on
/// ResNet-18 / -50 (docs/runtime.md), as the two thresholds.
constexpr int64_t kMinLargeTiles = 49;
/// F(2x2, 3x3) needs at least this many of its tiles (maps of 7 x 7 and
/// more); below, the direct path runs.
constexpr int64_t kMinSmallTiles = 16;
/// Floats of V (or O) per block of tile rows.
constexpr int64_t kBlockFloats = int64_t(1) << 19;
/// Floats a transform task should write at least (smaller tasks cost more
/// in hand-offs than they save on small maps).
constexpr int64_t kTaskFloats = 16384;

/// G of F(n x n, 3 x 3): the weight transform U = G g G^T (a x 3).
const double kG4[6][3] = {{1.0 / 4, 0, 0},
                          {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                          {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                          {1.0 / 24, 1.0 / 12, 1.0 / 6},
                          {1.0 / 24, -1.0 / 12, 1.0 / 6},
                          {0, 0, 1}};
const double kG2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};

#if defined(__x86_64__)
struct Geometry {
  int64_t H, W, OH, OW, PT, PL, C, M;
  int64_t n;      ///< outputs per tile side
  int64_t TH, TW; ///< tiles per column and per row
  int64_t Hp, Wp; ///< rows and columns of the padded copy
};

/// P[r][c][ch] = x[ch][r - PT][c - PL], zero outside the input.
void padChannelsLast(KernelContext &ctx, const Geometry &g, const float *x, float *P) {
  parallel(ctx, g.Hp, kTaskFloats / (g.Wp * g.C), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      float *row = P + r * g.Wp * g.C;
      const int64_t ih = r - g.PT;
      if (ih < 0 || ih >= g.H) {
        std::fill(row, row + g.Wp * g.C, 0.0f);
        continue;
      }
      const int64_t lo = std::min(g.PL, g.Wp), hi = std::clamp<int64_t>(g.PL + g.W, lo, g.Wp);
      std::fill(row, row + lo * g.C, 0.0f);
      std::fill(row + hi * g.C, row + g.Wp * g.C, 0.0f);
      // Blocks of 16 columns x 16 channels, so that both sides stay in cache.
      for (int64_t c0 = lo; c0 < hi; c0 += kLanes)
        for (int64_t ch = 0; ch < g.C; ch += kLanes)
          for (int64_t c = c0; c < std::min(hi, c0 + kLanes); ++c) {
            const float *src = x + ch * g.H * g.W + ih * g.W + (c - g.PL);
            float *dst = row + c * g.C + ch;
            for (int64_t l = 0; l < kLanes; ++l)
              dst[l] = src[l * g.H * g.W];
          }
    }
  });
}

namespace avx512 {
#define DS_TARGET __attribute__((target("avx512f")))
#define DS_WINOGRAD_AVX512 1
#include "cpu/WinogradTiles.inc"
#undef DS_WINOGRAD_AVX512
#undef DS_TARGET
} // namespace avx512

namespace avx2 {
#define DS_TARGET __attribute__((target("avx2,fma")))
#define DS_WINOGRAD_AVX512 0
#include "cpu/WinogradTiles.inc"
#undef DS_WINOGRAD_AVX512
#undef DS_TARGET
} // namespace avx2
#endif

} // namespace

VectorIsa winogradIsa() { return packedGemmAvailable() ? widestVectorIsa() : VectorIsa::None; }

int64_t winogradTileSize(const Window &w, int64_t C, int64_t M, int64_t group) {
#if defined(__x86_64__)
  if (winogradIsa() == VectorIsa::None)
    return 0;
  if (w.spatial != 2 || group != 1 || C <= 0 || M <= 0 || C % kLanes || M % kLanes)
    return 0;
  for (int64_t d = 0; d < 2; ++d)
    if (w.kernel[(size_t)d] != 3 || w.strides[(size_t)d] != 1 || w.dilations[(size_t)d] != 1 ||
        w.out[(size_t)d] < 1 || w.out[(size_t)d] > (1 << 30) || w.in[(size_t)d] > (1 << 30))
      return 0;
  // The variant, if any, that needs at most 1/1.5 of the direct path's
  // multiplies per output, counting the tile outputs computed past the
  // map's edge (a 1 x 200 map under F(4x4) computes 4 rows for 1: no gain).
  auto pays = [&](int64_t n) {
    const int64_t TH = ceilDivSigned(w.out[0], n), TW = ceilDivSigned(w.out[1], n);
    const double useful = double(w.out[0] * w.out[1]) / double(TH * n * TW * n);
    const double fewer = 9.0 * double(n * n) / double((n + 2) * (n + 2)) * useful;
    return TH * TW >= (n == 4 ? kMinLargeTiles : kMinSmallTiles) && fewer >= 1.5;
  };
  const int64_t n = pays(4) ? 4 : pays(2) ? 2 : 0;
  if (!n)
    return 0;
  const int64_t TH = ceilDivSigned(w.out[0], n), TW = ceilDivSigned(w.out[1], n);
  // Sizes come from the artifact unbounded: the padded copy must stay near
  // the tensors' own size (huge pads make a huge, mostly zero result; its
  // input may be small).
  int64_t padded, in, out;
  if (__builtin_mul_overflow(TH * n + 2, TW * n + 2, &padded) ||
      __builtin_mul_overflow(padded, C, &padded) ||
      __builtin_mul_overflow(w.in[0] * w.in[1], C, &in) ||
      __builtin_mul_overflow(w.out[0] * w.out[1], M, &out) || padded / 4 > in + out + (1 << 16))
    return 0;
  return n;
#else
  (void)w, (void)C, (void)M, (void)group;
  return 0;
#endif
}

bool transformWinogradWeights(const float *wt, int64_t M, int64_t C, int64_t n, PackedSet &out) {
  if ((n != 2 && n != 4) || M % PackedMatrix::kPanel)
    return false;
  const int a = (int)n + 2;
  auto G = [n](int i, int b) { return n == 4 ? kG4[i][b] : kG2[i][b]; };
  out.M = M;
  out.C = C;
  out.variant = n;
  out.matrices.clear();
  out.matrices.resize((size_t)(a * a));
  for (PackedMatrix &point : out.matrices)
    if (!allocatePacked(C, M, point))
      return false;
  // Per input channel, with m innermost (contiguous, so the loops vectorize):
  // its taps g[k][m], then G g, then (G g) G^T, written straight into each
  // point's panels (no copy of all the matrices at once: up to 4x the
  // weights).
  std::vector<double> taps((size_t)(9 * M)), half((size_t)(3 * a * M));
  const int64_t panel = PackedMatrix::kPanel;
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t m = 0; m < M; ++m)
      for (int64_t k = 0; k < 9; ++k)
        taps[(size_t)(k * M + m)] = wt[(m * C + c) * 9 + k];
    for (int i = 0; i < a; ++i)
      for (int b = 0; b < 3; ++b) {
        double *dst = half.data() + (i * 3 + b) * M;
        const double *g0 = taps.data() + b * M, *g1 = g0 + 3 * M, *g2 = g0 + 6 * M;
        const double G0 = G(i, 0), G1 = G(i, 1), G2 = G(i, 2);
        for (int64_t m = 0; m < M; ++m)
          dst[m] = G0 * g0[m] + G1 * g1[m] + G2 * g2[m];
      }
    for (int i = 0; i < a; ++i)
      for (int j = 0; j < a; ++j) {
        const double *h0 = half.data() + (i * 3) * M, *h1 = h0 + M, *h2 = h0 + 2 * M;
        const double G0 = G(j, 0), G1 = G(j, 1), G2 = G(j, 2);
        float *point = out.matrices[(size_t)(i * a + j)].data.get() + c * panel;
        for (int64_t m0 = 0; m0 < M; m0 += panel) {
          float *dst = point + m0 * C;
          for (int64_t m = m0; m < m0 + panel; ++m)
            dst[m - m0] = (float)(h0[m] * G0 + h1[m] * G1 + h2[m] * G2);
        }
      }
  }
  return true;
}

bool runWinogradConv(KernelContext &ctx, const float *x, const float *wt, const float *bias,
                     float *y, int64_t N, int64_t C, int64_t M, int64_t group, const Window &w,
                     VectorIsa isa) {
#if defined(__x86_64__)
  // winogradTileSize is 0 without the packed GEMM.
  const int64_t n = ctx.packed && vectorIsaRuns(isa) ? winogradTileSize(w, C, M, group) : 0;
  if (!n)
    return false;
  const PackedSet *U = ctx.packed->findSet(wt, M, C, n);
  const int64_t a = n + 2;
  if (!U || U->matrices.size() != (size_t)(a * a))
    return false;
  Geometry g{w.in[0], w.in[1], w.out[0], w.out[1], w.padBegin[0], w.padBegin[1], C, M, n};
  g.TH = ceilDivSigned(g.OH, n);
  g.TW = ceilDivSigned(g.OW, n);
  g.Hp = g.TH * n + 2;
  g.Wp = g.TW * n + 2;
  // Blocks of whole tile rows whose V and O stay near kBlockFloats each.
  const int64_t tileRows =
      std::clamp<int64_t>(kBlockFloats / (a * a * std::max(C, M) * g.TW), 1, g.TH);
  const int64_t blockTiles = tileRows * g.TW;

  // Kept by the calling thread across runs, grown only (tasks get the
  // pointers; every element a run reads it writes first).
  thread_local std::vector<float> padded, inputPoints, outputPoints;
  for (auto [buffer, need] :
       {std::pair{&padded, g.Hp * g.Wp * C}, std::pair{&inputPoints, a * a * blockTiles * C},
        std::pair{&outputPoints, a * a * blockTiles * M}})
    if (buffer->size() < (size_t)need)
      buffer->resize((size_t)need);
  for (int64_t b = 0; b < N; ++b) {
    padChannelsLast(ctx, g, x + b * C * g.H * g.W, padded.data());
    float *yb = y + b * M * g.OH * g.OW;
    auto *run = isa == VectorIsa::Avx512 ? (n == 4 ? avx512::runTiles<4> : avx512::runTiles<2>)
                                         : (n == 4 ? avx2::runTiles<4> : avx2::runTiles<2>);
    run(ctx, g, padded.data(), *U, bias, inputPoints.data(), outputPoints.data(), blockTiles, yb);
  }
  return true;
#else
  (void)ctx, (void)x, (void)wt, (void)bias, (void)y, (void)N, (void)C, (void)M, (void)group,
      (void)w, (void)isa;
  return false;
#endif
}

} // namespace dsrt::cpu
