//===- PackedGemm.h - f32 GEMM on weights packed once -----------*- C++ -*-===//
//
// A library GEMM packs both operands on every call; for a constant rhs (a
// layer's weights) that re-reads the whole matrix in a cache-unfriendly
// order on every run, which cost BERT-base half its time. Here the rhs is
// packed once, when the session starts, into panels of 16 columns
// ([K][16] each, zero-padded), and each run streams the panels in order
// with the lhs read in place.
//
// Every result element is one fused multiply-add chain over k = 0..K-1
// (from 0, or from C when accumulating), whatever the blocking, thread
// count or instruction set (AVX-512, AVX2 + FMA, or std::fma): results do
// not depend on threads, fusion tiles or the machine's vector width.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_PACKEDGEMM_H
#define DS_RUNTIME_CPU_PACKEDGEMM_H

#include "core/Tensor.h"
#include "cpu/Bf16DirectConv.h"
#include "cpu/Bf16PackedGemm.h"
#include "cpu/IntegerDirectConv.h"
#include "cpu/IntegerPackedGemm.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

namespace dsrt::cpu {

/// A K x N f32 matrix in panels of kPanel columns.
struct PackedMatrix {
  static constexpr int64_t kPanel = 16;
  int64_t K = 0, N = 0;
  int64_t panels() const { return (N + kPanel - 1) / kPanel; }
  std::unique_ptr<float, void (*)(void *)> data{nullptr, nullptr}; ///< 64-byte aligned
};

/// An M x K f32 matrix packed as a left operand: panels of rowsPerPanel
/// rows (the micro-kernel's height on this CPU), stored k block by k block
/// (kBlock k's, the GEMMs' k step): block b holds each panel's slice
/// [kb][rowsPerPanel] in panel order, so a pass over the rows for one k
/// block reads one contiguous stream (panel by panel over all of K, the
/// slices lay a panel's K apart and the prefetchers lost the stream: small
/// convolutions with many channels waited on their weights).
struct PackedLeftMatrix {
  static constexpr int64_t kBlock = 256;
  int64_t M = 0, K = 0, rowsPerPanel = 0;
  std::unique_ptr<float, void (*)(void *)> data{nullptr, nullptr}; ///< 64-byte aligned
  int64_t panels() const { return (M + rowsPerPanel - 1) / rowsPerPanel; }
  /// Panel p's [kb][rowsPerPanel] slice of the k block starting at k0 (a
  /// multiple of kBlock).
  const float *slice(int64_t p, int64_t k0) const {
    const int64_t kb = std::min(kBlock, K - k0);
    return data.get() + k0 * panels() * rowsPerPanel + p * kb * rowsPerPanel;
  }
};

/// Whether packed GEMMs have a fast kernel here: AVX-512 or AVX2 + FMA on
/// x86-64 (without them the portable kernel's std::fma is a libm call,
/// ~100x slower than the library GEMM), always elsewhere.
bool packedGemmAvailable();

/// A packed K x N matrix to fill in place, every element of it (element
/// (k, n) at data[(n / kPanel) * K * kPanel + k * kPanel + n % kPanel],
/// columns past N included: they must be zero); false when out of memory.
bool allocatePacked(int64_t K, int64_t N, PackedMatrix &out);

/// Packs row-major B (K x N, row stride ldb); false when out of memory.
bool packMatrix(const float *B, int64_t K, int64_t N, int64_t ldb, PackedMatrix &out);

/// Packs the K x N matrix B = Bt^T of row-major Bt (N x K, row stride K):
/// a weight stored transposed; false when out of memory.
bool packTransposedMatrix(const float *Bt, int64_t N, int64_t K, PackedMatrix &out);

/// C (+)= A B for A M x K (row stride lda) and packed B, into C (row stride
/// ldc), parallel through ctx.
void packedGemm(KernelContext &ctx, int64_t M, const float *A, int64_t lda, const PackedMatrix &B,
                float *C, int64_t ldc, bool accumulate);

/// Ct = (A B)ᵀ + bias for A M x K stored by columns (A[i][k] at k * lda +
/// i) and packed B (K x N): Ct[n * ldct + i] = sum_k A[i][k] B[k][n] +
/// bias[n] (bias may be null), parallel through ctx. A 1 x 1 convolution
/// on a small map: its input [C][HW] is A, its transposed weights B, its
/// output [M][HW] Ct; the HW pixels are the GEMM's rows (tiles of 12, a
/// last short one), where as columns they would be computed in whole
/// vectors of 32 (49 of 64 on a 7 x 7 map).
void packedGemmTransposed(KernelContext &ctx, int64_t M, const float *A, int64_t lda,
                          const PackedMatrix &B, float *Ct, int64_t ldct, const float *bias);

/// Packs row-major A (M x K, row stride lda) as a left operand.
bool packLeftMatrix(const float *A, int64_t M, int64_t K, int64_t lda, PackedLeftMatrix &out);

/// C (+)= A B for packed A and row-major B (K x N, row stride ldb), into C
/// (row stride ldc), parallel through ctx: a convolution's weights times
/// its im2col columns.
void packedLeftGemm(KernelContext &ctx, const PackedLeftMatrix &A, const float *B, int64_t ldb,
                    int64_t N, float *C, int64_t ldc, bool accumulate);

/// C (+)= A B for packed A and B[k][n] = B[offsets[k] + n] (n < N), into C
/// (row stride ldc): a convolution's weights times its windows read in
/// place from a padded input (cpu/DirectConv.h). B must be readable
/// kIndirectSlack floats past the last column any offset reaches (the
/// micro-kernels read whole vectors).
constexpr int64_t kIndirectSlack = 32;
void packedLeftGemmIndirect(KernelContext &ctx, const PackedLeftMatrix &A, const float *B,
                            const int64_t *offsets, int64_t N, float *C, int64_t ldc,
                            bool accumulate);

/// GEMMs on the calling thread, for kernels that already run one task per
/// thread (attention tiles), with the micro-kernels and the summation order
/// of packedGemm; A is M x K, read in place (row stride lda).
///
/// B given as panels of 16 columns ([K][16] each, zero past N), as
/// packTransposedPanels writes them.
void gemmSerialPanels(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                      const float *panels, float *C, int64_t ldc, bool accumulate);
/// B row-major (K x N, row stride ldb), read in place (the columns past
/// the last whole 16-column vector are copied into a panel first).
void gemmSerialRowMajor(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                        const float *B, int64_t ldb, float *C, int64_t ldc, bool accumulate);
/// Writes the K x N matrix Btᵀ of row-major Bt (N x K, row stride ldbt) as
/// panels: ceil(N / 16) * K * 16 floats at `panels`.
void packTransposedPanels(const float *Bt, int64_t N, int64_t K, int64_t ldbt, float *panels);

/// C_b = A_b B_b for b < count: equal shapes (M x K row-major A_b, row
/// stride lda; packed K x N B_b; C_b with row stride ldc), in one parallel
/// region (a Winograd convolution's 36 products: one region each cost more
/// than the small ones compute).
void packedGemmBatch(KernelContext &ctx, int64_t count, int64_t M, const float *const *A,
                     int64_t lda, const PackedMatrix *const *B, float *const *C, int64_t ldc);

/// Several packed matrices made from one constant: a 3 x 3 convolution's
/// weights in the Winograd domain (cpu/WinogradConv.h), one C x M matrix per
/// point of the transform.
struct PackedSet {
  int64_t M = 0, C = 0;
  int64_t variant = 0; ///< how the set was made (Winograd: outputs per tile side)
  std::vector<PackedMatrix> matrices;
};

/// The packed form of constant matrices, by the address of their data in
/// the artifact's read-only mapping (which never changes while a session
/// runs: an arena value may reuse an address, a constant cannot).
/// A K x N matrix of 4-bit codes (one byte each in the artifact) packed
/// two per byte for ds.matmul_quantized_weight: groups of 64 columns, each
/// [K][32] bytes, byte j of row k holding column j in its low nibble and
/// column j + 32 in its high one (columns past N: 0). Half the bytes of the
/// one-byte codes, read in order.
struct NibbleMatrix {
  static constexpr int64_t kGroup = 64;
  int64_t K = 0, N = 0;
  std::unique_ptr<uint8_t[]> bytes;
  int64_t groups() const { return (N + kGroup - 1) / kGroup; }
  const uint8_t *row(int64_t group, int64_t k) const {
    return bytes.get() + (group * K + k) * (kGroup / 2);
  }
};

/// Whether `count` one-byte 4-bit codes are as the artifact writer stores
/// them (signed: sign-extended, -8..7; unsigned: 0..15), so that packing
/// their nibbles keeps their values.
bool canonicalFourBitCodes(const uint8_t *codes, int64_t count, bool isSigned);

class PackedConstants {
public:
  /// Packs the K x N one-byte 4-bit codes at `codes` two per byte; false
  /// when out of memory.
  bool addNibbles(const uint8_t *codes, int64_t K, int64_t N);
  const NibbleMatrix *findNibbles(const void *data, int64_t K, int64_t N) const;
  /// Packs the K x N constant at `data` once; false when out of memory.
  bool add(const float *data, int64_t K, int64_t N);
  /// The same for a K x N f16 constant (`type` DS_F16), widened to f32
  /// once and found by its own address: the CPU has no f16 arithmetic, and
  /// widening the weights on every call made f16 matmuls 3x slower than
  /// f32 ones.
  bool addWidened(const uint16_t *data, DType type, int64_t K, int64_t N);
  /// An f32 copy of the `count` f16 / bf16 constant values at `data`, made
  /// once (null when out of memory): f16 convolutions read it, and the f32
  /// convolution packs it like an f32 constant (found by the copy's address;
  /// keyed by address and count, so constants that start at one address
  /// get copies of their own).
  const float *addWidenedCopy(const uint16_t *data, DType type, int64_t count);
  const float *findWidenedCopy(const void *data, int64_t count) const;
  /// The packed form of the K x N constant at `data`, or null.
  const PackedMatrix *find(const void *data, int64_t K, int64_t N) const;
  /// The same for the transpose of the N x K constant at `data` (kept
  /// apart: a square constant may be read both ways).
  bool addTransposed(const float *data, int64_t N, int64_t K);
  const PackedMatrix *findTransposed(const void *data, int64_t N, int64_t K) const;
  /// The same for left operands (M x K at `data`).
  bool addLeft(const float *data, int64_t M, int64_t K);
  const PackedLeftMatrix *findLeft(const void *data, int64_t M, int64_t K) const;
  /// Packs one group's M x (Cg * taps) s8 convolution weights at `data`
  /// for cpu/IntegerDirectConv.h; false when out of memory.
  bool addInt8Conv(const int8_t *data, int64_t M, int64_t Cg, int64_t taps);
  const PackedInt8Conv *findInt8Conv(const void *data, int64_t M, int64_t Cg,
                                     int64_t taps) const;
  /// Packs one group's M x (Cg * taps) bf16 convolution weights at `data`
  /// for cpu/Bf16DirectConv.h; false when out of memory.
  bool addBf16Conv(const uint16_t *data, int64_t M, int64_t Cg, int64_t taps);
  const PackedBf16Conv *findBf16Conv(const void *data, int64_t M, int64_t Cg,
                                     int64_t taps) const;
  /// Packs the K x N s8 constant at `data` for cpu/IntegerPackedGemm.h;
  /// false when out of memory.
  bool addInt8Matrix(const int8_t *data, int64_t K, int64_t N);
  const PackedInt8Matrix *findInt8Matrix(const void *data, int64_t K, int64_t N) const;
  /// Packs the K x N bf16 constant at `data` for cpu/Bf16PackedGemm.h;
  /// false when out of memory.
  bool addBf16Matrix(const uint16_t *data, int64_t K, int64_t N);
  const PackedBf16Matrix *findBf16Matrix(const void *data, int64_t K, int64_t N) const;
  /// A set made from the constant at `data` (M x C per matrix); one per
  /// variant (convolutions sharing weights may run in different ones).
  void addSet(const void *data, PackedSet set);
  /// The set of `variant` made from the constant at `data`, or null.
  const PackedSet *findSet(const void *data, int64_t M, int64_t C, int64_t variant) const;
  size_t size() const {
    return packed_.size() + transposed_.size() + left_.size() + sets_.size() + nibbles_.size() +
           int8Convs_.size() + int8Matrices_.size() + bf16Matrices_.size() +
           bf16Convs_.size() + widenedCopies_.size();
  }

private:
  std::unordered_map<const void *, PackedMatrix> packed_, transposed_;
  std::unordered_map<const void *, PackedLeftMatrix> left_;
  std::unordered_map<const void *, std::vector<PackedSet>> sets_;
  std::unordered_map<const void *, NibbleMatrix> nibbles_;
  std::unordered_map<const void *, PackedInt8Conv> int8Convs_;
  std::unordered_map<const void *, PackedInt8Matrix> int8Matrices_;
  std::unordered_map<const void *, PackedBf16Matrix> bf16Matrices_;
  std::unordered_map<const void *, PackedBf16Conv> bf16Convs_;
  std::map<std::pair<const void *, int64_t>, std::vector<float>> widenedCopies_;
};

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_PACKEDGEMM_H
