//===- FakeCuda.cpp - a stand-in libcuda.so.1 for tests without a GPU -----===//
//
// Implements the driver entry points the runtime resolves, on host memory:
// "device" pointers are host pointers, copies are memcpy, and a module knows
// the kernels whose `.entry` names appear in its PTX. Known kernels execute on
// the host (ds_test_add: c[t] = a[t] + b[t] for every thread t), so a session
// can be tested through module loading, launches and graph capture/replay.
// Cubin (non-text) images are refused, as a real driver refuses a cubin for
// another architecture. Counters are exported for the tests.
//
//===----------------------------------------------------------------------===//
#include <cuda.h>

#include <chrono>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {
struct Function {
  std::string name;
  int params = 0; ///< .param entries of its PTX signature
};
struct Module {
  std::vector<Function> functions;
};
struct Launch {
  const Function *f;
  unsigned threads;
  std::vector<CUdeviceptr> args;
};
struct Graph {
  std::vector<Launch> launches;
};
bool capturing = false;
Graph *captured = nullptr;
int launchesRun = 0, graphLaunches = 0;

void execute(const Launch &l) {
  ++launchesRun;
  if (l.f->name == "ds_test_add" && l.args.size() == 3) {
    auto *a = (const float *)l.args[0], *b = (const float *)l.args[1];
    auto *c = (float *)l.args[2];
    for (unsigned t = 0; t < l.threads; ++t)
      c[t] = a[t] + b[t];
  }
  // ds_test_add_n(a, b, c, [m,] n): the same for t < n, n the last size
  // parameter of a dynamic program (long longs after the pointers).
  if (l.f->name == "ds_test_add_n" && l.args.size() >= 4) {
    auto *a = (const float *)l.args[0], *b = (const float *)l.args[1];
    auto *c = (float *)l.args[2];
    for (unsigned t = 0; t < l.threads && (long long)t < (long long)l.args.back(); ++t)
      c[t] = a[t] + b[t];
  }
}
} // namespace

extern "C" {
__attribute__((visibility("default"))) int ds_fake_cuda_launches() { return launchesRun; }
__attribute__((visibility("default"))) int ds_fake_cuda_graph_launches() { return graphLaunches; }

CUresult cuInit(unsigned) { return CUDA_SUCCESS; }
CUresult cuDriverGetVersion(int *v) { return *v = 13000, CUDA_SUCCESS; }
CUresult cuGetErrorName(CUresult, const char **s) { return *s = "CUDA_ERROR_FAKE", CUDA_SUCCESS; }
CUresult cuGetErrorString(CUresult, const char **s) { return *s = "fake driver", CUDA_SUCCESS; }
CUresult cuDeviceGetCount(int *n) { return *n = 1, CUDA_SUCCESS; }
CUresult cuDeviceGet(CUdevice *d, int ordinal) { return *d = ordinal, CUDA_SUCCESS; }
CUresult cuDeviceGetAttribute(int *v, CUdevice_attribute a, CUdevice) {
  switch (a) {
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *v = 9; break;
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *v = 0; break;
  case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: *v = 232448; break;
  default: *v = 0;
  }
  return CUDA_SUCCESS;
}
CUresult cuDeviceGetName(char *name, int len, CUdevice) {
  std::strncpy(name, "fake", (size_t)len);
  return CUDA_SUCCESS;
}
CUresult cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice) {
  static int context;
  return *c = (CUcontext)&context, CUDA_SUCCESS;
}
CUresult cuDevicePrimaryCtxRelease(CUdevice) { return CUDA_SUCCESS; }
CUresult cuCtxSetCurrent(CUcontext) { return CUDA_SUCCESS; }
CUresult cuMemAlloc(CUdeviceptr *p, size_t n) {
  return *p = (CUdeviceptr)std::aligned_alloc(256, (n + 255) / 256 * 256), CUDA_SUCCESS;
}
CUresult cuMemFree(CUdeviceptr p) { return std::free((void *)p), CUDA_SUCCESS; }
CUresult cuMemHostAlloc(void **p, size_t n, unsigned) { return *p = std::malloc(n), CUDA_SUCCESS; }
CUresult cuMemFreeHost(void *p) { return std::free(p), CUDA_SUCCESS; }
CUresult cuMemcpyHtoD(CUdeviceptr d, const void *s, size_t n) {
  return std::memcpy((void *)d, s, n), CUDA_SUCCESS;
}
CUresult cuMemcpyHtoDAsync(CUdeviceptr d, const void *s, size_t n, CUstream) {
  return std::memcpy((void *)d, s, n), CUDA_SUCCESS;
}
CUresult cuMemcpyDtoHAsync(void *d, CUdeviceptr s, size_t n, CUstream) {
  return std::memcpy(d, (const void *)s, n), CUDA_SUCCESS;
}
CUresult cuMemcpyDtoDAsync(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream) {
  if (capturing) // the runtime captures only launches and GEMMs
    return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
  return std::memmove((void *)d, (const void *)s, n), CUDA_SUCCESS;
}
CUresult cuStreamCreate(CUstream *s, unsigned) {
  static int stream;
  return *s = (CUstream)&stream, CUDA_SUCCESS;
}
CUresult cuStreamDestroy(CUstream) { return CUDA_SUCCESS; }
CUresult cuStreamSynchronize(CUstream) { return CUDA_SUCCESS; }
CUresult cuStreamBeginCapture(CUstream, CUstreamCaptureMode) {
  capturing = true;
  captured = new Graph;
  return CUDA_SUCCESS;
}
CUresult cuStreamEndCapture(CUstream, CUgraph *g) {
  capturing = false;
  *g = (CUgraph)captured;
  return CUDA_SUCCESS;
}
CUresult cuGraphInstantiate(CUgraphExec *e, CUgraph g, unsigned long long) {
  *e = (CUgraphExec) new Graph(*(Graph *)g);
  return CUDA_SUCCESS;
}
CUresult cuGraphLaunch(CUgraphExec e, CUstream) {
  ++graphLaunches;
  for (const Launch &l : ((Graph *)e)->launches)
    execute(l);
  return CUDA_SUCCESS;
}
// Events: host time at cuEventRecord (launches run synchronously here).
struct Event {
  std::chrono::steady_clock::time_point at;
};
CUresult cuEventCreate(CUevent *e, unsigned) { return *e = (CUevent) new Event, CUDA_SUCCESS; }
CUresult cuEventRecord(CUevent e, CUstream) {
  return ((Event *)e)->at = std::chrono::steady_clock::now(), CUDA_SUCCESS;
}
CUresult cuEventSynchronize(CUevent) { return CUDA_SUCCESS; }
CUresult cuEventElapsedTime(float *ms, CUevent a, CUevent b) {
  *ms = std::chrono::duration<float, std::milli>(((Event *)b)->at - ((Event *)a)->at).count();
  return CUDA_SUCCESS;
}
CUresult cuEventDestroy(CUevent e) { return delete (Event *)e, CUDA_SUCCESS; }
CUresult cuStreamWaitEvent(CUstream, CUevent, unsigned) { return CUDA_SUCCESS; }
CUresult cuGraphExecDestroy(CUgraphExec e) { return delete (Graph *)e, CUDA_SUCCESS; }
CUresult cuGraphDestroy(CUgraph g) { return delete (Graph *)g, CUDA_SUCCESS; }
CUresult cuModuleLoadData(CUmodule *m, const void *image) {
  std::string text((const char *)image, strnlen((const char *)image, 1 << 20));
  if (text.find(".entry") == std::string::npos)
    return CUDA_ERROR_NO_BINARY_FOR_GPU; // not PTX: a cubin this fake cannot run
  auto *module = new Module;
  for (size_t p = text.find(".entry "); p != std::string::npos; p = text.find(".entry ", p + 1)) {
    size_t start = p + 7, end = text.find('(', start), close = text.find(')', end);
    std::string signature = text.substr(end, close - end);
    int params = 0;
    for (size_t q = signature.find(".param"); q != std::string::npos;
         q = signature.find(".param", q + 1))
      ++params;
    module->functions.push_back({text.substr(start, end - start), params});
  }
  *m = (CUmodule)module;
  return CUDA_SUCCESS;
}
CUresult cuModuleUnload(CUmodule m) { return delete (Module *)m, CUDA_SUCCESS; }
CUresult cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name) {
  for (Function &fn : ((Module *)m)->functions)
    if (fn.name == name)
      return *f = (CUfunction)&fn, CUDA_SUCCESS;
  return CUDA_ERROR_NOT_FOUND;
}
CUresult cuFuncGetAttribute(int *v, CUfunction_attribute a, CUfunction) {
  *v = a == CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK ? 1024 : 0;
  return CUDA_SUCCESS;
}
CUresult cuFuncSetAttribute(CUfunction, CUfunction_attribute, int) { return CUDA_SUCCESS; }
CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                        unsigned by, unsigned bz, unsigned, CUstream, void **params, void **) {
  Launch l{(const Function *)f, gx * gy * gz * bx * by * bz, {}};
  // The kernels whose parameters this fake knows (8 bytes each).
  int count = l.f->name == "ds_test_add" ? 3 : l.f->name == "ds_test_add_n" ? l.f->params : 0;
  for (int i = 0; i < count; ++i)
    l.args.push_back(*(CUdeviceptr *)params[i]);
  if (capturing)
    captured->launches.push_back(l);
  else
    execute(l);
  return CUDA_SUCCESS;
}
} // extern "C"
