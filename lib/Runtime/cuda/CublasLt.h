//===- CublasLt.h - cuda.gemm steps through cuBLASLt ------------*- C++ -*-===//
//
// libcublasLt is opened with dlopen like the driver. One GemmPlan per
// cuda.gemm step holds its descriptors and the algorithm the heuristic chose
// at session creation, so a run (or a graph capture) only calls cublasLtMatmul.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CUDA_CUBLASLT_H
#define DS_RUNTIME_CUDA_CUBLASLT_H

#include "core/CudaSteps.h"

#include <cublasLt.h>
#include <cuda.h>

namespace dsrt::cuda {

struct CublasLtApi {
#define DS_LT_FUNCTIONS(X)                                                                     \
  X(cublasLtCreate) X(cublasLtDestroy) X(cublasLtGetStatusString) X(cublasLtMatmul)           \
  X(cublasLtMatmulDescCreate) X(cublasLtMatmulDescDestroy) X(cublasLtMatmulDescSetAttribute)  \
  X(cublasLtMatrixLayoutCreate) X(cublasLtMatrixLayoutDestroy)                                 \
  X(cublasLtMatrixLayoutSetAttribute) X(cublasLtMatmulPreferenceCreate)                        \
  X(cublasLtMatmulPreferenceDestroy) X(cublasLtMatmulPreferenceSetAttribute)                   \
  X(cublasLtMatmulAlgoGetHeuristic)
#define DS_LT_MEMBER(name) decltype(&::name) name = nullptr;
  DS_LT_FUNCTIONS(DS_LT_MEMBER)
#undef DS_LT_MEMBER

  /// Opened once per process: $DS_CUBLASLT, libcublasLt.so.13, libcublasLt.so,
  /// libcublasLt.so.12. DS_UNSUPPORTED (naming them) when none opens.
  static Status get(const CublasLtApi *&out);
  Status check(cublasStatus_t status, const std::string &what) const;
};

/// Device pointers of one cuda.gemm step's operands (0 = absent).
struct GemmOperands {
  CUdeviceptr a = 0, b = 0, bias = 0, c = 0, d = 0;
};

/// Bytes of cuBLASLt workspace a session provides (one buffer, steps run in order).
constexpr size_t kGemmWorkspaceBytes = 32u << 20;

class GemmPlan {
public:
  GemmPlan() = default;
  GemmPlan(const GemmPlan &) = delete;
  GemmPlan &operator=(const GemmPlan &) = delete;
  ~GemmPlan();

  /// Builds the descriptors for `gemm` on these dtypes and pointers and asks
  /// the heuristic for the best algorithm that fits the workspace.
  Status init(const CublasLtApi &api, cublasLtHandle_t handle, const CudaGemm &gemm,
              DType abType, DType biasType, DType dType, const GemmOperands &ops);
  Status run(CUstream stream, CUdeviceptr workspace) const;

private:
  const CublasLtApi *api_ = nullptr;
  cublasLtHandle_t handle_ = nullptr;
  cublasLtMatmulDesc_t desc_ = nullptr;
  cublasLtMatrixLayout_t layoutA_ = nullptr, layoutB_ = nullptr, layoutC_ = nullptr,
                         layoutD_ = nullptr;
  cublasLtMatmulAlgo_t algo_{};
  float alpha_ = 1, beta_ = 0;
  GemmOperands ops_;
};

} // namespace dsrt::cuda

#endif // DS_RUNTIME_CUDA_CUBLASLT_H
