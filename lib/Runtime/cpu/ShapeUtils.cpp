//===- ShapeUtils.cpp - helpers shared by the CPU shape functions ---------===//
#include "cpu/ShapeUtils.h"

namespace dsrt::cpu {

Status broadcastShapes(const char *op, const std::vector<const Shape *> &shapes, Shape &out) {
  size_t rank = 0;
  for (const Shape *s : shapes)
    if (s)
      rank = std::max(rank, s->size());
  out.assign(rank, 1);
  for (const Shape *s : shapes) {
    if (!s)
      continue;
    size_t offset = rank - s->size();
    for (size_t d = 0; d < s->size(); ++d) {
      int64_t dim = (*s)[d], &have = out[offset + d];
      if (dim == have || dim == 1)
        continue;
      if (have != 1) {
        std::string text;
        for (const Shape *t : shapes)
          if (t)
            text += (text.empty() ? "" : " and ") + shapeText(*t);
        return fail(op, "cannot broadcast " + text);
      }
      have = dim;
    }
  }
  return checkShape(op, out);
}

bool broadcastsTo(const Shape &t, const Shape &shape) {
  if (t.size() > shape.size())
    return false;
  size_t offset = shape.size() - t.size();
  for (size_t d = 0; d < t.size(); ++d)
    if (t[d] != 1 && t[d] != shape[d + offset])
      return false;
  return true;
}

Status checkShape(const char *op, const Shape &shape) {
  constexpr int64_t kMaxElements = int64_t(1) << 59; // 8-byte elements stay under 2^62 bytes
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return fail(op, "result shape " + shapeText(shape) + " has a negative dim");
    if (d != 0 && n > kMaxElements / d)
      return fail(op, "result shape " + shapeText(shape) + " has too many elements");
    n *= d;
  }
  return Status();
}

Status readInts(const char *op, const Tensor *t, const char *what, std::vector<int64_t> &out) {
  if (!t)
    return fail(op, std::string(what) + " is missing");
  if (t->dtype != DS_I64 && t->dtype != DS_I32)
    return fail(op, std::string(what) + " must be i64 or i32, not " + dtypeName(t->dtype));
  int64_t n = t->numel();
  if (n > 0 && !t->data)
    return fail(op, std::string(what) + " has no data");
  out.resize((size_t)n);
  for (int64_t i = 0; i < n; ++i)
    out[(size_t)i] = t->dtype == DS_I64 ? t->as<int64_t>()[i] : t->as<int32_t>()[i];
  return Status();
}

Status checkResultShape(const char *op, ShapeFunction shape, const Attributes &attrs,
                        const Inputs &in, const Tensor &y) {
  Shapes expect(1);
  if (Status s = shape(attrs, in, expect); !s)
    return s;
  if (expect[0] != y.shape)
    return fail(op, "result " + shapeText(y.shape) + " should be " + shapeText(expect[0]));
  return Status();
}

Status needShapes(const char *op, const Inputs &in, size_t numRequired, const Shapes &out,
                  size_t numOutputs) {
  if (in.size() < numRequired)
    return fail(op, "expected " + std::to_string(numRequired) + " operands, got " +
                        std::to_string(in.size()));
  for (size_t i = 0; i < numRequired; ++i)
    if (!in[i])
      return fail(op, "operand " + std::to_string(i) + " is missing");
  if (out.size() != numOutputs)
    return fail(op, "expected " + std::to_string(numOutputs) + " results, got " +
                        std::to_string(out.size()));
  return Status();
}

Status normalizeAxis(const char *op, int64_t axis, int64_t rank, int64_t &out) {
  out = axis < 0 ? axis + rank : axis;
  if (out < 0 || out >= rank)
    return fail(op, "axis " + std::to_string(axis) + " is out of range for rank " +
                        std::to_string(rank));
  return Status();
}

} // namespace dsrt::cpu
