//===- IntegerPackedGemmAvx2.h - the packed 8-bit GEMM without VNNI -*- C++ -*-===//
//
// The AVX2 build of integerPackedGemm (cpu/IntegerPackedGemm.h), for CPUs
// without VNNI, reading the same packed words as the VNNI build.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_INTEGERPACKEDGEMMAVX2_H
#define DS_RUNTIME_CPU_INTEGERPACKEDGEMMAVX2_H

#include "cpu/IntegerPackedGemm.h"

#include <cstdint>

namespace dsrt::cpu {

/// Whether this build runs here (AVX2).
bool integerPackedGemmAvx2Runs();

/// integerPackedGemm's Avx2 build (no epilogue): C = (A - za) B.
void integerPackedGemmAvx2(KernelContext &ctx, bool nested, const PackedInt8Matrix &B,
                           const void *A, bool aSigned, int za, int64_t M, int64_t lda, int32_t *C,
                           int64_t ldc);

/// The tile both AVX2 drivers share (this GEMM's and the convolution's of
/// cpu/IntegerConvAvx2.h): out[r][0..8) (row stride ldo) = init[r] (when
/// not null) + sum_k aw[r][k] * panel[k][j] for the `rows` (1-6) rows of
/// 16-bit `aw` (row stride lda, `steps` * 4 values each) against a panel
/// of eight columns laid out as PackedInt8Matrix's (8 words per step, of s8
/// bytes or `unsignedWords` u8 ones). Needs integerPackedGemmAvx2Runs().
void packedTileAvx2(const int32_t *words, bool unsignedWords, int64_t steps, const int16_t *aw,
                    int64_t lda, int64_t rows, const int32_t *init, int32_t *out, int64_t ldo);

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_INTEGERPACKEDGEMMAVX2_H
