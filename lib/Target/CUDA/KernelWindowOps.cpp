//===- KernelWindowOps.cpp - data movement, convolution, pooling ---------===//
//
// KernelWriter::at() for ops whose element reads operands at other
// coordinates than its own: the index arithmetic of transpose, reshape,
// slice, gather, concat, pad, ...; and the windowed ops.
//
// Convolutions are emitted as a direct kernel (one thread per output element
// looping over input channels and the window, fp32 accumulation) rather than
// im2col + cuda.gemm: it needs no workspace, keeps the group one step with
// its epilogue fused, and handles depthwise and grouped convolutions alike;
// the models' convolutions are small. A cuBLASLt path for large convolutions
// is future work.
//
//===----------------------------------------------------------------------===//
#include "Emitters.h"
#include "KernelWriter.h"

#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::cuda;

static Type elementOf(Value v) { return cast<RankedTensorType>(v.getType()).getElementType(); }
static std::string str(int64_t v) { return std::to_string(v); }
/// `a + b` folded where both are numbers.
static std::string addC(StringRef a, StringRef b) {
  int64_t x, y;
  if (!a.getAsInteger(10, x) && !b.getAsInteger(10, y))
    return str(x + y);
  if (a == "0")
    return b.str();
  return "(" + a.str() + " + " + b.str() + ")";
}

FailureOr<std::string> KernelWriter::computeDataMovement(Operation *op,
                                                         ArrayRef<std::string> coords) {
  Value result = op->getResult(0);
  Dims outShape = dims(result);
  Value input = op->getOperand(0);
  Dims inShape = dims(input);
  std::string ct = computeType(elementOf(result));
  auto notConstant = [&](StringRef what) {
    return op->emitError("cuda: '") << op->getName() << "' needs constant " << what, failure();
  };

  if (auto transpose = dyn_cast<TransposeOp>(op)) {
    Coords in(inShape.size());
    for (auto [i, p] : llvm::enumerate(transpose.getPerm()))
      in[p] = coords[i];
    return at(input, in);
  }
  if (isa<ReshapeOp>(op)) {
    std::string lin = fresh("l");
    line() << "const long long " << lin << " = " << linearize(coords, outShape) << ";\n";
    return at(input, delinearize(lin, inShape));
  }
  if (isa<ExpandOp>(op))
    return at(input, broadcastCoords(inShape, outShape, coords));
  if (isa<TileOp>(op)) {
    Coords in;
    for (auto [d, n] : llvm::enumerate(inShape))
      in.push_back(isOne(n) ? "0" : "(" + coords[d] + " % " + n + ")");
    return at(input, in);
  }
  if (auto slice = dyn_cast<SliceOp>(op)) {
    auto axes = constantInts(slice.getAxes()), steps = constantInts(slice.getSteps());
    // Starts may be computed from sizes (e.g. "last dim / 2", "keys - 1").
    auto starts = sizes.elements(slice.getStarts());
    if (failed(starts))
      if (auto fixed = constantInts(slice.getStarts()); succeeded(fixed))
        starts = llvm::to_vector(llvm::map_range(*fixed, DimExpr::of));
    if (failed(starts) || failed(axes) || failed(steps))
      return notConstant("starts, axes and steps");
    Coords in(coords.begin(), coords.end());
    for (auto [startExpr, a, step] : llvm::zip(*starts, *axes, *steps)) {
      int64_t axis = a < 0 ? a + (int64_t)inShape.size() : a, dim;
      int64_t s = startExpr.constant;
      std::string first;
      if (!startExpr.isConstant()) { // from the end when negative, clamped, at run time
        // Not "s": s0, s1, ... are the kernel's size parameters.
        std::string n = "(long long)" + inShape[axis], start = fresh("start");
        line() << "const long long " << start << " = " << formC(startExpr) << ";\n";
        first = "min(max(" + start + " < 0 ? " + start + " + " + n + " : " + start + ", 0LL), " +
                (step > 0 ? n : n + " - 1") + ")";
      } else if (!StringRef(inShape[axis]).getAsInteger(10, dim)) {
        int64_t start = s < 0 ? s + dim : s;
        start = step > 0 ? std::clamp<int64_t>(start, 0, dim)
                         : std::clamp<int64_t>(start, 0, dim - 1);
        first = str(start);
      } else { // clamped at run time, as the CPU backend does
        std::string n = inShape[axis];
        std::string start = s < 0 ? "(" + n + " - " + str(-s) + ")" : str(s);
        first = "min(max(" + start + ", 0LL), " + (step > 0 ? n : "(" + n + " - 1)") + ")";
      }
      in[axis] = "(" + first + " + " + coords[axis] + " * " + str(step) + ")";
    }
    return at(input, in);
  }
  if (auto gather = dyn_cast<GatherOp>(op)) {
    int64_t axis = (int64_t)gather.getAxis();
    if (axis < 0)
      axis += (int64_t)inShape.size();
    size_t q = shapeOf(gather.getIndices()).size();
    Coords idxCoords(coords.begin() + axis, coords.begin() + axis + q);
    FailureOr<std::string> index = at(gather.getIndices(), idxCoords);
    if (failed(index))
      return failure();
    std::string wrapped = wrappedIndex(*index, inShape[axis]);
    Coords in(coords.begin(), coords.begin() + axis);
    in.push_back(wrapped);
    in.append(coords.begin() + axis + q, coords.end());
    return at(input, in);
  }
  if (auto gather = dyn_cast<GatherElementsOp>(op)) {
    // out[c] = input[c with the axis coordinate taken from indices[c]].
    int64_t axis = (int64_t)gather.getAxis();
    if (axis < 0)
      axis += (int64_t)inShape.size();
    FailureOr<std::string> index = at(gather.getIndices(), coords);
    if (failed(index))
      return failure();
    std::string wrapped = wrappedIndex(*index, inShape[axis]);
    Coords in(coords.begin(), coords.end());
    in[axis] = wrapped;
    return at(input, in);
  }
  if (auto gather = dyn_cast<GatherNDOp>(op)) {
    // out[c] = input[batch coords, the k indices at c's index coords, the
    // rest of c]; a negative index counts from the end of its dim.
    Dims idxShape = dims(gather.getIndices());
    size_t q = idxShape.size(), batch = (size_t)gather.getBatchDims();
    int64_t k = shapeOf(gather.getIndices()).back();
    if (ShapedType::isDynamic(k))
      return op->emitError("cuda: ds.gather_nd needs a static index depth"), failure();
    Coords in(coords.begin(), coords.begin() + batch);
    for (int64_t j = 0; j < k; ++j) {
      Coords idxCoords(coords.begin(), coords.begin() + (q - 1));
      idxCoords.push_back(std::to_string(j));
      FailureOr<std::string> index = at(gather.getIndices(), idxCoords);
      if (failed(index))
        return failure();
      in.push_back(wrappedIndex(*index, inShape[batch + j]));
    }
    in.append(coords.begin() + (q - 1), coords.end());
    return at(input, in);
  }
  if (auto concat = dyn_cast<ConcatOp>(op)) {
    int64_t axis = (int64_t)concat.getAxis();
    if (axis < 0)
      axis += (int64_t)outShape.size();
    std::string r = fresh("v");
    line() << ct << " " << r << ";\n";
    std::string offset = "0";
    for (auto [i, operand] : llvm::enumerate(concat.getInputs())) {
      std::string size = dims(operand)[axis];
      std::string end = addC(offset, size);
      bool last = i + 1 == concat.getInputs().size();
      open(Twine(i ? "else " : "") +
           (last ? Twine("") : Twine("if (" + coords[axis] + " < " + end + ")")));
      Coords in(coords.begin(), coords.end());
      in[axis] = offset != "0" ? "(" + coords[axis] + " - " + offset + ")" : coords[axis];
      FailureOr<std::string> v = at(operand, in);
      if (failed(v))
        return failure();
      line() << r << " = " << *v << ";\n";
      close();
      offset = end;
    }
    return r;
  }
  if (auto pad = dyn_cast<PadOp>(op)) {
    auto pads = constantInts(pad.getPads());
    if (failed(pads))
      return notConstant("pads");
    size_t rank = inShape.size();
    std::string r = fresh("v");
    std::string fill = ct == "float" ? "0.0f" : "0";
    if (pad.getValue() && pad.getMode() == PadMode::constant) {
      FailureOr<std::string> v = at(pad.getValue(), Coords(dims(pad.getValue()).size(), "0"));
      if (failed(v))
        return failure();
      fill = *v;
    }
    Coords in;
    std::string inside;
    for (size_t d = 0; d < rank; ++d) {
      std::string i = (*pads)[d] ? "(" + coords[d] + " - " + str((*pads)[d]) + ")" : coords[d];
      std::string n = inShape[d];
      switch (pad.getMode()) {
      case PadMode::constant:
        if ((*pads)[d] || (*pads)[d + rank])
          inside += (inside.empty() ? "" : " && ") + i + " >= 0 && " + i + " < " + n;
        break;
      case PadMode::edge:
        i = "min(max(" + i + ", 0LL), " + n + "LL - 1)";
        break;
      case PadMode::reflect:
        i = "(" + i + " < 0 ? -" + i + " : (" + i + " >= " + n + " ? 2 * (" + n + " - 1) - " + i + " : " + i + "))";
        break;
      case PadMode::wrap:
        i = "((" + i + " % " + n + " + " + n + ") % " + n + ")";
        break;
      }
      in.push_back(isOne(inShape[d]) && pad.getMode() != PadMode::constant ? "0" : i);
    }
    line() << ct << " " << r << " = " << fill << ";\n";
    open(inside.empty() ? Twine("") : Twine("if (" + inside + ")"));
    FailureOr<std::string> v = at(input, in);
    if (failed(v))
      return failure();
    line() << r << " = " << *v << ";\n";
    close();
    return r;
  }
  if (auto shape = dyn_cast<ShapeOp>(op)) {
    // Element i: dim start + i of the operand, as the kernel's sizes say.
    std::string r = fresh("v");
    int64_t rank = (int64_t)inShape.size(), count = shapeOf(result)[0];
    int64_t first = (int64_t)shape.getStart();
    first = std::clamp<int64_t>(first < 0 ? first + rank : first, 0, rank);
    if (first + count > rank)
      return op->emitError("cuda: ds.shape reads past the operand's rank"), failure();
    std::string e = "0";
    for (int64_t i = count - 1; i >= 0; --i)
      e = i + 1 == count ? inShape[first + i]
                         : "(" + coords[0] + " == " + str(i) + " ? " + inShape[first + i] + " : " + e + ")";
    line() << ct << " " << r << " = (" << ct << ")" << e << ";\n";
    return r;
  }
  if (auto range = dyn_cast<RangeOp>(op)) {
    FailureOr<std::string> start = at(range.getStart(), Coords(dims(range.getStart()).size(), "0"));
    FailureOr<std::string> delta = at(range.getDelta(), Coords(dims(range.getDelta()).size(), "0"));
    if (failed(start) || failed(delta))
      return failure();
    std::string r = fresh("v");
    line() << ct << " " << r << " = " << *start << " + (" << ct << ")" << coords[0] << " * " << *delta
           << ";\n";
    return r;
  }
  if (auto trilu = dyn_cast<TriluOp>(op)) {
    // k: a constant, or read from its operand at run time.
    std::string k = "0";
    if (trilu.getK()) {
      if (auto ks = constantInts(trilu.getK()); succeeded(ks) && ks->size() == 1) {
        k = str((*ks)[0]);
      } else {
        FailureOr<std::string> kv = at(trilu.getK(), Coords(dims(trilu.getK()).size(), "0"));
        if (failed(kv))
          return failure();
        k = "(long long)" + *kv;
      }
    }
    size_t rank = outShape.size();
    std::string diff = "(" + coords[rank - 1] + " - " + coords[rank - 2] + ")";
    FailureOr<std::string> v = at(input, coords);
    if (failed(v))
      return failure();
    std::string r = fresh("v");
    line() << ct << " " << r << " = " << diff << (trilu.getUpper() ? " >= " : " <= ") << k
           << " ? " << *v << " : (" << ct << ")0;\n";
    return r;
  }
  if (auto rope = dyn_cast<RotaryEmbeddingOp>(op)) {
    // 4-D [B, H, S, D] or 3-D [B, S, H*D] (num_heads given).
    bool fourD = inShape.size() == 4;
    ArrayRef<int64_t> staticShape = shapeOf(input);
    if (ShapedType::isDynamic(staticShape.back()))
      return op->emitError("cuda: rotary_embedding with a dynamic last dim is not supported"),
             failure();
    int64_t head = fourD ? staticShape[3]
                         : (rope.getNumHeads() ? staticShape[2] / rope.getNumHeads() : 0);
    if (!head)
      return op->emitError("cuda: 3-D rotary_embedding needs num_heads"), failure();
    int64_t rot = rope.getRotaryEmbeddingDim() ? rope.getRotaryEmbeddingDim() : head;
    int64_t half = rot / 2;
    std::string b = coords[0], s = fourD ? coords[2] : coords[1];
    std::string d = fresh("d"), pos = fresh("p");
    line() << "const long long " << d << " = " << (fourD ? coords[3] : coords[2] + " % " + str(head)) << ";\n";
    Coords cacheRow;
    if (rope.getPositionIds()) {
      FailureOr<std::string> p = at(rope.getPositionIds(), broadcastCoords(dims(rope.getPositionIds()), {inShape[0], fourD ? inShape[2] : inShape[1]}, {b, s}));
      if (failed(p))
        return failure();
      line() << "const long long " << pos << " = " << *p << ";\n";
      cacheRow = {pos};
    } else {
      cacheRow = broadcastCoords(ArrayRef<std::string>(dims(rope.getCos())).drop_back(), {inShape[0], fourD ? inShape[2] : inShape[1]}, {b, s});
    }
    std::string r = fresh("v");
    FailureOr<std::string> x = at(input, coords);
    if (failed(x))
      return failure();
    line() << ct << " " << r << " = " << *x << ";\n";
    open("if (" + d + " < " + str(rot) + ")");
    // Pair element and frequency index of this dim.
    std::string i = fresh("i"), partner = fresh("q");
    bool inter = rope.getInterleaved();
    line() << "const long long " << i << " = " << (inter ? d + " / 2" : d + " % " + str(half)) << ";\n";
    line() << "const long long " << partner << " = "
           << (inter ? d + " ^ 1" : "(" + d + " < " + str(half) + " ? " + d + " + " + str(half) + " : " + d + " - " + str(half) + ")")
           << ";\n";
    Coords pc(coords.begin(), coords.end());
    pc.back() = fourD ? partner : "(" + coords[2] + " - " + d + " + " + partner + ")";
    Coords cs = cacheRow;
    cs.push_back(i);
    FailureOr<std::string> y = at(input, pc), c = at(rope.getCos(), cs), sn = at(rope.getSin(), cs);
    if (failed(y) || failed(c) || failed(sn))
      return failure();
    std::string first = inter ? "(" + d + " % 2 == 0)" : "(" + d + " < " + str(half) + ")";
    line() << r << " = " << *x << " * " << *c << " + (" << first << " ? -" << *y << " : " << *y
           << ") * " << *sn << ";\n";
    close();
    return r;
  }
  return op->emitError("cuda: cannot emit '") << op->getName() << "'", failure();
}

FailureOr<std::string> KernelWriter::computeWindow(Operation *op, ArrayRef<std::string> coords) {
  Value result = op->getResult(0);
  Value input = op->getOperand(0);
  ArrayRef<int64_t> inShape = shapeOf(input);
  if (!cast<RankedTensorType>(input.getType()).hasStaticShape() ||
      !cast<RankedTensorType>(result.getType()).hasStaticShape())
    return op->emitError("cuda: '") << op->getName()
                                    << "' with dynamic dims is not supported by the CUDA "
                                       "backend yet; bind them with --ds-input-shape",
           failure();
  size_t spatial = inShape.size() - 2;
  std::string acc = fresh("acc");
  ArrayRef<int64_t> strides, pads, dilations, window;
  // ds.conv and ds.conv_integer: the same loops; the integer one subtracts
  // zero points and accumulates exactly in int.
  struct ConvView {
    Value weight, bias, inputZeroPoint, weightZeroPoint;
    int64_t group;
  };
  std::optional<ConvView> conv;
  if (auto c = dyn_cast<ConvOp>(op)) {
    strides = c.getStrides(), pads = c.getPads(), dilations = c.getDilations();
    conv = ConvView{c.getWeight(), c.getBias(), {}, {}, (int64_t)c.getGroup()};
  } else if (auto c = dyn_cast<ConvIntegerOp>(op)) {
    strides = c.getStrides(), pads = c.getPads(), dilations = c.getDilations();
    conv = ConvView{c.getWeight(), {}, c.getInputZeroPoint(), c.getWeightZeroPoint(),
                    (int64_t)c.getGroup()};
  }
  if (conv) {
    window = shapeOf(conv->weight).drop_front(2);
  } else {
    auto pool = cast<PoolOp>(op);
    strides = pool.getStrides(), pads = pool.getPads(), dilations = pool.getDilations();
    window = pool.getKernelShape();
  }
  auto pool = dyn_cast<PoolOp>(op);
  bool integer = isa<ConvIntegerOp>(op);
  bool isMax = pool && pool.getKind() == PoolKind::max;
  bool isLp = pool && pool.getKind() == PoolKind::lp;
  int64_t p = isLp ? (int64_t)pool.getP() : 0;
  // Accumulated in float (double for f64 data), integers included.
  Type accType = elementOf(result).isF64() ? elementOf(result) : Float32Type::get(op->getContext());
  auto f = [&](StringRef name) { return mathFn(name, accType); };
  // conv_integer sums wrap in 32 bits as the CPU's (unsigned: no overflow in C++).
  line() << (integer ? "unsigned" : computeType(accType)) << " " << acc << " = "
         << (isMax ? "-DS_INF" : "0") << ";\n";
  // Average pooling divides by the window positions inside the input, or with
  // count_include_pad inside the padded input (with ceil_mode a window can
  // reach past the end padding; those positions do not count either way).
  std::string count, inside;
  bool includePad = pool && pool.getKind() == PoolKind::avg && pool.getCountIncludePad();
  if (pool && pool.getKind() == PoolKind::avg) {
    count = fresh("n");
    line() << "int " << count << " = 0;\n";
  }
  // Loops: input channel (conv), then the window dims.
  Coords in{coords[0], coords[1]}, w{coords[1]};
  if (conv) {
    int64_t cg = shapeOf(conv->weight)[1];
    int64_t perGroup = shapeOf(result)[1] / conv->group;
    std::string ci = fresh("ci");
    open("for (int " + ci + " = 0; " + ci + " < " + str(cg) + "; ++" + ci + ")");
    in[1] = perGroup == shapeOf(result)[1]
                ? ci
                : "((" + coords[1] + " / " + str(perGroup) + ") * " + str(cg) + " + " + ci + ")";
    w.push_back(ci);
  }
  for (size_t s = 0; s < spatial; ++s) {
    std::string k = fresh("k"), i = fresh("i");
    open("for (int " + k + " = 0; " + k + " < " + str(window[s]) + "; ++" + k + ")");
    line() << "const long long " << i << " = " << coords[2 + s] << " * " << strides[s] << " - "
           << pads[s] << " + " << k << " * " << dilations[s] << ";\n";
    if (includePad) { // skip only past the padding; note whether inside the input
      line() << "if (" << i << " < " << -pads[s] << " || " << i << " >= "
             << inShape[2 + s] + pads[spatial + s] << ") continue;\n";
      std::string in_s = fresh("in");
      line() << "const bool " << in_s << " = " << (inside.empty() ? "" : inside + " && ") << i
             << " >= 0 && " << i << " < " << inShape[2 + s] << ";\n";
      inside = in_s;
    } else {
      line() << "if (" << i << " < 0 || " << i << " >= " << inShape[2 + s] << ") continue;\n";
    }
    in.push_back(i);
    w.push_back(k);
  }
  if (includePad) {
    line() << "++" << count << ";\n";
    line() << "if (!" << inside << ") continue;\n";
  }
  FailureOr<std::string> x = at(input, in);
  if (failed(x))
    return failure();
  if (conv) {
    FailureOr<std::string> wv = at(conv->weight, w);
    if (failed(wv))
      return failure();
    std::string xs = *x, ws = *wv;
    // Zero points: one value for the input, one or one per output channel
    // for the weight (padding is skipped: it reads as the zero point, 0).
    if (Value z = conv->inputZeroPoint) {
      FailureOr<std::string> zv = at(z, Coords(dims(z).size(), "0"));
      if (failed(zv))
        return failure();
      xs = "(" + xs + " - " + *zv + ")";
    }
    if (Value z = conv->weightZeroPoint) {
      FailureOr<std::string> zv =
          at(z, dims(z).empty() || shapeOf(z)[0] == 1 ? Coords(dims(z).size(), "0")
                                                      : Coords{coords[1]});
      if (failed(zv))
        return failure();
      ws = "(" + ws + " - " + *zv + ")";
    }
    line() << acc << " += " << (integer ? "(unsigned)(" + xs + " * " + ws + ")" : xs + " * " + ws)
           << ";\n";
  } else if (isMax) {
    line() << acc << " = " << f("fmax") << "(" << acc << ", " << *x << ");\n";
  } else if (isLp) { // sum of |x|^p, as the CPU kernel
    std::string a = f("fabs") + "(" + *x + ")";
    line() << acc << " += "
           << (p == 1   ? a
               : p == 2 ? *x + " * " + *x
                        : f("pow") + "(" + a + ", " + std::to_string(p) + ")")
           << ";\n";
  } else {
    line() << acc << " += " << *x << ";\n";
    if (!count.empty() && !includePad)
      line() << "++" << count << ";\n";
  }
  for (size_t s = 0; s < spatial + (conv ? 1 : 0); ++s)
    close();
  if (conv && conv->bias) {
    FailureOr<std::string> b = at(conv->bias, {coords[1]});
    if (failed(b))
      return failure();
    line() << acc << " += " << *b << ";\n";
  }
  if (pool && pool.getKind() == PoolKind::avg)
    line() << acc << " /= (" << computeType(accType) << ")" << count << ";\n";
  if (isLp && p == 2)
    line() << acc << " = " << f("sqrt") << "(" << acc << ");\n";
  else if (isLp && p > 2)
    line() << acc << " = " << f("pow") << "(" << acc << ", 1.0 / " << p << ");\n";
  return integer ? "(int)" + acc : acc;
}

/// ds.cumsum (sum or product, exclusive, reverse) at one output position: a
/// loop over the axis up to (or from) it. O(axis length) per element, which
/// suits the short axes cumsum meets in models (positions from a mask, decode
/// steps); the input's producers are computed inline.
FailureOr<std::string> KernelWriter::computeScan(CumSumOp op, ArrayRef<std::string> coords) {
  Dims shape = dims(op.getInput());
  const int64_t rank = (int64_t)shape.size();
  std::string acc = fresh("scan");
  bool product = op.getProduct();
  line() << computeType(elementOf(op.getResult())) << " " << acc << " = " << (product ? "1" : "0")
         << ";\n";
  // The loop along `axis` into acc. Inclusive forward: [0, i]; exclusive:
  // [0, i); reverse: [i, L) or (i, L).
  auto scanAlong = [&](int64_t axis) -> LogicalResult {
    std::string k = fresh("k"), at_ = coords[axis];
    std::string lo = op.getReverse() ? "(" + at_ + (op.getExclusive() ? " + 1)" : ")") : "0";
    std::string hi = op.getReverse() ? shape[axis]
                                     : "(" + at_ + (op.getExclusive() ? ")" : " + 1)");
    open("for (long long " + k + " = " + lo + "; " + k + " < " + hi + "; ++" + k + ")");
    Coords in(coords.begin(), coords.end());
    in[axis] = k;
    FailureOr<std::string> x = at(op.getInput(), in);
    if (failed(x))
      return failure();
    line() << acc << (product ? " *= " : " += ") << *x << ";\n";
    close();
    return success();
  };
  if (!op.getAxisValue()) {
    int64_t axis = (int64_t)op.getAxis();
    if (failed(scanAlong(axis < 0 ? axis + rank : axis)))
      return failure();
    return acc;
  }
  // An axis only a run knows: one loop per possible axis, the run picks
  // (an axis out of range leaves the identity; the CPU backend reports it).
  FailureOr<std::string> axisValue =
      at(op.getAxisValue(), Coords(dims(op.getAxisValue()).size(), "0"));
  if (failed(axisValue))
    return failure();
  std::string ax = fresh("ax");
  line() << "const long long " << ax << " = " << *axisValue << " < 0 ? " << *axisValue << " + "
         << rank << " : " << *axisValue << ";\n";
  for (int64_t axis = 0; axis < rank; ++axis) {
    open(Twine(axis ? "else " : "") + "if (" + ax + " == " + str(axis) + ")");
    if (failed(scanAlong(axis)))
      return failure();
    close();
  }
  return acc;
}

/// ds.arg_reduce (argmax / argmin along an axis, the first or the last
/// extreme) at one output position: a loop over the axis.
FailureOr<std::string> KernelWriter::computeArgReduce(ArgReduceOp op, ArrayRef<std::string> coords) {
  Dims shape = dims(op.getInput());
  int64_t axis = (int64_t)op.getAxis();
  if (axis < 0)
    axis += (int64_t)shape.size();
  bool isMax = op.getKind() == ArgReduceKind::argmax;
  std::string best = fresh("best"), where = fresh("arg"), k = fresh("k");
  line() << computeType(elementOf(op.getInput())) << " " << best << " = 0;\n";
  line() << "long long " << where << " = -1;\n";
  open("for (long long " + k + " = 0; " + k + " < " + shape[axis] + "; ++" + k + ")");
  // keepdims keeps the axis (coordinate 0 there); otherwise it is dropped.
  Coords in;
  for (size_t d = 0, o = 0; d < shape.size(); ++d) {
    if ((int64_t)d == axis) {
      in.push_back(k);
      o += op.getKeepdims() ? 1 : 0;
    } else {
      in.push_back(coords[o++]);
    }
  }
  FailureOr<std::string> x = at(op.getInput(), in);
  if (failed(x))
    return failure();
  // As the CPU backend (and numpy): a NaN wins, the first one or with
  // select_last_index the last; otherwise the first (or last) extreme.
  std::string take = "{ " + best + " = " + *x + "; " + where + " = " + k + "; }";
  bool last = op.getSelectLastIndex();
  line() << "if (" << where << " < 0) " << take << "\n";
  line() << "else if (" << best << " != " << best << ") {"
         << (last ? " if (" + *x + " != " + *x + ") " + where + " = " + k + ";" : std::string())
         << " }\n";
  line() << "else if (" << *x << " != " << *x << " || " << *x << (isMax ? " > " : " < ") << best
         << (last ? " || " + *x + " == " + best : std::string()) << ") " << take << "\n";
  close();
  line() << "if (" << where << " < 0) " << where << " = 0;\n";
  return where;
}

/// ds.einsum with an explicit output ("ij,jk->ik"): each output element
/// loops over the labels that are summed out (extents from the first operand
/// naming them), multiplying the operands' elements. A loop per element, like
/// the direct convolution: for the small contractions exporters leave
/// (rotary frequencies "i,j->ij", a batched dot), not for large matmuls,
/// which ds.matmul sends to cuBLASLt.
/// An einsum equation with spaces removed, every "..." replaced by one
/// digit label per broadcast dim (aligned to the right, '0' the outermost)
/// and the implicit output written out (the ellipsis dims, then the labels
/// used once, in alphabetical order); failure if it is not well formed.
static FailureOr<std::pair<SmallVector<std::string>, std::string>>
expandEinsum(StringRef equation, ArrayRef<size_t> ranks) {
  std::string text;
  for (char c : equation)
    if (c != ' ')
      text += c;
  StringRef eq(text);
  size_t arrow = eq.find("->");
  SmallVector<StringRef> rawTerms;
  eq.take_front(arrow).split(rawTerms, ',');
  if (rawTerms.size() != ranks.size())
    return failure();
  auto letters = [](StringRef t) {
    return llvm::all_of(t, [](char c) { return std::isalpha((unsigned char)c); });
  };
  size_t ellipsis = 0;
  SmallVector<size_t> own(ranks.size(), 0);
  for (auto [t, term] : llvm::enumerate(rawTerms)) {
    size_t dots = term.find("...");
    size_t named = term.size() - (dots == StringRef::npos ? 0 : 3);
    if (dots != StringRef::npos) {
      if (ranks[t] < named || term.substr(dots + 3).contains('.'))
        return failure();
      own[t] = ranks[t] - named;
    }
    ellipsis = std::max(ellipsis, own[t]);
  }
  if (ellipsis > 10)
    return failure();
  auto expand = [&](StringRef term, size_t count) -> FailureOr<std::string> {
    size_t dots = term.find("...");
    if (dots == StringRef::npos)
      return letters(term) ? FailureOr<std::string>(term.str())
                           : FailureOr<std::string>(failure());
    StringRef before = term.take_front(dots), after = term.drop_front(dots + 3);
    if (!letters(before) || !letters(after))
      return failure();
    std::string out = before.str();
    for (size_t j = 0; j < count; ++j)
      out += (char)('0' + (ellipsis - count + j));
    return out + after.str();
  };
  SmallVector<std::string> terms;
  std::map<char, int> uses;
  for (auto [t, term] : llvm::enumerate(rawTerms)) {
    FailureOr<std::string> e = expand(term, own[t]);
    if (failed(e) || e->size() != ranks[t])
      return failure();
    for (char c : *e)
      ++uses[c];
    terms.push_back(*e);
  }
  std::string out;
  if (arrow != StringRef::npos) {
    FailureOr<std::string> e = expand(eq.drop_front(arrow + 2), ellipsis);
    if (failed(e))
      return failure();
    out = *e;
  } else {
    for (size_t j = 0; j < ellipsis; ++j)
      out += (char)('0' + j);
    for (auto [c, n] : uses)
      if (n == 1 && std::isalpha((unsigned char)c))
        out += c;
  }
  return std::make_pair(terms, out);
}

FailureOr<std::string> KernelWriter::computeEinsum(EinsumOp op, ArrayRef<std::string> coords) {
  SmallVector<size_t> ranks;
  for (Value v : op.getInputs())
    ranks.push_back(dims(v).size());
  auto expanded = expandEinsum(op.getEquation(), ranks);
  if (failed(expanded) || expanded->second.size() != dims(op.getResult()).size())
    return op.emitError("cuda: einsum equation '")
               << op.getEquation() << "' does not fit its operands' ranks",
           failure();
  const SmallVector<std::string> &terms = expanded->first;
  const std::string &out = expanded->second;
  std::map<char, std::string> at_;   // label -> coordinate expression
  std::map<char, std::string> size_; // label -> its size (every operand must agree)
  for (auto [i, c] : llvm::enumerate(out)) {
    at_[c] = coords[i];
    size_[c] = dims(op.getResult())[i];
  }
  for (auto [t, term] : llvm::enumerate(terms)) {
    Dims d = dims(op.getInputs()[t]);
    if (d.size() != term.size())
      return op.emitError("cuda: einsum term '") << term << "' does not match its operand's rank",
             failure();
    for (auto [i, c] : llvm::enumerate(term))
      if (auto [it, inserted] = size_.try_emplace(c, d[i]); !inserted && it->second != d[i]) {
        if (isOne(d[i])) // a broadcast dim reads index 0 (below)
          continue;
        if (isOne(it->second)) {
          it->second = d[i];
          continue;
        }
        return op.emitError("cuda: einsum label '")
                   << StringRef(&c, 1) << "' has sizes " << it->second << " and " << d[i]
                   << " that are not provably equal",
               failure();
      }
  }
  std::string ct = computeType(elementOf(op.getResult()));
  std::string acc = fresh("acc");
  line() << ct << " " << acc << " = 0;\n";
  int loops = 0;
  for (const std::string &term : terms) {
    for (char c : term)
      if (!at_.count(c)) {
        std::string k = fresh("e");
        open("for (long long " + k + " = 0; " + k + " < " + size_[c] + "; ++" + k + ")");
        at_[c] = k;
        ++loops;
      }
  }
  std::string product;
  for (auto [t, term] : llvm::enumerate(terms)) {
    Dims d = dims(op.getInputs()[t]);
    Coords in;
    for (auto [i, c] : llvm::enumerate(term))
      in.push_back(isOne(d[i]) ? std::string("0") : at_[c]);
    FailureOr<std::string> x = at(op.getInputs()[t], in);
    if (failed(x))
      return failure();
    product += (product.empty() ? "" : " * ") + *x;
  }
  line() << acc << " += " << product << ";\n";
  for (int i = 0; i < loops; ++i)
    close();
  return acc;
}
