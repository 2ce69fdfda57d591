//===- BlockLayout.cpp - block layouts of sparse attention ----------------===//
#include "ds/Dialect/DS/Analysis/BlockLayout.h"
#include "ds/TensorFiles/NpyReader.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

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

/// The (query, key) pairs row r of head h keeps visible: per kept key block
/// [lo, hi), row i sees keys [lo, min(hi, i + offset + 1)) under causality,
/// all of them otherwise.
static double rowPairs(const BlockLayout &layout, int64_t h, int64_t r, int64_t S, int64_t L,
                       bool causal, int64_t offset) {
  const int64_t b = layout.blockSize;
  const int64_t first = r * b, last = std::min(S, first + b); // rows [first, last)
  double pairs = 0;
  for (int64_t c = 0; c < layout.keyBlocks; ++c) {
    if (!layout.at(h, r, c))
      continue;
    const int64_t lo = c * b, hi = std::min(L, lo + b);
    pairs += causal ? clampedSum(first + offset + 1 - lo, last + offset + 1 - lo, hi - lo)
                    : (double)(last - first) * (double)(hi - lo);
  }
  return pairs;
}

double mlir::ds::visibleBlockPairs(const BlockLayout &layout, int64_t S, int64_t L, bool causal,
                                   int64_t offset) {
  double pairs = 0;
  for (int64_t h = 0; h < layout.heads; ++h)
    for (int64_t r = 0; r < layout.queryBlocks; ++r)
      pairs += rowPairs(layout, h, r, S, L, causal, offset);
  return pairs / (double)layout.heads;
}

int64_t mlir::ds::blindQueryBlocks(const BlockLayout &layout, int64_t S, int64_t L, bool causal,
                                   int64_t offset) {
  BlockLayout every = layout;
  every.heads = 1;
  every.kept.assign((size_t)(layout.queryBlocks * layout.keyBlocks), 1);
  int64_t blind = 0;
  for (int64_t h = 0; h < layout.heads; ++h)
    for (int64_t r = 0; r < layout.queryBlocks; ++r)
      blind += rowPairs(layout, h, r, S, L, causal, offset) == 0 &&
               rowPairs(every, 0, r, S, L, causal, offset) > 0;
  return blind;
}

std::optional<BlockLayout> mlir::ds::readBlockLayoutFile(const std::string &path,
                                                         int64_t blockSize, std::string &error) {
  dsrun::HostTensor t;
  if (!dsrun::readNpy(path, t, error, (uint64_t)dsrt::kMaxLayoutBlocks))
    return std::nullopt;
  auto fail = [&](const std::string &why) {
    error = "'" + path + "': " + why;
    return std::nullopt;
  };
  const dsrun::NpyDescr *descr = dsrun::npyDescrOf(t.dtype);
  if (!descr || descr->kind == 'f')
    return fail("a block layout holds bools or integers 0 / 1, not floats");
  if (t.dims.size() != 2 && t.dims.size() != 3)
    return fail("a block layout is [query blocks, key blocks] or [heads, query blocks, key "
                "blocks], not " + dsrun::npyShapeText(t.dims));
  BlockLayout layout;
  layout.blockSize = blockSize;
  layout.heads = t.dims.size() == 3 ? t.dims[0] : 1;
  layout.queryBlocks = t.dims[t.dims.size() - 2];
  layout.keyBlocks = t.dims.back();
  if (layout.heads < 1 || layout.queryBlocks < 1 || layout.keyBlocks < 1)
    return fail("a block layout has no empty dim, not " + dsrun::npyShapeText(t.dims));
  if (layout.queryBlocks > dsrt::kMaxLayoutBlocks / layout.keyBlocks ||
      layout.heads > dsrt::kMaxLayoutBlocks / (layout.queryBlocks * layout.keyBlocks))
    return fail("a block layout of " + dsrun::npyShapeText(t.dims) + " has more than " +
                std::to_string(dsrt::kMaxLayoutBlocks) + " blocks");
  const size_t count = (size_t)(layout.heads * layout.queryBlocks * layout.keyBlocks);
  layout.kept.resize(count);
  for (size_t i = 0; i < count; ++i) {
    // Integers of any width in the host's order (readNpy swapped them).
    const unsigned char *at = t.data.data() + i * descr->size;
    std::string value;
    if (descr->kind == 'i') {
      int64_t v = 0;
      switch (descr->size) {
      case 1: { int8_t x; std::memcpy(&x, at, 1); v = x; break; }
      case 2: { int16_t x; std::memcpy(&x, at, 2); v = x; break; }
      case 4: { int32_t x; std::memcpy(&x, at, 4); v = x; break; }
      default: std::memcpy(&v, at, 8);
      }
      if (v != 0 && v != 1)
        value = std::to_string(v);
      layout.kept[i] = v == 1;
    } else { // 'u' and 'b'
      uint64_t v = 0;
      std::memcpy(&v, at, descr->size); // little-endian host
      if (v > 1)
        value = std::to_string(v);
      layout.kept[i] = v == 1;
    }
    if (!value.empty())
      return fail("element " + std::to_string(i) + " is " + value +
                  "; a block layout holds 0 (hidden) or 1 (kept)");
  }
  return layout;
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
