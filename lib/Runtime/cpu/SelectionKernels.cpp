//===- SelectionKernels.cpp - ops whose result size their data decides ---===//
//
// ds.nonzero: the indices of the nonzero elements. The result's second dim
// is the number of nonzero elements, so the shape function reads the
// operand's values (its operand mask), and a program holding the op sizes
// it when the values arrive (the session's step-by-step path).
//
//===----------------------------------------------------------------------===//
#include "cpu/Kernels.h"
#include "cpu/KernelUtils.h"
#include "cpu/ShapeUtils.h"

namespace dsrt::cpu {
namespace {

bool isNonZero(const Tensor &x, int64_t i) {
  // Through double: NaN and -0.0 follow IEEE (NaN is nonzero, -0.0 is zero),
  // and every nonzero integer stays nonzero.
  return loadAsDouble(x, i) != 0.0;
}

Status nonzeroShape(const Attributes &, const Inputs &in, Shapes &out) {
  const char *op = "ds.nonzero";
  if (Status s = needShapes(op, in, 1, out, 1); !s)
    return s;
  const Tensor &x = *in[0];
  if (!x.data && x.numel() > 0)
    return fail(op, "the input has no data");
  int64_t count = 0;
  for (int64_t i = 0, n = x.numel(); i < n; ++i)
    count += isNonZero(x, i);
  out[0] = {x.rank(), count};
  return checkShape(op, out[0]);
}

Status nonzeroKernel(KernelContext &, const Attributes &attrs, const Inputs &in,
                     const Outputs &out) {
  const char *op = "ds.nonzero";
  if (Status s = need(op, in, out, 1, 1); !s)
    return s;
  Tensor &y = *out[0];
  if (y.dtype != DS_I64)
    return fail(op, std::string("the result must be i64, got ") + dtypeName(y.dtype));
  if (Status s = checkResultShape(op, nonzeroShape, attrs, in, y); !s)
    return s;
  const Tensor &x = *in[0];
  const int64_t rank = x.rank(), count = y.shape[1];
  std::vector<int64_t> strides = stridesOf(x.shape);
  auto *indices = static_cast<int64_t *>(y.data);
  // Row d holds every element's index along dim d, in row-major order.
  for (int64_t i = 0, n = x.numel(), k = 0; i < n; ++i) {
    if (!isNonZero(x, i))
      continue;
    for (int64_t d = 0, rest = i; d < rank; ++d) {
      indices[d * count + k] = rest / strides[(size_t)d];
      rest %= strides[(size_t)d];
    }
    ++k;
  }
  return Status();
}

} // namespace

void registerSelectionKernels(KernelTable &table) {
  table["ds.nonzero"] = CpuOp(nonzeroKernel, nonzeroShape, operandMask({0}));
}

} // namespace dsrt::cpu
