//===- BlockLayout.cpp - block layouts of sparse attention ----------------===//
#include "ds/Dialect/DS/Analysis/BlockLayout.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <algorithm>
#include <cstdlib>

using namespace mlir;
using namespace mlir::ds;

BlockLayout mlir::ds::buildBlockLayout(const BlockPattern &pattern, int64_t S, int64_t L,
                                       bool causal, int64_t offset) {
  const int64_t b = pattern.blockSize;
  BlockLayout layout;
  layout.blockSize = b;
  layout.queryBlocks = (S + b - 1) / b;
  layout.keyBlocks = (L + b - 1) / b;
  layout.kept.assign((size_t)(layout.queryBlocks * layout.keyBlocks), 0);
  for (int64_t r = 0; r < layout.queryBlocks; ++r)
    dsrt::blockPatternRow(pattern, S, causal, offset, r, layout.keyBlocks,
                          layout.kept.data() + r * layout.keyBlocks);
  return layout;
}

/// sum over x in [from, to) of clamp(x, 0, w).
static double clampedSum(int64_t from, int64_t to, int64_t w) {
  auto upTo = [w](int64_t x) { // sum over t in [0, x) of clamp(t, 0, w), x >= 0
    int64_t ramp = std::min(x, w + 1); // t = 0 .. w contribute t
    return (double)ramp * (double)(ramp - 1) / 2 + (double)std::max<int64_t>(0, x - w - 1) * w;
  };
  return upTo(std::max<int64_t>(to, 0)) - upTo(std::max<int64_t>(from, 0));
}

double mlir::ds::visibleBlockPairs(const BlockLayout &layout, int64_t S, int64_t L, bool causal,
                                   int64_t offset) {
  const int64_t b = layout.blockSize;
  double pairs = 0;
  // Per kept (query block, key block): row i sees keys [lo, min(hi, i + offset + 1))
  // of the block's [lo, hi) under causality, all of them otherwise.
  for (int64_t h = 0; h < layout.heads; ++h)
    for (int64_t r = 0; r < layout.queryBlocks; ++r) {
      const int64_t first = r * b, last = std::min(S, first + b); // rows [first, last)
      for (int64_t c = 0; c < layout.keyBlocks; ++c) {
        if (!layout.at(h, r, c))
          continue;
        const int64_t lo = c * b, hi = std::min(L, lo + b);
        pairs += causal ? clampedSum(first + offset + 1 - lo, last + offset + 1 - lo, hi - lo)
                        : (double)(last - first) * (double)(hi - lo);
      }
    }
  return pairs / (double)layout.heads;
}

std::optional<BlockLayout> mlir::ds::constantLayout(Value value, int64_t blockSize) {
  auto constant = value.getDefiningOp<ConstantOp>();
  auto type = cast<RankedTensorType>(value.getType());
  if (!constant || !type.hasStaticShape() || type.getRank() != 3)
    return std::nullopt;
  auto values = dyn_cast<DenseElementsAttr>(constant.getValue());
  if (!values)
    return std::nullopt;
  BlockLayout layout;
  layout.heads = type.getDimSize(0);
  layout.queryBlocks = type.getDimSize(1);
  layout.keyBlocks = type.getDimSize(2);
  layout.blockSize = blockSize;
  for (bool kept : values.getValues<bool>())
    layout.kept.push_back(kept);
  return layout;
}

Value mlir::ds::layoutConstant(OpBuilder &b, Location loc, const BlockLayout &layout) {
  auto type = RankedTensorType::get({layout.heads, layout.queryBlocks, layout.keyBlocks},
                                    b.getI1Type());
  SmallVector<bool> values(layout.kept.begin(), layout.kept.end());
  return b.create<ConstantOp>(loc, DenseElementsAttr::get(type, ArrayRef<bool>(values)));
}
