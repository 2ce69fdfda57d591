//===- SparsifyAttention.cpp - sparse patterns for causal attention -------===//
//
// ds-sparsify-attention sets a sparsity pattern (a sliding window with
// sinks, NSA-style block selection, or a block layout, built from a pattern
// or read from the user's file) on every
// ds.attention it applies to (ModelRewritePasses.td has the semantics) and, on request,
// reports what it saves,
// from the closed forms of the visible (query, key) pairs. Heads the user
// keeps dense are split off into their own ds.attention, so the kernels
// see one pattern per op.
//
//===----------------------------------------------------------------------===//
#include "ds/Dialect/DS/Analysis/BlockLayout.h"
#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Format.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <set>

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

/// One `dense-heads` entry: head H of every attention (`H`) or of the
/// N-th one (`N:H`).
struct DenseHead {
  std::optional<int64_t> attention;
  int64_t head;
};

std::optional<DenseHead> parseDenseHead(StringRef entry) {
  auto [first, rest] = entry.trim().split(':');
  DenseHead parsed;
  int64_t n;
  if (first.getAsInteger(10, n) || n < 0)
    return std::nullopt;
  if (!entry.contains(':')) {
    parsed.head = n;
    return parsed;
  }
  parsed.attention = n;
  if (rest.getAsInteger(10, parsed.head) || parsed.head < 0)
    return std::nullopt;
  return parsed;
}

Value i64Vector(OpBuilder &b, Location loc, ArrayRef<int64_t> values) {
  auto type = RankedTensorType::get({(int64_t)values.size()}, b.getI64Type());
  return b.create<ConstantOp>(loc, DenseElementsAttr::get(type, values));
}

/// `value`'s elements [begin, end) along `axis`.
Value sliceAxis(OpBuilder &b, Location loc, Value value, int64_t axis, int64_t begin, int64_t end) {
  auto type = cast<RankedTensorType>(value.getType());
  if (begin == 0 && end == type.getDimSize(axis))
    return value;
  SmallVector<int64_t> shape(type.getShape());
  shape[axis] = end - begin;
  return b.create<SliceOp>(loc, RankedTensorType::get(shape, type.getElementType()), value,
                           i64Vector(b, loc, {begin}), i64Vector(b, loc, {end}),
                           i64Vector(b, loc, {axis}), i64Vector(b, loc, {1}));
}

/// A run of query heads [begin, end) with one pattern, lying within one KV
/// group or covering whole groups, so that it reads a contiguous range of
/// KV heads with the same grouping.
struct HeadRun {
  int64_t begin, end;
  bool dense;
};

/// Cuts heads [0, hq) into runs by `dense` and at KV-group boundaries
/// (groups of `group` query heads share a KV head).
SmallVector<HeadRun> headRuns(int64_t hq, int64_t group, const std::set<int64_t> &dense) {
  SmallVector<HeadRun> runs;
  for (int64_t a = 0; a < hq;) {
    bool isDense = dense.count(a);
    int64_t b = a + 1;
    while (b < hq && (bool)dense.count(b) == isDense)
      ++b;
    // [a, b) has one pattern; cut it where it would straddle a group.
    while (a < b) {
      int64_t e;
      if (a % group != 0)
        e = std::min(b, (a / group + 1) * group); // the rest of a's group
      else if (b - a >= group)
        e = a + (b - a) / group * group; // whole groups
      else
        e = b; // the start of one group
      runs.push_back({a, e, isDense});
      a = e;
    }
  }
  return runs;
}

struct SparsifyAttentionPass
    : mlir::ds::impl::SparsifyAttentionPassBase<SparsifyAttentionPass> {
  using SparsifyAttentionPassBase::SparsifyAttentionPassBase;

  SmallVector<DenseHead> denseHeadList;
  /// The layout `layout-file` holds (read once, shared by every function).
  std::shared_ptr<const BlockLayout> fileLayout;

  LogicalResult initialize(MLIRContext *context) override {
    for (const std::string &entry : denseHeads) {
      std::optional<DenseHead> parsed = parseDenseHead(entry);
      if (!parsed)
        return emitError(UnknownLoc::get(context))
               << "ds-sparsify-attention: dense-heads entry '" << entry
               << "' is neither a head (H) nor an attention and one of its heads (N:H)";
      denseHeadList.push_back(*parsed);
    }
    if (!layoutFile.empty())
      return readLayoutFile(context);
    if (localBlocks != 0 || strideBlocks != 0 || globalBlocks != 0) {
      if (localBlocks < 0 || strideBlocks < 0 || globalBlocks < 0 || window != 0 ||
          sinks != 0 || selectBlocks != 0 || blockSize < 1 || blockSize > 1024)
        return emitError(UnknownLoc::get(context))
               << "ds-sparsify-attention: local-blocks, stride-blocks and global-blocks must be "
                  ">= 0, without window, sinks or select-blocks, with block-size in [1, 1024] "
                  "(got local "
               << localBlocks.getValue() << ", stride " << strideBlocks.getValue()
               << ", global " << globalBlocks.getValue() << ", block-size "
               << blockSize.getValue() << ")";
      return success();
    }
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

  LogicalResult readLayoutFile(MLIRContext *context) {
    if (window != 0 || sinks != 0 || selectBlocks != 0 || localBlocks != 0 ||
        strideBlocks != 0 || globalBlocks != 0 || blockSize < 1 || blockSize > 1024)
      return emitError(UnknownLoc::get(context))
             << "ds-sparsify-attention: layout-file is a pattern of its own (no window, sinks, "
                "select-blocks, local-, stride- or global-blocks), with block-size in [1, 1024] "
                "(got window "
             << window.getValue() << ", sinks " << sinks.getValue() << ", select-blocks "
             << selectBlocks.getValue() << ", local " << localBlocks.getValue() << ", stride "
             << strideBlocks.getValue() << ", global " << globalBlocks.getValue()
             << ", block-size " << blockSize.getValue() << ")";
    std::string error;
    std::optional<BlockLayout> layout = readBlockLayoutFile(layoutFile, blockSize, error);
    if (!layout)
      return emitError(UnknownLoc::get(context)) << "ds-sparsify-attention: " << error;
    // A split attention's pieces have fewer heads than a layout row per head.
    if (layout->heads > 1 && !denseHeadList.empty())
      return emitError(UnknownLoc::get(context))
             << "ds-sparsify-attention: a layout with a row per head (" << layout->heads
             << " in '" << layoutFile.getValue()
             << "') already says which heads are dense (rows of ones): no dense-heads with it";
    fileLayout = std::make_shared<const BlockLayout>(std::move(*layout));
    return success();
  }

  bool blockLayout() const {
    return localBlocks > 0 || strideBlocks > 0 || globalBlocks > 0 || fileLayout;
  }

  /// The file's layout for `op` (S queries, L keys), or an error naming both
  /// shapes when they differ.
  FailureOr<BlockLayout> fileLayoutFor(AttentionOp op, int64_t S, int64_t L) {
    const BlockLayout &layout = *fileLayout;
    const int64_t hq = cast<RankedTensorType>(op.getQuery().getType()).getDimSize(1);
    if (ShapedType::isDynamic(hq) && layout.heads != 1)
      return op.emitError("the block layout in '")
             << layoutFile.getValue() << "' has a row per head (" << layout.heads
             << "), but this attention's head count is known only at run time";
    const int64_t rows = (S + blockSize - 1) / blockSize, cols = (L + blockSize - 1) / blockSize;
    if (layout.queryBlocks != rows || layout.keyBlocks != cols ||
        (layout.heads != 1 && layout.heads != hq))
      return op.emitError("the block layout in '")
             << layoutFile.getValue() << "' is [" << layout.heads << ", " << layout.queryBlocks
             << ", " << layout.keyBlocks << "] blocks of " << blockSize.getValue()
             << ", but this attention's " << S << " queries and " << L << " keys need ["
             << (layout.heads == 1 ? "1" : "1 or " + std::to_string(hq)) << ", " << rows << ", "
             << cols << "]";
    return layout;
  }

  /// What the report calls the layout.
  std::string layoutName() const {
    std::string name;
    llvm::raw_string_ostream os(name);
    os << "block layout, blocks of " << blockSize.getValue();
    if (fileLayout)
      os << " from '" << layoutFile.getValue() << "'";
    else
      os << " (local " << localBlocks.getValue() << ", stride " << strideBlocks.getValue()
         << ", global " << globalBlocks.getValue() << ")";
    return name;
  }

  /// Replaces `op` by ds.block_sparse_attention with the pattern's layout.
  FailureOr<Value> makeBlockSparse(AttentionOp op) {
    auto q = cast<RankedTensorType>(op.getQuery().getType());
    auto k = cast<RankedTensorType>(op.getKey().getType());
    if (op.getSoftcap().convertToDouble() != 0.0)
      return op.emitError("a block layout does not take a softcap");
    if (q.isDynamicDim(2) || k.isDynamicDim(2)) {
      if (fileLayout)
        return op.emitError("a block layout from a file needs static query and key lengths "
                            "(bind them with --ds-input-shape)");
      return makeRunTimeBlockSparse(op);
    }
    const int64_t S = q.getDimSize(2), L = k.getDimSize(2);
    // The layout is a constant of (S / b) x (L / b) entries: bounded before
    // it is built (a file's was bounded when it was read, and must match).
    auto fits = [&](int64_t b) { return dsrt::layoutFits(S, L, b); };
    if (!fileLayout && !fits(blockSize)) {
      InFlightDiagnostic error = op.emitError("a block layout for ");
      error << S << " queries and " << L << " keys at block-size " << (int64_t)blockSize
            << " has more than " << dsrt::kMaxLayoutBlocks << " blocks; ";
      int64_t smallest = blockSize + 1;
      while (smallest <= 1024 && !fits(smallest))
        ++smallest;
      if (smallest <= 1024)
        error << "the smallest block size that fits is " << smallest;
      else
        error << "no block size up to 1024 fits";
      return error;
    }
    const int64_t offset = op.getCausalOffset() + (op.getCausalFromEnd() ? L - S : 0);
    BlockLayout layout;
    if (fileLayout) {
      FailureOr<BlockLayout> given = fileLayoutFor(op, S, L);
      if (failed(given))
        return failure();
      layout = std::move(*given);
      if (int64_t blind = blindQueryBlocks(layout, S, L, op.getIsCausal(), offset))
        op.emitWarning() << blind << " of " << layout.heads * layout.queryBlocks
                         << " layout rows (head, query block) keep no key their queries can "
                            "see, though they see some without the layout: those queries give 0";
    } else {
      BlockPattern pattern{blockSize, localBlocks, strideBlocks, globalBlocks};
      layout = buildBlockLayout(pattern, S, L, op.getIsCausal(), offset);
    }
    BlockLayout every = layout;
    std::fill(every.kept.begin(), every.kept.end(), 1);
    const double dense = visibleBlockPairs(every, S, L, op.getIsCausal(), offset);
    const double kept = visibleBlockPairs(layout, S, L, op.getIsCausal(), offset);
    if (kept == dense) { // nothing hidden that attention would see
      if (report)
        op.emitRemark() << "left dense: the block layout keeps every visible key";
      return op.getResult();
    }
    OpBuilder b(op);
    Value mask = op.getMask();
    auto sparse = b.create<BlockSparseAttentionOp>(
        op.getLoc(), op.getType(), op.getQuery(), op.getKey(), op.getValue(),
        layoutConstant(b, op.getLoc(), layout), mask, b.getI64IntegerAttr(blockSize),
        op.getScaleAttr(), op.getIsCausalAttr(), op.getCausalOffsetAttr(),
        op.getCausalFromEndAttr());
    if (report) {
      int64_t keptBlocks = llvm::count(layout.kept, 1);
      sparse.emitRemark() << "sparse attention: " << layoutName() << ": " << keptBlocks
                          << " of " << layout.kept.size()
                          << " blocks kept; pairs per head " << (int64_t)dense << " -> "
                          << (int64_t)kept << " ("
                          << formatted("%.1f", dense > 0 ? 100.0 * kept / dense : 100.0) << "%)";
    }
    op.replaceAllUsesWith(sparse.getResult());
    op.erase();
    return sparse.getResult();
  }

  /// Replaces `op`, whose lengths are known only at run time, by
  /// ds.block_sparse_attention over a ds.block_layout of the pattern: the
  /// layout is built once per input shape (nothing is counted here).
  Value makeRunTimeBlockSparse(AttentionOp op) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    // Dims 0-2 of q and k: the lengths are element 2.
    auto lengths = [&](Value v) { return b.create<ShapeOp>(loc, v, 0, 3).getResult(); };
    SmallVector<Value> shapes{lengths(op.getQuery()), lengths(op.getKey())};
    SmallVector<NamedAttribute> attrs{
        b.getNamedAttr("block_size", b.getI64IntegerAttr(blockSize)),
        b.getNamedAttr("local_blocks", b.getI64IntegerAttr(localBlocks)),
        b.getNamedAttr("stride_blocks", b.getI64IntegerAttr(strideBlocks)),
        b.getNamedAttr("global_blocks", b.getI64IntegerAttr(globalBlocks)),
        b.getNamedAttr("causal_offset", op.getCausalOffsetAttr())};
    if (op.getIsCausal())
      attrs.push_back(b.getNamedAttr("is_causal", b.getUnitAttr()));
    if (op.getCausalFromEnd())
      attrs.push_back(b.getNamedAttr("causal_from_end", b.getUnitAttr()));
    Value layout = b.create<BlockLayoutOp>(loc, shapes, attrs).getResult();
    auto sparse = b.create<BlockSparseAttentionOp>(
        loc, op.getType(), op.getQuery(), op.getKey(), op.getValue(), layout, op.getMask(),
        b.getI64IntegerAttr(blockSize), op.getScaleAttr(), op.getIsCausalAttr(),
        op.getCausalOffsetAttr(), op.getCausalFromEndAttr());
    if (report)
      sparse.emitRemark() << "sparse attention: block layout, blocks of " << blockSize.getValue()
                          << " (local " << localBlocks.getValue() << ", stride "
                          << strideBlocks.getValue() << ", global " << globalBlocks.getValue()
                          << "), built at run time for the query and key lengths";
    op.replaceAllUsesWith(sparse.getResult());
    op.erase();
    return sparse.getResult();
  }

  /// Sets the pattern on `op` (and reports its cost); returns what replaces
  /// its result.
  FailureOr<Value> makeSparse(AttentionOp op) {
    Builder b(&getContext());
    if (blockLayout())
      return makeBlockSparse(op);
    if (selectBlocks > 0) {
      op.setSelectBlocksAttr(b.getI64IntegerAttr(selectBlocks));
      op.setBlockSizeAttr(b.getI64IntegerAttr(blockSize));
      if (report)
        op.emitRemark() << "sparse attention: block selection, " << selectBlocks.getValue()
                        << " blocks of " << blockSize.getValue()
                        << " keys chosen per query block, plus the first and the local "
                           "blocks: each query sees at most "
                        << (selectBlocks + 3) * blockSize << " keys";
      return op.getResult();
    }
    op.setWindowAttr(b.getI64IntegerAttr(window));
    op.setSinkTokensAttr(b.getI64IntegerAttr(sinks));
    if (report)
      reportCost(op, window, sinks);
    return op.getResult();
  }

  /// The heads `dense-heads` keeps dense in the index-th attention.
  std::set<int64_t> denseHeadsOf(int64_t index) const {
    std::set<int64_t> heads;
    for (const DenseHead &entry : denseHeadList)
      if (!entry.attention || *entry.attention == index)
        heads.insert(entry.head);
    return heads;
  }

  /// Splits `op` along its query heads into one ds.attention per run of
  /// heads with the same pattern; the sparse runs get the pattern.
  LogicalResult splitHeads(AttentionOp op, const std::set<int64_t> &dense) {
    auto q = cast<RankedTensorType>(op.getQuery().getType());
    auto k = cast<RankedTensorType>(op.getKey().getType());
    int64_t hq = q.getDimSize(1), hkv = k.getDimSize(1);
    auto dim = [](int64_t d) { return ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d); };
    if (ShapedType::isDynamic(hq) || ShapedType::isDynamic(hkv))
      return op.emitError("dense-heads needs static head counts, not ")
             << dim(hq) << " query and " << dim(hkv) << " KV heads";
    if (*dense.rbegin() >= hq)
      return op.emitError("dense-heads names head ")
             << *dense.rbegin() << ", but this attention has " << hq << " query heads";
    // A mask with a head axis is cut with the query heads.
    int64_t maskHeadAxis = -1;
    if (Value mask = op.getMask()) {
      auto m = cast<RankedTensorType>(mask.getType());
      if (m.getRank() >= 3 && m.getDimSize(m.getRank() - 3) != 1) {
        if (m.getDimSize(m.getRank() - 3) != hq)
          return op.emitError("dense-heads needs the mask's head dim to be 1 or ")
                 << hq << ", not " << dim(m.getDimSize(m.getRank() - 3));
        maskHeadAxis = m.getRank() - 3;
      }
    }
    const int64_t group = hq / hkv;
    // Everything goes in front of `op`, in creation order.
    OpBuilder b(op);
    Location loc = op.getLoc();
    SmallVector<Value> pieces;
    for (const HeadRun &run : headRuns(hq, group, dense)) {
      int64_t kvBegin = run.begin / group, kvEnd = (run.end - 1) / group + 1;
      IRMapping operands;
      operands.map(op.getQuery(), sliceAxis(b, loc, op.getQuery(), 1, run.begin, run.end));
      operands.map(op.getKey(), sliceAxis(b, loc, op.getKey(), 1, kvBegin, kvEnd));
      operands.map(op.getValue(), sliceAxis(b, loc, op.getValue(), 1, kvBegin, kvEnd));
      if (maskHeadAxis >= 0)
        operands.map(op.getMask(),
                     sliceAxis(b, loc, op.getMask(), maskHeadAxis, run.begin, run.end));
      auto piece = cast<AttentionOp>(b.clone(*op, operands));
      auto resultType = cast<RankedTensorType>(op.getType());
      SmallVector<int64_t> shape(resultType.getShape());
      shape[1] = run.end - run.begin;
      piece.getResult().setType(RankedTensorType::get(shape, resultType.getElementType()));
      Value result = piece.getResult();
      if (!run.dense) {
        FailureOr<Value> sparse = makeSparse(piece);
        if (failed(sparse))
          return failure();
        result = *sparse;
      }
      pieces.push_back(result);
    }
    Value joined = b.create<ConcatOp>(loc, op.getType(), pieces, 1);
    op.replaceAllUsesWith(joined);
    op.erase();
    return success();
  }

  void runOnOperation() override {
    SmallVector<AttentionOp> ops;
    getOperation().walk([&](AttentionOp op) { ops.push_back(op); });
    for (auto [index, op] : llvm::enumerate(ops)) {
      if (!op.getIsCausal() && !blockLayout()) {
        if (report)
          op.emitRemark() << "left dense: not causal (a sliding window needs a diagonal)";
        continue;
      }
      if (op.getWindow() || op.getSinkTokens() || op.getSelectBlocks()) {
        if (report)
          op.emitRemark() << "left as it is: already sparse (window " << op.getWindow()
                          << ", " << op.getSinkTokens() << " sink keys, "
                          << op.getSelectBlocks() << " selected blocks)";
        continue;
      }
      std::set<int64_t> dense = denseHeadsOf((int64_t)index);
      if (dense.empty()) {
        if (failed(makeSparse(op)))
          return signalPassFailure();
        continue;
      }
      auto q = cast<RankedTensorType>(op.getQuery().getType());
      if ((int64_t)dense.size() == q.getDimSize(1) && *dense.rbegin() < q.getDimSize(1)) {
        if (report)
          op.emitRemark() << "left dense: dense-heads lists every head";
        continue;
      }
      if (report) {
        InFlightDiagnostic remark = op.emitRemark();
        remark << "split by heads: " << dense.size() << " of " << q.getDimSize(1)
               << " query heads stay dense (";
        llvm::interleaveComma(dense, remark);
        remark << ")";
      }
      if (failed(splitHeads(op, dense)))
        return signalPassFailure();
    }
  }
};

} // namespace
