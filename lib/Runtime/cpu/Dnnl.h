//===- Dnnl.h - low-precision GEMM through oneDNN, loaded at run time -*- C++ -*-===//
//
// oneDNN's BLAS-like entry points (row-major dnnl_gemm_*) run bf16 GEMMs on
// AVX512-BF16 / AMX where plain BLAS has none. Like OpenBLAS (cpu/Blas.h) the
// library is opened with dlopen on first use, so the runtime builds and runs
// without it (bf16 matmuls then convert to f32 and take the f32 GEMM). Each
// call runs single-threaded on the calling thread: callers split large GEMMs
// over the session's pool, so only one set of threads competes for the cores.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_DNNL_H
#define DS_RUNTIME_CPU_DNNL_H

#include <cstdint>

namespace dsrt::cpu::dnnl {

/// True when oneDNN (libdnnl.so.2 or .3) was found with its bf16 GEMM.
bool available();

/// Row-major C = alpha op(A) op(B) + beta C with bf16 A and B (raw bits) and
/// f32 C, accumulated in f32. Only call when available(). False when oneDNN
/// reports an error (the caller then takes its own path).
bool gemmBf16(bool transA, bool transB, int64_t m, int64_t n, int64_t k, float alpha,
              const uint16_t *a, int64_t lda, const uint16_t *b, int64_t ldb, float beta,
              float *c, int64_t ldc);

/// True when oneDNN has its int8 GEMMs and this CPU multiplies bytes with
/// exact 32-bit sums (AVX512-VNNI or AVX-VNNI); without VNNI oneDNN's u8 x s8
/// kernels may saturate 16-bit intermediates, so callers take exact loops.
bool int8Available();

/// Row-major C = (A - ao)(B - bo) in i32, exact, with A u8 (or s8 when
/// `aSigned`) and B s8, neither transposed. Only call when int8Available().
bool gemmS32(bool aSigned, int64_t m, int64_t n, int64_t k, const void *a, int64_t lda, int ao,
             const int8_t *b, int64_t ldb, int8_t bo, int32_t *c, int64_t ldc);

/// "oneDNN" or "absent", for reports.
const char *describe();

} // namespace dsrt::cpu::dnnl

#endif // DS_RUNTIME_CPU_DNNL_H
