//===- IntegerPackedGemm.h - 8-bit GEMM on VNNI, constant weights packed -*- C++ -*-===//
#ifndef DS_RUNTIME_CPU_INTEGERPACKEDGEMM_H
#define DS_RUNTIME_CPU_INTEGERPACKEDGEMM_H

#include "cpu/KernelUtils.h"
#include "cpu/StoreEpilogue.h"

#include <cstdint>
#include <memory>

namespace dsrt::cpu {

/// A K x N s8 constant (ds.matmul_integer's weights) packed for vpdpbusd:
/// panels of kColumns columns; in a panel, for each step k4 (rows 4 k4 ..
/// 4 k4 + 3) kColumns 32-bit words, word j holding the four rows' bytes of
/// column j (rows past K and columns past N: 0). colSums[j] is the sum of
/// column j, which takes the lhs's zero point out: sum (a - za) b =
/// sum a b - za sum b.
struct PackedInt8Matrix {
  static constexpr int64_t kColumns = 64;
  int64_t K = 0, N = 0;
  std::unique_ptr<int32_t[]> words;
  std::unique_ptr<int32_t[]> colSums; ///< panels() * kColumns, 0 past N
  int64_t steps() const { return (K + 3) / 4; }
  int64_t panels() const { return (N + kColumns - 1) / kColumns; }
  const int32_t *panel(int64_t p) const { return words.get() + p * steps() * kColumns; }
};

/// Whether this CPU has what the int8 kernels (this GEMM and
/// cpu/IntegerDirectConv.h) are written with: AVX-512 F / BW / VL and VNNI.
bool integerVnniKernelsAvailable();

/// Packs the K x N row-major s8 matrix at `b`; false when out of memory.
bool packInt8Matrix(const int8_t *b, int64_t K, int64_t N, PackedInt8Matrix &out);

/// C = (A - za) B in i32, exact (wrapping like ONNX MatMulInteger's sums),
/// for M x K row-major A of u8 or s8 (`aSigned`) bytes with row stride lda
/// and C with row stride ldc: 6 x 64 tiles, one vpdpbusd per four k,
/// the lhs's four bytes broadcast and the packed weights' words read in
/// order. Parallel through ctx unless `nested` (inside a parallel region).
///
/// With an `epilogue` (channels last, `channels` N), C is not written: each
/// tile's rows go through it as sums of rows `firstRow` + r.
void integerPackedGemm(KernelContext &ctx, bool nested, const PackedInt8Matrix &B, const void *A,
                       bool aSigned, int za, int64_t M, int64_t lda, int32_t *C, int64_t ldc,
                       const StoreEpilogue *epilogue = nullptr, int64_t firstRow = 0);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_INTEGERPACKEDGEMM_H
