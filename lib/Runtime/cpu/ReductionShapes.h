//===- ReductionShapes.h - result shapes of reductions and norms -*- C++ -*-===//
//
// Shape functions (dsrt::ShapeFunction) of ds.reduce, ds.arg_reduce,
// ds.dynamic_reduce, ds.softmax, ds.norm, ds.cumsum and ds.topk. Only ds.topk
// (k) and ds.dynamic_reduce (axes) read an operand's value, operand 1.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_REDUCTIONSHAPES_H
#define DS_RUNTIME_CPU_REDUCTIONSHAPES_H

#include "cpu/ShapeUtils.h"

namespace dsrt::cpu {

/// The axes a ds.reduce (its `axes` attribute) or ds.dynamic_reduce (the
/// values of operand 1, unique and in range) reduces, as a mask over the
/// dims of operand 0.
Status reducedAxes(const char *op, const Attributes &attrs, const Inputs &in,
                   std::vector<bool> &reduced);
/// ds.reduce and ds.dynamic_reduce: the reduced axes dropped, or kept as 1
/// with `keepdims`.
Status reduceShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.arg_reduce: `axis` dropped, or kept as 1 with `keepdims`.
Status argReduceShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.softmax: the operand's shape.
Status softmaxShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.norm: the operand's shape (scale and bias must broadcast to it).
Status normShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.cumsum: the operand's shape.
Status cumsumShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.topk: values and indices, the operand's shape with `axis` set to the
/// value of k (operand 1, which must carry data).
Status topkShape(const Attributes &attrs, const Inputs &in, Shapes &out);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_REDUCTIONSHAPES_H
