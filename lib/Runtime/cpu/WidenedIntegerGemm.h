//===- WidenedIntegerGemm.h - exact 8-bit GEMM on AVX2 ----------*- C++ -*-===//
//
// The integer GEMM of ds.matmul_integer / ds.conv_integer on CPUs without
// VNNI (AVX2 machines: most laptops and desktops, Zen 2 / 3 servers), where
// oneDNN's int8 GEMM and ds's VNNI kernels do not run. Both operands, less
// their zero points, are widened to 16 bits (an 8-bit value less an 8-bit
// zero point fits) and multiplied in pairs of k by `vpmaddwd`, whose pair
// sums fit in i32: the result is exact, wrapping in i32 as the scalar loops
// it replaces (`vpmaddubsw` on the 8-bit values would be twice as fast, and
// saturates).
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_WIDENEDINTEGERGEMM_H
#define DS_RUNTIME_CPU_WIDENEDINTEGERGEMM_H

#include "core/Tensor.h"

#include <cstdint>

namespace dsrt::cpu {

/// Whether this CPU runs the widened kernels (AVX2).
bool widenedIntegerGemmAvailable();

/// The operands of one C = (A - za)(B - zb).
struct WidenedGemmOperands {
  const void *a = nullptr; ///< M rows of K 8-bit values, row stride lda
  bool aSigned = false;    ///< s8 (else u8)
  int64_t lda = 0;
  const int *za = nullptr;   ///< one zero point per row of A
  const int8_t *b = nullptr; ///< K rows of N s8 values, row stride ldb
  int64_t ldb = 0;
  const int *zb = nullptr; ///< one zero point per column of B, in the s8 domain
  int32_t *c = nullptr;    ///< M rows of N, row stride ldc
  int64_t ldc = 0;
  int64_t M = 0, K = 0, N = 0;
};

/// C = (A - za)(B - zb) in wrapping i32 sums, exactly as scalar loops give
/// them. Tasks take groups of 16 columns: each widens its columns of B into
/// a panel that stays in cache while every row of A (widened once, before
/// the tasks) passes over it. `nested`: already inside a task (runs on the
/// calling thread). Needs widenedIntegerGemmAvailable().
void widenedIntegerGemm(KernelContext &ctx, bool nested, const WidenedGemmOperands &op);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_WIDENEDINTEGERGEMM_H
