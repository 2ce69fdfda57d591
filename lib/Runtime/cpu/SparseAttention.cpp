//===- SparseAttention.cpp - attention over selected keys (DSA top-k) -----===//
//
// ds.sparse_attention: each query attends only to the keys its row of
// `indices` lists. Per query and KV head the listed keys (deduplicated,
// causally visible) are gathered into a contiguous block, then the heads of
// the group share two GEMMs against it: O(K) work per query, not O(L).
// When the lists are long relative to the keys (more than a sixteenth)
// and there are many queries, gathering costs more than it saves: the lists
// become a boolean mask for the tiled dense kernel instead.
//
//===----------------------------------------------------------------------===//
#include "cpu/AttentionOperands.h"
#include "cpu/Blas.h"
#include "cpu/ContractionShapes.h"
#include "cpu/FlashAttention.h"
#include "cpu/Gemm.h"
#include "cpu/KernelUtils.h"
#include "cpu/Kernels.h"
#include "cpu/VectorMath.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace dsrt::cpu {
namespace {

struct SparseProblem {
  int64_t B, Hq, Hkv, S, L, D, Dv, Hi, K;
  const float *q, *k, *v;
  const int64_t *idx; // [B, Hi, S, K]
  float scale;
  bool causal;
  int64_t offset; // query i sees keys j <= i + offset (with causal)
  float *y;
};

/// Row-wise softmax of `scores` [rows, n] in place; returns false for a row
/// made of NaN (left NaN) so the caller can keep NaN in its output.
void softmaxRows(float *scores, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    float *s = scores + r * n;
    float m = vmath::maxOf(s, n);
    double sum = vmath::expShiftedSum(s, s, n, m);
    vmath::scale(s, n, (float)(1.0 / sum));
  }
}

/// Dense lists: a [B, Hi, S, L] keep-mask for the tiled kernel.
void runAsMask(KernelContext &ctx, const SparseProblem &p) {
  std::vector<uint8_t> keep((size_t)(p.B * p.Hi * p.S * p.L), 0);
  for (int64_t row = 0; row < p.B * p.Hi * p.S; ++row)
    for (int64_t e = 0; e < p.K; ++e)
      keep[(size_t)(row * p.L + p.idx[row * p.K + e])] = 1;
  AttentionProblem dense{p.B, p.Hq, p.Hkv, p.S, p.L, p.D, p.Dv, p.q, p.k, p.v};
  dense.maskB = keep.data();
  dense.maskStrides[0] = p.Hi * p.S * p.L;
  dense.maskStrides[1] = p.Hi == 1 ? 0 : p.S * p.L;
  dense.maskStrides[2] = p.L;
  dense.maskStrides[3] = 1;
  dense.scale = p.scale;
  dense.causal = p.causal;
  dense.causalOffset = p.offset;
  dense.y = p.y;
  flashAttention(ctx, dense);
}

Status run(KernelContext &ctx, const SparseProblem &p) {
  const int64_t group = p.Hq / p.Hkv;
  // Checked up front so the parallel loop cannot fail half way.
  for (int64_t e = 0, n = p.B * p.Hi * p.S * p.K; e < n; ++e)
    if (p.idx[e] < 0 || p.idx[e] >= p.L)
      return fail("ds.sparse_attention", "index " + std::to_string(p.idx[e]) +
                                             " is outside the " + std::to_string(p.L) + " keys");
  if (p.S >= 64 && p.K * 16 > p.L && p.B * p.Hi * p.S * p.L <= ((int64_t)1 << 28)) {
    runAsMask(ctx, p);
    return Status();
  }
  // One task per (batch, KV head, query): its heads share the gathered keys
  // when the selection is shared (Hi == 1).
  const bool shared = p.Hi == 1;
  const int64_t tasks = p.B * p.Hkv * p.S;
  parallel(ctx, tasks, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, p.K * p.D)),
           [&](int64_t begin, int64_t end) {
             std::vector<float> keys((size_t)(p.K * p.D)), values((size_t)(p.K * p.Dv));
             std::vector<float> scores((size_t)(group * p.K));
             std::vector<int64_t> picked;
             std::vector<uint8_t> seen((size_t)p.L, 0);
             for (int64_t t = begin; t < end; ++t) {
               const int64_t i = t % p.S, bk = t / p.S, hk = bk % p.Hkv, b = bk / p.Hkv;
               const float *kb = p.k + (b * p.Hkv + hk) * p.L * p.D;
               const float *vb = p.v + (b * p.Hkv + hk) * p.L * p.Dv;
               for (int64_t g0 = 0; g0 < group; g0 += shared ? group : 1) {
                 const int64_t heads = shared ? group : 1, h0 = hk * group + g0;
                 // The keys of this row: listed, distinct, causally visible.
                 distinctVisibleKeys(
                     p.idx + ((b * p.Hi + (shared ? 0 : h0)) * p.S + i) * p.K, p.K,
                     p.causal ? i + p.offset : std::numeric_limits<int64_t>::max(), seen, picked);
                 const int64_t n = (int64_t)picked.size();
                 float *y = p.y + ((b * p.Hq + h0) * p.S + i) * p.Dv;
                 if (n == 0) { // every listed key hidden: 0
                   for (int64_t h = 0; h < heads; ++h)
                     std::fill(y + h * p.S * p.Dv, y + h * p.S * p.Dv + p.Dv, 0.0f);
                   continue;
                 }
                 const float *q = p.q + ((b * p.Hq + h0) * p.S + i) * p.D;
                 if (heads == 1) {
                   // One head: its listed rows are read in place, nothing to share.
                   // Rows are scattered over a cache far larger than the CPU's:
                   // ask for rows a few keys ahead while this one is read.
                   constexpr int64_t kAhead = 8;
                   for (int64_t e = 0; e < n; ++e) {
                     if (e + kAhead < n)
                       for (int64_t c = 0; c < p.D; c += 16)
                         __builtin_prefetch(kb + picked[(size_t)(e + kAhead)] * p.D + c);
                     scores[(size_t)e] =
                         p.scale * vmath::dot(q, kb + picked[(size_t)e] * p.D, p.D);
                   }
                   softmaxRows(scores.data(), 1, n);
                   std::fill(y, y + p.Dv, 0.0f);
                   for (int64_t e = 0; e < n; ++e) {
                     if (e + kAhead < n)
                       for (int64_t c = 0; c < p.Dv; c += 16)
                         __builtin_prefetch(vb + picked[(size_t)(e + kAhead)] * p.Dv + c);
                     vmath::axpy(scores[(size_t)e], vb + picked[(size_t)e] * p.Dv, y, p.Dv);
                   }
                   continue;
                 }
                 for (int64_t e = 0; e < n; ++e) {
                   std::copy_n(kb + picked[(size_t)e] * p.D, p.D, keys.data() + e * p.D);
                   std::copy_n(vb + picked[(size_t)e] * p.Dv, p.Dv, values.data() + e * p.Dv);
                 }
                 // The group's query rows are S * D apart: lda = S * D.
                 blas::sgemm(false, true, (int)heads, (int)n, (int)p.D, p.scale, q,
                             (int)(p.S * p.D), keys.data(), (int)p.D, 0.0f, scores.data(),
                             (int)n);
                 softmaxRows(scores.data(), heads, n);
                 blas::sgemm(false, false, (int)heads, (int)p.Dv, (int)n, 1.0f, scores.data(),
                             (int)n, values.data(), (int)p.Dv, 0.0f, y, (int)(p.S * p.Dv));
               }
             }
           });
  return Status();
}

Status sparseAttentionKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                             const Outputs &out) {
  const char *op = "ds.sparse_attention";
  if (Status s = need(op, in, out, 4, 1); !s)
    return s;
  if (Status s = checkResultShape(op, sparseAttentionShape, attrs, in, *out[0]); !s)
    return s;
  const Tensor &q = *in[0], &k = *in[1], &v = *in[2], &idx = *in[3];
  Tensor &y = *out[0];
  if (k.dtype != q.dtype || v.dtype != q.dtype || y.dtype != q.dtype)
    return fail(op, "query, key, value and result differ in element type");
  if (computeOf(q.dtype) != Compute::F32)
    return fail(op, std::string("unsupported element type ") + dtypeName(q.dtype) +
                        " (f32, f16 and bf16 run in f32)");
  if (idx.dtype != DS_I64)
    return fail(op, "indices must be i64");
  if (!blas::available())
    return fail(op, "needs OpenBLAS, which was not found");
  SparseProblem p{q.shape[0], q.shape[1], k.shape[1], q.shape[2], k.shape[2], q.shape[3],
                  v.shape[3], idx.shape[1], idx.shape[3]};
  p.scale = (float)(attrs.has("scale") ? attrs.getFloat("scale", 0.0)
                                       : 1.0 / std::sqrt((double)std::max<int64_t>(p.D, 1)));
  p.causal = attrs.has("is_causal") && attrs.getInt("is_causal", 1) != 0;
  p.offset = clampedCausalOffset(
      attrs.getInt("causal_offset", 0),
      attrs.has("causal_from_end") && attrs.getInt("causal_from_end", 1) != 0, p.S, p.L);
  if (y.numel() == 0)
    return Status();
  std::vector<float> sq, sk, sv, sy;
  p.q = viewAs<float>(q, sq);
  p.k = viewAs<float>(k, sk);
  p.v = viewAs<float>(v, sv);
  p.idx = idx.as<int64_t>();
  p.y = outputAs<float>(y, sy);
  if (p.K == 0) {
    std::fill(p.y, p.y + y.numel(), 0.0f);
  } else if (Status s = run(ctx, p); !s) {
    return s;
  }
  finishOutput<float>(y, p.y);
  return Status();
}

} // namespace

void registerSparseAttentionKernels(KernelTable &table) {
  table["ds.sparse_attention"] = CpuOp(sparseAttentionKernel, sparseAttentionShape);
}

} // namespace dsrt::cpu
