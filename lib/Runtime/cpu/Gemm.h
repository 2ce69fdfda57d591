//===- Gemm.h - GEMM and operand views of the CPU kernels -------*- C++ -*-===//
//
// Helpers shared by MatmulKernels.cpp, ConvKernels.cpp and
// AttentionKernels.cpp: the arithmetic a kernel runs in, views of operands
// and results in that arithmetic, and the GEMM.
//
// Floating-point work runs in float (f32, f16, bf16) or double (f64);
// integer work runs exactly in 64-bit wrap-around arithmetic and is stored
// back into the result type. f32/f64 GEMMs go to OpenBLAS when it can be
// loaded (cpu/Blas.h), otherwise to a portable blocked loop.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CPU_GEMM_H
#define DS_RUNTIME_CPU_GEMM_H

#include "cpu/Blas.h"
#include "cpu/Dnnl.h"
#include "cpu/KernelUtils.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace dsrt::cpu {

/// The arithmetic a kernel runs in for an element type.
enum class Compute { F32, F64, Int, None };

inline Compute computeOf(DType t) {
  switch (t) {
  case DS_F32: case DS_F16: case DS_BF16: return Compute::F32;
  case DS_F64: return Compute::F64;
  default: return isIntegerType(t) ? Compute::Int : Compute::None;
  }
}

/// The elements of `t` as T (float, double or uint64_t two's complement),
/// without a copy when `t` already holds T.
template <typename T> const T *viewAs(const Tensor &t, std::vector<T> &storage) {
  if constexpr (std::is_same_v<T, float>) {
    if (t.dtype == DS_F32)
      return t.as<float>();
  } else if constexpr (std::is_same_v<T, double>) {
    if (t.dtype == DS_F64)
      return t.as<double>();
  }
  int64_t n = t.numel();
  storage.resize((size_t)n);
  if constexpr (std::is_same_v<T, float>) {
    if (t.dtype == DS_F16 || t.dtype == DS_BF16) {
      widenToFloatN(t.dtype, t.as<uint16_t>(), storage.data(), n);
      return storage.data();
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<T, uint64_t>)
      storage[(size_t)i] = (uint64_t)loadAsInt(t, i);
    else
      storage[(size_t)i] = (T)loadAsDouble(t, i);
  }
  return storage.data();
}

/// A T buffer for writing `t`: its own memory when it holds T, else `storage`.
template <typename T> T *outputAs(Tensor &t, std::vector<T> &storage) {
  if constexpr (std::is_same_v<T, float>) {
    if (t.dtype == DS_F32)
      return t.as<float>();
  } else if constexpr (std::is_same_v<T, double>) {
    if (t.dtype == DS_F64)
      return t.as<double>();
  }
  storage.assign((size_t)t.numel(), T(0));
  return storage.data();
}

/// Storage for viewAs / outputAs that stays with the calling thread between
/// kernel calls. glibc serves each vector past its mmap threshold (128 KiB
/// until a larger block is freed) with a fresh mapping, and the page faults
/// of BERT-base's widened bf16 attention operands cost four times the
/// attention itself. Buffers above 4 MiB are freed when the scope ends (a
/// thread keeps at most Slots x 4 MiB; operands that large amortize their
/// page faults); a scope opened inside another on the same thread gets
/// vectors of its own.
template <typename T, size_t Slots> class ThreadStorage {
public:
  ThreadStorage() : buffers_(kept().inUse ? own_ : kept().buffers), owner_(!kept().inUse) {
    kept().inUse = true;
  }
  ~ThreadStorage() {
    if (!owner_)
      return;
    for (std::vector<T> &b : buffers_)
      if (b.capacity() * sizeof(T) > kKeptBytes)
        std::vector<T>().swap(b);
    kept().inUse = false;
  }
  ThreadStorage(const ThreadStorage &) = delete;
  ThreadStorage &operator=(const ThreadStorage &) = delete;
  std::vector<T> &operator[](size_t i) { return buffers_[i]; }

private:
  static constexpr size_t kKeptBytes = size_t(4) << 20;
  struct Kept {
    std::array<std::vector<T>, Slots> buffers;
    bool inUse = false;
  };
  static Kept &kept() {
    thread_local Kept k;
    return k;
  }
  std::array<std::vector<T>, Slots> own_;
  std::array<std::vector<T>, Slots> &buffers_;
  bool owner_;
};

/// Stores `storage` into `t` if outputAs handed out the storage.
template <typename T> void finishOutput(Tensor &t, const T *buffer) {
  if (buffer == t.data)
    return;
  int64_t n = t.numel();
  if constexpr (std::is_same_v<T, uint64_t>) {
    for (int64_t i = 0; i < n; ++i)
      storeInt(t, i, (int64_t)buffer[i]);
  } else if constexpr (std::is_same_v<T, float>) {
    if (t.dtype == DS_F16 || t.dtype == DS_BF16) {
      narrowFromFloatN(t.dtype, buffer, t.as<uint16_t>(), n);
      return;
    }
    for (int64_t i = 0; i < n; ++i)
      storeDouble(t, i, buffer[i]);
  } else {
    for (int64_t i = 0; i < n; ++i)
      storeDouble(t, i, buffer[i]);
  }
}

//===----------------------------------------------------------------------===//
// numpy matmul as batched GEMMs
//===----------------------------------------------------------------------===//

/// The GEMMs of a numpy matmul: per batch entry, an M x K times K x N product
/// of the lhs matrix aOff[i] and the rhs matrix bOff[i] (offsets in whole
/// matrices; 1-D operands promoted, batch dims broadcast).
struct MatmulPlan {
  int64_t M = 0, N = 0, K = 0, batch = 1;
  std::vector<int64_t> aOff, bOff;
  bool bShared = true; ///< one rhs matrix for every batch entry
  bool aDense = true;  ///< lhs matrices in batch order: the batch folds into M
};

/// Plans `a` x `b` into `y`, checking the shapes (messages name `op`).
Status planMatmul(const char *op, const Tensor &a, const Tensor &b, const Tensor &y,
                  MatmulPlan &plan);

//===----------------------------------------------------------------------===//
// GEMM
//===----------------------------------------------------------------------===//

/// Rows [i0, i1) of C (+)= op(A) op(B), op(A) M x K, op(B) K x N, row-major.
template <typename T>
void gemmRows(bool transA, bool transB, int64_t i0, int64_t i1, int64_t N, int64_t K,
              const T *A, int64_t lda, const T *B, int64_t ldb, T *C, int64_t ldc,
              bool accumulate) {
  auto a = [&](int64_t i, int64_t k) { return transA ? A[k * lda + i] : A[i * lda + k]; };
  if (!accumulate)
    for (int64_t i = i0; i < i1; ++i)
      std::fill(C + i * ldc, C + i * ldc + N, T(0));
  if (!transB) {
    constexpr int64_t JB = 256;
    for (int64_t jb = 0; jb < N; jb += JB) {
      int64_t jn = std::min(JB, N - jb);
      int64_t i = i0;
      for (; i + 4 <= i1; i += 4) {
        T *c0 = C + i * ldc + jb, *c1 = c0 + ldc, *c2 = c1 + ldc, *c3 = c2 + ldc;
        for (int64_t k = 0; k < K; ++k) {
          const T *b = B + k * ldb + jb;
          T a0 = a(i, k), a1 = a(i + 1, k), a2 = a(i + 2, k), a3 = a(i + 3, k);
          for (int64_t j = 0; j < jn; ++j) {
            T bv = b[j];
            c0[j] += a0 * bv;
            c1[j] += a1 * bv;
            c2[j] += a2 * bv;
            c3[j] += a3 * bv;
          }
        }
      }
      for (; i < i1; ++i) {
        T *c = C + i * ldc + jb;
        for (int64_t k = 0; k < K; ++k) {
          const T *b = B + k * ldb + jb;
          T av = a(i, k);
          for (int64_t j = 0; j < jn; ++j)
            c[j] += av * b[j];
        }
      }
    }
    return;
  }
  for (int64_t i = i0; i < i1; ++i) {
    T *c = C + i * ldc;
    for (int64_t j = 0; j < N; ++j) {
      const T *b = B + j * ldb;
      T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      int64_t k = 0;
      if (!transA) {
        const T *ar = A + i * lda;
        for (; k + 4 <= K; k += 4) {
          s0 += ar[k] * b[k];
          s1 += ar[k + 1] * b[k + 1];
          s2 += ar[k + 2] * b[k + 2];
          s3 += ar[k + 3] * b[k + 3];
        }
      }
      for (; k < K; ++k)
        s0 += a(i, k) * b[k];
      c[j] += (s0 + s1) + (s2 + s3);
    }
  }
}

template <typename T> constexpr bool blasType() {
  return std::is_same_v<T, float> || std::is_same_v<T, double>;
}

inline bool fitsBlas(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f) {
  for (int64_t v : {a, b, c, d, e, f})
    if (v > INT_MAX)
      return false;
  return true;
}

/// Most row blocks a BLAS GEMM is split into for the session's threads.
inline constexpr int64_t kGemmBlocks = 16;

/// Runs `rowsGemm(b, e)` over row blocks [b, e) of an M x N x K GEMM that
/// a single-threaded library call computes: all rows on this thread when
/// `nested` or small, else blocks spread over the session's pool, so that only
/// one set of threads competes for the cores. Blocks are sized from the shape
/// alone: libraries pick their kernel (small-matrix or blocked, with different
/// summation orders) by the call's shape, so blocks that followed the thread
/// count made results differ in the last bit between thread counts.
template <typename F>
void forGemmRowBlocks(KernelContext &ctx, bool nested, int64_t M, int64_t N, int64_t K,
                      F rowsGemm) {
  if (nested || M * N * K < (1 << 18)) {
    rowsGemm(0, M);
    return;
  }
  int64_t rows = std::max<int64_t>(32, (M + kGemmBlocks - 1) / kGemmBlocks);
  rows = (rows + 15) / 16 * 16;
  int64_t blocks = (M + rows - 1) / rows;
  parallel(ctx, blocks, 1, [&](int64_t b, int64_t e) {
    for (int64_t block = b; block < e; ++block)
      rowsGemm(block * rows, std::min(M, (block + 1) * rows));
  });
}

/// How an M x N GEMM is cut into blocks of rows and columns for the
/// session's threads, each block one library call.
struct GemmBlocks {
  int64_t rows = 0, cols = 0; ///< block sizes (the last block of each may be short)
  int64_t rowBlocks = 1, colBlocks = 1;
};

/// Blocks for an M x N x K GEMM, from the shape alone (libraries pick their
/// kernels, with different summation orders, by the call's shape: blocks
/// that followed the thread count made results differ in the last bit
/// between thread counts). Each call re-packs its slice of both operands,
/// so a block's cost per multiply-add grows as about 0.22 / rows +
/// 0.36 / cols over its packed-operand rate (OpenBLAS SkylakeX, one
/// thread, bench/gemm_blocks.py): starting from one block, the side whose
/// halving costs least is halved until there are kGemmBlocks blocks or
/// both sides reach their floor (64 rows, 128 columns).
inline GemmBlocks gemmBlocks(int64_t M, int64_t N) {
  GemmBlocks b{M, N, 1, 1};
  constexpr int64_t kMinRows = 64, kMinCols = 128;
  auto roundUp16 = [](int64_t v) { return (v + 15) / 16 * 16; };
  while (b.rowBlocks * b.colBlocks < kGemmBlocks) {
    bool canRows = b.rows / 2 >= kMinRows, canCols = b.cols / 2 >= kMinCols;
    if (!canRows && !canCols)
      break;
    // The cost added by halving: 0.22 / rows grows by 0.22 / rows.
    bool halveRows = canRows && (!canCols || 0.22 / (double)b.rows < 0.36 / (double)b.cols);
    if (halveRows)
      b.rows = roundUp16((b.rows + 1) / 2);
    else
      b.cols = roundUp16((b.cols + 1) / 2);
    b.rowBlocks = (M + b.rows - 1) / b.rows;
    b.colBlocks = (N + b.cols - 1) / b.cols;
  }
  return b;
}

/// Runs `blockGemm(r0, r1, c0, c1)` over the blocks of an M x N x K GEMM
/// that a single-threaded library call computes: one call on this thread
/// when `nested` or small, else gemmBlocks' blocks spread over the
/// session's pool, so that only one set of threads competes for the cores.
template <typename F>
void forGemmBlocks(KernelContext &ctx, bool nested, int64_t M, int64_t N, int64_t K,
                   F blockGemm) {
  if (nested || M * N * K < (1 << 18)) {
    blockGemm(0, M, 0, N);
    return;
  }
  const GemmBlocks b = gemmBlocks(M, N);
  parallel(ctx, b.rowBlocks * b.colBlocks, 1, [&](int64_t first, int64_t end) {
    for (int64_t block = first; block < end; ++block) {
      int64_t r = block / b.colBlocks, c = block % b.colBlocks;
      blockGemm(r * b.rows, std::min(M, (r + 1) * b.rows), c * b.cols,
                std::min(N, (c + 1) * b.cols));
    }
  });
}

/// C = op(A) op(B) for bf16 A and B (raw bits) into f32 C through oneDNN.
/// False when oneDNN is absent or refused a call (C is then partly
/// written); the caller converts to f32 and takes gemm<float>, which
/// overwrites all of C.
inline bool gemmBf16(KernelContext &ctx, bool nested, bool transA, bool transB, int64_t M,
                     int64_t N, int64_t K, const uint16_t *A, int64_t lda, const uint16_t *B,
                     int64_t ldb, float *C, int64_t ldc) {
  if (!dnnl::available() || M <= 0 || N <= 0 || K <= 0)
    return false;
  std::atomic<bool> ok{true};
  forGemmBlocks(ctx, nested, M, N, K, [&](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    const uint16_t *a = transA ? A + r0 : A + r0 * lda;
    const uint16_t *b = transB ? B + c0 * ldb : B + c0;
    if (!dnnl::gemmBf16(transA, transB, r1 - r0, c1 - c0, K, 1.0f, a, lda, b, ldb, 0.0f,
                        C + r0 * ldc + c0, ldc))
      ok.store(false, std::memory_order_relaxed);
  });
  return ok.load();
}

/// Runs the GEMMs of `plan` through `gemmOne(nested, i, rows)`, which
/// computes `rows` rows of C from batch entry i's matrices (rows = M, or
/// batch * M when the batch folds into the rows) and returns false when its
/// library refused: one folded GEMM, a row-split GEMM per large batch entry,
/// or small entries (attention heads) spread over the threads.
template <typename F>
bool forEachMatmulGemm(KernelContext &ctx, const MatmulPlan &plan, F gemmOne) {
  if (plan.bShared && plan.aDense)
    return gemmOne(false, 0, plan.batch * plan.M);
  if (plan.M * plan.N * plan.K >= (1 << 18)) {
    for (int64_t i = 0; i < plan.batch; ++i)
      if (!gemmOne(false, i, plan.M))
        return false;
    return true;
  }
  std::atomic<bool> ok{true};
  parallel(ctx, plan.batch, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      if (!gemmOne(true, i, plan.M))
        ok.store(false, std::memory_order_relaxed);
  });
  return ok.load();
}

/// C (+)= op(A) op(B). Parallel (through `ctx`) unless called inside a
/// parallel region (`nested`).
template <typename T>
void gemm(KernelContext &ctx, bool nested, bool transA, bool transB, int64_t M, int64_t N,
          int64_t K, const T *A, int64_t lda, const T *B, int64_t ldb, T *C, int64_t ldc,
          bool accumulate) {
  if (M <= 0 || N <= 0)
    return;
  if (K <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; ++i)
        std::fill(C + i * ldc, C + i * ldc + N, T(0));
    return;
  }
  if constexpr (blasType<T>()) {
    if (blas::available() && fitsBlas(M, N, K, lda, ldb, ldc)) {
      forGemmBlocks(ctx, nested, M, N, K, [&](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
        const T *a = transA ? A + r0 : A + r0 * lda;
        const T *b = transB ? B + c0 * ldb : B + c0;
        T *c = C + r0 * ldc + c0;
        if constexpr (std::is_same_v<T, float>)
          blas::sgemm(transA, transB, (int)(r1 - r0), (int)(c1 - c0), (int)K, 1.0f, a, (int)lda,
                      b, (int)ldb, accumulate ? 1.0f : 0.0f, c, (int)ldc);
        else
          blas::dgemm(transA, transB, (int)(r1 - r0), (int)(c1 - c0), (int)K, 1.0, a, (int)lda,
                      b, (int)ldb, accumulate ? 1.0 : 0.0, c, (int)ldc);
      });
      return;
    }
  }
  if (nested) {
    gemmRows(transA, transB, 0, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
    return;
  }
  int64_t grain = std::max<int64_t>(4, (1 << 16) / std::max<int64_t>(1, N * K));
  parallel(ctx, M, grain, [&](int64_t b, int64_t e) {
    gemmRows(transA, transB, b, e, N, K, A, lda, B, ldb, C, ldc, accumulate);
  });
}

} // namespace dsrt::cpu

#endif // DS_RUNTIME_CPU_GEMM_H
