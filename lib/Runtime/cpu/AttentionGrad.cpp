//===- AttentionGrad.cpp - ds.attention_grad, attention's fused backward --===//
//
// f32 (and f16 / bf16 through f32) runs the tiled backward of
// cpu/FlashAttentionBackward.cpp; f64, and builds without OpenBLAS, the row
// loop here: one task per (batch, KV head) walks the group's query rows,
// so each gradient element is summed by one task in a fixed order.
//
//===----------------------------------------------------------------------===//
#include "cpu/AttentionOperands.h"
#include "cpu/ContractionShapes.h"
#include "cpu/FlashAttention.h"
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

struct Pattern {
  double scale, softcap;
  bool causal;
  int64_t offset, window, sinks;
  // A block layout (ds.block_sparse_attention_grad): query i of head h sees
  // key j only where layout[h or 0][i / block][j / block].
  const uint8_t *layout = nullptr;
  int64_t layoutHeads = 1, block = 1, queryBlocks = 0, keyBlocks = 0;
  bool layoutHides(int64_t h, int64_t i, int64_t j) const {
    return layout &&
           !layout[((layoutHeads == 1 ? 0 : h) * queryBlocks + i / block) * keyBlocks + j / block];
  }
};

template <typename T>
void runAttentionGrad(KernelContext &ctx, const AttentionShape &sh, const Pattern &pat,
                      const T *q, const T *k, const T *v, const T *o, const T *dout,
                      const T *maskF, const uint8_t *maskB,
                      const std::vector<int64_t> &maskStrides, T *dq, T *dk, T *dv) {
  const int64_t group = sh.Hq / sh.Hkv;
  const T negInf = -std::numeric_limits<T>::infinity();
  parallel(ctx, sh.B * sh.Hkv, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> score((size_t)sh.L), capped((size_t)sh.L);
    for (int64_t bk = begin; bk < end; ++bk) {
      const int64_t b = bk / sh.Hkv, hk = bk % sh.Hkv;
      const T *kb = k + bk * sh.L * sh.D, *vb = v + bk * sh.L * sh.Dv;
      T *dkb = dk + bk * sh.L * sh.D, *dvb = dv + bk * sh.L * sh.Dv;
      std::fill(dkb, dkb + sh.L * sh.D, T(0));
      std::fill(dvb, dvb + sh.L * sh.Dv, T(0));
      for (int64_t h = hk * group; h < (hk + 1) * group; ++h)
        for (int64_t i = 0; i < sh.S; ++i) {
          const int64_t r = (b * sh.Hq + h) * sh.S + i;
          const T *qi = q + r * sh.D, *oi = o + r * sh.Dv, *gi = dout + r * sh.Dv;
          T *dqi = dq + r * sh.D;
          std::fill(dqi, dqi + sh.D, T(0));
          const int64_t maskBase = b * maskStrides[0] + h * maskStrides[1] + i * maskStrides[2];
          T best = negInf;
          bool sawNaN = false;
          for (int64_t j = 0; j < sh.L; ++j) {
            T s = 0;
            for (int64_t d = 0; d < sh.D; ++d)
              s += qi[d] * kb[j * sh.D + d];
            s *= (T)pat.scale;
            if (pat.softcap > 0) {
              capped[(size_t)j] = (T)std::tanh((double)s / pat.softcap);
              s = (T)pat.softcap * capped[(size_t)j];
            }
            const int64_t diagonal = i + pat.offset;
            if (pat.causal && (j > diagonal ||
                               (pat.window > 0 && j <= diagonal - pat.window && j >= pat.sinks)))
              s = negInf;
            if (pat.layoutHides(h, i, j))
              s = negInf;
            const int64_t mo = maskBase + j * maskStrides[3];
            if (maskB && !maskB[mo])
              s = negInf;
            else if (maskF)
              s += maskF[mo];
            score[(size_t)j] = s;
            sawNaN |= std::isnan(s);
            best = std::max(best, s);
          }
          // The forward's 0 or NaN row (every key hidden; a NaN score, or a
          // +inf one from a float mask): no gradient.
          if (!std::isfinite(best) || sawNaN)
            continue;
          T sum = 0;
          for (int64_t j = 0; j < sh.L; ++j) {
            T s = score[(size_t)j];
            score[(size_t)j] = s == negInf ? T(0) : std::exp(s - best);
            sum += score[(size_t)j];
          }
          T delta = 0; // Σ dO·O = Σ P·dP
          for (int64_t d = 0; d < sh.Dv; ++d)
            delta += gi[d] * oi[d];
          for (int64_t j = 0; j < sh.L; ++j) {
            const T pj = score[(size_t)j] / sum;
            if (pj == 0)
              continue;
            T dp = 0;
            for (int64_t d = 0; d < sh.Dv; ++d) {
              dp += gi[d] * vb[j * sh.Dv + d];
              dvb[j * sh.Dv + d] += pj * gi[d];
            }
            T ds = pj * (dp - delta);
            if (pat.softcap > 0)
              ds *= T(1) - capped[(size_t)j] * capped[(size_t)j];
            ds *= (T)pat.scale;
            for (int64_t d = 0; d < sh.D; ++d) {
              dqi[d] += ds * kb[j * sh.D + d];
              dkb[j * sh.D + d] += ds * qi[d];
            }
          }
        }
    }
  });
}

/// The backward of ds.attention, or of ds.block_sparse_attention with its
/// `layout`.
Status runGrad(const char *op, KernelContext &ctx, const Attributes &attrs, const Tensor &q,
               const Tensor &k, const Tensor &v, const Tensor &o, const Tensor &dout,
               const Tensor *mask, const Tensor *layout, const Outputs &out) {
  AttentionShape sh;
  std::vector<int64_t> maskStrides;
  Compute kind;
  if (Status s = checkAttentionOperands(op, q, k, v, mask, o, sh, maskStrides, kind); !s)
    return s;
  if (dout.shape != o.shape || dout.dtype != q.dtype)
    return fail(op, "output_grad " + shapeText(dout.shape) + " must be shaped and typed as the "
                                                             "output " +
                        shapeText(o.shape));
  const Tensor *of[3] = {&q, &k, &v};
  for (int r = 0; r < 3; ++r)
    if (out[r]->shape != of[r]->shape || out[r]->dtype != q.dtype)
      return fail(op, "result " + std::to_string(r) + " must be shaped and typed as operand " +
                          std::to_string(r));
  Pattern pat{attentionScale(attrs, sh), attrs.getFloat("softcap", 0.0),
              attrs.has("is_causal") && attrs.getInt("is_causal", 1) != 0,
              causalOffsetOf(attrs, sh), windowOf(attrs, sh), attrs.getInt("sink_tokens", 0)};
  if (pat.window < 0 || pat.sinks < 0 || ((pat.window || pat.sinks) && !pat.causal))
    return fail(op, "window and sink_tokens must be non-negative and need is_causal");
  if (layout) {
    if (layout->dtype != DS_BOOL)
      return fail(op, std::string("layout must be i1, got ") + dtypeName(layout->dtype));
    pat.layout = layout->as<uint8_t>();
    pat.layoutHeads = layout->shape[0];
    pat.block = attrs.getInt("block_size", 1);
    pat.queryBlocks = layout->shape[1];
    pat.keyBlocks = layout->shape[2];
  }
  auto run = [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> sq, sk, sv, so, sg, sm, dq, dk, dv;
    const T *Q = viewAs<T>(q, sq), *K = viewAs<T>(k, sk), *V = viewAs<T>(v, sv);
    const T *O = viewAs<T>(o, so), *G = viewAs<T>(dout, sg);
    const T *MF = mask && mask->dtype != DS_BOOL ? viewAs<T>(*mask, sm) : nullptr;
    const uint8_t *MB = mask && mask->dtype == DS_BOOL ? mask->as<uint8_t>() : nullptr;
    T *DQ = outputAs<T>(*out[0], dq), *DK = outputAs<T>(*out[1], dk),
      *DV = outputAs<T>(*out[2], dv);
    bool tiled = false;
    if constexpr (std::is_same_v<T, float>) {
      // Head dims of 0 would hand BLAS leading dimensions of 0.
      if (flashAttentionAvailable() && sh.D > 0 && sh.Dv > 0) {
        AttentionGradProblem g{flashProblem(sh, Q, K, V, MF, MB, maskStrides, pat.scale,
                                            pat.causal, pat.offset, nullptr),
                               O, G, DQ, DK, DV};
        g.forward.window = pat.window;
        g.forward.sinks = pat.sinks;
        g.forward.softcap = (float)pat.softcap;
        g.forward.layout = pat.layout;
        g.forward.layoutHeads = pat.layoutHeads;
        g.forward.layoutBlock = pat.block;
        flashAttentionBackward(ctx, g);
        tiled = true;
      }
    }
    if (!tiled)
      runAttentionGrad<T>(ctx, sh, pat, Q, K, V, O, G, MF, MB, maskStrides, DQ, DK, DV);
    finishOutput<T>(*out[0], DQ);
    finishOutput<T>(*out[1], DK);
    finishOutput<T>(*out[2], DV);
  };
  if (out[0]->numel() + out[1]->numel() + out[2]->numel() == 0)
    return Status();
  if (kind == Compute::F32)
    run(float());
  else
    run(double());
  return Status();
}

Status attentionGradKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                           const Outputs &out) {
  const char *op = "ds.attention_grad";
  if (Status s = need(op, in, out, 5, 3); !s)
    return s;
  return runGrad(op, ctx, attrs, *in[0], *in[1], *in[2], *in[3], *in[4],
                 in.size() > 5 ? in[5] : nullptr, nullptr, out);
}

Status blockSparseAttentionGradKernel(KernelContext &ctx, const Attributes &attrs,
                                      const Inputs &in, const Outputs &out) {
  const char *op = "ds.block_sparse_attention_grad";
  if (Status s = need(op, in, out, 6, 3); !s)
    return s;
  // The layout's shape against q, k and block_size.
  Shapes shapes(3);
  if (Status s = blockSparseAttentionGradShape(attrs, in, shapes); !s)
    return s;
  return runGrad(op, ctx, attrs, *in[0], *in[1], *in[2], *in[4], *in[5],
                 in.size() > 6 ? in[6] : nullptr, in[3], out);
}

} // namespace

void registerAttentionGradKernels(KernelTable &table) {
  table["ds.attention_grad"] = CpuOp(attentionGradKernel, attentionGradShape);
  table["ds.block_sparse_attention_grad"] =
      CpuOp(blockSparseAttentionGradKernel, blockSparseAttentionGradShape);
}

} // namespace dsrt::cpu
