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

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
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

/// Rows per panel of a packed left operand here: the micro-kernels'
/// height (12 with AVX-512, 6 with AVX2 + FMA, 4 portable).
int64_t packedGemmPanelRows();

/// Writes columns [k0, k1) of row panels [q0, q1) of a left operand
/// (packedGemmPanelRows() rows each, rows past its M zero) at `dst`, panel
/// by panel, each [k1 - k0][rows]. Called from the pool's threads.
using PanelPacker = std::function<void(int64_t q0, int64_t q1, int64_t k0, int64_t k1, float *dst)>;

/// Ct = (A B)ᵀ + bias for the M x K matrix A that `packRows` writes and
/// packed B (K x N): Ct[n * ldct + i] = sum_k A[i][k] B[k][n] + bias[n] for
/// i < M (bias may be null), parallel through ctx. A convolution on a small
/// map with its output pixels as the rows (cpu/ConvByPixels.h): A is packed
/// a block of rows and k at a time just before its products, so it never
/// goes far from the core, and the sums are stored transposed once all of K
/// is in.
void panelGemmTransposed(KernelContext &ctx, int64_t M, const PanelPacker &packRows,
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


} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_PACKEDGEMM_H
