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
using GemmU8Fn = int (*)(char, char, char, int64_t, int64_t, int64_t, float, const uint8_t *,
                         int64_t, uint8_t, const int8_t *, int64_t, int8_t, float, int32_t *,
                         int64_t, const int32_t *);
using GemmS8Fn = int (*)(char, char, char, int64_t, int64_t, int64_t, float, const int8_t *,
                         int64_t, int8_t, const int8_t *, int64_t, int8_t, float, int32_t *,
                         int64_t, const int32_t *);
using GetIntFn = int (*)();
using SetIntFn = void (*)(int);

struct Library {
  GemmBf16Fn gemmBf16 = nullptr;
  GemmU8Fn gemmU8 = nullptr;
  GemmS8Fn gemmS8 = nullptr;
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
    l.gemmU8 = (GemmU8Fn)dlsym(handle, "dnnl_gemm_u8s8s32");
    l.gemmS8 = (GemmS8Fn)dlsym(handle, "dnnl_gemm_s8s8s32");
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

bool int8Available() {
  static const bool vnni = [] {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni") || __builtin_cpu_supports("avxvnni");
#else
    return false;
#endif
  }();
  Library &l = library();
  return vnni && l.gemmU8 && l.gemmS8;
}

bool gemmS32(bool aSigned, int64_t m, int64_t n, int64_t k, const void *a, int64_t lda, int ao,
             const int8_t *b, int64_t ldb, int8_t bo, int32_t *c, int64_t ldc) {
  const int32_t zero = 0;
  return singleThreaded([&] {
    Library &l = library();
    int status = aSigned ? l.gemmS8('N', 'N', 'F', m, n, k, 1.0f, (const int8_t *)a, lda,
                                    (int8_t)ao, b, ldb, bo, 0.0f, c, ldc, &zero)
                         : l.gemmU8('N', 'N', 'F', m, n, k, 1.0f, (const uint8_t *)a, lda,
                                    (uint8_t)ao, b, ldb, bo, 0.0f, c, ldc, &zero);
    return status == 0;
  });
}

const char *describe() { return available() ? "oneDNN" : "absent"; }

} // namespace dsrt::cpu::dnnl
