//===- IntegerPackedGemm.h - 8-bit GEMM on VNNI, constant weights packed -*- C++ -*-===//
#ifndef DS_RUNTIME_CPU_INTEGERPACKEDGEMM_H
#define DS_RUNTIME_CPU_INTEGERPACKEDGEMM_H

#include "cpu/KernelUtils.h"
#include "cpu/StoreEpilogue.h"
#include "cpu/VectorIsa.h"

#include <cstdint>
#include <memory>

namespace dsrt::cpu {

/// A K x N s8 constant (ds.matmul_integer's weights) packed for the
/// 8-bit GEMM: panels of `columns` columns (kColumns for the VNNI build,
/// kAvx2Columns for the AVX2 one: see packInt8Matrix); in a panel, for each
/// step k4 (rows 4 k4 .. 4 k4 + 3) `columns` 32-bit words, word j holding
/// the four rows' bytes of column j (rows past K and columns past N: 0).
/// colSums[j] is the sum of column j, which takes the lhs's zero point out:
/// sum (a - za) b = sum a b - za sum b.
struct PackedInt8Matrix {
  static constexpr int64_t kColumns = 64;    ///< four zmm of words
  static constexpr int64_t kAvx2Columns = 8; ///< two xmm of words
  int64_t K = 0, N = 0, columns = kColumns;
  std::unique_ptr<int32_t[]> words;
  std::unique_ptr<int32_t[]> colSums; ///< panels() * columns, 0 past N
  int64_t steps() const { return (K + 3) / 4; }
  int64_t panels() const { return (N + columns - 1) / columns; }
  const int32_t *panel(int64_t p) const { return words.get() + p * steps() * columns; }
};

/// Whether this CPU has what the int8 kernels (this GEMM's VNNI build and
/// cpu/IntegerDirectConv.h) are written with: AVX-512 F / BW / VL and VNNI.
bool integerVnniKernelsAvailable();

/// The build of integerPackedGemm this CPU runs: Avx512 (the VNNI one, when
/// integerVnniKernelsAvailable()), else Avx2 (AVX2 CPUs without VNNI, on
/// the same packed words: see integerPackedGemm), else None (no packed
/// GEMM: the weights need not be packed).
VectorIsa integerPackedGemmIsa();
/// Whether this CPU runs `isa`'s build of integerPackedGemm.
bool integerPackedGemmRuns(VectorIsa isa);

/// Packs the K x N row-major s8 matrix at `b` for `isa`'s build of
/// integerPackedGemm (panels as wide as its tile, so that a tile reads its
/// words in order); false when out of memory.
bool packInt8Matrix(const int8_t *b, int64_t K, int64_t N, PackedInt8Matrix &out,
                    VectorIsa isa = integerPackedGemmIsa());

/// C = (A - za) B in i32, exact (wrapping like ONNX MatMulInteger's sums),
/// for M x K row-major A of u8 or s8 (`aSigned`) bytes with row stride lda
/// and C with row stride ldc. Parallel through ctx unless `nested` (inside
/// a parallel region). The build B was packed for runs (it must run here):
/// - Avx512: 6 x 64 tiles, one vpdpbusd per four k, the lhs's four bytes
///   broadcast and the packed weights' words read in order.
/// - Avx2 (cpu/IntegerPackedGemmAvx2.cpp): 6 x 8 tiles, the lhs rows less
///   za widened to 16 bits, and each word's four bytes too, as it is read;
///   vpmaddwd sums pairs of k (exact, where vpmaddubsw on the bytes would
///   saturate).
///
/// With an `epilogue` (channels last, `channels` N; the Avx512 build only),
/// C is not written: each tile's rows go through it as sums of rows
/// `firstRow` + r.
void integerPackedGemm(KernelContext &ctx, bool nested, const PackedInt8Matrix &B, const void *A,
                       bool aSigned, int za, int64_t M, int64_t lda, int32_t *C, int64_t ldc,
                       const StoreEpilogue *epilogue = nullptr, int64_t firstRow = 0);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_INTEGERPACKEDGEMM_H
