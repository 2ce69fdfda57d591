//===- Dnnl.cpp - low-precision GEMM through oneDNN, loaded at run time ---===//
#include "cpu/Dnnl.h"

#include <dlfcn.h>
#include <initializer_list>

namespace dsrt::cpu::dnnl {
namespace {
// dnnl_status_t is an int enum whose success value is 0; dnnl_dim_t is
// int64_t; bf16 is passed as its 16 raw bits (dnnl_types.h, stable since 1.0).
using GemmBf16Fn = int (*)(char, char, int64_t, int64_t, int64_t, float, const uint16_t *,
                           int64_t, const uint16_t *, int64_t, float, float *, int64_t);
using GetIntFn = int (*)();
using SetIntFn = void (*)(int);

struct Library {
  GemmBf16Fn gemmBf16 = nullptr;
  // The OpenMP runtime oneDNN threads with (Debian builds it with libgomp):
  // a call made with one OpenMP thread runs on the calling thread only.
  GetIntFn ompGetMaxThreads = nullptr;
  SetIntFn ompSetNumThreads = nullptr;
};

Library &library() {
  static Library lib = [] {
    Library l;
    void *handle = nullptr;
    for (const char *name : {"libdnnl.so.3", "libdnnl.so.2"})
      if ((handle = dlopen(name, RTLD_NOW | RTLD_LOCAL)))
        break;
    if (!handle)
      return l;
    l.gemmBf16 = (GemmBf16Fn)dlsym(handle, "dnnl_gemm_bf16bf16f32");
    // The OpenMP runtime oneDNN loaded, if it uses one (already in the
    // process, so RTLD_NOLOAD finds it without loading anything).
    for (const char *name : {"libgomp.so.1", "libiomp5.so", "libomp.so.5", "libomp.so"})
      if (void *omp = dlopen(name, RTLD_NOW | RTLD_NOLOAD)) {
        l.ompGetMaxThreads = (GetIntFn)dlsym(omp, "omp_get_max_threads");
        l.ompSetNumThreads = (SetIntFn)dlsym(omp, "omp_set_num_threads");
        break;
      }
    if (!l.ompGetMaxThreads || !l.ompSetNumThreads)
      l.ompGetMaxThreads = nullptr, l.ompSetNumThreads = nullptr;
    return l;
  }();
  return lib;
}

/// Runs `call` with one OpenMP thread on this thread, restoring the caller's
/// setting after (the user's own OpenMP code on this thread is not touched).
template <typename F> auto singleThreaded(F call) {
  Library &l = library();
  if (!l.ompSetNumThreads)
    return call();
  int before = l.ompGetMaxThreads();
  if (before != 1)
    l.ompSetNumThreads(1);
  auto result = call();
  if (before != 1)
    l.ompSetNumThreads(before);
  return result;
}

} // namespace

bool available() { return library().gemmBf16 != nullptr; }

bool gemmBf16(bool transA, bool transB, int64_t m, int64_t n, int64_t k, float alpha,
              const uint16_t *a, int64_t lda, const uint16_t *b, int64_t ldb, float beta,
              float *c, int64_t ldc) {
  return singleThreaded([&] {
    return library().gemmBf16(transA ? 'T' : 'N', transB ? 'T' : 'N', m, n, k, alpha, a, lda, b,
                              ldb, beta, c, ldc) == 0;
  });
}

const char *describe() { return available() ? "oneDNN" : "absent"; }

} // namespace dsrt::cpu::dnnl
