//===- QuantShapes.h - result shapes of the quantization ops ----*- C++ -*-===//
//
// Shape functions (dsrt::ShapeFunction) of ds.quantize, ds.dequantize and
// ds.dynamic_quantize. None of them reads operand values.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_QUANTSHAPES_H
#define DS_RUNTIME_CPU_QUANTSHAPES_H

#include "cpu/ShapeUtils.h"

namespace dsrt::cpu {

/// ds.quantize: the input's shape, once scale / zero point fit its layout.
Status quantizeShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.dequantize: the input's shape, once scale / zero point fit its layout.
Status dequantizeShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.dynamic_quantize: the input's shape, a scalar scale, a scalar zero point.
Status dynamicQuantizeShape(const Attributes &attrs, const Inputs &in, Shapes &out);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_QUANTSHAPES_H
