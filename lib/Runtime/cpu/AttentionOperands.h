//===- AttentionOperands.h - what the attention kernels share ---*- C++ -*-===//
//
// The operand checks and attribute readings of ds.attention, which its
// backward (ds.attention_grad) and the block-sparse kernel repeat.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_ATTENTIONOPERANDS_H
#define DS_RUNTIME_CPU_ATTENTIONOPERANDS_H

#include "cpu/FlashAttention.h"
#include "cpu/Gemm.h"
#include "cpu/Kernels.h"

#include <cstdint>
#include <vector>

namespace dsrt::cpu {

struct AttentionShape {
  int64_t B, Hq, Hkv, S, L, D, Dv;
};

/// Checks an attention's q, k, v, optional mask and result; gives the sizes,
/// the mask's strides broadcast to [B, Hq, S, L] and the compute type.
Status checkAttentionOperands(const char *op, const Tensor &q, const Tensor &k, const Tensor &v,
                              const Tensor *mask, const Tensor &y, AttentionShape &sh,
                              std::vector<int64_t> &maskStrides, Compute &kind);

/// The tiled kernel's problem for f32 operands: sizes, mask, scale and
/// causality; the sparse patterns are the caller's to add.
AttentionProblem flashProblem(const AttentionShape &sh, const float *q, const float *k,
                              const float *v, const float *maskF, const uint8_t *maskB,
                              const std::vector<int64_t> &maskStrides, double scale, bool causal,
                              int64_t causalOffset, float *y);

/// `scale`, or 1/sqrt(D).
double attentionScale(const Attributes &attrs, const AttentionShape &sh);

/// The diagonal's offset and the window as the kernels take them: query i
/// sees keys d(i) - window < j <= d(i), d(i) = i + offset (+ L - S when
/// counted from the end), no lower bound without a window. Brought into
/// offset in [-(S + 1), L + 1] and window <= S + L + 2 with every row's keys
/// unchanged (an offset past the keys moves the window's start with it).
struct CausalWindow {
  int64_t offset = 0, window = 0;
};
CausalWindow causalWindow(int64_t offset, bool fromEnd, int64_t S, int64_t L, int64_t window);
/// The offset alone, for attention without a window.
int64_t clampedCausalOffset(int64_t offset, bool fromEnd, int64_t S, int64_t L);
/// causalWindow's offset and window from an attention's attributes.
int64_t causalOffsetOf(const Attributes &attrs, const AttentionShape &sh);
int64_t windowOf(const Attributes &attrs, const AttentionShape &sh);

/// The distinct keys of one key list (`count` indices, checked in [0, L))
/// at or before `lastVisible`, in list order, into `picked`; `seen` (L
/// entries) is all zero before and after. ds.sparse_attention's and its
/// backward's reading of a list.
inline void distinctVisibleKeys(const int64_t *list, int64_t count, int64_t lastVisible,
                                std::vector<uint8_t> &seen, std::vector<int64_t> &picked) {
  picked.clear();
  for (int64_t e = 0; e < count; ++e) {
    const int64_t j = list[e];
    if (seen[(size_t)j] || j > lastVisible)
      continue;
    seen[(size_t)j] = 1;
    picked.push_back(j);
  }
  for (int64_t j : picked)
    seen[(size_t)j] = 0;
}

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_ATTENTIONOPERANDS_H
