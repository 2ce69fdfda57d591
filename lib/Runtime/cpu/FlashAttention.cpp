//===- FlashAttention.cpp - tiled attention with an online softmax --------===//
#include "cpu/FlashAttention.h"

#include "cpu/Blas.h"
#include "cpu/KernelUtils.h"
#include "cpu/PackedGemm.h"
#include "cpu/VectorMath.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace dsrt::cpu {
namespace {

// 64 queries x 256 keys of scores (64 KiB) next to a 256-key tile of K and V
// (128 KiB each at head dim 128) stay in this machine's 2 MiB L2 per core.
constexpr int64_t kQueryTile = 128;
constexpr int64_t kKeyTile = 256;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

} // namespace

/// Keys past the last row's diagonal are hidden from every row of the tile;
/// with a window, so are the keys before the first row's window but for
/// the sinks.
void visibleKeyRanges(const AttentionProblem &p, int64_t i0, int64_t i1, KeyRanges &ranges) {
  ranges.clear();
  int64_t keyEnd = p.L;
  if (p.causal)
    keyEnd = std::clamp<int64_t>(i1 - 1 + p.causalOffset + 1, 0, p.L);
  if (!(p.causal && p.window > 0)) {
    ranges.push_back({0, keyEnd});
    return;
  }
  int64_t windowStart = std::clamp<int64_t>(i0 + p.causalOffset - p.window + 1, 0, keyEnd);
  int64_t sinkEnd = std::min(p.sinks, windowStart);
  if (sinkEnd > 0)
    ranges.push_back({0, sinkEnd});
  ranges.push_back({windowStart, keyEnd});
}

void hideRowScores(const AttentionProblem &p, int64_t b, int64_t h, int64_t i, int64_t k0,
                   int64_t cols, float *sr) {
  if (p.maskF || p.maskB) {
    const int64_t base = b * p.maskStrides[0] + h * p.maskStrides[1] + i * p.maskStrides[2];
    const int64_t step = p.maskStrides[3];
    if (p.maskB) {
      for (int64_t c = 0; c < cols; ++c)
        if (!p.maskB[base + (k0 + c) * step])
          sr[c] = kNegInf;
    } else {
      for (int64_t c = 0; c < cols; ++c)
        sr[c] += p.maskF[base + (k0 + c) * step];
    }
  }
  if (!p.causal)
    return;
  const int64_t diagonal = i + p.causalOffset;
  for (int64_t c = std::max<int64_t>(0, diagonal + 1 - k0); c < cols; ++c)
    sr[c] = kNegInf;
  if (p.window > 0) // keys sinks <= j <= d(i) - window
    for (int64_t c = std::max<int64_t>(0, p.sinks - k0),
                 e = std::min<int64_t>(cols, diagonal - p.window + 1 - k0);
         c < e; ++c)
      sr[c] = kNegInf;
}

void layoutRanges(const AttentionProblem &p, int64_t h, int64_t i0, int64_t i1, KeyRanges &ranges) {
  ranges.clear();
  const int64_t bs = p.layoutBlock, qBlocks = (p.S + bs - 1) / bs, kBlocks = (p.L + bs - 1) / bs;
  int64_t keyEnd = p.L;
  if (p.causal)
    keyEnd = std::clamp<int64_t>(i1 - 1 + p.causalOffset + 1, 0, p.L);
  const uint8_t *rows = p.layout + (p.layoutHeads == 1 ? 0 : h) * qBlocks * kBlocks;
  for (int64_t c = 0; c * bs < keyEnd; ++c) {
    bool kept = false;
    for (int64_t r = i0 / bs; r <= (i1 - 1) / bs && !kept; ++r)
      kept = rows[r * kBlocks + c] != 0;
    if (!kept)
      continue;
    int64_t a = c * bs, e = std::min(keyEnd, a + bs);
    if (!ranges.empty() && ranges.back().second == a)
      ranges.back().second = e;
    else
      ranges.push_back({a, e});
  }
}

void hideRowLayout(const AttentionProblem &p, int64_t h, int64_t i, int64_t k0, int64_t cols,
                   float *sr) {
  const int64_t bs = p.layoutBlock, kBlocks = (p.L + bs - 1) / bs;
  const uint8_t *row =
      p.layout + ((p.layoutHeads == 1 ? 0 : h) * ((p.S + bs - 1) / bs) + i / bs) * kBlocks;
  for (int64_t c = 0; c < cols;) {
    const int64_t block = (k0 + c) / bs, end = std::min(cols, (block + 1) * bs - k0);
    if (!row[block])
      std::fill(sr + c, sr + end, kNegInf);
    c = end;
  }
}

namespace {

/// Block selection (NSA-style) for the query block [i0, i1): the first key
/// block, the local blocks (any key within a block's length of a row's
/// diagonal) and the `selectBlocks` earlier blocks whose summed keys score
/// highest against the block's summed queries (ties: the lower block).
void selectedRanges(const AttentionProblem &p, const float *pooled, const float *q, int64_t i0,
                    int64_t i1, std::vector<float> &work, KeyRanges &ranges) {
  ranges.clear();
  const int64_t bs = p.blockSize, d0 = i0 + p.causalOffset, dLast = i1 - 1 + p.causalOffset;
  const int64_t keyEnd = std::clamp<int64_t>(dLast + 1, 0, p.L);
  if (keyEnd == 0)
    return;
  const int64_t firstLocal = std::max<int64_t>(0, d0 - bs + 1) / bs;
  const int64_t lastLocal = (keyEnd - 1) / bs;
  // The earlier blocks that exist: a diagonal past the keys puts the local
  // blocks past them too (and `pooled` holds ceil(L / bs) blocks).
  const int64_t candidatesEnd = std::min(firstLocal, (p.L + bs - 1) / bs);
  std::vector<int64_t> blocks;
  if (firstLocal > 0) {
    // Score the earlier blocks 1 .. candidatesEnd - 1; block 0 is always in.
    std::vector<float> qsum((size_t)p.D, 0.0f);
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t d = 0; d < p.D; ++d)
        qsum[(size_t)d] += q[(i - i0) * p.D + d];
    work.clear();
    for (int64_t c = 1; c < candidatesEnd; ++c) {
      float sigma = 0.0f;
      for (int64_t d = 0; d < p.D; ++d)
        sigma += qsum[(size_t)d] * pooled[c * p.D + d];
      work.push_back(sigma);
    }
    std::vector<int64_t> order(work.size());
    for (size_t c = 0; c < order.size(); ++c)
      order[c] = (int64_t)c;
    const size_t keep = std::min<size_t>((size_t)p.selectBlocks, order.size());
    std::partial_sort(order.begin(), order.begin() + keep, order.end(), [&](int64_t a, int64_t b) {
      return work[(size_t)a] > work[(size_t)b] || (work[(size_t)a] == work[(size_t)b] && a < b);
    });
    blocks.push_back(0);
    for (size_t e = 0; e < keep; ++e)
      blocks.push_back(order[e] + 1);
    std::sort(blocks.begin(), blocks.end());
  }
  for (int64_t c = firstLocal; c <= lastLocal; ++c)
    blocks.push_back(c);
  for (int64_t c : blocks) {
    int64_t a = c * bs, e = std::min(keyEnd, a + bs);
    if (!ranges.empty() && ranges.back().second == a)
      ranges.back().second = e;
    else
      ranges.push_back({a, e});
  }
}

/// Query rows up to which a tile's scores are dot products of the keys read
/// in place: transposing a key tile into panels costs as much as a GEMM of
/// one row against it (a decode step: 16,384 cached keys, 8 heads of 128,
/// 2 threads went from 4.1 to 10.7 ms when its tiles were packed).
constexpr int64_t kDotRows = 4;

/// S = scale * Q Kᵀ for `rows` queries at q and `cols` keys at k (row
/// stride D each), into s (row stride cols): with the packed GEMM's
/// micro-kernels where this CPU has them (the key tile transposed into
/// `kPanels` first), else the library's; a few rows by dot products.
void tileScores(const AttentionProblem &p, const float *q, int64_t rows, const float *k,
                int64_t cols, float *s, std::vector<float> &kPanels) {
  if (rows <= kDotRows) {
    for (int64_t r = 0; r < rows; ++r) {
      vmath::dotRows(q + r * p.D, k, p.D, p.D, cols, s + r * cols);
      vmath::scale(s + r * cols, cols, p.scale);
    }
    return;
  }
  if (!packedGemmAvailable()) {
    blas::sgemm(false, true, (int)rows, (int)cols, (int)p.D, p.scale, q, (int)p.D, k, (int)p.D,
                0.0f, s, (int)cols);
    return;
  }
  const int64_t panels = (cols + PackedMatrix::kPanel - 1) / PackedMatrix::kPanel;
  kPanels.resize((size_t)(panels * PackedMatrix::kPanel * p.D));
  packTransposedPanels(k, cols, p.D, p.D, kPanels.data());
  gemmSerialPanels(rows, cols, p.D, q, p.D, kPanels.data(), s, cols, false);
  vmath::scale(s, rows * cols, p.scale);
}

/// y += P V for `rows` rows of probabilities at s (row stride cols) and
/// `cols` rows of V at v (row stride Dv).
void accumulateValues(const AttentionProblem &p, const float *s, int64_t rows, const float *v,
                      int64_t cols, float *y) {
  if (rows <= kDotRows) {
    for (int64_t r = 0; r < rows; ++r)
      vmath::axpyRows(s + r * cols, v, p.Dv, p.Dv, cols, y + r * p.Dv);
    return;
  }
  if (packedGemmAvailable())
    gemmSerialRowMajor(rows, p.Dv, cols, s, cols, v, p.Dv, y, p.Dv, true);
  else
    blas::sgemm(false, false, (int)rows, (int)p.Dv, (int)cols, 1.0f, s, (int)cols, v, (int)p.Dv,
                1.0f, y, (int)p.Dv);
}

/// One tile of queries [i0, i1) of head h in batch b, over the key ranges.
void attendTile(const AttentionProblem &p, int64_t b, int64_t h, int64_t i0, int64_t i1,
                const KeyRanges &ranges, std::vector<float> &scores, std::vector<float> &rowMax,
                std::vector<float> &rowSum, std::vector<float> &kPanels) {
  const int64_t rows = i1 - i0, group = p.Hq / p.Hkv, hk = h / group;
  const float *q = p.q + ((b * p.Hq + h) * p.S + i0) * p.D;
  const float *k = p.k + (b * p.Hkv + hk) * p.L * p.D;
  const float *v = p.v + (b * p.Hkv + hk) * p.L * p.Dv;
  float *y = p.y + ((b * p.Hq + h) * p.S + i0) * p.Dv;
  std::fill(y, y + rows * p.Dv, 0.0f);
  std::fill(rowMax.begin(), rowMax.begin() + rows, kNegInf);
  std::fill(rowSum.begin(), rowSum.begin() + rows, 0.0f);
  // A tile spanning several query blocks visits the union of their key
  // blocks; each row hides the blocks its own layout row does not keep.
  const bool rowLayout = p.layout && i0 / p.layoutBlock != (i1 - 1) / p.layoutBlock;
  for (auto [rangeBegin, rangeEnd] : ranges) {
    for (int64_t k0 = rangeBegin; k0 < rangeEnd;) {
      const int64_t cols = std::min(kKeyTile, rangeEnd - k0);
      float *s = scores.data();
      tileScores(p, q, rows, k + k0 * p.D, cols, s, kPanels);
      for (int64_t r = 0; r < rows; ++r) {
        float *sr = s + r * cols;
        const int64_t i = i0 + r;
        if (p.softcap > 0.0f)
          for (int64_t c = 0; c < cols; ++c)
            sr[c] = p.softcap * std::tanh(sr[c] / p.softcap);
        hideRowScores(p, b, h, i, k0, cols, sr);
        if (rowLayout) // key blocks kept for the tile but not for this row
          hideRowLayout(p, h, i, k0, cols, sr);
        // Online softmax: rescale what was accumulated to the new maximum.
        const float tileMax = vmath::maxOf(sr, cols);
        const float newMax = std::max(rowMax[r], tileMax);
        if (newMax == kNegInf) { // nothing visible yet (or only NaN): the row's P is 0
          if (std::any_of(sr, sr + cols, [](float x) { return std::isnan(x); }))
            rowSum[r] = std::numeric_limits<float>::quiet_NaN();
          std::fill(sr, sr + cols, 0.0f);
          continue;
        }
        const float correction = rowMax[r] == kNegInf ? 0.0f : std::exp(rowMax[r] - newMax);
        rowSum[r] = rowSum[r] * correction + (float)vmath::expShiftedSum(sr, sr, cols, newMax);
        if (correction != 1.0f)
          vmath::scale(y + r * p.Dv, p.Dv, correction);
        rowMax[r] = newMax;
      }
      accumulateValues(p, s, rows, v + k0 * p.Dv, cols, y);
      k0 += cols;
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    float *yr = y + r * p.Dv;
    if (std::isnan(rowSum[r])) { // a NaN score makes the whole row NaN
      std::fill(yr, yr + p.Dv, std::numeric_limits<float>::quiet_NaN());
      continue;
    }
    if (rowMax[r] == kNegInf) { // every key hidden: 0, as the reference says
      std::fill(yr, yr + p.Dv, 0.0f);
      continue;
    }
    vmath::scale(yr, p.Dv, 1.0f / rowSum[r]);
  }
}

} // namespace

bool flashAttentionAvailable() { return blas::available(); }

void flashAttention(KernelContext &ctx, const AttentionProblem &p) {
  // With block selection a tile is one query block, and the keys of each key
  // block are summed once up front ([B, Hkv, blocks, D]).
  const bool selecting = p.causal && p.selectBlocks > 0;
  // With a block layout a tile is one query block (several small ones: GEMMs
  // of fewer than 32 rows waste the kernel), or a part of a large one.
  int64_t queryTile = selecting ? p.blockSize : kQueryTile;
  if (p.layout)
    queryTile = p.layoutBlock >= 32 ? std::min<int64_t>(p.layoutBlock, 256)
                                    : p.layoutBlock * ((64 + p.layoutBlock - 1) / p.layoutBlock);
  const int64_t keyBlocks = selecting ? (p.L + p.blockSize - 1) / p.blockSize : 0;
  std::vector<float> pooled((size_t)(p.B * p.Hkv * keyBlocks * p.D), 0.0f);
  if (selecting)
    parallel(ctx, p.B * p.Hkv * keyBlocks, 16, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t c = t % keyBlocks, bk = t / keyBlocks;
        float *out = pooled.data() + t * p.D;
        for (int64_t j = c * p.blockSize; j < std::min(p.L, (c + 1) * p.blockSize); ++j)
          for (int64_t d = 0; d < p.D; ++d)
            out[d] += p.k[(bk * p.L + j) * p.D + d];
      }
    });
  const int64_t tiles = (p.S + queryTile - 1) / queryTile;
  const int64_t tasks = p.B * p.Hq * tiles;
  // Threads take contiguous runs of tasks; under a causal mask late query
  // tiles cost more, so each head's tiles go early, late, early, ... and a
  // run holds a mix.
  // A tile's scores are rows x cols at most: sized by the problem, not the
  // largest tile (128 KB zeroed per task cost short sequences a quarter of
  // their run).
  const int64_t tileRows = std::min(queryTile, p.S), tileCols = std::min(kKeyTile, p.L);
  parallel(ctx, tasks, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scores((size_t)std::max<int64_t>(1, tileRows * tileCols));
    std::vector<float> rowMax((size_t)tileRows), rowSum((size_t)tileRows), work, kPanels;
    KeyRanges ranges;
    for (int64_t t = begin; t < end; ++t) {
      const int64_t bh = t / tiles, n = t % tiles;
      const int64_t tile = n % 2 == 0 ? n / 2 : tiles - 1 - n / 2;
      const int64_t i0 = tile * queryTile, i1 = std::min(p.S, i0 + queryTile);
      const int64_t b = bh / p.Hq, h = bh % p.Hq;
      if (selecting) {
        const int64_t hk = h / (p.Hq / p.Hkv);
        selectedRanges(p, pooled.data() + (b * p.Hkv + hk) * keyBlocks * p.D,
                       p.q + ((b * p.Hq + h) * p.S + i0) * p.D, i0, i1, work, ranges);
      } else if (p.layout) {
        layoutRanges(p, h, i0, i1, ranges);
      } else {
        visibleKeyRanges(p, i0, i1, ranges);
      }
      attendTile(p, b, h, i0, i1, ranges, scores, rowMax, rowSum, kPanels);
    }
  });
}

} // namespace dsrt::cpu
