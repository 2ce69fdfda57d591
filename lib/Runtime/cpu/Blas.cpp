//===- Blas.cpp - GEMM through OpenBLAS, loaded at run time ---------------===//
#include "cpu/Blas.h"

#include <cstdlib>
#include <dlfcn.h>
#include <string>

namespace dsrt::cpu::blas {
namespace {
// The CBLAS enum values are fixed by the CBLAS standard.
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
using SgemmFn = void (*)(int, int, int, int, int, int, float, const float *, int, const float *,
                         int, float, float *, int);
using DgemmFn = void (*)(int, int, int, int, int, int, double, const double *, int,
                         const double *, int, double, double *, int);
using SetThreadsFn = void (*)(int);
using CoreNameFn = char *(*)();

struct Library {
  SgemmFn sgemm = nullptr;
  DgemmFn dgemm = nullptr;
  SetThreadsFn setThreads = nullptr;
  std::string description = "portable loops";
};

/// OpenBLAS's name for the best kernel family this CPU supports.
const char *coreTypeForThisCpu() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return "Haswell";
#endif
  return nullptr;
}

Library &library() {
  static Library lib = [] {
    Library l;
    if (!std::getenv("OPENBLAS_CORETYPE"))
      if (const char *core = coreTypeForThisCpu())
        setenv("OPENBLAS_CORETYPE", core, 0);
    void *handle = nullptr;
    for (const char *name : {"libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0"})
      if ((handle = dlopen(name, RTLD_NOW | RTLD_LOCAL)))
        break;
    if (!handle)
      return l;
    l.sgemm = (SgemmFn)dlsym(handle, "cblas_sgemm");
    l.dgemm = (DgemmFn)dlsym(handle, "cblas_dgemm");
    l.setThreads = (SetThreadsFn)dlsym(handle, "openblas_set_num_threads");
    if (!l.sgemm || !l.dgemm) {
      l.sgemm = nullptr;
      l.dgemm = nullptr;
      return l;
    }
    if (l.setThreads)
      l.setThreads(1);
    auto coreName = (CoreNameFn)dlsym(handle, "openblas_get_corename");
    l.description = std::string("OpenBLAS ") + (coreName ? coreName() : "");
    return l;
  }();
  return lib;
}

} // namespace

bool available() {
  Library &l = library();
  return l.sgemm != nullptr;
}

void sgemm(bool transA, bool transB, int m, int n, int k, float alpha, const float *a, int lda,
           const float *b, int ldb, float beta, float *c, int ldc) {
  library().sgemm(kRowMajor, transA ? kTrans : kNoTrans, transB ? kTrans : kNoTrans, m, n, k,
                  alpha, a, lda, b, ldb, beta, c, ldc);
}

void dgemm(bool transA, bool transB, int m, int n, int k, double alpha, const double *a, int lda,
           const double *b, int ldb, double beta, double *c, int ldc) {
  library().dgemm(kRowMajor, transA ? kTrans : kNoTrans, transB ? kTrans : kNoTrans, m, n, k,
                  alpha, a, lda, b, ldb, beta, c, ldc);
}

const char *describe() { return library().description.c_str(); }

} // namespace dsrt::cpu::blas
