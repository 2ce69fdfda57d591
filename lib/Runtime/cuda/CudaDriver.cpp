//===- CudaDriver.cpp - the CUDA driver API, opened at run time -----------===//
#include "cuda/CudaDriver.h"

#include <cstdlib>
#include <dlfcn.h>
#include <mutex>

namespace dsrt::cuda {
namespace {
#define DS_STRINGIFY_EXPANDED(x) DS_STRINGIFY(x)
#define DS_STRINGIFY(x) #x

// 12.0: the oldest driver whose ABI matches the declarations we call through
// (cuStreamBeginCapture_v2, cuGraphInstantiateWithFlags, ...).
constexpr int kMinDriverVersion = 12000;

Status noDevice(const std::string &why) {
  return Status::error("no CUDA device: " + why, DS_NO_DEVICE);
}

Status open(Driver &d) {
  const char *override = std::getenv("DS_CUDA_DRIVER");
  const char *path = override && *override ? override : "libcuda.so.1";
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    return noDevice(std::string(path) + " not found (dlopen: " + (why ? why : "?") + ")");
  }
  // Stringizing after expansion gives the versioned symbol (cuMemAlloc_v2).
#define DS_CU_LOAD(name)                                                                       \
  d.name = reinterpret_cast<decltype(d.name)>(dlsym(lib, DS_STRINGIFY_EXPANDED(name)));       \
  if (!d.name)                                                                                 \
    return noDevice(std::string(path) + " lacks " + DS_STRINGIFY_EXPANDED(name) +              \
                    " (driver too old)");
  DS_CU_FUNCTIONS(DS_CU_LOAD)
#undef DS_CU_LOAD
  d.cuFuncGetParamInfo = reinterpret_cast<decltype(d.cuFuncGetParamInfo)>(
      dlsym(lib, DS_STRINGIFY_EXPANDED(cuFuncGetParamInfo)));
#define DS_CU_LOAD_OPTIONAL(name)                                                              \
  d.name = reinterpret_cast<decltype(d.name)>(dlsym(lib, DS_STRINGIFY_EXPANDED(name)));
  DS_CU_EVENT_FUNCTIONS(DS_CU_LOAD_OPTIONAL)
#undef DS_CU_LOAD_OPTIONAL
  // The library stays open for the life of the process: modules and contexts
  // created through it may outlive any one session.
  int version = 0;
  d.cuDriverGetVersion(&version);
  if (version < kMinDriverVersion)
    return noDevice("the driver supports CUDA " + std::to_string(version / 1000) + "." +
                    std::to_string(version % 1000 / 10) + ", the runtime needs 12.0 or newer");
  CUresult init = d.cuInit(0);
  if (init != CUDA_SUCCESS)
    return Status::error("no CUDA device: " + d.check(init, "cuInit").message(), DS_NO_DEVICE);
  int count = 0;
  if (d.cuDeviceGetCount(&count) != CUDA_SUCCESS || count == 0)
    return noDevice("the driver reports no device");
  return Status();
}
} // namespace

Status Driver::get(const Driver *&out) {
  static Driver driver;
  static Status status;
  static std::once_flag once;
  std::call_once(once, [] { status = open(driver); });
  out = status ? &driver : nullptr;
  return status;
}

Status Driver::check(CUresult result, const std::string &what) const {
  if (result == CUDA_SUCCESS)
    return Status();
  const char *name = nullptr, *text = nullptr;
  if (cuGetErrorName)
    cuGetErrorName(result, &name);
  if (cuGetErrorString)
    cuGetErrorString(result, &text);
  std::string message = what + " failed: " + (name ? name : "CUresult " + std::to_string(result));
  if (text)
    message += std::string(" (") + text + ")";
  ds_status_code code = result == CUDA_ERROR_NO_DEVICE || result == CUDA_ERROR_STUB_LIBRARY ||
                               result == CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER
                            ? DS_NO_DEVICE
                            : DS_RUNTIME_ERROR;
  return Status::error(message, code);
}

} // namespace dsrt::cuda
