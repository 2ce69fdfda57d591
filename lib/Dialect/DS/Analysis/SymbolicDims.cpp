//===- SymbolicDims.cpp - run-time sizes as linear expressions ------------===//
#include "ds/Dialect/DS/Analysis/SymbolicDims.h"

#include "ds/Dialect/DS/IR/DSOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/TypeSwitch.h"

#include <algorithm>
#include <map>

using namespace mlir;
using namespace mlir::ds;

//===----------------------------------------------------------------------===//
// DimExpr
//===----------------------------------------------------------------------===//

static DimExpr combine(const DimExpr &a, const DimExpr &b, int64_t sign) {
  std::map<unsigned, int64_t> sum;
  for (auto [u, c] : a.terms)
    sum[u] += c;
  for (auto [u, c] : b.terms)
    sum[u] += sign * c;
  DimExpr r = DimExpr::of(a.constant + sign * b.constant);
  for (auto [u, c] : sum)
    if (c != 0)
      r.terms.push_back({u, c});
  return r;
}

DimExpr DimExpr::operator+(const DimExpr &o) const { return combine(*this, o, 1); }
DimExpr DimExpr::operator-(const DimExpr &o) const { return combine(*this, o, -1); }
DimExpr DimExpr::operator*(int64_t factor) const {
  if (factor == 0)
    return DimExpr::of(0);
  DimExpr r = DimExpr::of(constant * factor);
  for (auto [u, c] : terms)
    r.terms.push_back({u, c * factor});
  return r;
}

//===----------------------------------------------------------------------===//
// The walk
//===----------------------------------------------------------------------===//

namespace {
constexpr int64_t kMaxValues = 16;

RankedTensorType rankedOf(Value v) { return dyn_cast<RankedTensorType>(v.getType()); }

} // namespace

bool mlir::ds::isWideningIntCast(CastOp cast) {
  auto in = dyn_cast<IntegerType>(rankedOf(cast.getInput()).getElementType());
  auto out = dyn_cast<IntegerType>(rankedOf(cast.getResult()).getElementType());
  return in && out && out.getWidth() > 1 && out.getWidth() >= in.getWidth();
}

SymbolicDims::SymbolicDims(func::FuncOp func) {
  for (BlockArgument arg : func.getArguments()) {
    auto type = rankedOf(arg);
    if (!type)
      continue;
    auto names = func.getArgAttrOfType<ArrayAttr>(arg.getArgNumber(), "ds.dim_symbols");
    auto &d = dims_[arg];
    for (int64_t a = 0; a < type.getRank(); ++a) {
      if (!type.isDynamicDim(a)) {
        d.push_back(DimExpr::of(type.getDimSize(a)));
        continue;
      }
      StringRef name;
      if (names && a < (int64_t)names.size())
        if (auto s = dyn_cast<StringAttr>(names[a]))
          name = s.getValue();
      if (name.empty()) {
        d.push_back(DimExpr{0, {{unknown(arg, a), 1}}});
        continue;
      }
      auto [it, inserted] = symbols_.try_emplace(name, (unsigned)(unknowns_.size() + symbols_.size()));
      d.push_back(DimExpr{0, {{it->second, 1}}});
    }
  }
  for (Operation &op : func.getBody().front())
    visit(&op);
}

unsigned SymbolicDims::unknown(Value v, int64_t axis) {
  auto [it, inserted] =
      unknowns_.try_emplace({v, axis}, (unsigned)(unknowns_.size() + symbols_.size()));
  return it->second;
}

OptDim SymbolicDims::dim(Value tensor, int64_t axis) const {
  auto it = dims_.find(tensor);
  if (it != dims_.end() && axis >= 0 && axis < (int64_t)it->second.size())
    return it->second[axis];
  auto type = rankedOf(tensor);
  if (type && axis >= 0 && axis < type.getRank() && !type.isDynamicDim(axis))
    return DimExpr::of(type.getDimSize(axis));
  return std::nullopt;
}

OptDim SymbolicDims::element(Value tensor, int64_t index) const {
  auto it = values_.find(tensor);
  if (it == values_.end() || index < 0 || index >= (int64_t)it->second.size())
    return std::nullopt;
  return it->second[index];
}

OptDim SymbolicDims::scalar(Value tensor) const {
  auto type = rankedOf(tensor);
  if (!type || !type.hasStaticShape() || type.getNumElements() != 1)
    return std::nullopt;
  return element(tensor, 0);
}

/// numpy broadcasting: the operand dims aligned to `axis` that are not 1
/// must agree; unknown when two of them are not provably equal.
OptDim SymbolicDims::broadcastDim(ValueRange operands, int64_t rank, int64_t axis) const {
  OptDim found;
  bool any = false;
  for (Value v : operands) {
    auto type = rankedOf(v);
    if (!type)
      return std::nullopt;
    int64_t a = axis - (rank - type.getRank());
    if (a < 0 || (!type.isDynamicDim(a) && type.getDimSize(a) == 1))
      continue;
    OptDim d = dim(v, a);
    if (!d)
      return std::nullopt;
    if (any && *found != *d)
      return std::nullopt;
    found = d;
    any = true;
  }
  return any ? found : DimExpr::of(1);
}

/// The -1 entry of a reshape: the input's element count over the other
/// entries, when the input has at most one unknown dim and the other entries
/// are constants dividing the input's constant factor.
OptDim SymbolicDims::inferredDim(ReshapeOp r, int64_t axis) const {
  auto in = rankedOf(r.getInput());
  auto out = rankedOf(r.getResult());
  if (!in || !out)
    return std::nullopt;
  // elements = factor * product(symbolic); a symbolic dim kept by the
  // target shape (e.g. [b, s, -1] of [b, s, 4, 16]) cancels.
  int64_t factor = 1;
  SmallVector<DimExpr, 2> symbolic;
  for (int64_t a = 0; a < in.getRank(); ++a) {
    OptDim d = dim(r.getInput(), a);
    if (!d)
      return std::nullopt;
    if (d->isConstant())
      factor *= d->constant;
    else
      symbolic.push_back(*d);
  }
  int64_t others = 1;
  for (int64_t a = 0; a < out.getRank(); ++a) {
    if (a == axis)
      continue;
    OptDim e = element(r.getShape(), a);
    if (e && e->isConstant() && e->constant == 0 && !r.getAllowzero())
      e = dim(r.getInput(), a);
    if (!e)
      return std::nullopt;
    if (!e->isConstant()) {
      auto same = llvm::find(symbolic, *e);
      if (same == symbolic.end())
        return std::nullopt;
      symbolic.erase(same);
      continue;
    }
    if (e->constant <= 0)
      return std::nullopt;
    others *= e->constant;
  }
  if (factor % others || symbolic.size() > 1)
    return std::nullopt;
  DimExpr result = DimExpr::of(factor / others);
  return symbolic.empty() ? result : symbolic.front() * (factor / others);
}

/// The length of a slice [start, end) by step 1 of a dim of size `size`, as
/// ONNX clamps it: numbers when all three are, `size - start` when the slice
/// runs to the end from a start that is a nonnegative combination of sizes.
static OptDim slicedDim(OptDim size, OptDim start, OptDim end, OptDim step) {
  if (!size || !start || !end || !step || !step->isConstant() || step->constant != 1)
    return std::nullopt;
  if (size->isConstant() && start->isConstant() && end->isConstant()) {
    int64_t n = size->constant;
    auto clamp = [n](int64_t x) { return std::clamp<int64_t>(x < 0 ? x + n : x, 0, n); };
    return DimExpr::of(std::max<int64_t>(0, clamp(end->constant) - clamp(start->constant)));
  }
  bool toEnd = end->isConstant() && end->constant >= (INT64_MAX >> 1);
  // A start of sizes (e.g. "keys - 1" counted from a query length) stays
  // inside the dim in any program that exported it.
  if (toEnd && start->isNonNegative() && (*size - *start).isNonNegative())
    return *size - *start;
  if (toEnd && start->isConstant() && start->constant == 0)
    return size;
  return std::nullopt;
}

/// A fusion group is seen through: its body arguments are its inputs, its
/// results what the body yields (the CUDA emitter asks about both).
void SymbolicDims::visitGroup(FusionGroupOp group) {
  Block &body = group.getBody().front();
  // Copies first: inserting `to` may grow the map and move `from`'s entry.
  auto forward = [&](Value from, Value to) {
    if (auto it = dims_.find(from); it != dims_.end()) {
      SmallVector<OptDim, 4> copy = it->second;
      dims_[to] = std::move(copy);
    }
    if (auto it = values_.find(from); it != values_.end()) {
      SmallVector<OptDim, 4> copy = it->second;
      values_[to] = std::move(copy);
    }
  };
  for (auto [arg, input] : llvm::zip(body.getArguments(), group.getInputs()))
    forward(input, arg);
  for (Operation &inner : body.without_terminator())
    visit(&inner);
  for (auto [result, yielded] :
       llvm::zip(group.getResults(), cast<YieldOp>(body.getTerminator()).getValues()))
    forward(yielded, result);
}

void SymbolicDims::visit(Operation *op) {
  if (auto group = dyn_cast<FusionGroupOp>(op))
    return visitGroup(group);
  for (Value result : op->getResults()) {
    auto type = rankedOf(result);
    if (!type)
      continue;
    int64_t rank = type.getRank();
    // What the op says about each dynamic dim; static dims are in the type.
    auto computed = [&](int64_t a) -> OptDim {
      return llvm::TypeSwitch<Operation *, OptDim>(op)
          .Case<TransposeOp>([&](TransposeOp t) { return dim(t.getInput(), t.getPerm()[a]); })
          .Case<BinaryOp, CompareOp, SelectOp>(
              [&](Operation *o) { return broadcastDim(o->getOperands(), rank, a); })
          .Case<MatMulOp>([&](MatMulOp m) -> OptDim {
            auto lt = rankedOf(m.getLhs()), rt = rankedOf(m.getRhs());
            if (!lt || !rt || lt.getRank() < 2 || rt.getRank() < 2)
              return std::nullopt;
            if (a == rank - 1)
              return dim(m.getRhs(), rt.getRank() - 1);
            if (a == rank - 2)
              return dim(m.getLhs(), lt.getRank() - 2);
            // Batch dims broadcast; the matrix dims do not take part.
            int64_t fromEnd = rank - a; // >= 3
            OptDim found;
            bool any = false;
            for (auto [v, t] : {std::pair{m.getLhs(), lt}, std::pair{m.getRhs(), rt}}) {
              int64_t b = t.getRank() - fromEnd;
              if (b < 0 || (!t.isDynamicDim(b) && t.getDimSize(b) == 1))
                continue;
              OptDim d = dim(v, b);
              if (!d || (any && *found != *d))
                return std::nullopt;
              found = d;
              any = true;
            }
            return any ? found : DimExpr::of(1);
          })
          .Case<ReshapeOp>([&](ReshapeOp r) -> OptDim {
            OptDim e = element(r.getShape(), a);
            if (e && e->isConstant() && e->constant == 0 && !r.getAllowzero())
              return dim(r.getInput(), a);
            if (e && e->isConstant() && e->constant < 0)
              return inferredDim(r, a); // -1: what the other dims leave
            return e;
          })
          .Case<ExpandOp>([&](ExpandOp x) -> OptDim {
            auto it = rankedOf(x.getInput()), st = rankedOf(x.getShape());
            if (!st || st.isDynamicDim(0))
              return std::nullopt;
            int64_t b = a - (rank - it.getRank());
            OptDim e = element(x.getShape(), a - (rank - st.getDimSize(0)));
            if (b < 0 || (!it.isDynamicDim(b) && it.getDimSize(b) == 1))
              return e;
            OptDim in = dim(x.getInput(), b);
            if (e && e->isConstant() && e->constant == 1)
              return in;
            return in && e && *in == *e ? in : std::nullopt;
          })
          .Case<ConcatOp>([&](ConcatOp c) -> OptDim {
            int64_t axis = (int64_t)c.getAxis();
            if (axis < 0)
              axis += rank;
            if (a != axis)
              return broadcastDim(c.getInputs(), rank, a);
            DimExpr sum = DimExpr::of(0);
            for (Value v : c.getInputs()) {
              OptDim d = dim(v, a);
              if (!d)
                return std::nullopt;
              sum = sum + *d;
            }
            return sum;
          })
          .Case<GatherOp>([&](GatherOp g) -> OptDim {
            int64_t axis = (int64_t)g.getAxis(), ir = rankedOf(g.getIndices()).getRank();
            if (axis < 0)
              axis += rankedOf(g.getInput()).getRank();
            if (a < axis)
              return dim(g.getInput(), a);
            if (a < axis + ir)
              return dim(g.getIndices(), a - axis);
            return dim(g.getInput(), a - ir + 1);
          })
          .Case<RangeOp>([&](RangeOp r) -> OptDim {
            OptDim start = scalar(r.getStart()), limit = scalar(r.getLimit()),
                   delta = scalar(r.getDelta());
            if (!start || !limit || !delta || !delta->isConstant() || delta->constant != 1)
              return std::nullopt;
            // The length is limit - start only when that cannot be negative.
            DimExpr length = *limit - *start;
            return length.isNonNegative() ? OptDim(length) : std::nullopt;
          })
          .Case<FillOp>([&](FillOp f) { return element(f.getShape(), a); })
          .Case<TopKOp>([&](TopKOp t) -> OptDim {
            int64_t axis = (int64_t)t.getAxis();
            if (axis < 0)
              axis += rank;
            return a == axis ? scalar(t.getK()) : dim(t.getInput(), a);
          })
          .Case<ReduceOp>([&](ReduceOp r) -> OptDim {
            int64_t inRank = rankedOf(r.getInput()).getRank();
            auto reduced = [&](int64_t d) {
              return llvm::any_of(r.getAxes(), [&](int64_t x) { return x == d || x + inRank == d; });
            };
            if (r.getKeepdims())
              return reduced(a) ? OptDim(DimExpr::of(1)) : dim(r.getInput(), a);
            for (int64_t d = 0, kept = 0; d < inRank; ++d)
              if (!reduced(d) && kept++ == a)
                return dim(r.getInput(), d);
            return std::nullopt;
          })
          .Case<EinsumOp>([&](EinsumOp e) -> OptDim {
            // An output letter takes its size from an input that has it.
            StringRef eq = e.getEquation();
            size_t arrow = eq.find("->");
            if (arrow == StringRef::npos || eq.contains('.'))
              return std::nullopt;
            StringRef out = eq.drop_front(arrow + 2).trim();
            if (a >= (int64_t)out.size())
              return std::nullopt;
            SmallVector<StringRef> terms;
            eq.take_front(arrow).split(terms, ',');
            for (auto [i, term] : llvm::enumerate(terms)) {
              size_t at = term.trim().find(out[a]);
              if (at != StringRef::npos && i < e.getInputs().size())
                return dim(e.getInputs()[i], (int64_t)at);
            }
            return std::nullopt;
          })
          .Case<SliceOp>([&](SliceOp sl) -> OptDim {
            // Axes the slice does not name keep their size.
            auto axesType = rankedOf(sl.getAxes());
            if (!axesType || !axesType.hasStaticShape())
              return std::nullopt;
            for (int64_t i = 0; i < axesType.getNumElements(); ++i) {
              OptDim named = element(sl.getAxes(), i);
              if (!named || !named->isConstant())
                return std::nullopt;
              if (named->constant == a || named->constant + rank == a)
                return slicedDim(dim(sl.getInput(), a), element(sl.getStarts(), i),
                                 element(sl.getEnds(), i), element(sl.getSteps(), i));
            }
            return dim(sl.getInput(), a);
          })
          .Case<AttentionOp, SparseAttentionOp, BlockSparseAttentionOp>([&](auto at) {
            return a == 3 ? dim(at.getValue(), 3) : dim(at.getQuery(), a);
          })
          .Default([&](Operation *o) -> OptDim {
            if (o->hasTrait<OpTrait::ds::ShapeOfFirstOperand>() && o->getNumOperands() > 0)
              return dim(o->getOperand(0), a);
            return std::nullopt;
          });
    };
    SmallVector<OptDim, 4> d;
    for (int64_t a = 0; a < rank; ++a) {
      if (!type.isDynamicDim(a)) {
        d.push_back(DimExpr::of(type.getDimSize(a)));
        continue;
      }
      OptDim c = computed(a);
      d.push_back(c ? *c : DimExpr{0, {{unknown(result, a), 1}}});
    }
    dims_[result] = std::move(d);

    // Values of small integer tensors (shape vectors and scalars).
    if (!type.getElementType().isSignlessInteger() || !type.hasStaticShape() || rank > 1 ||
        type.getNumElements() > kMaxValues)
      continue;
    int64_t n = type.getNumElements();
    SmallVector<OptDim, 4> v(n);
    auto fromScalars = [&](Value x, int64_t i) -> OptDim {
      auto xt = rankedOf(x);
      return xt && xt.hasStaticShape() && xt.getNumElements() == 1 ? element(x, 0) : element(x, i);
    };
    llvm::TypeSwitch<Operation *>(op)
        .Case<ConstantOp>([&](ConstantOp c) {
          if (auto dense = dyn_cast<DenseIntElementsAttr>(c.getValue())) {
            int64_t i = 0;
            for (const APInt &x : dense.getValues<APInt>())
              v[i++] = DimExpr::of(x.getBitWidth() == 1 ? (int64_t)x.getZExtValue()
                                                         : x.getSExtValue());
          }
        })
        .Case<ShapeOp>([&](ShapeOp s) {
          for (int64_t i = 0; i < n; ++i)
            v[i] = dim(s.getInput(), s.getStart() + i);
        })
        .Case<GatherOp>([&](GatherOp g) {
          auto it = rankedOf(g.getInput());
          if (it.getRank() != 1 || !it.hasStaticShape())
            return;
          for (int64_t i = 0; i < n; ++i)
            if (OptDim idx = element(g.getIndices(), i); idx && idx->isConstant()) {
              int64_t k = idx->constant < 0 ? idx->constant + it.getDimSize(0) : idx->constant;
              v[i] = element(g.getInput(), k);
            }
        })
        .Case<ReshapeOp>([&](ReshapeOp r) {
          for (int64_t i = 0; i < n; ++i)
            v[i] = element(r.getInput(), i);
        })
        .Case<CastOp>([&](CastOp c) {
          // Only casts that keep every value (to integers at least as wide).
          if (!isWideningIntCast(c))
            return;
          for (int64_t i = 0; i < n; ++i)
            v[i] = element(c.getInput(), i);
        })
        .Case<ConcatOp>([&](ConcatOp c) {
          int64_t i = 0;
          for (Value x : c.getInputs()) {
            auto xt = rankedOf(x);
            if (!xt || !xt.hasStaticShape())
              return;
            for (int64_t k = 0; k < xt.getNumElements() && i < n; ++k)
              v[i++] = element(x, k);
          }
        })
        .Case<UnaryOp>([&](UnaryOp u) {
          if (u.getKind() == UnaryKind::neg)
            for (int64_t i = 0; i < n; ++i)
              if (OptDim x = element(u.getInput(), i))
                v[i] = *x * -1;
        })
        .Case<CompareOp>([&](CompareOp c) {
          // Only equality is decidable: sizes are never negative, so a size
          // compared with -1 (Expand's "keep this dim") is false.
          if (c.getKind() != CompareKind::eq)
            return;
          for (int64_t i = 0; i < n; ++i) {
            OptDim x = fromScalars(c.getLhs(), i), y = fromScalars(c.getRhs(), i);
            if (!x || !y)
              continue;
            if (*x == *y)
              v[i] = DimExpr::of(1);
            else if ((x->isConstant() && y->isConstant()) ||
                     (x->isConstant() && x->constant < 0 && y->isNonNegative()) ||
                     (y->isConstant() && y->constant < 0 && x->isNonNegative()))
              v[i] = DimExpr::of(0);
          }
        })
        .Case<SelectOp>([&](SelectOp sel) {
          for (int64_t i = 0; i < n; ++i)
            if (OptDim c = fromScalars(sel.getCondition(), i); c && c->isConstant())
              v[i] = fromScalars(c->constant ? sel.getTrueValue() : sel.getFalseValue(), i);
        })
        .Case<BinaryOp>([&](BinaryOp b) {
          for (int64_t i = 0; i < n; ++i) {
            OptDim x = fromScalars(b.getLhs(), i), y = fromScalars(b.getRhs(), i);
            if (!x || !y)
              continue;
            if (b.getKind() == BinaryKind::add)
              v[i] = *x + *y;
            else if (b.getKind() == BinaryKind::sub)
              v[i] = *x - *y;
            else if (b.getKind() == BinaryKind::mul && x->isConstant())
              v[i] = *y * x->constant;
            else if (b.getKind() == BinaryKind::mul && y->isConstant())
              v[i] = *x * y->constant;
            else if (b.getKind() == BinaryKind::div && x->isConstant() && y->isConstant() &&
                     y->constant != 0 && !(x->constant == INT64_MIN && y->constant == -1))
              v[i] = DimExpr::of(x->constant / y->constant); // integer Div truncates
          }
        });
    values_[result] = std::move(v);
  }
}
