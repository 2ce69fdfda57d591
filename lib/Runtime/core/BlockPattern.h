//===- BlockPattern.h - block layouts of sparse attention, row by row ----===//
//
// Which key blocks each block of queries sees under a local / strided /
// global pattern (Sparse Transformers, Longformer, BigBird): the one
// definition, used by the compiler for lengths known when it compiles (a
// constant layout, ds/Dialect/DS/Analysis/BlockLayout.h) and by the runtime
// for lengths known only when a model runs (ds.block_layout). Plain C++.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CORE_BLOCKPATTERN_H
#define DS_RUNTIME_CORE_BLOCKPATTERN_H

#include <algorithm>
#include <cstdint>
#include <cstdlib>

namespace dsrt {

/// Which key blocks each block of queries sees; blocks of `blockSize`.
/// The most blocks a layout may have (4096 x 4096): ds-sparsify-attention's
/// constant layouts, the attention probes' and ds.block_layout's kernel are
/// bounded by it before they are built.
constexpr int64_t kMaxLayoutBlocks = (int64_t)1 << 24;

/// Whether the layout of S queries and L keys in blocks of b (>= 1) fits
/// under kMaxLayoutBlocks (compared by division: lengths from inputs cannot
/// overflow a product).
inline bool layoutFits(int64_t S, int64_t L, int64_t b) {
  const int64_t rows = (S + b - 1) / b, cols = std::max<int64_t>(1, (L + b - 1) / b);
  return rows <= kMaxLayoutBlocks / cols;
}

struct BlockPattern {
  int64_t blockSize = 64;
  int64_t local = 0;  ///< the `local` key blocks ending at the query block's diagonal
  int64_t stride = 0; ///< every `stride`-th key block counting back from the diagonal
  int64_t global = 0; ///< the first `global` key blocks (and, in encoders, the first
                      ///< `global` query blocks see every key block)
};

/// Row `r` of the layout of `pattern` for S queries: row[c] for the key
/// blocks c < keyBlocks, 1 = kept. Causal attention (query i sees keys
/// j <= i + offset) takes a query block's diagonal from its last row; an
/// encoder's is its own index.
inline void blockPatternRow(const BlockPattern &pattern, int64_t S, bool causal, int64_t offset,
                            int64_t r, int64_t keyBlocks, uint8_t *row) {
  const int64_t b = pattern.blockSize;
  std::fill(row, row + keyBlocks, uint8_t(0));
  // The key blocks holding the diagonals of the block's first and last row.
  int64_t first = r, last = r;
  if (causal) {
    int64_t firstRow = r * b + offset, lastRow = std::min(S - 1, (r + 1) * b - 1) + offset;
    if (lastRow < 0)
      return; // no row sees a key
    first = std::max<int64_t>(0, firstRow) / b;
    last = lastRow / b;
  }
  for (int64_t c = 0; c < keyBlocks; ++c) {
    if (causal && c > last)
      break;
    int64_t distance = causal ? last - c : std::abs(last - c);
    bool kept = c < pattern.global || (!causal && r < pattern.global);
    if (pattern.local > 0)
      kept |= causal ? c >= first - pattern.local + 1 : distance < pattern.local;
    if (pattern.stride > 0)
      kept |= distance % pattern.stride == 0;
    row[c] = kept;
  }
}

} // namespace dsrt

#endif // DS_RUNTIME_CORE_BLOCKPATTERN_H
