//===- DataMovementKernels.cpp - shapes, copies, gathers, pads ------------===//
//
// Kernels that move elements without arithmetic are dtype-agnostic: they copy
// dtypeSize() bytes per element. Only the scatter reductions and fill/range
// look at values (ds.resize, which interpolates, is in ResizeKernel.cpp).
//
//===----------------------------------------------------------------------===//
#include "cpu/DataMovementShapes.h"
#include "cpu/KernelUtils.h"
#include "cpu/Kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace dsrt::cpu {
namespace {

/// Reads a 1-D (or one-element) integer tensor.
Status readInts(const char *op, const char *what, const Tensor &t, std::vector<int64_t> &out) {
  if (!isIntegerType(t.dtype))
    return fail(op, std::string(what) + " must be an integer tensor, got " +
                        dtypeName(t.dtype));
  int64_t n = t.numel();
  out.resize((size_t)n);
  for (int64_t i = 0; i < n; ++i)
    out[(size_t)i] = loadAsInt(t, i);
  return Status();
}

template <typename T>
void copyRowTyped(uint8_t *dst, const uint8_t *src, int64_t n, int64_t stride) {
  T *d = reinterpret_cast<T *>(dst);
  if (stride == 0) {
    T v;
    std::memcpy(&v, src, sizeof(T));
    std::fill(d, d + n, v);
    return;
  }
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(d + i, src + i * stride * (int64_t)sizeof(T), sizeof(T));
}

/// dst[i] = src[i * stride] for i < n (stride in elements; may be 0 or negative).
void copyRow(uint8_t *dst, const uint8_t *src, int64_t n, int64_t stride, size_t esize) {
  if (stride == 1) {
    std::memcpy(dst, src, (size_t)n * esize);
    return;
  }
  switch (esize) {
  case 1: copyRowTyped<uint8_t>(dst, src, n, stride); return;
  case 2: copyRowTyped<uint16_t>(dst, src, n, stride); return;
  case 4: copyRowTyped<uint32_t>(dst, src, n, stride); return;
  case 8: copyRowTyped<uint64_t>(dst, src, n, stride); return;
  default:
    for (int64_t i = 0; i < n; ++i)
      std::memcpy(dst + i * esize, src + i * stride * (int64_t)esize, esize);
  }
}

/// The tiled form of stridedCopy (below) for a transpose: dst's rows are
/// columns of src (the last dim's stride is not 1, dim `k`'s is). Row by row,
/// every element read would touch its own cache line; tiles of kTile x kTile
/// elements read kTile lines and write kTile lines, all in L1.
template <typename T>
void tiledTranspose(KernelContext &ctx, const std::vector<int64_t> &shape,
                    const std::vector<int64_t> &strides, size_t k, int64_t base,
                    const uint8_t *srcBytes, uint8_t *dstBytes) {
  constexpr int64_t kTile = 32;
  // Elements move as bytes of T's size (memcpy: no aliasing or alignment
  // assumption about the caller's buffers; it compiles to plain moves).
  const uint8_t *src = srcBytes + base * (int64_t)sizeof(T);
  uint8_t *dst = dstBytes;
  const size_t rank = shape.size();
  std::vector<int64_t> dstStrides(rank, 1);
  for (size_t d = rank - 1; d-- > 0;)
    dstStrides[d] = dstStrides[d + 1] * shape[d + 1];
  // The dims other than k and the last, walked as one index.
  std::vector<size_t> others;
  int64_t outer = 1;
  for (size_t d = 0; d + 1 < rank; ++d)
    if (d != k) {
      others.push_back(d);
      outer *= shape[d];
    }
  const int64_t rows = shape[k], cols = shape[rank - 1];
  const int64_t colStride = strides[rank - 1], rowStride = dstStrides[k];
  const int64_t rowTiles = (rows + kTile - 1) / kTile;
  parallel(ctx, outer * rowTiles, 1, [&](int64_t b, int64_t e) {
    for (int64_t task = b; task < e; ++task) {
      int64_t rem = task / rowTiles, srcOff = 0, dstOff = 0;
      for (size_t o = others.size(); o-- > 0;) {
        int64_t c = rem % shape[others[o]];
        rem /= shape[others[o]];
        srcOff += c * strides[others[o]];
        dstOff += c * dstStrides[others[o]];
      }
      int64_t r0 = task % rowTiles * kTile, r1 = std::min(rows, r0 + kTile);
      for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
        int64_t c1 = std::min(cols, c0 + kTile);
        for (int64_t r = r0; r < r1; ++r) {
          const uint8_t *in = src + (srcOff + r) * (int64_t)sizeof(T); // dim k: stride 1
          uint8_t *outRow = dst + (dstOff + r * rowStride) * (int64_t)sizeof(T);
          for (int64_t c = c0; c < c1; ++c)
            std::memcpy(outRow + c * (int64_t)sizeof(T), in + c * colStride * (int64_t)sizeof(T),
                        sizeof(T));
        }
      }
    }
  });
}

/// Writes the contiguous tensor of `shape` into dst, reading the element at
/// coordinates c from src + (base + sum c[d] * strides[d]) * esize. Strides may
/// be 0 (broadcast) or negative. The caller guarantees every read is in bounds.
void stridedCopy(KernelContext &ctx, const std::vector<int64_t> &shapeIn,
                 const std::vector<int64_t> &stridesIn, int64_t base, size_t esize,
                 const void *srcv, void *dstv) {
  const uint8_t *src = static_cast<const uint8_t *>(srcv);
  uint8_t *dst = static_cast<uint8_t *>(dstv);
  std::vector<int64_t> shape, strides;
  for (size_t d = 0; d < shapeIn.size(); ++d) {
    if (shapeIn[d] == 0)
      return;
    if (shapeIn[d] == 1)
      continue;
    if (!shape.empty() && strides.back() == stridesIn[d] * shapeIn[d]) {
      shape.back() *= shapeIn[d];
      strides.back() = stridesIn[d];
    } else {
      shape.push_back(shapeIn[d]);
      strides.push_back(stridesIn[d]);
    }
  }
  if (shape.empty()) {
    copyElem(dst, src + base * (int64_t)esize, esize);
    return;
  }
  const int64_t rank = (int64_t)shape.size();
  const int64_t inner = shape.back(), innerStride = strides.back();
  // A transpose: some other dim is the one contiguous in src.
  if (innerStride != 1 && inner >= 8 && (esize == 2 || esize == 4 || esize == 8))
    for (size_t k = 0; k + 1 < shape.size(); ++k)
      if (strides[k] == 1 && shape[k] >= 8) {
        if (esize == 2)
          tiledTranspose<uint16_t>(ctx, shape, strides, k, base, src, dst);
        else if (esize == 4)
          tiledTranspose<uint32_t>(ctx, shape, strides, k, base, src, dst);
        else
          tiledTranspose<uint64_t>(ctx, shape, strides, k, base, src, dst);
        return;
      }
  int64_t outer = 1;
  for (int64_t d = 0; d + 1 < rank; ++d)
    outer *= shape[d];
  parallel(ctx, outer, std::max<int64_t>(1, 32768 / inner), [&](int64_t b, int64_t e) {
    std::vector<int64_t> coord((size_t)std::max<int64_t>(rank - 1, 0), 0);
    int64_t rem = b, off = base;
    for (int64_t d = rank - 2; d >= 0; --d) {
      coord[d] = rem % shape[d];
      rem /= shape[d];
      off += coord[d] * strides[d];
    }
    for (int64_t row = b; row < e; ++row) {
      copyRow(dst + row * inner * (int64_t)esize, src + off * (int64_t)esize, inner, innerStride,
              esize);
      for (int64_t d = rank - 2; d >= 0; --d) {
        off += strides[d];
        if (++coord[d] < shape[d])
          break;
        off -= strides[d] * shape[d];
        coord[d] = 0;
      }
    }
  });
}

//===----------------------------------------------------------------------===//
// shape, reshape, transpose, concat
//===----------------------------------------------------------------------===//

Status shapeKernel(KernelContext &, const Attributes &attrs, const Inputs &in,
                   const Outputs &out) {
  const char *op = "ds.shape";
  if (Status s = need(op, in, out, 1, 1); !s)
    return s;
  int64_t rank = in[0]->rank();
  auto clampDim = [&](int64_t v) {
    if (v < 0)
      v += rank;
    return std::clamp<int64_t>(v, 0, rank);
  };
  int64_t start = clampDim(attrs.getInt("start", 0));
  int64_t end = clampDim(attrs.getInt("end", rank));
  int64_t n = std::max<int64_t>(end - start, 0);
  Tensor &y = *out[0];
  if (y.dtype != DS_I64 || y.numel() != n)
    return fail(op, "result must be " + std::to_string(n) + " i64 values, got " +
                        shapeText(y.shape) + " " + dtypeName(y.dtype));
  for (int64_t i = 0; i < n; ++i)
    y.as<int64_t>()[i] = in[0]->shape[(size_t)(start + i)];
  return Status();
}

Status reshapeKernel(KernelContext &, const Attributes &, const Inputs &in, const Outputs &out) {
  const char *op = "ds.reshape";
  if (Status s = need(op, in, out, 1, 1); !s)
    return s;
  const Tensor &x = *in[0];
  Tensor &y = *out[0];
  if (x.numel() != y.numel() || x.dtype != y.dtype)
    return fail(op, "cannot reshape " + shapeText(x.shape) + " " + dtypeName(x.dtype) + " to " +
                        shapeText(y.shape) + " " + dtypeName(y.dtype));
  if (x.data != y.data && x.bytes())
    std::memmove(y.data, x.data, x.bytes());
  return Status();
}

Status transposeKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                       const Outputs &out) {
  const char *op = "ds.transpose";
  if (Status s = need(op, in, out, 1, 1); !s)
    return s;
  const Tensor &x = *in[0];
  Tensor &y = *out[0];
  std::vector<int64_t> perm = attrs.getInts("perm");
  int64_t rank = x.rank();
  if (perm.empty() && rank > 0)
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  if ((int64_t)perm.size() != rank || y.rank() != rank || x.dtype != y.dtype)
    return fail(op, "perm / result do not match an input of rank " + std::to_string(rank));
  std::vector<bool> seen((size_t)rank, false);
  std::vector<int64_t> inStrides = stridesOf(x.shape), strides((size_t)rank);
  for (int64_t d = 0; d < rank; ++d) {
    int64_t p = perm[(size_t)d];
    if (p < 0 || p >= rank || seen[(size_t)p])
      return fail(op, "perm is not a permutation");
    seen[(size_t)p] = true;
    if (y.shape[(size_t)d] != x.shape[(size_t)p])
      return fail(op, "result shape " + shapeText(y.shape) + " does not match input " +
                          shapeText(x.shape) + " permuted");
    strides[(size_t)d] = inStrides[(size_t)p];
  }
  stridedCopy(ctx, y.shape, strides, 0, dtypeSize(x.dtype), x.data, y.data);
  return Status();
}

Status concatKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                    const Outputs &out) {
  const char *op = "ds.concat";
  if (in.empty())
    return fail(op, "needs at least one input");
  if (Status s = need(op, in, out, in.size(), 1); !s)
    return s;
  Tensor &y = *out[0];
  int64_t rank = y.rank();
  int64_t axis = normAxis(attrs.getInt("axis", 0), rank);
  if (axis < 0 || axis >= rank)
    return fail(op, "axis " + std::to_string(attrs.getInt("axis", 0)) +
                        " is out of range for rank " + std::to_string(rank));
  int64_t total = 0;
  for (const Tensor *t : in) {
    if (t->rank() != rank || t->dtype != y.dtype)
      return fail(op, "inputs differ from the result in rank or element type");
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && t->shape[(size_t)d] != y.shape[(size_t)d])
        return fail(op, "input " + shapeText(t->shape) + " does not fit result " +
                            shapeText(y.shape));
    total += t->shape[(size_t)axis];
  }
  if (total != y.shape[(size_t)axis])
    return fail(op, "inputs sum to " + std::to_string(total) + " along the axis, result has " +
                        std::to_string(y.shape[(size_t)axis]));
  size_t esize = dtypeSize(y.dtype);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= y.shape[(size_t)d];
  for (int64_t d = axis + 1; d < rank; ++d)
    inner *= y.shape[(size_t)d];
  int64_t rowBytes = total * inner * (int64_t)esize;
  std::vector<int64_t> offsets;
  int64_t acc = 0;
  for (const Tensor *t : in) {
    offsets.push_back(acc);
    acc += t->shape[(size_t)axis] * inner * (int64_t)esize;
  }
  parallel(ctx, outer, std::max<int64_t>(1, 65536 / std::max<int64_t>(rowBytes, 1)),
           [&](int64_t b, int64_t e) {
             for (int64_t o = b; o < e; ++o)
               for (size_t i = 0; i < in.size(); ++i) {
                 int64_t chunk = in[i]->shape[(size_t)axis] * inner * (int64_t)esize;
                 if (chunk)
                   std::memcpy(static_cast<uint8_t *>(y.data) + o * rowBytes + offsets[i],
                               static_cast<const uint8_t *>(in[i]->data) + o * chunk,
                               (size_t)chunk);
               }
           });
  return Status();
}

//===----------------------------------------------------------------------===//
// slice
//===----------------------------------------------------------------------===//

Status sliceKernel(KernelContext &ctx, const Attributes &, const Inputs &in, const Outputs &out) {
  const char *op = "ds.slice";
  if (Status s = need(op, in, out, 3, 1); !s)
    return s;
  const Tensor &x = *in[0];
  Tensor &y = *out[0];
  int64_t rank = x.rank();
  if (y.rank() != rank || y.dtype != x.dtype)
    return fail(op, "result differs from the input in rank or element type");
  std::vector<int64_t> starts, ends, axes, steps;
  if (Status s = readInts(op, "starts", *in[1], starts); !s)
    return s;
  if (Status s = readInts(op, "ends", *in[2], ends); !s)
    return s;
  if (in.size() > 3 && in[3]) {
    if (Status s = readInts(op, "axes", *in[3], axes); !s)
      return s;
  } else {
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back((int64_t)i);
  }
  if (in.size() > 4 && in[4]) {
    if (Status s = readInts(op, "steps", *in[4], steps); !s)
      return s;
  } else {
    steps.assign(starts.size(), 1);
  }
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size())
    return fail(op, "starts, ends, axes and steps differ in length");
  std::vector<int64_t> begin((size_t)rank, 0), step((size_t)rank, 1), len(x.shape);
  std::vector<bool> seen((size_t)rank, false);
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (a < 0 || a >= rank || seen[(size_t)a])
      return fail(op, "axis " + std::to_string(axes[i]) + " is out of range or repeated for rank " +
                          std::to_string(rank));
    seen[(size_t)a] = true;
    int64_t dim = x.shape[(size_t)a], st = steps[i];
    if (st == 0)
      return fail(op, "step must not be 0");
    int64_t s0 = starts[i], e0 = ends[i];
    if (s0 < 0)
      s0 += dim;
    if (e0 < 0)
      e0 += dim;
    int64_t n;
    if (dim == 0) {
      s0 = 0;
      n = 0;
    } else if (st > 0) {
      s0 = std::clamp<int64_t>(s0, 0, dim);
      e0 = std::clamp<int64_t>(e0, 0, dim);
      n = e0 > s0 ? (e0 - s0 - 1) / st + 1 : 0;
    } else {
      s0 = std::clamp<int64_t>(s0, 0, dim - 1);
      e0 = std::clamp<int64_t>(e0, -1, dim - 1);
      n = s0 > e0 ? (s0 - e0 - 1) / (-st) + 1 : 0;
    }
    begin[(size_t)a] = s0;
    step[(size_t)a] = st;
    len[(size_t)a] = n;
  }
  if (len != y.shape)
    return fail(op, "slice of " + shapeText(x.shape) + " has shape " + shapeText(len) +
                        " but the result is " + shapeText(y.shape));
  if (y.numel() == 0)
    return Status();
  std::vector<int64_t> inStrides = stridesOf(x.shape), strides((size_t)rank);
  int64_t base = 0;
  for (int64_t d = 0; d < rank; ++d) {
    strides[(size_t)d] = inStrides[(size_t)d] * step[(size_t)d];
    base += begin[(size_t)d] * inStrides[(size_t)d];
  }
  stridedCopy(ctx, y.shape, strides, base, dtypeSize(x.dtype), x.data, y.data);
  return Status();
}

//===----------------------------------------------------------------------===//
// gathers
//===----------------------------------------------------------------------===//

/// Normalizes a possibly negative index against `dim`, or fails.
inline bool wrapIndex(int64_t &i, int64_t dim) {
  if (i < 0)
    i += dim;
  return i >= 0 && i < dim;
}

Status indexError(const char *op, int64_t index, int64_t dim) {
  return fail(op, "index " + std::to_string(index) + " is out of range for dim " +
                      std::to_string(dim));
}

Status gatherKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                    const Outputs &out) {
  const char *op = "ds.gather";
  if (Status s = need(op, in, out, 2, 1); !s)
    return s;
  const Tensor &x = *in[0], &idx = *in[1];
  Tensor &y = *out[0];
  int64_t rank = x.rank();
  int64_t axis = normAxis(attrs.getInt("axis", 0), rank);
  if (axis < 0 || axis >= rank)
    return fail(op, "axis is out of range for rank " + std::to_string(rank));
  std::vector<int64_t> expect(x.shape.begin(), x.shape.begin() + axis);
  expect.insert(expect.end(), idx.shape.begin(), idx.shape.end());
  expect.insert(expect.end(), x.shape.begin() + axis + 1, x.shape.end());
  if (expect != y.shape || y.dtype != x.dtype)
    return fail(op, "result " + shapeText(y.shape) + " should be " + shapeText(expect));
  std::vector<int64_t> indices;
  if (Status s = readInts(op, "indices", idx, indices); !s)
    return s;
  int64_t dim = x.shape[(size_t)axis];
  for (int64_t &i : indices) {
    int64_t orig = i;
    if (!wrapIndex(i, dim))
      return indexError(op, orig, dim);
  }
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= x.shape[(size_t)d];
  for (int64_t d = axis + 1; d < rank; ++d)
    inner *= x.shape[(size_t)d];
  size_t esize = dtypeSize(x.dtype);
  int64_t n = (int64_t)indices.size(), chunk = inner * (int64_t)esize;
  const uint8_t *src = static_cast<const uint8_t *>(x.data);
  uint8_t *dst = static_cast<uint8_t *>(y.data);
  if (chunk == 0)
    return Status();
  parallel(ctx, outer * n, std::max<int64_t>(1, 16384 / chunk), [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      int64_t o = t / n, j = t % n;
      std::memcpy(dst + t * chunk, src + (o * dim + indices[(size_t)j]) * chunk, (size_t)chunk);
    }
  });
  return Status();
}

Status gatherElementsKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                            const Outputs &out) {
  const char *op = "ds.gather_elements";
  if (Status s = need(op, in, out, 2, 1); !s)
    return s;
  const Tensor &x = *in[0], &idx = *in[1];
  Tensor &y = *out[0];
  int64_t rank = x.rank();
  int64_t axis = normAxis(attrs.getInt("axis", 0), rank);
  if (axis < 0 || axis >= rank || idx.rank() != rank)
    return fail(op, "needs indices of the input's rank and an axis in range");
  if (y.shape != idx.shape || y.dtype != x.dtype)
    return fail(op, "result must have the indices' shape");
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis && idx.shape[(size_t)d] > x.shape[(size_t)d])
      return fail(op, "indices " + shapeText(idx.shape) + " exceed input " + shapeText(x.shape) +
                          " in dim " + std::to_string(d));
  std::vector<int64_t> indices;
  if (Status s = readInts(op, "indices", idx, indices); !s)
    return s;
  int64_t dim = x.shape[(size_t)axis];
  for (int64_t &i : indices) {
    int64_t orig = i;
    if (!wrapIndex(i, dim))
      return indexError(op, orig, dim);
  }
  std::vector<int64_t> inStrides = stridesOf(x.shape);
  size_t esize = dtypeSize(x.dtype);
  const uint8_t *src = static_cast<const uint8_t *>(x.data);
  uint8_t *dst = static_cast<uint8_t *>(y.data);
  const std::vector<int64_t> &ishape = idx.shape;
  parallel(ctx, (int64_t)indices.size(), 4096, [&](int64_t b, int64_t e) {
    std::vector<int64_t> coord((size_t)rank, 0);
    int64_t rem = b;
    for (int64_t d = rank - 1; d >= 0; --d) {
      coord[(size_t)d] = rem % ishape[(size_t)d];
      rem /= ishape[(size_t)d];
    }
    for (int64_t t = b; t < e; ++t) {
      int64_t off = 0;
      for (int64_t d = 0; d < rank; ++d)
        off += (d == axis ? indices[(size_t)t] : coord[(size_t)d]) * inStrides[(size_t)d];
      copyElem(dst + t * (int64_t)esize, src + off * (int64_t)esize, esize);
      for (int64_t d = rank - 1; d >= 0; --d) {
        if (++coord[(size_t)d] < ishape[(size_t)d])
          break;
        coord[(size_t)d] = 0;
      }
    }
  });
  return Status();
}

Status gatherNDKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                      const Outputs &out) {
  const char *op = "ds.gather_nd";
  if (Status s = need(op, in, out, 2, 1); !s)
    return s;
  const Tensor &x = *in[0], &idx = *in[1];
  Tensor &y = *out[0];
  int64_t b = attrs.getInt("batch_dims", 0);
  int64_t r = x.rank(), q = idx.rank();
  if (q < 1 || b < 0 || b >= std::min(r, q))
    return fail(op, "batch_dims " + std::to_string(b) + " is out of range");
  int64_t k = idx.shape.back();
  if (k < 1 || b + k > r)
    return fail(op, "index tuples of length " + std::to_string(k) +
                        " do not fit an input of rank " + std::to_string(r));
  for (int64_t d = 0; d < b; ++d)
    if (x.shape[(size_t)d] != idx.shape[(size_t)d])
      return fail(op, "batch dims of input " + shapeText(x.shape) + " and indices " +
                          shapeText(idx.shape) + " differ");
  std::vector<int64_t> expect(idx.shape.begin(), idx.shape.end() - 1);
  expect.insert(expect.end(), x.shape.begin() + b + k, x.shape.end());
  if (expect != y.shape || y.dtype != x.dtype)
    return fail(op, "result " + shapeText(y.shape) + " should be " + shapeText(expect));
  std::vector<int64_t> indices;
  if (Status s = readInts(op, "indices", idx, indices); !s)
    return s;
  int64_t batches = 1, perBatch = 1, slice = 1, batchStride = 1;
  for (int64_t d = 0; d < b; ++d)
    batches *= idx.shape[(size_t)d];
  for (int64_t d = b; d < q - 1; ++d)
    perBatch *= idx.shape[(size_t)d];
  for (int64_t d = b + k; d < r; ++d)
    slice *= x.shape[(size_t)d];
  for (int64_t d = b; d < r; ++d)
    batchStride *= x.shape[(size_t)d];
  std::vector<int64_t> inStrides = stridesOf(x.shape);
  int64_t tuples = batches * perBatch;
  std::vector<int64_t> offsets((size_t)tuples);
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t off = (t / perBatch) * batchStride;
    for (int64_t j = 0; j < k; ++j) {
      int64_t i = indices[(size_t)(t * k + j)], dim = x.shape[(size_t)(b + j)];
      int64_t orig = i;
      if (!wrapIndex(i, dim))
        return indexError(op, orig, dim);
      off += i * inStrides[(size_t)(b + j)];
    }
    offsets[(size_t)t] = off;
  }
  size_t esize = dtypeSize(x.dtype);
  int64_t chunk = slice * (int64_t)esize;
  if (chunk == 0)
    return Status();
  const uint8_t *src = static_cast<const uint8_t *>(x.data);
  uint8_t *dst = static_cast<uint8_t *>(y.data);
  parallel(ctx, tuples, std::max<int64_t>(1, 16384 / chunk), [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t)
      std::memcpy(dst + t * chunk, src + offsets[(size_t)t] * (int64_t)esize, (size_t)chunk);
  });
  return Status();
}

//===----------------------------------------------------------------------===//
// scatters
//===----------------------------------------------------------------------===//

enum class Reduction { None, Add, Mul, Max, Min };

Status parseReduction(const char *op, const Attributes &attrs, Reduction &r) {
  std::string s = attrs.getString("reduction"); // required (ds_op_attributes.def)
  if (s == "none")
    r = Reduction::None;
  else if (s == "add")
    r = Reduction::Add;
  else if (s == "mul")
    r = Reduction::Mul;
  else if (s == "max")
    r = Reduction::Max;
  else if (s == "min")
    r = Reduction::Min;
  else
    return fail(op, "unknown reduction '" + s + "'");
  return Status();
}

/// Combines element `src` of `u` into element `dst` of `y`.
void combine(Tensor &y, int64_t dst, const Tensor &u, int64_t src, Reduction r, size_t esize) {
  if (r == Reduction::None) {
    copyElem(static_cast<uint8_t *>(y.data) + dst * (int64_t)esize,
             static_cast<const uint8_t *>(u.data) + src * (int64_t)esize, esize);
    return;
  }
  if (isComputeFloat(y.dtype)) {
    double a = loadAsDouble(y, dst), b = loadAsDouble(u, src), v = a;
    switch (r) {
    case Reduction::Add: v = a + b; break;
    case Reduction::Mul: v = a * b; break;
    case Reduction::Max: v = std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b); break;
    case Reduction::Min: v = std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b); break;
    default: break;
    }
    storeDouble(y, dst, v);
    return;
  }
  if (y.dtype == DS_U64) {
    uint64_t a = y.as<uint64_t>()[dst], b = u.as<uint64_t>()[src], v = a;
    switch (r) {
    case Reduction::Add: v = a + b; break;
    case Reduction::Mul: v = a * b; break;
    case Reduction::Max: v = std::max(a, b); break;
    case Reduction::Min: v = std::min(a, b); break;
    default: break;
    }
    y.as<uint64_t>()[dst] = v;
    return;
  }
  int64_t a = loadAsInt(y, dst), b = loadAsInt(u, src), v = a;
  switch (r) {
  case Reduction::Add: v = (int64_t)((uint64_t)a + (uint64_t)b); break;
  case Reduction::Mul: v = (int64_t)((uint64_t)a * (uint64_t)b); break;
  case Reduction::Max: v = std::max(a, b); break;
  case Reduction::Min: v = std::min(a, b); break;
  default: break;
  }
  if (y.dtype == DS_BOOL && r == Reduction::Add)
    v = (a || b) ? 1 : 0;
  storeInt(y, dst, v);
}

Status scatterElementsKernel(KernelContext &, const Attributes &attrs, const Inputs &in,
                             const Outputs &out) {
  const char *op = "ds.scatter_elements";
  if (Status s = need(op, in, out, 3, 1); !s)
    return s;
  const Tensor &x = *in[0], &idx = *in[1], &u = *in[2];
  Tensor &y = *out[0];
  Reduction red;
  if (Status s = parseReduction(op, attrs, red); !s)
    return s;
  int64_t rank = x.rank();
  int64_t axis = normAxis(attrs.getInt("axis", 0), rank);
  if (axis < 0 || axis >= rank)
    return fail(op, "axis is out of range for rank " + std::to_string(rank));
  if (idx.shape != u.shape || idx.rank() != rank || u.dtype != x.dtype || y.shape != x.shape ||
      y.dtype != x.dtype)
    return fail(op, "indices and updates must share one shape of the input's rank");
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis && idx.shape[(size_t)d] > x.shape[(size_t)d])
      return fail(op, "indices " + shapeText(idx.shape) + " exceed input " + shapeText(x.shape));
  std::vector<int64_t> indices;
  if (Status s = readInts(op, "indices", idx, indices); !s)
    return s;
  int64_t dim = x.shape[(size_t)axis];
  for (int64_t &i : indices) {
    int64_t orig = i;
    if (!wrapIndex(i, dim))
      return indexError(op, orig, dim);
  }
  if (x.data != y.data && x.bytes())
    std::memcpy(y.data, x.data, x.bytes());
  std::vector<int64_t> strides = stridesOf(x.shape), coord((size_t)rank, 0);
  size_t esize = dtypeSize(x.dtype);
  for (int64_t t = 0; t < (int64_t)indices.size(); ++t) {
    int64_t off = 0;
    for (int64_t d = 0; d < rank; ++d)
      off += (d == axis ? indices[(size_t)t] : coord[(size_t)d]) * strides[(size_t)d];
    combine(y, off, u, t, red, esize);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++coord[(size_t)d] < idx.shape[(size_t)d])
        break;
      coord[(size_t)d] = 0;
    }
  }
  return Status();
}

Status scatterNDKernel(KernelContext &, const Attributes &attrs, const Inputs &in,
                       const Outputs &out) {
  const char *op = "ds.scatter_nd";
  if (Status s = need(op, in, out, 3, 1); !s)
    return s;
  const Tensor &x = *in[0], &idx = *in[1], &u = *in[2];
  Tensor &y = *out[0];
  Reduction red;
  if (Status s = parseReduction(op, attrs, red); !s)
    return s;
  // The shape function checks the indices' rank and tuple length and the
  // updates' shape and type.
  if (Status s = checkResultShape(op, scatterNDShape, attrs, in, y); !s)
    return s;
  if (y.dtype != x.dtype)
    return fail(op, "result must have the input's type");
  const int64_t r = x.rank(), q = idx.rank(), k = idx.shape.back();
  std::vector<int64_t> indices;
  if (Status s = readInts(op, "indices", idx, indices); !s)
    return s;
  int64_t tuples = 1, slice = 1;
  for (int64_t d = 0; d + 1 < q; ++d)
    tuples *= idx.shape[(size_t)d];
  for (int64_t d = k; d < r; ++d)
    slice *= x.shape[(size_t)d];
  std::vector<int64_t> strides = stridesOf(x.shape), offsets((size_t)tuples);
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t off = 0;
    for (int64_t j = 0; j < k; ++j) {
      int64_t i = indices[(size_t)(t * k + j)], dim = x.shape[(size_t)j], orig = i;
      if (!wrapIndex(i, dim))
        return indexError(op, orig, dim);
      off += i * strides[(size_t)j];
    }
    offsets[(size_t)t] = off;
  }
  if (x.data != y.data && x.bytes())
    std::memcpy(y.data, x.data, x.bytes());
  size_t esize = dtypeSize(x.dtype);
  for (int64_t t = 0; t < tuples; ++t) {
    if (red == Reduction::None) {
      if (slice)
        std::memcpy(static_cast<uint8_t *>(y.data) + offsets[(size_t)t] * (int64_t)esize,
                    static_cast<const uint8_t *>(u.data) + t * slice * (int64_t)esize,
                    (size_t)(slice * (int64_t)esize));
      continue;
    }
    for (int64_t e = 0; e < slice; ++e)
      combine(y, offsets[(size_t)t] + e, u, t * slice + e, red, esize);
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// expand, tile, pad
//===----------------------------------------------------------------------===//

Status expandKernel(KernelContext &ctx, const Attributes &, const Inputs &in, const Outputs &out) {
  const char *op = "ds.expand";
  if (Status s = need(op, in, out, 1, 1); !s)
    return s;
  const Tensor &x = *in[0];
  Tensor &y = *out[0];
  if (y.dtype != x.dtype || y.rank() < x.rank())
    return fail(op, "cannot expand " + shapeText(x.shape) + " to " + shapeText(y.shape));
  size_t off = y.shape.size() - x.shape.size();
  for (size_t d = 0; d < x.shape.size(); ++d)
    if (x.shape[d] != 1 && x.shape[d] != y.shape[d + off])
      return fail(op, "cannot expand " + shapeText(x.shape) + " to " + shapeText(y.shape));
  if (in.size() > 1 && in[1]) {
    // The shape operand must broadcast with the input to the result.
    std::vector<int64_t> target;
    if (Status s = readInts(op, "shape", *in[1], target); !s)
      return s;
    if (target.size() > y.shape.size())
      return fail(op, "shape has more dims than the result");
  }
  stridedCopy(ctx, y.shape, broadcastStrides(x.shape, y.shape), 0, dtypeSize(x.dtype), x.data,
              y.data);
  return Status();
}

Status tileKernel(KernelContext &ctx, const Attributes &, const Inputs &in, const Outputs &out) {
  const char *op = "ds.tile";
  if (Status s = need(op, in, out, 1, 1); !s)
    return s;
  const Tensor &x = *in[0];
  Tensor &y = *out[0];
  int64_t rank = x.rank();
  if (y.rank() != rank || y.dtype != x.dtype)
    return fail(op, "result differs from the input in rank or element type");
  std::vector<int64_t> reps;
  if (in.size() > 1 && in[1]) {
    if (Status s = readInts(op, "repeats", *in[1], reps); !s)
      return s;
    if ((int64_t)reps.size() != rank)
      return fail(op, "needs " + std::to_string(rank) + " repeats, got " +
                          std::to_string(reps.size()));
  }
  std::vector<int64_t> shape, strides, inStrides = stridesOf(x.shape);
  for (int64_t d = 0; d < rank; ++d) {
    int64_t dim = x.shape[(size_t)d], o = y.shape[(size_t)d];
    int64_t rep = dim == 0 ? 0 : o / dim;
    if ((dim == 0 && o != 0) || (dim != 0 && o % dim) ||
        (!reps.empty() && reps[(size_t)d] != rep && !(dim == 0 && o == 0)))
      return fail(op, "result " + shapeText(y.shape) + " is not input " + shapeText(x.shape) +
                          " tiled by the repeats");
    shape.push_back(rep);
    strides.push_back(0);
    shape.push_back(dim);
    strides.push_back(inStrides[(size_t)d]);
  }
  stridedCopy(ctx, shape, strides, 0, dtypeSize(x.dtype), x.data, y.data);
  return Status();
}

Status padKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                 const Outputs &out) {
  const char *op = "ds.pad";
  if (Status s = need(op, in, out, 2, 1); !s)
    return s;
  const Tensor &x = *in[0];
  Tensor &y = *out[0];
  int64_t rank = x.rank();
  if (y.rank() != rank || y.dtype != x.dtype)
    return fail(op, "result differs from the input in rank or element type");
  std::vector<int64_t> pads;
  if (Status s = readInts(op, "pads", *in[1], pads); !s)
    return s;
  if ((int64_t)pads.size() != 2 * rank)
    return fail(op, "needs " + std::to_string(2 * rank) + " pads, got " +
                        std::to_string(pads.size()));
  std::string mode = attrs.getString("mode"); // required (ds_op_attributes.def)
  int kind = mode == "constant" ? 0 : mode == "reflect" ? 1 : mode == "edge" ? 2
             : mode == "wrap"   ? 3
                                : -1;
  if (kind < 0)
    return fail(op, "unknown mode '" + mode + "'");
  size_t esize = dtypeSize(x.dtype);
  std::vector<uint8_t> value(esize, 0);
  if (in.size() > 2 && in[2] && in[2]->numel() > 0) {
    if (in[2]->dtype != x.dtype)
      return fail(op, "value differs from the input in element type");
    std::memcpy(value.data(), in[2]->data, esize);
  }
  // Per dim: output coordinate -> input coordinate, or -1 for the pad value.
  std::vector<std::vector<int64_t>> maps((size_t)rank);
  for (int64_t d = 0; d < rank; ++d) {
    int64_t n = x.shape[(size_t)d], pb = pads[(size_t)d], pe = pads[(size_t)(d + rank)];
    int64_t o = y.shape[(size_t)d];
    if (n + pb + pe != o)
      return fail(op, "input " + shapeText(x.shape) + " padded does not give result " +
                          shapeText(y.shape));
    int64_t cropBegin = std::max<int64_t>(0, -pb), cropEnd = std::max<int64_t>(0, -pe);
    int64_t m = n - cropBegin - cropEnd; // the kept part of the input
    int64_t lead = std::max<int64_t>(0, pb);
    std::vector<int64_t> &map = maps[(size_t)d];
    map.resize((size_t)o);
    for (int64_t i = 0; i < o; ++i) {
      int64_t j = i - lead; // coordinate within the kept part
      if (j >= 0 && j < m) {
        map[(size_t)i] = cropBegin + j;
        continue;
      }
      if (kind == 0) {
        map[(size_t)i] = -1;
        continue;
      }
      if (m <= 0)
        return fail(op, mode + " padding of an empty dim " + std::to_string(d));
      if (kind == 1) { // reflect (the edge is not repeated)
        if (m == 1) {
          j = 0;
        } else {
          int64_t period = 2 * (m - 1);
          j %= period;
          if (j < 0)
            j += period;
          if (j >= m)
            j = period - j;
        }
      } else if (kind == 2) { // edge
        j = std::clamp<int64_t>(j, 0, m - 1);
      } else { // wrap
        j %= m;
        if (j < 0)
          j += m;
      }
      map[(size_t)i] = cropBegin + j;
    }
  }
  if (y.numel() == 0)
    return Status();
  const uint8_t *src = static_cast<const uint8_t *>(x.data);
  uint8_t *dst = static_cast<uint8_t *>(y.data);
  if (rank == 0) {
    copyElem(dst, src, esize);
    return Status();
  }
  std::vector<int64_t> inStrides = stridesOf(x.shape);
  int64_t inner = y.shape.back(), outer = y.numel() / inner;
  const std::vector<int64_t> &last = maps.back();
  parallel(ctx, outer, std::max<int64_t>(1, 16384 / inner), [&](int64_t b, int64_t e) {
    std::vector<int64_t> coord((size_t)rank, 0);
    for (int64_t row = b; row < e; ++row) {
      int64_t rem = row, off = 0;
      bool constant = false;
      for (int64_t d = rank - 2; d >= 0; --d) {
        int64_t c = rem % y.shape[(size_t)d];
        rem /= y.shape[(size_t)d];
        int64_t m = maps[(size_t)d][(size_t)c];
        if (m < 0)
          constant = true;
        off += m * inStrides[(size_t)d];
      }
      uint8_t *o = dst + row * inner * (int64_t)esize;
      if (constant) {
        for (int64_t i = 0; i < inner; ++i)
          copyElem(o + i * (int64_t)esize, value.data(), esize);
        continue;
      }
      for (int64_t i = 0; i < inner;) {
        int64_t m = last[(size_t)i];
        if (m < 0) {
          copyElem(o + i * (int64_t)esize, value.data(), esize);
          ++i;
          continue;
        }
        int64_t run = 1; // a run of consecutive input elements
        while (i + run < inner && last[(size_t)(i + run)] == m + run)
          ++run;
        std::memcpy(o + i * (int64_t)esize, src + (off + m) * (int64_t)esize,
                    (size_t)run * esize);
        i += run;
      }
    }
  });
  return Status();
}

//===----------------------------------------------------------------------===//
// fill, range, trilu
//===----------------------------------------------------------------------===//

Status fillKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &,
                  const Outputs &out) {
  const char *op = "ds.fill";
  if (out.empty() || !out[0])
    return fail(op, "missing output");
  Tensor &y = *out[0];
  const Attribute *a = attrs.find("value");
  size_t esize = dtypeSize(y.dtype);
  std::vector<uint8_t> value(esize, 0);
  if (a) {
    if (a->kind == Attribute::Tensor) {
      size_t vsize = dtypeSize(a->tensorType);
      if (a->s.size() < vsize)
        return fail(op, "value attribute holds no element");
      Tensor src;
      src.dtype = a->tensorType;
      src.shape = {1};
      std::vector<uint8_t> raw(a->s.begin(), a->s.begin() + vsize);
      src.data = raw.data();
      Tensor dst;
      dst.dtype = y.dtype;
      dst.shape = {1};
      dst.data = value.data();
      if (a->tensorType == y.dtype && y.dtype != DS_I4 && y.dtype != DS_I2 && y.dtype != DS_U4 &&
          y.dtype != DS_U2)
        std::memcpy(value.data(), raw.data(), esize);
      else if (isComputeFloat(a->tensorType) || isComputeFloat(y.dtype))
        storeDouble(dst, 0, loadAsDouble(src, 0));
      else
        storeInt(dst, 0, loadAsInt(src, 0));
    } else if (a->kind == Attribute::Float || a->kind == Attribute::Int) {
      Tensor dst;
      dst.dtype = y.dtype;
      dst.shape = {1};
      dst.data = value.data();
      if (a->kind == Attribute::Float)
        storeDouble(dst, 0, a->f);
      else
        storeInt(dst, 0, a->i);
    } else {
      return fail(op, "value attribute must be a tensor");
    }
  }
  uint8_t *dst = static_cast<uint8_t *>(y.data);
  bool zero = std::all_of(value.begin(), value.end(), [](uint8_t v) { return v == 0; });
  parallel(ctx, y.numel(), 65536, [&](int64_t b, int64_t e) {
    if (zero) {
      std::memset(dst + b * (int64_t)esize, 0, (size_t)(e - b) * esize);
      return;
    }
    for (int64_t i = b; i < e; ++i)
      copyElem(dst + i * (int64_t)esize, value.data(), esize);
  });
  return Status();
}

Status rangeKernel(KernelContext &, const Attributes &attrs, const Inputs &in,
                   const Outputs &out) {
  const char *op = "ds.range";
  if (Status s = need(op, in, out, 3, 1); !s)
    return s;
  Tensor &y = *out[0];
  for (int i = 0; i < 3; ++i)
    if (in[i]->numel() != 1)
      return fail(op, "start, limit and delta must be scalars");
  int64_t n = y.numel();
  if (y.rank() != 1)
    return fail(op, "result must be 1-D");
  if (isComputeFloat(y.dtype)) {
    double start = loadAsDouble(*in[0], 0), delta = loadAsDouble(*in[2], 0);
    if (delta == 0)
      return fail(op, "delta must not be 0");
    // The result's length (ceil((limit - start) / delta), computed when the
    // shape was resolved) is authoritative: float rounding of that count is
    // not re-litigated here.
    // Accumulate in the element type, as the ONNX definition (a loop adding delta) does.
    if (y.dtype == DS_F64) {
      double v = start;
      for (int64_t i = 0; i < n; ++i, v += delta)
        y.as<double>()[i] = v;
    } else {
      float v = (float)start, d = (float)delta;
      for (int64_t i = 0; i < n; ++i, v += d)
        storeDouble(y, i, v);
    }
    return Status();
  }
  if (!isIntegerType(y.dtype))
    return fail(op, std::string("unsupported element type ") + dtypeName(y.dtype));
  int64_t start = loadAsInt(*in[0], 0), limit = loadAsInt(*in[1], 0),
          delta = loadAsInt(*in[2], 0);
  if (delta == 0)
    return fail(op, "delta must not be 0");
  // The shape function counts exactly, over all of int64.
  Shapes expect(1);
  if (Status s = rangeShape(attrs, in, expect); !s)
    return s;
  if (expect[0] != y.shape)
    return fail(op, "range has " + std::to_string(expect[0][0]) +
                        " elements but the result has " + std::to_string(n));
  for (int64_t i = 0; i < n; ++i)
    storeInt(y, i, (int64_t)((uint64_t)start + (uint64_t)i * (uint64_t)delta));
  return Status();
}

Status triluKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                   const Outputs &out) {
  const char *op = "ds.trilu";
  if (Status s = need(op, in, out, 1, 1); !s)
    return s;
  const Tensor &x = *in[0];
  Tensor &y = *out[0];
  if (x.rank() < 2 || y.shape != x.shape || y.dtype != x.dtype)
    return fail(op, "needs an input of rank >= 2 and a result of its shape");
  int64_t k = 0;
  if (in.size() > 1 && in[1]) {
    if (in[1]->numel() != 1 || !isIntegerType(in[1]->dtype))
      return fail(op, "k must be one integer");
    k = loadAsInt(*in[1], 0);
  }
  int64_t rows0 = x.shape[x.shape.size() - 2], cols0 = x.shape.back();
  k = std::clamp<int64_t>(k, -rows0 - 1, cols0 + 1); // keeps i + k from overflowing
  bool upper = attrs.has("upper") && attrs.getInt("upper", 1) != 0;
  int64_t rows = x.shape[x.shape.size() - 2], cols = x.shape.back();
  int64_t mats = (rows != 0 && cols != 0) ? x.numel() / (rows * cols) : 0;
  size_t esize = dtypeSize(x.dtype);
  const uint8_t *src = static_cast<const uint8_t *>(x.data);
  uint8_t *dst = static_cast<uint8_t *>(y.data);
  parallel(ctx, mats * rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(cols, 1)),
           [&](int64_t b, int64_t e) {
             for (int64_t r = b; r < e; ++r) {
               int64_t i = r % rows;
               // Kept columns: upper j >= i + k, lower j <= i + k.
               int64_t lo = upper ? std::clamp<int64_t>(i + k, 0, cols) : 0;
               int64_t hi = upper ? cols : std::clamp<int64_t>(i + k + 1, 0, cols);
               uint8_t *o = dst + r * cols * (int64_t)esize;
               const uint8_t *s = src + r * cols * (int64_t)esize;
               if (lo > 0)
                 std::memset(o, 0, (size_t)lo * esize);
               if (hi > lo && o != s)
                 std::memmove(o + lo * (int64_t)esize, s + lo * (int64_t)esize,
                              (size_t)(hi - lo) * esize);
               if (hi < cols)
                 std::memset(o + hi * (int64_t)esize, 0, (size_t)(cols - hi) * esize);
             }
           });
  return Status();
}

} // namespace

void registerDataMovementKernels(KernelTable &table) {
  table["ds.shape"] = CpuOp(shapeKernel, shapeOfShape);
  table["ds.reshape"] = CpuOp(reshapeKernel, reshapeShape, operandMask({1}));
  table["ds.transpose"] = CpuOp(transposeKernel, transposeShape);
  table["ds.concat"] = CpuOp(concatKernel, concatShape);
  table["ds.slice"] = CpuOp(sliceKernel, sliceShape, operandMask({1, 2, 3, 4}));
  table["ds.gather"] = CpuOp(gatherKernel, gatherShape);
  table["ds.gather_elements"] = CpuOp(gatherElementsKernel, gatherElementsShape);
  table["ds.gather_nd"] = CpuOp(gatherNDKernel, gatherNDShape);
  table["ds.scatter_elements"] = CpuOp(scatterElementsKernel, scatterElementsShape);
  table["ds.scatter_nd"] = CpuOp(scatterNDKernel, scatterNDShape);
  table["ds.expand"] = CpuOp(expandKernel, expandShape, operandMask({1}));
  table["ds.tile"] = CpuOp(tileKernel, tileShape, operandMask({1}));
  table["ds.pad"] = CpuOp(padKernel, padShape, operandMask({1}));
  table["ds.fill"] = CpuOp(fillKernel, fillShape, operandMask({0}));
  table["ds.range"] = CpuOp(rangeKernel, rangeShape, operandMask({0, 1, 2}));
  table["ds.trilu"] = CpuOp(triluKernel, triluShape);
}

} // namespace dsrt::cpu
