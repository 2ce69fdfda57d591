//===- SparseAttentionGrad.cpp - ds.sparse_attention's fused backward -----===//
//
// The gradients of attention over listed keys, O(S K) like the forward:
//  1. per query row: its distinct, causally visible listed keys, their
//     scores, the row's log-sum-exp and D = Σ dO·O, then dQ = scale ·
//     Σ dS_j k_j with dS_j = P_j (dO·v_j - D);
//  2. per key: dV_j = Σ P dO and dK_j = scale · Σ dS q over the rows (of the
//     group's heads) that list it, found through the lists inverted once
//     (rows in ascending order).
// Each gradient element is summed by one task in a fixed order, so results
// do not depend on the thread count. f32 (f16 / bf16 through f32) and f64.
//
//===----------------------------------------------------------------------===//
#include "cpu/AttentionOperands.h"
#include "cpu/ContractionShapes.h"
#include "cpu/Gemm.h"
#include "cpu/KernelUtils.h"
#include "cpu/Kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace dsrt::cpu {
namespace {

template <typename T> struct SparseGrad {
  int64_t B, Hq, Hkv, S, L, D, Dv, Hi, K;
  const T *q, *k, *v, *o, *dy;
  const int64_t *idx; // [B, Hi, S, K], checked in [0, L)
  T scale;
  bool causal;
  int64_t offset; // query i sees keys j <= i + offset (with causal)
  T *dq, *dk, *dv;
};

template <typename T> T dotOf(const T *a, const T *b, int64_t n) {
  T sum = 0;
  for (int64_t d = 0; d < n; ++d)
    sum += a[d] * b[d];
  return sum;
}

/// The distinct, causally visible keys of query i's list (b, list head hi),
/// in list order; `seen` is all zero before and after.
template <typename T>
void visibleKeys(const SparseGrad<T> &p, int64_t b, int64_t hi, int64_t i,
                 std::vector<uint8_t> &seen, std::vector<int64_t> &picked) {
  distinctVisibleKeys(p.idx + ((b * p.Hi + hi) * p.S + i) * p.K, p.K,
                      p.causal ? i + p.offset : std::numeric_limits<int64_t>::max(), seen,
                      picked);
}

/// Pass 1: lse and D of every row, and dQ.
template <typename T>
void queryRows(KernelContext &ctx, const SparseGrad<T> &p, std::vector<T> &lse,
               std::vector<T> &delta) {
  const int64_t group = p.Hq / p.Hkv;
  parallel(ctx, p.B * p.Hq * p.S, std::max<int64_t>(1, 2048 / std::max<int64_t>(1, p.K * p.D)),
           [&](int64_t begin, int64_t end) {
             std::vector<uint8_t> seen((size_t)p.L, 0);
             std::vector<int64_t> picked;
             std::vector<T> score((size_t)p.K);
             for (int64_t row = begin; row < end; ++row) {
               const int64_t i = row % p.S, h = (row / p.S) % p.Hq, b = row / (p.S * p.Hq);
               const int64_t hk = h / group;
               const T *q = p.q + row * p.D, *dout = p.dy + row * p.Dv;
               const T *kb = p.k + (b * p.Hkv + hk) * p.L * p.D;
               const T *vb = p.v + (b * p.Hkv + hk) * p.L * p.Dv;
               T *dq = p.dq + row * p.D;
               std::fill(dq, dq + p.D, T(0));
               visibleKeys(p, b, p.Hi == 1 ? 0 : h, i, seen, picked);
               T best = -std::numeric_limits<T>::infinity();
               bool sawNaN = false;
               for (size_t e = 0; e < picked.size(); ++e) {
                 score[e] = p.scale * dotOf(q, kb + picked[e] * p.D, p.D);
                 sawNaN |= std::isnan(score[e]);
                 best = std::max(best, score[e]);
               }
               if (picked.empty() || sawNaN || !std::isfinite(best)) {
                 lse[(size_t)row] = std::numeric_limits<T>::quiet_NaN(); // passes nothing
                 continue;
               }
               T sum = 0;
               for (size_t e = 0; e < picked.size(); ++e)
                 sum += std::exp(score[e] - best);
               const T rowLse = best + std::log(sum);
               const T d = dotOf(dout, p.o + row * p.Dv, p.Dv);
               lse[(size_t)row] = rowLse;
               delta[(size_t)row] = d;
               for (size_t e = 0; e < picked.size(); ++e) {
                 const int64_t j = picked[e];
                 const T prob = std::exp(score[e] - rowLse);
                 const T ds = prob * (dotOf(dout, vb + j * p.Dv, p.Dv) - d) * p.scale;
                 const T *kj = kb + j * p.D;
                 for (int64_t c = 0; c < p.D; ++c)
                   dq[c] += ds * kj[c];
               }
             }
           });
}

/// The lists inverted: for each (batch, list head, key), the queries whose
/// list holds it (once, causally visible), ascending.
struct Inverted {
  std::vector<int64_t> begin; // [B * Hi * L + 1]
  std::vector<int32_t> rows;
};

template <typename T> Inverted invertLists(const SparseGrad<T> &p) {
  Inverted inv;
  inv.begin.assign((size_t)(p.B * p.Hi * p.L + 1), 0);
  std::vector<uint8_t> seen((size_t)p.L, 0);
  std::vector<int64_t> picked;
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<int64_t> next;
    if (pass == 1) {
      for (size_t c = 1; c < inv.begin.size(); ++c)
        inv.begin[c] += inv.begin[c - 1];
      inv.rows.resize((size_t)inv.begin.back());
      next.assign(inv.begin.begin(), inv.begin.end() - 1);
    }
    for (int64_t b = 0; b < p.B; ++b)
      for (int64_t hi = 0; hi < p.Hi; ++hi)
        for (int64_t i = 0; i < p.S; ++i) {
          visibleKeys(p, b, hi, i, seen, picked);
          const size_t base = (size_t)((b * p.Hi + hi) * p.L);
          for (int64_t j : picked) {
            if (pass == 0)
              ++inv.begin[base + (size_t)j + 1];
            else
              inv.rows[(size_t)next[base + (size_t)j]++] = (int32_t)i;
          }
        }
  }
  return inv;
}

/// Pass 2: dK and dV, one task per (batch, KV head, key).
template <typename T>
void keyRows(KernelContext &ctx, const SparseGrad<T> &p, const Inverted &inv,
             const std::vector<T> &lse, const std::vector<T> &delta) {
  const int64_t group = p.Hq / p.Hkv;
  parallel(ctx, p.B * p.Hkv * p.L, 16, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t j = t % p.L, hk = (t / p.L) % p.Hkv, b = t / (p.L * p.Hkv);
      const T *kj = p.k + t * p.D, *vj = p.v + t * p.Dv;
      T *dk = p.dk + t * p.D, *dv = p.dv + t * p.Dv;
      std::fill(dk, dk + p.D, T(0));
      std::fill(dv, dv + p.Dv, T(0));
      for (int64_t h = hk * group; h < (hk + 1) * group; ++h) {
        const size_t list = (size_t)((b * p.Hi + (p.Hi == 1 ? 0 : h)) * p.L + j);
        for (int64_t e = inv.begin[list]; e < inv.begin[list + 1]; ++e) {
          const int64_t row = (b * p.Hq + h) * p.S + inv.rows[(size_t)e];
          if (std::isnan(lse[(size_t)row]))
            continue;
          const T *q = p.q + row * p.D, *dout = p.dy + row * p.Dv;
          const T prob = std::exp(p.scale * dotOf(q, kj, p.D) - lse[(size_t)row]);
          const T ds = prob * (dotOf(dout, vj, p.Dv) - delta[(size_t)row]) * p.scale;
          for (int64_t c = 0; c < p.Dv; ++c)
            dv[c] += prob * dout[c];
          for (int64_t c = 0; c < p.D; ++c)
            dk[c] += ds * q[c];
        }
      }
    }
  });
}

Status sparseAttentionGradKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                                 const Outputs &out) {
  const char *op = "ds.sparse_attention_grad";
  if (Status s = need(op, in, out, 6, 3); !s)
    return s;
  Shapes want(3);
  if (Status s = sparseAttentionGradShape(attrs, in, want); !s)
    return s;
  const Tensor &q = *in[0], &k = *in[1], &v = *in[2], &idx = *in[3], &o = *in[4], &dy = *in[5];
  for (int r = 0; r < 3; ++r)
    if (out[r]->shape != want[(size_t)r])
      return fail(op, "result " + std::to_string(r) + " " + shapeText(out[r]->shape) +
                          " should be " + shapeText(want[(size_t)r]));
  for (const Tensor *t : {&k, &v, &o, &dy, (const Tensor *)out[0], (const Tensor *)out[1],
                          (const Tensor *)out[2]})
    if (t->dtype != q.dtype)
      return fail(op, "query, key, value, output, gradients differ in element type");
  const Compute kind = computeOf(q.dtype);
  if (kind != Compute::F32 && kind != Compute::F64)
    return fail(op, std::string("unsupported element type ") + dtypeName(q.dtype));
  if (idx.dtype != DS_I64)
    return fail(op, "indices must be i64");
  if (out[0]->numel() + out[1]->numel() + out[2]->numel() == 0)
    return Status(); // as the forward, which reads no index when its result is empty
  const int64_t L = k.shape[2];
  const int64_t *indices = idx.as<int64_t>();
  for (int64_t e = 0, n = idx.numel(); e < n; ++e)
    if (indices[e] < 0 || indices[e] >= L)
      return fail(op, "index " + std::to_string(indices[e]) + " is outside the " +
                          std::to_string(L) + " keys");
  if (L > std::numeric_limits<int32_t>::max() || q.shape[2] > std::numeric_limits<int32_t>::max())
    return fail(op, "more than 2^31 queries or keys");
  auto run = [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> sq, sk, sv, so, sg, dq, dk, dv;
    SparseGrad<T> p{q.shape[0], q.shape[1], k.shape[1], q.shape[2], L, q.shape[3], v.shape[3],
                    idx.shape[1], idx.shape[3]};
    p.scale = (T)(attrs.has("scale") ? attrs.getFloat("scale", 0.0)
                                     : 1.0 / std::sqrt((double)std::max<int64_t>(p.D, 1)));
    p.causal = attrs.has("is_causal") && attrs.getInt("is_causal", 1) != 0;
    p.offset = clampedCausalOffset(
        attrs.getInt("causal_offset", 0),
        attrs.has("causal_from_end") && attrs.getInt("causal_from_end", 1) != 0, p.S, p.L);
    p.q = viewAs<T>(q, sq);
    p.k = viewAs<T>(k, sk);
    p.v = viewAs<T>(v, sv);
    p.o = viewAs<T>(o, so);
    p.dy = viewAs<T>(dy, sg);
    p.idx = indices;
    p.dq = outputAs<T>(*out[0], dq);
    p.dk = outputAs<T>(*out[1], dk);
    p.dv = outputAs<T>(*out[2], dv);
    std::vector<T> lse((size_t)(p.B * p.Hq * p.S)), delta(lse.size(), T(0));
    queryRows(ctx, p, lse, delta);
    keyRows(ctx, p, invertLists(p), lse, delta);
    finishOutput<T>(*out[0], p.dq);
    finishOutput<T>(*out[1], p.dk);
    finishOutput<T>(*out[2], p.dv);
  };
  if (kind == Compute::F32)
    run(float());
  else
    run(double());
  return Status();
}

} // namespace

void registerSparseAttentionGradKernels(KernelTable &table) {
  table["ds.sparse_attention_grad"] = CpuOp(sparseAttentionGradKernel, sparseAttentionGradShape);
}

} // namespace dsrt::cpu
