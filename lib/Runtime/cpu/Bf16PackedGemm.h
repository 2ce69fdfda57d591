//===- Bf16PackedGemm.h - bf16 GEMM on AVX512-BF16, weights packed -*- C++ -*-===//
//
// ds-assign-precision's bf16 matmuls multiply activations by constant
// weights. oneDNN's BLAS-like bf16 GEMM (the path for everything else)
// packs both operands on every call, so each run re-reads a transformer's
// weights in a cache-unfriendly order: about 60% of the CPU's vdpbf16ps
// peak on BERT-base. Here the weights are packed once, when the session
// starts, into the pairs vdpbf16ps reads, and the lhs is read in place.
//
// Each result is the f32 sum vdpbf16ps forms (products of bf16 values
// exact in f32, added pair by pair over k in the order the instruction
// adds a pair's two, denormals flushed), rounded to bf16 once as
// floatToBf16 does: the same value on every thread count and tiling, not
// bit for bit oneDNN's (whose blocking orders the sums differently).
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_BF16PACKEDGEMM_H
#define DS_RUNTIME_CPU_BF16PACKEDGEMM_H

#include "cpu/KernelUtils.h"

#include <cstdint>
#include <memory>

namespace dsrt::cpu {

/// A K x N bf16 constant packed for vdpbf16ps: panels of kColumns columns;
/// in a panel, for each step k2 (rows 2 k2 and 2 k2 + 1) kColumns 32-bit
/// words, word j holding column j's two values (row 2 k2 in the low half;
/// past K or N: 0).
struct PackedBf16Matrix {
  static constexpr int64_t kColumns = 64;
  int64_t K = 0, N = 0;
  std::unique_ptr<uint32_t[]> words;
  int64_t steps() const { return (K + 1) / 2; }
  int64_t panels() const { return (N + kColumns - 1) / kColumns; }
  const uint32_t *panel(int64_t p) const { return words.get() + p * steps() * kColumns; }
};

/// Whether this CPU has what the kernel is written with: AVX-512 F / BW /
/// VL and BF16.
bool bf16GemmAvailable();

/// Packs the K x N row-major bf16 matrix at `b` (raw bits); false when out
/// of memory.
bool packBf16Matrix(const uint16_t *b, int64_t K, int64_t N, PackedBf16Matrix &out);

/// C = A B rounded to bf16, for M x K row-major bf16 A with row stride lda
/// and C with row stride ldc: 6 x 64 tiles, one vdpbf16ps per two k.
/// Parallel through ctx unless `nested` (inside a parallel region).
void bf16PackedGemm(KernelContext &ctx, bool nested, const PackedBf16Matrix &B, const uint16_t *A,
                    int64_t M, int64_t lda, uint16_t *C, int64_t ldc);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_BF16PACKEDGEMM_H
