//===- Blas.h - GEMM through OpenBLAS, loaded at run time -------*- C++ -*-===//
//
// OpenBLAS is opened with dlopen on first use, so the runtime builds and runs
// where it is absent (GEMM then falls back to portable loops). Before opening
// it we pick its kernel family from the CPU's features when the user has not:
// OpenBLAS identifies CPUs by model number and falls back to its slowest
// (Prescott) kernels on CPUs it does not know, e.g. virtualized Xeons.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_BLAS_H
#define DS_RUNTIME_CPU_BLAS_H

#include <cstdint>

namespace dsrt::cpu::blas {

/// True when OpenBLAS was found. It runs single-threaded: callers split
/// large GEMMs over the session's own pool.
bool available();

/// Row-major C = alpha op(A) op(B) + beta C. Only call when available().
void sgemm(bool transA, bool transB, int m, int n, int k, float alpha, const float *a, int lda,
           const float *b, int ldb, float beta, float *c, int ldc);
void dgemm(bool transA, bool transB, int m, int n, int k, double alpha, const double *a, int lda,
           const double *b, int ldb, double beta, double *c, int ldc);

/// "OpenBLAS <core>" or "portable loops", for reports.
const char *describe();

} // namespace dsrt::cpu::blas

#endif // DS_RUNTIME_CPU_BLAS_H
