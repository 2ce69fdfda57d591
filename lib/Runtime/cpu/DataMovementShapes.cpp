//===- DataMovementShapes.cpp - result shapes of the ops in DataMovementKernels.cpp ===//
//
// Each function follows its kernel: same operand order, same attributes, and
// the same rejections wherever they depend on shapes, dtypes or the values of
// the shape operands. Errors the kernels find in other operands' values (a
// gather index out of range) remain theirs. Sums and products of untrusted
// dims are checked for overflow before checkShape sees them.
//
//===----------------------------------------------------------------------===//
#include "cpu/DataMovementShapes.h"

#include <cmath>
#include <limits>

namespace dsrt::cpu {
namespace {

/// Operand `i`, or null when the step leaves it out.
const Tensor *optionalOperand(const Inputs &in, size_t i) {
  return in.size() > i ? in[i] : nullptr;
}

/// The kernels read indices of any integer dtype and reject the rest.
Status needIntegers(const char *op, const Tensor &t, const char *what) {
  if (!isIntegerType(t.dtype))
    return fail(op, std::string(what) + " must be an integer tensor, got " + dtypeName(t.dtype));
  return Status();
}

Status tooLarge(const char *op, const std::string &what) {
  return fail(op, what + " overflows int64");
}

/// The one value of a one-element operand, as the kernels load it.
Status readScalar(const char *op, const Tensor &t, const char *what, bool asFloat, double &f,
                  int64_t &i) {
  if (t.numel() != 1)
    return fail(op, std::string(what) + " must be a scalar, got " + shapeText(t.shape));
  if (!t.data)
    return fail(op, std::string(what) + " has no data");
  if (asFloat)
    f = loadAsDouble(t, 0);
  else
    i = loadAsInt(t, 0);
  return Status();
}

/// Number of elements a slice with clamped ONNX start / end and `step` keeps
/// of a dim of size `dim`.
int64_t sliceLength(int64_t dim, int64_t start, int64_t end, int64_t step) {
  if (dim == 0)
    return 0;
  if (start < 0)
    start += dim;
  if (end < 0)
    end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    return end > start ? (end - start - 1) / step + 1 : 0;
  }
  start = std::clamp<int64_t>(start, 0, dim - 1);
  end = std::clamp<int64_t>(end, -1, dim - 1);
  // -step in unsigned arithmetic: step may be INT64_MIN.
  uint64_t stride = 0 - (uint64_t)step;
  return start > end ? (int64_t)((uint64_t)(start - end - 1) / stride) + 1 : 0;
}

/// Pad's mode as the kernel spells it (the artifact writes the enum as a
/// string; older steps carry its number).
std::string padMode(const Attributes &attrs) {
  std::string mode = attrs.getString("mode"); // required (ds_op_attributes.def)
  return mode;
}

/// ceil((limit - start) / delta) for integers, exact over all of int64; 0
/// when the range is empty, -1 when the count exceeds int64.
int64_t integerRangeLength(int64_t start, int64_t limit, int64_t delta) {
  uint64_t span, stride;
  if (delta > 0 && limit > start) {
    span = (uint64_t)limit - (uint64_t)start;
    stride = (uint64_t)delta;
  } else if (delta < 0 && limit < start) {
    span = (uint64_t)start - (uint64_t)limit;
    stride = 0 - (uint64_t)delta;
  } else {
    return 0;
  }
  uint64_t n = span / stride + (span % stride != 0);
  return n > (uint64_t)std::numeric_limits<int64_t>::max() ? -1 : (int64_t)n;
}

} // namespace

//===----------------------------------------------------------------------===//
// shape, reshape, transpose, concat
//===----------------------------------------------------------------------===//

Status shapeOfShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.shape";
  if (Status s = needShapes(op, in, 1, out, 1); !s)
    return s;
  int64_t rank = in[0]->rank();
  auto clampDim = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
  int64_t start = clampDim(attrs.getInt("start", 0)), end = clampDim(attrs.getInt("end", rank));
  out[0] = {std::max<int64_t>(end - start, 0)};
  return Status();
}

Status reshapeShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.reshape";
  if (Status s = needShapes(op, in, 2, out, 1); !s)
    return s;
  const Tensor &x = *in[0];
  Shape shape;
  if (Status s = readInts(op, in[1], "shape", shape); !s)
    return s;
  bool allowZero = attrs.getInt("allowzero", 0) != 0;
  int64_t inferIndex = -1, known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t &d = shape[i];
    if (d == -1) {
      if (inferIndex >= 0)
        return fail(op, "shape " + shapeText(shape) + " has more than one -1");
      inferIndex = (int64_t)i;
      continue;
    }
    if (d == 0 && !allowZero) { // copies the input's dim
      if ((int64_t)i >= x.rank())
        return fail(op, "shape " + shapeText(shape) + " copies dim " + std::to_string(i) +
                            " of an input of rank " + std::to_string(x.rank()));
      d = x.shape[i];
    }
    if (d < 0)
      return fail(op, "shape " + shapeText(shape) + " has invalid dim " + std::to_string(d));
    if (__builtin_mul_overflow(known, d, &known))
      return tooLarge(op, "shape " + shapeText(shape));
  }
  int64_t count = x.numel();
  if (inferIndex >= 0) {
    if (known == 0 || count % known)
      return fail(op, "cannot reshape " + shapeText(x.shape) + " to " + shapeText(shape));
    shape[(size_t)inferIndex] = count / known;
  } else if (known != count) {
    return fail(op, "cannot reshape " + shapeText(x.shape) + " (" + std::to_string(count) +
                        " elements) to " + shapeText(shape) + " (" + std::to_string(known) +
                        " elements)");
  }
  out[0] = std::move(shape);
  return checkShape(op, out[0]);
}

Status transposeShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.transpose";
  if (Status s = needShapes(op, in, 1, out, 1); !s)
    return s;
  const Tensor &x = *in[0];
  int64_t rank = x.rank();
  std::vector<int64_t> perm = attrs.getInts("perm");
  if (perm.empty())
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  if ((int64_t)perm.size() != rank)
    return fail(op, "perm has " + std::to_string(perm.size()) + " entries for rank " +
                        std::to_string(rank));
  std::vector<bool> seen((size_t)rank, false);
  out[0].clear();
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[(size_t)p])
      return fail(op, "perm is not a permutation");
    seen[(size_t)p] = true;
    out[0].push_back(x.shape[(size_t)p]);
  }
  return checkShape(op, out[0]);
}

Status concatShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.concat";
  if (in.empty())
    return fail(op, "needs at least one input");
  if (Status s = needShapes(op, in, in.size(), out, 1); !s)
    return s;
  const Tensor &first = *in[0];
  int64_t rank = first.rank(), axis;
  if (Status s = normalizeAxis(op, attrs.getInt("axis", 0), rank, axis); !s)
    return s;
  Shape shape = first.shape;
  for (size_t i = 1; i < in.size(); ++i) {
    const Tensor &t = *in[i];
    if (t.rank() != rank || t.dtype != first.dtype)
      return fail(op, "inputs differ in rank or element type");
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && t.shape[(size_t)d] != shape[(size_t)d])
        return fail(op, "input " + shapeText(t.shape) + " does not fit " + shapeText(first.shape) +
                            " in dim " + std::to_string(d));
    int64_t &sum = shape[(size_t)axis];
    if (__builtin_add_overflow(sum, t.shape[(size_t)axis], &sum))
      return tooLarge(op, "the concatenated dim");
  }
  out[0] = std::move(shape);
  return checkShape(op, out[0]);
}

//===----------------------------------------------------------------------===//
// slice
//===----------------------------------------------------------------------===//

Status sliceShape(const Attributes &, const Inputs &in, Shapes &out) {
  const char *op = "ds.slice";
  if (Status s = needShapes(op, in, 3, out, 1); !s)
    return s;
  const Tensor &x = *in[0];
  int64_t rank = x.rank();
  std::vector<int64_t> starts, ends, axes, steps;
  if (Status s = readInts(op, in[1], "starts", starts); !s)
    return s;
  if (Status s = readInts(op, in[2], "ends", ends); !s)
    return s;
  if (const Tensor *t = optionalOperand(in, 3)) {
    if (Status s = readInts(op, t, "axes", axes); !s)
      return s;
  } else {
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back((int64_t)i);
  }
  if (const Tensor *t = optionalOperand(in, 4)) {
    if (Status s = readInts(op, t, "steps", steps); !s)
      return s;
  } else {
    steps.assign(starts.size(), 1);
  }
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return fail(op, "starts, ends, axes and steps differ in length");
  Shape shape = x.shape;
  std::vector<bool> seen((size_t)rank, false);
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t a = normAxis(axes[i], rank);
    if (a < 0 || a >= rank || seen[(size_t)a])
      return fail(op, "axis " + std::to_string(axes[i]) + " is out of range or repeated for rank " +
                          std::to_string(rank));
    seen[(size_t)a] = true;
    if (steps[i] == 0)
      return fail(op, "step must not be 0");
    shape[(size_t)a] = sliceLength(x.shape[(size_t)a], starts[i], ends[i], steps[i]);
  }
  out[0] = std::move(shape);
  return checkShape(op, out[0]);
}

//===----------------------------------------------------------------------===//
// gathers and scatters
//===----------------------------------------------------------------------===//

Status gatherShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.gather";
  if (Status s = needShapes(op, in, 2, out, 1); !s)
    return s;
  const Tensor &x = *in[0], &idx = *in[1];
  int64_t axis;
  if (Status s = normalizeAxis(op, attrs.getInt("axis", 0), x.rank(), axis); !s)
    return s;
  if (Status s = needIntegers(op, idx, "indices"); !s)
    return s;
  Shape shape(x.shape.begin(), x.shape.begin() + axis);
  shape.insert(shape.end(), idx.shape.begin(), idx.shape.end());
  shape.insert(shape.end(), x.shape.begin() + axis + 1, x.shape.end());
  out[0] = std::move(shape);
  return checkShape(op, out[0]);
}

Status gatherElementsShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.gather_elements";
  if (Status s = needShapes(op, in, 2, out, 1); !s)
    return s;
  const Tensor &x = *in[0], &idx = *in[1];
  int64_t rank = x.rank(), axis;
  if (Status s = normalizeAxis(op, attrs.getInt("axis", 0), rank, axis); !s)
    return s;
  if (idx.rank() != rank)
    return fail(op, "indices " + shapeText(idx.shape) + " must have the rank of input " +
                        shapeText(x.shape));
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis && idx.shape[(size_t)d] > x.shape[(size_t)d])
      return fail(op, "indices " + shapeText(idx.shape) + " exceed input " + shapeText(x.shape) +
                          " in dim " + std::to_string(d));
  if (Status s = needIntegers(op, idx, "indices"); !s)
    return s;
  out[0] = idx.shape;
  return checkShape(op, out[0]);
}

Status gatherNDShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.gather_nd";
  if (Status s = needShapes(op, in, 2, out, 1); !s)
    return s;
  const Tensor &x = *in[0], &idx = *in[1];
  int64_t b = attrs.getInt("batch_dims", 0), r = x.rank(), q = idx.rank();
  if (q < 1 || b < 0 || b >= std::min(r, q))
    return fail(op, "batch_dims " + std::to_string(b) + " is out of range");
  int64_t k = idx.shape.back();
  if (k < 1 || k > r - b)
    return fail(op, "index tuples of length " + std::to_string(k) +
                        " do not fit an input of rank " + std::to_string(r));
  for (int64_t d = 0; d < b; ++d)
    if (x.shape[(size_t)d] != idx.shape[(size_t)d])
      return fail(op, "batch dims of input " + shapeText(x.shape) + " and indices " +
                          shapeText(idx.shape) + " differ");
  if (Status s = needIntegers(op, idx, "indices"); !s)
    return s;
  Shape shape(idx.shape.begin(), idx.shape.end() - 1);
  shape.insert(shape.end(), x.shape.begin() + b + k, x.shape.end());
  out[0] = std::move(shape);
  return checkShape(op, out[0]);
}

Status scatterElementsShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.scatter_elements";
  if (Status s = needShapes(op, in, 3, out, 1); !s)
    return s;
  const Tensor &x = *in[0], &idx = *in[1], &u = *in[2];
  int64_t rank = x.rank(), axis;
  if (Status s = normalizeAxis(op, attrs.getInt("axis", 0), rank, axis); !s)
    return s;
  if (idx.shape != u.shape || idx.rank() != rank || u.dtype != x.dtype)
    return fail(op, "indices and updates must share one shape of the input's rank");
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis && idx.shape[(size_t)d] > x.shape[(size_t)d])
      return fail(op, "indices " + shapeText(idx.shape) + " exceed input " + shapeText(x.shape));
  if (Status s = needIntegers(op, idx, "indices"); !s)
    return s;
  out[0] = x.shape;
  return checkShape(op, out[0]);
}

Status scatterNDShape(const Attributes &, const Inputs &in, Shapes &out) {
  const char *op = "ds.scatter_nd";
  if (Status s = needShapes(op, in, 3, out, 1); !s)
    return s;
  const Tensor &x = *in[0], &idx = *in[1], &u = *in[2];
  int64_t r = x.rank(), q = idx.rank();
  if (q < 1)
    return fail(op, "indices must have rank >= 1");
  int64_t k = idx.shape.back();
  if (k < 0 || k > r)
    return fail(op, "index tuples of length " + std::to_string(k) +
                        " do not fit an input of rank " + std::to_string(r));
  Shape expect(idx.shape.begin(), idx.shape.end() - 1);
  expect.insert(expect.end(), x.shape.begin() + k, x.shape.end());
  if (u.shape != expect || u.dtype != x.dtype)
    return fail(op, "updates " + shapeText(u.shape) + " should be " + shapeText(expect));
  if (Status s = needIntegers(op, idx, "indices"); !s)
    return s;
  out[0] = x.shape;
  return checkShape(op, out[0]);
}

//===----------------------------------------------------------------------===//
// expand, tile, pad
//===----------------------------------------------------------------------===//

Status expandShape(const Attributes &, const Inputs &in, Shapes &out) {
  const char *op = "ds.expand";
  if (Status s = needShapes(op, in, 2, out, 1); !s)
    return s;
  Shape target;
  if (Status s = readInts(op, in[1], "shape", target); !s)
    return s;
  for (int64_t d : target)
    if (d < 0)
      return fail(op, "shape " + shapeText(target) + " has a negative dim");
  // Bidirectional: a 1 in the target keeps the input's dim.
  return broadcastShapes(op, {&in[0]->shape, &target}, out[0]);
}

Status tileShape(const Attributes &, const Inputs &in, Shapes &out) {
  const char *op = "ds.tile";
  if (Status s = needShapes(op, in, 2, out, 1); !s)
    return s;
  const Tensor &x = *in[0];
  std::vector<int64_t> reps;
  if (Status s = readInts(op, in[1], "repeats", reps); !s)
    return s;
  if ((int64_t)reps.size() != x.rank())
    return fail(op, "needs " + std::to_string(x.rank()) + " repeats, got " +
                        std::to_string(reps.size()));
  Shape shape = x.shape;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (reps[d] < 0)
      return fail(op, "repeats " + shapeText(reps) + " must be non-negative");
    if (__builtin_mul_overflow(shape[d], reps[d], &shape[d]))
      return tooLarge(op, "input " + shapeText(x.shape) + " tiled by " + shapeText(reps));
  }
  out[0] = std::move(shape);
  return checkShape(op, out[0]);
}

Status padShape(const Attributes &attrs, const Inputs &in, Shapes &out) {
  const char *op = "ds.pad";
  if (Status s = needShapes(op, in, 2, out, 1); !s)
    return s;
  const Tensor &x = *in[0];
  int64_t rank = x.rank();
  std::vector<int64_t> pads;
  if (Status s = readInts(op, in[1], "pads", pads); !s)
    return s;
  if ((int64_t)pads.size() != 2 * rank)
    return fail(op,
                "needs " + std::to_string(2 * rank) + " pads, got " + std::to_string(pads.size()));
  std::string mode = padMode(attrs);
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
    return fail(op, "unknown mode '" + mode + "'");
  if (const Tensor *v = optionalOperand(in, 2); v && v->numel() > 0 && v->dtype != x.dtype)
    return fail(op, "value differs from the input in element type");
  Shape shape((size_t)rank);
  for (int64_t d = 0; d < rank; ++d) {
    int64_t n = x.shape[(size_t)d], pb = pads[(size_t)d], pe = pads[(size_t)(d + rank)];
    int64_t &o = shape[(size_t)d];
    if (__builtin_add_overflow(n, pb, &o) || __builtin_add_overflow(o, pe, &o))
      return tooLarge(op, "dim " + std::to_string(d) + " padded by " + shapeText(pads));
    if (o < 0)
      return fail(op, "pads " + shapeText(pads) + " remove more than dim " + std::to_string(d) +
                          " of " + shapeText(x.shape) + " holds");
    // Only constant padding can fill a dim whose input part is cropped away;
    // an overflowing crop is a very negative kept part.
    int64_t kept;
    bool nothingKept = __builtin_add_overflow(n, std::min<int64_t>(pb, 0), &kept) ||
                       __builtin_add_overflow(kept, std::min<int64_t>(pe, 0), &kept) || kept <= 0;
    if (mode != "constant" && o > 0 && nothingKept)
      return fail(op, mode + " padding of an empty dim " + std::to_string(d));
  }
  out[0] = std::move(shape);
  return checkShape(op, out[0]);
}

//===----------------------------------------------------------------------===//
// fill, range, trilu
//===----------------------------------------------------------------------===//

Status fillShape(const Attributes &, const Inputs &in, Shapes &out) {
  const char *op = "ds.fill";
  if (Status s = needShapes(op, in, 1, out, 1); !s)
    return s;
  Shape shape;
  if (Status s = readInts(op, in[0], "shape", shape); !s)
    return s;
  out[0] = std::move(shape);
  return checkShape(op, out[0]);
}

Status rangeShape(const Attributes &, const Inputs &in, Shapes &out) {
  const char *op = "ds.range";
  if (Status s = needShapes(op, in, 3, out, 1); !s)
    return s;
  // The result has start's element type (the verifier makes all three agree).
  DType type = in[0]->dtype;
  bool isFloatRange = isComputeFloat(type);
  if (!isFloatRange && !isIntegerType(type))
    return fail(op, std::string("unsupported element type ") + dtypeName(type));
  double f[3] = {0, 0, 0};
  int64_t v[3] = {0, 0, 0};
  const char *names[3] = {"start", "limit", "delta"};
  for (int i = 0; i < 3; ++i)
    if (Status s = readScalar(op, *in[(size_t)i], names[i], isFloatRange, f[i], v[i]); !s)
      return s;
  int64_t n;
  if (isFloatRange) {
    if (f[2] == 0)
      return fail(op, "delta must not be 0");
    // In double, as the compiler folds constant ranges.
    double q = std::ceil((f[1] - f[0]) / f[2]);
    if (std::isnan(q))
      return fail(op, "range from " + std::to_string(f[0]) + " to " + std::to_string(f[1]) +
                          " by " + std::to_string(f[2]) + " has no length");
    if (q > 0x1p62)
      return tooLarge(op, "the range length");
    n = q > 0 ? (int64_t)q : 0;
  } else {
    if (v[2] == 0)
      return fail(op, "delta must not be 0");
    n = integerRangeLength(v[0], v[1], v[2]);
    if (n < 0)
      return tooLarge(op, "the range length");
  }
  out[0] = {n};
  return checkShape(op, out[0]);
}

Status triluShape(const Attributes &, const Inputs &in, Shapes &out) {
  const char *op = "ds.trilu";
  if (Status s = needShapes(op, in, 1, out, 1); !s)
    return s;
  const Tensor &x = *in[0];
  if (x.rank() < 2)
    return fail(op, "needs an input of rank >= 2, got " + shapeText(x.shape));
  if (const Tensor *k = optionalOperand(in, 1); k && (k->numel() != 1 || !isIntegerType(k->dtype)))
    return fail(op, "k must be one integer");
  out[0] = x.shape;
  return checkShape(op, out[0]);
}

//===----------------------------------------------------------------------===//
// resize
//===----------------------------------------------------------------------===//

Status resizeShape(const Attributes &, const Inputs &in, Shapes &out) {
  const char *op = "ds.resize";
  if (Status s = needShapes(op, in, 1, out, 1); !s)
    return s;
  const Tensor &x = *in[0];
  int64_t rank = x.rank();
  const Tensor *scales = optionalOperand(in, 2), *sizes = optionalOperand(in, 3);
  Shape shape;
  // As the kernel: non-empty sizes are the shape, else scales decide it.
  if (sizes && sizes->numel() > 0) {
    if (Status s = readInts(op, sizes, "sizes", shape); !s)
      return s;
    if ((int64_t)shape.size() != rank)
      return fail(op,
                  "needs " + std::to_string(rank) + " sizes, got " + std::to_string(shape.size()));
  } else if (scales && scales->numel() > 0) {
    if (scales->numel() != rank || !isComputeFloat(scales->dtype))
      return fail(op, "needs " + std::to_string(rank) + " floating-point scales");
    if (!scales->data)
      return fail(op, "scales has no data");
    for (int64_t d = 0; d < rank; ++d) {
      // The kernel resamples with the f32 scale; the compiler sizes the
      // result as floor(dim * scale) in double.
      float scale = (float)loadAsDouble(*scales, d);
      if (!(scale > 0))
        return fail(op, "scales must be positive");
      double dim = std::floor((double)x.shape[(size_t)d] * (double)scale);
      if (!(dim <= 0x1p62))
        return tooLarge(op, "dim " + std::to_string(d) + " scaled");
      shape.push_back((int64_t)dim);
    }
  } else {
    return fail(op, "needs scales or sizes");
  }
  if (Status s = checkShape(op, shape); !s)
    return s;
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  if (count != 0 && x.numel() == 0)
    return fail(op, "cannot resize an empty input to " + shapeText(shape));
  out[0] = std::move(shape);
  return Status();
}

} // namespace dsrt::cpu
