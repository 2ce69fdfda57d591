//===- WindowGradients.cpp - gradients of convolution and pooling ---------===//
//
// Both scatter each output's gradient back over its window, which is a
// transposed convolution: the rules below build them from ds.conv /
// ds.conv_transpose with the forward op's window, so they run on the same
// kernels as inference.
//
//===----------------------------------------------------------------------===//
#include "GradientRules.h"

#include "mlir/IR/BuiltinTypes.h"

#include <numeric>

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::autodiff;

namespace {
Value i64Vector(OpBuilder &b, Location loc, ArrayRef<int64_t> values) {
  auto type = RankedTensorType::get({(int64_t)values.size()}, b.getI64Type());
  return b.create<ConstantOp>(loc, DenseElementsAttr::get(type, values));
}

/// A constant of `shape` and `element` type holding `values` (rounded to it).
Value floatConstant(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type element,
                    ArrayRef<double> values) {
  const llvm::fltSemantics &semantics = cast<FloatType>(element).getFloatSemantics();
  llvm::SmallVector<APFloat> elements;
  for (double v : values) {
    APFloat f(v);
    bool lost = false;
    f.convert(semantics, APFloat::rmNearestTiesToEven, &lost);
    elements.push_back(f);
  }
  auto type = RankedTensorType::get(shape, element);
  return b.create<ConstantOp>(loc, DenseElementsAttr::get(type, elements));
}

/// How a transposed convolution over a forward window of `kernel` taps
/// gives back exactly the input's spatial size: the end padding it crops
/// and the output padding it adds (a ceil-mode window may reach past the
/// end padding, which is then cropped too).
struct Scatter {
  llvm::SmallVector<int64_t> pads, outputPadding;
};
Scatter scatterBack(ArrayRef<int64_t> input, ArrayRef<int64_t> output, ArrayRef<int64_t> kernel,
                    ArrayRef<int64_t> strides, ArrayRef<int64_t> pads,
                    ArrayRef<int64_t> dilations) {
  size_t spatial = kernel.size();
  Scatter s;
  s.pads.assign(pads.begin(), pads.begin() + spatial);
  for (size_t i = 0; i < spatial; ++i) {
    int64_t produced = strides[i] * (output[i] - 1) + dilations[i] * (kernel[i] - 1) + 1 -
                       pads[i] - pads[spatial + i];
    s.pads.push_back(pads[spatial + i] + std::max<int64_t>(0, produced - input[i]));
    s.outputPadding.push_back(std::max<int64_t>(0, input[i] - produced));
  }
  return s;
}

/// The taps of a window whose output position `o` reads inside [lo, hi).
int64_t tapsInside(int64_t o, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation,
                   int64_t lo, int64_t hi) {
  int64_t count = 0;
  for (int64_t k = 0; k < kernel; ++k) {
    int64_t at = o * stride - pad + k * dilation;
    count += at >= lo && at < hi;
  }
  return count;
}
} // namespace

/// dX is the transposed convolution of dY with the same weights (grouped
/// alike); dW correlates X with dY, batch and channels swapped, stride and
/// dilation trading places; db sums dY over batch and space. With groups,
/// dW's correlation runs as a grouped convolution over X regrouped to
/// [Cin/g, g*N, ...], so group i only meets its own channels.
LogicalResult mlir::ds::autodiff::convGrad(ConvOp op, Value dy, ArrayRef<bool> needed,
                                           SmallVectorImpl<Value> &out, GradBuilder &g,
                                           std::string &why) {
  OpBuilder &b = g.getBuilder();
  Location loc = g.getLoc();
  auto x = tensorOf(op.getInput()), w = tensorOf(op.getWeight()), y = tensorOf(dy);
  int64_t spatial = x.getRank() - 2, group = (int64_t)op.getGroup();
  ArrayRef<int64_t> strides = op.getStrides(), pads = op.getPads(), dilations = op.getDilations();
  llvm::SmallVector<int64_t> swap(x.getRank());
  std::iota(swap.begin(), swap.end(), 0);
  std::swap(swap[0], swap[1]);
  if (needed[0]) {
    Scatter s = scatterBack(x.getShape().drop_front(2), y.getShape().drop_front(2),
                            w.getShape().drop_front(2), strides, pads, dilations);
    out[0] = b.create<ConvTransposeOp>(loc, x, dy, op.getWeight(), Value(), op.getStridesAttr(),
                                       b.getDenseI64ArrayAttr(s.pads), op.getDilationsAttr(),
                                       op.getGroupAttr(), b.getDenseI64ArrayAttr(s.outputPadding));
  }
  if (needed[1]) {
    Value xt;
    if (group == 1) {
      xt = g.transpose(op.getInput(), swap);
    } else {
      // [N, Cin, S...] -> [N, g, Cin/g, S...] -> [Cin/g, g, N, S...] -> [Cin/g, g*N, S...]
      int64_t n = x.getDimSize(0), perGroup = x.getDimSize(1) / group;
      llvm::SmallVector<int64_t> split{n, group, perGroup}, perm{2, 1, 0},
          merged{perGroup, group * n};
      for (int64_t i = 0; i < spatial; ++i) {
        split.push_back(x.getDimSize(2 + i));
        perm.push_back(3 + i);
        merged.push_back(x.getDimSize(2 + i));
      }
      xt = g.reshape(g.transpose(g.reshape(op.getInput(), split), perm), merged);
    }
    Value dyt = g.transpose(dy, swap);
    Value full = b.create<ConvOp>(loc, xt, dyt, Value(), b.getDenseI64ArrayAttr(dilations),
                                  op.getPadsAttr(), b.getDenseI64ArrayAttr(strides),
                                  b.getI64IntegerAttr(group));
    // [Cin/g, Cout, k'...] with k' >= k: keep the first k of each.
    auto fullType = tensorOf(full);
    llvm::SmallVector<int64_t> starts, ends, axes, steps, shape(fullType.getShape());
    for (int64_t i = 0; i < spatial; ++i) {
      starts.push_back(0);
      ends.push_back(w.getDimSize(2 + i));
      axes.push_back(2 + i);
      steps.push_back(1);
      shape[2 + i] = w.getDimSize(2 + i);
    }
    Value kept = b.create<SliceOp>(loc, RankedTensorType::get(shape, fullType.getElementType()),
                                   full, i64Vector(b, loc, starts), i64Vector(b, loc, ends),
                                   i64Vector(b, loc, axes), i64Vector(b, loc, steps));
    out[1] = g.transpose(kept, swap);
  }
  if (op.getBias() && needed[2]) {
    llvm::SmallVector<int64_t> axes{0};
    for (int64_t i = 0; i < spatial; ++i)
      axes.push_back(2 + i);
    out[2] = g.sum(dy, axes, false);
  }
  return success();
}

/// Average pooling: each output's gradient divided by its window's count,
/// spread over the window (a depthwise transposed convolution with ones).
/// Max pooling: the gradient goes to the first element of the window equal
/// to the maximum (PyTorch's choice among ties; a window whose maximum is
/// NaN passes none): per tap, a mask of "this tap holds the maximum and no
/// earlier one did" selects dY; the masked taps stacked as channels scatter
/// back through one depthwise transposed convolution with one-hot weights.
LogicalResult mlir::ds::autodiff::poolGrad(PoolOp op, Value dy, ArrayRef<bool> needed,
                                           SmallVectorImpl<Value> &out, GradBuilder &g,
                                           std::string &why) {
  if (!needed[0])
    return success();
  OpBuilder &b = g.getBuilder();
  Location loc = g.getLoc();
  auto x = tensorOf(op.getInput()), y = tensorOf(dy);
  Type element = x.getElementType();
  int64_t rank = x.getRank(), spatial = rank - 2, channels = x.getDimSize(1);
  ArrayRef<int64_t> kernel = op.getKernelShape(), strides = op.getStrides(),
                    pads = op.getPads(), dilations = op.getDilations();
  ArrayRef<int64_t> inSizes = x.getShape().drop_front(2), outSizes = y.getShape().drop_front(2);
  Scatter s = scatterBack(inSizes, outSizes, kernel, strides, pads, dilations);
  int64_t taps = 1;
  for (int64_t k : kernel)
    taps *= k;
  llvm::SmallVector<int64_t> kernelShape(kernel);

  auto scatter = [&](Value gradients, int64_t perChannel, ArrayRef<double> weights) {
    llvm::SmallVector<int64_t> weightShape{channels * perChannel, 1};
    weightShape.append(kernelShape);
    Value weight = floatConstant(b, loc, weightShape, element, weights);
    return b.create<ConvTransposeOp>(loc, x, gradients, weight, Value(), op.getStridesAttr(),
                                     b.getDenseI64ArrayAttr(s.pads), op.getDilationsAttr(),
                                     b.getI64IntegerAttr(channels),
                                     b.getDenseI64ArrayAttr(s.outputPadding))
        .getResult();
  };

  if (op.getKind() == PoolKind::avg) {
    // 1 / count per output position, a product over the spatial dims.
    llvm::SmallVector<int64_t> countShape{1, 1};
    countShape.append(outSizes.begin(), outSizes.end());
    int64_t positions = 1;
    for (int64_t o : outSizes)
      positions *= o;
    llvm::SmallVector<double> inverse(positions);
    for (int64_t flat = 0; flat < positions; ++flat) {
      double count = 1;
      for (int64_t i = spatial - 1, rest = flat; i >= 0; --i) {
        int64_t o = rest % outSizes[i];
        rest /= outSizes[i];
        int64_t lo = op.getCountIncludePad() ? -pads[i] : 0;
        int64_t hi = op.getCountIncludePad() ? inSizes[i] + pads[spatial + i] : inSizes[i];
        count *= (double)tapsInside(o, kernel[i], strides[i], pads[i], dilations[i], lo, hi);
      }
      inverse[flat] = count > 0 ? 1.0 / count : 0.0;
    }
    Value scaled = g.binary(BinaryKind::mul, dy,
                            floatConstant(b, loc, countShape, element, inverse));
    out[0] = scatter(scaled, 1, llvm::SmallVector<double>(channels * taps, 1.0));
    return success();
  }

  if (op.getKind() == PoolKind::lp) {
    // y = (Σ |x|^p)^(1/p) per window: dx = Σ over the windows holding x of
    // dy · y^(1-p), times |x|^(p-1) · sign(x) (x itself for p = 2). A
    // window of zeros passes nothing (its y^(1-p) is taken as 0).
    double p = (double)op.getP();
    Value result = op.getResult(), zero = g.scalar(0.0, dy);
    Value positive = b.create<CompareOp>(loc, CompareKind::gt, result, zero);
    Value safe = b.create<SelectOp>(loc, positive, result, g.scalar(1.0, result));
    Value weight = b.create<SelectOp>(
        loc, positive, g.binary(BinaryKind::pow, safe, g.scalar(1.0 - p, safe)), zero);
    Value summed = scatter(g.binary(BinaryKind::mul, dy, weight), 1,
                           llvm::SmallVector<double>(channels * taps, 1.0));
    Value x = op.getInput(), slope = x;
    if (p != 2.0)
      slope = p == 1.0 ? g.unary(UnaryKind::sign, x)
                       : g.binary(BinaryKind::mul, g.unary(UnaryKind::sign, x),
                                  g.binary(BinaryKind::pow, g.unary(UnaryKind::abs, x),
                                           g.scalar(p - 1.0, x)));
    // x = 0 passes nothing (for p > 1 the derivative is 0 there; p = 1 takes
    // sign(0) = 0); selecting it avoids inf · 0 where a window's y is so small
    // that y^(1-p) overflows.
    Value atZero = b.create<CompareOp>(loc, CompareKind::eq, x, g.scalar(0.0, x));
    out[0] = b.create<SelectOp>(loc, atZero, g.scalar(0.0, x),
                                g.binary(BinaryKind::mul, summed, slope));
    return success();
  }

  // Max: x padded with -inf so that every window of every output exists.
  llvm::SmallVector<int64_t> padding(2 * rank, 0), paddedShape(x.getShape());
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t reach = strides[i] * (outSizes[i] - 1) + dilations[i] * (kernel[i] - 1) + 1;
    padding[2 + i] = pads[i];
    padding[rank + 2 + i] = std::max<int64_t>(0, reach - pads[i] - inSizes[i]);
    paddedShape[2 + i] += padding[2 + i] + padding[rank + 2 + i];
  }
  Value padded = op.getInput();
  if (llvm::any_of(padding, [](int64_t p) { return p != 0; }))
    padded = b.create<PadOp>(loc, RankedTensorType::get(paddedShape, element), padded,
                             i64Vector(b, loc, padding), g.scalar(-INFINITY, padded),
                             PadMode::constant);
  Value result = op.getResult(), zero = g.scalar(0.0, dy), found;
  llvm::SmallVector<Value> pieces;
  llvm::SmallVector<int64_t> pieceShape{y.getDimSize(0), channels, 1};
  pieceShape.append(outSizes.begin(), outSizes.end());
  llvm::SmallVector<int64_t> axes, steps;
  for (int64_t i = 0; i < spatial; ++i) {
    axes.push_back(2 + i);
    steps.push_back(strides[i]);
  }
  for (int64_t t = 0; t < taps; ++t) {
    llvm::SmallVector<int64_t> starts(spatial), ends(spatial);
    for (int64_t i = spatial - 1, rest = t; i >= 0; --i) {
      starts[i] = (rest % kernel[i]) * dilations[i];
      ends[i] = starts[i] + strides[i] * (outSizes[i] - 1) + 1;
      rest /= kernel[i];
    }
    Value tap = b.create<SliceOp>(loc, y, padded, i64Vector(b, loc, starts),
                                  i64Vector(b, loc, ends), i64Vector(b, loc, axes),
                                  i64Vector(b, loc, steps));
    Value isMax = b.create<CompareOp>(loc, CompareKind::eq, tap, result);
    Value first = isMax;
    if (found) {
      first = g.binary(BinaryKind::logical_and, isMax, g.unary(UnaryKind::logical_not, found));
      found = g.binary(BinaryKind::logical_or, found, isMax);
    } else {
      found = isMax;
    }
    pieces.push_back(g.reshape(b.create<SelectOp>(loc, first, dy, zero), pieceShape));
  }
  Value stacked = pieces.size() == 1 ? pieces.front()
                                     : b.create<ConcatOp>(loc, pieces, 2).getResult();
  llvm::SmallVector<int64_t> merged{y.getDimSize(0), channels * taps};
  merged.append(outSizes.begin(), outSizes.end());
  // Channel c * taps + t carries tap t of channel c: a one-hot kernel.
  llvm::SmallVector<double> oneHot(channels * taps * taps, 0.0);
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t t = 0; t < taps; ++t)
      oneHot[(c * taps + t) * taps + t] = 1.0;
  out[0] = scatter(g.reshape(stacked, merged), taps, oneHot);
  return success();
}
