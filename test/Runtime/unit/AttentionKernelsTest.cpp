//===- AttentionKernelsTest.cpp - attention, sparse attention, rotary ----===//
//
// Calls the CPU kernels of AttentionKernels.cpp, SparseAttention.cpp,
// BlockLayoutKernel.cpp and the rotary embedding directly, against a dense
// reference written here in double (windows, sinks, block layouts and
// selections expanded to masks).
//
//===----------------------------------------------------------------------===//
#include "KernelTestUtils.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {
using namespace dsrt;
using namespace dsrt::test;

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

struct AttentionCase {
  AttentionCase(int64_t b, int64_t hq, int64_t hkv, int64_t s, int64_t l, int64_t d, int64_t dv)
      : B(b), Hq(hq), Hkv(hkv), S(s), L(l), D(d), Dv(dv) {}
  int64_t B, Hq, Hkv, S, L, D, Dv;
  bool causal = false;
  int64_t causalOffset = 0; // keys j <= i + causalOffset are visible
  bool causalFromEnd = false; // ... plus L - S (the causal_from_end attribute)
  int64_t window = 0, sinks = 0; // sliding window and sink keys
  double softcap = 0;
  std::vector<uint8_t> boolMask;  // [S, L] when non-empty
  std::vector<float> floatMask;   // [S, L] when non-empty
  std::vector<uint8_t> headMask;  // [Hq, S, L] when non-empty (a block layout expanded)
};

/// Dense softmax(q k^T * scale (+ softcap, masks)) v, in double.
std::vector<float> naiveAttention(const AttentionCase &c, const std::vector<float> &q,
                                  const std::vector<float> &k, const std::vector<float> &v) {
  std::vector<float> y(c.B * c.Hq * c.S * c.Dv);
  double scale = 1.0 / std::sqrt((double)c.D);
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t h = 0; h < c.Hq; ++h) {
      int64_t hk = h / (c.Hq / c.Hkv);
      for (int64_t i = 0; i < c.S; ++i) {
        std::vector<double> s(c.L);
        double best = -INFINITY;
        for (int64_t j = 0; j < c.L; ++j) {
          double d = 0;
          for (int64_t e = 0; e < c.D; ++e)
            d += (double)q[((b * c.Hq + h) * c.S + i) * c.D + e] *
                 k[((b * c.Hkv + hk) * c.L + j) * c.D + e];
          d *= scale;
          if (c.softcap > 0)
            d = c.softcap * std::tanh(d / c.softcap);
          const int64_t diag = i + c.causalOffset + (c.causalFromEnd ? c.L - c.S : 0);
          if (c.causal && j > diag)
            d = -INFINITY;
          if (c.causal && c.window > 0 && j <= diag - c.window && j >= c.sinks)
            d = -INFINITY;
          if (!c.boolMask.empty() && !c.boolMask[i * c.L + j])
            d = -INFINITY;
          if (!c.headMask.empty() && !c.headMask[(h * c.S + i) * c.L + j])
            d = -INFINITY;
          if (!c.floatMask.empty())
            d += c.floatMask[i * c.L + j];
          s[j] = d;
          best = std::max(best, d);
        }
        double sum = 0;
        for (double &x : s) {
          x = best == -INFINITY ? 0.0 : std::exp(x - best);
          sum += x;
        }
        for (int64_t e = 0; e < c.Dv; ++e) {
          double acc = 0;
          for (int64_t j = 0; j < c.L; ++j)
            acc += s[j] * v[((b * c.Hkv + hk) * c.L + j) * c.Dv + e];
          y[((b * c.Hq + h) * c.S + i) * c.Dv + e] = sum > 0 ? (float)(acc / sum) : 0.0f;
        }
      }
    }
  return y;
}

void checkAttention(const AttentionCase &c) {
  Tensors ts;
  auto qv = randomFloats(c.B * c.Hq * c.S * c.D, 20), kv = randomFloats(c.B * c.Hkv * c.L * c.D, 21),
       vv = randomFloats(c.B * c.Hkv * c.L * c.Dv, 22);
  for (float &x : qv)
    x *= 3; // sharper softmax
  Tensor *q = ts.f32({c.B, c.Hq, c.S, c.D}, qv), *k = ts.f32({c.B, c.Hkv, c.L, c.D}, kv),
         *v = ts.f32({c.B, c.Hkv, c.L, c.Dv}, vv);
  Tensor *mask = nullptr;
  if (!c.boolMask.empty())
    mask = ts.make<uint8_t>(DS_BOOL, {c.S, c.L}, c.boolMask);
  else if (!c.floatMask.empty())
    mask = ts.f32({1, 1, c.S, c.L}, c.floatMask);
  Tensor *y = ts.empty(DS_F32, {c.B, c.Hq, c.S, c.Dv});
  Attributes attrs;
  if (c.causal)
    attrs.set("is_causal", intAttr(1));
  if (c.causalOffset)
    attrs.set("causal_offset", intAttr(c.causalOffset));
  if (c.causalFromEnd)
    attrs.set("causal_from_end", intAttr(1));
  if (c.window)
    attrs.set("window", intAttr(c.window));
  if (c.sinks)
    attrs.set("sink_tokens", intAttr(c.sinks));
  attrs.set("softcap", floatAttr(c.softcap));
  ASSERT_TRUE(run("ds.attention", attrs, {q, k, v, mask}, {y}, chunkedContext(5)).ok());
  expectNear(values<float>(y), naiveAttention(c, qv, kv, vv));
}

TEST(AttentionKernels, AttentionPlainAndGQA) {
  checkAttention({2, 3, 3, 4, 6, 8, 5});
  checkAttention({2, 6, 2, 4, 6, 8, 8}); // query heads 0-2 use kv head 0
}

TEST(AttentionKernels, AttentionCausalCountsFromTheCache) {
  AttentionCase c{1, 4, 2, 5, 5, 8, 8};
  c.causal = true;
  checkAttention(c);
  AttentionCase noCache{1, 2, 1, 3, 7, 4, 4}; // more keys than queries, no cache: j <= i
  noCache.causal = true;
  checkAttention(noCache);
  AttentionCase past{1, 2, 1, 3, 7, 4, 4}; // 4 cached keys before the 3 queries
  past.causal = true;
  past.causalOffset = 4;
  past.softcap = 1.5;
  checkAttention(past);
}

TEST(AttentionKernels, AttentionMasksAndFullyMaskedRows) {
  AttentionCase c{1, 2, 2, 3, 4, 8, 8};
  c.boolMask = {1, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1}; // row 1 fully masked -> zeros
  checkAttention(c);
  AttentionCase f{1, 2, 2, 3, 4, 8, 8};
  f.floatMask = randomFloats(12, 23);
  f.floatMask[5] = -INFINITY;
  checkAttention(f);
}

// Sizes that cross the tiled kernel's query (64) and key (256) tiles, with
// partial last tiles on both sides.
TEST(AttentionKernels, AttentionAcrossTiles) {
  checkAttention({1, 2, 1, 150, 600, 32, 24});
  AttentionCase causal{2, 2, 2, 130, 300, 16, 16};
  causal.causal = true;
  checkAttention(causal);
  AttentionCase decode{1, 4, 2, 1, 700, 32, 32}; // one query against a long cache
  decode.causal = true;
  decode.causalFromEnd = true;
  checkAttention(decode);
  AttentionCase prefillAfterCache{1, 2, 1, 70, 330, 16, 16};
  prefillAfterCache.causal = true;
  prefillAfterCache.causalFromEnd = true; // 260 cached keys, the diagonal from the last key
  checkAttention(prefillAfterCache);
  AttentionCase negative{1, 1, 1, 100, 100, 8, 8}; // query i sees keys j <= i - 70
  negative.causal = true;
  negative.causalOffset = -70; // rows 0..69 see nothing: zeros
  checkAttention(negative);
}

// Static sparsity: a sliding window with and without sink keys, across
// tiles; the window's tile skipping must not change a single visible key.
TEST(AttentionKernels, AttentionSlidingWindowAndSinks) {
  for (int64_t window : {1, 37, 256, 300}) {
    for (int64_t sinks : {0, 4, 300}) {
      AttentionCase c{1, 2, 1, 200, 700, 16, 16};
      c.causal = true;
      c.causalFromEnd = true; // 500 cached keys in front
      c.window = window;
      c.sinks = sinks;
      SCOPED_TRACE("window " + std::to_string(window) + " sinks " + std::to_string(sinks));
      checkAttention(c);
    }
  }
  AttentionCase prefill{1, 1, 1, 600, 600, 8, 8};
  prefill.causal = true;
  prefill.window = 128;
  prefill.sinks = 1;
  checkAttention(prefill);
}

/// The keys NSA-style block selection keeps, as ds.attention defines it:
/// per query block, the first key block, the local blocks and the n earlier
/// blocks scoring highest by (sum of the block's queries) . (sum of the
/// key block's keys), ties to the lower block. One head; in double.
std::vector<uint8_t> blockSelectionMask(const std::vector<float> &q, const std::vector<float> &k,
                                        int64_t S, int64_t L, int64_t D, int64_t offset,
                                        int64_t n, int64_t bs) {
  std::vector<uint8_t> keep((size_t)(S * L), 0);
  for (int64_t i0 = 0; i0 < S; i0 += bs) {
    const int64_t i1 = std::min(S, i0 + bs), d0 = i0 + offset, dLast = i1 - 1 + offset;
    const int64_t keyEnd = std::clamp<int64_t>(dLast + 1, 0, L);
    if (keyEnd == 0)
      continue;
    const int64_t firstLocal = std::max<int64_t>(0, d0 - bs + 1) / bs, lastLocal = (keyEnd - 1) / bs;
    std::vector<int64_t> blocks;
    for (int64_t c = firstLocal; c <= lastLocal; ++c)
      blocks.push_back(c);
    if (firstLocal > 0) {
      blocks.push_back(0);
      std::vector<std::pair<double, int64_t>> scored;
      // Earlier blocks that exist (a diagonal past the keys has its local
      // blocks past them too).
      for (int64_t c = 1; c < std::min(firstLocal, (L + bs - 1) / bs); ++c) {
        double sigma = 0;
        for (int64_t d = 0; d < D; ++d) {
          double qs = 0, ks = 0;
          for (int64_t i = i0; i < i1; ++i)
            qs += q[i * D + d];
          for (int64_t j = c * bs; j < std::min(L, (c + 1) * bs); ++j)
            ks += k[j * D + d];
          sigma += qs * ks;
        }
        scored.push_back({-sigma, c});
      }
      std::sort(scored.begin(), scored.end());
      for (int64_t e = 0; e < std::min<int64_t>(n, (int64_t)scored.size()); ++e)
        blocks.push_back(scored[(size_t)e].second);
    }
    for (int64_t c : blocks)
      for (int64_t j = c * bs; j < std::min(keyEnd, (c + 1) * bs); ++j)
        for (int64_t i = i0; i < i1; ++i)
          keep[(size_t)(i * L + j)] = 1;
  }
  return keep;
}

// NSA-style block selection equals dense attention with the mask of the
// blocks it selects (computed here independently, in double).
TEST(AttentionKernels, AttentionBlockSelection) {
  // extra: a diagonal further right than the last key (100 keys past it:
  // no local block exists, every block is a candidate; the kernel read
  // block sums past the last block there).
  // tied: every key the same vector, so all whole blocks score exactly
  // alike and the choice is the tie-break's (the lowest blocks); the values
  // differ, so another choice changes the result.
  struct Case { int64_t S, L, n, bs, extra = 0; bool tied = false; };
  for (Case t : {Case{300, 300, 2, 32}, Case{64, 700, 3, 64}, Case{1, 900, 4, 128},
                 Case{150, 650, 1, 16}, Case{200, 200, 50, 8}, Case{4, 40, 2, 8, 100},
                 Case{20, 45, 3, 8, 30}, Case{96, 512, 3, 32, 0, true},
                 Case{1, 700, 4, 64, 0, true}}) {
    AttentionCase c{1, 1, 1, t.S, t.L, 16, 16};
    auto qv = randomFloats(t.S * 16, 90), kv = randomFloats(t.L * 16, 91), vv = randomFloats(t.L * 16, 92);
    for (float &x : qv)
      x *= 3;
    if (t.tied)
      for (int64_t j = 1; j < t.L; ++j)
        std::copy(kv.begin(), kv.begin() + 16, kv.begin() + j * 16);
    c.causal = true;
    c.causalOffset = t.L - t.S + t.extra;
    c.boolMask = blockSelectionMask(qv, kv, t.S, t.L, 16, c.causalOffset, t.n, t.bs);
    Tensors ts;
    Tensor *q = ts.f32({1, 1, t.S, 16}, qv), *k = ts.f32({1, 1, t.L, 16}, kv),
           *v = ts.f32({1, 1, t.L, 16}, vv);
    Tensor *y = ts.empty(DS_F32, {1, 1, t.S, 16});
    Attributes attrs;
    attrs.set("is_causal", intAttr(1));
    attrs.set("causal_from_end", intAttr(1));
    attrs.set("select_blocks", intAttr(t.n));
    attrs.set("block_size", intAttr(t.bs));
    if (t.extra)
      attrs.set("causal_offset", intAttr(t.extra));
    SCOPED_TRACE("S " + std::to_string(t.S) + " L " + std::to_string(t.L) + " extra " +
                 std::to_string(t.extra) + (t.tied ? " tied" : ""));
    ASSERT_TRUE(run("ds.attention", attrs, {q, k, v}, {y}, chunkedContext(4)).ok());
    expectNear(values<float>(y), naiveAttention(c, qv, kv, vv));
  }
}

//===----------------------------------------------------------------------===//
// block_sparse_attention
//===----------------------------------------------------------------------===//

/// A random block layout [heads, ceil(S / bs), ceil(L / bs)] (about 40% kept,
/// query block 1 of head 0 hiding everything) and the [Hq, S, L] mask it means.
std::vector<uint8_t> randomLayout(const AttentionCase &c, int64_t heads, int64_t bs,
                                  uint32_t seed, std::vector<uint8_t> &expanded) {
  const int64_t qb = (c.S + bs - 1) / bs, kb = (c.L + bs - 1) / bs;
  std::mt19937 gen(seed);
  std::vector<uint8_t> layout((size_t)(heads * qb * kb));
  for (size_t e = 0; e < layout.size(); ++e)
    layout[e] = gen() % 5 < 2;
  if (qb > 1)
    std::fill(layout.begin() + kb, layout.begin() + 2 * kb, 0);
  expanded.assign((size_t)(c.Hq * c.S * c.L), 0);
  for (int64_t h = 0; h < c.Hq; ++h)
    for (int64_t i = 0; i < c.S; ++i)
      for (int64_t j = 0; j < c.L; ++j)
        expanded[(size_t)((h * c.S + i) * c.L + j)] =
            layout[(size_t)(((heads == 1 ? 0 : h) * qb + i / bs) * kb + j / bs)];
  return layout;
}

// A block layout is dense attention with the layout expanded into a mask:
// blocks of 1 to 300 (tiles of several small blocks, tiles inside a large
// one), one layout or one per head, causal from the last key or not, with a
// boolean mask on top, in f32 (the tiled kernel) and f64 (the reference loop).
TEST(AttentionKernels, BlockSparseAttentionEqualsDenseWithItsLayout) {
  int seed = 80;
  for (int64_t bs : {1, 7, 16, 40, 300})
    for (int64_t heads : {1, 4})
      for (bool causal : {false, true}) {
        AttentionCase c{2, 4, 2, 100, 130, 16, 8};
        c.causal = causal;
        c.causalFromEnd = causal;
        std::vector<uint8_t> layoutBytes = randomLayout(c, heads, bs, ++seed, c.headMask);
        const bool masked = bs == 16;
        if (masked) {
          c.boolMask.assign((size_t)(c.S * c.L), 1);
          for (size_t e = 0; e < c.boolMask.size(); e += 3)
            c.boolMask[e] = 0;
        }
        Tensors ts;
        auto qv = randomFloats(c.B * c.Hq * c.S * c.D, 20),
             kv = randomFloats(c.B * c.Hkv * c.L * c.D, 21),
             vv = randomFloats(c.B * c.Hkv * c.L * c.Dv, 22);
        for (float &x : qv)
          x *= 3;
        const int64_t qb = (c.S + bs - 1) / bs, kb = (c.L + bs - 1) / bs;
        Tensor *layout = ts.make<uint8_t>(DS_BOOL, {heads, qb, kb}, layoutBytes);
        Tensor *mask = masked ? ts.make<uint8_t>(DS_BOOL, {c.S, c.L}, c.boolMask) : nullptr;
        Attributes attrs;
        attrs.set("block_size", intAttr(bs));
        if (causal) {
          attrs.set("is_causal", intAttr(1));
          attrs.set("causal_from_end", intAttr(1));
        }
        std::vector<float> want = naiveAttention(c, qv, kv, vv);
        std::string where = "block " + std::to_string(bs) + ", layout heads " +
                            std::to_string(heads) + (causal ? ", causal" : "");
        Tensor *q = ts.f32({c.B, c.Hq, c.S, c.D}, qv), *k = ts.f32({c.B, c.Hkv, c.L, c.D}, kv),
               *v = ts.f32({c.B, c.Hkv, c.L, c.Dv}, vv);
        Tensor *y = ts.empty(DS_F32, {c.B, c.Hq, c.S, c.Dv});
        ASSERT_TRUE(run("ds.block_sparse_attention", attrs, {q, k, v, layout, mask}, {y},
                        chunkedContext(5))
                        .ok())
            << where;
        expectNear(values<float>(y), want);
        // Query block 1 of head 0 hides every key: zeros.
        if (bs < c.S)
          for (int64_t i = bs; i < std::min<int64_t>(2 * bs, c.S); ++i)
            for (int64_t e = 0; e < c.Dv; ++e)
              ASSERT_EQ(values<float>(y)[(size_t)(i * c.Dv + e)], 0.0f) << where;
        if (bs == 7) { // the reference loop, in f64
          auto widen = [](const std::vector<float> &x) { return std::vector<double>(x.begin(), x.end()); };
          Tensor *q64 = ts.make<double>(DS_F64, {c.B, c.Hq, c.S, c.D}, widen(qv));
          Tensor *k64 = ts.make<double>(DS_F64, {c.B, c.Hkv, c.L, c.D}, widen(kv));
          Tensor *v64 = ts.make<double>(DS_F64, {c.B, c.Hkv, c.L, c.Dv}, widen(vv));
          Tensor *y64 = ts.empty(DS_F64, {c.B, c.Hq, c.S, c.Dv});
          ASSERT_TRUE(run("ds.block_sparse_attention", attrs, {q64, k64, v64, layout, mask}, {y64})
                          .ok())
              << where;
          std::vector<double> got = values<double>(y64);
          expectNear(std::vector<float>(got.begin(), got.end()), want);
        }
      }
}

// Keys of a hidden block are never read into a row: NaN / inf there leave
// the rows finite, in f32 (the tiled kernel) and f64 (the reference loop).
TEST(AttentionKernels, BlockSparseAttentionIgnoresWhatItHides) {
  AttentionCase c{1, 2, 2, 40, 40, 8, 8};
  const int64_t bs = 10;
  std::vector<uint8_t> layoutBytes(16, 1);
  for (int64_t r = 0; r < 4; ++r)
    layoutBytes[(size_t)(r * 4 + 2)] = 0; // key block 2 hidden from every query
  c.headMask.assign((size_t)(c.Hq * c.S * c.L), 1);
  for (int64_t h = 0; h < c.Hq; ++h)
    for (int64_t i = 0; i < c.S; ++i)
      for (int64_t j = 20; j < 30; ++j)
        c.headMask[(size_t)((h * c.S + i) * c.L + j)] = 0;
  auto qv = randomFloats(c.B * c.Hq * c.S * c.D, 5), kv = randomFloats(c.B * c.Hkv * c.L * c.D, 6),
       vv = randomFloats(c.B * c.Hkv * c.L * c.Dv, 7);
  for (int64_t h = 0; h < c.Hkv; ++h)
    for (int64_t j = 20; j < 30; ++j)
      for (int64_t e = 0; e < c.D; ++e) {
        kv[(size_t)((h * c.L + j) * c.D + e)] = j % 2 ? NAN : INFINITY;
        vv[(size_t)((h * c.L + j) * c.Dv + e)] = NAN;
      }
  std::vector<float> finiteK = kv, finiteV = vv; // the reference never reads them either
  for (float &x : finiteK)
    x = std::isfinite(x) ? x : 0.0f;
  for (float &x : finiteV)
    x = std::isfinite(x) ? x : 0.0f;
  std::vector<float> want = naiveAttention(c, qv, finiteK, finiteV);
  Tensors ts;
  Tensor *layout = ts.make<uint8_t>(DS_BOOL, {1, 4, 4}, layoutBytes);
  Attributes attrs;
  attrs.set("block_size", intAttr(bs));
  Tensor *y = ts.empty(DS_F32, {c.B, c.Hq, c.S, c.Dv});
  ASSERT_TRUE(run("ds.block_sparse_attention", attrs,
                  {ts.f32({c.B, c.Hq, c.S, c.D}, qv), ts.f32({c.B, c.Hkv, c.L, c.D}, kv),
                   ts.f32({c.B, c.Hkv, c.L, c.Dv}, vv), layout},
                  {y})
                  .ok());
  expectNear(values<float>(y), want);
  auto widen = [](const std::vector<float> &x) { return std::vector<double>(x.begin(), x.end()); };
  Tensor *y64 = ts.empty(DS_F64, {c.B, c.Hq, c.S, c.Dv});
  ASSERT_TRUE(run("ds.block_sparse_attention", attrs,
                  {ts.make<double>(DS_F64, {c.B, c.Hq, c.S, c.D}, widen(qv)),
                   ts.make<double>(DS_F64, {c.B, c.Hkv, c.L, c.D}, widen(kv)),
                   ts.make<double>(DS_F64, {c.B, c.Hkv, c.L, c.Dv}, widen(vv)), layout},
                  {y64})
                  .ok());
  std::vector<double> got = values<double>(y64);
  expectNear(std::vector<float>(got.begin(), got.end()), want);
}

TEST(AttentionKernels, BlockSparseAttentionRejectsAWrongLayout) {
  Tensors ts;
  Tensor *q = ts.f32({1, 2, 10, 4}, randomFloats(80, 1));
  Tensor *layout = ts.make<uint8_t>(DS_BOOL, {1, 2, 3}, std::vector<uint8_t>(6, 1));
  Tensor *y = ts.empty(DS_F32, {1, 2, 10, 4});
  Attributes attrs;
  attrs.set("block_size", intAttr(4)); // 10 queries and keys: 3 x 3 blocks
  Status s = run("ds.block_sparse_attention", attrs, {q, q, q, layout}, {y});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("layout [1, 2, 3] is not [1 or 2, 3, 3] for blocks of 4"),
            std::string::npos)
      << s.message();
}

// ds.block_layout for lengths read from shapes at run time: a decoder after
// a KV cache (diagonal from the last key) and an encoder, checked entry by
// entry against the pattern's words (local blocks back from the first row's
// diagonal block, strides back from the last row's, global blocks first).
TEST(AttentionKernels, BlockLayoutFromRunTimeLengths) {
  Tensors ts;
  // 10 queries after 14 cached keys (24 keys), blocks of 4: query block r
  // holds rows 4r..4r+3 whose diagonals are keys 14+4r .. 17+4r.
  Tensor *qs = ts.i64({4}, {1, 2, 10, 8}), *ks = ts.i64({4}, {1, 2, 24, 8});
  Attributes decoder;
  decoder.set("block_size", intAttr(4));
  decoder.set("local_blocks", intAttr(2));
  decoder.set("stride_blocks", intAttr(3));
  decoder.set("global_blocks", intAttr(1));
  decoder.set("is_causal", intAttr(1));
  decoder.set("causal_from_end", intAttr(1));
  Tensor *layout = ts.empty(DS_BOOL, {1, 3, 6});
  ASSERT_TRUE(run("ds.block_layout", decoder, {qs, ks}, {layout}).ok());
  // Row 0: diagonal blocks 3 (first row, key 14) and 4 (last row, key 17):
  // local 2..4, stride from 4: 1, global 0. Row 1: keys 18..21 -> blocks 4
  // and 5: local 3..5, stride 5, 2; global 0. Row 2 (rows 8, 9): keys
  // 22, 23 -> block 5: local 4, 5; stride 5, 2; global 0.
  const std::vector<uint8_t> want = {1, 1, 1, 1, 1, 0, //
                                     1, 0, 1, 1, 1, 1, //
                                     1, 0, 1, 0, 1, 1};
  EXPECT_EQ(values<uint8_t>(layout), want);

  // An encoder of 9 positions: local blocks on both sides, the first query
  // block sees every key block.
  Tensor *ns = ts.i64({3}, {1, 2, 9});
  Attributes encoder;
  encoder.set("block_size", intAttr(4));
  encoder.set("local_blocks", intAttr(2));
  encoder.set("global_blocks", intAttr(1));
  Tensor *both = ts.empty(DS_BOOL, {1, 3, 3});
  ASSERT_TRUE(run("ds.block_layout", encoder, {ns, ns}, {both}).ok());
  EXPECT_EQ(values<uint8_t>(both), (std::vector<uint8_t>{1, 1, 1, 1, 1, 1, 1, 1, 1}));
  encoder.set("local_blocks", intAttr(1));
  ASSERT_TRUE(run("ds.block_layout", encoder, {ns, ns}, {both}).ok());
  EXPECT_EQ(values<uint8_t>(both), (std::vector<uint8_t>{1, 1, 1, 1, 1, 0, 1, 0, 1}));
}

// Lengths from the inputs are bounded before the layout is allocated, and
// shapes without a length are refused.
TEST(AttentionKernels, BlockLayoutRefusesWhatItCannotBuild) {
  Tensors ts;
  Attributes attrs;
  attrs.set("block_size", intAttr(1));
  attrs.set("local_blocks", intAttr(1));
  std::vector<Shape> shapes(1);
  const CpuOp *op = findCpuOp("ds.block_layout");
  ASSERT_TRUE(op && op->shape);
  Tensor *huge = ts.i64({3}, {1, 1, (int64_t)1 << 40});
  Status s = op->shape(attrs, {huge, huge}, shapes);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("need more than 16777216 layout blocks"), std::string::npos)
      << s.message();
  // A diagonal offset near the int64 limits (an artifact may hold any).
  Tensor *ten = ts.i64({3}, {1, 1, 10});
  attrs.set("is_causal", intAttr(1));
  attrs.set("causal_offset", intAttr(INT64_MAX - 2));
  s = op->shape(attrs, {ten, ten}, shapes);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("exceed 2^60"), std::string::npos) << s.message();
  Tensor *shortShape = ts.i64({2}, {1, 5});
  s = op->shape(attrs, {shortShape, shortShape}, shapes);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("query_shape must hold a length at element 2"), std::string::npos)
      << s.message();
}

// A diagonal past the last key with a window (a band a graph wrote): row i
// sees keys max(0, d + i - W + 1) .. 9 of 10, so the offset may not simply
// be clamped to L + 1, nor a window capped before the offset is: d = 20,
// W = 15 and d = 30, W = 25 see [i + 6, 9]; d = 20, W = 121 sees every key;
// d and W at the int64 limit see [i + 1, 9]; d = 10^6, W = 5 sees nothing
// (rows give 0). Compared with the same keys as a boolean mask, f32 and f64.
TEST(AttentionKernels, AttentionWindowWithTheDiagonalPastTheKeys) {
  Tensors ts;
  const int64_t S = 6, L = 10, D = 8;
  struct Band {
    int64_t offset, window, firstKey; // row i keeps keys >= i + firstKey
  };
  for (Band band : {Band{20, 15, 6}, Band{30, 25, 6}, Band{20, 121, -100},
                    Band{INT64_MAX, INT64_MAX, 1}, Band{1000000, 5, 1000000}})
  for (DType dt : {DS_F32, DS_F64}) {
    auto make = [&](int64_t n, uint32_t seed) {
      std::vector<float> v = randomFloats(n * D, seed);
      return dt == DS_F32 ? ts.f32({1, 1, n, D}, v)
                          : ts.make<double>(DS_F64, {1, 1, n, D},
                                            std::vector<double>(v.begin(), v.end()));
    };
    Tensor *q = make(S, 60), *k = make(L, 61), *v = make(L, 62);
    std::vector<uint8_t> keep((size_t)(S * L));
    for (int64_t i = 0; i < S; ++i)
      for (int64_t j = 0; j < L; ++j)
        keep[(size_t)(i * L + j)] = j >= i + band.firstKey;
    Tensor *mask = ts.make<uint8_t>(DS_BOOL, {S, L}, keep);
    Tensor *banded = ts.empty(dt, {1, 1, S, D}), *masked = ts.empty(dt, {1, 1, S, D});
    Attributes attrs;
    attrs.set("is_causal", intAttr(1));
    attrs.set("causal_offset", intAttr(band.offset));
    attrs.set("window", intAttr(band.window));
    ASSERT_TRUE(run("ds.attention", attrs, {q, k, v}, {banded}).ok());
    ASSERT_TRUE(run("ds.attention", {}, {q, k, v, mask}, {masked}).ok());
    if (dt == DS_F32) {
      expectNear(values<float>(banded), values<float>(masked));
    } else {
      std::vector<double> got = values<double>(banded), want = values<double>(masked);
      for (size_t e = 0; e < got.size(); ++e)
        EXPECT_NEAR(got[e], want[e], 1e-12) << e;
    }
  }
}

// A window at least as long as the keys is plain causal attention, bit for bit.
TEST(AttentionKernels, AttentionWindowCoveringEverythingIsCausal) {
  Tensors ts;
  const int64_t S = 300, L = 300, D = 16;
  auto qv = randomFloats(S * D, 50), kv = randomFloats(L * D, 51), vv = randomFloats(L * D, 52);
  Tensor *q = ts.f32({1, 1, S, D}, qv), *k = ts.f32({1, 1, L, D}, kv),
         *v = ts.f32({1, 1, L, D}, vv);
  Tensor *dense = ts.empty(DS_F32, {1, 1, S, D}), *windowed = ts.empty(DS_F32, {1, 1, S, D});
  Attributes causal;
  causal.set("is_causal", intAttr(1));
  Attributes wide = causal;
  wide.set("window", intAttr(L));
  ASSERT_TRUE(run("ds.attention", causal, {q, k, v}, {dense}).ok());
  ASSERT_TRUE(run("ds.attention", wide, {q, k, v}, {windowed}).ok());
  EXPECT_EQ(values<float>(dense), values<float>(windowed));
}

//===----------------------------------------------------------------------===//
// sparse_attention
//===----------------------------------------------------------------------===//

/// Random key lists [S, K] (with repeats) and the boolean mask they mean.
std::vector<int64_t> randomIndices(int64_t S, int64_t K, int64_t L, uint32_t seed,
                                   std::vector<uint8_t> &mask) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int64_t> pick(0, L - 1);
  std::vector<int64_t> idx((size_t)(S * K));
  mask.assign((size_t)(S * L), 0);
  for (int64_t i = 0; i < S; ++i)
    for (int64_t e = 0; e < K; ++e) {
      int64_t j = e > 0 && e % 7 == 0 ? idx[(size_t)(i * K + e - 1)] : pick(gen); // repeats
      idx[(size_t)(i * K + e)] = j;
      mask[(size_t)(i * L + j)] = 1;
    }
  return idx;
}

// Top-k attention is dense attention with the mask the indices describe: a
// repeated index counts once; with is_causal listed future keys are hidden.
TEST(AttentionKernels, SparseAttentionEqualsDenseWithItsMask) {
  for (bool causal : {false, true}) {
    AttentionCase c{1, 4, 2, 50, 300, 16, 12};
    std::vector<int64_t> idx = randomIndices(c.S, 40, c.L, 60, c.boolMask);
    c.causal = causal;
    c.causalOffset = 250; // 250 cached keys in front of the 50 queries
    Tensors ts;
    auto qv = randomFloats(c.B * c.Hq * c.S * c.D, 20), kv = randomFloats(c.B * c.Hkv * c.L * c.D, 21),
         vv = randomFloats(c.B * c.Hkv * c.L * c.Dv, 22);
    for (float &x : qv)
      x *= 3;
    Tensor *q = ts.f32({c.B, c.Hq, c.S, c.D}, qv), *k = ts.f32({c.B, c.Hkv, c.L, c.D}, kv),
           *v = ts.f32({c.B, c.Hkv, c.L, c.Dv}, vv);
    Tensor *indices = ts.make<int64_t>(DS_I64, {1, 1, c.S, 40}, idx);
    Tensor *y = ts.empty(DS_F32, {c.B, c.Hq, c.S, c.Dv});
    Attributes attrs;
    if (causal) {
      attrs.set("is_causal", intAttr(1));
      attrs.set("causal_from_end", intAttr(1)); // L - S = 250, the offset above
    }
    ASSERT_TRUE(run("ds.sparse_attention", attrs, {q, k, v, indices}, {y}, chunkedContext(7)).ok());
    expectNear(values<float>(y), naiveAttention(c, qv, kv, vv));
  }
}

// Long lists for many queries take the masked dense path; same semantics.
TEST(AttentionKernels, SparseAttentionLongListsAsAMask) {
  for (bool causal : {false, true}) {
    AttentionCase c{1, 2, 2, 130, 200, 16, 16};
    std::vector<int64_t> idx = randomIndices(c.S, 60, c.L, 61, c.boolMask);
    c.causal = causal;
    c.causalOffset = 70;
    Tensors ts;
    auto qv = randomFloats(c.B * c.Hq * c.S * c.D, 20), kv = randomFloats(c.B * c.Hkv * c.L * c.D, 21),
         vv = randomFloats(c.B * c.Hkv * c.L * c.Dv, 22);
    Tensor *q = ts.f32({c.B, c.Hq, c.S, c.D}, qv), *k = ts.f32({c.B, c.Hkv, c.L, c.D}, kv),
           *v = ts.f32({c.B, c.Hkv, c.L, c.Dv}, vv);
    Tensor *indices = ts.make<int64_t>(DS_I64, {1, 1, c.S, 60}, idx);
    Tensor *y = ts.empty(DS_F32, {c.B, c.Hq, c.S, c.Dv});
    Attributes attrs;
    if (causal) {
      attrs.set("is_causal", intAttr(1));
      attrs.set("causal_offset", intAttr(70));
    }
    ASSERT_TRUE(run("ds.sparse_attention", attrs, {q, k, v, indices}, {y}, chunkedContext(3)).ok());
    expectNear(values<float>(y), naiveAttention(c, qv, kv, vv));
  }
}

// One list per head: each head follows its own.
TEST(AttentionKernels, SparseAttentionIndicesPerHead) {
  const int64_t H = 3, S = 20, L = 90, D = 8, K = 10;
  Tensors ts;
  auto qv = randomFloats(H * S * D, 70), kv = randomFloats(H * L * D, 71), vv = randomFloats(H * L * D, 72);
  std::vector<int64_t> idx;
  std::vector<std::vector<uint8_t>> masks(H);
  for (int64_t h = 0; h < H; ++h) {
    auto part = randomIndices(S, K, L, 80 + (uint32_t)h, masks[(size_t)h]);
    idx.insert(idx.end(), part.begin(), part.end());
  }
  Tensor *q = ts.f32({1, H, S, D}, qv), *k = ts.f32({1, H, L, D}, kv), *v = ts.f32({1, H, L, D}, vv);
  Tensor *indices = ts.make<int64_t>(DS_I64, {1, H, S, K}, idx);
  Tensor *y = ts.empty(DS_F32, {1, H, S, D});
  ASSERT_TRUE(run("ds.sparse_attention", {}, {q, k, v, indices}, {y}).ok());
  auto got = values<float>(y);
  for (int64_t h = 0; h < H; ++h) {
    AttentionCase c{1, 1, 1, S, L, D, D};
    c.boolMask = masks[(size_t)h];
    auto slice = [&](const std::vector<float> &x, int64_t rows) {
      return std::vector<float>(x.begin() + h * rows * D, x.begin() + (h + 1) * rows * D);
    };
    std::vector<float> head(got.begin() + h * S * D, got.begin() + (h + 1) * S * D);
    expectNear(head, naiveAttention(c, slice(qv, S), slice(kv, L), slice(vv, L)));
  }
}

TEST(AttentionKernels, SparseAttentionRejectsIndicesOutsideTheKeys) {
  Tensors ts;
  auto qv = randomFloats(4 * 8, 1), kv = randomFloats(6 * 8, 2);
  Tensor *q = ts.f32({1, 1, 4, 8}, qv), *k = ts.f32({1, 1, 6, 8}, kv);
  Tensor *indices = ts.make<int64_t>(DS_I64, {1, 1, 4, 2}, {0, 1, 2, 3, 4, 5, 6, 0});
  Tensor *y = ts.empty(DS_F32, {1, 1, 4, 8});
  Status s = run("ds.sparse_attention", {}, {q, k, k, indices}, {y});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("index 6 is outside the 6 keys"), std::string::npos) << s.message();
}

TEST(AttentionKernels, AttentionMaskAcrossTilesWithFullyMaskedRows) {
  AttentionCase c{1, 2, 2, 70, 520, 16, 16};
  c.boolMask.assign(70 * 520, 1);
  for (int64_t j = 0; j < 520; ++j) {
    c.boolMask[3 * 520 + j] = 0;               // row 3 sees nothing
    c.boolMask[65 * 520 + j] = j == 519 ? 1 : 0; // row 65 sees only the last key
  }
  for (int64_t i = 0; i < 70; ++i)
    c.boolMask[i * 520 + 300] = 0;
  checkAttention(c);
  AttentionCase f{1, 1, 1, 66, 257, 8, 8};
  f.floatMask = randomFloats(66 * 257, 24);
  for (int64_t j = 0; j < 257; ++j)
    f.floatMask[64 * 257 + j] = j < 256 ? -INFINITY : 0.5f; // row 64 sees key 256 only
  checkAttention(f);
}

TEST(AttentionKernels, AttentionNaNStaysInItsRow) {
  Tensors ts;
  const int64_t S = 80, L = 300, D = 8;
  auto qv = randomFloats(S * D, 40), kv = randomFloats(L * D, 41), vv = randomFloats(L * D, 42);
  qv[70 * D + 3] = NAN; // query 70's scores are all NaN
  Tensor *q = ts.f32({1, 1, S, D}, qv), *k = ts.f32({1, 1, L, D}, kv),
         *v = ts.f32({1, 1, L, D}, vv);
  Tensor *y = ts.empty(DS_F32, {1, 1, S, D});
  ASSERT_TRUE(run("ds.attention", {}, {q, k, v}, {y}, chunkedContext(3)).ok());
  auto got = values<float>(y);
  for (int64_t i = 0; i < S; ++i)
    for (int64_t e = 0; e < D; ++e)
      EXPECT_EQ(std::isnan(got[i * D + e]), i == 70) << i << "," << e;
}

//===----------------------------------------------------------------------===//
// rotary_embedding
//===----------------------------------------------------------------------===//

TEST(AttentionKernels, RotaryEmbeddingHalvesAndInterleaved) {
  Tensors ts;
  const int64_t B = 1, H = 2, S = 3, D = 4, half = 2, maxPos = 5;
  auto xv = randomFloats(B * H * S * D, 30), cv = randomFloats(maxPos * half, 31),
       sv = randomFloats(maxPos * half, 32);
  std::vector<int64_t> pos{4, 0, 2};
  Tensor *x = ts.f32({B, H, S, D}, xv), *cosT = ts.f32({maxPos, half}, cv),
         *sinT = ts.f32({maxPos, half}, sv);
  Tensor *p = ts.make<int64_t>(DS_I64, {B, S}, pos);
  Tensor *y = ts.empty(DS_F32, {B, H, S, D});
  for (bool interleaved : {false, true}) {
    Attributes attrs;
    attrs.set("rotary_embedding_dim", intAttr(0));
    attrs.set("num_heads", intAttr(0));
    if (interleaved)
      attrs.set("interleaved", intAttr(1));
    ASSERT_TRUE(run("ds.rotary_embedding", attrs, {x, cosT, sinT, p}, {y}).ok());
    std::vector<float> want(xv.size());
    for (int64_t h = 0; h < H; ++h)
      for (int64_t s = 0; s < S; ++s) {
        const float *xi = &xv[(h * S + s) * D];
        float *yi = &want[(h * S + s) * D];
        for (int64_t i = 0; i < half; ++i) {
          float c = cv[pos[s] * half + i], sn = sv[pos[s] * half + i];
          int64_t a = interleaved ? 2 * i : i, b = interleaved ? 2 * i + 1 : i + half;
          yi[a] = c * xi[a] - sn * xi[b];
          yi[b] = sn * xi[a] + c * xi[b];
        }
      }
    expectNear(values<float>(y), want);
  }
  Tensor *badPos = ts.make<int64_t>(DS_I64, {B, S}, {0, 5, 1});
  Attributes attrs;
  EXPECT_FALSE(run("ds.rotary_embedding", attrs, {x, cosT, sinT, badPos}, {y}).ok());
}

} // namespace
