//===- QuantKernels.cpp - affine quantization and dequantization ----------===//
//
// Per-tensor (one scale), per-axis (1-D scale along `axis`) and blocked
// (`block_size` > 0: scale has the input's rank, `axis` dim divided into
// blocks) layouts. Integers round half to even and saturate to the result
// range; float8 results round to nearest even and saturate when `saturate`.
//
//===----------------------------------------------------------------------===//
#include "cpu/KernelUtils.h"
#include "cpu/Kernels.h"
#include "cpu/QuantShapes.h"
#include "cpu/VectorMath.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace dsrt::cpu {
namespace {

//===----------------------------------------------------------------------===//
// Layouts
//===----------------------------------------------------------------------===//

/// Maps element i of the data to its scale / zero-point element.
struct ParamLayout {
  enum Kind { PerTensor, PerAxis, Blocked } kind = PerTensor;
  int64_t axisDim = 1, inner = 1, block = 1, scaleAxisDim = 1;

  int64_t operator()(int64_t i) const {
    switch (kind) {
    case PerTensor:
      return 0;
    case PerAxis:
      return (i / inner) % axisDim;
    case Blocked: {
      int64_t in = i % inner, rest = i / inner;
      int64_t a = rest % axisDim, o = rest / axisDim;
      return (o * scaleAxisDim + a / block) * inner + in;
    }
    }
    return 0;
  }
};

Status planLayout(const char *op, const Attributes &attrs, const Tensor &x, const Tensor &scale,
                  const Tensor *zp, ParamLayout &layout) {
  int64_t rank = x.rank();
  int64_t block = attrs.getInt("block_size", 0);
  if (block < 0)
    return fail(op, "block_size must be non-negative");
  if (zp && zp->numel() != scale.numel())
    return fail(op, "zero point " + shapeText(zp->shape) + " and scale " +
                        shapeText(scale.shape) + " differ in shape");
  if (block == 0 && scale.numel() == 1) {
    layout.kind = ParamLayout::PerTensor;
    return Status();
  }
  int64_t rawAxis = attrs.getInt("axis", 1);
  int64_t axis = normAxis(rawAxis, rank);
  if (axis < 0 || axis >= rank)
    return fail(op, "axis " + std::to_string(rawAxis) + " is out of range for rank " +
                        std::to_string(rank));
  layout.axisDim = x.shape[(size_t)axis];
  layout.inner = 1;
  for (int64_t d = axis + 1; d < rank; ++d)
    layout.inner *= x.shape[(size_t)d];
  if (block == 0) {
    if (scale.rank() != 1 || scale.shape[0] != layout.axisDim)
      return fail(op, "per-axis scale must be 1-D with " + std::to_string(layout.axisDim) +
                          " elements, got " + shapeText(scale.shape));
    layout.kind = ParamLayout::PerAxis;
    return Status();
  }
  if (scale.rank() != rank)
    return fail(op, "blocked scale must have the input's rank");
  int64_t blocks = (layout.axisDim + block - 1) / block;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t want = d == axis ? blocks : x.shape[(size_t)d];
    if (scale.shape[(size_t)d] != want)
      return fail(op, "blocked scale " + shapeText(scale.shape) + " does not fit input " +
                          shapeText(x.shape) + " with block_size " + std::to_string(block));
  }
  layout.kind = ParamLayout::Blocked;
  layout.block = block;
  layout.scaleAxisDim = blocks;
  return Status();
}

bool integerRange(DType t, double &lo, double &hi) {
  switch (t) {
  case DS_I8: lo = -128; hi = 127; return true;
  case DS_U8: lo = 0; hi = 255; return true;
  case DS_I16: lo = -32768; hi = 32767; return true;
  case DS_U16: lo = 0; hi = 65535; return true;
  case DS_I32: lo = -2147483648.0; hi = 2147483647.0; return true;
  case DS_U32: lo = 0; hi = 4294967295.0; return true;
  case DS_I4: lo = -8; hi = 7; return true;
  case DS_U4: lo = 0; hi = 15; return true;
  case DS_I2: lo = -2; hi = 1; return true;
  case DS_U2: lo = 0; hi = 3; return true;
  case DS_I64: lo = -9223372036854775808.0; hi = 9223372036854774784.0; return true;
  case DS_U64: lo = 0; hi = 18446744073709549568.0; return true;
  default: return false;
  }
}

//===----------------------------------------------------------------------===//
// quantize / dequantize
//===----------------------------------------------------------------------===//

/// The 8-bit value of `t` at `i` (u8 or i8) as int.
inline int byteAt(const Tensor &t, int64_t i) {
  return t.dtype == DS_U8 ? (int)t.as<uint8_t>()[i] : (int)t.as<int8_t>()[i];
}

/// quantize of f32 into u8 / i8 with one scale: the layer boundaries of QDQ
/// models, element by element without the generic loads and stores.
bool quantizeF32ToBytes(KernelContext &ctx, const Tensor &x, const Tensor &scale,
                        const Tensor *zp, Tensor &y) {
  if (x.dtype != DS_F32 || scale.dtype != DS_F32 || scale.numel() != 1 ||
      (y.dtype != DS_U8 && y.dtype != DS_I8))
    return false;
  const float s = scale.as<float>()[0], z = zp ? (float)byteAt(*zp, 0) : 0.0f;
  const float *xs = x.as<float>();
  parallel(ctx, x.numel(), 16384, [&](int64_t b, int64_t e) {
    if (y.dtype == DS_U8)
      vmath::quantize(xs + b, y.as<uint8_t>() + b, e - b, s, z);
    else
      vmath::quantize(xs + b, y.as<int8_t>() + b, e - b, s, z);
  });
  return true;
}

/// dequantize of u8 / i8 into f32 with one scale.
bool dequantizeBytesToF32(KernelContext &ctx, const Tensor &x, const Tensor &scale,
                          const Tensor *zp, Tensor &y) {
  if (y.dtype != DS_F32 || scale.dtype != DS_F32 || scale.numel() != 1 ||
      (x.dtype != DS_U8 && x.dtype != DS_I8))
    return false;
  const float s = scale.as<float>()[0];
  const int z = zp ? byteAt(*zp, 0) : 0;
  float *ys = y.as<float>();
  parallel(ctx, x.numel(), 16384, [&](int64_t b, int64_t e) {
    if (x.dtype == DS_U8) {
      const uint8_t *xs = x.as<uint8_t>();
      for (int64_t i = b; i < e; ++i)
        ys[i] = (float)((int)xs[i] - z) * s;
    } else {
      const int8_t *xs = x.as<int8_t>();
      for (int64_t i = b; i < e; ++i)
        ys[i] = (float)((int)xs[i] - z) * s;
    }
  });
  return true;
}

Status quantizeKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                      const Outputs &out) {
  const char *op = "ds.quantize";
  if (Status s = need(op, in, out, 2, 1); !s)
    return s;
  const Tensor &x = *in[0], &scale = *in[1];
  const Tensor *zp = in.size() > 2 ? in[2] : nullptr;
  Tensor &y = *out[0];
  if (y.shape != x.shape)
    return fail(op, "result shape " + shapeText(y.shape) + " differs from the input " +
                        shapeText(x.shape));
  if (!isComputeFloat(x.dtype) || !isComputeFloat(scale.dtype))
    return fail(op, std::string("input and scale must be floating-point, got ") +
                        dtypeName(x.dtype) + " and " + dtypeName(scale.dtype));
  if (zp && zp->dtype != y.dtype)
    return fail(op, std::string("zero point type ") + dtypeName(zp->dtype) +
                        " differs from the result type " + dtypeName(y.dtype));
  ParamLayout layout;
  if (Status s = planLayout(op, attrs, x, scale, zp, layout); !s)
    return s;
  if (layout.kind != ParamLayout::Blocked && quantizeF32ToBytes(ctx, x, scale, zp, y))
    return Status();
  bool isF8 = isFloat8(y.dtype);
  double lo = 0, hi = 0;
  if (!isF8 && !integerRange(y.dtype, lo, hi))
    return fail(op, std::string("unsupported result type ") + dtypeName(y.dtype));
  bool saturate = attrs.has("saturate") && attrs.getInt("saturate", 1) != 0;
  int64_t nParams = scale.numel();
  std::vector<double> scales((size_t)nParams), zps((size_t)nParams, 0.0);
  for (int64_t i = 0; i < nParams; ++i) {
    scales[(size_t)i] = loadAsDouble(scale, i);
    if (zp)
      zps[(size_t)i] = isF8 ? f8ToFloat(zp->as<uint8_t>()[i], y.dtype) : (double)loadAsInt(*zp, i);
  }
  bool single = x.dtype != DS_F64;
  parallel(ctx, x.numel(), 16384, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      int64_t p = layout(i);
      double xv = loadAsDouble(x, i);
      // The division runs in the input precision (float unless f64), as onnxruntime does.
      double q = single ? (double)((float)xv / (float)scales[(size_t)p]) : xv / scales[(size_t)p];
      if (isF8) {
        double v = single ? (double)((float)q + (float)zps[(size_t)p]) : q + zps[(size_t)p];
        y.as<uint8_t>()[i] = floatToF8((float)v, y.dtype, saturate);
        continue;
      }
      double v = std::isnan(q) ? zps[(size_t)p] : std::nearbyint(q) + zps[(size_t)p];
      v = std::min(std::max(v, lo), hi);
      if (y.dtype == DS_U64)
        y.as<uint64_t>()[i] = (uint64_t)v;
      else
        storeInt(y, i, (int64_t)v);
    }
  });
  return Status();
}

Status dequantizeKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                        const Outputs &out) {
  const char *op = "ds.dequantize";
  if (Status s = need(op, in, out, 2, 1); !s)
    return s;
  const Tensor &x = *in[0], &scale = *in[1];
  const Tensor *zp = in.size() > 2 ? in[2] : nullptr;
  Tensor &y = *out[0];
  if (y.shape != x.shape)
    return fail(op, "result shape " + shapeText(y.shape) + " differs from the input " +
                        shapeText(x.shape));
  if (!isComputeFloat(y.dtype) || !isComputeFloat(scale.dtype))
    return fail(op, std::string("scale and result must be floating-point, got ") +
                        dtypeName(scale.dtype) + " and " + dtypeName(y.dtype));
  if (zp && zp->dtype != x.dtype)
    return fail(op, std::string("zero point type ") + dtypeName(zp->dtype) +
                        " differs from the input type " + dtypeName(x.dtype));
  ParamLayout layout;
  if (Status s = planLayout(op, attrs, x, scale, zp, layout); !s)
    return s;
  if (layout.kind != ParamLayout::Blocked && dequantizeBytesToF32(ctx, x, scale, zp, y))
    return Status();
  bool isF8 = isFloat8(x.dtype);
  double lo, hi;
  if (!isF8 && !integerRange(x.dtype, lo, hi) && x.dtype != DS_I64)
    return fail(op, std::string("unsupported input type ") + dtypeName(x.dtype));
  int64_t nParams = scale.numel();
  std::vector<double> scales((size_t)nParams), zps((size_t)nParams, 0.0);
  std::vector<int64_t> zpInts((size_t)nParams, 0);
  for (int64_t i = 0; i < nParams; ++i) {
    scales[(size_t)i] = loadAsDouble(scale, i);
    if (zp) {
      if (isF8)
        zps[(size_t)i] = f8ToFloat(zp->as<uint8_t>()[i], x.dtype);
      else
        zpInts[(size_t)i] = loadAsInt(*zp, i);
    }
  }
  bool single = y.dtype != DS_F64;
  if (isF8 && y.dtype == DS_F32) {
    // 256 codes: decode each once (fp8 weights are dequantized every run).
    float decoded[256];
    for (int code = 0; code < 256; ++code)
      decoded[code] = f8ToFloat((uint8_t)code, x.dtype);
    const uint8_t *codes = x.as<uint8_t>();
    float *ys = y.as<float>();
    parallel(ctx, x.numel(), 16384, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        int64_t p = layout(i);
        ys[i] = (decoded[codes[i]] - (float)zps[(size_t)p]) * (float)scales[(size_t)p];
      }
    });
    return Status();
  }
  parallel(ctx, x.numel(), 16384, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      int64_t p = layout(i);
      double diff = isF8 ? (double)f8ToFloat(x.as<uint8_t>()[i], x.dtype) - zps[(size_t)p]
                         : (double)(loadAsInt(x, i) - zpInts[(size_t)p]);
      double v = single ? (double)((float)diff * (float)scales[(size_t)p])
                        : diff * scales[(size_t)p];
      if (y.dtype == DS_F32)
        y.as<float>()[i] = (float)v;
      else
        storeDouble(y, i, v);
    }
  });
  return Status();
}

//===----------------------------------------------------------------------===//
// dynamic_quantize
//===----------------------------------------------------------------------===//

Status dynamicQuantizeKernel(KernelContext &ctx, const Attributes &, const Inputs &in,
                             const Outputs &out) {
  const char *op = "ds.dynamic_quantize";
  if (Status s = need(op, in, out, 1, 3); !s)
    return s;
  const Tensor &x = *in[0];
  Tensor &y = *out[0], &scaleOut = *out[1], &zpOut = *out[2];
  if (x.dtype != DS_F32)
    return fail(op, std::string("input must be f32, got ") + dtypeName(x.dtype));
  if (y.shape != x.shape || y.dtype != DS_U8 || scaleOut.numel() != 1 ||
      scaleOut.dtype != DS_F32 || zpOut.numel() != 1 || zpOut.dtype != DS_U8)
    return fail(op, "results must be ui8 of the input's shape, an f32 scale and a ui8 zero point");
  const float *xs = x.as<float>();
  int64_t n = x.numel();
  // The range, from per-chunk partial minima and maxima (exact in any
  // order); it always includes 0, and NaN is skipped.
  constexpr int64_t kChunk = 1 << 15;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<float> los((size_t)chunks, 0.0f), his((size_t)chunks, 0.0f);
  parallel(ctx, chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c)
      vmath::rangeWithZero(xs + c * kChunk, std::min(n, (c + 1) * kChunk) - c * kChunk,
                           los[(size_t)c], his[(size_t)c]);
  });
  float lo = 0.0f, hi = 0.0f;
  for (int64_t c = 0; c < chunks; ++c) {
    lo = std::min(lo, los[(size_t)c]);
    hi = std::max(hi, his[(size_t)c]);
  }
  const float qmin = 0.0f, qmax = 255.0f;
  float scale = hi == lo ? 1.0f : (hi - lo) / (qmax - qmin);
  float initialZp = qmin - lo / scale;
  float zpf = std::nearbyint(std::min(qmax, std::max(qmin, initialZp)));
  uint8_t zp = (uint8_t)zpf;
  scaleOut.as<float>()[0] = scale;
  zpOut.as<uint8_t>()[0] = zp;
  uint8_t *ys = y.as<uint8_t>();
  parallel(ctx, n, 16384, [&](int64_t b, int64_t e) {
    vmath::quantize(xs + b, ys + b, e - b, scale, zpf);
  });
  return Status();
}

} // namespace

void registerQuantKernels(KernelTable &table) {
  table["ds.quantize"] = CpuOp(quantizeKernel, quantizeShape);
  table["ds.dequantize"] = CpuOp(dequantizeKernel, dequantizeShape);
  table["ds.dynamic_quantize"] = CpuOp(dynamicQuantizeKernel, dynamicQuantizeShape);
}

} // namespace dsrt::cpu
