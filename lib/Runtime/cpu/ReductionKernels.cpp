//===- ReductionKernels.cpp - CPU kernels of the reducing ds ops ----------===//
//
// ds.reduce, ds.arg_reduce, ds.softmax, ds.norm, ds.cumsum and ds.topk.
//
// Most of these view the input as [outer, R, inner] around the reduced axis
// (or contiguous range of axes). Rows (inner == 1) are scanned linearly;
// with inner > 1 a block of up to kBlock neighbouring columns is processed
// together so that memory is still read contiguously. Float statistics
// accumulate in double; integer sums and products are exact in 64 bits
// (wrapping like the element type would).
//
//===----------------------------------------------------------------------===//
#include "cpu/KernelUtils.h"
#include "cpu/Kernels.h"
#include "cpu/ReductionShapes.h"
#include "cpu/VectorMath.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace dsrt::cpu {
namespace {

constexpr int64_t kBlock = 256;  // columns processed together
constexpr int64_t kWork = 32768; // elements per parallel task, roughly

/// Tasks for `n` items costing `perItem` elements each.
int64_t grainFor(int64_t perItem) {
  return std::max<int64_t>(1, kWork / std::max<int64_t>(perItem, 1));
}

/// Unsigned integers and bool (loaded zero-extended, lowest value 0).
bool isUnsignedOrBool(DType t) { return isUnsignedInt(t) || t == DS_BOOL; }
/// The dtypes the exact integer paths take: integers and bool (as 0 / 1).
bool isIntegerOrBool(DType t) { return isIntegerType(t) || t == DS_BOOL; }

int intBits(DType t) {
  switch (t) {
  case DS_I64:
  case DS_U64:
    return 64;
  case DS_I32:
  case DS_U32:
    return 32;
  case DS_I16:
  case DS_U16:
    return 16;
  case DS_I8:
  case DS_U8:
    return 8;
  case DS_I4:
  case DS_U4:
    return 4;
  case DS_I2:
  case DS_U2:
    return 2;
  default:
    return 1; // bool
  }
}

/// Smallest / largest value of an integer dtype, as stored by storeInt.
int64_t intLowest(DType t) {
  if (isUnsignedOrBool(t))
    return 0;
  int b = intBits(t);
  return b == 64 ? std::numeric_limits<int64_t>::min() : -(int64_t(1) << (b - 1));
}
int64_t intHighest(DType t) {
  int b = intBits(t);
  if (isUnsignedOrBool(t))
    return b == 64 ? -1 /* all ones */ : (int64_t)((uint64_t(1) << b) - 1);
  return b == 64 ? std::numeric_limits<int64_t>::max() : (int64_t(1) << (b - 1)) - 1;
}

int64_t product(const std::vector<int64_t> &shape, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t d = from; d < to; ++d)
    p *= shape[d];
  return p;
}

/// Float element loaders (to double) by dtype.
struct LoadF32 {
  const float *p;
  double operator()(int64_t i) const { return p[i]; }
};
struct LoadF64 {
  const double *p;
  double operator()(int64_t i) const { return p[i]; }
};
struct LoadF16 {
  const uint16_t *p;
  double operator()(int64_t i) const { return halfToFloat(p[i]); }
};
struct LoadBF16 {
  const uint16_t *p;
  double operator()(int64_t i) const { return bf16ToFloat(p[i]); }
};
struct LoadAnyDouble {
  const Tensor *t;
  double operator()(int64_t i) const { return loadAsDouble(*t, i); }
};
template <class C> struct LoadAnyInt {
  const Tensor *t;
  C operator()(int64_t i) const { return (C)loadAsInt(*t, i); }
};
template <class S, class C> struct LoadNative {
  const S *p;
  C operator()(int64_t i) const { return (C)p[i]; }
};

/// Calls f(loader) with a double loader for any non-float8 dtype.
template <class F> void withDoubleLoader(const Tensor &t, F &&f) {
  switch (t.dtype) {
  case DS_F32:
    f(LoadF32{t.as<float>()});
    return;
  case DS_F64:
    f(LoadF64{t.as<double>()});
    return;
  case DS_F16:
    f(LoadF16{t.as<uint16_t>()});
    return;
  case DS_BF16:
    f(LoadBF16{t.as<uint16_t>()});
    return;
  default:
    f(LoadAnyDouble{&t});
    return;
  }
}

/// Calls f(loader) with an int64 loader (signed dtypes) or uint64 loader
/// (unsigned dtypes and bool).
template <class F> void withIntLoader(const Tensor &t, F &&f) {
  switch (t.dtype) {
  case DS_I64:
    f(LoadNative<int64_t, int64_t>{t.as<int64_t>()});
    return;
  case DS_I32:
    f(LoadNative<int32_t, int64_t>{t.as<int32_t>()});
    return;
  case DS_U8:
    f(LoadNative<uint8_t, uint64_t>{t.as<uint8_t>()});
    return;
  default:
    if (isUnsignedOrBool(t.dtype))
      f(LoadAnyInt<uint64_t>{&t});
    else
      f(LoadAnyInt<int64_t>{&t});
    return;
  }
}

inline void storeFloatResult(Tensor &t, int64_t i, double v) {
  if (t.dtype == DS_F32)
    t.as<float>()[i] = (float)v;
  else
    storeDouble(t, i, v);
}

//===----------------------------------------------------------------------===//
// ds.reduce
//===----------------------------------------------------------------------===//

enum class RK { Sum, Mean, Max, Min, Prod, SumSquare, L1, L2, LogSum, LogSumExp, Unknown };

RK parseReduce(const std::string &s) {
  static const std::pair<const char *, RK> table[] = {
      {"sum", RK::Sum},        {"mean", RK::Mean},
      {"max", RK::Max},        {"min", RK::Min},
      {"prod", RK::Prod},      {"sum_square", RK::SumSquare},
      {"l1", RK::L1},          {"l2", RK::L2},
      {"log_sum", RK::LogSum}, {"log_sum_exp", RK::LogSumExp}};
  for (auto &e : table)
    if (s == e.first)
      return e.second;
  return RK::Unknown;
}

/// How output element o's inputs are found.
struct ReducePlan {
  enum Mode { Rows, Columns, Gather } mode = Rows;
  int64_t outer = 1, R = 1, inner = 1; ///< Rows / Columns: [outer, R, inner]
  int64_t outNumel = 1;
  std::vector<int64_t> keptOff, redOff; ///< Gather: input offsets
};

/// Offsets (row-major over `dims`) of each index combination of `dims`.
std::vector<int64_t> offsetsOver(const std::vector<int64_t> &dims,
                                 const std::vector<int64_t> &shape,
                                 const std::vector<int64_t> &strides) {
  int64_t count = 1;
  for (int64_t d : dims)
    count *= shape[d];
  std::vector<int64_t> offs((size_t)count);
  std::vector<int64_t> coord(dims.size(), 0);
  int64_t cur = 0;
  for (int64_t i = 0; i < count; ++i) {
    offs[(size_t)i] = cur;
    for (int64_t k = (int64_t)dims.size() - 1; k >= 0; --k) {
      int64_t d = dims[k];
      ++coord[k];
      cur += strides[d];
      if (coord[k] < shape[d])
        break;
      cur -= coord[k] * strides[d];
      coord[k] = 0;
    }
  }
  return offs;
}

ReducePlan planReduce(const std::vector<int64_t> &shape, const std::vector<bool> &reduced) {
  ReducePlan p;
  std::vector<std::pair<int64_t, bool>> groups;
  int64_t R = 1, out = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    (reduced[d] ? R : out) *= shape[d];
    if (shape[d] == 1)
      continue;
    if (!groups.empty() && groups.back().second == reduced[d])
      groups.back().first *= shape[d];
    else
      groups.push_back({shape[d], reduced[d]});
  }
  p.R = R;
  p.outNumel = out;
  int numReduced = 0, reducedAt = -1;
  for (size_t g = 0; g < groups.size(); ++g)
    if (groups[g].second) {
      ++numReduced;
      reducedAt = (int)g;
    }
  if (numReduced == 0) {
    p.mode = ReducePlan::Rows;
    p.outer = out;
    p.R = 1;
    p.inner = 1;
    return p;
  }
  if (numReduced == 1) {
    p.outer = 1;
    p.inner = 1;
    for (int g = 0; g < reducedAt; ++g)
      p.outer *= groups[g].first;
    for (size_t g = reducedAt + 1; g < groups.size(); ++g)
      p.inner *= groups[g].first;
    p.mode = p.inner == 1 ? ReducePlan::Rows : ReducePlan::Columns;
    return p;
  }
  p.mode = ReducePlan::Gather;
  std::vector<int64_t> keptDims, redDims;
  for (size_t d = 0; d < shape.size(); ++d)
    (reduced[d] ? redDims : keptDims).push_back((int64_t)d);
  std::vector<int64_t> strides = stridesOf(shape);
  p.keptOff = offsetsOver(keptDims, shape, strides);
  p.redOff = offsetsOver(redDims, shape, strides);
  return p;
}

/// Folds `step(acc, load(i), outIndex)` over each output's inputs into acc[].
template <class C, class Ld, class Step>
void reduceCore(KernelContext &ctx, const ReducePlan &p, const Ld &ld, C init, const Step &step,
                C *acc) {
  const int64_t R = p.R;
  switch (p.mode) {
  case ReducePlan::Rows:
    parallel(ctx, p.outNumel, grainFor(R), [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        C a = init;
        const int64_t base = o * R;
        for (int64_t r = 0; r < R; ++r)
          a = step(a, ld(base + r), o);
        acc[o] = a;
      }
    });
    return;
  case ReducePlan::Columns: {
    const int64_t inner = p.inner, nb = (inner + kBlock - 1) / kBlock;
    parallel(ctx, p.outer * nb, grainFor(R * kBlock), [&](int64_t begin, int64_t end) {
      C a[kBlock];
      for (int64_t t = begin; t < end; ++t) {
        const int64_t o = t / nb, i0 = (t % nb) * kBlock;
        const int64_t len = std::min(kBlock, inner - i0);
        const int64_t outBase = o * inner + i0;
        for (int64_t j = 0; j < len; ++j)
          a[j] = init;
        for (int64_t r = 0; r < R; ++r) {
          const int64_t base = (o * R + r) * inner + i0;
          for (int64_t j = 0; j < len; ++j)
            a[j] = step(a[j], ld(base + j), outBase + j);
        }
        for (int64_t j = 0; j < len; ++j)
          acc[outBase + j] = a[j];
      }
    });
    return;
  }
  case ReducePlan::Gather:
    parallel(ctx, p.outNumel, grainFor(R), [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        C a = init;
        const int64_t base = p.keptOff[o];
        for (int64_t r = 0; r < R; ++r)
          a = step(a, ld(base + p.redOff[r]), o);
        acc[o] = a;
      }
    });
    return;
  }
}

/// Float reduction (any non-float8 dtype, computed in double).
template <class Ld>
void reduceFloat(KernelContext &ctx, RK kind, const ReducePlan &p, const Ld &ld, Tensor &out) {
  const int64_t n = p.outNumel;
  std::vector<double> acc((size_t)n);
  const double inf = std::numeric_limits<double>::infinity();
  auto sum = [](double a, double x, int64_t) { return a + x; };
  switch (kind) {
  case RK::Sum:
  case RK::Mean:
  case RK::LogSum:
    reduceCore(ctx, p, ld, 0.0, sum, acc.data());
    break;
  case RK::SumSquare:
  case RK::L2:
    reduceCore(
        ctx, p, ld, 0.0, [](double a, double x, int64_t) { return a + x * x; }, acc.data());
    break;
  case RK::L1:
    reduceCore(
        ctx, p, ld, 0.0, [](double a, double x, int64_t) { return a + std::fabs(x); }, acc.data());
    break;
  case RK::Prod:
    reduceCore(
        ctx, p, ld, 1.0, [](double a, double x, int64_t) { return a * x; }, acc.data());
    break;
  case RK::Max:
  case RK::LogSumExp:
    reduceCore(
        ctx, p, ld, -inf, [](double a, double x, int64_t) { return (x > a || x != x) ? x : a; },
        acc.data());
    break;
  case RK::Min:
    reduceCore(
        ctx, p, ld, inf, [](double a, double x, int64_t) { return (x < a || x != x) ? x : a; },
        acc.data());
    break;
  default:
    break;
  }
  if (kind == RK::LogSumExp) {
    std::vector<double> sums((size_t)n);
    const double *m = acc.data();
    reduceCore(
        ctx, p, ld, 0.0,
        [m](double a, double x, int64_t o) {
          return std::isfinite(m[o]) ? a + std::exp(x - m[o]) : a;
        },
        sums.data());
    for (int64_t o = 0; o < n; ++o)
      acc[o] = std::isfinite(m[o]) ? m[o] + std::log(sums[o]) : m[o];
  }
  const double R = (double)p.R;
  for (int64_t o = 0; o < n; ++o) {
    double v = acc[o];
    switch (kind) {
    case RK::Mean:
      v = v / R;
      break;
    case RK::L2:
      v = std::sqrt(v);
      break;
    case RK::LogSum:
      v = std::log(v);
      break;
    default:
      break;
    }
    storeFloatResult(out, o, v);
  }
}

/// Exact integer reduction (sum mean max min prod sum_square l1).
template <class C, class Ld>
void reduceInt(KernelContext &ctx, RK kind, const ReducePlan &p, const Ld &ld, Tensor &out) {
  const int64_t n = p.outNumel;
  std::vector<C> acc((size_t)n);
  auto wrapAdd = [](C a, C x) { return (C)((uint64_t)a + (uint64_t)x); };
  switch (kind) {
  case RK::Sum:
  case RK::Mean:
    reduceCore(
        ctx, p, ld, (C)0, [&](C a, C x, int64_t) { return wrapAdd(a, x); }, acc.data());
    break;
  case RK::SumSquare:
    reduceCore(
        ctx, p, ld, (C)0,
        [&](C a, C x, int64_t) { return wrapAdd(a, (C)((uint64_t)x * (uint64_t)x)); }, acc.data());
    break;
  case RK::L1:
    reduceCore(
        ctx, p, ld, (C)0,
        [&](C a, C x, int64_t) {
          if constexpr (std::is_signed_v<C>)
            return wrapAdd(a, x < 0 ? (C)(0 - (uint64_t)x) : x);
          else
            return wrapAdd(a, x);
        },
        acc.data());
    break;
  case RK::Prod:
    reduceCore(
        ctx, p, ld, (C)1, [](C a, C x, int64_t) { return (C)((uint64_t)a * (uint64_t)x); },
        acc.data());
    break;
  case RK::Max:
    reduceCore(
        ctx, p, ld, std::numeric_limits<C>::min(), [](C a, C x, int64_t) { return x > a ? x : a; },
        acc.data());
    break;
  case RK::Min:
    reduceCore(
        ctx, p, ld, std::numeric_limits<C>::max(), [](C a, C x, int64_t) { return x < a ? x : a; },
        acc.data());
    break;
  default:
    break;
  }
  for (int64_t o = 0; o < n; ++o) {
    C v = acc[o];
    int64_t stored = (int64_t)v;
    if (kind == RK::Mean)
      stored = p.R == 0 ? 0 : (int64_t)(v / (C)p.R);
    else if (p.R == 0 && kind == RK::Max)
      stored = intLowest(out.dtype);
    else if (p.R == 0 && kind == RK::Min)
      stored = intHighest(out.dtype);
    storeInt(out, o, stored);
  }
}

Status reduceKernel(KernelContext &ctx, const Attributes &attrs,
                    const std::vector<const Tensor *> &inputs,
                    const std::vector<Tensor *> &outputs) {
  const char *op = inputs.size() > 1 ? "ds.dynamic_reduce" : "ds.reduce";
  if (Status s = checkOperands(op, inputs, 1, outputs, 1, /*checkOptional=*/true); !s.ok())
    return s;
  const Tensor &in = *inputs[0];
  Tensor &out = *outputs[0];
  std::string kindName = attrs.getString("kind");
  RK kind = parseReduce(kindName);
  if (kind == RK::Unknown)
    return fail(op, "unknown kind '" + kindName + "'");
  if (out.dtype != in.dtype)
    return fail(op, std::string("result dtype ") + dtypeName(out.dtype) +
                         " differs from operand dtype " + dtypeName(in.dtype));
  if (isFloat8(in.dtype))
    return fail(op, std::string("unsupported dtype ") + dtypeName(in.dtype));
  std::vector<bool> reduced;
  if (Status s = reducedAxes(op, attrs, inputs, reduced); !s.ok())
    return s;
  ReducePlan plan = planReduce(in.shape, reduced);
  if (out.numel() != plan.outNumel)
    return fail(op, "result shape " + shapeText(out.shape, "x") +
                         " does not match reducing " + shapeText(in.shape, "x"));
  if (plan.outNumel == 0)
    return Status();
  const bool integerMath =
      isIntegerOrBool(in.dtype) && kind != RK::L2 && kind != RK::LogSum && kind != RK::LogSumExp;
  if (in.dtype == DS_F32 && (kind == RK::Sum || kind == RK::Mean) &&
      plan.mode == ReducePlan::Rows) {
    // Contiguous rows (global average pooling, a mean over the last axis):
    // double sums in vector lanes instead of one scalar chain per row.
    const float *x = in.as<float>();
    float *y = out.as<float>();
    const int64_t R = plan.R;
    parallel(ctx, plan.outNumel, grainFor(R), [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        const double total = vmath::sum(x + o * R, R);
        y[o] = (float)(kind == RK::Mean ? total / (double)R : total);
      }
    });
    return Status();
  }
  if (integerMath) {
    withIntLoader(in, [&](auto ld) {
      using C = decltype(ld(0));
      reduceInt<C>(ctx, kind, plan, ld, out);
    });
  } else {
    withDoubleLoader(in, [&](auto ld) { reduceFloat(ctx, kind, plan, ld, out); });
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// ds.arg_reduce
//===----------------------------------------------------------------------===//

template <class C, class Ld>
void argReduceRun(KernelContext &ctx, bool isMax, bool selectLast, int64_t outer, int64_t R,
                  int64_t inner, const Ld &ld, Tensor &out) {
  const int64_t nb = (inner + kBlock - 1) / kBlock;
  parallel(ctx, outer * nb, grainFor(R * std::min(inner, kBlock)), [&](int64_t begin, int64_t end) {
    C best[kBlock];
    int64_t idx[kBlock];
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / nb, i0 = (t % nb) * kBlock;
      const int64_t len = std::min(kBlock, inner - i0);
      for (int64_t r = 0; r < R; ++r) {
        const int64_t base = (o * R + r) * inner + i0;
        for (int64_t j = 0; j < len; ++j) {
          C v = ld(base + j);
          if (r == 0) {
            best[j] = v;
            idx[j] = 0;
            continue;
          }
          if constexpr (std::is_floating_point_v<C>) {
            if (best[j] != best[j]) { // a NaN wins (the first, or the last)
              if (selectLast && v != v)
                idx[j] = r;
              continue;
            }
            if (v != v) {
              best[j] = v;
              idx[j] = r;
              continue;
            }
          }
          if ((isMax ? v > best[j] : v < best[j]) || (selectLast && v == best[j])) {
            best[j] = v;
            idx[j] = r;
          }
        }
      }
      for (int64_t j = 0; j < len; ++j) {
        const int64_t oi = o * inner + i0 + j;
        if (out.dtype == DS_I64)
          out.as<int64_t>()[oi] = idx[j];
        else
          storeInt(out, oi, idx[j]);
      }
    }
  });
}

Status argReduceKernel(KernelContext &ctx, const Attributes &attrs,
                       const std::vector<const Tensor *> &inputs,
                       const std::vector<Tensor *> &outputs) {
  const char *op = "ds.arg_reduce";
  if (Status s = checkOperands(op, inputs, 1, outputs, 1, /*checkOptional=*/true); !s.ok())
    return s;
  const Tensor &in = *inputs[0];
  Tensor &out = *outputs[0];
  std::string kindName = attrs.getString("kind");
  if (kindName != "argmax" && kindName != "argmin")
    return Status::error("ds.arg_reduce: unknown kind '" + kindName + "'");
  if (isFloat8(in.dtype))
    return Status::error(std::string("ds.arg_reduce: unsupported dtype ") + dtypeName(in.dtype));
  if (!isIntegerType(out.dtype))
    return Status::error(std::string("ds.arg_reduce: result must be an integer tensor, got ") +
                         dtypeName(out.dtype));
  int64_t axis;
  if (Status s = normalizeAxis(op, attrs.getInt("axis", 0), in.rank(), axis); !s.ok())
    return s;
  const int64_t outer = product(in.shape, 0, axis), R = in.shape[axis];
  const int64_t inner = product(in.shape, axis + 1, in.shape.size());
  if (out.numel() != outer * inner)
    return Status::error("ds.arg_reduce: result shape " + shapeText(out.shape, "x") +
                         " does not match operand shape " + shapeText(in.shape, "x"));
  if (outer * inner == 0)
    return Status();
  if (R == 0)
    return Status::error("ds.arg_reduce: cannot reduce an empty axis");
  const bool isMax = kindName == "argmax";
  const bool selectLast = attrs.getInt("select_last_index", 0) != 0;
  if (isComputeFloat(in.dtype)) {
    withDoubleLoader(in, [&](auto ld) {
      argReduceRun<double>(ctx, isMax, selectLast, outer, R, inner, ld, out);
    });
  } else {
    withIntLoader(in, [&](auto ld) {
      using C = decltype(ld(0));
      argReduceRun<C>(ctx, isMax, selectLast, outer, R, inner, ld, out);
    });
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// ds.softmax
//===----------------------------------------------------------------------===//

/// Softmax rows of contiguous f32 data (the exponentials vectorized:
/// cpu/VectorMath.h).
void softmaxRowsF32(KernelContext &ctx, const float *x, float *y, int64_t rows, int64_t R,
                    bool log) {
  parallel(ctx, rows, grainFor(R * 4), [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      const float *xr = x + o * R;
      float *yr = y + o * R;
      const float m = vmath::maxOf(xr, R);
      if (log) {
        double s = vmath::expShiftedSumOnly(xr, R, m);
        const float shift = m + (float)std::log(s);
        for (int64_t j = 0; j < R; ++j)
          yr[j] = xr[j] - shift;
      } else {
        double s = vmath::expShiftedSum(xr, yr, R, m);
        vmath::scale(yr, R, (float)(1.0 / s));
      }
    }
  });
}

/// Softmax of any float dtype along the middle of [outer, R, inner].
template <class Ld>
void softmaxGeneric(KernelContext &ctx, const Ld &ld, Tensor &out, int64_t outer, int64_t R,
                    int64_t inner, bool log) {
  const int64_t nb = (inner + kBlock - 1) / kBlock;
  parallel(ctx, outer * nb, grainFor(R * std::min(inner, kBlock) * 4),
           [&](int64_t begin, int64_t end) {
             double m[kBlock], s[kBlock];
             for (int64_t t = begin; t < end; ++t) {
               const int64_t o = t / nb, i0 = (t % nb) * kBlock;
               const int64_t len = std::min(kBlock, inner - i0);
               for (int64_t j = 0; j < len; ++j) {
                 m[j] = -std::numeric_limits<double>::infinity();
                 s[j] = 0;
               }
               for (int64_t r = 0; r < R; ++r) {
                 const int64_t base = (o * R + r) * inner + i0;
                 for (int64_t j = 0; j < len; ++j)
                   m[j] = std::max(m[j], ld(base + j));
               }
               for (int64_t r = 0; r < R; ++r) {
                 const int64_t base = (o * R + r) * inner + i0;
                 for (int64_t j = 0; j < len; ++j)
                   s[j] += std::exp(ld(base + j) - m[j]);
               }
               for (int64_t j = 0; j < len; ++j)
                 s[j] = log ? m[j] + std::log(s[j]) : 1.0 / s[j];
               for (int64_t r = 0; r < R; ++r) {
                 const int64_t base = (o * R + r) * inner + i0;
                 for (int64_t j = 0; j < len; ++j) {
                   double v = ld(base + j);
                   storeFloatResult(out, base + j, log ? v - s[j] : std::exp(v - m[j]) * s[j]);
                 }
               }
             }
           });
}

Status softmaxKernel(KernelContext &ctx, const Attributes &attrs,
                     const std::vector<const Tensor *> &inputs,
                     const std::vector<Tensor *> &outputs) {
  const char *op = "ds.softmax";
  if (Status s = checkOperands(op, inputs, 1, outputs, 1, /*checkOptional=*/true); !s.ok())
    return s;
  const Tensor &in = *inputs[0];
  Tensor &out = *outputs[0];
  if (!isComputeFloat(in.dtype))
    return Status::error(std::string("ds.softmax: unsupported dtype ") + dtypeName(in.dtype));
  if (out.dtype != in.dtype || out.numel() != in.numel())
    return Status::error("ds.softmax: result type differs from the operand's");
  int64_t axis;
  if (Status s = normalizeAxis(op, attrs.getInt("axis", -1), in.rank(), axis); !s.ok())
    return s;
  const int64_t outer = product(in.shape, 0, axis), R = in.shape[axis];
  const int64_t inner = product(in.shape, axis + 1, in.shape.size());
  if (in.numel() == 0)
    return Status();
  const bool log = attrs.has("log") && attrs.getInt("log", 1) != 0;
  if (in.dtype == DS_F32 && inner == 1) {
    softmaxRowsF32(ctx, in.as<float>(), out.as<float>(), outer, R, log);
    return Status();
  }
  withDoubleLoader(in, [&](auto ld) { softmaxGeneric(ctx, ld, out, outer, R, inner, log); });
  return Status();
}

//===----------------------------------------------------------------------===//
// ds.norm
//===----------------------------------------------------------------------===//

/// How the scale / bias element for input element (row, j) is found.
struct Affine {
  enum Mode { None, Scalar, Row, General } mode = None;
  const Tensor *t = nullptr;
  const float *f32 = nullptr; ///< set when the tensor is f32
  std::vector<int64_t> strides, outStrides;

  int64_t offset(int64_t flat, int64_t j) const {
    switch (mode) {
    case Scalar:
      return 0;
    case Row:
      return j;
    default:
      return mapIndex(flat, outStrides, strides);
    }
  }
  double value(int64_t flat, int64_t j) const {
    int64_t off = offset(flat, j);
    return f32 ? (double)f32[off] : loadAsDouble(*t, off);
  }
};

Status makeAffine(const char *what, const Tensor *t, const std::vector<int64_t> &shape,
                  int64_t axis, Affine &a) {
  if (!t)
    return Status();
  if (!isComputeFloat(t->dtype) && !isIntegerOrBool(t->dtype))
    return Status::error(std::string("ds.norm: unsupported ") + what + " dtype " +
                         dtypeName(t->dtype));
  const size_t rank = shape.size();
  if (t->shape.size() > rank)
    return Status::error(std::string("ds.norm: ") + what + " shape " + shapeText(t->shape, "x") +
                         " does not broadcast to input " + shapeText(shape, "x"));
  const size_t off = rank - t->shape.size();
  for (size_t d = 0; d < t->shape.size(); ++d)
    if (t->shape[d] != 1 && t->shape[d] != shape[d + off])
      return Status::error(std::string("ds.norm: ") + what + " shape " + shapeText(t->shape, "x") +
                           " does not broadcast to input " + shapeText(shape, "x"));
  a.t = t;
  a.f32 = t->dtype == DS_F32 ? t->as<float>() : nullptr;
  if (t->numel() == 1) {
    a.mode = Affine::Scalar;
    return Status();
  }
  a.strides = broadcastStrides(t->shape, shape);
  a.outStrides = stridesOf(shape);
  bool row = true;
  for (size_t d = 0; d < rank && row; ++d) {
    if (shape[d] == 1)
      continue;
    row = (int64_t)d < axis ? a.strides[d] == 0 : a.strides[d] == a.outStrides[d];
  }
  a.mode = row ? Affine::Row : Affine::General;
  return Status();
}

Status normKernel(KernelContext &ctx, const Attributes &attrs,
                  const std::vector<const Tensor *> &inputs, const std::vector<Tensor *> &outputs) {
  const char *op = "ds.norm";
  if (Status s = checkOperands(op, inputs, 1, outputs, 1, /*checkOptional=*/true); !s.ok())
    return s;
  const Tensor &in = *inputs[0];
  Tensor &out = *outputs[0];
  std::string kindName = attrs.getString("kind");
  if (kindName != "mean_var" && kindName != "rms")
    return Status::error("ds.norm: unknown kind '" + kindName + "'");
  const bool rms = kindName == "rms";
  if (!isComputeFloat(in.dtype))
    return Status::error(std::string("ds.norm: unsupported dtype ") + dtypeName(in.dtype));
  if (out.dtype != in.dtype || out.shape != in.shape)
    return Status::error("ds.norm: result type differs from the operand's");
  int64_t axis;
  if (Status s = normalizeAxis(op, attrs.getInt("axis", -1), in.rank(), axis); !s.ok())
    return s;
  Affine scale, bias;
  if (Status s =
          makeAffine("scale", inputs.size() > 1 ? inputs[1] : nullptr, in.shape, axis, scale);
      !s.ok())
    return s;
  if (Status s = makeAffine("bias", inputs.size() > 2 ? inputs[2] : nullptr, in.shape, axis, bias);
      !s.ok())
    return s;
  const double eps = attrs.getFloat("epsilon", 1e-5);
  const int64_t rows = product(in.shape, 0, axis);
  const int64_t N = product(in.shape, axis, in.shape.size());
  if (rows * N == 0)
    return Status();

  auto fastAffine = [](const Affine &a) {
    return a.mode == Affine::None || (a.f32 && a.mode != Affine::General);
  };
  if (in.dtype == DS_F32 && fastAffine(scale) && fastAffine(bias)) {
    const float *x = in.as<float>();
    float *y = out.as<float>();
    parallel(ctx, rows, grainFor(N * 3), [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) {
        const float *xr = x + row * N;
        float *yr = y + row * N;
        double mean = 0, var = 0;
        vmath::moments(xr, N, rms, mean, var);
        const float m = (float)mean, inv = (float)(1.0 / std::sqrt(var + eps));
        const float *s = scale.f32, *b = bias.f32;
        const bool sRow = scale.mode == Affine::Row, bRow = bias.mode == Affine::Row;
        if ((!s || sRow) && (!b || bRow)) { // per-element (or no) scale and bias
          vmath::normalize(xr, yr, N, m, inv, s, b);
          continue;
        }
        for (int64_t j = 0; j < N; ++j) {
          float v = (xr[j] - m) * inv;
          if (s)
            v *= s[sRow ? j : 0];
          if (b)
            v += b[bRow ? j : 0];
          yr[j] = v;
        }
      }
    });
    return Status();
  }

  withDoubleLoader(in, [&](auto ld) {
    parallel(ctx, rows, grainFor(N * 3), [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) {
        const int64_t base = row * N;
        double mean = 0, var = 0;
        if (rms) {
          for (int64_t j = 0; j < N; ++j) {
            double v = ld(base + j);
            var += v * v;
          }
          var /= (double)N;
        } else {
          for (int64_t j = 0; j < N; ++j)
            mean += ld(base + j);
          mean /= (double)N;
          for (int64_t j = 0; j < N; ++j) {
            double d = ld(base + j) - mean;
            var += d * d;
          }
          var /= (double)N;
        }
        const double inv = 1.0 / std::sqrt(var + eps);
        for (int64_t j = 0; j < N; ++j) {
          double v = (ld(base + j) - mean) * inv;
          if (scale.mode != Affine::None)
            v *= scale.value(base + j, j);
          if (bias.mode != Affine::None)
            v += bias.value(base + j, j);
          storeFloatResult(out, base + j, v);
        }
      }
    });
  });
  return Status();
}

//===----------------------------------------------------------------------===//
// ds.cumsum
//===----------------------------------------------------------------------===//

/// Scans [outer, R, inner] along R with accumulator type C.
template <class C, class Ld, class St>
void cumulativeRun(KernelContext &ctx, int64_t outer, int64_t R, int64_t inner, bool exclusive,
                   bool reverse, bool product, const Ld &ld, const St &st) {
  const int64_t nb = (inner + kBlock - 1) / kBlock;
  parallel(ctx, outer * nb, grainFor(R * std::min(inner, kBlock)), [&](int64_t begin, int64_t end) {
    C acc[kBlock];
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / nb, i0 = (t % nb) * kBlock;
      const int64_t len = std::min(kBlock, inner - i0);
      for (int64_t j = 0; j < len; ++j)
        acc[j] = product ? (C)1 : (C)0;
      for (int64_t step = 0; step < R; ++step) {
        const int64_t r = reverse ? R - 1 - step : step;
        const int64_t base = (o * R + r) * inner + i0;
        for (int64_t j = 0; j < len; ++j) {
          C x = ld(base + j);
          C before = acc[j];
          if constexpr (std::is_integral_v<C>)
            acc[j] =
                product ? (C)((uint64_t)acc[j] * (uint64_t)x) : (C)((uint64_t)acc[j] + (uint64_t)x);
          else
            acc[j] = product ? acc[j] * x : acc[j] + x;
          st(base + j, exclusive ? before : acc[j]);
        }
      }
    }
  });
}

Status cumsumKernel(KernelContext &ctx, const Attributes &attrs,
                    const std::vector<const Tensor *> &inputs,
                    const std::vector<Tensor *> &outputs) {
  const char *op = "ds.cumsum";
  if (Status s = checkOperands(op, inputs, 1, outputs, 1, /*checkOptional=*/true); !s.ok())
    return s;
  const Tensor &in = *inputs[0];
  Tensor &out = *outputs[0];
  if (isFloat8(in.dtype) || in.dtype == DS_BOOL)
    return Status::error(std::string("ds.cumsum: unsupported dtype ") + dtypeName(in.dtype));
  if (out.dtype != in.dtype || out.numel() != in.numel())
    return Status::error("ds.cumsum: result type differs from the operand's");
  // The axis attribute, or the run-time axis operand when present.
  int64_t requested = attrs.getInt("axis", 0);
  if (inputs.size() > 1 && inputs[1]) {
    const Tensor &axisValue = *inputs[1];
    if (!isIntegerType(axisValue.dtype) || axisValue.numel() != 1)
      return Status::error("ds.cumsum: the axis operand must be a one-element integer tensor");
    requested = loadAsInt(axisValue, 0);
  }
  int64_t axis;
  if (Status s = normalizeAxis(op, requested, in.rank(), axis); !s.ok())
    return s;
  const int64_t outer = product(in.shape, 0, axis), R = in.shape[axis];
  const int64_t inner = product(in.shape, axis + 1, in.shape.size());
  if (in.numel() == 0)
    return Status();
  const bool exclusive = attrs.getInt("exclusive", 0) != 0;
  const bool reverse = attrs.getInt("reverse", 0) != 0;
  const bool prod = attrs.has("product") && attrs.getInt("product", 1) != 0;
  if (in.dtype == DS_F32) {
    const float *x = in.as<float>();
    float *y = out.as<float>();
    cumulativeRun<double>(
        ctx, outer, R, inner, exclusive, reverse, prod, [x](int64_t i) { return (double)x[i]; },
        [y](int64_t i, double v) { y[i] = (float)v; });
  } else if (in.dtype == DS_I64) {
    const int64_t *x = in.as<int64_t>();
    int64_t *y = out.as<int64_t>();
    cumulativeRun<int64_t>(
        ctx, outer, R, inner, exclusive, reverse, prod, [x](int64_t i) { return x[i]; },
        [y](int64_t i, int64_t v) { y[i] = v; });
  } else if (isComputeFloat(in.dtype)) {
    cumulativeRun<double>(
        ctx, outer, R, inner, exclusive, reverse, prod,
        [&in](int64_t i) { return loadAsDouble(in, i); },
        [&out](int64_t i, double v) { storeDouble(out, i, v); });
  } else {
    cumulativeRun<int64_t>(
        ctx, outer, R, inner, exclusive, reverse, prod,
        [&in](int64_t i) { return loadAsInt(in, i); },
        [&out](int64_t i, int64_t v) { storeInt(out, i, v); });
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// ds.topk
//===----------------------------------------------------------------------===//

template <class C, class Ld>
void topkRun(KernelContext &ctx, int64_t outer, int64_t R, int64_t inner, int64_t k, bool largest,
             const Ld &ld, const Tensor &in, Tensor &values, Tensor &indices) {
  const size_t eb = dtypeSize(in.dtype);
  const uint8_t *src = static_cast<const uint8_t *>(in.data);
  uint8_t *dst = static_cast<uint8_t *>(values.data);
  // Strict weak order: NaN above every number; equal keys by index.
  auto before = [largest](const std::pair<C, int64_t> &a, const std::pair<C, int64_t> &b) {
    if constexpr (std::is_floating_point_v<C>) {
      const bool an = a.first != a.first, bn = b.first != b.first;
      if (an || bn) {
        if (an && bn)
          return a.second < b.second;
        return largest ? an : bn;
      }
    }
    if (a.first != b.first)
      return largest ? a.first > b.first : a.first < b.first;
    return a.second < b.second;
  };
  parallel(ctx, outer * inner, grainFor(R * 8), [&](int64_t begin, int64_t end) {
    std::vector<std::pair<C, int64_t>> items((size_t)R);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / inner, i = t % inner;
      for (int64_t r = 0; r < R; ++r)
        items[(size_t)r] = {ld((o * R + r) * inner + i), r};
      std::partial_sort(items.begin(), items.begin() + k, items.end(), before);
      for (int64_t j = 0; j < k; ++j) {
        const int64_t from = (o * R + items[(size_t)j].second) * inner + i;
        const int64_t to = (o * k + j) * inner + i;
        std::memcpy(dst + (size_t)to * eb, src + (size_t)from * eb, eb);
        if (indices.dtype == DS_I64)
          indices.as<int64_t>()[to] = items[(size_t)j].second;
        else
          storeInt(indices, to, items[(size_t)j].second);
      }
    }
  });
}

Status topkKernel(KernelContext &ctx, const Attributes &attrs,
                  const std::vector<const Tensor *> &inputs, const std::vector<Tensor *> &outputs) {
  const char *op = "ds.topk";
  if (Status s = checkOperands(op, inputs, 2, outputs, 2, /*checkOptional=*/true); !s.ok())
    return s;
  const Tensor &in = *inputs[0], &kt = *inputs[1];
  Tensor &values = *outputs[0], &indices = *outputs[1];
  if (isFloat8(in.dtype))
    return Status::error(std::string("ds.topk: unsupported dtype ") + dtypeName(in.dtype));
  if (kt.numel() != 1 || !isIntegerOrBool(kt.dtype))
    return Status::error("ds.topk: k must be a one-element integer tensor");
  if (values.dtype != in.dtype)
    return Status::error("ds.topk: values dtype differs from the operand's");
  if (!isIntegerType(indices.dtype))
    return Status::error(std::string("ds.topk: indices must be integers, got ") +
                         dtypeName(indices.dtype));
  int64_t axis;
  if (Status s = normalizeAxis(op, attrs.getInt("axis", -1), in.rank(), axis); !s.ok())
    return s;
  const int64_t k = loadAsInt(kt, 0);
  const int64_t R = in.shape[axis];
  if (k < 0 || k > R)
    return Status::error("ds.topk: k = " + std::to_string(k) + " is outside [0, " +
                         std::to_string(R) + "]");
  std::vector<int64_t> expected = in.shape;
  expected[axis] = k;
  if (values.shape != expected || indices.shape != expected)
    return Status::error("ds.topk: result shape " + shapeText(values.shape, "x") + " / " +
                         shapeText(indices.shape, "x") + " does not match " +
                         shapeText(expected, "x"));
  const int64_t outer = product(in.shape, 0, axis);
  const int64_t inner = product(in.shape, axis + 1, in.shape.size());
  if (values.numel() == 0)
    return Status();
  const bool largest = attrs.getInt("largest", 1) != 0;
  if (isComputeFloat(in.dtype)) {
    withDoubleLoader(in, [&](auto ld) {
      topkRun<double>(ctx, outer, R, inner, k, largest, ld, in, values, indices);
    });
  } else {
    withIntLoader(in, [&](auto ld) {
      using C = decltype(ld(0));
      topkRun<C>(ctx, outer, R, inner, k, largest, ld, in, values, indices);
    });
  }
  return Status();
}

} // namespace

void registerReductionKernels(KernelTable &table) {
  table["ds.reduce"] = CpuOp(reduceKernel, reduceShape);
  table["ds.dynamic_reduce"] = CpuOp(reduceKernel, reduceShape, operandMask({1}));
  table["ds.arg_reduce"] = CpuOp(argReduceKernel, argReduceShape);
  table["ds.softmax"] = CpuOp(softmaxKernel, softmaxShape);
  table["ds.norm"] = CpuOp(normKernel, normShape);
  table["ds.cumsum"] = CpuOp(cumsumKernel, cumsumShape);
  table["ds.topk"] = CpuOp(topkKernel, topkShape, operandMask({1}));
}

} // namespace dsrt::cpu
