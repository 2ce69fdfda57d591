//===- BlockLayout.h - block layouts of sparse attention --------*- C++ -*-===//
//
// The block layouts of ds.block_sparse_attention: built from a pattern
// (local, strided and global blocks, as Sparse Transformers, Longformer and
// BigBird define them), read from a constant, and counted: the (query, key)
// pairs a layout leaves visible, for the cost model and the reports.
//
//===----------------------------------------------------------------------===//
#ifndef DS_DIALECT_DS_ANALYSIS_BLOCKLAYOUT_H
#define DS_DIALECT_DS_ANALYSIS_BLOCKLAYOUT_H

#include "core/BlockPattern.h"
#include "ds/Dialect/DS/IR/DSOps.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::ds {

/// Which key blocks each block of queries sees (the runtime's definition,
/// shared with ds.block_layout's kernel).
using BlockPattern = dsrt::BlockPattern;

/// A layout: heads (1 or Hq) x query blocks x key blocks, row-major, 1 = kept.
struct BlockLayout {
  int64_t heads = 1, queryBlocks = 0, keyBlocks = 0, blockSize = 0;
  std::vector<uint8_t> kept;
  bool at(int64_t h, int64_t r, int64_t c) const {
    return kept[(size_t)(((heads == 1 ? 0 : h) * queryBlocks + r) * keyBlocks + c)] != 0;
  }
};

/// The layout of `pattern` for S queries and L keys. Causal attention (query
/// i sees keys j <= i + offset) takes a query block's diagonal from its last
/// row; an encoder's is its own index.
BlockLayout buildBlockLayout(const BlockPattern &pattern, int64_t S, int64_t L, bool causal,
                             int64_t offset);

/// The (query, key) pairs per head that causality and `layout` leave
/// visible, averaged over the layout's heads.
double visibleBlockPairs(const BlockLayout &layout, int64_t S, int64_t L, bool causal,
                         int64_t offset);

/// The (head, query block) rows of `layout` that keep no key a query of
/// theirs can see, though attention without the layout would show them
/// some: their queries attend to nothing and give 0.
int64_t blindQueryBlocks(const BlockLayout &layout, int64_t S, int64_t L, bool causal,
                         int64_t offset);

/// The layout a user gives in a .npy file: [query blocks, key blocks] (every
/// head) or [heads, query blocks, key blocks] of bools or integers 0 / 1,
/// for blocks of `blockSize`. At most kMaxLayoutBlocks blocks in all (the
/// bound of a built layout). std::nullopt with `error` saying why (the
/// path, the dtype, the shape or the first value that is not 0 or 1).
std::optional<BlockLayout> readBlockLayoutFile(const std::string &path, int64_t blockSize,
                                               std::string &error);

/// The layout `value` (blocks of `blockSize`) holds when it is a constant.
std::optional<BlockLayout> constantLayout(Value value, int64_t blockSize);
/// The layout of `op` when it is a constant.
inline std::optional<BlockLayout> constantLayout(BlockSparseAttentionOp op) {
  return constantLayout(op.getLayout(), (int64_t)op.getBlockSize());
}

/// The i1 constant [heads, query blocks, key blocks] holding `layout`.
Value layoutConstant(OpBuilder &b, Location loc, const BlockLayout &layout);

} // namespace mlir::ds

#endif // DS_DIALECT_DS_ANALYSIS_BLOCKLAYOUT_H
