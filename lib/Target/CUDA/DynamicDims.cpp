//===- DynamicDims.cpp - run-time sizes of a cuda program -----------------===//
#include "DynamicDims.h"

#include "ds/Dialect/DS/IR/DSOps.h"
#include "ds/Target/Artifact/ArtifactWriter.h"
#include "ds-runtime/ds_artifact_format.h"

#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::cuda;

Size Size::of(const DimExpr &e) {
  if (e.isConstant())
    return Size::of(e.constant);
  Size s;
  s.forms.push_back(e);
  return s;
}

Size Size::operator*(const Size &o) const {
  assert(divisor == 1 && o.divisor == 1 && "multiply before dividing");
  Size r{factor * o.factor, forms, 1};
  r.forms.append(o.forms.begin(), o.forms.end());
  if (r.factor == 0)
    r.forms.clear();
  return r;
}

Size Size::ceilDiv(int64_t d) const {
  assert(divisor == 1 && d > 0);
  if (isStatic())
    return Size::of((factor + d - 1) / d);
  // Exact when the constant factor divides: no rounding left for the runtime.
  if (factor % d == 0)
    return Size{factor / d, forms, 1};
  return Size{factor, forms, d};
}

std::string cuda::formC(const DimExpr &e) {
  if (e.isConstant())
    return std::to_string(e.constant);
  SmallVector<std::string> parts;
  for (auto [symbol, coefficient] : e.terms) {
    std::string s = "s" + std::to_string(symbol);
    parts.push_back(coefficient == 1 ? s : std::to_string(coefficient) + " * " + s);
  }
  if (e.constant)
    parts.push_back(std::to_string(e.constant));
  if (parts.size() == 1 && e.terms.front().second == 1)
    return parts.front();
  std::string out = "(" + llvm::join(parts, " + ") + ")";
  // "+ -3" reads badly in generated code.
  for (size_t at; (at = out.find("+ -")) != std::string::npos;)
    out.replace(at, 3, "- ");
  return out;
}

std::string Size::c() const {
  if (isStatic())
    return std::to_string(staticValue());
  SmallVector<std::string> parts;
  if (factor != 1)
    parts.push_back(std::to_string(factor));
  for (const DimExpr &e : forms)
    parts.push_back(formC(e));
  std::string product = parts.size() == 1 ? parts.front() : "(" + llvm::join(parts, " * ") + ")";
  if (divisor == 1)
    return product;
  return "((" + product + " + " + std::to_string(divisor - 1) + ") / " + std::to_string(divisor) +
         ")";
}

SmallVector<int64_t> Size::program() const {
  SmallVector<int64_t> p;
  auto push = [&](int64_t op, int64_t operand) {
    p.push_back(op);
    p.push_back(operand);
  };
  push(DSX_SIZE_CONST, factor);
  for (const DimExpr &e : forms) {
    push(DSX_SIZE_CONST, e.constant);
    for (auto [symbol, coefficient] : e.terms) {
      push(DSX_SIZE_SYMBOL, symbol);
      if (coefficient != 1) {
        push(DSX_SIZE_CONST, coefficient);
        push(DSX_SIZE_MUL, 0);
      }
      push(DSX_SIZE_ADD, 0);
    }
    push(DSX_SIZE_MUL, 0);
  }
  if (divisor != 1) {
    push(DSX_SIZE_CONST, divisor);
    push(DSX_SIZE_CEILDIV, 0);
  }
  return p;
}

void cuda::appendSizeEntry(SmallVectorImpl<int64_t> &entries, ArrayRef<int64_t> key,
                           const Size &size) {
  SmallVector<int64_t> p = size.program();
  entries.append(key.begin(), key.end());
  entries.push_back((int64_t)p.size() / 2);
  entries.append(p.begin(), p.end());
}

FailureOr<std::unique_ptr<DynamicDims>> DynamicDims::build(func::FuncOp func) {
  auto dims = std::make_unique<DynamicDims>();
  std::vector<std::vector<int64_t>> symbols = inputDimSymbols(func);
  auto isDynamic = [](Type t) {
    auto ranked = dyn_cast<RankedTensorType>(t);
    return ranked && !ranked.hasStaticShape();
  };
  // Static inputs can still give dynamic values (a Range to an input's
  // value): those are checked (and refused) below like any other.
  bool any = false;
  func.walk([&](Operation *op) {
    any = any || llvm::any_of(op->getResultTypes(), isDynamic);
  });
  any = any || llvm::any_of(func.getArgumentTypes(), isDynamic);
  if (!any)
    return dims; // static: no analysis needed
  dims->analysis_ = std::make_unique<SymbolicDims>(func);
  for (BlockArgument arg : func.getArguments())
    for (auto [axis, k] : llvm::enumerate(symbols[arg.getArgNumber()])) {
      if (k < 0)
        continue;
      OptDim e = dims->analysis_->dim(arg, axis);
      assert(e && e->constant == 0 && e->terms.size() == 1 && "an input dim is its own unknown");
      dims->symbolOf_[e->terms.front().first] = (unsigned)k;
      dims->numSymbols_ = std::max(dims->numSymbols_, (unsigned)k + 1);
    }
  // Every dynamic dim of every value the kernels or steps see must resolve.
  bool ok = true;
  func.walk([&](Operation *op) {
    for (Value v : op->getResults()) {
      auto type = dyn_cast<RankedTensorType>(v.getType());
      if (!type || !ok)
        continue;
      for (int64_t a = 0; a < type.getRank(); ++a)
        if (type.isDynamicDim(a) && failed(dims->resolve(v, a))) {
          op->emitError("cuda: dim ")
              << a << " of " << type << " is not a sum of input dims (it depends on a value only "
              << "a run knows); the CUDA backend takes sizes at launch only for those: bind the "
              << "dynamic dims with --ds-input-shape";
          ok = false;
          break;
        }
    }
  });
  if (!ok)
    return failure();
  return dims->checkBroadcasts(func) ? std::move(dims) : FailureOr<std::unique_ptr<DynamicDims>>();
}

/// Kernels read a broadcast operand dim as index 0 when it is 1 and as the
/// result's index otherwise: sound only when the dim is provably 1 or the
/// result's. A dim that only a run could tell (s0 against 4) would make the
/// kernel read past the operand for a bad input shape, which the CPU
/// backend reports instead; it is refused here.
bool DynamicDims::checkBroadcasts(func::FuncOp func) const {
  bool ok = true;
  func.walk([&](Operation *op) {
    if (!ok || (getOpClass(op) != DSX_OP_ELEMENTWISE && !isa<ExpandOp>(op)))
      return;
    for (Value result : op->getResults()) {
      auto rt = dyn_cast<RankedTensorType>(result.getType());
      for (Value operand : isa<ExpandOp>(op) ? ValueRange(op->getOperand(0)) : op->getOperands()) {
        auto ot = dyn_cast<RankedTensorType>(operand.getType());
        if (!rt || !ot || ot.getRank() > rt.getRank())
          continue;
        int64_t lead = rt.getRank() - ot.getRank();
        for (int64_t a = 0; a < ot.getRank() && ok; ++a) {
          DimExpr d = dim(operand, a), r = dim(result, lead + a);
          if (d == r || (d.isConstant() && d.constant == 1) ||
              (d.isConstant() && r.isConstant()))
            continue;
          op->emitError("cuda: cannot tell before a run whether dim ")
              << a << " of operand " << ot << " broadcasts against the result's dim "
              << (lead + a) << " (" << rt << "); the CUDA backend needs it provably 1 or "
              << "equal: bind the dynamic dims with --ds-input-shape";
          ok = false;
        }
      }
    }
  });
  return ok;
}

FailureOr<DimExpr> DynamicDims::resolve(Value v, int64_t axis) const {
  auto type = cast<RankedTensorType>(v.getType());
  if (!type.isDynamicDim(axis))
    return DimExpr::of(type.getDimSize(axis));
  if (!analysis_)
    return failure();
  return overSymbols(analysis_->dim(v, axis));
}

FailureOr<DimExpr> DynamicDims::overSymbols(const OptDim &e) const {
  if (!e)
    return failure();
  DimExpr out = DimExpr::of(e->constant);
  for (auto [unknown, coefficient] : e->terms) {
    auto it = symbolOf_.find(unknown);
    if (it == symbolOf_.end())
      return failure(); // a size no input dim names
    out = out + DimExpr{0, {{it->second, coefficient}}};
  }
  return out;
}

DimExpr DynamicDims::dim(Value v, int64_t axis) const {
  FailureOr<DimExpr> e = resolve(v, axis);
  assert(succeeded(e) && "build() checked every dynamic dim");
  return *e;
}

FailureOr<SmallVector<DimExpr>> DynamicDims::elements(Value v) const {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!analysis_ || !type || !type.hasStaticShape())
    return failure();
  SmallVector<DimExpr> out;
  for (int64_t i = 0; i < type.getNumElements(); ++i) {
    FailureOr<DimExpr> e = overSymbols(analysis_->element(v, i));
    if (failed(e))
      return failure();
    out.push_back(*e);
  }
  return out;
}

Size DynamicDims::product(Value v, int64_t begin, int64_t end) const {
  Size s = Size::of(1);
  for (int64_t a = begin; a < end; ++a)
    s = s * size(v, a);
  return s;
}

SmallVector<std::string, 6> DynamicDims::dimsC(Value v) const {
  SmallVector<std::string, 6> out;
  for (int64_t a = 0; a < cast<RankedTensorType>(v.getType()).getRank(); ++a)
    out.push_back(formC(dim(v, a)));
  return out;
}

void DynamicDims::annotateResults(ArrayRef<Value> outputs, SmallVectorImpl<NamedAttribute> &attrs,
                                  Builder &b) const {
  SmallVector<int64_t> entries;
  for (auto [index, v] : llvm::enumerate(outputs)) {
    auto type = cast<RankedTensorType>(v.getType());
    for (int64_t a = 0; a < type.getRank(); ++a)
      if (type.isDynamicDim(a))
        appendSizeEntry(entries, {(int64_t)index, a}, size(v, a));
  }
  if (!entries.empty())
    attrs.push_back(b.getNamedAttr("dynamic_dims", b.getDenseI64ArrayAttr(entries)));
}
