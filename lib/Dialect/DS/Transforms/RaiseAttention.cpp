//===- RaiseAttention.cpp - exported attention subgraphs to ds.attention --===//
//
// ds-raise-attention finds softmax(QKᵀ·scale + mask)·V as exporters write it
// (ModelRewritePasses.td lists the forms) and replaces it with one ds.attention, so the
// scores are never materialized and causal tiles can be skipped. Sizes that
// are only known at run time are compared with SymbolicDims: a causal mask
// built from Range ops is recognised only when its ranges provably span the
// queries and the keys. The mask recognisers live in AttentionMasks.cpp.
//
//===----------------------------------------------------------------------===//
#include "AttentionMatcher.h"
#include "ds/Dialect/DS/Transforms/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>
#include <cstring>
#include <optional>
#include <string>

namespace mlir::ds {
#define GEN_PASS_DEF_RAISEATTENTIONPASS
#include "ds/Dialect/DS/Transforms/Passes.h.inc"
} // namespace mlir::ds

using namespace mlir;
using namespace mlir::ds;

using namespace mlir::ds::attention_raising;

namespace mlir::ds::attention_raising {

/// v = matmul(...) possibly scaled by scalar constants.
bool AttentionMatcher::reachesScores(Value v) const {
  for (int step = 0; step < 4; ++step) {
    if (v.getDefiningOp<MatMulOp>())
      return true;
    auto b = v.getDefiningOp<BinaryOp>();
    if (!b || (b.getKind() != BinaryKind::mul && b.getKind() != BinaryKind::div))
      return false;
    if (scalarConstant(b.getRhs()))
      v = b.getLhs();
    else if (b.getKind() == BinaryKind::mul && scalarConstant(b.getLhs()))
      v = b.getRhs();
    else
      return false;
  }
  return false;
}

/// Strips multiplications and divisions by scalar constants, folding them
/// into `scale`.
Value AttentionMatcher::peelScale(Value v, double &scale) const {
  while (auto b = v.getDefiningOp<BinaryOp>()) {
    std::optional<double> c;
    Value rest;
    if ((c = scalarConstant(b.getRhs())))
      rest = b.getLhs();
    else if (b.getKind() == BinaryKind::mul && (c = scalarConstant(b.getLhs())))
      rest = b.getRhs();
    if (!c || !rankedOf(rest) || rankedOf(rest).getRank() != rankedOf(v).getRank())
      return v;
    if (b.getKind() == BinaryKind::mul)
      scale *= *c;
    else if (b.getKind() == BinaryKind::div && *c != 0.0)
      scale /= *c;
    else
      return v;
    v = rest;
  }
  return v;
}

/// Grouped-query heads repeated for the matmuls (reshape to 5-D with a unit
/// axis, expand it, merge it into the heads): ds.attention shares the KV
/// heads itself, so the repetition is dropped when K and V repeat alike.
void AttentionMatcher::peelRepeatedHeads(Match &m) {
  auto same = [&](Value a, int64_t i, Value b, int64_t j) {
    OptDim x = dims.dim(a, i), y = dims.dim(b, j);
    return x && y && *x == *y;
  };
  auto unrepeat = [&](Value v, int64_t &factor) -> Value {
    auto merge = v.getDefiningOp<ReshapeOp>();
    auto expand = merge ? merge.getInput().getDefiningOp<ExpandOp>() : ExpandOp();
    auto split = expand ? expand.getInput().getDefiningOp<ReshapeOp>() : ReshapeOp();
    if (!split || rankedOf(split.getInput()).getRank() != 4 ||
        rankedOf(expand.getResult()).getRank() != 5 || rankedOf(v).getRank() != 4)
      return Value();
    Value src = split.getInput(), five = split.getResult(), wide = expand.getResult();
    OptDim unit = dims.dim(five, 2), repeats = dims.dim(wide, 2);
    OptDim kvHeads = dims.dim(src, 1), heads = dims.dim(v, 1);
    if (!unit || !unit->isConstant() || unit->constant != 1 || !repeats ||
        !repeats->isConstant() || repeats->constant < 1 || !kvHeads || !heads ||
        *heads != *kvHeads * repeats->constant)
      return Value();
    // [B, Hkv, L, D] -> [B, Hkv, 1, L, D] -> [B, Hkv, n, L, D] -> [B, Hkv*n, L, D].
    if (!same(src, 0, wide, 0) || !same(src, 1, wide, 1) || !same(src, 2, wide, 3) ||
        !same(src, 3, wide, 4) || !same(v, 0, wide, 0) || !same(v, 2, wide, 3) ||
        !same(v, 3, wide, 4))
      return Value();
    factor = repeats->constant;
    return src;
  };
  int64_t kf = 0, vf = 0;
  Value k = unrepeat(m.key, kf), v = unrepeat(m.value, vf);
  if (k && v && kf == vf) {
    m.key = k;
    m.value = v;
  }
}

/// Batch and head counts of Q, K and V fit ds.attention (no broadcasting of
/// K / V over the batch, KV heads dividing the query heads).
bool AttentionMatcher::dimsAgree(Match &m) {
  for (Value v : {m.query, m.key, m.value})
    if (!rankedOf(v) || rankedOf(v).getRank() != 4)
      return fail("query, key and value are not all 4-D");
  OptDim b = dims.dim(m.query, 0);
  for (Value v : {m.key, m.value}) {
    OptDim x = dims.dim(v, 0);
    if (!b || !x || *b != *x)
      return fail("key / value batch is not provably the query's (broadcast over the batch?)");
  }
  OptDim hq = dims.dim(m.query, 1), hk = dims.dim(m.key, 1), hv = dims.dim(m.value, 1);
  if (!hq || !hk || !hv || *hk != *hv)
    return fail("key and value head counts differ");
  if (*hq != *hk && !(hq->isConstant() && hk->isConstant() && hk->constant > 0 &&
                      hq->constant % hk->constant == 0))
    return fail("query heads are not a multiple of the key / value heads");
  return true;
}

bool AttentionMatcher::match(MatMulOp pv, Match &m) {
  auto softmax = pv.getLhs().getDefiningOp<SoftmaxOp>();
  auto scoresType = rankedOf(softmax.getInput());
  if (!scoresType || scoresType.getRank() != 4)
    return fail("the scores are not 4-D [batch, heads, queries, keys]");
  int64_t axis = (int64_t)softmax.getAxis();
  axis = axis < 0 ? axis + 4 : axis;
  if (softmax.getLog() || axis != 3)
    return fail("the softmax is not over the keys (the last axis)");
  if (!isa<FloatType>(scoresType.getElementType()))
    return fail("the scores are not floating-point");

  // Mask and scale, in either order, down to QKᵀ.
  Value x = softmax.getInput();
  Value floatMask, keepMask;
  bool negateKeep = false, scaled = false;
  double keepFill = 0.0;
  for (int step = 0; step < 3; ++step) {
    if (auto add = x.getDefiningOp<BinaryOp>(); add && add.getKind() == BinaryKind::add) {
      if (floatMask || keepMask)
        return fail("more than one mask is added to the scores");
      if (scaled) // softmax((s + m) * c): the mask is scaled too
        return fail("the scale is applied after the mask");
      bool lhsScores = reachesScores(add.getLhs()), rhsScores = reachesScores(add.getRhs());
      if (lhsScores == rhsScores)
        return fail("cannot tell the scores from the mask in an add");
      floatMask = lhsScores ? add.getRhs() : add.getLhs();
      x = lhsScores ? add.getLhs() : add.getRhs();
      if (rankedOf(floatMask).getRank() > 4)
        return fail("the mask has rank above 4");
      continue;
    }
    if (auto select = x.getDefiningOp<SelectOp>()) {
      if (floatMask || keepMask)
        return fail("more than one mask is applied to the scores");
      if (scaled)
        return fail("the scale is applied after the mask");
      bool keepTrue = reachesScores(select.getTrueValue());
      Value fill = keepTrue ? select.getFalseValue() : select.getTrueValue();
      std::optional<double> fillValue = scalarConstant(fill);
      if (!fillValue || (!keepTrue && !reachesScores(select.getFalseValue())))
        return fail("a where on the scores does not fill masked scores with a constant");
      if (!(*fillValue <= kNegligible))
        return fail("masked scores are filled with " + std::to_string(*fillValue) +
                    ", which changes fully masked rows; only fills <= -1e30 (or -inf) are "
                    "exact as a mask");
      keepMask = select.getCondition();
      negateKeep = !keepTrue;
      keepFill = *fillValue;
      x = keepTrue ? select.getTrueValue() : select.getFalseValue();
      continue;
    }
    if (auto b = x.getDefiningOp<BinaryOp>();
        b && (b.getKind() == BinaryKind::mul || b.getKind() == BinaryKind::div)) {
      Value rest = peelScale(x, m.scale);
      if (rest == x)
        return fail("the scores are multiplied by something other than a scalar constant");
      x = rest;
      scaled = true;
      continue;
    }
    break;
  }
  auto qk = x.getDefiningOp<MatMulOp>();
  if (!qk)
    return fail("the softmax input is not a matmul of queries and keys (after mask and scale)");
  m.query = peelScale(qk.getLhs(), m.scale);
  Value keyT = peelScale(qk.getRhs(), m.scale);
  if (rankedOf(m.query).getRank() != 4 || rankedOf(keyT).getRank() != 4)
    return fail("queries and transposed keys are not 4-D");
  // K = Kᵀ with the last two axes swapped: composed into Kᵀ's own transpose.
  if (auto t = keyT.getDefiningOp<TransposeOp>()) {
    SmallVector<int64_t> perm(t.getPerm());
    std::swap(perm[2], perm[3]);
    m.key = t.getInput();
    if (!llvm::equal(perm, llvm::seq<int64_t>(0, 4)))
      m.keyPerm = perm;
    else
      m.key = peelScale(m.key, m.scale);
  } else {
    m.key = keyT;
    m.keyPerm = {0, 1, 3, 2};
  }
  m.value = pv.getRhs();
  peelRepeatedHeads(m);
  if (m.keyPerm.empty() && !dimsAgree(m))
    return false;
  if (!m.keyPerm.empty()) {
    // Check the shapes the transposed key will have.
    auto kt = rankedOf(keyT);
    if (!kt || kt.getRank() != 4)
      return fail("transposed keys are not 4-D");
    OptDim b = dims.dim(m.query, 0), kb = dims.dim(keyT, 0), vb = dims.dim(m.value, 0);
    OptDim hk = dims.dim(keyT, 1), hv = dims.dim(m.value, 1), hq = dims.dim(m.query, 1);
    if (!b || !kb || !vb || *b != *kb || *b != *vb)
      return fail("key / value batch is not provably the query's (broadcast over the batch?)");
    if (!hk || !hv || !hq || *hk != *hv || *hq != *hk)
      return fail("query, key and value head counts differ");
  }

  // Lengths from QKᵀ itself: the mask may broadcast.
  OptDim Bq = dims.dim(qk.getResult(), 0), S = dims.dim(qk.getResult(), 2),
         L = dims.dim(qk.getResult(), 3);
  if (!Bq || !S || !L)
    return fail("the query / key lengths are not known");
  // The query itself must not broadcast over the batch or the heads.
  for (int64_t a = 0; a < 2; ++a) {
    OptDim x = dims.dim(m.query, a), y = dims.dim(qk.getResult(), a);
    if (!x || !y || *x != *y)
      return fail("the queries broadcast over the batch or the heads of the scores");
  }
  // The mask must not broadcast the scores beyond QKᵀ's shape.
  for (int64_t a = 0; a < 4; ++a) {
    OptDim x = dims.dim(softmax.getInput(), a), y = dims.dim(qk.getResult(), a);
    if (!x || !y || *x != *y)
      return fail("the masked scores are not provably [batch, heads, queries, keys] (a mask "
                  "of sizes the analysis cannot relate to the queries and keys)");
  }
  if (floatMask) {
    Value inner = stripUnitReshapes(floatMask);
    // DSA: a mask of -inf with 0 scattered at each query's top-k keys,
    // alone or plus a causal mask.
    if (Value selected = topkSelection(inner, floatMask, *Bq, *S, *L)) {
      m.selected = selected;
      return true;
    }
    // NSA: blocks of keys selected, widened to the keys.
    if (int64_t block = 0; Value selected = blockSelection(inner, floatMask, *Bq, *S, *L, block)) {
      m.selected = selected;
      m.selectedBlock = block;
      return true;
    }
    if (auto add = inner.getDefiningOp<BinaryOp>(); add && add.getKind() == BinaryKind::add) {
      for (auto [a, b] : {std::pair{add.getLhs(), add.getRhs()}, std::pair{add.getRhs(), add.getLhs()}}) {
        int64_t block = 0;
        Value selected = topkSelection(stripUnitReshapes(a), floatMask, *Bq, *S, *L);
        if (!selected) // NSA: blocks of keys selected, widened to the keys
          selected = blockSelection(stripUnitReshapes(a), floatMask, *Bq, *S, *L, block);
        // The causal part is added to the [B, S, L] selection: [S, L] or [1, S, L].
        auto causalType = rankedOf(b);
        bool trailing = causalType.getRank() >= 2 && causalType.getRank() <= 3;
        for (int64_t d = 0; trailing && d + 2 < causalType.getRank(); ++d)
          trailing = !causalType.isDynamicDim(d) && causalType.getDimSize(d) == 1;
        // (Causal only: ds.sparse_attention takes no window.)
        Match causal = m;
        if (selected && trailing && additiveCausal(b, *S, *L, causal, /*infiniteOnly=*/true) &&
            causal.window == 0) {
          m = causal;
          m.selected = selected;
          m.selectedBlock = block;
          return true;
        }
      }
    }
    // A triangle over [S, L] must also be laid out as [.., S, L] where it
    // is added (stripping unit axes could have moved it).
    auto laidOut = [&] {
      int64_t r = rankedOf(floatMask).getRank();
      for (int64_t a = 0; a < r; ++a) {
        OptDim d = dims.dim(floatMask, a);
        DimExpr want = a == r - 1 ? *L : a == r - 2 ? *S : DimExpr::of(1);
        if (!d || *d != want)
          return false;
      }
      return r >= 2;
    };
    if (laidOut() && additiveCausal(inner, *S, *L, m))
      return true;
    m.mask = floatMask;
    return true;
  }
  if (keepMask) {
    if (!negateKeep && recogniseBand(keepMask, *S, *L, !std::isinf(keepFill), m))
      return true;
    std::optional<IndexForm> keep = keepForm(keepMask, *S, *L);
    if (keep && negateKeep)
      keep = IndexForm{-keep->row, -keep->col, keep->constant * -1 + DimExpr::of(1)};
    const bool finite = !std::isinf(keepFill);
    if (keep && recogniseCausal(*keep, *S, *L, finite, m))
      return true;
    if (rankedOf(keepMask).getRank() > 4)
      return fail("the mask has rank above 4");
    if (finite)
      m.keepFill = keepFill; // where(keep, 0, fill) added: fully masked rows average as in the graph
    // A boolean mask; `not c` where the graph keeps the false entries.
    auto notOp = keepMask.getDefiningOp<UnaryOp>();
    if (negateKeep && notOp && notOp.getKind() == UnaryKind::logical_not)
      m.mask = notOp.getInput();
    else if (negateKeep)
      m.negateMask = keepMask;
    else
      m.mask = keepMask;
  }
  return true;
}

} // namespace mlir::ds::attention_raising

namespace {

std::string describe(const Match &m) {
  std::string s;
  if (m.selected && m.selectedBlock)
    s += "the blocks of " + std::to_string(m.selectedBlock) + " keys a top-k selection lists, ";
  else if (m.selected)
    s += "the keys a top-k selection lists, ";
  if (m.causal) {
    s += m.causalFromEnd ? "causal counted from the last key" : "causal";
    if (m.causalOffset)
      s += " with offset " + std::to_string(m.causalOffset);
    if (m.window)
      s += ", window of " + std::to_string(m.window) + " keys";
  } else if (m.mask || m.negateMask) {
    s += "masked";
  } else {
    s += "unmasked";
  }
  auto hq = rankedOf(m.query).getDimSize(1), hk = rankedOf(m.key).getDimSize(1);
  if (m.keyPerm.empty() && !ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hk) && hq != hk)
    s += ", " + std::to_string(hq) + " query heads sharing " + std::to_string(hk) + " KV heads";
  return s;
}

struct RaiseAttentionPass : mlir::ds::impl::RaiseAttentionPassBase<RaiseAttentionPass> {
  using RaiseAttentionPassBase::RaiseAttentionPassBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.getBody().empty())
      return;
    SmallVector<MatMulOp> candidates;
    func.walk([&](MatMulOp pv) {
      if (pv.getLhs().getDefiningOp<SoftmaxOp>())
        candidates.push_back(pv);
    });
    if (candidates.empty())
      return;
    // Recomputed after each raise: the analysis keys on values, and erased
    // values' storage may be reused by the ops a raise creates.
    std::optional<SymbolicDims> dims;
    for (MatMulOp pv : candidates) {
      if (!dims)
        dims.emplace(func);
      AttentionMatcher matcher(*dims);
      Match m;
      Operation *softmax = pv.getLhs().getDefiningOp();
      if (!matcher.match(pv, m)) {
        if (explain)
          softmax->emitRemark() << "not raised to ds.attention: " << matcher.why;
        continue;
      }
      raise(pv, m);
      if (explain)
        softmax->emitRemark() << "raised to "
                              << (m.selected ? "ds.sparse_attention" : "ds.attention") << " ("
                              << describe(m) << ")";
      eraseDeadProducers(pv);
      dims.reset();
    }
  }

  /// ds.sparse_attention over the selected keys; indices [B, S, K] gain the
  /// unit head axis ([B, 1, S, K]: one selection shared by every head).
  static void raiseSelected(OpBuilder &b, MatMulOp pv, Value key, const Match &m) {
    Location loc = pv.getLoc();
    Value indices = m.selected;
    if (m.selectedBlock > 0)
      indices = blockKeys(b, loc, indices, m.selectedBlock);
    auto type = rankedOf(indices);
    if (type.getRank() == 3) {
      auto i64 = [&](int64_t n) { return RankedTensorType::get({n}, b.getI64Type()); };
      Value batch = b.create<ShapeOp>(loc, i64(1), indices, 0, 1);
      Value rest = b.create<ShapeOp>(loc, i64(2), indices, 1, 3);
      Value one = b.create<ConstantOp>(loc, DenseIntElementsAttr::get(i64(1), ArrayRef<int64_t>{1}));
      Value shape = b.create<ConcatOp>(loc, ValueRange{batch, one, rest}, 0);
      indices = b.create<ReshapeOp>(
          loc,
          RankedTensorType::get({type.getDimSize(0), 1, type.getDimSize(1), type.getDimSize(2)},
                                type.getElementType()),
          indices, shape, false);
    }
    auto sparse = b.create<SparseAttentionOp>(
        loc, pv.getType(), m.query, key, m.value, indices, b.getF64FloatAttr(m.scale),
        m.causal ? b.getUnitAttr() : UnitAttr(), b.getI64IntegerAttr(m.causalOffset),
        m.causalFromEnd ? b.getUnitAttr() : UnitAttr());
    pv.getResult().replaceAllUsesWith(sparse.getResult());
  }

  /// The keys of the selected blocks `blocks` [B, S, n] of `size` keys each,
  /// block by block: [B, S, n * size], key c * size + t for t < size.
  static Value blockKeys(OpBuilder &b, Location loc, Value blocks, int64_t size) {
    auto type = rankedOf(blocks);
    const int64_t n = type.getDimSize(2);
    auto i64 = [&](ArrayRef<int64_t> shape) { return RankedTensorType::get(shape, b.getI64Type()); };
    auto ints = [&](ArrayRef<int64_t> shape, ArrayRef<int64_t> values) -> Value {
      return b.create<ConstantOp>(loc, DenseIntElementsAttr::get(i64(shape), values));
    };
    SmallVector<int64_t> offsets;
    for (int64_t t = 0; t < size; ++t)
      offsets.push_back(t);
    Value first = b.create<BinaryOp>(loc, BinaryKind::mul, blocks, ints({}, {size}));
    Value lead = b.create<ShapeOp>(loc, i64({2}), blocks, 0, 2);
    Value perBlock = b.create<ConcatOp>(loc, ValueRange{lead, ints({2}, {n, 1})}, 0);
    first = b.create<ReshapeOp>(
        loc, RankedTensorType::get({type.getDimSize(0), type.getDimSize(1), n, 1}, b.getI64Type()),
        first, perBlock, false);
    Value keys = b.create<BinaryOp>(loc, BinaryKind::add, first, ints({size}, offsets));
    Value flat = b.create<ConcatOp>(loc, ValueRange{lead, ints({1}, {n * size})}, 0);
    return b.create<ReshapeOp>(
        loc, RankedTensorType::get({type.getDimSize(0), type.getDimSize(1), n * size}, b.getI64Type()),
        keys, flat, false);
  }

  /// Erases `root` and, transitively, the producers only it kept alive (the
  /// scores, the mask arithmetic, the head repetition).
  static void eraseDeadProducers(Operation *root) {
    SmallVector<Operation *> worklist{root};
    while (!worklist.empty()) {
      Operation *op = worklist.pop_back_val();
      if (!op->use_empty() || !isMemoryEffectFree(op))
        continue;
      for (Value operand : op->getOperands())
        if (Operation *producer = operand.getDefiningOp())
          if (!llvm::is_contained(worklist, producer))
            worklist.push_back(producer);
      op->erase();
    }
  }

  void raise(MatMulOp pv, const Match &m) {
    OpBuilder b(pv);
    Location loc = pv.getLoc();
    Value key = m.key;
    if (!m.keyPerm.empty())
      key = b.create<TransposeOp>(loc, key, m.keyPerm);
    if (m.selected) {
      raiseSelected(b, pv, key, m);
      return;
    }
    Value mask = m.mask;
    if (m.negateMask)
      mask = b.create<UnaryOp>(loc, UnaryKind::logical_not, m.negateMask, FloatAttr(), FloatAttr());
    if (m.keepFill < 0) {
      // A finite fill stays additive: s + fill rounds to fill, as the graph's.
      auto element = cast<RankedTensorType>(pv.getType()).getElementType();
      auto scalar = RankedTensorType::get({}, element);
      Value zero = b.create<ConstantOp>(loc, DenseElementsAttr::get(scalar, b.getFloatAttr(element, 0.0)));
      Value fill =
          b.create<ConstantOp>(loc, DenseElementsAttr::get(scalar, b.getFloatAttr(element, m.keepFill)));
      mask = b.create<SelectOp>(loc, mask, zero, fill);
    }
    auto attention = b.create<AttentionOp>(
        loc, pv.getType(), m.query, key, m.value, mask, b.getF64FloatAttr(m.scale),
        m.causal ? b.getUnitAttr() : UnitAttr(), b.getF64FloatAttr(0.0),
        b.getI64IntegerAttr(m.causalOffset), m.causalFromEnd ? b.getUnitAttr() : UnitAttr());
    if (m.window > 0)
      attention.setWindowAttr(b.getI64IntegerAttr(m.window));
    pv.getResult().replaceAllUsesWith(attention.getResult());
  }
};

} // namespace
