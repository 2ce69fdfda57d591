//===- WinogradConv.cpp - 3x3 convolutions in the Winograd domain ---------===//
//
// Per image: the input is copied once, zero-padded, into channels-last
// order (P[row][col][c]), so that the transforms run on 16 channels per
// vector. Then, per block of tile rows: each 6 x 6 patch becomes V = B^T d B
// (V[point][tile][c]); 36 packed GEMMs give O[point] = V[point] U[point]
// (tiles x M); each tile's O becomes A^T O A, a 4 x 4 block of outputs,
// written with its bias into the NCHW result.
//
// The transform matrices are those of points 0, 1, -1, 2, -2 and infinity.
//
//===----------------------------------------------------------------------===//
#include "cpu/WinogradConv.h"

#include <algorithm>
#include <array>
#include <vector>

namespace dsrt::cpu {
namespace {

constexpr int64_t kAlpha = 6;                ///< the transform's size
constexpr int64_t kPoints = kAlpha * kAlpha; ///< GEMMs per convolution
constexpr int64_t kOut = 4;                  ///< outputs per tile side
constexpr int64_t kLanes = 16;               ///< channels per vector
/// The fewest tiles for which 4x larger weights pay: 7 x 7 maps (2 x 2
/// tiles) ran faster than directly on ResNet-18 and -50 (docs/runtime.md).
constexpr int64_t kMinTiles = 4;
/// Floats of V (or O) per block of tile rows.
constexpr int64_t kBlockFloats = int64_t(1) << 19;

#if defined(__x86_64__)
#define DS_AVX512 __attribute__((target("avx512f")))
typedef float Vec __attribute__((vector_size(64)));

DS_AVX512 inline Vec load(const float *p) {
  Vec v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
DS_AVX512 inline void store(float *p, Vec v) { __builtin_memcpy(p, &v, sizeof v); }

/// r = B^T d for six values d (a row or a column of a patch).
DS_AVX512 inline void inputTransform(const Vec d[6], Vec r[6]) {
  r[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];
  r[1] = -4.0f * (d[1] + d[2]) + d[3] + d[4];
  r[2] = 4.0f * (d[1] - d[2]) - d[3] + d[4];
  r[3] = 2.0f * (d[3] - d[1]) - d[2] + d[4];
  r[4] = 2.0f * (d[1] - d[3]) - d[2] + d[4];
  r[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];
}

/// r = A^T m for six values m.
DS_AVX512 inline void outputTransform(const Vec m[6], Vec r[4]) {
  const Vec s12 = m[1] + m[2], d12 = m[1] - m[2], s34 = m[3] + m[4], d34 = m[3] - m[4];
  r[0] = m[0] + s12 + s34;
  r[1] = d12 + 2.0f * d34;
  r[2] = s12 + 4.0f * s34;
  r[3] = d12 + 8.0f * d34 + m[5];
}

struct Geometry {
  int64_t H, W, OH, OW, PT, PL, C, M;
  int64_t TH, TW; ///< tiles per column and per row
  int64_t Hp, Wp; ///< rows and columns of the padded copy
};

/// P[r][c][ch] = x[ch][r - PT][c - PL], zero outside the input.
void padChannelsLast(KernelContext &ctx, const Geometry &g, const float *x, float *P) {
  parallel(ctx, g.Hp, 1, [&](int64_t b, int64_t e) {
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
DS_AVX512 void transformInputTile(const Geometry &g, const float *P, int64_t t, int64_t t0,
                                  int64_t tiles, float *V) {
  const int64_t pointStride = tiles * g.C;
  const float *patch = P + ((t / g.TW) * kOut * g.Wp + (t % g.TW) * kOut) * g.C;
  float *out = V + (t - t0) * g.C;
  for (int64_t ch = 0; ch < g.C; ch += kLanes) {
    Vec rows[6][6];
    for (int i = 0; i < 6; ++i) { // B^T along each row of the patch
      Vec d[6];
      for (int j = 0; j < 6; ++j)
        d[j] = load(patch + (i * g.Wp + j) * g.C + ch);
      inputTransform(d, rows[i]);
    }
    for (int j = 0; j < 6; ++j) { // and along each column
      Vec d[6], r[6];
      for (int i = 0; i < 6; ++i)
        d[i] = rows[i][j];
      inputTransform(d, r);
      for (int i = 0; i < 6; ++i)
        store(out + (i * kAlpha + j) * pointStride + ch, r[i]);
    }
  }
}

/// Tile t's 4 x 4 block of y from O[point][t - t0][m] (tiles [t0, t0 +
/// tiles)), plus bias.
DS_AVX512 void transformOutputTile(const Geometry &g, const float *O, const float *bias, int64_t t,
                                   int64_t t0, int64_t tiles, float *y) {
  const int64_t pointStride = tiles * g.M, plane = g.OH * g.OW;
  const int64_t oh0 = (t / g.TW) * kOut, ow0 = (t % g.TW) * kOut;
  const int64_t rows = std::min(kOut, g.OH - oh0), cols = std::min(kOut, g.OW - ow0);
  const float *in = O + (t - t0) * g.M;
  for (int64_t m = 0; m < g.M; m += kLanes) {
    Vec half[6][4];
    for (int i = 0; i < 6; ++i) { // A^T along each row of points
      Vec v[6];
      for (int j = 0; j < 6; ++j)
        v[j] = load(in + (i * kAlpha + j) * pointStride + m);
      outputTransform(v, half[i]);
    }
    alignas(64) float block[kOut][kOut][kLanes];
    const Vec bv = bias ? load(bias + m) : Vec{};
    for (int j = 0; j < 4; ++j) { // and along each column
      Vec v[6], r[4];
      for (int i = 0; i < 6; ++i)
        v[i] = half[i][j];
      outputTransform(v, r);
      for (int i = 0; i < 4; ++i)
        store(block[i][j], r[i] + bv);
    }
    for (int64_t l = 0; l < kLanes; ++l) {
      float *dst = y + (m + l) * plane + oh0 * g.OW + ow0;
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j)
          dst[i * g.OW + j] = block[i][j][l];
    }
  }
}

#endif

} // namespace

bool winogradSuits(const Window &w, int64_t C, int64_t M, int64_t group) {
#if defined(__x86_64__)
  if (!__builtin_cpu_supports("avx512f") || !packedGemmAvailable())
    return false;
  if (w.spatial != 2 || group != 1 || C <= 0 || M <= 0 || C % kLanes || M % kLanes)
    return false;
  for (int64_t d = 0; d < 2; ++d)
    if (w.kernel[(size_t)d] != 3 || w.strides[(size_t)d] != 1 || w.dilations[(size_t)d] != 1 ||
        w.out[(size_t)d] < 1 || w.out[(size_t)d] > (1 << 30) || w.in[(size_t)d] > (1 << 30))
      return false;
  // Sizes come from the artifact unbounded: the padded copy and the points
  // must stay near the tensors' own size (huge pads make a huge, mostly
  // zero result; its input may be small).
  const int64_t TH = (w.out[0] + kOut - 1) / kOut, TW = (w.out[1] + kOut - 1) / kOut;
  int64_t padded, in, out;
  if (__builtin_mul_overflow(TH * kOut + 2, TW * kOut + 2, &padded) ||
      __builtin_mul_overflow(padded, C, &padded) ||
      __builtin_mul_overflow(w.in[0] * w.in[1], C, &in) ||
      __builtin_mul_overflow(w.out[0] * w.out[1], M, &out) || padded / 4 > in + out + (1 << 16))
    return false;
  return TH * TW >= kMinTiles;
#else
  (void)w, (void)C, (void)M, (void)group;
  return false;
#endif
}

bool transformWinogradWeights(const float *wt, int64_t M, int64_t C, PackedSet &out) {
  static const double G[6][3] = {{1.0 / 4, 0, 0},
                                 {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                 {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                 {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                 {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                 {0, 0, 1}};
  out.M = M;
  out.C = C;
  out.matrices.clear();
  out.matrices.resize((size_t)kPoints);
  std::vector<float> points((size_t)(kPoints * C * M)); // [point][c][m]
  // Per input channel, with m innermost (contiguous, so the loops vectorize
  // and each point's matrix is written in order): its taps g[k][m], then
  // G g, then (G g) G^T.
  std::vector<double> taps((size_t)(9 * M)), half((size_t)(18 * M));
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t m = 0; m < M; ++m)
      for (int64_t k = 0; k < 9; ++k)
        taps[(size_t)(k * M + m)] = wt[(m * C + c) * 9 + k];
    for (int i = 0; i < 6; ++i)
      for (int b = 0; b < 3; ++b) {
        double *dst = half.data() + (i * 3 + b) * M;
        const double *g0 = taps.data() + b * M, *g1 = g0 + 3 * M, *g2 = g0 + 6 * M;
        for (int64_t m = 0; m < M; ++m)
          dst[m] = G[i][0] * g0[m] + G[i][1] * g1[m] + G[i][2] * g2[m];
      }
    for (int i = 0; i < 6; ++i)
      for (int j = 0; j < 6; ++j) {
        float *dst = points.data() + ((i * 6 + j) * C + c) * M;
        const double *h0 = half.data() + (i * 3) * M, *h1 = h0 + M, *h2 = h0 + 2 * M;
        for (int64_t m = 0; m < M; ++m)
          dst[m] = (float)(h0[m] * G[j][0] + h1[m] * G[j][1] + h2[m] * G[j][2]);
      }
  }
  for (int64_t p = 0; p < kPoints; ++p)
    if (!packMatrix(points.data() + p * C * M, C, M, M, out.matrices[(size_t)p]))
      return false;
  return true;
}

bool runWinogradConv(KernelContext &ctx, const float *x, const float *wt, const float *bias,
                     float *y, int64_t N, int64_t C, int64_t M, int64_t group, const Window &w) {
#if defined(__x86_64__)
  if (!ctx.packed || !winogradSuits(w, C, M, group))
    return false;
  const PackedSet *U = ctx.packed->findSet(wt, M, C);
  if (!U || U->matrices.size() != (size_t)kPoints)
    return false;
  Geometry g{w.in[0], w.in[1], w.out[0], w.out[1], w.padBegin[0], w.padBegin[1], C, M};
  g.TH = (g.OH + kOut - 1) / kOut;
  g.TW = (g.OW + kOut - 1) / kOut;
  g.Hp = g.TH * kOut + 2;
  g.Wp = g.TW * kOut + 2;
  // Blocks of whole tile rows whose V and O stay near kBlockFloats each.
  const int64_t tileRows =
      std::clamp<int64_t>(kBlockFloats / (kPoints * std::max(C, M) * g.TW), 1, g.TH);
  const int64_t blockTiles = tileRows * g.TW;

  // Kept by the calling thread across runs (tasks get the pointers).
  thread_local std::vector<float> padded, inputPoints, outputPoints;
  padded.resize((size_t)(g.Hp * g.Wp * C));
  inputPoints.resize((size_t)(kPoints * blockTiles * C));
  outputPoints.resize((size_t)(kPoints * blockTiles * M));
  std::array<const float *, kPoints> A;
  std::array<const PackedMatrix *, kPoints> B;
  std::array<float *, kPoints> Cs;
  for (int64_t n = 0; n < N; ++n) {
    padChannelsLast(ctx, g, x + n * C * g.H * g.W, padded.data());
    for (int64_t t0 = 0; t0 < g.TH * g.TW; t0 += blockTiles) {
      const int64_t t1 = std::min(g.TH * g.TW, t0 + blockTiles), tiles = t1 - t0;
      const float *P = padded.data();
      float *V = inputPoints.data(), *O = outputPoints.data(), *Y = y + n * M * g.OH * g.OW;
      parallel(ctx, tiles, 2, [&](int64_t b, int64_t e) {
        for (int64_t t = t0 + b; t < t0 + e; ++t)
          transformInputTile(g, P, t, t0, tiles, V);
      });
      for (int64_t p = 0; p < kPoints; ++p) {
        A[(size_t)p] = V + p * tiles * C;
        B[(size_t)p] = &U->matrices[(size_t)p];
        Cs[(size_t)p] = O + p * tiles * M;
      }
      packedGemmBatch(ctx, kPoints, tiles, A.data(), C, B.data(), Cs.data(), M);
      parallel(ctx, tiles, 2, [&](int64_t b, int64_t e) {
        for (int64_t t = t0 + b; t < t0 + e; ++t)
          transformOutputTile(g, O, bias, t, t0, tiles, Y);
      });
    }
  }
  return true;
#else
  (void)ctx, (void)x, (void)wt, (void)bias, (void)y, (void)N, (void)C, (void)M, (void)group,
      (void)w;
  return false;
#endif
}

} // namespace dsrt::cpu
