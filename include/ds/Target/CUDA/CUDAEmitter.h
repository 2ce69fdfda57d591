//===- CUDAEmitter.h - fusion groups to CUDA C++ kernels --------*- C++ -*-===//
//
// The compiler side of the CUDA backend (docs/cuda-backend.md): every
// ds.fusion_group of @main becomes one step of a cuda artifact, either an
// emitted `extern "C" __global__` kernel (cuda.launch), a cuBLASLt matmul
// (cuda.gemm) or a view (cuda.alias).
//
//===----------------------------------------------------------------------===//
#ifndef DS_TARGET_CUDA_CUDAEMITTER_H
#define DS_TARGET_CUDA_CUDAEMITTER_H

#include "ds/Target/Artifact/ArtifactWriter.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace mlir::ds {

struct CUDAProgram {
  /// One translation unit: the prelude, the kernel templates, every kernel.
  std::string source;
  /// The steps in program order, referring to values of @main.
  std::vector<ArtifactStep> steps;
  unsigned kernels = 0;
};

/// Emits CUDA C++ and the step list for @main, whose ops must all be
/// ds.constant or ds.fusion_group (after the passes of Passes.td). Groups
/// that cannot be emitted are reported as errors on the offending op.
FailureOr<CUDAProgram> emitCUDA(ModuleOp module);

/// Prints the step list as `// name (inputs) -> (outputs) attrs` lines.
void printCUDASteps(const CUDAProgram &program, llvm::raw_ostream &os);

} // namespace mlir::ds

#endif // DS_TARGET_CUDA_CUDAEMITTER_H
