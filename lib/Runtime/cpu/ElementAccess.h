//===- ElementAccess.h - dtype accessors shared by elementwise kernels ----===//
//
// Element accessors (get(i) in a compute type, set(i, v)) for every dtype but
// float8, the dispatch from a dtype to its accessor, and the task grains of
// the elementwise kernels (cpu/ElementwiseKernels.cpp, cpu/UnaryKernels.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_ELEMENTACCESS_H
#define DS_RUNTIME_CPU_ELEMENTACCESS_H

#include "cpu/KernelUtils.h"

#include <cstdint>
#include <string>

namespace dsrt::cpu::elementwise {

constexpr int64_t kCheapGrain = 32768; // elements per task for cheap ops
constexpr int64_t kCostlyGrain = 4096; // ... for transcendental ops

//===----------------------------------------------------------------------===//
// Element accessors: get(i) -> compute type, set(i, compute type)
//===----------------------------------------------------------------------===//

template <class S, class C> struct Native {
  using Compute = C;
  S *p;
  explicit Native(const Tensor &t) : p(static_cast<S *>(t.data)) {}
  C get(int64_t i) const { return static_cast<C>(p[i]); }
  void set(int64_t i, C v) const { p[i] = static_cast<S>(v); }
};

struct Half {
  using Compute = float;
  uint16_t *p;
  explicit Half(const Tensor &t) : p(static_cast<uint16_t *>(t.data)) {}
  float get(int64_t i) const { return halfToFloat(p[i]); }
  void set(int64_t i, float v) const { p[i] = floatToHalf(v); }
};

struct BFloat {
  using Compute = float;
  uint16_t *p;
  explicit BFloat(const Tensor &t) : p(static_cast<uint16_t *>(t.data)) {}
  float get(int64_t i) const { return bf16ToFloat(p[i]); }
  void set(int64_t i, float v) const { p[i] = floatToBf16(v); }
};

/// Any signed integer dtype (sub-byte included), through int64.
struct AnySigned {
  using Compute = int64_t;
  Tensor *t;
  explicit AnySigned(const Tensor &tensor) : t(const_cast<Tensor *>(&tensor)) {}
  int64_t get(int64_t i) const { return loadAsInt(*t, i); }
  void set(int64_t i, int64_t v) const { storeInt(*t, i, v); }
};

/// Any unsigned integer dtype, through uint64.
struct AnyUnsigned {
  using Compute = uint64_t;
  Tensor *t;
  explicit AnyUnsigned(const Tensor &tensor) : t(const_cast<Tensor *>(&tensor)) {}
  uint64_t get(int64_t i) const { return (uint64_t)loadAsInt(*t, i); }
  void set(int64_t i, uint64_t v) const { storeInt(*t, i, (int64_t)v); }
};

struct BoolAcc {
  using Compute = bool;
  uint8_t *p;
  explicit BoolAcc(const Tensor &t) : p(static_cast<uint8_t *>(t.data)) {}
  bool get(int64_t i) const { return p[i] != 0; }
  void set(int64_t i, bool v) const { p[i] = v ? 1 : 0; }
};

/// Any non-float8 dtype read as double (exponents of pow).
struct AnyAsDouble {
  using Compute = double;
  const Tensor *t;
  explicit AnyAsDouble(const Tensor &tensor) : t(&tensor) {}
  double get(int64_t i) const { return loadAsDouble(*t, i); }
};

template <class T> struct Tag { using type = T; };

/// Calls f(Tag<Accessor>()) for the accessor of `dt`. Float8 is not handled.
template <class F> Status withAccessor(const char *op, DType dt, F &&f) {
  switch (dt) {
  case DS_F32:
    return f(Tag<Native<float, float>>());
  case DS_F64:
    return f(Tag<Native<double, double>>());
  case DS_F16:
    return f(Tag<Half>());
  case DS_BF16:
    return f(Tag<BFloat>());
  case DS_I64:
    return f(Tag<Native<int64_t, int64_t>>());
  case DS_I32:
    return f(Tag<Native<int32_t, int64_t>>());
  case DS_I8:
    return f(Tag<Native<int8_t, int64_t>>());
  case DS_U8:
    return f(Tag<Native<uint8_t, uint64_t>>());
  case DS_I16:
  case DS_I4:
  case DS_I2:
    return f(Tag<AnySigned>());
  case DS_U64:
  case DS_U32:
  case DS_U16:
  case DS_U4:
  case DS_U2:
    return f(Tag<AnyUnsigned>());
  case DS_BOOL:
    return f(Tag<BoolAcc>());
  default:
    break;
  }
  return Status::error(std::string(op) + ": unsupported dtype " + dtypeName(dt));
}

} // namespace dsrt::cpu::elementwise

#endif // DS_RUNTIME_CPU_ELEMENTACCESS_H
