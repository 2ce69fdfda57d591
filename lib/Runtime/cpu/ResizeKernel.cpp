//===- ResizeKernel.cpp - ds.resize: nearest, linear and cubic resampling --===//
//
// ONNX Resize (and Upsample) on the CPU: one plan per dim (source indices and
// weights, coordinates in single precision as onnxruntime computes them),
// then the separable passes. The result's shape comes from resizeShape
// (DataMovementShapes.cpp): sizes when given, else floor(dim * scale).
//
//===----------------------------------------------------------------------===//
#include "cpu/DataMovementShapes.h"
#include "cpu/KernelUtils.h"
#include "cpu/Kernels.h"
#include "cpu/ShapeUtils.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace dsrt::cpu {
namespace {

//===----------------------------------------------------------------------===//
// resize
//===----------------------------------------------------------------------===//

enum class Coord { HalfPixel, HalfPixelSymmetric, PytorchHalfPixel, AlignCorners, Asymmetric,
                   TfCropAndResize };

/// Input coordinate of output coordinate `x` (single precision, as onnxruntime).
float originalCoord(Coord mode, float x, float scale, float outLen, float inLen, float roiStart,
                    float roiEnd) {
  switch (mode) {
  case Coord::HalfPixel:
    return (x + 0.5f) / scale - 0.5f;
  case Coord::HalfPixelSymmetric: {
    float adjustment = outLen / (scale * inLen);
    float center = inLen / 2;
    float offset = center * (1 - adjustment);
    return offset + (x + 0.5f) / scale - 0.5f;
  }
  case Coord::PytorchHalfPixel:
    return outLen > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f;
  case Coord::AlignCorners:
    return outLen == 1 ? 0.0f : x * (inLen - 1) / (outLen - 1);
  case Coord::Asymmetric:
    return x / scale;
  case Coord::TfCropAndResize:
    return outLen > 1 ? roiStart * (inLen - 1) + (x * (roiEnd - roiStart) * (inLen - 1)) /
                                                     (outLen - 1)
                      : 0.5f * (roiStart + roiEnd) * (inLen - 1);
  }
  return x;
}

double cubicWeight(double x, double a) {
  x = std::fabs(x);
  if (x <= 1)
    return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2)
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

/// The 1-D resampling of one dim: each output index reads `taps` input
/// indices with weights; `extrapolate` marks outputs outside a crop.
struct AxisPlan {
  int64_t taps = 1;
  std::vector<int64_t> index;
  std::vector<double> weight;
  std::vector<uint8_t> extrapolate;
  bool identity = false;
  bool anyExtrapolate = false;
};

Status resizeKernel(KernelContext &ctx, const Attributes &attrs, const Inputs &in,
                    const Outputs &out) {
  const char *op = "ds.resize";
  if (Status s = need(op, in, out, 1, 1); !s)
    return s;
  const Tensor &x = *in[0];
  Tensor &y = *out[0];
  const Tensor *roi = in.size() > 1 ? in[1] : nullptr;
  const Tensor *scalesT = in.size() > 2 ? in[2] : nullptr;
  const Tensor *sizesT = in.size() > 3 ? in[3] : nullptr;
  int64_t rank = x.rank();
  if (y.rank() != rank || y.dtype != x.dtype)
    return fail(op, "result differs from the input in rank or element type");
  std::string mode = attrs.getString("mode", "nearest");
  std::string ctm = attrs.getString("coordinate_transformation_mode", "half_pixel");
  std::string nearestMode = attrs.getString("nearest_mode", "round_prefer_floor");
  double cubicA = attrs.getFloat("cubic_coeff_a", -0.75);
  bool excludeOutside = attrs.getInt("exclude_outside", 0) != 0;
  double extrapolation = attrs.getFloat("extrapolation_value", 0.0);
  bool antialias = attrs.getInt("antialias", 0) != 0;
  int modeKind = mode == "nearest" ? 0 : mode == "linear" ? 1 : mode == "cubic" ? 2 : -1;
  if (modeKind < 0)
    return fail(op, "unknown mode '" + mode + "'");
  Coord coord;
  if (ctm == "half_pixel")
    coord = Coord::HalfPixel;
  else if (ctm == "half_pixel_symmetric")
    coord = Coord::HalfPixelSymmetric;
  else if (ctm == "pytorch_half_pixel")
    coord = Coord::PytorchHalfPixel;
  else if (ctm == "align_corners")
    coord = Coord::AlignCorners;
  else if (ctm == "asymmetric")
    coord = Coord::Asymmetric;
  else if (ctm == "tf_crop_and_resize")
    coord = Coord::TfCropAndResize;
  else
    return fail(op, "unknown coordinate_transformation_mode '" + ctm + "'");
  int nearestKind = nearestMode == "round_prefer_floor" ? 0
                    : nearestMode == "round_prefer_ceil" ? 1
                    : nearestMode == "floor"             ? 2
                    : nearestMode == "ceil"              ? 3
                                                         : -1;
  if (modeKind == 0 && nearestKind < 0)
    return fail(op, "unknown nearest_mode '" + nearestMode + "'");
  if (modeKind != 0 && !isComputeFloat(x.dtype))
    return fail(op, mode + " interpolation needs a floating-point input, got " +
                        dtypeName(x.dtype));

  // Scales map the coordinates; sizes, when given, are the result's shape
  // (both: keep_aspect_ratio_policy's one scale with rounded sizes).
  const bool haveScales = scalesT && scalesT->numel() > 0;
  const bool haveSizes = sizesT && sizesT->numel() > 0;
  if (!haveScales && !haveSizes)
    return fail(op, "needs scales or sizes");
  std::vector<float> scales((size_t)rank);
  if (haveScales) {
    if (scalesT->numel() != rank || !isComputeFloat(scalesT->dtype))
      return fail(op, "needs " + std::to_string(rank) + " floating-point scales");
    for (int64_t d = 0; d < rank; ++d) {
      scales[(size_t)d] = (float)loadAsDouble(*scalesT, d);
      if (!(scales[(size_t)d] > 0))
        return fail(op, "scales must be positive");
    }
  }
  if (haveSizes) {
    std::vector<int64_t> sizes;
    if (Status s = readInts(op, sizesT, "sizes", sizes); !s)
      return s;
    if (sizes != y.shape)
      return fail(op, "sizes " + shapeText(sizes) + " differ from the result " +
                          shapeText(y.shape));
    for (int64_t d = 0; !haveScales && d < rank; ++d)
      scales[(size_t)d] = x.shape[(size_t)d] ? (float)y.shape[(size_t)d] /
                                                   (float)x.shape[(size_t)d]
                                             : 1.0f;
  }
  std::vector<double> roiValues;
  if (coord == Coord::TfCropAndResize) {
    if (roi && roi->numel() > 0) {
      if (roi->numel() != 2 * rank)
        return fail(op, "roi needs " + std::to_string(2 * rank) + " values");
      for (int64_t i = 0; i < 2 * rank; ++i)
        roiValues.push_back(loadAsDouble(*roi, i));
    } else {
      roiValues.assign((size_t)rank, 0.0);
      roiValues.resize((size_t)(2 * rank), 1.0);
    }
  }
  if (y.numel() == 0)
    return Status();
  for (int64_t d = 0; d < rank; ++d)
    if (x.shape[(size_t)d] == 0)
      return fail(op, "cannot resize an empty input to " + shapeText(y.shape));

  // Plan each dim.
  std::vector<AxisPlan> plans((size_t)rank);
  for (int64_t d = 0; d < rank; ++d) {
    AxisPlan &p = plans[(size_t)d];
    int64_t inLen = x.shape[(size_t)d], outLen = y.shape[(size_t)d];
    float scale = scales[(size_t)d];
    float roiStart = coord == Coord::TfCropAndResize ? (float)roiValues[(size_t)d] : 0.0f;
    float roiEnd = coord == Coord::TfCropAndResize ? (float)roiValues[(size_t)(d + rank)] : 1.0f;
    double kernelScale = antialias ? std::min<double>(scale, 1.0) : 1.0;
    int64_t start = 0;
    if (modeKind == 0) {
      p.taps = 1;
    } else if (modeKind == 1) {
      start = (int64_t)std::floor(-1.0 / kernelScale) + 1;
      p.taps = 2 - 2 * start;
    } else {
      start = (int64_t)std::floor(-2.0 / kernelScale) + 1;
      p.taps = 2 - 2 * start;
    }
    p.index.assign((size_t)(outLen * p.taps), 0);
    p.weight.assign((size_t)(outLen * p.taps), 0.0);
    p.extrapolate.assign((size_t)outLen, 0);
    for (int64_t o = 0; o < outLen; ++o) {
      float xo = originalCoord(coord, (float)o, scale, (float)outLen, (float)inLen, roiStart,
                               roiEnd);
      if (coord == Coord::TfCropAndResize && (xo < 0 || xo > (float)(inLen - 1))) {
        p.extrapolate[(size_t)o] = 1;
        p.anyExtrapolate = true;
        continue;
      }
      int64_t *idx = &p.index[(size_t)(o * p.taps)];
      double *w = &p.weight[(size_t)(o * p.taps)];
      if (modeKind == 0) {
        float f = std::floor(xo);
        int64_t n;
        switch (nearestKind) {
        case 0: n = (xo == f + 0.5f) ? (int64_t)f : (int64_t)std::round(xo); break;
        case 1: n = (int64_t)std::round(xo); break;
        case 2: n = (int64_t)f; break;
        default: n = (int64_t)std::ceil(xo); break;
        }
        idx[0] = std::clamp<int64_t>(n, 0, inLen - 1);
        w[0] = 1.0;
        continue;
      }
      // Neighbors base + i for i in [start, start + taps), where the ratio
      // (xo - base) lies in (0, 1].
      double xd = xo;
      double base = std::ceil(xd) - 1;
      double ratio = xd - base;
      double sum = 0;
      for (int64_t t = 0; t < p.taps; ++t) {
        int64_t i = start + t;
        double dist = ((double)i - ratio) * kernelScale;
        double wt = modeKind == 1 ? std::max(0.0, 1.0 - std::fabs(dist)) : cubicWeight(dist, cubicA);
        int64_t at = (int64_t)base + i;
        if (excludeOutside && (at < 0 || at >= inLen))
          wt = 0;
        idx[t] = std::clamp<int64_t>(at, 0, inLen - 1);
        w[t] = wt;
        sum += wt;
      }
      if ((antialias || excludeOutside) && sum != 0)
        for (int64_t t = 0; t < p.taps; ++t)
          w[t] /= sum;
    }
    if (inLen == outLen && !p.anyExtrapolate) {
      bool identity = true;
      for (int64_t o = 0; o < outLen && identity; ++o)
        for (int64_t t = 0; t < p.taps; ++t) {
          double w = p.weight[(size_t)(o * p.taps + t)];
          int64_t i = p.index[(size_t)(o * p.taps + t)];
          if (!(w == 0 || (w == 1 && i == o))) {
            identity = false;
            break;
          }
        }
      p.identity = identity;
    }
  }

  std::vector<int64_t> outStrides = stridesOf(y.shape);
  auto applyExtrapolation = [&]() {
    bool any = false;
    for (const AxisPlan &p : plans)
      any |= p.anyExtrapolate;
    if (!any)
      return;
    int64_t total = y.numel();
    for (int64_t i = 0; i < total; ++i) {
      int64_t rem = i;
      bool ex = false;
      for (int64_t d = 0; d < rank && !ex; ++d) {
        int64_t c = rem / outStrides[(size_t)d];
        rem -= c * outStrides[(size_t)d];
        ex = plans[(size_t)d].extrapolate[(size_t)c] != 0;
      }
      if (ex)
        storeDouble(y, i, extrapolation);
    }
  };

  if (modeKind == 0) {
    // Nearest is a gather: copy bytes.
    std::vector<int64_t> inStrides = stridesOf(x.shape);
    size_t esize = dtypeSize(x.dtype);
    const uint8_t *src = static_cast<const uint8_t *>(x.data);
    uint8_t *dst = static_cast<uint8_t *>(y.data);
    int64_t inner = y.shape.empty() ? 1 : y.shape.back();
    int64_t outer = y.numel() / inner;
    parallel(ctx, outer, std::max<int64_t>(1, 8192 / inner), [&](int64_t b, int64_t e) {
      for (int64_t row = b; row < e; ++row) {
        int64_t rem = row, off = 0;
        for (int64_t d = rank - 2; d >= 0; --d) {
          int64_t c = rem % y.shape[(size_t)d];
          rem /= y.shape[(size_t)d];
          off += plans[(size_t)d].index[(size_t)c] * inStrides[(size_t)d];
        }
        if (rank == 0) {
          copyElem(dst, src, esize);
          continue;
        }
        const AxisPlan &last = plans.back();
        uint8_t *o = dst + row * inner * (int64_t)esize;
        for (int64_t i = 0; i < inner; ++i)
          copyElem(o + i * (int64_t)esize, src + (off + last.index[(size_t)i]) * (int64_t)esize,
                   esize);
      }
    });
    applyExtrapolation();
    return Status();
  }

  // Linear / cubic: separable passes over a double buffer, one per resampled dim.
  std::vector<int64_t> shape = x.shape;
  std::vector<double> cur((size_t)x.numel());
  for (int64_t i = 0; i < x.numel(); ++i)
    cur[(size_t)i] = loadAsDouble(x, i);
  for (int64_t d = rank - 1; d >= 0; --d) {
    const AxisPlan &p = plans[(size_t)d];
    if (p.identity)
      continue;
    int64_t inLen = shape[(size_t)d], outLen = y.shape[(size_t)d];
    int64_t outer = 1, inner = 1;
    for (int64_t k = 0; k < d; ++k)
      outer *= shape[(size_t)k];
    for (int64_t k = d + 1; k < rank; ++k)
      inner *= shape[(size_t)k];
    std::vector<double> next((size_t)(outer * outLen * inner), 0.0);
    parallel(ctx, outer * outLen, std::max<int64_t>(1, 4096 / inner), [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        int64_t o = t / outLen, j = t % outLen;
        double *dst = &next[(size_t)(t * inner)];
        if (p.extrapolate[(size_t)j])
          continue;
        const double *src = &cur[(size_t)(o * inLen * inner)];
        for (int64_t k = 0; k < p.taps; ++k) {
          double w = p.weight[(size_t)(j * p.taps + k)];
          if (w == 0)
            continue;
          const double *row = src + p.index[(size_t)(j * p.taps + k)] * inner;
          for (int64_t i = 0; i < inner; ++i)
            dst[i] += w * row[i];
        }
      }
    });
    cur.swap(next);
    shape[(size_t)d] = outLen;
  }
  if (shape != y.shape)
    return fail(op, "internal shape mismatch");
  if (y.dtype == DS_F32) {
    float *dst = y.as<float>();
    for (size_t i = 0; i < cur.size(); ++i)
      dst[i] = (float)cur[i];
  } else {
    for (size_t i = 0; i < cur.size(); ++i)
      storeDouble(y, (int64_t)i, cur[i]);
  }
  applyExtrapolation();
  return Status();
}

} // namespace

void registerResizeKernel(KernelTable &table) {
  table["ds.resize"] = CpuOp(resizeKernel, resizeShape, operandMask({2, 3}));
}

} // namespace dsrt::cpu
