//===- AttentionGradTest.cpp - ds.attention_grad against references -------===//
//
// The fused backward (tiled in f32, the row loop in f64) against gradients
// composed here from explicit probabilities in double, and the f64 kernel
// against central finite differences of a double forward. Sizes cross the
// tiled kernel's query (64) and key (128) tiles with partial last tiles.
//
//===----------------------------------------------------------------------===//
#include "KernelTestUtils.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {
using namespace dsrt;
using namespace dsrt::test;

struct GradCase {
  int64_t B, Hq, Hkv, S, L, D, Dv;
  bool causal = false;
  int64_t offset = 0; // causal_offset
  bool fromEnd = false;
  int64_t window = 0, sinks = 0;
  double softcap = 0;
  std::vector<uint8_t> boolMask; // [S, L] when non-empty
  std::vector<float> floatMask;  // [S, L] when non-empty
  std::vector<uint8_t> headMask; // [Hq, S, L] when non-empty (per-head key lists)
};

struct Grads {
  std::vector<double> y, dq, dk, dv;
};

/// Forward and backward in double from the probabilities themselves.
Grads reference(const GradCase &c, const std::vector<double> &q, const std::vector<double> &k,
                const std::vector<double> &v, const std::vector<double> &dy) {
  Grads g;
  g.y.assign(c.B * c.Hq * c.S * c.Dv, 0.0);
  g.dq.assign(q.size(), 0.0);
  g.dk.assign(k.size(), 0.0);
  g.dv.assign(v.size(), 0.0);
  const double scale = 1.0 / std::sqrt((double)std::max<int64_t>(c.D, 1));
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t h = 0; h < c.Hq; ++h) {
      const int64_t hk = h / (c.Hq / c.Hkv);
      auto Q = [&](int64_t i, int64_t e) { return q[((b * c.Hq + h) * c.S + i) * c.D + e]; };
      auto K = [&](int64_t j, int64_t e) { return k[((b * c.Hkv + hk) * c.L + j) * c.D + e]; };
      auto V = [&](int64_t j, int64_t e) { return v[((b * c.Hkv + hk) * c.L + j) * c.Dv + e]; };
      for (int64_t i = 0; i < c.S; ++i) {
        std::vector<double> s(c.L), t(c.L, 0.0);
        double best = -INFINITY;
        bool sawNaN = false;
        for (int64_t j = 0; j < c.L; ++j) {
          double d = 0;
          for (int64_t e = 0; e < c.D; ++e)
            d += Q(i, e) * K(j, e);
          d *= scale;
          if (c.softcap > 0) {
            t[j] = std::tanh(d / c.softcap);
            d = c.softcap * t[j];
          }
          const int64_t diag = i + c.offset + (c.fromEnd ? c.L - c.S : 0);
          if (c.causal && (j > diag || (c.window > 0 && j <= diag - c.window && j >= c.sinks)))
            d = -INFINITY;
          if (!c.boolMask.empty() && !c.boolMask[i * c.L + j])
            d = -INFINITY;
          if (!c.headMask.empty() && !c.headMask[(h * c.S + i) * c.L + j])
            d = -INFINITY;
          if (!c.floatMask.empty())
            d += c.floatMask[i * c.L + j];
          s[j] = d;
          sawNaN |= std::isnan(d);
          best = std::max(best, d);
        }
        const int64_t row = (b * c.Hq + h) * c.S + i;
        if (sawNaN) { // a NaN row, and no gradient from it
          std::fill(g.y.begin() + row * c.Dv, g.y.begin() + (row + 1) * c.Dv, NAN);
          continue;
        }
        if (best == -INFINITY)
          continue; // a fully hidden row: output 0, no gradient
        double sum = 0;
        for (double &x : s)
          sum += x = std::exp(x - best);
        for (double &x : s)
          x /= sum;
        std::vector<double> dp(c.L, 0.0);
        double delta = 0;
        for (int64_t j = 0; j < c.L; ++j)
          for (int64_t e = 0; e < c.Dv; ++e) {
            g.y[row * c.Dv + e] += s[j] * V(j, e);
            dp[j] += dy[row * c.Dv + e] * V(j, e);
            g.dv[((b * c.Hkv + hk) * c.L + j) * c.Dv + e] += s[j] * dy[row * c.Dv + e];
          }
        for (int64_t j = 0; j < c.L; ++j)
          delta += s[j] * dp[j];
        for (int64_t j = 0; j < c.L; ++j) {
          const double ds = s[j] * (dp[j] - delta) * (1.0 - t[j] * t[j]) * scale;
          for (int64_t e = 0; e < c.D; ++e) {
            g.dq[row * c.D + e] += ds * K(j, e);
            g.dk[((b * c.Hkv + hk) * c.L + j) * c.D + e] += ds * Q(i, e);
          }
        }
      }
    }
  return g;
}

Attributes attributesOf(const GradCase &c) {
  Attributes attrs;
  if (c.causal)
    attrs.set("is_causal", intAttr(1));
  if (c.offset)
    attrs.set("causal_offset", intAttr(c.offset));
  if (c.fromEnd)
    attrs.set("causal_from_end", intAttr(1));
  if (c.window)
    attrs.set("window", intAttr(c.window));
  if (c.sinks)
    attrs.set("sink_tokens", intAttr(c.sinks));
  if (c.softcap > 0)
    attrs.set("softcap", floatAttr(c.softcap));
  return attrs;
}

std::vector<double> widened(const std::vector<float> &x) { return {x.begin(), x.end()}; }

/// dq, dk, dv against the reference's, to f32's or f64's tolerance.
void expectGrads(DType dtype, const Tensor *dq, const Tensor *dk, const Tensor *dv,
                 const Grads &want, const std::string &what) {
  const double tol = dtype == DS_F32 ? 2e-4 : 1e-10;
  const std::string name = what + (dtype == DS_F32 ? " f32" : " f64");
  for (auto [label, t, w] : {std::tuple{"dq", dq, &want.dq}, std::tuple{"dk", dk, &want.dk},
                             std::tuple{"dv", dv, &want.dv}}) {
    std::vector<double> got = dtype == DS_F64 ? values<double>(t) : widened(values<float>(t));
    ASSERT_EQ(got.size(), w->size());
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_NEAR(got[i], (*w)[i], tol * (1.0 + std::fabs((*w)[i])))
          << name << " " << label << "[" << i << "]";
  }
}

/// Runs ds.attention_grad on `c` in f32 and f64 (with the forward's result
/// from the reference) and compares all three gradients.
void checkGrad(const GradCase &c, uint32_t seed = 7) {
  auto qf = randomFloats(c.B * c.Hq * c.S * c.D, seed),
       kf = randomFloats(c.B * c.Hkv * c.L * c.D, seed + 1),
       vf = randomFloats(c.B * c.Hkv * c.L * c.Dv, seed + 2),
       gf = randomFloats(c.B * c.Hq * c.S * c.Dv, seed + 3);
  for (float &x : qf)
    x *= 3; // a sharper softmax
  Grads want = reference(c, widened(qf), widened(kf), widened(vf), widened(gf));
  std::vector<float> yf(want.y.begin(), want.y.end());
  const std::string what = "B" + std::to_string(c.B) + " Hq" + std::to_string(c.Hq) + " Hkv" +
                           std::to_string(c.Hkv) + " S" + std::to_string(c.S) + " L" +
                           std::to_string(c.L);
  Attributes attrs = attributesOf(c);
  for (DType dtype : {DS_F32, DS_F64}) {
    Tensors ts;
    auto tensor = [&](std::vector<int64_t> shape, const std::vector<float> &x) {
      return dtype == DS_F32 ? ts.f32(std::move(shape), x)
                             : ts.make<double>(DS_F64, std::move(shape), widened(x));
    };
    std::vector<int64_t> qs{c.B, c.Hq, c.S, c.D}, ks{c.B, c.Hkv, c.L, c.D},
        vs{c.B, c.Hkv, c.L, c.Dv}, ys{c.B, c.Hq, c.S, c.Dv};
    // The forward's result as the kernel would get it: rounded to f32 there.
    Tensor *y = dtype == DS_F32 ? ts.f32(ys, yf) : ts.make<double>(DS_F64, ys, want.y);
    std::vector<const Tensor *> in{tensor(qs, qf), tensor(ks, kf), tensor(vs, vf), y,
                                   tensor(ys, gf)};
    if (!c.boolMask.empty())
      in.push_back(ts.make<uint8_t>(DS_BOOL, {c.S, c.L}, c.boolMask));
    else if (!c.floatMask.empty())
      in.push_back(tensor({1, 1, c.S, c.L}, c.floatMask));
    Tensor *dq = ts.empty(dtype, qs), *dk = ts.empty(dtype, ks), *dv = ts.empty(dtype, vs);
    Status s = run("ds.attention_grad", attrs, in, {dq, dk, dv}, chunkedContext(3));
    ASSERT_TRUE(s.ok()) << s.message();
    expectGrads(dtype, dq, dk, dv, want, what);
  }
}

TEST(AttentionGrad, PlainAndGroupedHeads) {
  checkGrad({2, 3, 3, 5, 7, 8, 6});
  checkGrad({1, 6, 2, 4, 9, 8, 8}); // three query heads per KV head
}

TEST(AttentionGrad, CausalWithCacheOffsetAndFromTheEnd) {
  GradCase c{1, 2, 1, 6, 6, 8, 8};
  c.causal = true;
  checkGrad(c);
  GradCase cache{1, 2, 1, 3, 9, 4, 4};
  cache.causal = true;
  cache.offset = 4;
  checkGrad(cache);
  GradCase fromEnd{1, 4, 2, 5, 12, 8, 8};
  fromEnd.causal = true;
  fromEnd.fromEnd = true;
  checkGrad(fromEnd);
  GradCase before{1, 1, 1, 8, 8, 4, 4}; // rows 0-2 see nothing: no gradient
  before.causal = true;
  before.offset = -3;
  checkGrad(before);
}

TEST(AttentionGrad, WindowSinksAndSoftcap) {
  GradCase c{1, 2, 2, 20, 20, 8, 8};
  c.causal = true;
  c.window = 5;
  c.sinks = 2;
  checkGrad(c);
  GradCase capped{1, 2, 1, 7, 7, 8, 8};
  capped.causal = true;
  capped.softcap = 1.5;
  checkGrad(capped);
}

// A NaN score (here from the mask) makes its row's output NaN, and D =
// Σ dO·O with it; the row passes no gradient, and no NaN reaches the keys
// it saw.
TEST(AttentionGrad, NaNRowPassesNothing) {
  GradCase c{1, 1, 1, 8, 8, 4, 4};
  c.floatMask = randomFloats(64, 61);
  c.floatMask[8 * 2 + 5] = NAN; // row 2
  checkGrad(c);
  GradCase tiles{1, 2, 1, 70, 200, 8, 8};
  tiles.floatMask = randomFloats(70 * 200, 62);
  tiles.floatMask[200 * 66 + 150] = NAN; // row 66, in the second query tile
  checkGrad(tiles);
}

// Head dims of 0: the gradients are zeros (no BLAS call with empty rows).
TEST(AttentionGrad, EmptyHeadDims) {
  checkGrad({1, 2, 1, 5, 7, 0, 4});
  checkGrad({1, 2, 1, 5, 7, 4, 0});
}

TEST(AttentionGrad, MasksAndFullyMaskedRows) {
  GradCase c{1, 2, 2, 3, 4, 8, 8};
  c.boolMask = {1, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1}; // row 1 hidden entirely
  checkGrad(c);
  GradCase f{1, 2, 1, 3, 4, 8, 8};
  f.floatMask = randomFloats(12, 31);
  f.floatMask[5] = -INFINITY;
  checkGrad(f);
}

// Query tiles of 64 and key tiles of 128 with partial last ones; windows
// and causality across tiles; a long cache behind few queries.
TEST(AttentionGrad, AcrossTiles) {
  checkGrad({1, 2, 1, 150, 300, 16, 12});
  GradCase causal{2, 4, 2, 140, 140, 16, 16};
  causal.causal = true;
  checkGrad(causal);
  GradCase window{1, 2, 1, 300, 300, 8, 8};
  window.causal = true;
  window.window = 70;
  window.sinks = 3;
  checkGrad(window);
  GradCase decode{1, 2, 1, 3, 400, 16, 16};
  decode.causal = true;
  decode.fromEnd = true;
  checkGrad(decode);
}

/// Loss Σ dy ∘ attention(q, k, v) in double, for finite differences.
double weightedOutput(const GradCase &c, const std::vector<double> &q, const std::vector<double> &k,
                      const std::vector<double> &v, const std::vector<double> &dy) {
  Grads g = reference(c, q, k, v, dy);
  double total = 0;
  for (size_t i = 0; i < g.y.size(); ++i)
    total += g.y[i] * dy[i];
  return total;
}

TEST(AttentionGrad, F64MatchesFiniteDifferences) {
  GradCase c{1, 2, 1, 4, 5, 3, 3};
  c.causal = true;
  c.offset = 1;
  c.softcap = 2.0;
  auto q = widened(randomFloats(24, 41)), k = widened(randomFloats(15, 42)),
       v = widened(randomFloats(15, 43)), dy = widened(randomFloats(24, 44));
  Grads fwd = reference(c, q, k, v, dy);
  Tensors ts;
  Tensor *tq = ts.make<double>(DS_F64, {1, 2, 4, 3}, q), *tk = ts.make<double>(DS_F64, {1, 1, 5, 3}, k),
         *tv = ts.make<double>(DS_F64, {1, 1, 5, 3}, v),
         *ty = ts.make<double>(DS_F64, {1, 2, 4, 3}, fwd.y),
         *tg = ts.make<double>(DS_F64, {1, 2, 4, 3}, dy);
  Tensor *dq = ts.empty(DS_F64, {1, 2, 4, 3}), *dk = ts.empty(DS_F64, {1, 1, 5, 3}),
         *dv = ts.empty(DS_F64, {1, 1, 5, 3});
  ASSERT_TRUE(run("ds.attention_grad", attributesOf(c), {tq, tk, tv, ty, tg}, {dq, dk, dv}).ok());
  const double h = 1e-6;
  for (auto [label, x, got] : {std::tuple{"q", &q, dq}, std::tuple{"k", &k, dk},
                               std::tuple{"v", &v, dv}})
    for (size_t i = 0; i < x->size(); ++i) {
      const double saved = (*x)[i];
      (*x)[i] = saved + h;
      const double up = weightedOutput(c, q, k, v, dy);
      (*x)[i] = saved - h;
      const double down = weightedOutput(c, q, k, v, dy);
      (*x)[i] = saved;
      EXPECT_NEAR(got->as<double>()[i], (up - down) / (2 * h), 1e-7) << label << "[" << i << "]";
    }
}

TEST(AttentionGrad, SameBitsForAnyTaskSplit) {
  GradCase c{1, 4, 2, 130, 260, 16, 16};
  c.causal = true;
  auto q = randomFloats(4 * 130 * 16, 51), k = randomFloats(2 * 260 * 16, 52),
       v = randomFloats(2 * 260 * 16, 53), y = randomFloats(4 * 130 * 16, 54),
       g = randomFloats(4 * 130 * 16, 55);
  std::vector<std::vector<float>> first;
  for (int64_t chunk : {0, 1, 5}) {
    Tensors ts;
    Tensor *dq = ts.empty(DS_F32, {1, 4, 130, 16}), *dk = ts.empty(DS_F32, {1, 2, 260, 16}),
           *dv = ts.empty(DS_F32, {1, 2, 260, 16});
    ASSERT_TRUE(run("ds.attention_grad", attributesOf(c),
                    {ts.f32({1, 4, 130, 16}, q), ts.f32({1, 2, 260, 16}, k),
                     ts.f32({1, 2, 260, 16}, v), ts.f32({1, 4, 130, 16}, y),
                     ts.f32({1, 4, 130, 16}, g)},
                    {dq, dk, dv}, chunkedContext(chunk))
                    .ok());
    std::vector<std::vector<float>> now{values<float>(dq), values<float>(dk), values<float>(dv)};
    if (first.empty())
      first = now;
    else
      EXPECT_EQ(now, first) << "chunk " << chunk;
  }
}

//===----------------------------------------------------------------------===//
// sparse_attention_grad: dense attention's gradients under the mask of the
// listed keys.
//===----------------------------------------------------------------------===//

/// Runs ds.sparse_attention_grad with `lists` ([B, Hi, S, K]) and compares
/// with the dense reference under the lists' mask (c's causality on top).
void checkSparseGrad(GradCase c, int64_t Hi, int64_t K, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<int64_t> lists((size_t)(c.B * Hi * c.S * K));
  for (int64_t &j : lists)
    j = (int64_t)(gen() % (uint32_t)c.L);
  lists[1] = lists[0]; // a key listed twice counts once
  ASSERT_EQ(c.B, 1) << "the reference's masks are per (head, query)";
  c.headMask.assign((size_t)(c.Hq * c.S * c.L), 0);
  for (int64_t h = 0; h < c.Hq; ++h)
    for (int64_t i = 0; i < c.S; ++i)
      for (int64_t e = 0; e < K; ++e)
        c.headMask[(size_t)((h * c.S + i) * c.L +
                            lists[(size_t)(((Hi == 1 ? 0 : h) * c.S + i) * K + e)])] = 1;
  auto qf = randomFloats(c.Hq * c.S * c.D, seed + 1), kf = randomFloats(c.Hkv * c.L * c.D, seed + 2),
       vf = randomFloats(c.Hkv * c.L * c.Dv, seed + 3), gf = randomFloats(c.Hq * c.S * c.Dv, seed + 4);
  Grads want = reference(c, widened(qf), widened(kf), widened(vf), widened(gf));
  std::vector<float> yf(want.y.begin(), want.y.end());
  Attributes attrs = attributesOf(c);
  for (DType dtype : {DS_F32, DS_F64}) {
    Tensors ts;
    auto tensor = [&](std::vector<int64_t> shape, const std::vector<float> &x) {
      return dtype == DS_F32 ? ts.f32(std::move(shape), x)
                             : ts.make<double>(DS_F64, std::move(shape), widened(x));
    };
    std::vector<int64_t> qs{1, c.Hq, c.S, c.D}, ks{1, c.Hkv, c.L, c.D}, vs{1, c.Hkv, c.L, c.Dv},
        ys{1, c.Hq, c.S, c.Dv};
    Tensor *y = dtype == DS_F32 ? ts.f32(ys, yf) : ts.make<double>(DS_F64, ys, want.y);
    Tensor *dq = ts.empty(dtype, qs), *dk = ts.empty(dtype, ks), *dv = ts.empty(dtype, vs);
    Status s = run("ds.sparse_attention_grad", attrs,
                   {tensor(qs, qf), tensor(ks, kf), tensor(vs, vf), ts.i64({1, Hi, c.S, K}, lists),
                    y, tensor(ys, gf)},
                   {dq, dk, dv}, chunkedContext(7));
    ASSERT_TRUE(s.ok()) << s.message();
    expectGrads(dtype, dq, dk, dv, want, "");
  }
}

TEST(SparseAttentionGrad, SharedListsWithRepeats) {
  checkSparseGrad({1, 4, 2, 9, 30, 8, 6}, 1, 5, 71);
}

TEST(SparseAttentionGrad, PerHeadListsCausalFromTheEnd) {
  GradCase c{1, 4, 2, 6, 40, 8, 8};
  c.causal = true;
  c.fromEnd = true; // 34 cached keys before the queries
  checkSparseGrad(c, 4, 12, 81);
}

TEST(SparseAttentionGrad, CausalListsLeaveRowsEmpty) {
  GradCase c{1, 2, 1, 12, 12, 4, 4};
  c.causal = true; // early rows list keys past their diagonal: some see nothing
  checkSparseGrad(c, 1, 3, 91);
}

TEST(SparseAttentionGrad, RejectsIndicesOutsideTheKeys) {
  Tensors ts;
  Tensor *q = ts.empty(DS_F32, {1, 1, 2, 4}), *k = ts.empty(DS_F32, {1, 1, 3, 4});
  Tensor *dq = ts.empty(DS_F32, {1, 1, 2, 4}), *dk = ts.empty(DS_F32, {1, 1, 3, 4}),
         *dv = ts.empty(DS_F32, {1, 1, 3, 4});
  Status s = run("ds.sparse_attention_grad", {},
                 {q, k, k, ts.i64({1, 1, 2, 1}, {0, 3}), q, q}, {dq, dk, dv});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("index 3 is outside the 3 keys"), std::string::npos) << s.message();
}

//===----------------------------------------------------------------------===//
// block_sparse_attention_grad: dense attention's gradients under the layout
// expanded to keys.
//===----------------------------------------------------------------------===//

/// Runs ds.block_sparse_attention_grad with a random layout of `heads` (1 or
/// Hq) rows and blocks of `bs`, against the dense reference under it.
void checkBlockSparseGrad(GradCase c, int64_t heads, int64_t bs, double density, uint32_t seed) {
  ASSERT_EQ(c.B, 1) << "the reference's masks are per (head, query)";
  const int64_t qb = (c.S + bs - 1) / bs, kb = (c.L + bs - 1) / bs;
  std::mt19937 gen(seed);
  std::vector<uint8_t> layout((size_t)(heads * qb * kb));
  for (uint8_t &x : layout)
    x = std::uniform_real_distribution<double>(0, 1)(gen) < density;
  c.headMask.assign((size_t)(c.Hq * c.S * c.L), 0);
  for (int64_t h = 0; h < c.Hq; ++h)
    for (int64_t i = 0; i < c.S; ++i)
      for (int64_t j = 0; j < c.L; ++j)
        c.headMask[(size_t)((h * c.S + i) * c.L + j)] =
            layout[(size_t)(((heads == 1 ? 0 : h) * qb + i / bs) * kb + j / bs)];
  auto qf = randomFloats(c.Hq * c.S * c.D, seed + 1), kf = randomFloats(c.Hkv * c.L * c.D, seed + 2),
       vf = randomFloats(c.Hkv * c.L * c.Dv, seed + 3), gf = randomFloats(c.Hq * c.S * c.Dv, seed + 4);
  Grads want = reference(c, widened(qf), widened(kf), widened(vf), widened(gf));
  std::vector<float> yf(want.y.begin(), want.y.end());
  Attributes attrs = attributesOf(c);
  attrs.set("block_size", intAttr(bs));
  for (DType dtype : {DS_F32, DS_F64}) {
    Tensors ts;
    auto tensor = [&](std::vector<int64_t> shape, const std::vector<float> &x) {
      return dtype == DS_F32 ? ts.f32(std::move(shape), x)
                             : ts.make<double>(DS_F64, std::move(shape), widened(x));
    };
    std::vector<int64_t> qs{1, c.Hq, c.S, c.D}, ks{1, c.Hkv, c.L, c.D}, vs{1, c.Hkv, c.L, c.Dv},
        ys{1, c.Hq, c.S, c.Dv};
    Tensor *y = dtype == DS_F32 ? ts.f32(ys, yf) : ts.make<double>(DS_F64, ys, want.y);
    Tensor *dq = ts.empty(dtype, qs), *dk = ts.empty(dtype, ks), *dv = ts.empty(dtype, vs);
    Status s = run("ds.block_sparse_attention_grad", attrs,
                   {tensor(qs, qf), tensor(ks, kf), tensor(vs, vf),
                    ts.make<uint8_t>(DS_BOOL, {heads, qb, kb}, layout), y, tensor(ys, gf)},
                   {dq, dk, dv}, chunkedContext(3));
    ASSERT_TRUE(s.ok()) << s.message();
    expectGrads(dtype, dq, dk, dv, want, "");
  }
}

TEST(BlockSparseAttentionGrad, SmallBlocksPerHead) {
  checkBlockSparseGrad({1, 4, 2, 7, 8, 8, 6}, 4, 3, 0.5, 101);
  GradCase causal{1, 2, 1, 10, 10, 4, 4};
  causal.causal = true;
  checkBlockSparseGrad(causal, 1, 3, 0.6, 102);
}

// Query tiles of 64 and key tiles of 128 over blocks of 32 and 48: tiles the
// layout hides whole are skipped, tiles spanning blocks hide per row.
TEST(BlockSparseAttentionGrad, AcrossTiles) {
  checkBlockSparseGrad({1, 2, 1, 150, 300, 16, 16}, 2, 32, 0.3, 111);
  GradCase causal{1, 4, 2, 200, 260, 8, 8};
  causal.causal = true;
  causal.fromEnd = true;
  checkBlockSparseGrad(causal, 1, 48, 0.4, 112);
}

// causal_offset may be any int64: past the keys every key is visible (as
// without is_causal), before them none (no gradient); nothing overflows.
TEST(AttentionGrad, ExtremeCausalOffsets) {
  auto q = randomFloats(2 * 5 * 4, 121), k = randomFloats(6 * 4, 122),
       v = randomFloats(6 * 4, 123), y = randomFloats(2 * 5 * 4, 124),
       g = randomFloats(2 * 5 * 4, 125);
  auto grads = [&](Attributes attrs) {
    Tensors ts;
    Tensor *dq = ts.empty(DS_F32, {1, 2, 5, 4}), *dk = ts.empty(DS_F32, {1, 1, 6, 4}),
           *dv = ts.empty(DS_F32, {1, 1, 6, 4});
    EXPECT_TRUE(run("ds.attention_grad", attrs,
                    {ts.f32({1, 2, 5, 4}, q), ts.f32({1, 1, 6, 4}, k), ts.f32({1, 1, 6, 4}, v),
                     ts.f32({1, 2, 5, 4}, y), ts.f32({1, 2, 5, 4}, g)},
                    {dq, dk, dv})
                    .ok());
    return std::vector<std::vector<float>>{values<float>(dq), values<float>(dk),
                                           values<float>(dv)};
  };
  const auto full = grads({});
  for (bool fromEnd : {false, true}) {
    Attributes past = attrs({{"is_causal", intAttr(1)},
                             {"causal_offset", intAttr(std::numeric_limits<int64_t>::max())}});
    Attributes before = attrs({{"is_causal", intAttr(1)},
                               {"causal_offset", intAttr(std::numeric_limits<int64_t>::min())}});
    if (fromEnd) {
      past.set("causal_from_end", intAttr(1));
      before.set("causal_from_end", intAttr(1));
    }
    EXPECT_EQ(grads(past), full) << fromEnd;
    for (const auto &grad : grads(before))
      for (float x : grad)
        ASSERT_EQ(x, 0.0f) << fromEnd;
  }
}

TEST(AttentionGrad, RejectsMismatchedOperands) {
  Tensors ts;
  Tensor *q = ts.empty(DS_F32, {1, 2, 4, 8}), *kv = ts.empty(DS_F32, {1, 1, 4, 8}),
         *wrong = ts.empty(DS_F32, {1, 2, 3, 8});
  Tensor *dq = ts.empty(DS_F32, {1, 2, 4, 8}), *dk = ts.empty(DS_F32, {1, 1, 4, 8}),
         *dv = ts.empty(DS_F32, {1, 1, 4, 8});
  Status s = run("ds.attention_grad", {}, {q, kv, kv, q, wrong}, {dq, dk, dv});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("output_grad"), std::string::npos) << s.message();
}

} // namespace
