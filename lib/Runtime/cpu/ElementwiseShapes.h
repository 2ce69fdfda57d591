//===- ElementwiseShapes.h - result shapes of the elementwise ops -*- C++ -*-===//
//
// Shape functions (dsrt::ShapeFunction) of ds.unary, ds.binary, ds.compare,
// ds.select and ds.cast. None of them reads operand values.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_ELEMENTWISESHAPES_H
#define DS_RUNTIME_CPU_ELEMENTWISESHAPES_H

#include "cpu/ShapeUtils.h"

namespace dsrt::cpu {

/// ds.unary: the operand's shape.
Status unaryShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.binary: the numpy broadcast of both operands.
Status binaryShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.compare: the numpy broadcast of both operands.
Status compareShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.select: the numpy broadcast of condition, true and false values.
Status selectShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.cast: the operand's shape.
Status castShape(const Attributes &attrs, const Inputs &in, Shapes &out);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_ELEMENTWISESHAPES_H
