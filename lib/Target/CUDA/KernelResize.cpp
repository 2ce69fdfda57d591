//===- KernelResize.cpp - ds.resize at one output position ---------------===//
//
// Each output element maps its coordinate on every resampled axis back to
// the input (ds_resize_coord, the formulas of cpu/ResizeKernel.cpp in single
// precision, as onnxruntime) and reads one input element (nearest) or sums
// the taps of every resampled axis weighted by the product of their 1-D
// weights (linear, cubic; antialias widens the taps on a downscaled axis).
// Axes that keep their length with scale 1 read the output coordinate.
//
//===----------------------------------------------------------------------===//
#include "Emitters.h"
#include "KernelWriter.h"

#include <cmath>

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::cuda;

namespace {
/// How one axis is resampled.
struct ResizeAxis {
  bool identity = false;
  std::string scale;       ///< float C expression
  double kernelScale = 1;  ///< antialias: min(scale, 1)
  int64_t start = 0, taps = 1;
  std::string roiStart = "0.0f", roiEnd = "1.0f";
};

} // namespace

FailureOr<std::string> KernelWriter::computeResize(ResizeOp op, ArrayRef<std::string> coords) {
  Value input = op.getInput();
  Dims inShape = dims(input), outShape = dims(op.getResult());
  size_t rank = inShape.size();
  Type elementType = cast<RankedTensorType>(op.getType()).getElementType();
  std::string ct = computeType(elementType);
  // Coordinates in single precision (as the CPU), tap weights in double.
  Type f32 = Float32Type::get(op->getContext()), f64 = Float64Type::get(op->getContext());
  auto floatC = [&](double v) { return literal(v, f32); };
  auto doubleC = [&](double v) { return literal(v, f64); };
  auto refuse = [&](const Twine &what) {
    return op->emitError("cuda: ds.resize ") << what, failure();
  };

  StringRef mode = op.getMode(), ctm = op.getCoordinateTransformationMode();
  int modeKind = mode == "nearest" ? 0 : mode == "linear" ? 1 : mode == "cubic" ? 2 : -1;
  static const StringRef coordModes[] = {"half_pixel",    "half_pixel_symmetric",
                                         "pytorch_half_pixel", "align_corners",
                                         "asymmetric",    "tf_crop_and_resize"};
  auto coordIt = llvm::find(coordModes, ctm);
  if (modeKind < 0 || coordIt == std::end(coordModes))
    return refuse("mode '" + mode + "' with coordinate_transformation_mode '" + ctm +
                  "' is not supported");
  int coordKind = (int)(coordIt - std::begin(coordModes));
  bool crop = coordKind == 5;
  StringRef nearest = op.getNearestMode();
  int nearestKind = nearest == "round_prefer_floor" ? 0
                    : nearest == "round_prefer_ceil" ? 1
                    : nearest == "floor"             ? 2
                    : nearest == "ceil"              ? 3
                                                     : -1;
  if (modeKind == 0 && nearestKind < 0)
    return refuse("nearest_mode '" + nearest + "' is not supported");
  if (modeKind != 0 && !isa<FloatType>(elementType))
    return refuse("interpolation needs floating-point data");

  // Scales map coordinates; without them, out / in per axis.
  SmallVector<double> scales;
  if (Value s = op.getScales(); s && shapeOf(s)[0] != 0) {
    auto constant = constantFloats(s);
    if (failed(constant) || constant->size() != rank)
      return refuse("needs constant scales (one per axis)");
    scales = *constant;
  }
  SmallVector<double> roi;
  if (Value r = op.getRoi(); crop && r && shapeOf(r)[0] != 0) {
    auto constant = constantFloats(r);
    if (failed(constant) || constant->size() != 2 * rank)
      return refuse("needs a constant roi of 2 x rank values");
    roi = *constant;
  }

  SmallVector<ResizeAxis> axes(rank);
  for (size_t d = 0; d < rank; ++d) {
    ResizeAxis &a = axes[d];
    int64_t in = 0, out = 0;
    bool isStatic = !StringRef(inShape[d]).getAsInteger(10, in) &&
                    !StringRef(outShape[d]).getAsInteger(10, out);
    std::optional<float> scale;
    if (!scales.empty())
      scale = (float)scales[d];
    else if (isStatic)
      scale = in ? (float)out / (float)in : 1.0f;
    a.identity = !crop && inShape[d] == outShape[d] && (scales.empty() || *scale == 1.0f);
    if (a.identity)
      continue;
    a.scale = scale ? floatC(*scale)
                    : "(" + inShape[d] + " ? (float)" + outShape[d] + " / (float)" + inShape[d] +
                          " : 1.0f)";
    if (op.getAntialias() && modeKind != 0) {
      if (!scale)
        return refuse("antialias needs a scale known at compile time");
      a.kernelScale = std::min<double>(*scale, 1.0);
    }
    if (crop && !roi.empty())
      a.roiStart = floatC((float)roi[d]), a.roiEnd = floatC((float)roi[d + rank]);
    if (modeKind != 0) {
      a.start = (int64_t)std::floor((modeKind == 1 ? -1.0 : -2.0) / a.kernelScale) + 1;
      a.taps = 2 - 2 * a.start;
    }
  }

  // Input coordinates of the resampled axes; outside a crop, the
  // extrapolation value.
  std::string r = fresh("v");
  line() << ct << " " << r << " = "
         << (crop ? "(" + ct + ")" + literal(op.getExtrapolationValue().convertToDouble(),
                                                isa<FloatType>(elementType) ? elementType : f32)
                  : "(" + ct + ")0")
         << ";\n";
  SmallVector<std::string> xo(rank);
  std::string outside;
  for (size_t d = 0; d < rank; ++d) {
    if (axes[d].identity)
      continue;
    xo[d] = fresh("xo");
    line() << "const float " << xo[d] << " = ds_resize_coord(" << coordKind << ", (float)"
           << coords[d] << ", " << axes[d].scale << ", (float)" << outShape[d] << ", (float)"
           << inShape[d] << ", " << axes[d].roiStart << ", " << axes[d].roiEnd << ");\n";
    if (crop)
      outside += (outside.empty() ? "" : " || ") + xo[d] + " < 0.0f || " + xo[d] + " > (float)(" +
                 inShape[d] + " - 1)";
  }
  open(outside.empty() ? Twine("") : Twine("if (!(" + outside + "))"));
  Coords in(coords.begin(), coords.end());
  if (modeKind == 0) {
    for (size_t d = 0; d < rank; ++d) {
      if (axes[d].identity)
        continue;
      in[d] = fresh("n");
      line() << "const long long " << in[d] << " = ds_resize_nearest(" << nearestKind << ", "
             << xo[d] << ", " << inShape[d] << ");\n";
    }
    FailureOr<std::string> v = at(input, in);
    if (failed(v))
      return failure();
    line() << r << " = " << *v << ";\n";
    close();
    return r;
  }

  // Linear / cubic: per axis the base (ceil(xo) - 1), the ratio in (0, 1]
  // and, when weights are normalized, their sum; then one loop per axis.
  bool normalize = op.getAntialias() || op.getExcludeOutside();
  double a = op.getCubicCoeffA().convertToDouble();
  std::string weights = "1.0";
  auto tap = [&](size_t d, StringRef t, StringRef index) {
    const ResizeAxis &ax = axes[d];
    return "ds_resize_tap(" + std::to_string(modeKind == 2) + ", " + std::to_string(ax.start) +
           " + " + t.str() + ", " + xo[d] + ", " + doubleC(ax.kernelScale) + ", " + doubleC(a) +
           ", " + (op.getExcludeOutside() ? "true" : "false") + ", " +
           inShape[d] + ", " + index.str() + ")";
  };
  SmallVector<std::string> sums(rank);
  for (size_t d = 0; d < rank; ++d) {
    if (axes[d].identity || !normalize)
      continue;
    sums[d] = fresh("sum");
    std::string t = fresh("t"), unused = fresh("u");
    line() << "double " << sums[d] << " = 0.0;\n";
    open("for (int " + t + " = 0; " + t + " < " + std::to_string(axes[d].taps) + "; ++" + t + ")");
    line() << "long long " << unused << ";\n";
    line() << sums[d] << " += " << tap(d, t, unused) << ";\n";
    close();
  }
  std::string acc = fresh("acc");
  line() << ct << " " << acc << " = 0;\n";
  unsigned loops = 0;
  for (size_t d = 0; d < rank; ++d) {
    if (axes[d].identity)
      continue;
    std::string t = fresh("t"), w = fresh("w");
    in[d] = fresh("i");
    open("for (int " + t + " = 0; " + t + " < " + std::to_string(axes[d].taps) + "; ++" + t + ")");
    ++loops;
    line() << "long long " << in[d] << ";\n";
    line() << "double " << w << " = " << tap(d, t, in[d]) << ";\n";
    if (normalize)
      line() << "if (" << sums[d] << " != 0.0) " << w << " /= " << sums[d] << ";\n";
    line() << "if (" << w << " == 0.0) continue; // as the CPU, a zero weight reads nothing\n";
    weights += " * " + w;
  }
  FailureOr<std::string> v = at(input, in);
  if (failed(v))
    return failure();
  line() << acc << " += (" << ct << ")(" << weights << ") * " << *v << ";\n";
  for (unsigned i = 0; i < loops; ++i)
    close();
  line() << r << " = " << acc << ";\n";
  close();
  return r;
}
