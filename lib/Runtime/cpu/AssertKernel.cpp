//===- AssertKernel.cpp - ds.assert: a run-time check on shape arithmetic --===//
//
// The importer computes some shapes from values only a run knows (Squeeze's
// axes, Split's sizes) and guards the arithmetic with ds.assert where a wrong
// value would otherwise go on as a wrong shape. The check runs when the
// session sizes the program, before any step that uses the shape.
//
//===----------------------------------------------------------------------===//
#include "cpu/KernelUtils.h"
#include "cpu/Kernels.h"
#include "cpu/ShapeUtils.h"

#include <cstring>

namespace dsrt::cpu {
namespace {

Status assertShape(const Attributes &, const Inputs &in, Shapes &out) {
  if (Status s = needShapes("ds.assert", in, 2, out, 1); !s)
    return s;
  out[0] = in[1]->shape;
  return Status();
}

Status assertKernel(KernelContext &, const Attributes &attrs, const Inputs &in,
                    const Outputs &out) {
  const char *op = "ds.assert";
  if (Status s = need(op, in, out, 2, 1); !s)
    return s;
  const Tensor &condition = *in[0], &x = *in[1];
  Tensor &y = *out[0];
  if (condition.dtype != DS_BOOL)
    return fail(op, std::string("condition must be bool, got ") + dtypeName(condition.dtype));
  for (int64_t i = 0; i < condition.numel(); ++i)
    if (!condition.as<uint8_t>()[i])
      return fail(op, attrs.getString("message"));
  if (y.dtype != x.dtype || y.shape != x.shape)
    return fail(op, "result " + shapeText(y.shape, "x") + " " + dtypeName(y.dtype) +
                        " differs from the operand " + shapeText(x.shape, "x") + " " +
                        dtypeName(x.dtype));
  if (y.data != x.data && x.bytes() > 0)
    std::memcpy(y.data, x.data, x.bytes());
  return Status();
}

} // namespace

void registerAssertKernel(KernelTable &table) {
  table["ds.assert"] = CpuOp(assertKernel, assertShape);
}

} // namespace dsrt::cpu
