//===- KernelScatter.cpp - ds.scatter_elements / ds.scatter_nd, gathered --===//
//
// A scatter written as a gather: output element c starts from the input's
// value and combines, in update order, every update that targets c (the
// last one wins without a reduction, as the CPU kernel applies them). Only
// the updates that can reach c are visited: for scatter_elements those on
// c's line along the axis, for scatter_nd one per index tuple. No atomics,
// one thread per output element; a KV-cache update visits its few tuples.
//
//===----------------------------------------------------------------------===//
#include "Emitters.h"
#include "KernelWriter.h"

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::cuda;

/// `acc` combined with `update` by `reduction` (NaN wins max and min on
/// floats, as the CPU kernel); bool add is logical or.
static std::string combineExpr(ScatterReduction reduction, Type t, StringRef acc,
                               StringRef update) {
  std::string a = acc.str(), u = update.str();
  bool isFloat = isa<FloatType>(t);
  switch (reduction) {
  case ScatterReduction::none: return u;
  case ScatterReduction::add: return t.isInteger(1) ? "(" + a + " || " + u + ")" : a + " + " + u;
  case ScatterReduction::mul: return a + " * " + u;
  case ScatterReduction::max:
    return isFloat ? "(isnan(" + a + ") || isnan(" + u + ") ? " + a + " + " + u + " : (" + a +
                         " > " + u + " ? " + a + " : " + u + "))"
                   : "(" + a + " > " + u + " ? " + a + " : " + u + ")";
  case ScatterReduction::min:
    return isFloat ? "(isnan(" + a + ") || isnan(" + u + ") ? " + a + " + " + u + " : (" + a +
                         " < " + u + " ? " + a + " : " + u + "))"
                   : "(" + a + " < " + u + " ? " + a + " : " + u + ")";
  }
  return u;
}

/// As combineExpr, rounded to f16 / bf16 after each update as the CPU kernel
/// stores every combined value.
static std::string combine(ScatterReduction reduction, Type t, StringRef acc, StringRef update) {
  std::string e = combineExpr(reduction, t, acc, update);
  if (reduction == ScatterReduction::none)
    return e;
  if (t.isF16())
    return "ds_round_f16(" + e + ")";
  if (t.isBF16())
    return "ds_round_bf16(" + e + ")";
  return e;
}

FailureOr<std::string> KernelWriter::computeScatter(Operation *op, ArrayRef<std::string> coords) {
  Value input = op->getOperand(0), indices = op->getOperand(1), updates = op->getOperand(2);
  Dims inShape = dims(input), idxShape = dims(indices), updShape = dims(updates);
  Type t = cast<RankedTensorType>(input.getType()).getElementType();
  std::string ct = computeType(t);
  FailureOr<std::string> start = at(input, coords);
  if (failed(start))
    return failure();
  std::string r = fresh("v");
  line() << ct << " " << r << " = " << *start << ";\n";

  if (auto scatter = dyn_cast<ScatterElementsOp>(op)) {
    int64_t axis = (int64_t)scatter.getAxis();
    if (axis < 0)
      axis += (int64_t)inShape.size();
    // The updates on c's line: same coordinates off the axis (inside the
    // updates' shape), any along it.
    std::string inside;
    for (size_t d = 0; d < inShape.size(); ++d)
      if ((int64_t)d != axis && updShape[d] != inShape[d])
        inside += (inside.empty() ? "" : " && ") + coords[d] + " < " + updShape[d];
    open(inside.empty() ? Twine("") : Twine("if (" + inside + ")"));
    std::string j = fresh("j");
    open("for (long long " + j + " = 0; " + j + " < " + updShape[axis] + "; ++" + j + ")");
    Coords at_(coords.begin(), coords.end());
    at_[axis] = j;
    FailureOr<std::string> index = at(indices, at_);
    if (failed(index))
      return failure();
    std::string target = wrappedIndex(*index, inShape[axis]);
    line() << "if (" << target << " != " << coords[axis] << ") continue;\n";
    FailureOr<std::string> u = at(updates, at_);
    if (failed(u))
      return failure();
    line() << r << " = " << combine(scatter.getReduction(), t, r, *u) << ";\n";
    close();
    close();
    return r;
  }

  // scatter_nd: indices [..., k] address the input's first k dims; update
  // p covers the input's trailing dims.
  auto scatter = cast<ScatterNDOp>(op);
  int64_t k = shapeOf(indices).back();
  if (ShapedType::isDynamic(k))
    return op->emitError("cuda: ds.scatter_nd needs a static index depth"), failure();
  size_t tuples = idxShape.size() - 1;
  std::string count = "1";
  for (size_t d = 0; d < tuples; ++d)
    count = mulC(count, idxShape[d]);
  std::string p = fresh("p");
  open("for (long long " + p + " = 0; " + p + " < " + count + "; ++" + p + ")");
  Coords tuple = delinearize(p, ArrayRef<std::string>(idxShape).take_front(tuples));
  std::string match;
  for (int64_t j = 0; j < k; ++j) {
    Coords idxCoords = tuple;
    idxCoords.push_back(std::to_string(j));
    FailureOr<std::string> index = at(indices, idxCoords);
    if (failed(index))
      return failure();
    std::string target = wrappedIndex(*index, inShape[j]);
    match += (match.empty() ? "" : " || ") + target + " != " + coords[j];
  }
  if (!match.empty())
    line() << "if (" << match << ") continue;\n";
  Coords updCoords = tuple;
  updCoords.append(coords.begin() + k, coords.end());
  FailureOr<std::string> u = at(updates, updCoords);
  if (failed(u))
    return failure();
  line() << r << " = " << combine(scatter.getReduction(), t, r, *u) << ";\n";
  close();
  return r;
}
