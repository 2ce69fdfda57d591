//===- ElementwiseShapes.cpp - result shapes of the ops in ElementwiseKernels.cpp ===//
//
// Kinds and dtypes are the kernels' to check when they run; only what decides
// (or forbids) a result shape is checked here.
//
//===----------------------------------------------------------------------===//
#include "cpu/ElementwiseShapes.h"

namespace dsrt::cpu {
namespace {

/// The shape of operand 0, unchanged.
Status sameShape(const char *op, const Inputs &in, Shapes &out) {
  if (Status s = needShapes(op, in, 1, out, 1); !s)
    return s;
  out[0] = in[0]->shape;
  return checkShape(op, out[0]);
}

/// The numpy broadcast of the first `n` operands.
Status broadcastOperands(const char *op, const Inputs &in, size_t n, Shapes &out) {
  if (Status s = needShapes(op, in, n, out, 1); !s)
    return s;
  std::vector<const Shape *> shapes;
  for (size_t i = 0; i < n; ++i)
    shapes.push_back(&in[i]->shape);
  return broadcastShapes(op, shapes, out[0]);
}

} // namespace

Status unaryShape(const Attributes &, const Inputs &in, Shapes &out) {
  return sameShape("ds.unary", in, out);
}

Status binaryShape(const Attributes &, const Inputs &in, Shapes &out) {
  return broadcastOperands("ds.binary", in, 2, out);
}

Status compareShape(const Attributes &, const Inputs &in, Shapes &out) {
  return broadcastOperands("ds.compare", in, 2, out);
}

Status selectShape(const Attributes &, const Inputs &in, Shapes &out) {
  return broadcastOperands("ds.select", in, 3, out);
}

Status castShape(const Attributes &, const Inputs &in, Shapes &out) {
  return sameShape("ds.cast", in, out);
}

} // namespace dsrt::cpu
