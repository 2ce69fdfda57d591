//===- FlashAttention.h - tiled attention with an online softmax -*- C++ -*-===//
//
// ds.attention in f32 without materializing the [S, L] scores: each task
// takes a tile of queries of one head, walks the keys in tiles (two GEMMs
// per tile through OpenBLAS), and keeps a running maximum and sum per query
// (the online softmax of FlashAttention, Dao et al. 2022). Key tiles a
// causal mask, a sliding window or its sink keys hide entirely are never
// computed: a window of W keys costs O(S W), not O(S L); so are the key
// blocks a block layout hides.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_FLASHATTENTION_H
#define DS_RUNTIME_CPU_FLASHATTENTION_H

#include "cpu/Kernels.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace dsrt::cpu {

struct AttentionProblem {
  int64_t B, Hq, Hkv, S, L, D, Dv;
  const float *q, *k, *v; // [B, Hq, S, D], [B, Hkv, L, D], [B, Hkv, L, Dv]
  const float *maskF = nullptr;   // added to the scores, or
  const uint8_t *maskB = nullptr; // false hides the key
  int64_t maskStrides[4] = {0, 0, 0, 0}; // broadcast to [B, Hq, S, L]
  float scale = 1.0f;
  bool causal = false;
  int64_t causalOffset = 0; // query i sees keys j <= d(i) = i + causalOffset
  int64_t window = 0;       // > 0: only keys d(i) - window < j <= d(i) ...
  int64_t sinks = 0;        // ... and keys j < sinks (causal only)
  int64_t selectBlocks = 0; // > 0: NSA-style block selection (causal only) ...
  int64_t blockSize = 0;    // ... over blocks of this many queries / keys (<= 128)
  // A block layout (ds.block_sparse_attention): query i of head h sees
  // key j only where layout[h or 0][i / layoutBlock][j / layoutBlock] != 0;
  // [layoutHeads (1 or Hq), ceil(S / layoutBlock), ceil(L / layoutBlock)].
  const uint8_t *layout = nullptr;
  int64_t layoutHeads = 1, layoutBlock = 0;
  float softcap = 0.0f;
  float *y; // [B, Hq, S, Dv]
};

/// The backward of an attention (ds.attention_grad): y is the forward's
/// result, dy its gradient; dq, dk, dv receive the gradients.
struct AttentionGradProblem {
  AttentionProblem forward; // no block selection; its y unused
  const float *y, *dy;      // [B, Hq, S, Dv]
  float *dq, *dk, *dv;      // shaped as q, k, v
};

/// Key ranges [begin, end) a tile of queries [i0, i1) may see under
/// causality and a window (one or two ranges; all keys otherwise).
using KeyRanges = std::vector<std::pair<int64_t, int64_t>>;
void visibleKeyRanges(const AttentionProblem &p, int64_t i0, int64_t i1, KeyRanges &ranges);

/// Applies the mask, causality and the window to the scores `sr` of query
/// i (head h, batch b) against keys [k0, k0 + cols): hidden ones become
/// -inf, a float mask is added. A softcap is the caller's (it comes first).
void hideRowScores(const AttentionProblem &p, int64_t b, int64_t h, int64_t i, int64_t k0,
                   int64_t cols, float *sr);

/// The key blocks a block layout keeps for any query block of the tile
/// [i0, i1) of head h, up to the causal end, as ranges of keys.
void layoutRanges(const AttentionProblem &p, int64_t h, int64_t i0, int64_t i1, KeyRanges &ranges);

/// Hides (-inf) the scores of query i of head h against keys [k0, k0 +
/// cols) in the key blocks its row of the layout drops.
void hideRowLayout(const AttentionProblem &p, int64_t h, int64_t i, int64_t k0, int64_t cols,
                   float *sr);

/// Whether flashAttention can run here (it needs OpenBLAS).
bool flashAttentionAvailable();

/// Same results as the reference loop up to rounding: fully masked rows
/// give 0, NaN scores give a NaN row.
void flashAttention(KernelContext &ctx, const AttentionProblem &p);

/// Gradients tile by tile, the probabilities recomputed from q and k and
/// never held whole (FlashAttention-2's backward, Dao 2023): per query tile
/// the rows' log-sum-exp, then dQ; per key tile dK and dV over the query
/// tiles that see it. Each result element is summed by one task in a fixed
/// order, so results do not depend on the thread count.
void flashAttentionBackward(KernelContext &ctx, const AttentionGradProblem &p);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_FLASHATTENTION_H
