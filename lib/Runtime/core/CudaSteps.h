//===- CudaSteps.h - the steps of a cuda artifact, parsed and checked -*- C++ -*-===//
//
// The step vocabulary of docs/cuda-backend.md (cuda.launch, cuda.gemm,
// cuda.alias) as typed records. Parsing needs no driver, so a malformed cuda
// artifact is rejected at load time on any machine.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CORE_CUDASTEPS_H
#define DS_RUNTIME_CORE_CUDASTEPS_H

#include "core/Artifact.h"

namespace dsrt {

struct CudaLaunch {
  std::string kernel;
  uint32_t grid[3] = {1, 1, 1}, block[3] = {1, 1, 1};
  uint32_t sharedBytes = 0;
};

enum class GemmEpilogue { None, Relu, Gelu, Bias, BiasRelu, BiasGelu };

/// Row-major D[b] = alpha * op(A[b]) * op(B[b]) (+ beta * C[b]) (+ bias), then the epilogue.
struct CudaGemm {
  int64_t m = 0, n = 0, k = 0, batch = 1;
  bool transA = false, transB = false;
  int64_t strideA = 0, strideB = 0, strideD = 0; ///< elements between batches; 0 broadcasts
  float alpha = 1, beta = 0;
  GemmEpilogue epilogue = GemmEpilogue::None;
  bool hasBias() const {
    return epilogue == GemmEpilogue::Bias || epilogue == GemmEpilogue::BiasRelu ||
           epilogue == GemmEpilogue::BiasGelu;
  }
};

/// Checks attrs (present, typed, in range) and operands (counts, dtypes, sizes).
Status parseCudaLaunch(const Program &program, const Step &step, CudaLaunch &out);
Status parseCudaGemm(const Program &program, const Step &step, CudaGemm &out);

/// Checks every step of a cuda program; called by the loader. Unknown ops are
/// DS_UNSUPPORTED, everything else DS_INVALID_ARTIFACT.
Status validateCudaProgram(const Program &program);

} // namespace dsrt

#endif // DS_RUNTIME_CORE_CUDASTEPS_H
