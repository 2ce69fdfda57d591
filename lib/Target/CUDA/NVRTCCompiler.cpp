//===- NVRTCCompiler.cpp - CUDA C++ to cubin / PTX with NVRTC ------------===//
//
// Runs at compile time on the build machine: no GPU or driver is needed, only
// libnvrtc. Each image is a separate NVRTC compilation of the same source.
//
//===----------------------------------------------------------------------===//
#include "ds/Target/CUDA/NVRTCCompiler.h"

#include "mlir/IR/Diagnostics.h"

#include <chrono>

#ifdef DS_HAVE_NVRTC
#include <nvrtc.h>
#endif

using namespace mlir;
using namespace mlir::ds;

#ifdef DS_HAVE_NVRTC
namespace {
struct Target {
  const char *arch;   // name in the artifact
  const char *option; // --gpu-architecture
  bool ptx;
};
} // namespace

static FailureOr<std::string> compileOne(const std::string &source, const Target &target,
                                         Location loc) {
  nvrtcProgram program;
  if (nvrtcCreateProgram(&program, source.c_str(), "ds_kernels.cu", 0, nullptr, nullptr) !=
      NVRTC_SUCCESS)
    return emitError(loc, "NVRTC: cannot create a program"), failure();
  std::string arch = std::string("--gpu-architecture=") + target.option;
  std::string include = std::string("-I") + DS_CUDA_INCLUDE_DIR;
  const char *options[] = {arch.c_str(), include.c_str(), "--std=c++17", "-lineinfo"};
  nvrtcResult result = nvrtcCompileProgram(program, 4, options);
  if (result != NVRTC_SUCCESS) {
    size_t size = 0;
    nvrtcGetProgramLogSize(program, &size);
    std::string log(size, '\0');
    nvrtcGetProgramLog(program, log.data());
    nvrtcDestroyProgram(&program);
    return emitError(loc, "NVRTC failed for ") << target.arch << " (" << nvrtcGetErrorString(result)
                                               << "):\n" << log,
           failure();
  }
  size_t size = 0;
  std::string image;
  if (target.ptx) {
    nvrtcGetPTXSize(program, &size);
    image.resize(size);
    nvrtcGetPTX(program, image.data());
  } else {
    nvrtcGetCUBINSize(program, &size);
    image.resize(size);
    nvrtcGetCUBIN(program, image.data());
  }
  nvrtcDestroyProgram(&program);
  return image;
}
#endif

FailureOr<std::vector<ArtifactImage>> ds::compileWithNVRTC(const std::string &source, Location loc,
                                                           std::vector<NVRTCTiming> *timings) {
#ifdef DS_HAVE_NVRTC
  static const Target targets[] = {
      {"sm_80", "sm_80", false}, {"sm_90a", "sm_90a", false}, {"compute_80", "compute_80", true}};
  std::vector<ArtifactImage> images;
  for (const Target &target : targets) {
    auto start = std::chrono::steady_clock::now();
    FailureOr<std::string> image = compileOne(source, target, loc);
    if (failed(image))
      return failure();
    if (timings)
      timings->push_back({target.arch, std::chrono::duration<double>(
                                           std::chrono::steady_clock::now() - start)
                                           .count()});
    images.push_back({target.arch, std::move(*image)});
  }
  return images;
#else
  (void)source;
  (void)timings;
  return emitError(loc, "the CUDA target is not built in (NVRTC was not found at build time)"),
         failure();
#endif
}
