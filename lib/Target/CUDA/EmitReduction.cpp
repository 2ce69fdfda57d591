//===- EmitReduction.cpp - softmax / norm / reduce: one block per row ----===//
//
// The anchor reduces the trailing `rowLen` elements of its input X; the
// leading dims enumerate rows, one block each. The kernel makes one or two
// strided passes over the row to accumulate statistics in fp32 (fp64 for f64
// data; block-wide
// shuffle reductions), recomputing X's elementwise producers on each read,
// and a last pass that evaluates every group result at the row's positions
// with the anchor's value substituted (so consumers are fused).
//
//===----------------------------------------------------------------------===//
#include "Emitters.h"
#include "KernelWriter.h"

#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::cuda;

namespace {
struct RowLoop {
  KernelWriter &w;
  ArrayRef<std::string> shape; // of X
  size_t lead;                 // leading (row) dims
  Coords rowCoords;            // coordinates of the row's leading dims
  std::string rowLen;

  /// Opens `for (j ...)` over the row and returns X-coordinates of element j.
  Coords open() {
    w.open("for (long long j = threadIdx.x; j < " + rowLen + "; j += blockDim.x)");
    Coords coords = rowCoords;
    Coords tail = delinearize("j", shape.drop_front(lead));
    coords.append(tail.begin(), tail.end());
    return coords;
  }
};

/// Whether `v` is computed from `source` inside the group. A row-shaped
/// result that reads a reduce without keepdims could not be mapped back to
/// its row; one that does not read it is emitted as any other row result.
bool dependsOn(Value v, Value source) {
  SmallVector<Value> work{v};
  llvm::SmallPtrSet<Operation *, 16> seen;
  while (!work.empty()) {
    Value next = work.pop_back_val();
    if (next == source)
      return true;
    Operation *def = next.getDefiningOp();
    if (!def || !seen.insert(def).second)
      continue;
    work.append(def->operand_begin(), def->operand_end());
  }
  return false;
}

/// An integer ds.reduce, exact as the CPU's: sums, products and their
/// kin wrap in unsigned 64-bit arithmetic, max and min compare in the
/// type's signedness, an empty row's max / min is the type's lowest /
/// highest value, the mean divides the 64-bit sum (truncating).
struct IntegerReduce {
  std::string accumulator, lowest, highest;
  bool isSigned = false;

  static std::optional<IntegerReduce> of(ReduceOp reduce, Type element) {
    ReduceKind kind = reduce.getKind();
    if (kind == ReduceKind::l2 || kind == ReduceKind::log_sum || kind == ReduceKind::log_sum_exp)
      return std::nullopt;
    IntegerReduce r;
    const unsigned bits = element.getIntOrFloatBitWidth();
    r.isSigned = !element.isUnsignedInteger() && bits > 1;
    const bool compares = kind == ReduceKind::max || kind == ReduceKind::min;
    r.accumulator = compares && r.isSigned ? "long long" : "unsigned long long";
    if (r.isSigned) {
      r.lowest = bits == 64 ? "(-9223372036854775807LL - 1)"
                            : "(-" + std::to_string(uint64_t(1) << (bits - 1)) + "LL)";
      r.highest = std::to_string((uint64_t(1) << (bits - 1)) - 1) + "LL";
    } else {
      r.lowest = "0ULL";
      r.highest = bits == 64 ? "18446744073709551615ULL"
                             : std::to_string((uint64_t(1) << bits) - 1) + "ULL";
    }
    return r;
  }
  /// |v| as the 64-bit accumulator (wrapping for the lowest value).
  std::string magnitude(StringRef v) const {
    if (!isSigned)
      return v.str();
    const std::string x = "(unsigned long long)(" + v.str() + ")";
    return "(" + v.str() + " < 0 ? 0ULL - " + x + " : " + x + ")";
  }
  std::string mean(StringRef acc, StringRef n) const {
    std::string quotient =
        isSigned ? "(unsigned long long)((long long)" + acc.str() + " / (long long)" + n.str() + ")"
                 : acc.str() + " / (unsigned long long)" + n.str();
    return "(" + n.str() + " > 0 ? " + quotient + " : 0ULL)";
  }
};
} // namespace

LogicalResult cuda::emitReduction(FusionGroupOp group, Operation *anchor, const std::string &name,
                                  EmitContext &ctx) {
  Value x = anchor->getOperand(0), anchorResult = anchor->getResult(0);
  KernelWriter w(group, name, *ctx.sizes);
  Dims shape = w.dims(x);
  size_t rank = shape.size();
  size_t lead = rank; // first reduced dim
  if (auto softmax = dyn_cast<SoftmaxOp>(anchor)) {
    // I64Attr getters return uint64_t: read them as signed.
    int64_t axis = (int64_t)softmax.getAxis();
    if (axis < 0)
      axis += (int64_t)rank;
    for (size_t d = axis + 1; d < rank; ++d)
      if (!isOne(shape[d]))
        return anchor->emitError("cuda: softmax over axis ")
               << axis << " that is not the innermost (non-unit) dim is not supported (run "
               << "--ds-cuda-trailing-reductions first, as ds-compile does)";
    lead = axis;
  } else if (auto norm = dyn_cast<NormOp>(anchor)) {
    int64_t axis = (int64_t)norm.getAxis();
    lead = axis < 0 ? axis + (int64_t)rank : axis;
  } else if (auto reduce = dyn_cast<ReduceOp>(anchor)) {
    ArrayRef<int64_t> axes = reduce.getAxes();
    lead = rank - axes.size();
    for (auto [i, a] : llvm::enumerate(axes))
      if (a != (int64_t)(lead + i))
        return anchor->emitError("cuda: reduce over axes that are not the trailing dims is not "
                                 "supported (run --ds-cuda-trailing-reductions first, as "
                                 "ds-compile does)");
  }
  Type xType = cast<RankedTensorType>(x.getType()).getElementType();
  const bool integer = !isa<FloatType>(xType);
  if (integer && !isa<ReduceOp>(anchor))
    return anchor->emitError("cuda: '") << anchor->getName() << "' on non-float data is not supported";
  // Statistics in the compute type: float, double for f64 data; integer
  // reductions are exact, as the CPU kernel's (IntegerReduce below).
  const std::string ct = computeType(xType);
  std::optional<IntegerReduce> ints;
  if (integer) {
    ints = IntegerReduce::of(cast<ReduceOp>(anchor), xType);
    if (!ints)
      return anchor->emitError("cuda: reduce ")
             << stringifyReduceKind(cast<ReduceOp>(anchor).getKind()) << " on " << xType
             << " is not supported (the CPU computes it in double)";
  }
  auto f = [&](StringRef fn) { return mathFn(fn, xType); };
  Size rows = ctx.sizes->product(x, 0, (int64_t)lead);
  Size rowLen = ctx.sizes->product(x, (int64_t)lead, (int64_t)rank);

  // Results are row-shaped (X's shape) or, for reduce, of the anchor's shape.
  auto yield = cast<YieldOp>(group.getBody().front().getTerminator());
  bool isReduce = isa<ReduceOp>(anchor);
  Dims reducedShape = w.dims(anchorResult);
  for (Value v : yield.getValues()) {
    Dims s = w.dims(v);
    if (s != shape && !(isReduce && s == reducedShape))
      return group.emitError("cuda: a reduction group result of shape ")
             << v.getType() << " is neither the row shape nor the reduced shape";
    if (isReduce && s == shape && !cast<ReduceOp>(anchor).getKeepdims() &&
        dependsOn(v, anchorResult))
      return group.emitError("cuda: reduce without keepdims cannot broadcast back to rows");
  }

  if (rows.isStatic() && rows.staticValue() == 0)
    return success(); // no rows, no results to compute: no launch
  // An empty row still gives each result its identity (sum 0, max -inf, ...).
  int64_t block = rowLen.isStatic()
                      ? std::clamp<int64_t>((rowLen.staticValue() + 31) / 32 * 32, 32, 256)
                      : 256;
  w.line() << "// " << anchor->getName() << " over rows of " << rowLen.c() << " (" << rows.c()
           << " rows), one block per row\n";
  w.line() << "const long long row = blockIdx.x;\n";
  RowLoop loop{w, shape, lead, delinearize("row", ArrayRef<std::string>(shape).take_front(lead)),
               rowLen.c()};

  // Accumulates f(X) over the row into `acc` (kind: 0 sum, 1 max, 2 min, 3 prod).
  auto pass = [&](StringRef acc, int kind, llvm::function_ref<std::string(StringRef)> term) -> LogicalResult {
    std::string init[] = {"0", "-DS_INF", "DS_INF", "1"};
    std::string step[] = {"%0 += %1", "%0 = " + f("fmax") + "(%0, %1)",
                          "%0 = " + f("fmin") + "(%0, %1)", "%0 *= %1"};
    std::string accType = ct;
    if (ints) {
      accType = ints->accumulator;
      init[1] = ints->lowest;
      init[2] = ints->highest;
      step[1] = "%0 = ds_max(%0, %1)";
      step[2] = "%0 = ds_min(%0, %1)";
    }
    w.line() << accType << " " << acc << " = " << init[kind] << ";\n";
    Coords coords = loop.open();
    FailureOr<std::string> v = w.at(x, coords);
    if (failed(v))
      return failure();
    std::string s = step[kind];
    s.replace(s.find("%1"), 2, ints ? "(" + accType + ")(" + term(*v) + ")" : term(*v));
    while (s.find("%0") != std::string::npos)
      s.replace(s.find("%0"), 2, acc.str());
    w.line() << s << ";\n";
    w.close();
    w.line() << acc << " = ds_block_reduce<" << kind << ">(" << acc << ");\n";
    return success();
  };
  auto id = [](StringRef v) { return v.str(); };
  const std::string fSuffix = xType.isF64() ? "" : "f";
  std::string n = rowLen.isStatic() ? rowLen.c() + ".0" + fSuffix : "(" + ct + ")" + rowLen.c();

  if (auto softmax = dyn_cast<SoftmaxOp>(anchor)) {
    if (failed(pass("rmax", 1, id)) ||
        failed(pass("rsum", 0, [](StringRef v) { return "ds_exp(" + v.str() + " - rmax)"; })))
      return failure();
    bool log = softmax.getLog();
    w.override(anchorResult, [&w, x, log, &ct, &f](ArrayRef<std::string> coords) -> FailureOr<std::string> {
      FailureOr<std::string> v = w.at(x, coords);
      if (failed(v))
        return failure();
      std::string r = w.fresh("y");
      w.line() << "const " << ct << " " << r << " = "
               << (log ? *v + " - rmax - " + f("log") + "(rsum)" : "ds_exp(" + *v + " - rmax) / rsum")
               << ";\n";
      return r;
    });
  } else if (auto norm = dyn_cast<NormOp>(anchor)) {
    bool meanVar = norm.getKind() == NormKind::mean_var;
    double eps = norm.getEpsilon().convertToDouble();
    if (meanVar) {
      if (failed(pass("rsum", 0, id)))
        return failure();
      w.line() << "const " << ct << " mean = rsum / " << n << ";\n";
      if (failed(pass("rvar", 0, [](StringRef v) { return "(" + v.str() + " - mean) * (" + v.str() + " - mean)"; })))
        return failure();
    } else {
      w.line() << "const " << ct << " mean = 0;\n";
      if (failed(pass("rvar", 0, [](StringRef v) { return v.str() + " * " + v.str(); })))
        return failure();
    }
    w.line() << "const " << ct << " rstd = " << f("rsqrt") << "(rvar / " << n << " + "
             << literal(eps, xType) << ");\n";
    Value scale = norm.getScale(), bias = norm.getBias();
    w.override(anchorResult, [&w, x, scale, bias, &shape, &ct](ArrayRef<std::string> coords) -> FailureOr<std::string> {
      FailureOr<std::string> v = w.at(x, coords);
      if (failed(v))
        return failure();
      std::string r = w.fresh("y");
      w.line() << ct << " " << r << " = (" << *v << " - mean) * rstd;\n";
      if (scale) {
        FailureOr<std::string> s = w.at(scale, broadcastCoords(w.dims(scale), shape, coords));
        if (failed(s))
          return failure();
        w.line() << r << " *= " << *s << ";\n";
      }
      if (bias) {
        FailureOr<std::string> b = w.at(bias, broadcastCoords(w.dims(bias), shape, coords));
        if (failed(b))
          return failure();
        w.line() << r << " += " << *b << ";\n";
      }
      return r;
    });
  } else {
    auto reduce = cast<ReduceOp>(anchor);
    std::string result;
    switch (reduce.getKind()) {
    case ReduceKind::sum: case ReduceKind::mean: case ReduceKind::log_sum:
      if (failed(pass("racc", 0, id))) return failure();
      break;
    case ReduceKind::max:
      if (failed(pass("racc", 1, id))) return failure();
      break;
    case ReduceKind::min:
      if (failed(pass("racc", 2, id))) return failure();
      break;
    case ReduceKind::prod:
      if (failed(pass("racc", 3, id))) return failure();
      break;
    case ReduceKind::sum_square: case ReduceKind::l2:
      if (failed(pass("racc", 0, [&](StringRef v) {
            if (ints) // squared in the wrapping accumulator, not the narrower type
              return "(unsigned long long)(" + v.str() + ") * (unsigned long long)(" + v.str() + ")";
            return v.str() + " * " + v.str();
          })))
        return failure();
      break;
    case ReduceKind::l1:
      if (ints) {
        if (failed(pass("racc", 0, [&](StringRef v) { return ints->magnitude(v); }))) return failure();
        break;
      }
      if (failed(pass("racc", 0, [&](StringRef v) { return f("fabs") + "(" + v.str() + ")"; }))) return failure();
      break;
    case ReduceKind::log_sum_exp:
      // max + log(sum(exp(x - max))), the max itself where it is not finite
      // (an empty or all -inf row gives -inf), as the CPU kernel.
      if (failed(pass("rmax", 1, id)) ||
          failed(pass("racc", 0, [&](StringRef v) { return f("exp") + "(" + v.str() + " - rmax)"; })))
        return failure();
      w.line() << "racc = isfinite(rmax) ? rmax + " << f("log") << "(racc) : rmax;\n";
      break;
    }
    std::string finalize = "racc";
    if (ints) {
      if (reduce.getKind() == ReduceKind::mean)
        w.line() << "racc = " << ints->mean("racc", rowLen.c()) << ";\n";
      // Wrapped to the element's width, as the CPU stores it, before fused
      // consumers read it (a u8 sum of 300 is 44 to them too).
      const unsigned bits = xType.getIntOrFloatBitWidth();
      const bool isUnsigned = xType.isUnsignedInteger();
      if (bits == 8 || bits == 16)
        finalize = "((" + ct + ")(" + *storageType(xType) + ")racc)";
      else if (bits == 4 || bits == 2)
        finalize = "ds_wrap_" + std::string(isUnsigned ? "u" : "i") + std::to_string(bits) +
                   "((long long)racc)";
      else
        finalize = "((" + ct + ")racc)";
    } else if (reduce.getKind() == ReduceKind::mean) {
      w.line() << "racc /= " << n << ";\n";
    }
    if (reduce.getKind() == ReduceKind::l2) w.line() << "racc = " << f("sqrt") << "(racc);\n";
    if (reduce.getKind() == ReduceKind::log_sum) w.line() << "racc = " << f("log") << "(racc);\n";
    w.override(anchorResult, [finalize](ArrayRef<std::string>) -> FailureOr<std::string> {
      return finalize;
    });
  }

  // Results: row-shaped ones by every thread over the row, reduced ones by
  // thread 0.
  auto isReducedResult = [&](Value v) {
    return isReduce && (w.dims(v) != shape || shape == reducedShape);
  };
  bool anyReduced = false;
  for (auto [index, v] : llvm::enumerate(yield.getValues())) {
    if (isReducedResult(v)) {
      anyReduced = true;
      continue;
    }
    Coords coords = loop.open();
    FailureOr<std::string> r = w.at(v, coords);
    if (failed(r))
      return failure();
    w.line() << "ds_store(" << w.outputParam(index) << ", " << linearize(coords, shape) << ", "
             << *r << ");\n";
    w.close();
  }
  if (anyReduced) {
    w.open("if (threadIdx.x == 0)");
    Coords coords = loop.rowCoords;
    if (cast<ReduceOp>(anchor).getKeepdims())
      coords.append(rank - lead, "0");
    for (auto [index, v] : llvm::enumerate(yield.getValues())) {
      if (!isReducedResult(v))
        continue;
      FailureOr<std::string> r = w.at(v, coords);
      if (failed(r))
        return failure();
      w.line() << "ds_store(" << w.outputParam(index) << ", row, " << *r << ");\n";
    }
    w.close();
  }

  ctx.source += w.globals + w.finish("__launch_bounds__(256)") + "\n";
  ctx.steps.push_back(w.launchStep({rows, Size::of(1), Size::of(1)}, {block, 1, 1}, 0));
  ++ctx.kernels;
  return success();
}
