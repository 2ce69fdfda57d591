//===- RaiseAttention.cpp - exported attention subgraphs to ds.attention --===//
//
// ds-raise-attention finds softmax(QKᵀ·scale + mask)·V as exporters write it
// (Passes.td lists the forms) and replaces it with one ds.attention, so the
// scores are never materialized and causal tiles can be skipped. Sizes that
// are only known at run time are compared with SymbolicDims: a causal mask
// built from Range ops is recognised only when its ranges provably span the
// queries and the keys.
//
//===----------------------------------------------------------------------===//
#include "ds/Dialect/DS/Analysis/SymbolicDims.h"
#include "ds/Dialect/DS/IR/DSOps.h"
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

namespace {

/// A masked-out score at or below this is "minus infinity" in practice: any
/// real score added to it rounds back to it, so a mask of such values keeps
/// the graph's results (fully masked rows included) when turned into a
/// boolean mask.
constexpr double kNegligible = -1e30;

RankedTensorType rankedOf(Value v) { return dyn_cast<RankedTensorType>(v.getType()); }

/// The value of a one-element floating-point constant.
std::optional<double> scalarConstant(Value v) {
  auto c = v.getDefiningOp<ConstantOp>();
  auto dense = c ? dyn_cast<DenseFPElementsAttr>(c.getValue()) : DenseFPElementsAttr();
  if (!dense || dense.getNumElements() != 1)
    return std::nullopt;
  return (*dense.getValues<APFloat>().begin()).convertToDouble();
}

/// The one value of a splat constant or a ds.fill (a masked_fill's
/// "full of finfo.min" tensor).
std::optional<double> uniformValue(Value v) {
  if (std::optional<double> c = scalarConstant(v))
    return c;
  ElementsAttr value;
  if (auto x = v.getDefiningOp<ExpandOp>())
    return uniformValue(x.getInput());
  if (auto c = v.getDefiningOp<ConstantOp>())
    value = c.getValue();
  else if (auto f = v.getDefiningOp<FillOp>())
    value = f.getValue();
  if (auto dense = dyn_cast_or_null<DenseFPElementsAttr>(value))
    return dense.isSplat() ? std::optional(dense.getSplatValue<APFloat>().convertToDouble())
                           : std::nullopt;
  // A constant the importer keeps as a blob (PyTorch exports with static
  // sizes store full(-inf) that way): uniform when every element is.
  if (auto resource = dyn_cast_or_null<DenseResourceElementsAttr>(value)) {
    std::optional<std::vector<float>> values = readF32Constant(resource);
    if (!values || values->empty() ||
        llvm::any_of(*values, [&](float x) { return x != values->front(); }))
      return std::nullopt;
    return (double)values->front();
  }
  return std::nullopt;
}

/// Which entries of a constant mask keep their key: an i1 constant's true
/// entries, or (additive) a float constant's zeros, its other entries all
/// <= kNegligible (`finite` set when one is not -inf). Dense or blob.
std::optional<std::vector<char>> keptEntries(ElementsAttr value, bool additive, bool &finite) {
  std::vector<char> keep;
  if (!additive) {
    auto dense = dyn_cast<DenseElementsAttr>(value);
    if (!dense || !dense.getElementType().isInteger(1))
      return std::nullopt;
    for (bool b : dense.getValues<bool>())
      keep.push_back(b);
    return keep;
  }
  auto take = [&](double d) {
    if (d != 0.0 && !(d <= kNegligible))
      return false;
    finite |= d != 0.0 && !std::isinf(d);
    keep.push_back(d == 0.0);
    return true;
  };
  if (auto dense = dyn_cast<DenseElementsAttr>(value); dense && isa<FloatType>(dense.getElementType())) {
    for (const APFloat &x : dense.getValues<APFloat>())
      if (!take(x.convertToDouble()))
        return std::nullopt;
    return keep;
  }
  if (std::optional<std::vector<float>> values = readF32Constant(value)) {
    for (float x : *values)
      if (!take(x))
        return std::nullopt;
    return keep;
  }
  return std::nullopt;
}

/// keep(i, j) <=> i * rowCoeff + j * colCoeff + constant <= 0, with i the
/// query and j the key position.
struct IndexForm {
  int64_t row = 0, col = 0;
  DimExpr constant;
};

/// What replaces the matched subgraph.
struct Match {
  Value query, key, value, mask;
  SmallVector<int64_t> keyPerm; // transpose applied to `key` (empty: none)
  Value negateMask;             // build `not mask` from this instead
  double keepFill = 0.0;        // < 0: build select(mask, 0, keepFill), a float mask
  Value selected;               // top-k key indices [B, (1,) S, K]: ds.sparse_attention
  int64_t selectedBlock = 0;    // > 0: `selected` lists blocks of this many keys
  double scale = 1.0;
  bool causal = false, causalFromEnd = false;
  int64_t causalOffset = 0;
  int64_t window = 0;           // > 0: causal within the `window` keys ending at the diagonal
};

class AttentionMatcher {
public:
  explicit AttentionMatcher(SymbolicDims &dims) : dims(dims) {}

  /// Fills `m` for the product of probabilities and values `pv`; on failure
  /// `why` says what did not fit.
  bool match(MatMulOp pv, Match &m);
  std::string why;

private:
  bool fail(const std::string &reason) {
    why = reason;
    return false;
  }
  bool reachesScores(Value v) const;
  Value peelScale(Value v, double &scale) const;
  void peelRepeatedHeads(Match &m);
  std::optional<IndexForm> indexForm(Value v, const DimExpr &S, const DimExpr &L) const;
  std::optional<IndexForm> keepForm(Value predicate, const DimExpr &S, const DimExpr &L) const;
  std::optional<IndexForm> constantKeepForm(Value mask, bool additive, const DimExpr &S,
                                            const DimExpr &L, bool &finiteFill) const;
  std::optional<IndexForm> triluRegion(Value v, const DimExpr &S, const DimExpr &L,
                                       double &fill) const;
  bool recogniseCausal(const IndexForm &keep, const DimExpr &S, const DimExpr &L, bool finiteFill,
                       Match &m) const;
  bool additiveCausal(Value mask, const DimExpr &S, const DimExpr &L, Match &m,
                      bool infiniteOnly = false) const;
  bool recogniseBand(Value keep, const DimExpr &S, const DimExpr &L, bool finiteFill,
                     Match &m) const;
  bool constantBand(Value mask, bool additive, const DimExpr &S, const DimExpr &L,
                    bool finiteFill, Match &m) const;
  bool setBand(const IndexForm &upper, int64_t width, const DimExpr &S, const DimExpr &L,
               bool finiteFill, Match &m) const;
  Value stripUnitReshapes(Value v) const;
  Value topkSelection(Value mask, Value asAdded, const DimExpr &B, const DimExpr &S,
                      const DimExpr &L, int64_t block = 0) const;
  Value blockSelection(Value mask, Value asAdded, const DimExpr &B, const DimExpr &S,
                       const DimExpr &L, int64_t &block) const;
  bool dimsAgree(Match &m);

  SymbolicDims &dims;
};

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

/// A 1-D integer vector t + c (t = 0, 1, ...) of `length` elements.
struct VectorForm {
  DimExpr constant, length;
};

/// c for an integer constant holding c, c + 1, c + 2, ... (a Range that
/// constant folding evaluated, as static shapes leave it).
std::optional<int64_t> constantProgression(Value v) {
  auto c = v.getDefiningOp<ConstantOp>();
  // An i64 blob (PyTorch's static exports store aranges that way).
  if (auto resource = c ? dyn_cast<DenseResourceElementsAttr>(c.getValue()) : nullptr;
      resource && resource.getElementType().isInteger(64)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() < sizeof(int64_t))
      return std::nullopt;
    ArrayRef<char> bytes = blob->getData();
    const size_t n = bytes.size() / sizeof(int64_t);
    int64_t first = 0;
    std::memcpy(&first, bytes.data(), sizeof first);
    for (size_t e = 1; e < n; ++e) {
      int64_t x;
      std::memcpy(&x, bytes.data() + e * sizeof x, sizeof x);
      if (x != first + (int64_t)e)
        return std::nullopt;
    }
    return first;
  }
  auto dense = c ? dyn_cast<DenseIntElementsAttr>(c.getValue()) : nullptr;
  if (!dense || dense.getNumElements() < 1 || dense.getElementType().isInteger(1))
    return std::nullopt; // (booleans are no indices)
  int64_t first = 0, next = 0;
  bool start = true;
  for (const APInt &x : dense.getValues<APInt>()) {
    int64_t value = x.getSExtValue();
    if (start)
      first = next = value;
    else if (value != next)
      return std::nullopt;
    start = false;
    ++next;
  }
  return first;
}

std::optional<VectorForm> vectorForm(const SymbolicDims &dims, Value v) {
  auto type = rankedOf(v);
  if (!type || type.getRank() != 1 || !type.getElementType().isSignlessInteger())
    return std::nullopt;
  if (std::optional<int64_t> first = constantProgression(v); first && type.hasStaticShape())
    return VectorForm{DimExpr::of(*first), DimExpr::of(type.getDimSize(0))};
  if (auto range = v.getDefiningOp<RangeOp>()) {
    OptDim start = dims.scalar(range.getStart()), delta = dims.scalar(range.getDelta());
    OptDim length = dims.dim(v, 0);
    if (!start || !delta || !delta->isConstant() || delta->constant != 1 || !length)
      return std::nullopt;
    return VectorForm{*start, *length};
  }
  if (auto b = v.getDefiningOp<BinaryOp>()) {
    bool add = b.getKind() == BinaryKind::add;
    if (!add && b.getKind() != BinaryKind::sub)
      return std::nullopt;
    // A vector plus or minus a scalar.
    auto x = vectorForm(dims, b.getLhs());
    OptDim y = dims.scalar(b.getRhs());
    if (x && y)
      return VectorForm{add ? x->constant + *y : x->constant - *y, x->length};
    if (!add)
      return std::nullopt;
    OptDim lhs = dims.scalar(b.getLhs());
    auto rhs = vectorForm(dims, b.getRhs());
    if (lhs && rhs)
      return VectorForm{rhs->constant + *lhs, rhs->length};
    return std::nullopt;
  }
  if (auto cast = v.getDefiningOp<CastOp>(); cast && isWideningIntCast(cast))
    return vectorForm(dims, cast.getInput());
  return std::nullopt;
}

/// i * row + j * col + c for an integer tensor built from Range ops, laid
/// out along the last two axes of the scores [.., S, L]. A vector along the
/// keys must have L elements and one along the queries S: a shorter one
/// would broadcast, which is not the triangle it looks like.
std::optional<IndexForm> AttentionMatcher::indexForm(Value v, const DimExpr &S,
                                                     const DimExpr &L) const {
  auto type = rankedOf(v);
  if (!type || !type.getElementType().isSignlessInteger())
    return std::nullopt;
  if (type.getRank() == 0 || (type.hasStaticShape() && type.getNumElements() == 1)) {
    if (OptDim s = dims.scalar(v))
      return IndexForm{0, 0, *s};
    return std::nullopt;
  }
  if (type.getRank() == 1) {
    auto f = vectorForm(dims, v);
    if (!f || f->length != L)
      return std::nullopt;
    return IndexForm{0, 1, f->constant};
  }
  // A progression laid out [.., n, 1] (along the queries) or [.., 1, n]
  // (along the keys), as constant folding leaves a Range and its reshape.
  if (std::optional<int64_t> first = constantProgression(v); first && type.hasStaticShape()) {
    int64_t r = type.getRank(), rows = type.getDimSize(r - 2), cols = type.getDimSize(r - 1);
    for (int64_t a = 0; a + 2 < r; ++a)
      if (type.getDimSize(a) != 1)
        return std::nullopt;
    if (cols == 1 && rows != 1 && S == DimExpr::of(rows))
      return IndexForm{1, 0, DimExpr::of(*first)};
    if (rows == 1 && cols != 1 && L == DimExpr::of(cols))
      return IndexForm{0, 1, DimExpr::of(*first)};
    return std::nullopt;
  }
  if (auto reshape = v.getDefiningOp<ReshapeOp>()) {
    auto f = vectorForm(dims, reshape.getInput());
    int64_t r = type.getRank();
    if (!f)
      return std::nullopt;
    for (int64_t a = 0; a + 2 < r; ++a)
      if (type.isDynamicDim(a) || type.getDimSize(a) != 1)
        return std::nullopt;
    auto isOne = [&](int64_t a) { return !type.isDynamicDim(a) && type.getDimSize(a) == 1; };
    // [.., n, 1]: along the queries; [.., 1, n]: along the keys.
    if (isOne(r - 1) && !isOne(r - 2) && f->length == S)
      return IndexForm{1, 0, f->constant};
    if (isOne(r - 2) && !isOne(r - 1) && f->length == L)
      return IndexForm{0, 1, f->constant};
    return std::nullopt;
  }
  if (auto b = v.getDefiningOp<BinaryOp>()) {
    if (b.getKind() != BinaryKind::add && b.getKind() != BinaryKind::sub)
      return std::nullopt;
    auto x = indexForm(b.getLhs(), S, L), y = indexForm(b.getRhs(), S, L);
    if (!x || !y)
      return std::nullopt;
    int64_t sign = b.getKind() == BinaryKind::add ? 1 : -1;
    return IndexForm{x->row + sign * y->row, x->col + sign * y->col,
                     sign > 0 ? x->constant + y->constant : x->constant - y->constant};
  }
  if (auto cast = v.getDefiningOp<CastOp>(); cast && isWideningIntCast(cast))
    return indexForm(cast.getInput(), S, L);
  return std::nullopt;
}

/// For trilu of a tensor filled with one value: the region it keeps as a
/// form (region <=> form <= 0) and that value in `fill`. The tensor must be
/// [.., S, L] with unit leading axes.
std::optional<IndexForm> AttentionMatcher::triluRegion(Value v, const DimExpr &S,
                                                       const DimExpr &L, double &fill) const {
  auto t = v.getDefiningOp<TriluOp>();
  if (!t)
    return std::nullopt;
  std::optional<double> value = uniformValue(t.getInput());
  auto type = rankedOf(t.getResult());
  if (!value || !type || type.getRank() < 2)
    return std::nullopt;
  int64_t r = type.getRank();
  for (int64_t a = 0; a + 2 < r; ++a)
    if (type.isDynamicDim(a) || type.getDimSize(a) != 1)
      return std::nullopt;
  OptDim rows = dims.dim(v, r - 2), cols = dims.dim(v, r - 1);
  if (!rows || !cols || *rows != S || *cols != L)
    return std::nullopt;
  int64_t k = 0;
  if (t.getK()) {
    OptDim kv = dims.scalar(t.getK());
    if (!kv || !kv->isConstant())
      return std::nullopt;
    k = kv->constant;
  }
  fill = *value;
  // lower: j <= i + k; upper: j >= i + k.
  if (t.getUpper())
    return IndexForm{1, -1, DimExpr::of(k)};
  return IndexForm{-1, 1, DimExpr::of(-k)};
}

/// keep <=> form <= 0, for a boolean mask built by comparing index tensors.
std::optional<IndexForm> AttentionMatcher::keepForm(Value p, const DimExpr &S,
                                                    const DimExpr &L) const {
  auto negate = [](IndexForm f) { // not(f <= 0) <=> -f + 1 <= 0
    return IndexForm{-f.row, -f.col, f.constant * -1 + DimExpr::of(1)};
  };
  if (auto u = p.getDefiningOp<UnaryOp>()) {
    if (u.getKind() != UnaryKind::logical_not)
      return std::nullopt;
    auto inner = keepForm(u.getInput(), S, L);
    return inner ? std::optional(negate(*inner)) : std::nullopt;
  }
  if (auto cast = p.getDefiningOp<CastOp>()) {
    // bool(trilu(ones)): true inside the triangle.
    double fill = 0.0;
    auto region = triluRegion(cast.getInput(), S, L, fill);
    if (region && fill != 0.0 && !std::isnan(fill))
      return region;
    return std::nullopt;
  }
  if (auto c = p.getDefiningOp<CompareOp>()) {
    auto a = indexForm(c.getLhs(), S, L), b = indexForm(c.getRhs(), S, L);
    if (!a || !b)
      return std::nullopt;
    IndexForm f{a->row - b->row, a->col - b->col, a->constant - b->constant};
    switch (c.getKind()) {
    case CompareKind::le: return f;
    case CompareKind::lt: return IndexForm{f.row, f.col, f.constant + DimExpr::of(1)};
    case CompareKind::ge: return IndexForm{-f.row, -f.col, f.constant * -1};
    case CompareKind::gt: return negate(f);
    default: return std::nullopt;
    }
  }
  bool finite = false;
  return constantKeepForm(p, false, S, L, finite);
}

/// A constant mask [.., S, L] that is a causal triangle: true (or 0 when
/// additive) on and below a diagonal, false (or <= kNegligible) above it.
std::optional<IndexForm> AttentionMatcher::constantKeepForm(Value mask, bool additive,
                                                            const DimExpr &S, const DimExpr &L,
                                                            bool &finiteFill) const {
  auto c = mask.getDefiningOp<ConstantOp>();
  auto type = rankedOf(mask);
  if (!c || !type || type.getRank() < 2 || !type.hasStaticShape())
    return std::nullopt;
  for (int64_t a = 0; a + 2 < type.getRank(); ++a)
    if (type.getDimSize(a) != 1)
      return std::nullopt;
  int64_t rows = type.getDimSize(type.getRank() - 2), cols = type.getDimSize(type.getRank() - 1);
  // The triangle must be the whole [S, L], not a row or column broadcast.
  if (S != DimExpr::of(rows) || L != DimExpr::of(cols))
    return std::nullopt;
  if (rows * cols > (int64_t)1 << 26)
    return std::nullopt;
  std::optional<std::vector<char>> entries = keptEntries(c.getValue(), additive, finiteFill);
  if (!entries || (int64_t)entries->size() != rows * cols)
    return std::nullopt;
  const std::vector<char> &keep = *entries;
  // The diagonal from row 0: keys 0 .. offset are kept.
  int64_t offset = -1;
  while (offset + 1 < cols && keep[(size_t)(offset + 1)])
    ++offset;
  auto matches = [&](auto kept) {
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        if ((bool)keep[(size_t)(i * cols + j)] != kept(i, j))
          return false;
    return true;
  };
  if (matches([&](int64_t i, int64_t j) { return j <= i + offset; }))
    return IndexForm{-1, 1, DimExpr::of(-offset)};
  // The other triangle, keys j >= i + c (a window's lower edge, which
  // constant folding leaves next to a causal compare): the last row keeps
  // rows - 1 + c .. L - 1 (earlier rows may be clipped at key 0). Only as a
  // keep-mask (a band's half): alone it is no causal form.
  if (additive)
    return std::nullopt;
  const char *lastRow = keep.data() + (rows - 1) * cols;
  int64_t first = 0;
  while (first < cols && !lastRow[first])
    ++first;
  const int64_t edge = first - (rows - 1);
  if (first > 0 && first < cols && matches([&](int64_t i, int64_t j) { return j >= i + edge; }))
    return IndexForm{1, -1, DimExpr::of(edge)};
  return std::nullopt;
}

/// keep <=> j - i - offset <= 0 is causal attention with that offset;
/// an offset of L - S + k counts from the last key (a KV cache in front).
bool AttentionMatcher::recogniseCausal(const IndexForm &keep, const DimExpr &S, const DimExpr &L,
                                       bool finiteFill, Match &m) const {
  if (keep.row != -1 || keep.col != 1)
    return false;
  DimExpr offset = keep.constant * -1;
  // A finite fill (finfo.min) is exact only where no row is fully hidden
  // (the graph averages such a row, ds.attention gives 0): every query must
  // see key 0, offset >= 0 for sizes that are never negative.
  if (finiteFill && !offset.isNonNegative())
    return false;
  if (offset.isConstant()) {
    m.causal = true;
    m.causalOffset = offset.constant;
    return true;
  }
  DimExpr fromEnd = offset - (L - S);
  if (!fromEnd.isConstant())
    return false;
  m.causal = m.causalFromEnd = true;
  m.causalOffset = fromEnd.constant;
  return true;
}

/// Reshapes that only insert unit axes ([S, L] -> [1, 1, S, L], [B, S, L]
/// -> [B, 1, S, L]) do not move elements: the sizes other than 1 are the
/// same, in order. Callers check how the result lines up with the scores.
Value AttentionMatcher::stripUnitReshapes(Value v) const {
  auto sizes = [&](Value x) {
    SmallVector<DimExpr> out;
    for (int64_t a = 0; a < rankedOf(x).getRank(); ++a) {
      OptDim d = dims.dim(x, a);
      if (!d)
        return std::optional<SmallVector<DimExpr>>();
      if (!(d->isConstant() && d->constant == 1))
        out.push_back(*d);
    }
    return std::optional(out);
  };
  while (auto r = v.getDefiningOp<ReshapeOp>()) {
    auto in = sizes(r.getInput()), out = sizes(r.getResult());
    if (!in || !out || *in != *out)
      break;
    v = r.getInput();
  }
  return v;
}

/// An additive mask that is a causal triangle of 0 and values <= -1e30: a
/// constant, triu(full(-inf-ish)), or where(keep, 0, -inf-ish).
bool AttentionMatcher::additiveCausal(Value inner, const DimExpr &S, const DimExpr &L,
                                      Match &m, bool infiniteOnly) const {
  bool finite = false;
  std::optional<IndexForm> keep = constantKeepForm(inner, true, S, L, finite);
  if (!keep && !infiniteOnly && constantBand(inner, true, S, L, false, m))
    return true;
  double fill = 0.0;
  // triu(full(-inf-ish), k): the triangle is masked, the rest kept.
  if (auto region = !keep ? triluRegion(inner, S, L, fill) : std::nullopt;
      region && fill <= kNegligible) {
    keep = IndexForm{-region->row, -region->col, region->constant * -1 + DimExpr::of(1)};
    finite = !std::isinf(fill);
  }
  if (auto s = inner.getDefiningOp<SelectOp>(); !keep && s) {
    std::optional<double> t = uniformValue(s.getTrueValue()), f = uniformValue(s.getFalseValue());
    if (t && f && *t == 0.0 && *f <= kNegligible && !infiniteOnly &&
        recogniseBand(s.getCondition(), S, L, !std::isinf(*f), m))
      return true;
    if (t && f && *t == 0.0 && *f <= kNegligible) {
      keep = keepForm(s.getCondition(), S, L);
      finite = !std::isinf(*f);
    } else if (t && f && *f == 0.0 && *t <= kNegligible) {
      if (auto inner = keepForm(s.getCondition(), S, L))
        keep = IndexForm{-inner->row, -inner->col, inner->constant * -1 + DimExpr::of(1)};
      finite = !std::isinf(*t);
    }
  }
  // (A finite fill added to a selection would average rows whose selected
  // keys are all hidden, where sparse attention gives 0.)
  if (finite && infiniteOnly)
    return false;
  return keep && recogniseCausal(*keep, S, L, finite, m);
}

/// Causal attention with the diagonal `upper` (j - i - d <= 0) within a
/// window of `width` keys. With a finite fill every row must provably keep
/// a key: d(i) >= 0 (recogniseCausal) and d(i) - W < L for the last row,
/// S - 1 + d - W + 1 <= L - 1; the graph averages a row it hides entirely,
/// ds.attention gives 0.
bool AttentionMatcher::setBand(const IndexForm &upper, int64_t width, const DimExpr &S,
                               const DimExpr &L, bool finiteFill, Match &m) const {
  if (width < 1)
    return false;
  if (finiteFill) {
    DimExpr lastRowStart = S + upper.constant * -1 - DimExpr::of(width) - L + DimExpr::of(1);
    if (!lastRowStart.isConstant() || lastRowStart.constant > 0)
      return false;
  }
  Match trial = m;
  if (!recogniseCausal(upper, S, L, finiteFill, trial))
    return false;
  trial.window = width;
  m = trial;
  return true;
}

/// A constant mask [.., S, L] (what constant folding makes of a band with
/// static sizes) that keeps d(i) - W < j <= d(i) for some d >= 0 and W < L.
bool AttentionMatcher::constantBand(Value mask, bool additive, const DimExpr &S,
                                    const DimExpr &L, bool finiteFill, Match &m) const {
  auto c = mask.getDefiningOp<ConstantOp>();
  auto type = rankedOf(mask);
  if (!c || !type || type.getRank() < 2 || !type.hasStaticShape())
    return false;
  for (int64_t a = 0; a + 2 < type.getRank(); ++a)
    if (type.getDimSize(a) != 1)
      return false;
  const int64_t rows = type.getDimSize(type.getRank() - 2), cols = type.getDimSize(type.getRank() - 1);
  if (S != DimExpr::of(rows) || L != DimExpr::of(cols) || rows * cols > (int64_t)1 << 26)
    return false;
  bool finite = false;
  std::optional<std::vector<char>> entries = keptEntries(c.getValue(), additive, finite);
  if (!entries || (int64_t)entries->size() != rows * cols)
    return false;
  const std::vector<char> &keep = *entries;
  // The diagonal: the last key row 0 keeps; the width: how far row
  // rows - 1 reaches back from its diagonal (clipped at key 0 or L - 1, the
  // check below decides).
  int64_t d = -1, first = -1;
  for (int64_t j = 0; j < cols; ++j)
    if (keep[(size_t)j])
      d = j;
  const char *last = keep.data() + (rows - 1) * cols;
  for (int64_t j = cols - 1; j >= 0; --j)
    if (last[j])
      first = j;
  if (d < 0 || first < 0 || first == 0)
    return false; // a triangle (or nothing): constantKeepForm's case
  const int64_t width = rows - 1 + d - first + 1;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      if ((bool)keep[(size_t)(i * cols + j)] != (j <= i + d && j > i + d - width))
        return false;
  return setBand(IndexForm{-1, 1, DimExpr::of(-d)}, width, S, L, finiteFill || finite, m);
}

/// keep = (j <= i + d) and (j > i + d - W), the two compares in either
/// order (the band NSA's and Longformer's sliding windows write): causal
/// attention with offset d within a window of W keys.
bool AttentionMatcher::recogniseBand(Value keep, const DimExpr &S, const DimExpr &L,
                                     bool finiteFill, Match &m) const {
  if (constantBand(keep, false, S, L, finiteFill, m))
    return true;
  auto both = keep.getDefiningOp<BinaryOp>();
  if (!both || both.getKind() != BinaryKind::logical_and)
    return false;
  std::optional<IndexForm> a = keepForm(both.getLhs(), S, L), b = keepForm(both.getRhs(), S, L);
  if (!a || !b)
    return false;
  for (auto [upper, lower] : {std::pair{*a, *b}, std::pair{*b, *a}}) {
    // upper: j - i - d <= 0; lower: i - j + c <= 0, i.e. j >= i + c.
    if (upper.row != -1 || upper.col != 1 || lower.row != 1 || lower.col != -1)
      continue;
    // j >= i + c is j > d(i) - W for W = d - c + 1 = -(upper.constant + c) + 1.
    DimExpr width = (upper.constant + lower.constant) * -1 + DimExpr::of(1);
    if (width.isConstant() && setBand(upper, width.constant, S, L, finiteFill, m))
      return true;
  }
  return false;
}

/// scatter_elements(full(-inf-ish) [B, S, L] or [B, 1, S, L], indices
/// [.., S, K], 0, axis = last): the keys each query selected, shared by the
/// heads. `asAdded` is the mask as added to the scores, [B, 1, S, L]. The
/// indices must cover every row (their leading dims are the data's), or
/// unlisted rows would be fully masked rather than "no selection".
Value AttentionMatcher::topkSelection(Value mask, Value asAdded, const DimExpr &B,
                                      const DimExpr &S, const DimExpr &L, int64_t block) const {
  // With `block`, the selection is over the L / block key blocks (NSA's
  // selection branch); the caller checked the expansion to keys.
  const DimExpr selectable = block ? DimExpr::of(L.constant / block) : L;
  auto scatter = mask.getDefiningOp<ScatterElementsOp>();
  if (!scatter || scatter.getReduction() != ScatterReduction::none)
    return Value();
  // Indices from TopK over the keys are in [0, L) and distinct; others may
  // be negative (scatter wraps them) or repeat.
  auto topk = scatter.getIndices().getDefiningOp<TopKOp>();
  if (!topk || topk.getIndices() != scatter.getIndices())
    return Value();
  auto topkInput = rankedOf(topk.getInput());
  int64_t topkAxis = (int64_t)topk.getAxis();
  OptDim ranked = dims.dim(topk.getInput(), topkAxis < 0 ? topkAxis + topkInput.getRank() : topkAxis);
  if (!ranked || *ranked != selectable ||
      (topkAxis != -1 && topkAxis != topkInput.getRank() - 1))
    return Value();
  auto data = rankedOf(scatter.getInput()), idx = rankedOf(scatter.getIndices());
  int64_t r = data.getRank(), axis = (int64_t)scatter.getAxis();
  std::optional<double> fill = uniformValue(scatter.getInput()),
                        zero = uniformValue(scatter.getUpdates());
  // -inf only: a finite fill averages a row whose selected keys are all hidden.
  if ((r != 3 && r != 4) || idx.getRank() != r || (axis != r - 1 && axis != -1) || !fill ||
      !std::isinf(*fill) || *fill > 0 || !zero || *zero != 0.0 ||
      !idx.getElementType().isInteger(64))
    return Value();
  OptDim rows = dims.dim(mask, r - 2), cols = dims.dim(mask, r - 1);
  if (!rows || !cols || *rows != S || *cols != selectable)
    return Value();
  // Lined up with the scores [B, H, S, L]: batch first, one head.
  auto same = [&](Value a, int64_t i, Value b, int64_t j) {
    OptDim x = dims.dim(a, i), y = dims.dim(b, j);
    return x && y && *x == *y;
  };
  auto added = rankedOf(asAdded);
  OptDim heads = added.getRank() == 4 ? dims.dim(asAdded, 1) : std::nullopt;
  OptDim batch = dims.dim(asAdded, 0);
  if (!heads || !heads->isConstant() || heads->constant != 1 || !same(mask, 0, asAdded, 0) ||
      !same(mask, r - 2, asAdded, 2) || (!block && !same(mask, r - 1, asAdded, 3)) || !batch ||
      *batch != B)
    return Value();
  for (int64_t a = 0; a + 1 < r; ++a) {
    OptDim x = dims.dim(scatter.getIndices(), a), y = dims.dim(mask, a);
    if (!x || !y || *x != *y)
      return Value();
  }
  return scatter.getIndices();
}

/// reshape(expand(reshape(sel, [B, S, n, 1]), [B, S, n, b]), [B, S, L]):
/// a selection `sel` over n blocks of keys widened to the L = n b keys, each
/// key taking its block's value (NSA's selected blocks as a token mask). The
/// element count of the last reshape proves b = L / n; L must be static.
/// Returns topkSelection's indices (of blocks) and sets `block`.
Value AttentionMatcher::blockSelection(Value mask, Value asAdded, const DimExpr &B,
                                       const DimExpr &S, const DimExpr &L, int64_t &block) const {
  auto widened = mask.getDefiningOp<ReshapeOp>();
  auto expand = widened ? widened.getInput().getDefiningOp<ExpandOp>() : nullptr;
  auto split = expand ? expand.getInput().getDefiningOp<ReshapeOp>() : nullptr;
  if (!split || !L.isConstant() || L.constant <= 0)
    return Value();
  Value selection = split.getInput();
  auto sel = rankedOf(selection), blocks = rankedOf(split.getResult());
  auto keys = rankedOf(widened.getResult()), wide = rankedOf(expand.getResult());
  if (!sel || !blocks || !keys || !wide || sel.getRank() != 3 || blocks.getRank() != 4 ||
      wide.getRank() != 4 || keys.getRank() != 3 || sel.isDynamicDim(2) ||
      blocks.isDynamicDim(2) || blocks.isDynamicDim(3) || blocks.getDimSize(3) != 1 ||
      blocks.getDimSize(2) != sel.getDimSize(2))
    return Value();
  const int64_t n = sel.getDimSize(2);
  if (n <= 0 || L.constant % n != 0)
    return Value();
  // Batch and queries stay as they are through every step, and the keys are
  // L: the expanded axis then holds L / n copies of each block's value.
  auto same = [&](Value a, int64_t i, Value b, int64_t j) {
    OptDim x = dims.dim(a, i), y = dims.dim(b, j);
    return x && y && *x == *y;
  };
  for (int64_t a = 0; a < 2; ++a)
    if (!same(selection, a, split.getResult(), a) || !same(selection, a, expand.getResult(), a) ||
        !same(selection, a, widened.getResult(), a))
      return Value();
  OptDim wideBlocks = dims.dim(expand.getResult(), 2), last = dims.dim(widened.getResult(), 2);
  if (!wideBlocks || *wideBlocks != DimExpr::of(n) || !last || *last != L)
    return Value();
  Value indices = topkSelection(selection, asAdded, B, S, L, L.constant / n);
  // The keys per query (k b) are a type's dim: k must be static.
  if (!indices || rankedOf(indices).isDynamicDim(rankedOf(indices).getRank() - 1))
    return Value();
  block = L.constant / n;
  return indices;
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
