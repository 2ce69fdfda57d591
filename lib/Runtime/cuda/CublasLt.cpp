//===- CublasLt.cpp - cuda.gemm steps through cuBLASLt --------------------===//
//
// Row-major to column-major: cuBLASLt is column-major, and a row-major m x n
// matrix is the column-major n x m matrix of its transpose. So row-major
// D = op(A) op(B) is computed as column-major D^T = op(B)^T op(A)^T: the
// operands swap places, m and n swap, and each operand keeps its own
// transpose flag. The bias (n values, one per column of row-major D) is then
// one per row of D^T, which is what cuBLASLt's bias epilogue adds.
//
//===----------------------------------------------------------------------===//
#include "cuda/CublasLt.h"

#include <cstdlib>
#include <dlfcn.h>
#include <mutex>

namespace dsrt::cuda {
namespace {
cudaDataType_t toCuda(DType t) {
  switch (t) {
  case DS_F16: return CUDA_R_16F;
  case DS_BF16: return CUDA_R_16BF;
  default: return CUDA_R_32F;
  }
}

cublasLtEpilogue_t toCublas(GemmEpilogue e) {
  switch (e) {
  case GemmEpilogue::Relu: return CUBLASLT_EPILOGUE_RELU;
  case GemmEpilogue::Gelu: return CUBLASLT_EPILOGUE_GELU;
  case GemmEpilogue::Bias: return CUBLASLT_EPILOGUE_BIAS;
  case GemmEpilogue::BiasRelu: return CUBLASLT_EPILOGUE_RELU_BIAS;
  case GemmEpilogue::BiasGelu: return CUBLASLT_EPILOGUE_GELU_BIAS;
  default: return CUBLASLT_EPILOGUE_DEFAULT;
  }
}

/// The alignment cuBLASLt may assume for an operand: the largest power of two
/// (up to 256) dividing its address and its batch stride in bytes.
uint32_t alignmentOf(CUdeviceptr p, uint64_t strideBytes) {
  uint64_t bits = p | strideBytes | 256;
  return (uint32_t)(bits & (~bits + 1));
}
} // namespace

Status CublasLtApi::get(const CublasLtApi *&out) {
  static CublasLtApi api;
  static Status status;
  static std::once_flag once;
  std::call_once(once, [] {
    const char *env = std::getenv("DS_CUBLASLT");
    const char *names[] = {env && *env ? env : "libcublasLt.so.13", "libcublasLt.so.13",
                           "libcublasLt.so", "libcublasLt.so.12"};
    void *lib = nullptr;
    std::string tried;
    for (const char *name : names) {
      if ((lib = dlopen(name, RTLD_NOW | RTLD_LOCAL)))
        break;
      const char *why = dlerror();
      tried += std::string("\n  ") + (why ? why : name);
    }
    if (!lib) {
      status = Status::error("cuda.gemm needs cuBLASLt, which did not open (set DS_CUBLASLT or "
                             "LD_LIBRARY_PATH):" + tried,
                             DS_UNSUPPORTED);
      return;
    }
#define DS_LT_LOAD(name)                                                                       \
  api.name = reinterpret_cast<decltype(api.name)>(dlsym(lib, #name));                         \
  if (!api.name) {                                                                             \
    status = Status::error("cuBLASLt lacks " #name, DS_UNSUPPORTED);                           \
    return;                                                                                    \
  }
    DS_LT_FUNCTIONS(DS_LT_LOAD)
#undef DS_LT_LOAD
  });
  out = status ? &api : nullptr;
  return status;
}

Status CublasLtApi::check(cublasStatus_t s, const std::string &what) const {
  if (s == CUBLAS_STATUS_SUCCESS)
    return Status();
  return Status::error(what + " failed: " + cublasLtGetStatusString(s), DS_RUNTIME_ERROR);
}

GemmPlan::~GemmPlan() {
  if (!api_)
    return;
  for (cublasLtMatrixLayout_t l : {layoutA_, layoutB_, layoutC_, layoutD_})
    if (l)
      api_->cublasLtMatrixLayoutDestroy(l);
  if (desc_)
    api_->cublasLtMatmulDescDestroy(desc_);
}

Status GemmPlan::init(const CublasLtApi &api, cublasLtHandle_t handle, const CudaGemm &g,
                      DType abType, DType biasType, DType dType, const GemmOperands &ops) {
  api_ = &api;
  handle_ = handle;
  ops_ = ops;
  alpha_ = g.alpha;
  beta_ = ops.c ? g.beta : 0.0f;
  if (!ops_.c)
    ops_.c = ops_.d; // beta is 0: C is not read
  Status s;
  auto call = [&](cublasStatus_t status, const char *what) {
    if (s)
      s = api.check(status, what);
    return s.ok();
  };
  // fp32 accumulation for every data type (docs/cuda-backend.md).
  call(api.cublasLtMatmulDescCreate(&desc_, CUBLAS_COMPUTE_32F, CUDA_R_32F), "MatmulDescCreate");
  // Swapped operands (see the file comment): cuBLASLt's A is our B.
  cublasOperation_t opFirst = g.transB ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t opSecond = g.transA ? CUBLAS_OP_T : CUBLAS_OP_N;
  auto setDesc = [&](cublasLtMatmulDescAttributes_t attr, const void *v, size_t n) {
    return call(api.cublasLtMatmulDescSetAttribute(desc_, attr, v, n), "MatmulDescSetAttribute");
  };
  setDesc(CUBLASLT_MATMUL_DESC_TRANSA, &opFirst, sizeof opFirst);
  setDesc(CUBLASLT_MATMUL_DESC_TRANSB, &opSecond, sizeof opSecond);
  cublasLtEpilogue_t epilogue = toCublas(g.epilogue);
  setDesc(CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue);
  if (g.hasBias()) {
    cudaDataType_t bt = toCuda(biasType);
    int64_t biasStride = 0; // one bias for every batch
    setDesc(CUBLASLT_MATMUL_DESC_BIAS_POINTER, &ops_.bias, sizeof ops_.bias);
    setDesc(CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof bt);
    setDesc(CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, &biasStride, sizeof biasStride);
  }
  // Column-major layouts as stored: rows x cols with leading dimension rows.
  auto layout = [&](cublasLtMatrixLayout_t &l, DType t, int64_t rows, int64_t cols,
                    int64_t stride) {
    if (!call(api.cublasLtMatrixLayoutCreate(&l, toCuda(t), (uint64_t)rows, (uint64_t)cols, rows),
              "MatrixLayoutCreate"))
      return;
    int32_t batch = (int32_t)g.batch;
    call(api.cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch,
                                              sizeof batch),
         "MatrixLayoutSetAttribute");
    call(api.cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                              &stride, sizeof stride),
         "MatrixLayoutSetAttribute");
  };
  // Our B (k x n row-major, or n x k when transposed) is cuBLASLt's first operand.
  layout(layoutA_, abType, g.transB ? g.k : g.n, g.transB ? g.n : g.k, g.strideB);
  layout(layoutB_, abType, g.transA ? g.m : g.k, g.transA ? g.k : g.m, g.strideA);
  layout(layoutC_, dType, g.n, g.m, g.strideD);
  layout(layoutD_, dType, g.n, g.m, g.strideD);
  if (!s)
    return s;

  cublasLtMatmulPreference_t pref = nullptr;
  call(api.cublasLtMatmulPreferenceCreate(&pref), "MatmulPreferenceCreate");
  auto setPref = [&](cublasLtMatmulPreferenceAttributes_t attr, const void *v, size_t n) {
    call(api.cublasLtMatmulPreferenceSetAttribute(pref, attr, v, n), "PreferenceSetAttribute");
  };
  uint64_t workspace = kGemmWorkspaceBytes;
  setPref(CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof workspace);
  size_t abSize = dtypeSize(abType), dSize = dtypeSize(dType);
  uint32_t alignFirst = alignmentOf(ops.b, g.strideB * abSize);
  uint32_t alignSecond = alignmentOf(ops.a, g.strideA * abSize);
  uint32_t alignC = alignmentOf(ops_.c, g.strideD * dSize);
  uint32_t alignD = alignmentOf(ops.d, g.strideD * dSize);
  setPref(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &alignFirst, sizeof alignFirst);
  setPref(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &alignSecond, sizeof alignSecond);
  setPref(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &alignC, sizeof alignC);
  setPref(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &alignD, sizeof alignD);
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  if (s)
    call(api.cublasLtMatmulAlgoGetHeuristic(handle, desc_, layoutA_, layoutB_, layoutC_, layoutD_,
                                            pref, 1, &result, &found),
         "MatmulAlgoGetHeuristic");
  if (pref)
    api.cublasLtMatmulPreferenceDestroy(pref);
  if (!s)
    return s;
  if (found == 0)
    return Status::error("cuBLASLt has no algorithm for this GEMM (m " + std::to_string(g.m) +
                             ", n " + std::to_string(g.n) + ", k " + std::to_string(g.k) + ")",
                         DS_UNSUPPORTED);
  algo_ = result.algo;
  return Status();
}

Status GemmPlan::run(CUstream stream, CUdeviceptr workspace) const {
  // Column-major D^T = op(B)^T op(A)^T: our B goes first.
  return api_->check(api_->cublasLtMatmul(handle_, desc_, &alpha_, (const void *)ops_.b, layoutA_,
                                          (const void *)ops_.a, layoutB_, &beta_,
                                          (const void *)ops_.c, layoutC_, (void *)ops_.d, layoutD_,
                                          &algo_, (void *)workspace, kGemmWorkspaceBytes,
                                          (cudaStream_t)stream),
                     "cublasLtMatmul");
}

} // namespace dsrt::cuda
