//===- ReductionShapes.cpp - result shapes of the ops in ReductionKernels.cpp ===//
//
// Attribute defaults follow the kernels (and ONNX where a kernel does not
// read the attribute, like keepdims, which only decides the result's rank).
//
//===----------------------------------------------------------------------===//
#include "cpu/ReductionShapes.h"

namespace dsrt::cpu {
namespace {

/// `axis` in [-rank, rank) made non-negative, as the kernels accept it.
Status normalizedAxis(const char *op, int64_t axis, size_t rank, size_t &out) {
  int64_t a = axis < 0 ? axis + (int64_t)rank : axis;
  if (a < 0 || a >= (int64_t)rank)
    return fail(op, "axis " + std::to_string(axis) + " is out of range for rank " +
                        std::to_string(rank));
  out = (size_t)a;
  return Status();
}

/// The operand's shape after checking `axis` (default `fallback`) against it.
Status sameShapeAlongAxis(const char *op, const Attributes &attrs, int64_t fallback,
                          const Inputs &in, Shapes &out) {
  if (Status s = needShapes(op, in, 1, out, 1); !s)
    return s;
  size_t axis;
  if (Status s = normalizedAxis(op, attrs.getInt("axis", fallback), in[0]->shape.size(), axis); !s)
    return s;
  out[0] = in[0]->shape;
  return checkShape(op, out[0]);
}

} // namespace

Status reducedAxes(const char *op, const Attributes &attrs, const Inputs &in,
                   std::vector<bool> &reduced) {
  const size_t rank = in[0]->shape.size();
  reduced.assign(rank, false);
  const bool fromOperand = in.size() > 1 && in[1];
  if (!fromOperand) {
    // Empty axes reduce nothing: the importer spells out ONNX's "all axes".
    for (int64_t a : attrs.getInts("axes")) {
      size_t axis;
      if (Status s = normalizedAxis(op, a, rank, axis); !s)
        return s;
      reduced[axis] = true;
    }
    return Status();
  }
  if (in[1]->rank() != 1)
    return fail(op, "axes must be a 1-D tensor, got shape " + shapeText(in[1]->shape, "x"));
  std::vector<int64_t> axes;
  if (Status s = readInts(op, in[1], "axes", axes); !s)
    return s;
  for (int64_t a : axes) {
    size_t axis;
    if (Status s = normalizedAxis(op, a, rank, axis); !s)
      return s;
    // A repeated axis is reduced once (as ds.reduce's importer does), but
    // without keepdims the result's rank counts every axis given.
    if (reduced[axis] && attrs.getInt("keepdims", 1) == 0)
      return fail(op, "axis " + std::to_string(a) +
                          " is given twice (without keepdims the result's rank counts each axis)");
    reduced[axis] = true;
  }
  return Status();
}

Status reduceShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = in.size() > 1 ? "ds.dynamic_reduce" : "ds.reduce";
  if (Status s = needShapes(op, in, 1, out, 1); !s)
    return s;
  const Shape &x = in[0]->shape;
  std::vector<bool> reduced;
  if (Status s = reducedAxes(op, attrs, in, reduced); !s)
    return s;
  const bool keepdims = attrs.getInt("keepdims", 1) != 0;
  out[0].clear();
  for (size_t d = 0; d < x.size(); ++d) {
    if (!reduced[d])
      out[0].push_back(x[d]);
    else if (keepdims)
      out[0].push_back(1);
  }
  return checkShape(op, out[0]);
}

Status argReduceShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.arg_reduce";
  if (Status s = needShapes(op, in, 1, out, 1); !s)
    return s;
  const Shape &x = in[0]->shape;
  size_t axis;
  if (Status s = normalizedAxis(op, attrs.getInt("axis", 0), x.size(), axis); !s)
    return s;
  out[0] = x;
  if (attrs.getInt("keepdims", 1) != 0)
    out[0][axis] = 1;
  else
    out[0].erase(out[0].begin() + (ptrdiff_t)axis);
  if (Status s = checkShape(op, out[0]); !s)
    return s;
  // No index to return for a non-empty result over an empty axis.
  bool emptyResult = std::find(out[0].begin(), out[0].end(), 0) != out[0].end();
  if (x[axis] == 0 && !emptyResult)
    return fail(op, "cannot reduce an empty axis");
  return Status();
}

Status softmaxShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  return sameShapeAlongAxis("ds.softmax", attrs, -1, in, out);
}

Status normShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.norm";
  if (Status s = sameShapeAlongAxis(op, attrs, -1, in, out); !s)
    return s;
  const char *names[] = {"scale", "bias"};
  for (size_t i = 1; i < 3 && i < in.size(); ++i)
    if (in[i] && !broadcastsTo(in[i]->shape, in[0]->shape))
      return fail(op, std::string(names[i - 1]) + " shape " + shapeText(in[i]->shape) +
                          " does not broadcast to input " + shapeText(in[0]->shape));
  return Status();
}

Status cumsumShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  return sameShapeAlongAxis("ds.cumsum", attrs, 0, in, out);
}

Status topkShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.topk";
  if (Status s = needShapes(op, in, 2, out, 2); !s)
    return s;
  const Shape &x = in[0]->shape;
  const Tensor &kt = *in[1];
  if (kt.numel() != 1 || !(isIntegerType(kt.dtype) || kt.dtype == DS_BOOL))
    return fail(op, "k must be a one-element integer tensor");
  if (!kt.data)
    return fail(op, "k has no data");
  size_t axis;
  if (Status s = normalizedAxis(op, attrs.getInt("axis", -1), x.size(), axis); !s)
    return s;
  const int64_t k = loadAsInt(kt, 0);
  if (k < 0 || k > x[axis])
    return fail(op,
                "k = " + std::to_string(k) + " is outside [0, " + std::to_string(x[axis]) + "]");
  out[0] = x;
  out[0][axis] = k;
  out[1] = out[0];
  return checkShape(op, out[0]);
}

} // namespace dsrt::cpu
