//===- AttentionMasks.cpp - masks of exported attention -----------------===//
//
// ds-raise-attention's recognisers of the masks exporters write: causal
// triangles and sliding-window bands as index arithmetic (Range, Trilu,
// compares), as constants (dense or blob) and as additive fills, and top-k
// selections of keys or of key blocks scattered into a -inf mask.
//
//===----------------------------------------------------------------------===//
#include "AttentionMatcher.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>
#include <cstring>
#include <vector>

using namespace mlir;
using namespace mlir::ds;

namespace mlir::ds::attention_raising {

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

namespace {
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

/// A constant mask [1, .., S, L] (the whole [S, L], not a row or column
/// broadcast), as which of its entries keep their key.
struct ConstantMask {
  int64_t rows = 0, cols = 0;
  std::vector<char> keep; ///< row-major [rows, cols]
  bool finite = false;    ///< an additive mask hides some key with a finite fill

  bool kept(int64_t i, int64_t j) const { return keep[(size_t)(i * cols + j)]; }
  /// Whether kept(i, j) == pattern(i, j) everywhere.
  template <class Pattern>
  bool follows(Pattern pattern) const {
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        if (kept(i, j) != pattern(i, j))
          return false;
    return true;
  }
};

std::optional<ConstantMask> readConstantMask(Value mask, bool additive, const DimExpr &S,
                                             const DimExpr &L) {
  auto c = mask.getDefiningOp<ConstantOp>();
  auto type = rankedOf(mask);
  if (!c || !type || type.getRank() < 2 || !type.hasStaticShape())
    return std::nullopt;
  for (int64_t a = 0; a + 2 < type.getRank(); ++a)
    if (type.getDimSize(a) != 1)
      return std::nullopt;
  ConstantMask m;
  m.rows = type.getDimSize(type.getRank() - 2);
  m.cols = type.getDimSize(type.getRank() - 1);
  if (S != DimExpr::of(m.rows) || L != DimExpr::of(m.cols) || m.rows * m.cols > (int64_t)1 << 26)
    return std::nullopt;
  std::optional<std::vector<char>> entries = keptEntries(c.getValue(), additive, m.finite);
  if (!entries || (int64_t)entries->size() != m.rows * m.cols)
    return std::nullopt;
  m.keep = std::move(*entries);
  return m;
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
} // namespace

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
  std::optional<ConstantMask> keep = readConstantMask(mask, additive, S, L);
  if (!keep)
    return std::nullopt;
  finiteFill |= keep->finite;
  const int64_t rows = keep->rows, cols = keep->cols;
  // The diagonal from row 0: keys 0 .. offset are kept.
  int64_t offset = -1;
  while (offset + 1 < cols && keep->kept(0, offset + 1))
    ++offset;
  if (keep->follows([&](int64_t i, int64_t j) { return j <= i + offset; }))
    return IndexForm{-1, 1, DimExpr::of(-offset)};
  // The other triangle, keys j >= i + c (a window's lower edge, which
  // constant folding leaves next to a causal compare, or the keys a causal
  // mask hides, triu(ones, 1), under a `not`). Only as a keep-mask (a
  // band's half): alone it is no causal form. For c > 0 row 0 keeps c ..
  // L - 1 (the last rows may keep nothing); otherwise the last row keeps
  // rows - 1 + c .. L - 1 (earlier rows may be clipped at key 0).
  if (additive)
    return std::nullopt;
  auto firstKept = [&](int64_t row) {
    int64_t first = 0;
    while (first < cols && !keep->kept(row, first))
      ++first;
    return first;
  };
  const int64_t top = firstKept(0), bottom = top > 0 ? top : firstKept(rows - 1);
  if (bottom == 0 || bottom >= cols)
    return std::nullopt;
  const int64_t edge = top > 0 ? top : bottom - (rows - 1);
  if (keep->follows([&](int64_t i, int64_t j) { return j >= i + edge; }))
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
  std::optional<ConstantMask> keep = readConstantMask(mask, additive, S, L);
  if (!keep)
    return false;
  const int64_t rows = keep->rows, cols = keep->cols;
  // The diagonal: the last key row 0 keeps; the width: how far row
  // rows - 1 reaches back from its diagonal (clipped at key 0 or L - 1, the
  // check below decides).
  int64_t d = -1, first = -1;
  for (int64_t j = 0; j < cols; ++j)
    if (keep->kept(0, j))
      d = j;
  for (int64_t j = cols - 1; j >= 0; --j)
    if (keep->kept(rows - 1, j))
      first = j;
  if (d < 0 || first < 0 || first == 0)
    return false; // a triangle (or nothing): constantKeepForm's case
  const int64_t width = rows - 1 + d - first + 1;
  if (!keep->follows([&](int64_t i, int64_t j) { return j <= i + d && j > i + d - width; }))
    return false;
  return setBand(IndexForm{-1, 1, DimExpr::of(-d)}, width, S, L, finiteFill || keep->finite, m);
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

} // namespace mlir::ds::attention_raising
