//===- DataMovementShapes.h - result shapes of the data-movement ops -*- C++ -*-===//
//
// Shape functions (dsrt::ShapeFunction) of the ops in DataMovementKernels.cpp.
// The operands each one reads values of are listed per function; they are the
// operands of its CpuOp::shapeOperands mask.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_DATAMOVEMENTSHAPES_H
#define DS_RUNTIME_CPU_DATAMOVEMENTSHAPES_H

#include "cpu/ShapeUtils.h"

namespace dsrt::cpu {

/// ds.shape: [end - start] after clamping both to the input's rank.
Status shapeOfShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.reshape: the values of operand 1 (ONNX 0 / -1, `allowzero`).
Status reshapeShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.transpose: the input's dims permuted by `perm` (reversed without it).
Status transposeShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.concat: the inputs' shape with the `axis` dims summed.
Status concatShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.slice: reads starts, ends and the optional axes and steps (operands 1-4).
Status sliceShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.gather: input[:axis] + indices + input[axis+1:].
Status gatherShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.gather_elements: the indices' shape.
Status gatherElementsShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.gather_nd: indices[:-1] + input[batch_dims + tuple length:].
Status gatherNDShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.scatter_elements: the input's shape.
Status scatterElementsShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.scatter_nd: the input's shape.
Status scatterNDShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.expand: the input broadcast with the values of operand 1.
Status expandShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.tile: the input's dims times the values of operand 1.
Status tileShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.pad: the input's dims plus the begin and end pads of operand 1.
Status padShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.fill: the values of operand 0.
Status fillShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.range: [max(ceil((limit - start) / delta), 0)] from operands 0-2.
Status rangeShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.trilu: the input's shape.
Status triluShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.resize: floor(dim * scale) from operand 2, or the sizes of operand 3.
Status resizeShape(const Attributes &attrs, const Inputs &in, Shapes &out);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_DATAMOVEMENTSHAPES_H
