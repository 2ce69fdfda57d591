//===- SparsifyAttention.cpp - sliding window + sinks for causal attention -===//
//
// ds-sparsify-attention sets a static sparsity pattern on every causal
// ds.attention (Passes.td has the semantics) and, on request, reports what
// it saves, from the closed forms of the visible (query, key) pairs.
//
//===----------------------------------------------------------------------===//
#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/Format.h"

#include <algorithm>

namespace mlir::ds {
#define GEN_PASS_DEF_SPARSIFYATTENTIONPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

namespace {

/// Keys query i sees: j <= d(i) = i + offset, and with a window W > 0 only
/// d(i) - W < j, plus the sinks j < N.
int64_t visibleKeys(int64_t i, int64_t offset, int64_t L, int64_t window, int64_t sinks) {
  int64_t last = std::min(i + offset, L - 1); // d(i), clamped to the keys
  if (last < 0)
    return 0;
  if (window <= 0)
    return last + 1;
  int64_t first = std::max<int64_t>(0, i + offset - window + 1);
  if (first > last)
    return std::min(sinks, last + 1);
  return last - first + 1 + std::min(sinks, first);
}

std::string formatted(const char *fmt, double x) {
  std::string s;
  llvm::raw_string_ostream(s) << llvm::format(fmt, x);
  return s;
}

void reportCost(AttentionOp op, int64_t window, int64_t sinks) {
  auto q = cast<RankedTensorType>(op.getQuery().getType());
  auto k = cast<RankedTensorType>(op.getKey().getType());
  auto v = cast<RankedTensorType>(op.getValue().getType());
  int64_t D = q.getDimSize(3), Dv = v.getDimSize(3);
  unsigned bytes = (q.getElementTypeBitWidth() + 7) / 8;
  int64_t perQueryBytes = (window + sinks) * (D + Dv) * bytes;
  InFlightDiagnostic remark = op.emitRemark();
  remark << "sparse attention: window " << window << " + " << sinks << " sink keys";
  if (!q.hasStaticShape() || !k.hasStaticShape() || ShapedType::isDynamic(Dv)) {
    remark << "; each query reads at most " << window + sinks << " keys (" << perQueryBytes
           << " bytes of K and V) instead of all keys up to its diagonal";
    return;
  }
  int64_t B = q.getDimSize(0), H = q.getDimSize(1), S = q.getDimSize(2), L = k.getDimSize(2);
  int64_t offset = op.getCausalOffset() + (op.getCausalFromEnd() ? L - S : 0);
  double dense = 0, sparse = 0;
  for (int64_t i = 0; i < S; ++i) {
    dense += visibleKeys(i, offset, L, 0, 0);
    sparse += visibleKeys(i, offset, L, window, sinks);
  }
  double flopsPerPair = 2.0 * (D + Dv) * B * H;
  remark << "; pairs per head " << (int64_t)dense << " -> " << (int64_t)sparse << ", "
         << formatted("%.3g", dense * flopsPerPair / 1e9) << " -> " << formatted("%.3g", sparse * flopsPerPair / 1e9) << " GFLOP ("
         << formatted("%.1f", dense > 0 ? 100.0 * sparse / dense : 100.0)
         << "%); K and V read per query at most " << std::min(window + sinks, L) * (D + Dv) * bytes
         << " bytes instead of " << L * (D + Dv) * bytes;
}

struct SparsifyAttentionPass
    : mlir::ds::impl::SparsifyAttentionPassBase<SparsifyAttentionPass> {
  using SparsifyAttentionPassBase::SparsifyAttentionPassBase;

  LogicalResult initialize(MLIRContext *context) override {
    if (selectBlocks != 0) {
      if (selectBlocks < 0 || window != 0 || sinks != 0 || blockSize < 1 || blockSize > 128)
        return emitError(UnknownLoc::get(context))
               << "ds-sparsify-attention: select-blocks must be > 0, without window or sinks, "
                  "with block-size in [1, 128] (got select-blocks "
               << selectBlocks.getValue() << ", block-size " << blockSize.getValue() << ")";
      return success();
    }
    if (window <= 0 || sinks < 0)
      return emitError(UnknownLoc::get(context))
             << "ds-sparsify-attention: window must be > 0 and sinks >= 0 (got window "
             << window.getValue() << ", sinks " << sinks.getValue() << ")";
    return success();
  }

  void runOnOperation() override {
    Builder b(&getContext());
    getOperation().walk([&](AttentionOp op) {
      if (!op.getIsCausal()) {
        if (report)
          op.emitRemark() << "left dense: not causal (a sliding window needs a diagonal)";
        return;
      }
      if (op.getWindow() || op.getSinkTokens() || op.getSelectBlocks()) {
        if (report)
          op.emitRemark() << "left as it is: already sparse (window " << op.getWindow()
                          << ", " << op.getSinkTokens() << " sink keys, "
                          << op.getSelectBlocks() << " selected blocks)";
        return;
      }
      if (selectBlocks > 0) {
        op.setSelectBlocksAttr(b.getI64IntegerAttr(selectBlocks));
        op.setBlockSizeAttr(b.getI64IntegerAttr(blockSize));
        if (report)
          op.emitRemark() << "sparse attention: block selection, " << selectBlocks.getValue()
                          << " blocks of " << blockSize.getValue()
                          << " keys chosen per query block, plus the first and the local "
                             "blocks: each query sees at most "
                          << (selectBlocks + 3) * blockSize << " keys";
        return;
      }
      op.setWindowAttr(b.getI64IntegerAttr(window));
      op.setSinkTokensAttr(b.getI64IntegerAttr(sinks));
      if (report)
        reportCost(op, window, sinks);
    });
  }
};

} // namespace
