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
// the points 0, 1, -1 and infinity.
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
#define DS_AVX512 __attribute__((target("avx512f")))
typedef float Vec __attribute__((vector_size(64)));

DS_AVX512 inline Vec load(const float *p) {
  Vec v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
DS_AVX512 inline void store(float *p, Vec v) { __builtin_memcpy(p, &v, sizeof v); }

/// B^T and A^T of F(N x N, 3 x 3), applied to one row or column.
template <int N> struct Transform;

template <> struct Transform<4> {
  static constexpr int a = 6;
  DS_AVX512 static void input(const Vec d[6], Vec r[6]) {
    r[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];
    r[1] = -4.0f * (d[1] + d[2]) + d[3] + d[4];
    r[2] = 4.0f * (d[1] - d[2]) - d[3] + d[4];
    r[3] = 2.0f * (d[3] - d[1]) - d[2] + d[4];
    r[4] = 2.0f * (d[1] - d[3]) - d[2] + d[4];
    r[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];
  }
  DS_AVX512 static void output(const Vec m[6], Vec r[4]) {
    const Vec s12 = m[1] + m[2], d12 = m[1] - m[2], s34 = m[3] + m[4], d34 = m[3] - m[4];
    r[0] = m[0] + s12 + s34;
    r[1] = d12 + 2.0f * d34;
    r[2] = s12 + 4.0f * s34;
    r[3] = d12 + 8.0f * d34 + m[5];
  }
};

template <> struct Transform<2> {
  static constexpr int a = 4;
  DS_AVX512 static void input(const Vec d[4], Vec r[4]) {
    r[0] = d[0] - d[2];
    r[1] = d[1] + d[2];
    r[2] = d[2] - d[1];
    r[3] = d[1] - d[3];
  }
  DS_AVX512 static void output(const Vec m[4], Vec r[2]) {
    r[0] = m[0] + m[1] + m[2];
    r[1] = m[1] - m[2] - m[3];
  }
};

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

/// Tile t's V[point][t - t0][ch], for tiles [t0, t0 + tiles).
template <int N>
DS_AVX512 void transformInputTile(const Geometry &g, const float *P, int64_t t, int64_t t0,
                                  int64_t tiles, float *V) {
  constexpr int a = Transform<N>::a;
  const int64_t pointStride = tiles * g.C;
  const float *patch = P + ((t / g.TW) * N * g.Wp + (t % g.TW) * N) * g.C;
  float *out = V + (t - t0) * g.C;
  for (int64_t ch = 0; ch < g.C; ch += kLanes) {
    Vec rows[a][a];
    for (int i = 0; i < a; ++i) { // B^T along each row of the patch
      Vec d[a];
      for (int j = 0; j < a; ++j)
        d[j] = load(patch + (i * g.Wp + j) * g.C + ch);
      Transform<N>::input(d, rows[i]);
    }
    for (int j = 0; j < a; ++j) { // and along each column
      Vec d[a], r[a];
      for (int i = 0; i < a; ++i)
        d[i] = rows[i][j];
      Transform<N>::input(d, r);
      for (int i = 0; i < a; ++i)
        store(out + (i * a + j) * pointStride + ch, r[i]);
    }
  }
}

/// Stores row `i` of a whole tile for 16 channels: cols[j] holds column j
/// of it, channel m + l in lane l; channel m + l's row goes to dst[l *
/// plane]. Transposed in registers, a row of N contiguous floats per
/// channel (one element at a time, through memory, the F(2x2) output
/// transform cost as much as the whole small CNN's pooling).
template <int N> struct TileRows;
template <> struct TileRows<4> {
  template <int K>
  DS_AVX512 static void lane(__m512 u0, __m512 u1, __m512 u2, __m512 u3, float *dst,
                             int64_t plane) {
    _mm_storeu_ps(dst + (4 * K + 0) * plane, _mm512_extractf32x4_ps(u0, K));
    _mm_storeu_ps(dst + (4 * K + 1) * plane, _mm512_extractf32x4_ps(u1, K));
    _mm_storeu_ps(dst + (4 * K + 2) * plane, _mm512_extractf32x4_ps(u2, K));
    _mm_storeu_ps(dst + (4 * K + 3) * plane, _mm512_extractf32x4_ps(u3, K));
  }
  DS_AVX512 static void store(const Vec cols[4], float *dst, int64_t plane) {
    // Per 128-bit lane k: t0 = (c0, c1) of channels 4k, 4k + 1, t1 of
    // 4k + 2, 4k + 3 (likewise t2, t3 for c2, c3); u_q = channel 4k + q.
    const __m512 c0 = (__m512)cols[0], c1 = (__m512)cols[1], c2 = (__m512)cols[2],
                 c3 = (__m512)cols[3];
    const __m512 t0 = _mm512_unpacklo_ps(c0, c1), t1 = _mm512_unpackhi_ps(c0, c1);
    const __m512 t2 = _mm512_unpacklo_ps(c2, c3), t3 = _mm512_unpackhi_ps(c2, c3);
    const __m512 u0 = _mm512_shuffle_ps(t0, t2, 0x44), u1 = _mm512_shuffle_ps(t0, t2, 0xEE);
    const __m512 u2 = _mm512_shuffle_ps(t1, t3, 0x44), u3 = _mm512_shuffle_ps(t1, t3, 0xEE);
    lane<0>(u0, u1, u2, u3, dst, plane);
    lane<1>(u0, u1, u2, u3, dst, plane);
    lane<2>(u0, u1, u2, u3, dst, plane);
    lane<3>(u0, u1, u2, u3, dst, plane);
  }
};
template <> struct TileRows<2> {
  template <int K>
  DS_AVX512 static void lane(__m512 t0, __m512 t1, float *dst, int64_t plane) {
    const __m128 a = _mm512_extractf32x4_ps(t0, K), b = _mm512_extractf32x4_ps(t1, K);
    _mm_storel_pi((__m64 *)(dst + (4 * K + 0) * plane), a);
    _mm_storeh_pi((__m64 *)(dst + (4 * K + 1) * plane), a);
    _mm_storel_pi((__m64 *)(dst + (4 * K + 2) * plane), b);
    _mm_storeh_pi((__m64 *)(dst + (4 * K + 3) * plane), b);
  }
  DS_AVX512 static void store(const Vec cols[2], float *dst, int64_t plane) {
    // Per 128-bit lane k: t0 = (c0, c1) of channels 4k, 4k + 1, t1 of
    // channels 4k + 2, 4k + 3.
    const __m512 c0 = (__m512)cols[0], c1 = (__m512)cols[1];
    const __m512 t0 = _mm512_unpacklo_ps(c0, c1), t1 = _mm512_unpackhi_ps(c0, c1);
    lane<0>(t0, t1, dst, plane);
    lane<1>(t0, t1, dst, plane);
    lane<2>(t0, t1, dst, plane);
    lane<3>(t0, t1, dst, plane);
  }
};

/// Tile t's N x N block of y from O[point][t - t0][m] (tiles [t0, t0 +
/// tiles)), plus bias.
template <int N>
DS_AVX512 void transformOutputTile(const Geometry &g, const float *O, const float *bias, int64_t t,
                                   int64_t t0, int64_t tiles, float *y) {
  constexpr int a = Transform<N>::a;
  const int64_t pointStride = tiles * g.M, plane = g.OH * g.OW;
  const int64_t oh0 = (t / g.TW) * N, ow0 = (t % g.TW) * N;
  const int64_t rows = std::min<int64_t>(N, g.OH - oh0), cols = std::min<int64_t>(N, g.OW - ow0);
  const float *in = O + (t - t0) * g.M;
  for (int64_t m = 0; m < g.M; m += kLanes) {
    Vec half[a][N];
    for (int i = 0; i < a; ++i) { // A^T along each row of points
      Vec v[a];
      for (int j = 0; j < a; ++j)
        v[j] = load(in + (i * a + j) * pointStride + m);
      Transform<N>::output(v, half[i]);
    }
    Vec block[N][N]; // [row][column], lanes = channels
    const Vec bv = bias ? load(bias + m) : Vec{};
    for (int j = 0; j < N; ++j) { // and along each column
      Vec v[a], r[N];
      for (int i = 0; i < a; ++i)
        v[i] = half[i][j];
      Transform<N>::output(v, r);
      for (int i = 0; i < N; ++i)
        block[i][j] = r[i] + bv;
    }
    if (rows == N && cols == N) {
      for (int i = 0; i < N; ++i)
        TileRows<N>::store(block[i], y + m * plane + (oh0 + i) * g.OW + ow0, plane);
      continue;
    }
    for (int64_t l = 0; l < kLanes; ++l) { // a tile cut by the map's edge
      float *dst = y + (m + l) * plane + oh0 * g.OW + ow0;
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j)
          dst[i * g.OW + j] = block[i][j][l];
    }
  }
}

/// The convolution of one image's blocks of tile rows, on transformed
/// weights U (a^2 matrices).
template <int N>
void runTiles(KernelContext &ctx, const Geometry &g, const float *P, const PackedSet &U,
              const float *bias, float *V, float *O, int64_t blockTiles, float *y) {
  constexpr int64_t points = Transform<N>::a * Transform<N>::a;
  std::array<const float *, points> A;
  std::array<const PackedMatrix *, points> B;
  std::array<float *, points> Cs;
  for (int64_t t0 = 0; t0 < g.TH * g.TW; t0 += blockTiles) {
    const int64_t t1 = std::min(g.TH * g.TW, t0 + blockTiles), tiles = t1 - t0;
    parallel(ctx, tiles, kTaskFloats / (points * g.C), [&](int64_t b, int64_t e) {
      for (int64_t t = t0 + b; t < t0 + e; ++t)
        transformInputTile<N>(g, P, t, t0, tiles, V);
    });
    for (int64_t p = 0; p < points; ++p) {
      A[(size_t)p] = V + p * tiles * g.C;
      B[(size_t)p] = &U.matrices[(size_t)p];
      Cs[(size_t)p] = O + p * tiles * g.M;
    }
    packedGemmBatch(ctx, points, tiles, A.data(), g.C, B.data(), Cs.data(), g.M);
    parallel(ctx, tiles, kTaskFloats / (points * g.M), [&](int64_t b, int64_t e) {
      for (int64_t t = t0 + b; t < t0 + e; ++t)
        transformOutputTile<N>(g, O, bias, t, t0, tiles, y);
    });
  }
}
#endif

} // namespace

int64_t winogradTileSize(const Window &w, int64_t C, int64_t M, int64_t group) {
#if defined(__x86_64__)
  if (!__builtin_cpu_supports("avx512f") || !packedGemmAvailable())
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
                     float *y, int64_t N, int64_t C, int64_t M, int64_t group, const Window &w) {
#if defined(__x86_64__)
  const int64_t n = ctx.packed ? winogradTileSize(w, C, M, group) : 0;
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
    if (n == 4)
      runTiles<4>(ctx, g, padded.data(), *U, bias, inputPoints.data(), outputPoints.data(),
                  blockTiles, yb);
    else
      runTiles<2>(ctx, g, padded.data(), *U, bias, inputPoints.data(), outputPoints.data(),
                  blockTiles, yb);
  }
  return true;
#else
  (void)ctx, (void)x, (void)wt, (void)bias, (void)y, (void)N, (void)C, (void)M, (void)group,
      (void)w;
  return false;
#endif
}

} // namespace dsrt::cpu
