//===- SelectionKernels.cpp - ops whose result size their data decides ---===//
//
// ds.nonzero: the indices of the nonzero elements; ds.unique: the distinct
// slices along an axis. How many there are depends on the data, so the shape
// functions read the operand's values (their operand mask), and a program
// holding these ops sizes them when the values arrive (the session's
// step-by-step path).
//
//===----------------------------------------------------------------------===//
#include "cpu/Kernels.h"
#include "cpu/KernelUtils.h"
#include "cpu/ShapeUtils.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

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

//===----------------------------------------------------------------------===//
// ds.unique
//===----------------------------------------------------------------------===//

/// The input seen as `slices` slices along the axis: element `i` of slice `j`
/// (row-major over the other dims) is at (i / inner) * slices * inner +
/// j * inner + i % inner.
struct SliceView {
  const Tensor *x = nullptr;
  int64_t outer = 1, slices = 0, inner = 1;
  int64_t offset(int64_t j, int64_t i) const {
    return (i / inner) * slices * inner + j * inner + i % inner;
  }
  int64_t length() const { return outer * inner; }
};

/// -1, 0, 1 as slice a sorts before, with or after slice b: element by
/// element; integers exactly, floats with NaN after every number and equal to
/// NaN (numpy.unique's equal_nan).
int compareSlices(const SliceView &v, int64_t a, int64_t b) {
  const Tensor &x = *v.x;
  const bool integral = isIntegerType(x.dtype) || x.dtype == DS_BOOL;
  for (int64_t i = 0, n = v.length(); i < n; ++i) {
    if (integral) {
      int64_t p = loadAsInt(x, v.offset(a, i)), q = loadAsInt(x, v.offset(b, i));
      if (p != q)
        return p < q ? -1 : 1;
      continue;
    }
    double p = loadAsDouble(x, v.offset(a, i)), q = loadAsDouble(x, v.offset(b, i));
    bool pn = std::isnan(p), qn = std::isnan(q);
    if (pn || qn) {
      if (pn != qn)
        return pn ? 1 : -1;
      continue;
    }
    if (p != q)
      return p < q ? -1 : 1;
  }
  return 0;
}

struct UniqueSlices {
  std::vector<int64_t> first;   ///< per distinct slice, in result order: its first occurrence
  std::vector<int64_t> inverse; ///< per input slice: its distinct slice
  std::vector<int64_t> counts;  ///< per distinct slice
};

Status uniqueSlices(const char *op, const Attributes &attrs, const Tensor &x, SliceView &view,
                    UniqueSlices &u) {
  int64_t axis;
  if (Status s = normalizeAxis(op, attrs.getInt("axis", 0), x.rank(), axis); !s)
    return s;
  if (!x.data && x.numel() > 0)
    return fail(op, "the input has no data");
  view.x = &x;
  view.slices = x.shape[(size_t)axis];
  for (int64_t d = 0; d < x.rank(); ++d)
    if (d != axis)
      (d < axis ? view.outer : view.inner) *= x.shape[(size_t)d];
  const int64_t slices = view.slices;
  std::vector<int64_t> order(slices);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return compareSlices(view, a, b) < 0; });
  // Runs of equal slices; the stable sort puts each run's first occurrence first.
  std::vector<int64_t> runOf(slices);
  std::vector<int64_t> runFirst, runCount;
  for (int64_t k = 0; k < slices; ++k) {
    if (k == 0 || compareSlices(view, order[k - 1], order[k]) != 0) {
      runFirst.push_back(order[k]);
      runCount.push_back(0);
    }
    runOf[order[k]] = (int64_t)runFirst.size() - 1;
    ++runCount.back();
  }
  // Result order: sorted runs, or runs by first occurrence.
  std::vector<int64_t> runs(runFirst.size());
  std::iota(runs.begin(), runs.end(), 0);
  if (!attrs.getInt("sorted", 1))
    std::sort(runs.begin(), runs.end(), [&](int64_t a, int64_t b) { return runFirst[a] < runFirst[b]; });
  std::vector<int64_t> position(runs.size());
  for (size_t k = 0; k < runs.size(); ++k) {
    position[runs[k]] = (int64_t)k;
    u.first.push_back(runFirst[runs[k]]);
    u.counts.push_back(runCount[runs[k]]);
  }
  u.inverse.resize(slices);
  for (int64_t j = 0; j < slices; ++j)
    u.inverse[j] = position[runOf[j]];
  return Status();
}

/// The distinct slices of the op's input and the result shapes they give.
Status planUnique(const Attributes &attrs, const Inputs &in, Shapes &out, SliceView &view,
                  UniqueSlices &u) {
  const char *op = "ds.unique";
  if (Status s = needShapes(op, in, 1, out, 4); !s)
    return s;
  const Tensor &x = *in[0];
  if (x.rank() == 0)
    return fail(op, "needs an input of rank >= 1");
  if (Status s = uniqueSlices(op, attrs, x, view, u); !s)
    return s;
  int64_t axis = normAxis(attrs.getInt("axis", 0), x.rank());
  out[0] = x.shape;
  out[0][(size_t)axis] = (int64_t)u.first.size();
  out[1] = {(int64_t)u.first.size()};
  out[2] = {view.slices};
  out[3] = out[1];
  return checkShape(op, out[0]);
}

Status uniqueShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  SliceView view;
  UniqueSlices u;
  return planUnique(attrs, in, out, view, u);
}

Status uniqueKernel(KernelContext &, const Attributes &attrs, const Inputs &in,
                    const Outputs &out) {
  const char *op = "ds.unique";
  if (Status s = checkOperands(op, in, 1, out, 4); !s)
    return s;
  std::vector<Shape> shapes(4);
  SliceView view;
  UniqueSlices u;
  if (Status s = planUnique(attrs, in, shapes, view, u); !s)
    return s;
  const Tensor &x = *in[0];
  for (size_t k = 0; k < 4; ++k) {
    if (!out[k])
      continue;
    if (out[k]->shape != shapes[k])
      return fail(op, "result " + std::to_string(k) + " is " + shapeText(out[k]->shape) +
                          ", expected " + shapeText(shapes[k]));
    if ((k == 0 && out[k]->dtype != x.dtype) || (k > 0 && out[k]->dtype != DS_I64))
      return fail(op, "result " + std::to_string(k) + " has dtype " + dtypeName(out[k]->dtype));
  }
  if (Tensor *y = out[0]) {
    const size_t rowBytes = (size_t)view.inner * dtypeSize(x.dtype);
    const int64_t distinct = (int64_t)u.first.size();
    for (int64_t o = 0; o < view.outer; ++o)
      for (int64_t k = 0; k < distinct; ++k)
        std::memcpy(static_cast<char *>(y->data) + ((o * distinct + k) * rowBytes),
                    static_cast<const char *>(x.data) +
                        ((o * view.slices + u.first[(size_t)k]) * rowBytes),
                    rowBytes);
  }
  const std::vector<int64_t> *lists[3] = {&u.first, &u.inverse, &u.counts};
  for (size_t k = 1; k < 4; ++k)
    if (out[k] && !lists[k - 1]->empty())
      std::memcpy(out[k]->data, lists[k - 1]->data(), lists[k - 1]->size() * sizeof(int64_t));
  return Status();
}

} // namespace

void registerSelectionKernels(KernelTable &table) {
  table["ds.nonzero"] = CpuOp(nonzeroKernel, nonzeroShape, operandMask({0}));
  table["ds.unique"] = CpuOp(uniqueKernel, uniqueShape, operandMask({0}));
}

} // namespace dsrt::cpu
