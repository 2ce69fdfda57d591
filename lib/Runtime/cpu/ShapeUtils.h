//===- ShapeUtils.h - helpers shared by the CPU shape functions -*- C++ -*-===//
//
// A shape function (dsrt::ShapeFunction) sizes a step's results before the
// step runs. These are the pieces most of them need: broadcasting, reading a
// shape-valued operand, and refusing shapes whose size overflows.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_SHAPEUTILS_H
#define DS_RUNTIME_CPU_SHAPEUTILS_H

#include "cpu/KernelUtils.h"

namespace dsrt::cpu {

/// Result shapes as a shape function writes them.
using Shapes = std::vector<Shape>;

/// The numpy (ONNX multidirectional) broadcast of `shapes` into `out`; an
/// error naming both shapes when two dims are neither equal nor 1.
Status broadcastShapes(const char *op, const std::vector<const Shape *> &shapes, Shape &out);

/// Whether `t` broadcasts to `shape` without growing it (a bias, a norm's
/// scale).
bool broadcastsTo(const Shape &t, const Shape &shape);

/// Checks that every dim of `shape` is non-negative and that the element
/// count fits in int64 (and its byte size in 2^62 for any dtype).
Status checkShape(const char *op, const Shape &shape);

/// The values of an integer operand (i64 or i32, any rank) as int64; an
/// error when it is missing, has no data or another dtype. `what` names the
/// operand in messages ("shape", "starts").
Status readInts(const char *op, const Tensor *t, const char *what, std::vector<int64_t> &out);

/// Checks a kernel's one result `y` against the op's shape function, so that
/// the kernel validates its operands with the one definition of its sizes.
Status checkResultShape(const char *op, ShapeFunction shape, const Attributes &attrs,
                        const Inputs &in, const Tensor &y);

/// `axis` in [-rank, rank) made non-negative, or an error naming `op`.
Status normalizeAxis(const char *op, int64_t axis, int64_t rank, int64_t &out);

/// Checks the operand and result counts a shape function was handed.
Status needShapes(const char *op, const Inputs &in, size_t numRequired, const Shapes &out,
                  size_t numOutputs);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_SHAPEUTILS_H
