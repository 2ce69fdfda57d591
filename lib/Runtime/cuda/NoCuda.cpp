//===- NoCuda.cpp - the CUDA backend's entry in a build without it --------===//
#include "core/Executor.h"

namespace dsrt {
Status createCudaExecutor(const Program &, int, std::unique_ptr<Executor> &) {
  return Status::error("this ds runtime was built without the CUDA backend (cuda.h was not "
                       "found or DS_ENABLE_CUDA=OFF); rebuild it with the CUDA headers",
                       DS_UNSUPPORTED);
}
} // namespace dsrt
