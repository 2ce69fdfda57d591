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
  // A static block layout (ds.block_sparse_attention): query i of head h sees
  // key j only where layout[h or 0][i / layoutBlock][j / layoutBlock] != 0;
  // [layoutHeads (1 or Hq), ceil(S / layoutBlock), ceil(L / layoutBlock)].
  const uint8_t *layout = nullptr;
  int64_t layoutHeads = 1, layoutBlock = 0;
  float softcap = 0.0f;
  float *y; // [B, Hq, S, Dv]
};

/// Whether flashAttention can run here (it needs OpenBLAS).
bool flashAttentionAvailable();

/// Same results as the reference loop up to rounding: fully masked rows
/// give 0, NaN scores give a NaN row.
void flashAttention(KernelContext &ctx, const AttentionProblem &p);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_FLASHATTENTION_H
