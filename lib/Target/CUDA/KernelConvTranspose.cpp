//===- KernelConvTranspose.cpp - ds.conv_transpose at one output position -===//
//
// The gather form of the transposed convolution: output position o reads,
// per input channel of its group and window position k, the input at
// (o + pad_begin - k * dilation) / stride where that divides exactly and
// lies inside the input. One thread per output element, accumulated in
// float (double for f64), no atomics; the bias is added last.
//
//===----------------------------------------------------------------------===//
#include "Emitters.h"
#include "KernelWriter.h"

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::cuda;

FailureOr<std::string> KernelWriter::computeConvTranspose(ConvTransposeOp op,
                                                         ArrayRef<std::string> coords) {
  auto inType = cast<RankedTensorType>(op.getInput().getType());
  auto weightType = cast<RankedTensorType>(op.getWeight().getType());
  auto outType = cast<RankedTensorType>(op.getType());
  if (!inType.hasStaticShape() || !weightType.hasStaticShape() || !outType.hasStaticShape())
    return op->emitError("cuda: ds.conv_transpose with dynamic dims is not supported by the "
                         "CUDA backend yet; bind them with --ds-input-shape"),
           failure();
  ArrayRef<int64_t> inShape = inType.getShape(), wShape = weightType.getShape();
  size_t spatial = inShape.size() - 2;
  int64_t group = (int64_t)op.getGroup();
  int64_t inPerGroup = inShape[1] / group, outPerGroup = wShape[1];
  ArrayRef<int64_t> strides = op.getStrides(), pads = op.getPads(), dilations = op.getDilations();
  Type accType = outType.getElementType().isF64() ? outType.getElementType()
                                                  : Float32Type::get(op->getContext());
  auto str = [](int64_t v) { return std::to_string(v); };

  std::string acc = fresh("acc"), ci = fresh("ci");
  line() << computeType(accType) << " " << acc << " = 0;\n";
  std::string first = outPerGroup == outType.getShape()[1]
                          ? std::string("0")
                          : "(" + coords[1] + " / " + str(outPerGroup) + ") * " + str(inPerGroup);
  std::string outInGroup = outPerGroup == outType.getShape()[1]
                               ? coords[1]
                               : "(" + coords[1] + " % " + str(outPerGroup) + ")";
  open("for (int " + ci + " = 0; " + ci + " < " + str(inPerGroup) + "; ++" + ci + ")");
  std::string channel = first == "0" ? ci : "(" + first + " + " + ci + ")";
  Coords in{coords[0], channel}, w{channel, outInGroup};
  for (size_t s = 0; s < spatial; ++s) {
    std::string k = fresh("k"), t = fresh("t"), i = fresh("i");
    open("for (int " + k + " = 0; " + k + " < " + str(wShape[2 + s]) + "; ++" + k + ")");
    line() << "const long long " << t << " = " << coords[2 + s] << " + " << pads[s] << " - " << k
           << " * " << dilations[s] << ";\n";
    line() << "if (" << t << " < 0 || " << t << " % " << strides[s] << " != 0) continue;\n";
    line() << "const long long " << i << " = " << t << " / " << strides[s] << ";\n";
    line() << "if (" << i << " >= " << inShape[2 + s] << ") continue;\n";
    in.push_back(i);
    w.push_back(k);
  }
  FailureOr<std::string> x = at(op.getInput(), in), wv = at(op.getWeight(), w);
  if (failed(x) || failed(wv))
    return failure();
  line() << acc << " += " << *x << " * " << *wv << ";\n";
  for (size_t s = 0; s < spatial + 1; ++s)
    close();
  if (Value bias = op.getBias()) {
    FailureOr<std::string> b = at(bias, {coords[1]});
    if (failed(b))
      return failure();
    line() << acc << " += " << *b << ";\n";
  }
  return acc;
}
