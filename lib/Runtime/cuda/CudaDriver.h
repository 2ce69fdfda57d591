//===- CudaDriver.h - the CUDA driver API, opened at run time ---*- C++ -*-===//
//
// libcuda.so.1 is opened with dlopen, never linked: the runtime starts on
// machines without a driver and reports DS_NO_DEVICE there. Only cuda.h's
// declarations are used, for the function types; the entry points are looked
// up under the versioned names cuda.h maps them to (cuMemAlloc -> cuMemAlloc_v2),
// so each pointer has exactly the ABI of its declaration.
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CUDA_CUDADRIVER_H
#define DS_RUNTIME_CUDA_CUDADRIVER_H

#include "core/Tensor.h"

#include <cuda.h>

namespace dsrt::cuda {

struct Driver {
#define DS_CU_FUNCTIONS(X)                                                                     \
  X(cuInit) X(cuDriverGetVersion) X(cuGetErrorName) X(cuGetErrorString) X(cuDeviceGetCount)    \
  X(cuDeviceGet) X(cuDeviceGetAttribute) X(cuDeviceGetName) X(cuDevicePrimaryCtxRetain)        \
  X(cuDevicePrimaryCtxRelease) X(cuCtxSetCurrent) X(cuMemAlloc) X(cuMemFree) X(cuMemHostAlloc) \
  X(cuMemFreeHost) X(cuMemcpyHtoD) X(cuMemcpyHtoDAsync) X(cuMemcpyDtoHAsync)                  \
  X(cuMemcpyDtoDAsync) X(cuStreamCreate) X(cuStreamDestroy) X(cuStreamSynchronize)             \
  X(cuStreamBeginCapture) X(cuStreamEndCapture) X(cuGraphInstantiate) X(cuGraphLaunch)         \
  X(cuGraphExecDestroy) X(cuGraphDestroy) X(cuModuleLoadData) X(cuModuleUnload)               \
  X(cuModuleGetFunction) X(cuFuncGetAttribute) X(cuFuncSetAttribute) X(cuLaunchKernel)
#define DS_CU_MEMBER(name) decltype(&::name) name = nullptr;
  DS_CU_FUNCTIONS(DS_CU_MEMBER)
  /// Optional (drivers of CUDA 12.4 and newer): lets a session check that a
  /// launch passes exactly the parameters its kernel declares.
  decltype(&::cuFuncGetParamInfo) cuFuncGetParamInfo = nullptr;
  /// Optional, looked up by name: events, for DS_CUDA_PROFILE (CUDA 12.8 and newer)
  /// and for ordering device-resident runs with the caller's stream.
#define DS_CU_EVENT_FUNCTIONS(X)                                                               \
  X(cuEventCreate) X(cuEventRecord) X(cuEventSynchronize) X(cuEventElapsedTime)               \
  X(cuEventDestroy) X(cuStreamWaitEvent)
  DS_CU_EVENT_FUNCTIONS(DS_CU_MEMBER)
#undef DS_CU_MEMBER
  /// Ordering work between streams (device-resident runs).
  bool canOrderStreams() const {
    return cuEventCreate && cuEventRecord && cuEventDestroy && cuStreamWaitEvent;
  }
  /// Timing with events (DS_CUDA_PROFILE); cuEventElapsedTime_v2 is CUDA 12.8's.
  bool hasEvents() const {
    return canOrderStreams() && cuEventSynchronize && cuEventElapsedTime;
  }

  /// The process-wide driver, opened and initialized on first use. DS_NO_DEVICE
  /// (with what is missing) when there is no driver library, no device or the
  /// driver is too old. DS_CUDA_DRIVER names another library (tests use a fake).
  static Status get(const Driver *&out);

  /// OK, or an error naming `what` and the driver's name for `result`.
  Status check(CUresult result, const std::string &what) const;
};

} // namespace dsrt::cuda

#endif // DS_RUNTIME_CUDA_CUDADRIVER_H
