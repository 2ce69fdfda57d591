//===- QuantShapes.cpp - result shapes of the ops in QuantKernels.cpp ===//
//
// The results keep the input's shape; what is checked here is what the
// kernels reject from shapes and dtypes alone: the scale / zero-point layout
// (per tensor, per axis, blocked) and the floating-point sides. The quantized
// result type is not known to a shape function and stays the kernel's check.
//
//===----------------------------------------------------------------------===//
#include "cpu/QuantShapes.h"

namespace dsrt::cpu {
namespace {

/// Scale and zero point against the data, as the kernels' planLayout.
Status checkLayout(const char *op, const Attributes &attrs, const Tensor &x, const Tensor &scale,
                   const Tensor *zp) {
  int64_t rank = x.rank(), block = attrs.getInt("block_size", 0);
  if (block < 0)
    return fail(op, "block_size must be non-negative");
  if (zp && zp->numel() != scale.numel())
    return fail(op, "zero point " + shapeText(zp->shape) + " and scale " + shapeText(scale.shape) +
                        " differ in shape");
  if (block == 0 && scale.numel() == 1)
    return Status(); // per tensor
  int64_t rawAxis = attrs.getInt("axis", 1), axis = normAxis(rawAxis, rank);
  if (axis < 0 || axis >= rank)
    return fail(op, "axis " + std::to_string(rawAxis) + " is out of range for rank " +
                        std::to_string(rank));
  int64_t axisDim = x.shape[(size_t)axis];
  if (block == 0) {
    if (scale.rank() != 1 || scale.shape[0] != axisDim)
      return fail(op, "per-axis scale must be 1-D with " + std::to_string(axisDim) +
                          " elements, got " + shapeText(scale.shape));
    return Status();
  }
  if (scale.rank() != rank)
    return fail(op, "blocked scale must have the input's rank");
  int64_t blocks = axisDim / block + (axisDim % block != 0);
  for (int64_t d = 0; d < rank; ++d)
    if (scale.shape[(size_t)d] != (d == axis ? blocks : x.shape[(size_t)d]))
      return fail(op, "blocked scale " + shapeText(scale.shape) + " does not fit input " +
                          shapeText(x.shape) + " with block_size " + std::to_string(block));
  return Status();
}

/// The data operand's shape, once the dtypes a shape function can see (the
/// scale's; quantize's input, dequantize's zero point) and the layout fit.
Status affineShape(const char *op, const Attributes &attrs, const Inputs &in, Shapes &out,
                   bool inputIsFloat) {
  if (Status s = needShapes(op, in, 2, out, 1); !s)
    return s;
  const Tensor &x = *in[0], &scale = *in[1];
  const Tensor *zp = in.size() > 2 ? in[2] : nullptr;
  if (!isComputeFloat(scale.dtype))
    return fail(op, std::string("scale must be floating-point, got ") + dtypeName(scale.dtype));
  if (inputIsFloat && !isComputeFloat(x.dtype))
    return fail(op, std::string("input must be floating-point, got ") + dtypeName(x.dtype));
  if (!inputIsFloat && zp && zp->dtype != x.dtype)
    return fail(op, std::string("zero point type ") + dtypeName(zp->dtype) +
                        " differs from the input type " + dtypeName(x.dtype));
  if (Status s = checkLayout(op, attrs, x, scale, zp); !s)
    return s;
  out[0] = x.shape;
  return checkShape(op, out[0]);
}

} // namespace

Status quantizeShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  return affineShape("ds.quantize", attrs, in, out, /*inputIsFloat=*/true);
}

Status dequantizeShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  return affineShape("ds.dequantize", attrs, in, out, /*inputIsFloat=*/false);
}

Status dynamicQuantizeShape(const Attributes &, const Inputs &in, Shapes &out) {
  const char *op = "ds.dynamic_quantize";
  if (Status s = needShapes(op, in, 1, out, 3); !s)
    return s;
  const Tensor &x = *in[0];
  if (x.dtype != DS_F32)
    return fail(op, std::string("input must be f32, got ") + dtypeName(x.dtype));
  out[0] = x.shape;
  out[1] = {}; // scalar scale and zero point, as ONNX DynamicQuantizeLinear
  out[2] = {};
  return checkShape(op, out[0]);
}

} // namespace dsrt::cpu
