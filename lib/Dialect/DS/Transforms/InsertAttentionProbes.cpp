//===- InsertAttentionProbes.cpp - attention mass a pattern would keep ----===//
//
// ds-insert-attention-probes returns, per attention and query head, the
// probability mass a sliding window with sinks (or a block layout) would
// keep, so that a run on calibration data can choose which heads stay
// dense. PrecisionPasses.td has the details.
//
//===----------------------------------------------------------------------===//
#include "GradientRules.h"

#include "ds/Dialect/DS/Analysis/BlockLayout.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

#include "ds/Dialect/DS/Transforms/Passes.h"

#include <cmath>

namespace mlir::ds {
#define GEN_PASS_DEF_INSERTATTENTIONPROBESPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::autodiff;

namespace {

/// The most (query, key) pairs a block layout's key mask may hold.
constexpr int64_t kMaxLayoutMaskPairs = (int64_t)1 << 26;

/// Why `op` cannot be measured, or empty.
std::string unmeasurable(AttentionOp op, bool blockLayout, int64_t blockSize) {
  if (!op.getIsCausal() && !blockLayout)
    return "not causal (a sliding window needs a diagonal)";
  if (op.getWindow() || op.getSinkTokens() || op.getSelectBlocks())
    return "already sparse";
  auto q = cast<RankedTensorType>(op.getQuery().getType());
  auto k = cast<RankedTensorType>(op.getKey().getType());
  if (!q.hasStaticShape() || !k.hasStaticShape())
    return "its shapes are not static";
  if (!q.getElementType().isF32() || !k.getElementType().isF32())
    return "not f32";
  if (blockLayout) {
    const int64_t S = q.getDimSize(2), L = k.getDimSize(2);
    if (op.getSoftcap().convertToDouble() != 0.0)
      return "a block layout does not take a softcap";
    if (S > kMaxLayoutMaskPairs / std::max<int64_t>(1, L))
      return "its block layout's key mask would hold more than 2^26 (query, key) pairs";
    // ds-sparsify-attention's limit: a head it could not lay out is not
    // worth measuring.
    if (!dsrt::layoutFits(S, L, blockSize))
      return "its block layout would have more than 2^24 blocks";
  }
  if (Value mask = op.getMask()) {
    Type m = cast<RankedTensorType>(mask.getType()).getElementType();
    if (!m.isInteger(1) && !m.isF32())
      return "its mask is neither boolean nor f32";
  }
  return "";
}

struct InsertAttentionProbesPass
    : ds::impl::InsertAttentionProbesPassBase<InsertAttentionProbesPass> {
  using Base::Base;

  /// Any layout option set (negative ones too, so that they are refused
  /// as ds-sparsify-attention refuses them).
  bool blockLayout() const { return localBlocks != 0 || strideBlocks != 0 || globalBlocks != 0; }

  /// The i1 [S, L] mask of the keys the pattern keeps for each query.
  Value keptKeys(GradBuilder &g, AttentionOp op, int64_t queries, int64_t keys, int64_t offset) {
    if (!blockLayout())
      return visibleKeys(g, queries, keys, offset, window, sinks);
    BlockPattern pattern{blockSize, localBlocks, strideBlocks, globalBlocks};
    BlockLayout layout = buildBlockLayout(pattern, queries, keys, op.getIsCausal(), offset);
    SmallVector<bool> kept((size_t)(queries * keys));
    for (int64_t i = 0; i < queries; ++i)
      for (int64_t j = 0; j < keys; ++j)
        kept[(size_t)(i * keys + j)] = layout.at(0, i / blockSize, j / blockSize);
    OpBuilder &b = g.getBuilder();
    auto type = RankedTensorType::get({queries, keys}, b.getI1Type());
    return b.create<ConstantOp>(op.getLoc(), DenseElementsAttr::get(type, ArrayRef<bool>(kept)));
  }

  /// [2, Hq]: the mass inside the pattern and the whole mass, summed over
  /// batch and queries.
  Value probe(OpBuilder &b, AttentionOp op) {
    GradBuilder g(b, op.getLoc());
    Value q = op.getQuery(), mask = op.getMask();
    auto qt = cast<RankedTensorType>(q.getType());
    auto kt = cast<RankedTensorType>(op.getKey().getType());
    const int64_t heads = qt.getDimSize(1), queries = qt.getDimSize(2), keys = kt.getDimSize(2);
    const double scale = op.getScale() ? op.getScale()->convertToDouble()
                                       : 1.0 / std::sqrt((double)qt.getDimSize(3));
    const int64_t offset = op.getCausalOffset() + (op.getCausalFromEnd() ? keys - queries : 0);
    auto hide = [&](Value scores) -> Value {
      scores = applyAttentionMask(g, scores, mask);
      if (!op.getIsCausal())
        return scores;
      return b.create<SelectOp>(op.getLoc(), visibleKeys(g, queries, keys, offset, 0, 0), scores,
                                g.scalar(-INFINITY, scores))
          .getResult();
    };
    Value p = denseProbabilities(g, q, repeatHeads(g, op.getKey(), heads), scale,
                                 op.getSoftcapAttr().getValueAsDouble(), hide)
                  .p;
    Value kept = b.create<SelectOp>(op.getLoc(), keptKeys(g, op, queries, keys, offset), p,
                                    g.scalar(0.0, p));
    // Sums over batch, queries and keys: [Hq] each, then stacked.
    Value inside = g.reshape(g.sum(kept, {0, 2, 3}, false), {1, heads});
    Value whole = g.reshape(g.sum(p, {0, 2, 3}, false), {1, heads});
    auto type = RankedTensorType::get({2, heads}, b.getF32Type());
    return b.create<ConcatOp>(op.getLoc(), type, ValueRange{inside, whole}, 0);
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    if (blockLayout()) {
      if (window != 0 || sinks != 0 || localBlocks < 0 || strideBlocks < 0 ||
          globalBlocks < 0 || blockSize < 1 || blockSize > 1024) {
        func.emitError("ds-insert-attention-probes: a block layout takes local-blocks, "
                       "stride-blocks and global-blocks >= 0 and block-size in [1, 1024], "
                       "without window or sinks");
        return signalPassFailure();
      }
    } else if (window <= 0) {
      func.emitError("ds-insert-attention-probes needs window > 0 or a block layout "
                     "(local-blocks, stride-blocks, global-blocks): the pattern to measure");
      return signalPassFailure();
    } else if (sinks < 0) {
      func.emitError("ds-insert-attention-probes: sinks must be >= 0");
      return signalPassFailure();
    }
    SmallVector<AttentionOp> ops;
    func.walk([&](AttentionOp op) { ops.push_back(op); });
    auto returnOp = cast<func::ReturnOp>(func.getBody().back().getTerminator());
    OpBuilder b(returnOp);
    for (auto [index, op] : llvm::enumerate(ops)) {
      if (std::string why = unmeasurable(op, blockLayout(), blockSize); !why.empty()) {
        op.emitRemark() << "attention " << index << " not measured: " << why;
        continue;
      }
      b.setInsertionPointAfter(op);
      Value mass = probe(b, op);
      unsigned result = func.getNumResults();
      func.insertResult(result, mass.getType(),
                        b.getDictionaryAttr(b.getNamedAttr(
                            "ds.name", b.getStringAttr("ds.attention-probe:" +
                                                       std::to_string(index)))));
      returnOp->insertOperands(returnOp->getNumOperands(), mass);
    }
  }
};

} // namespace
