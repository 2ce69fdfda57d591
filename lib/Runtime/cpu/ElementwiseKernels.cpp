//===- ElementwiseKernels.cpp - CPU kernels of the elementwise ds ops -----===//
//
// ds.binary, ds.compare, ds.select and ds.cast (ds.unary: cpu/UnaryKernels.cpp).
//
// Each kernel has a fast path for the common dtypes (f32 / f64 / i64 / i32 /
// u8 / i8 natively, f16 and bf16 computed in float) and a generic path that
// goes through loadAsInt / storeInt for the remaining integer types, so
// integer math stays exact in 64 bits. Binary-style ops broadcast with numpy
// rules; the broadcast is coalesced into runs along the innermost dim so that
// same-shape and scalar operands loop linearly.
//
//===----------------------------------------------------------------------===//
#include "cpu/ElementAccess.h"
#include "cpu/ElementwiseShapes.h"
#include "cpu/KernelUtils.h"
#include "cpu/Kernels.h"
#include "cpu/Multiversion.h"
#include "cpu/UnaryKinds.h"
#include "cpu/VectorMath.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace dsrt::cpu {
namespace {
using namespace elementwise;


//===----------------------------------------------------------------------===//
// Broadcasting
//===----------------------------------------------------------------------===//

/// The output index space with size-1 dims dropped and adjacent dims merged
/// wherever every operand walks them contiguously (or not at all).
struct Broadcast {
  std::vector<int64_t> dims;                 ///< at least one entry
  std::vector<std::vector<int64_t>> strides; ///< per operand, one per dim
  int64_t numel = 0;
};

/// The calling thread's plan, reused from call to call so that its vectors
/// keep their capacity: a tiny op allocates nothing (allocations were a
/// fifth of a small decoder's run). Kernels never nest on one thread: no
/// kernel calls another, and the fused tiles that call kernels from pool
/// tasks (core/FusedExecution.cpp) are run by the session, not by a kernel.
Broadcast &threadBroadcast() {
  thread_local Broadcast bc;
  return bc;
}

Status makeBroadcast(const char *op, const std::vector<int64_t> &outShape,
                     std::initializer_list<const Tensor *> operands, Broadcast &bc) {
  const size_t rank = outShape.size(), n = operands.size();
  // Each operand's stride for each result dim (0 where it broadcasts).
  thread_local std::vector<int64_t> full;
  full.assign(n * rank, 0);
  size_t k = 0;
  for (const Tensor *t : operands) {
    if (t->shape.size() > rank)
      return Status::error(std::string(op) + ": operand shape " + shapeText(t->shape, "x") +
                           " does not broadcast to result shape " + shapeText(outShape, "x"));
    size_t offset = rank - t->shape.size();
    int64_t stride = 1;
    for (size_t d = t->shape.size(); d-- > 0;) {
      if (t->shape[d] != 1 && t->shape[d] != outShape[d + offset])
        return Status::error(std::string(op) + ": operand shape " + shapeText(t->shape, "x") +
                             " does not broadcast to result shape " + shapeText(outShape, "x"));
      full[k * rank + d + offset] = t->shape[d] == 1 ? 0 : stride;
      stride *= t->shape[d];
    }
    ++k;
  }
  bc.dims.clear();
  bc.strides.resize(n);
  for (std::vector<int64_t> &strides : bc.strides)
    strides.clear();
  bc.numel = 1;
  for (size_t d = 0; d < rank; ++d) {
    bc.numel *= outShape[d];
    if (outShape[d] == 1)
      continue;
    bool merge = !bc.dims.empty();
    for (size_t k = 0; merge && k < n; ++k)
      merge = bc.strides[k].back() == full[k * rank + d] * outShape[d];
    if (merge) {
      bc.dims.back() *= outShape[d];
      for (size_t k = 0; k < n; ++k)
        bc.strides[k].back() = full[k * rank + d];
    } else {
      bc.dims.push_back(outShape[d]);
      for (size_t k = 0; k < n; ++k)
        bc.strides[k].push_back(full[k * rank + d]);
    }
  }
  if (bc.dims.empty()) {
    bc.dims.push_back(1);
    for (size_t k = 0; k < n; ++k)
      bc.strides[k].push_back(0);
  }
  return Status();
}

/// Calls f(outPos, offsets, len, innerStrides) for each run of output
/// elements in [begin, end) that lies along the innermost dim; operand k's
/// element for output outPos + j is offsets[k] + j * innerStrides[k].
template <size_t N, class F> void forRuns(const Broadcast &bc, int64_t begin, int64_t end, F &&f) {
  const int64_t r = (int64_t)bc.dims.size();
  const int64_t inner = bc.dims[r - 1];
  int64_t innerStride[N], base[N] = {};
  for (size_t k = 0; k < N; ++k)
    innerStride[k] = bc.strides[k][r - 1];
  std::vector<int64_t> coord(r > 1 ? r - 1 : 1, 0);
  int64_t row = begin / inner, col = begin % inner;
  for (int64_t d = r - 2; d >= 0; --d) {
    coord[d] = row % bc.dims[d];
    row /= bc.dims[d];
    for (size_t k = 0; k < N; ++k)
      base[k] += coord[d] * bc.strides[k][d];
  }
  int64_t pos = begin;
  while (pos < end) {
    int64_t len = std::min(inner - col, end - pos);
    int64_t off[N];
    for (size_t k = 0; k < N; ++k)
      off[k] = base[k] + col * innerStride[k];
    f(pos, (const int64_t *)off, len, (const int64_t *)innerStride);
    pos += len;
    col = 0;
    if (pos >= end)
      break;
    for (int64_t d = r - 2; d >= 0; --d) {
      ++coord[d];
      for (size_t k = 0; k < N; ++k)
        base[k] += bc.strides[k][d];
      if (coord[d] < bc.dims[d])
        break;
      for (size_t k = 0; k < N; ++k)
        base[k] -= coord[d] * bc.strides[k][d];
      coord[d] = 0;
    }
  }
}


/// Two-operand run over one broadcast segment; the common stride patterns
/// get their own loops so contiguous data vectorizes.
template <class F, class A, class B, class O>
inline void run2(const F &f, const A &a, const B &b, const O &o, int64_t pos, const int64_t *off,
                 int64_t n, const int64_t *st) {
  const int64_t oa = off[0], ob = off[1];
  if (st[0] == 1 && st[1] == 1) {
    for (int64_t i = 0; i < n; ++i)
      o.set(pos + i, f(a.get(oa + i), b.get(ob + i)));
  } else if (st[0] == 0 && st[1] == 1) {
    auto av = a.get(oa);
    for (int64_t i = 0; i < n; ++i)
      o.set(pos + i, f(av, b.get(ob + i)));
  } else if (st[0] == 1 && st[1] == 0) {
    auto bv = b.get(ob);
    for (int64_t i = 0; i < n; ++i)
      o.set(pos + i, f(a.get(oa + i), bv));
  } else if (st[0] == 0 && st[1] == 0) {
    auto v = f(a.get(oa), b.get(ob));
    for (int64_t i = 0; i < n; ++i)
      o.set(pos + i, v);
  } else {
    for (int64_t i = 0; i < n; ++i)
      o.set(pos + i, f(a.get(oa + i * st[0]), b.get(ob + i * st[1])));
  }
}

template <class F, class A, class B, class O>
void broadcast2(KernelContext &ctx, const Broadcast &bc, int64_t grain, const F &f, const A &a,
                const B &b, const O &o) {
  parallel(ctx, bc.numel, grain, [&](int64_t begin, int64_t end) {
    forRuns<2>(bc, begin, end, [&](int64_t pos, const int64_t *off, int64_t n, const int64_t *st) {
      run2(f, a, b, o, pos, off, n, st);
    });
  });
}

//===----------------------------------------------------------------------===//
// Float-to-integer conversion without undefined behaviour
//===----------------------------------------------------------------------===//

/// Truncates toward zero and wraps into D; NaN and values outside the int64
/// range give INT64_MIN wrapped (what x86 conversions produce).
template <class D> inline D floatToInt(double v) {
  if constexpr (std::is_same_v<D, uint64_t>) {
    if (v >= 9223372036854775808.0 && v < 18446744073709551616.0)
      return (uint64_t)v;
  }
  int64_t i = (v >= -9223372036854775808.0 && v < 9223372036854775808.0)
                  ? (int64_t)v
                  : std::numeric_limits<int64_t>::min();
  return (D)i;
}

//===----------------------------------------------------------------------===//
// ds.binary / ds.compare
//===----------------------------------------------------------------------===//

enum class BK {
  Add,
  Sub,
  Mul,
  Div,
  Pow,
  Min,
  Max,
  Mod,
  Fmod,
  And,
  Or,
  Xor,
  BitAnd,
  BitOr,
  BitXor,
  Shl,
  Shr,
  Unknown
};

BK parseBinary(const std::string &s) {
  static const std::pair<const char *, BK> table[] = {{"add", BK::Add},
                                                      {"sub", BK::Sub},
                                                      {"mul", BK::Mul},
                                                      {"div", BK::Div},
                                                      {"pow", BK::Pow},
                                                      {"min", BK::Min},
                                                      {"max", BK::Max},
                                                      {"mod", BK::Mod},
                                                      {"fmod", BK::Fmod},
                                                      {"and", BK::And},
                                                      {"or", BK::Or},
                                                      {"xor", BK::Xor},
                                                      {"logical_and", BK::And},
                                                      {"logical_or", BK::Or},
                                                      {"logical_xor", BK::Xor},
                                                      {"bitwise_and", BK::BitAnd},
                                                      {"bitwise_or", BK::BitOr},
                                                      {"bitwise_xor", BK::BitXor},
                                                      {"shift_left", BK::Shl},
                                                      {"shift_right", BK::Shr}};
  for (auto &e : table)
    if (s == e.first)
      return e.second;
  return BK::Unknown;
}

/// Binary function K on compute type C (float, double, int64_t, uint64_t).
/// Integer arithmetic wraps; integer division by zero is excluded beforehand
/// (and yields 0 here rather than trapping).
template <BK K, class C> struct BinFn {
  C operator()(C a, C b) const {
    constexpr bool isInt = std::is_integral_v<C>;
    constexpr bool isSigned = std::is_signed_v<C>;
    if constexpr (K == BK::Add) {
      if constexpr (isInt)
        return (C)((uint64_t)a + (uint64_t)b);
      else
        return a + b;
    } else if constexpr (K == BK::Sub) {
      if constexpr (isInt)
        return (C)((uint64_t)a - (uint64_t)b);
      else
        return a - b;
    } else if constexpr (K == BK::Mul) {
      if constexpr (isInt)
        return (C)((uint64_t)a * (uint64_t)b);
      else
        return a * b;
    } else if constexpr (K == BK::Div) {
      if constexpr (isInt) {
        if (b == 0)
          return 0;
        if constexpr (isSigned)
          if (b == -1)
            return (C)(0 - (uint64_t)a);
        return a / b;
      } else {
        return a / b;
      }
    } else if constexpr (K == BK::Min) {
      if constexpr (!isInt)
        if (a != a || b != b)
          return a + b; // NaN propagates
      return b < a ? b : a;
    } else if constexpr (K == BK::Max) {
      if constexpr (!isInt)
        if (a != a || b != b)
          return a + b;
      return a < b ? b : a;
    } else if constexpr (K == BK::Mod) { // sign of the divisor
      if constexpr (isInt) {
        if (b == 0)
          return 0;
        if constexpr (isSigned) {
          if (b == -1)
            return 0;
          C r = a % b;
          if (r != 0 && ((r < 0) != (b < 0)))
            r += b;
          return r;
        } else {
          return a % b;
        }
      } else {
        C r = std::fmod(a, b);
        if (r != 0 && ((r < 0) != (b < 0)))
          r += b;
        return r;
      }
    } else if constexpr (K == BK::Fmod) { // sign of the dividend
      if constexpr (isInt) {
        if (b == 0)
          return 0;
        if constexpr (isSigned)
          if (b == -1)
            return 0;
        return a % b;
      } else {
        return std::fmod(a, b);
      }
    } else if constexpr (K == BK::BitAnd) {
      return a & b;
    } else if constexpr (K == BK::BitOr) {
      return a | b;
    } else if constexpr (K == BK::BitXor) {
      return a ^ b;
    } else if constexpr (K == BK::Shl) {
      if (b < 0 || b >= 64)
        return 0;
      return (C)((uint64_t)a << b);
    } else if constexpr (K == BK::Shr) {
      if constexpr (isSigned) {
        if (b < 0)
          return 0;
        return a >> (b >= 64 ? 63 : b);
      } else {
        if (b >= 64)
          return 0;
        return a >> b;
      }
    } else {
      static_assert(K == BK::Add, "unhandled binary kind");
      return a;
    }
  }
};

/// The vectorized loop of add, sub, mul and div (cpu/VectorMath.h).
template <BK K> constexpr vmath::Arith arithOf() {
  static_assert(K == BK::Add || K == BK::Sub || K == BK::Mul || K == BK::Div);
  return K == BK::Add ? vmath::Arith::Add
         : K == BK::Sub ? vmath::Arith::Sub
         : K == BK::Mul ? vmath::Arith::Mul
                        : vmath::Arith::Div;
}

template <BK K, class Acc>
void binaryRun(KernelContext &ctx, const Broadcast &bc, const Tensor &l, const Tensor &r,
               Tensor &o) {
  using C = typename Acc::Compute;
  const int64_t grain =
      (K == BK::Pow || K == BK::Mod || K == BK::Fmod) ? kCostlyGrain : kCheapGrain;
  // f32 arithmetic on the vectorized loops (cpu/VectorMath.h); the same
  // IEEE operations, so the same results.
  if constexpr (std::is_same_v<Acc, Native<float, float>> &&
                (K == BK::Add || K == BK::Sub || K == BK::Mul || K == BK::Div)) {
    constexpr vmath::Arith op = arithOf<K>();
    const float *a = l.as<float>(), *b = r.as<float>();
    float *y = o.as<float>();
    parallel(ctx, bc.numel, grain, [&](int64_t begin, int64_t end) {
      forRuns<2>(bc, begin, end,
                 [&](int64_t pos, const int64_t *off, int64_t n, const int64_t *st) {
                   vmath::arith(op, a + off[0], st[0], b + off[1], st[1], y + pos, n);
                 });
    });
    return;
  }
  // f16 / bf16: the same f32 loops on blocks converted in and out: the
  // per-element accessors spent most of a mixed-precision step converting.
  if constexpr ((std::is_same_v<Acc, Half> || std::is_same_v<Acc, BFloat>) &&
                (K == BK::Add || K == BK::Sub || K == BK::Mul || K == BK::Div)) {
    constexpr bool isHalf = std::is_same_v<Acc, Half>;
    constexpr vmath::Arith op = arithOf<K>();
    const uint16_t *a = l.as<uint16_t>(), *b = r.as<uint16_t>();
    uint16_t *y = o.as<uint16_t>();
    parallel(ctx, bc.numel, grain, [&](int64_t begin, int64_t end) {
      constexpr int64_t kBlock = 256;
      float bufA[kBlock], bufB[kBlock], bufY[kBlock];
      auto load = [&](const uint16_t *x, int64_t stride, int64_t n, float *buf) {
        if (stride == 1)
          widenToFloatN(o.dtype, x, buf, n);
        else
          for (int64_t i = 0; i < n; ++i)
            buf[i] = isHalf ? halfToFloat(x[i * stride]) : bf16ToFloat(x[i * stride]);
      };
      forRuns<2>(bc, begin, end,
                 [&](int64_t pos, const int64_t *off, int64_t n, const int64_t *st) {
                   for (int64_t done = 0; done < n; done += kBlock) {
                     int64_t len = std::min(kBlock, n - done);
                     load(a + off[0] + done * st[0], st[0], len, bufA);
                     load(b + off[1] + done * st[1], st[1], len, bufB);
                     vmath::arith(op, bufA, 1, bufB, 1, bufY, len);
                     narrowFromFloatN(o.dtype, bufY, y + pos + done, len);
                   }
                 });
    });
    return;
  }
  broadcast2(ctx, bc, grain, BinFn<K, C>(), Acc(l), Acc(r), Acc(o));
}

/// Integer power with wrap-around; negative exponents give the truncated
/// real result (0 unless the base is 1 or -1).
template <class C> C intPow(C base, int64_t e) {
  if (e < 0) {
    if (base == 1)
      return 1;
    if constexpr (std::is_signed_v<C>)
      if (base == -1)
        return (e & 1) ? (C)-1 : (C)1;
    return 0;
  }
  uint64_t result = 1, b = (uint64_t)base;
  uint64_t ue = (uint64_t)e;
  while (ue) {
    if (ue & 1)
      result *= b;
    b *= b;
    ue >>= 1;
  }
  return (C)result;
}

template <class Acc>
Status powRun(KernelContext &ctx, const Broadcast &bc, const Tensor &l, const Tensor &r,
              Tensor &o) {
  using C = typename Acc::Compute;
  if constexpr (std::is_floating_point_v<C>) {
    // Squares and cubes by a constant exponent (tanh-GELU's x^3) as products:
    // std::pow costs tens of cycles per element.
    if (r.dtype == l.dtype && r.numel() == 1) {
      double e = loadAsDouble(r, 0);
      if (e == 2.0 || e == 3.0) {
        bool cube = e == 3.0;
        broadcast2(
            ctx, bc, kCheapGrain, [cube](C a, C) { return cube ? (C)(a * a * a) : (C)(a * a); },
            Acc(l), Acc(r), Acc(o));
        return Status();
      }
    }
    if (r.dtype == l.dtype) {
      broadcast2(
          ctx, bc, kCostlyGrain, [](C a, C b) { return (C)std::pow(a, b); }, Acc(l), Acc(r),
          Acc(o));
    } else {
      broadcast2(
          ctx, bc, kCostlyGrain, [](C a, double e) { return (C)std::pow((double)a, e); }, Acc(l),
          AnyAsDouble(r), Acc(o));
    }
    return Status();
  } else if constexpr (std::is_integral_v<C> && !std::is_same_v<C, bool>) {
    if (isFloat(r.dtype)) {
      broadcast2(
          ctx, bc, kCostlyGrain,
          [](C a, double e) { return floatToInt<C>(std::pow((double)a, e)); }, Acc(l),
          AnyAsDouble(r), Acc(o));
    } else if (isUnsignedInt(r.dtype)) {
      broadcast2(
          ctx, bc, kCostlyGrain,
          [](C a, uint64_t e) {
            return intPow<C>(a, e > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)e);
          },
          Acc(l), AnyUnsigned(r), Acc(o));
    } else {
      broadcast2(
          ctx, bc, kCostlyGrain, [](C a, int64_t e) { return intPow<C>(a, e); }, Acc(l),
          AnySigned(r), Acc(o));
    }
    return Status();
  } else {
    return Status::error("ds.binary: 'pow' is not defined on i1");
  }
}

Status binaryKernel(KernelContext &ctx, const Attributes &attrs,
                    const std::vector<const Tensor *> &inputs,
                    const std::vector<Tensor *> &outputs) {
  const char *op = "ds.binary";
  if (Status s = checkOperands(op, inputs, 2, outputs, 1); !s.ok())
    return s;
  const Tensor &l = *inputs[0], &r = *inputs[1];
  Tensor &o = *outputs[0];
  std::string kindName = attrs.getString("kind");
  BK k = parseBinary(kindName);
  if (k == BK::Unknown)
    return Status::error("ds.binary: unknown kind '" + kindName + "'");
  const DType dt = l.dtype;
  if (o.dtype != dt)
    return Status::error(std::string("ds.binary: result dtype ") + dtypeName(o.dtype) +
                         " differs from operand dtype " + dtypeName(dt));
  if (k != BK::Pow && r.dtype != dt)
    return Status::error(std::string("ds.binary: operand dtypes differ: ") + dtypeName(dt) +
                         " vs " + dtypeName(r.dtype));
  if (isFloat8(dt) || isFloat8(r.dtype))
    return Status::error(std::string("ds.binary: unsupported dtype ") +
                         dtypeName(isFloat8(dt) ? dt : r.dtype));
  Broadcast &bc = threadBroadcast();
  if (Status s = makeBroadcast(op, o.shape, {&l, &r}, bc); !s.ok())
    return s;
  if (bc.numel == 0)
    return Status();

  const bool isBool = dt == DS_BOOL;
  const bool logical = k == BK::And || k == BK::Or || k == BK::Xor;
  const bool floatDt = isFloat(dt);
  if (logical != isBool)
    return Status::error("ds.binary: '" + kindName + "'" +
                         (logical ? " needs i1 operands, got " : " is not defined on ") +
                         dtypeName(dt));
  if (logical) {
    BoolAcc a(l), b(r), y(o);
    switch (k) {
    case BK::And:
      broadcast2(
          ctx, bc, kCheapGrain, [](bool x, bool z) { return x && z; }, a, b, y);
      break;
    case BK::Or:
      broadcast2(
          ctx, bc, kCheapGrain, [](bool x, bool z) { return x || z; }, a, b, y);
      break;
    default:
      broadcast2(
          ctx, bc, kCheapGrain, [](bool x, bool z) { return x != z; }, a, b, y);
      break;
    }
    return Status();
  }
  const bool bitwise =
      k == BK::BitAnd || k == BK::BitOr || k == BK::BitXor || k == BK::Shl || k == BK::Shr;
  if (bitwise && floatDt)
    return Status::error("ds.binary: '" + kindName + "' needs integer operands, got " +
                         dtypeName(dt));
  if (!floatDt && (k == BK::Div || k == BK::Mod || k == BK::Fmod)) {
    const int64_t rn = r.numel();
    for (int64_t i = 0; i < rn; ++i)
      if (loadAsInt(r, i) == 0)
        return Status::error("ds.binary: integer division by zero in '" + kindName + "'");
  }

  return withAccessor(op, dt, [&](auto tag) -> Status {
    using Acc = typename decltype(tag)::type;
    using C = typename Acc::Compute;
    if constexpr (std::is_same_v<C, bool>) {
      return Status::error("ds.binary: internal dtype mismatch");
    } else {
      switch (k) {
      case BK::Add:
        binaryRun<BK::Add, Acc>(ctx, bc, l, r, o);
        return Status();
      case BK::Sub:
        binaryRun<BK::Sub, Acc>(ctx, bc, l, r, o);
        return Status();
      case BK::Mul:
        binaryRun<BK::Mul, Acc>(ctx, bc, l, r, o);
        return Status();
      case BK::Div:
        binaryRun<BK::Div, Acc>(ctx, bc, l, r, o);
        return Status();
      case BK::Min:
        binaryRun<BK::Min, Acc>(ctx, bc, l, r, o);
        return Status();
      case BK::Max:
        binaryRun<BK::Max, Acc>(ctx, bc, l, r, o);
        return Status();
      case BK::Mod:
        binaryRun<BK::Mod, Acc>(ctx, bc, l, r, o);
        return Status();
      case BK::Fmod:
        binaryRun<BK::Fmod, Acc>(ctx, bc, l, r, o);
        return Status();
      case BK::Pow:
        return powRun<Acc>(ctx, bc, l, r, o);
      default:
        break;
      }
      if constexpr (std::is_integral_v<C>) {
        switch (k) {
        case BK::BitAnd:
          binaryRun<BK::BitAnd, Acc>(ctx, bc, l, r, o);
          return Status();
        case BK::BitOr:
          binaryRun<BK::BitOr, Acc>(ctx, bc, l, r, o);
          return Status();
        case BK::BitXor:
          binaryRun<BK::BitXor, Acc>(ctx, bc, l, r, o);
          return Status();
        case BK::Shl:
          binaryRun<BK::Shl, Acc>(ctx, bc, l, r, o);
          return Status();
        case BK::Shr:
          binaryRun<BK::Shr, Acc>(ctx, bc, l, r, o);
          return Status();
        default:
          break;
        }
      }
      return Status::error("ds.binary: '" + kindName + "' does not support " + dtypeName(dt));
    }
  });
}

enum class CK { Eq, Lt, Le, Gt, Ge, Unknown };

CK parseCompare(const std::string &s) {
  if (s == "eq")
    return CK::Eq;
  if (s == "lt")
    return CK::Lt;
  if (s == "le")
    return CK::Le;
  if (s == "gt")
    return CK::Gt;
  if (s == "ge")
    return CK::Ge;
  return CK::Unknown;
}

Status compareKernel(KernelContext &ctx, const Attributes &attrs,
                     const std::vector<const Tensor *> &inputs,
                     const std::vector<Tensor *> &outputs) {
  const char *op = "ds.compare";
  if (Status s = checkOperands(op, inputs, 2, outputs, 1); !s.ok())
    return s;
  const Tensor &l = *inputs[0], &r = *inputs[1];
  Tensor &o = *outputs[0];
  std::string kindName = attrs.getString("kind");
  CK k = parseCompare(kindName);
  if (k == CK::Unknown)
    return Status::error("ds.compare: unknown kind '" + kindName + "'");
  if (l.dtype != r.dtype)
    return Status::error(std::string("ds.compare: operand dtypes differ: ") + dtypeName(l.dtype) +
                         " vs " + dtypeName(r.dtype));
  if (o.dtype != DS_BOOL)
    return Status::error(std::string("ds.compare: result must be i1, got ") + dtypeName(o.dtype));
  Broadcast &bc = threadBroadcast();
  if (Status s = makeBroadcast(op, o.shape, {&l, &r}, bc); !s.ok())
    return s;
  if (bc.numel == 0)
    return Status();
  BoolAcc y(o);
  if (isFloat8(l.dtype))
    return Status::error(std::string("ds.compare: unsupported dtype ") + dtypeName(l.dtype));
  return withAccessor(op, l.dtype, [&](auto tag) -> Status {
    using Acc = typename decltype(tag)::type;
    using C = typename Acc::Compute;
    Acc a(l), b(r);
    switch (k) {
    case CK::Eq:
      broadcast2(
          ctx, bc, kCheapGrain, [](C x, C z) { return x == z; }, a, b, y);
      break;
    case CK::Lt:
      broadcast2(
          ctx, bc, kCheapGrain, [](C x, C z) { return x < z; }, a, b, y);
      break;
    case CK::Le:
      broadcast2(
          ctx, bc, kCheapGrain, [](C x, C z) { return x <= z; }, a, b, y);
      break;
    case CK::Gt:
      broadcast2(
          ctx, bc, kCheapGrain, [](C x, C z) { return x > z; }, a, b, y);
      break;
    default:
      broadcast2(
          ctx, bc, kCheapGrain, [](C x, C z) { return x >= z; }, a, b, y);
      break;
    }
    return Status();
  });
}

//===----------------------------------------------------------------------===//
// ds.select
//===----------------------------------------------------------------------===//

template <class U>
void selectRun(KernelContext &ctx, const Broadcast &bc, const uint8_t *c, const U *t, const U *f,
               U *y) {
  parallel(ctx, bc.numel, kCheapGrain, [&](int64_t begin, int64_t end) {
    forRuns<3>(bc, begin, end, [&](int64_t pos, const int64_t *off, int64_t n, const int64_t *st) {
      const uint8_t *cc = c + off[0];
      const U *tt = t + off[1], *ff = f + off[2];
      U *yy = y + pos;
      if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
        for (int64_t i = 0; i < n; ++i)
          yy[i] = cc[i] ? tt[i] : ff[i];
      } else {
        for (int64_t i = 0; i < n; ++i)
          yy[i] = cc[i * st[0]] ? tt[i * st[1]] : ff[i * st[2]];
      }
    });
  });
}

Status selectKernel(KernelContext &ctx, const Attributes &,
                    const std::vector<const Tensor *> &inputs,
                    const std::vector<Tensor *> &outputs) {
  const char *op = "ds.select";
  if (Status s = checkOperands(op, inputs, 3, outputs, 1); !s.ok())
    return s;
  const Tensor &c = *inputs[0], &t = *inputs[1], &f = *inputs[2];
  Tensor &o = *outputs[0];
  if (dtypeSize(c.dtype) != 1 || isFloat8(c.dtype))
    return Status::error(std::string("ds.select: condition must be i1, got ") + dtypeName(c.dtype));
  if (t.dtype != o.dtype || f.dtype != o.dtype)
    return Status::error(std::string("ds.select: value dtypes ") + dtypeName(t.dtype) + ", " +
                         dtypeName(f.dtype) + " do not match result dtype " + dtypeName(o.dtype));
  Broadcast &bc = threadBroadcast();
  if (Status s = makeBroadcast(op, o.shape, {&c, &t, &f}, bc); !s.ok())
    return s;
  if (bc.numel == 0)
    return Status();
  const uint8_t *cp = c.as<uint8_t>();
  switch (dtypeSize(o.dtype)) {
  case 8:
    selectRun(ctx, bc, cp, t.as<uint64_t>(), f.as<uint64_t>(), o.as<uint64_t>());
    break;
  case 4:
    selectRun(ctx, bc, cp, t.as<uint32_t>(), f.as<uint32_t>(), o.as<uint32_t>());
    break;
  case 2:
    selectRun(ctx, bc, cp, t.as<uint16_t>(), f.as<uint16_t>(), o.as<uint16_t>());
    break;
  default:
    selectRun(ctx, bc, cp, t.as<uint8_t>(), f.as<uint8_t>(), o.as<uint8_t>());
    break;
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// Float8
//===----------------------------------------------------------------------===//

//===----------------------------------------------------------------------===//
// ds.cast
//===----------------------------------------------------------------------===//

template <class D, class S> inline D convertNative(S v) {
  if constexpr (std::is_floating_point_v<S> && std::is_integral_v<D>)
    return floatToInt<D>((double)v);
  else
    return static_cast<D>(v);
}

template <class S, class D>
void castNativeRun(KernelContext &ctx, const Tensor &in, Tensor &out, bool toBool) {
  const S *x = in.as<S>();
  D *y = out.as<D>();
  parallel(ctx, in.numel(), kCheapGrain, [&](int64_t begin, int64_t end) {
    if (toBool) {
      for (int64_t i = begin; i < end; ++i)
        y[i] = (D)(x[i] != 0);
    } else {
      for (int64_t i = begin; i < end; ++i)
        y[i] = convertNative<D, S>(x[i]);
    }
  });
}

template <class F> bool withNativeType(DType dt, F &&f) {
  switch (dt) {
  case DS_F32:
    f(Tag<float>());
    return true;
  case DS_F64:
    f(Tag<double>());
    return true;
  case DS_I64:
    f(Tag<int64_t>());
    return true;
  case DS_I32:
    f(Tag<int32_t>());
    return true;
  case DS_I16:
    f(Tag<int16_t>());
    return true;
  case DS_I8:
    f(Tag<int8_t>());
    return true;
  case DS_U64:
    f(Tag<uint64_t>());
    return true;
  case DS_U32:
    f(Tag<uint32_t>());
    return true;
  case DS_U16:
    f(Tag<uint16_t>());
    return true;
  case DS_U8:
  case DS_BOOL:
    f(Tag<uint8_t>());
    return true;
  default:
    return false;
  }
}

/// Element i of a float-like tensor as double (float8 decoded).
inline double loadFloatLike(const Tensor &t, int64_t i) {
  if (isFloat8(t.dtype))
    return f8ToFloat(t.as<uint8_t>()[i], t.dtype);
  return loadAsDouble(t, i);
}

Status castKernel(KernelContext &ctx, const Attributes &attrs,
                  const std::vector<const Tensor *> &inputs, const std::vector<Tensor *> &outputs) {
  const char *op = "ds.cast";
  if (Status s = checkOperands(op, inputs, 1, outputs, 1); !s.ok())
    return s;
  const Tensor &in = *inputs[0];
  Tensor &out = *outputs[0];
  if (in.numel() != out.numel())
    return Status::error("ds.cast: result shape " + shapeText(out.shape, "x") +
                         " differs from operand shape " + shapeText(in.shape, "x"));
  const int64_t n = in.numel();
  if (n == 0)
    return Status();
  const DType from = in.dtype, to = out.dtype;
  if (from == to) {
    std::memcpy(out.data, in.data, (size_t)n * dtypeSize(from));
    return Status();
  }
  const bool saturate = attrs.has("saturate") && attrs.getInt("saturate", 1) != 0;

  // The casts mixed precision puts around every low-precision op: f32 to and
  // from bf16 / f16, element by element with the inline conversions.
  if (from == DS_F32 && (to == DS_BF16 || to == DS_F16)) {
    const float *x = in.as<float>();
    uint16_t *y = out.as<uint16_t>();
    parallel(ctx, n, kCheapGrain, [&](int64_t begin, int64_t end) {
      narrowFromFloatN(to, x + begin, y + begin, end - begin);
    });
    return Status();
  }
  if ((from == DS_BF16 || from == DS_F16) && to == DS_F32) {
    const uint16_t *x = in.as<uint16_t>();
    float *y = out.as<float>();
    parallel(ctx, n, kCheapGrain, [&](int64_t begin, int64_t end) {
      widenToFloatN(from, x + begin, y + begin, end - begin);
    });
    return Status();
  }

  // Native C++ types on both sides.
  bool done = false;
  withNativeType(from, [&](auto st) {
    using S = typename decltype(st)::type;
    done = withNativeType(to, [&](auto dtag) {
      using D = typename decltype(dtag)::type;
      castNativeRun<S, D>(ctx, in, out, to == DS_BOOL);
    });
  });
  if (done)
    return Status();

  const bool srcFloat = isFloat(from), srcUnsigned = isUnsignedInt(from);
  parallel(ctx, n, kCostlyGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      if (srcFloat) {
        double v = loadFloatLike(in, i);
        switch (to) {
        case DS_F32:
          out.as<float>()[i] = (float)v;
          break;
        case DS_F64:
          out.as<double>()[i] = v;
          break;
        case DS_F16:
          out.as<uint16_t>()[i] = floatToHalf((float)v);
          break;
        case DS_BF16:
          out.as<uint16_t>()[i] = floatToBf16((float)v);
          break;
        case DS_BOOL:
          out.as<uint8_t>()[i] = v != 0;
          break;
        case DS_F8E4M3FN:
        case DS_F8E5M2:
        case DS_F8E4M3FNUZ:
        case DS_F8E5M2FNUZ:
          out.as<uint8_t>()[i] = floatToF8((float)v, to, saturate);
          break;
        case DS_U64:
          out.as<uint64_t>()[i] = floatToInt<uint64_t>(v);
          break;
        default:
          storeInt(out, i, floatToInt<int64_t>(v));
          break;
        }
      } else {
        int64_t v = loadAsInt(in, i);
        // Single rounding to float: convert from the integer directly.
        float asFloat = srcUnsigned ? (float)(uint64_t)v : (float)v;
        switch (to) {
        case DS_F32:
          out.as<float>()[i] = asFloat;
          break;
        case DS_F64:
          out.as<double>()[i] = srcUnsigned ? (double)(uint64_t)v : (double)v;
          break;
        case DS_F16:
          out.as<uint16_t>()[i] = floatToHalf(asFloat);
          break;
        case DS_BF16:
          out.as<uint16_t>()[i] = floatToBf16(asFloat);
          break;
        case DS_BOOL:
          out.as<uint8_t>()[i] = v != 0;
          break;
        case DS_F8E4M3FN:
        case DS_F8E5M2:
        case DS_F8E4M3FNUZ:
        case DS_F8E5M2FNUZ:
          out.as<uint8_t>()[i] = floatToF8(asFloat, to, saturate);
          break;
        default:
          storeInt(out, i, v);
          break;
        }
      }
    }
  });
  return Status();
}

} // namespace

void registerElementwiseKernels(KernelTable &table) {
  table["ds.unary"] = CpuOp(unaryKernel, unaryShape);
  table["ds.binary"] = CpuOp(binaryKernel, binaryShape);
  table["ds.compare"] = CpuOp(compareKernel, compareShape);
  table["ds.select"] = CpuOp(selectKernel, selectShape);
  table["ds.cast"] = CpuOp(castKernel, castShape);
}

} // namespace dsrt::cpu
