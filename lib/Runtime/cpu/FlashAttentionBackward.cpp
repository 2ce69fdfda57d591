//===- FlashAttentionBackward.cpp - attention's gradients, tile by tile ---===//
//
// Two passes, each a parallel loop whose tasks own what they write:
//  1. per (batch, query head, query tile): each row's log-sum-exp of its
//     visible scores and D = Σ dO·O (= Σ P·dP), then dQ = scale · dS K over
//     the key tiles the rows see;
//  2. per (batch, KV head, key tile): dV = Σ Pᵀ dO and dK = scale · Σ dSᵀ Q
//     over the query heads of the group and the query tiles that see it.
// P = exp(s - lse) and dS = P ∘ (dP - D) (∘ 1 - tanh² under a softcap) are
// recomputed per tile: nothing of size [S, L] exists. Pass 1 keeps its
// rows' scores from the statistics sweep for the dQ sweep where they fit a
// task's cache (kCachedScores), so the scores are computed twice and dP twice
// (7 GEMMs against the 5 of a backward that keeps them; 8 for long rows), the
// price of no atomics and thread-count-independent sums.
//
//===----------------------------------------------------------------------===//
#include "cpu/Blas.h"
#include "cpu/FlashAttention.h"
#include "cpu/KernelUtils.h"
#include "cpu/VectorMath.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace dsrt::cpu {
namespace {

constexpr int64_t kQueryTile = 64;
constexpr int64_t kKeyTile = 128;
/// Scores pass 1 keeps between its sweeps, per task: a query tile's rows
/// against up to 4,096 visible keys (1 MiB).
constexpr int64_t kCachedScores = kQueryTile * 4096;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

/// Scratch of one task: a tile of scores, of tanh (softcap) and of dP, the
/// rows' running maximum and sum, and the scores pass 1 keeps (allocated on
/// first use).
struct TileBuffers {
  std::vector<float> s, t, dp, rowMax, rowSum, cached;
  std::vector<uint8_t> sawNaN;
  TileBuffers(int64_t rows, int64_t cols)
      : s((size_t)(rows * cols)), t((size_t)(rows * cols)), dp((size_t)(rows * cols)),
        rowMax((size_t)rows), rowSum((size_t)rows), sawNaN((size_t)rows) {}
};

/// s = the visible scores of queries [i0, i0 + rows) of head h against keys
/// [k0, k0 + cols), as the forward sees them; t = tanh(raw / cap) under a
/// softcap. Into buf.s unless `into` is given.
void scoreTile(const AttentionProblem &p, int64_t b, int64_t h, int64_t i0, int64_t rows,
               int64_t k0, int64_t cols, const float *q, const float *k, TileBuffers &buf,
               float *into = nullptr) {
  float *s = into ? into : buf.s.data();
  blas::sgemm(false, true, (int)rows, (int)cols, (int)p.D, p.scale, q, (int)p.D, k + k0 * p.D,
              (int)p.D, 0.0f, s, (int)cols);
  for (int64_t r = 0; r < rows; ++r) {
    float *sr = s + r * cols;
    if (p.softcap > 0.0f) {
      float *tr = buf.t.data() + r * cols;
      for (int64_t c = 0; c < cols; ++c) {
        tr[c] = std::tanh(sr[c] / p.softcap);
        sr[c] = p.softcap * tr[c];
      }
    }
    hideRowScores(p, b, h, i0 + r, k0, cols, sr);
    if (p.layout)
      hideRowLayout(p, h, i0 + r, k0, cols, sr);
  }
}

/// P = exp(s - lse) in place in `s` (a tile of rows x cols); 0 in rows that
/// pass nothing (every key hidden, or a NaN score: lse not finite).
void scoresToProbabilities(int64_t rows, int64_t cols, const float *lse, float *s) {
  for (int64_t r = 0; r < rows; ++r) {
    float *sr = s + r * cols;
    if (!std::isfinite(lse[r])) {
      std::fill(sr, sr + cols, 0.0f);
      continue;
    }
    vmath::expShiftedSum(sr, sr, cols, lse[r]); // hidden (-inf) scores give 0
  }
}

/// dS = P (dP - D) (1 - t² under a softcap) in place of P in `s`, given
/// buf.dp; 0 in rows that pass nothing (their D may be NaN: a NaN row's
/// output is).
void probabilitiesToGrad(const AttentionProblem &p, int64_t rows, int64_t cols, const float *lse,
                         const float *delta, TileBuffers &buf, float *s) {
  for (int64_t r = 0; r < rows; ++r) {
    float *sr = s + r * cols;
    const float *dpr = buf.dp.data() + r * cols;
    if (!std::isfinite(lse[r])) {
      std::fill(sr, sr + cols, 0.0f);
      continue;
    }
    for (int64_t c = 0; c < cols; ++c)
      sr[c] *= dpr[c] - delta[r];
    if (p.softcap > 0.0f) {
      const float *tr = buf.t.data() + r * cols;
      for (int64_t c = 0; c < cols; ++c)
        sr[c] *= 1.0f - tr[c] * tr[c];
    }
  }
}

/// Pass 1 for queries [i0, i1) of head h: lse and D of the rows, then dQ.
void queryTileGrad(const AttentionGradProblem &g, int64_t b, int64_t h, int64_t i0, int64_t i1,
                   float *lse, float *delta, TileBuffers &buf, KeyRanges &ranges) {
  const AttentionProblem &p = g.forward;
  const int64_t rows = i1 - i0, hk = h / (p.Hq / p.Hkv);
  const int64_t rowBase = (b * p.Hq + h) * p.S + i0;
  const float *q = p.q + rowBase * p.D;
  const float *k = p.k + (b * p.Hkv + hk) * p.L * p.D;
  const float *v = p.v + (b * p.Hkv + hk) * p.L * p.Dv;
  const float *o = g.y + rowBase * p.Dv, *dout = g.dy + rowBase * p.Dv;
  float *dq = g.dq + rowBase * p.D;
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0;
    for (int64_t d = 0; d < p.Dv; ++d)
      sum += (double)dout[r * p.Dv + d] * o[r * p.Dv + d];
    delta[r] = (float)sum;
  }
  if (p.layout)
    layoutRanges(p, h, i0, i1, ranges);
  else
    visibleKeyRanges(p, i0, i1, ranges);
  // Each row's maximum and sum, online over the key tiles.
  std::vector<float> &rowMax = buf.rowMax, &rowSum = buf.rowSum;
  std::vector<uint8_t> &sawNaN = buf.sawNaN;
  std::fill_n(rowMax.begin(), rows, kNegInf);
  std::fill_n(rowSum.begin(), rows, 0.0f);
  std::fill_n(sawNaN.begin(), rows, 0);
  // The scores of the first sweep, tile after tile, kept for the second
  // (not under a softcap, whose derivative needs tanh as well).
  int64_t visible = 0;
  for (auto [begin, end] : ranges)
    visible += end - begin;
  const bool cache = p.softcap <= 0.0f && rows * visible <= kCachedScores;
  if (cache && buf.cached.size() < (size_t)(rows * visible))
    buf.cached.resize((size_t)(rows * visible));
  int64_t at = 0;
  for (auto [begin, end] : ranges)
    for (int64_t k0 = begin; k0 < end; k0 += kKeyTile) {
      const int64_t cols = std::min(kKeyTile, end - k0);
      float *s = cache ? buf.cached.data() + at : buf.s.data();
      at += rows * cols;
      scoreTile(p, b, h, i0, rows, k0, cols, q, k, buf, s);
      for (int64_t r = 0; r < rows; ++r) {
        const float *sr = s + r * cols;
        if (std::any_of(sr, sr + cols, [](float x) { return std::isnan(x); }))
          sawNaN[(size_t)r] = 1;
        const float newMax = std::max(rowMax[(size_t)r], vmath::maxOf(sr, cols));
        if (newMax == kNegInf || sawNaN[(size_t)r])
          continue;
        const float correction =
            rowMax[(size_t)r] == kNegInf ? 0.0f : std::exp(rowMax[(size_t)r] - newMax);
        rowSum[(size_t)r] = rowSum[(size_t)r] * correction +
                            (float)vmath::expShiftedSumOnly(sr, cols, newMax);
        rowMax[(size_t)r] = newMax;
      }
    }
  for (int64_t r = 0; r < rows; ++r)
    lse[r] = sawNaN[(size_t)r]                ? std::numeric_limits<float>::quiet_NaN()
             : rowMax[(size_t)r] == kNegInf ? kNegInf
                                            : rowMax[(size_t)r] + std::log(rowSum[(size_t)r]);
  std::fill(dq, dq + rows * p.D, 0.0f);
  at = 0;
  for (auto [begin, end] : ranges)
    for (int64_t k0 = begin; k0 < end; k0 += kKeyTile) {
      const int64_t cols = std::min(kKeyTile, end - k0);
      float *s = cache ? buf.cached.data() + at : buf.s.data();
      at += rows * cols;
      if (!cache)
        scoreTile(p, b, h, i0, rows, k0, cols, q, k, buf);
      // dP = dO Vᵀ, then dQ += scale dS K.
      blas::sgemm(false, true, (int)rows, (int)cols, (int)p.Dv, 1.0f, dout, (int)p.Dv,
                  v + k0 * p.Dv, (int)p.Dv, 0.0f, buf.dp.data(), (int)cols);
      scoresToProbabilities(rows, cols, lse, s);
      probabilitiesToGrad(p, rows, cols, lse, delta, buf, s);
      blas::sgemm(false, false, (int)rows, (int)p.D, (int)cols, p.scale, s, (int)cols,
                  k + k0 * p.D, (int)p.D, 1.0f, dq, (int)p.D);
    }
}

/// The query rows [first, last) of any head that can see a key in [j0, j1).
std::pair<int64_t, int64_t> rowsSeeing(const AttentionProblem &p, int64_t j0, int64_t j1) {
  if (!p.causal)
    return {0, p.S};
  int64_t first = std::clamp<int64_t>(j0 - p.causalOffset, 0, p.S);
  int64_t last = p.S;
  if (p.window > 0 && j0 >= p.sinks) // row i sees key j only while j > i + offset - window
    last = std::clamp<int64_t>(j1 - 1 - p.causalOffset + p.window, first, p.S);
  return {first, last};
}

/// Whether a block layout keeps, for head h, any key block of [j0, j1) for
/// any query block of [i0, i1).
bool layoutKeepsAny(const AttentionProblem &p, int64_t h, int64_t i0, int64_t i1, int64_t j0,
                    int64_t j1) {
  const int64_t bs = p.layoutBlock, kBlocks = (p.L + bs - 1) / bs;
  const uint8_t *rows = p.layout + (p.layoutHeads == 1 ? 0 : h) * ((p.S + bs - 1) / bs) * kBlocks;
  for (int64_t r = i0 / bs; r <= (i1 - 1) / bs; ++r)
    for (int64_t c = j0 / bs; c <= (j1 - 1) / bs; ++c)
      if (rows[r * kBlocks + c])
        return true;
  return false;
}

/// Pass 2 for keys [j0, j1) of KV head hk: dK and dV over the group's heads.
void keyTileGrad(const AttentionGradProblem &g, int64_t b, int64_t hk, int64_t j0, int64_t j1,
                 const float *lse, const float *delta, TileBuffers &buf) {
  const AttentionProblem &p = g.forward;
  const int64_t cols = j1 - j0, group = p.Hq / p.Hkv;
  const float *k = p.k + (b * p.Hkv + hk) * p.L * p.D;
  const float *v = p.v + (b * p.Hkv + hk) * p.L * p.Dv;
  float *dk = g.dk + ((b * p.Hkv + hk) * p.L + j0) * p.D;
  float *dv = g.dv + ((b * p.Hkv + hk) * p.L + j0) * p.Dv;
  std::fill(dk, dk + cols * p.D, 0.0f);
  std::fill(dv, dv + cols * p.Dv, 0.0f);
  auto [first, last] = rowsSeeing(p, j0, j1);
  for (int64_t h = hk * group; h < (hk + 1) * group; ++h)
    for (int64_t i0 = first; i0 < last; i0 += kQueryTile) {
      const int64_t rows = std::min(kQueryTile, last - i0);
      if (p.layout && !layoutKeepsAny(p, h, i0, i0 + rows, j0, j1))
        continue; // a tile of pairs the layout hides whole
      const int64_t rowBase = (b * p.Hq + h) * p.S + i0;
      const float *q = p.q + rowBase * p.D, *dout = g.dy + rowBase * p.Dv;
      scoreTile(p, b, h, i0, rows, j0, cols, q, k, buf);
      // dP = dO Vᵀ before P overwrites the scores.
      blas::sgemm(false, true, (int)rows, (int)cols, (int)p.Dv, 1.0f, dout, (int)p.Dv,
                  v + j0 * p.Dv, (int)p.Dv, 0.0f, buf.dp.data(), (int)cols);
      scoresToProbabilities(rows, cols, lse + rowBase, buf.s.data());
      // dV += Pᵀ dO.
      blas::sgemm(true, false, (int)cols, (int)p.Dv, (int)rows, 1.0f, buf.s.data(), (int)cols,
                  dout, (int)p.Dv, 1.0f, dv, (int)p.Dv);
      // dK += scale dSᵀ Q.
      probabilitiesToGrad(p, rows, cols, lse + rowBase, delta + rowBase, buf, buf.s.data());
      blas::sgemm(true, false, (int)cols, (int)p.D, (int)rows, p.scale, buf.s.data(), (int)cols,
                  q, (int)p.D, 1.0f, dk, (int)p.D);
    }
}

} // namespace

void flashAttentionBackward(KernelContext &ctx, const AttentionGradProblem &g) {
  const AttentionProblem &p = g.forward;
  const int64_t rowsTotal = p.B * p.Hq * p.S;
  std::vector<float> lse((size_t)rowsTotal), delta((size_t)rowsTotal);
  const int64_t queryTiles = (p.S + kQueryTile - 1) / kQueryTile;
  const int64_t tileRows = std::min(kQueryTile, p.S), tileCols = std::min(kKeyTile, p.L);
  // Under a causal mask late query tiles cost more: each head's tiles go
  // early, late, early, ... so that a thread's run holds a mix.
  parallel(ctx, p.B * p.Hq * queryTiles, 1, [&](int64_t begin, int64_t end) {
    TileBuffers buf(tileRows, tileCols);
    KeyRanges ranges;
    for (int64_t t = begin; t < end; ++t) {
      const int64_t bh = t / queryTiles, n = t % queryTiles;
      const int64_t tile = n % 2 == 0 ? n / 2 : queryTiles - 1 - n / 2;
      const int64_t i0 = tile * kQueryTile, i1 = std::min(p.S, i0 + kQueryTile);
      const int64_t rowBase = bh * p.S + i0;
      queryTileGrad(g, bh / p.Hq, bh % p.Hq, i0, i1, lse.data() + rowBase,
                    delta.data() + rowBase, buf, ranges);
    }
  });
  const int64_t keyTiles = (p.L + kKeyTile - 1) / kKeyTile;
  parallel(ctx, p.B * p.Hkv * keyTiles, 1, [&](int64_t begin, int64_t end) {
    TileBuffers buf(tileRows, tileCols);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t bk = t / keyTiles, n = t % keyTiles;
      const int64_t tile = n % 2 == 0 ? n / 2 : keyTiles - 1 - n / 2;
      const int64_t j0 = tile * kKeyTile, j1 = std::min(p.L, j0 + kKeyTile);
      keyTileGrad(g, bk / p.Hkv, bk % p.Hkv, j0, j1, lse.data(), delta.data(), buf);
    }
  });
}

} // namespace dsrt::cpu
