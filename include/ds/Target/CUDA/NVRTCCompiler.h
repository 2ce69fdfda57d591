//===- NVRTCCompiler.h - CUDA C++ to cubin / PTX with NVRTC -----*- C++ -*-===//
#ifndef DS_TARGET_CUDA_NVRTCCOMPILER_H
#define DS_TARGET_CUDA_NVRTCCOMPILER_H

#include "ds/Target/Artifact/ArtifactWriter.h"

#include "mlir/IR/Location.h"
#include "mlir/Support/LogicalResult.h"

#include <string>
#include <vector>

namespace mlir::ds {

struct NVRTCTiming {
  std::string arch;
  double seconds = 0;
};

/// Compiles `source` three times: cubin for sm_80 and sm_90a, PTX for
/// compute_80 (JIT-compiled by the driver on other GPUs). On failure emits
/// the NVRTC log as an error at `loc`.
FailureOr<std::vector<ArtifactImage>> compileWithNVRTC(const std::string &source, Location loc,
                                                       std::vector<NVRTCTiming> *timings = nullptr);

} // namespace mlir::ds

#endif // DS_TARGET_CUDA_NVRTCCOMPILER_H
