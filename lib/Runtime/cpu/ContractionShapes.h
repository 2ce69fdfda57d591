//===- ContractionShapes.h - result shapes of contractions -------*- C++ -*-===//
//
// Shape functions (dsrt::ShapeFunction) of ds.matmul, ds.conv,
// ds.conv_transpose, ds.pool, ds.einsum, ds.attention and
// ds.rotary_embedding. None of them reads operand values.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_CONTRACTIONSHAPES_H
#define DS_RUNTIME_CPU_CONTRACTIONSHAPES_H

#include "cpu/ShapeUtils.h"

namespace dsrt::cpu {

/// ds.matmul: numpy.matmul (1-D operands promoted, batch dims broadcast).
Status matmulShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.matmul_integer: matmul's shape; zero points of one value (rhs: or one
/// per column).
Status matmulQuantizedWeightShape(const Attributes &attrs, const Inputs &in, Shapes &out);
Status matmulIntegerShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.conv: [N, M, spatial...] from strides, pads and dilations.
Status convShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.conv_integer: conv's shape; zero points of one value (weight: or one
/// per output channel).
Status convIntegerShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.conv_transpose: [N, M, spatial...] including output_padding.
Status convTransposeShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.pool: [N, C, spatial...] from kernel_shape, strides, pads, dilations
/// and ceil_mode.
Status poolShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.einsum: the output term of `equation` (implicit output and "..."
/// included).
Status einsumShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.attention: [B, Hq, S, Dv].
Status attentionShape(const Attributes &attrs, const Inputs &in, Shapes &out);
Status sparseAttentionShape(const Attributes &attrs, const Inputs &in, Shapes &out);
Status blockSparseAttentionShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.attention_grad, ds.sparse_attention_grad: the shapes of query, key
/// and value.
Status sparseAttentionGradShape(const Attributes &attrs, const Inputs &in, Shapes &out);
Status blockSparseAttentionGradShape(const Attributes &attrs, const Inputs &in, Shapes &out);
Status attentionGradShape(const Attributes &attrs, const Inputs &in, Shapes &out);
/// ds.rotary_embedding: the input's shape.
Status rotaryShape(const Attributes &attrs, const Inputs &in, Shapes &out);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_CONTRACTIONSHAPES_H
