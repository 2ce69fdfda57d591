//===- EmitTopK.cpp - ds.topk: one block per slice along the axis ---------===//
//
// The selection and the sort are the template in kernels/TopK.cuh; this
// names the slice geometry (R elements along the axis, k kept, `inner`
// elements between two of a slice) and the key width of the element type.
//
//===----------------------------------------------------------------------===//
#include "Emitters.h"
#include "KernelWriter.h"

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::cuda;

LogicalResult cuda::emitTopK(FusionGroupOp group, TopKOp topk, const std::string &name,
                             EmitContext &ctx) {
  Value input = topk.getInput();
  if (!isAloneInGroup(group, topk))
    return topk.emitError("cuda: 'ds.topk' must be alone in its fusion group (as --ds-fuse "
                          "leaves it)");
  Type element = cast<RankedTensorType>(input.getType()).getElementType();
  if (float8Kind(element) >= 0)
    return topk.emitError("cuda: 'ds.topk' on ") << element << " is not supported (nor on the CPU)";
  KernelWriter w(group, name, *ctx.sizes);
  Dims shape = w.dims(input);
  const int64_t rank = (int64_t)shape.size();
  int64_t axis = (int64_t)topk.getAxis();
  if (axis < 0)
    axis += rank;
  // Indices are ranked as 32-bit digits (TopK.cuh).
  int64_t staticLength = shapeOf(input)[axis];
  if (!ShapedType::isDynamic(staticLength) && staticLength > INT32_MAX)
    return topk.emitError("cuda: 'ds.topk' over an axis of ")
           << staticLength << " elements (at most 2^31 - 1)";
  // The kernel takes k from the result type; a run-time k could disagree
  // with a static one (a dynamic one comes from input dims, DynamicDims).
  int64_t staticK = shapeOf(topk.getValues())[axis];
  if (!ShapedType::isDynamic(staticK)) {
    FailureOr<SmallVector<int64_t>> k = constantInts(topk.getK());
    if (failed(k) || k->size() != 1 || (*k)[0] != staticK)
      return topk.emitError("cuda: 'ds.topk' needs k as a constant (")
             << staticK << ", the result's dim); bind a graph input k with --ds-bind-input";
  }
  // A kernel cannot fail a run, and with k above the axis length it would
  // read past the slice (the CPU reports the error): k <= R must hold for
  // every input shape, as the broadcasts' dims must (DynamicDims).
  DimExpr length = ctx.sizes->dim(input, axis), k = ctx.sizes->dim(topk.getValues(), axis);
  if (!(length - k).isNonNegative())
    return topk.emitError("cuda: cannot tell before a run whether k (")
           << formC(k) << ") is at most the axis length (" << formC(length)
           << "); bind the dynamic dims with --ds-input-shape";
  Size slices = ctx.sizes->product(input, 0, axis) * ctx.sizes->product(input, axis + 1, rank);
  if (slices.isStatic() && slices.staticValue() == 0)
    return success(); // no slices, nothing to write
  const bool wide = element.getIntOrFloatBitWidth() == 64;
  std::string inner = ctx.sizes->product(input, axis + 1, rank).c();
  w.line() << "// top " << w.dims(topk.getValues())[axis] << " of " << shape[axis] << " along axis "
           << axis << ", one block per slice\n";
  if (failed(w.declareFlatLoader(input, "load")))
    return failure();
  w.line() << "ds_topk_slice<" << (wide ? 64 : 32) << ">(load, " << w.outputParam(0) << ", "
           << w.outputParam(1) << ", (long long)" << shape[axis] << ", (long long)"
           << w.dims(topk.getValues())[axis] << ", (long long)" << inner << ", "
           << (topk.getLargest() ? "true" : "false") << ");\n";
  int64_t block = ShapedType::isDynamic(staticLength)
                      ? 256
                      : std::clamp<int64_t>((staticLength + 31) / 32 * 32, 32, 256);
  ctx.source += w.globals + w.finish("__launch_bounds__(256)") + "\n";
  ctx.steps.push_back(w.launchStep({slices, Size::of(1), Size::of(1)}, {block, 1, 1}, 0));
  ++ctx.kernels;
  return success();
}
