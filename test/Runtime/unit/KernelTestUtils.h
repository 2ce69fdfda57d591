//===- KernelTestUtils.h - harness shared by the CPU kernel tests -*- C++ -*-===//
//
// Tensors that own their storage, attribute makers, and `run`, which calls a
// CPU kernel directly on a serial or chunked KernelContext. Header-only: the
// test files are linked into one binary, so everything here is inline (or a
// template) in namespace dsrt::test and means the same in every file.
//
//===----------------------------------------------------------------------===//
#ifndef DS_TEST_RUNTIME_UNIT_KERNELTESTUTILS_H
#define DS_TEST_RUNTIME_UNIT_KERNELTESTUTILS_H

#include "core/Tensor.h"
#include "cpu/KernelUtils.h"
#include "cpu/Kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <random>
#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace dsrt::test {

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

/// A tensor with its own zeroed, 8-byte aligned storage.
struct Buf {
  Tensor t;
  std::vector<uint64_t> storage;
  Buf(DType dt, std::vector<int64_t> shape) {
    t.dtype = dt;
    t.shape = std::move(shape);
    storage.assign((size_t)(t.numel() * (int64_t)dtypeSize(dt)) / 8 + 1, 0);
    t.data = storage.data();
  }
  template <class T> T at(int64_t i) const { return static_cast<const T *>(t.data)[i]; }
  template <class T> std::vector<T> values() const {
    const T *p = static_cast<const T *>(t.data);
    return std::vector<T>(p, p + t.numel());
  }
};

/// A tensor holding `v`, whose C++ type must match `dt` element for element.
template <class T> Buf make(DType dt, std::vector<int64_t> shape, const std::vector<T> &v) {
  Buf b(dt, std::move(shape));
  EXPECT_EQ((int64_t)v.size(), b.t.numel());
  EXPECT_EQ(sizeof(T), dtypeSize(dt));
  std::memcpy(b.t.data, v.data(), v.size() * sizeof(T));
  return b;
}
inline Buf f32(std::vector<int64_t> shape, const std::vector<float> &v) {
  return make(DS_F32, std::move(shape), v);
}
inline Buf i64(std::vector<int64_t> shape, const std::vector<int64_t> &v) {
  return make(DS_I64, std::move(shape), v);
}
inline Buf i32(std::vector<int64_t> shape, const std::vector<int32_t> &v) {
  return make(DS_I32, std::move(shape), v);
}
inline Buf boolean(std::vector<int64_t> shape, const std::vector<uint8_t> &v) {
  return make(DS_BOOL, std::move(shape), v);
}
/// An f16 tensor of `v` rounded to half precision.
inline Buf f16(std::vector<int64_t> shape, const std::vector<float> &v) {
  std::vector<uint16_t> h;
  for (float x : v)
    h.push_back(cpu::floatToHalf(x));
  return make(DS_F16, std::move(shape), h);
}
inline std::vector<float> f16Values(const Buf &b) {
  std::vector<float> out;
  for (uint16_t h : b.values<uint16_t>())
    out.push_back(cpu::halfToFloat(h));
  return out;
}

/// Owns the tensors a test builds and hands out stable pointers to them.
class Tensors {
public:
  /// A tensor holding `values`, or zeros when `values` is empty.
  template <typename T>
  Tensor *make(DType dtype, std::vector<int64_t> shape, const std::vector<T> &values) {
    Tensor &t = bufs_.emplace_back(dtype, std::move(shape)).t;
    if (!values.empty()) {
      EXPECT_EQ(values.size() * sizeof(T), t.bytes());
      std::memcpy(t.data, values.data(), std::min(values.size() * sizeof(T), t.bytes()));
    }
    return &t;
  }
  Tensor *f32(std::vector<int64_t> shape, const std::vector<float> &v) {
    return make<float>(DS_F32, std::move(shape), v);
  }
  Tensor *i64(std::vector<int64_t> shape, const std::vector<int64_t> &v) {
    return make<int64_t>(DS_I64, std::move(shape), v);
  }
  Tensor *empty(DType dtype, std::vector<int64_t> shape) {
    return make<uint8_t>(dtype, std::move(shape), {});
  }

private:
  std::deque<Buf> bufs_; // a deque never moves its elements
};

template <typename T> std::vector<T> values(const Tensor *t) {
  return std::vector<T>(t->as<T>(), t->as<T>() + t->numel());
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

inline Attribute intAttr(int64_t v) {
  Attribute a;
  a.kind = Attribute::Int;
  a.i = v;
  return a;
}
inline Attribute floatAttr(double v) {
  Attribute a;
  a.kind = Attribute::Float;
  a.f = v;
  return a;
}
inline Attribute intsAttr(std::vector<int64_t> v) {
  Attribute a;
  a.kind = Attribute::Ints;
  a.ints = std::move(v);
  return a;
}
inline Attribute strAttr(std::string v) {
  Attribute a;
  a.kind = Attribute::String;
  a.s = std::move(v);
  return a;
}
inline Attributes attrs(std::initializer_list<std::pair<std::string, Attribute>> list) {
  Attributes a;
  for (auto &e : list)
    a.set(e.first, e.second);
  return a;
}

//===----------------------------------------------------------------------===//
// Running kernels
//===----------------------------------------------------------------------===//

/// Whether `registerKernels` (one kernel file's registration) adds `op`.
inline bool registers(void (*registerKernels)(cpu::KernelTable &), const std::string &op) {
  cpu::KernelTable table;
  registerKernels(table);
  return table.count(op) != 0;
}

/// n floats uniform in [-1, 1), from `seed`.
inline std::vector<float> randomFloats(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(gen);
  return v;
}

/// n bytes uniform over 0..255, from `seed`.
inline std::vector<uint8_t> randomBytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> dist(0, 255);
  std::vector<uint8_t> v(n);
  for (uint8_t &b : v)
    b = (uint8_t)dist(gen);
  return v;
}

/// Runs every loop in one piece on the calling thread.
inline KernelContext serialContext() {
  KernelContext ctx;
  ctx.parallelFor = [](int64_t n, int64_t, const std::function<void(int64_t, int64_t)> &body) {
    body(0, n);
  };
  return ctx;
}

/// Hands every loop out in pieces of `chunk` (serially; chunk <= 0: in one
/// piece), which exercises tasks that start mid-row. Claims 4 threads so that
/// kernels sizing their work by thread count split it as well.
inline KernelContext chunkedContext(int64_t chunk) {
  KernelContext ctx;
  ctx.parallelFor = [chunk](int64_t n, int64_t, const std::function<void(int64_t, int64_t)> &body) {
    if (chunk <= 0) {
      body(0, n);
      return;
    }
    for (int64_t b = 0; b < n; b += chunk)
      body(b, std::min(n, b + chunk));
  };
  ctx.numThreads = 4;
  return ctx;
}

/// Runs the CPU kernel the runtime finds for `op`.
inline Status run(const std::string &op, const Attributes &attrs, std::vector<const Tensor *> in,
                  std::vector<Tensor *> out, KernelContext ctx = serialContext()) {
  const CpuOp *cpuOp = findCpuOp(op);
  if (!cpuOp || !cpuOp->kernel)
    return Status::error("no kernel for " + op);
  Status s = cpuOp->kernel(ctx, attrs, in, out);
  // Every kernel test is also a test of the op's shape function: where the
  // kernel accepts its results, the shape function must size them the same.
  if (s && cpuOp->shape) {
    std::vector<Shape> shapes(out.size());
    Status inferred = cpuOp->shape(attrs, in, shapes);
    EXPECT_TRUE(inferred.ok()) << op << " shape function: " << inferred.message();
    for (size_t i = 0; inferred && i < out.size(); ++i)
      if (out[i])
        EXPECT_EQ(shapes[i], out[i]->shape) << op << " result " << i;
  }
  return s;
}

/// Expects `got` to match `want` element by element within atol + rtol *
/// |want| (a float reference: the kernels' own element type).
inline void expectNear(const std::vector<float> &got, const std::vector<float> &want,
                       float rtol = 1e-4f, float atol = 1e-5f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], atol + rtol * std::fabs(want[i])) << "at " << i;
}

/// Expects `got` to match `want` within atol + rtol * |want|; NaN and
/// infinities must match exactly. `what` names the case in failures.
inline void expectNear(const std::vector<float> &got, const std::vector<double> &want,
                       const std::string &what, double rtol = 1e-5, double atol = 1e-6) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << what << " [" << i << "]";
      continue;
    }
    if (std::isinf(want[i])) {
      EXPECT_EQ((double)got[i], want[i]) << what << " [" << i << "]";
      continue;
    }
    EXPECT_NEAR(got[i], want[i], atol + rtol * std::fabs(want[i])) << what << " [" << i << "]";
  }
}

} // namespace dsrt::test

#endif // DS_TEST_RUNTIME_UNIT_KERNELTESTUTILS_H
