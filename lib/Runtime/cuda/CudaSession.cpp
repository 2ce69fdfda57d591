//===- CudaSession.cpp - executing a cuda artifact ------------------------===//
#include "cuda/CudaSession.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace dsrt {

Status createCudaExecutor(const Program &program, int device, std::unique_ptr<Executor> &out) {
  return cuda::CudaSession::create(program, device, out);
}

namespace cuda {
namespace {

/// "sm_90a" -> 90, "compute_80" -> 80; -1 when the name is not of that form.
int archNumber(const std::string &arch, const char *prefix) {
  size_t p = std::strlen(prefix);
  if (arch.compare(0, p, prefix) != 0 || arch.size() <= p)
    return -1;
  int n = 0;
  size_t i = p;
  for (; i < arch.size() && arch[i] >= '0' && arch[i] <= '9' && n < 10000; ++i)
    n = n * 10 + (arch[i] - '0');
  return i == p ? -1 : n;
}

/// True when `data` is a 64-bit ELF file whose headers and sections lie within
/// `size`: cuModuleLoadData takes no size, so the driver must never be handed
/// an image that points past its end.
bool elfWithinBounds(const unsigned char *data, uint64_t size) {
  auto u16 = [&](uint64_t at) { return (uint64_t)data[at] | (uint64_t)data[at + 1] << 8; };
  auto u32 = [&](uint64_t at) { return u16(at) | u16(at + 2) << 16; };
  auto u64 = [&](uint64_t at) { return u32(at) | u32(at + 4) << 32; };
  auto inside = [&](uint64_t offset, uint64_t count, uint64_t each) {
    uint64_t bytes, end;
    return !__builtin_mul_overflow(count, each, &bytes) &&
           !__builtin_add_overflow(offset, bytes, &end) && end <= size;
  };
  if (size < 64 || std::memcmp(data, "\x7f" "ELF", 4) != 0 || data[4] != 2 /* 64-bit */)
    return false;
  uint64_t phoff = u64(0x20), shoff = u64(0x28);
  uint64_t phentsize = u16(0x36), phnum = u16(0x38), shentsize = u16(0x3a), shnum = u16(0x3c);
  if (!inside(phoff, phnum, phentsize) || !inside(shoff, shnum, shentsize) ||
      (shnum && shentsize < 0x28))
    return false;
  for (uint64_t i = 0; i < shnum; ++i) {
    uint64_t header = shoff + i * shentsize;
    bool noBits = u32(header + 4) == 8; // SHT_NOBITS occupies no file bytes
    if (!noBits && !inside(u64(header + 0x18), u64(header + 0x20), 1))
      return false;
  }
  return true;
}

Status invalidStep(const Step &step, const std::string &what) {
  return Status::error("invalid artifact: step '" + step.op + "': " + what, DS_INVALID_ARTIFACT);
}
} // namespace

Status CudaSession::create(const Program &program, int device, std::unique_ptr<Executor> &out) {
  if (program.target != DSX_TARGET_CUDA)
    return Status::error("the CUDA backend runs only artifacts compiled with --target=cuda",
                         DS_UNSUPPORTED);
  const Driver *driver = nullptr;
  Status s = Driver::get(driver);
  if (!s)
    return s;
  std::unique_ptr<CudaSession> session(new CudaSession(program, *driver));
  s = session->init(device);
  if (!s)
    return s;
  out = std::move(session);
  return Status();
}

Status CudaSession::init(int device) {
  int count = 0;
  cu_.cuDeviceGetCount(&count);
  if (device >= count)
    return Status::error("no CUDA device " + std::to_string(device) + " (the driver reports " +
                             std::to_string(count) + ")",
                         DS_NO_DEVICE);
  Status s = cu_.check(cu_.cuDeviceGet(&device_, device), "cuDeviceGet");
  if (s)
    s = cu_.check(cu_.cuDevicePrimaryCtxRetain(&context_, device_), "cuDevicePrimaryCtxRetain");
  contextRetained_ = s.ok();
  if (s)
    s = cu_.check(cu_.cuCtxSetCurrent(context_), "cuCtxSetCurrent");
  if (s)
    s = cu_.check(cu_.cuStreamCreate(&stream_, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
  if (!s)
    return s;

  // The constants, uploaded once; the arena, inputs and staging are sized
  // by the program (static) or per input shape (plan()).
  values_ = program_.values;
  pointers_.assign(program_.values.size(), 0);
  if (uint64_t bytes = alignUp(program_.constantsBytes))
    s = cu_.check(cu_.cuMemAlloc(&constants_, bytes),
                  "allocating " + std::to_string(bytes) + " bytes of constants");
  for (size_t id = 0; s && id < program_.values.size(); ++id) {
    const ValueInfo &v = program_.values[id];
    if (v.storage == DSX_STORAGE_CONSTANT && v.bytes) {
      pointers_[id] = constants_ + v.offset;
      s = cu_.check(cu_.cuMemcpyHtoD(pointers_[id], program_.constantData(v), v.bytes),
                    "uploading constant '" + v.name + "'");
    }
  }
  if (!s)
    return s;
  if (program_.dynamic) {
    outputs_.resize(program_.outputs.size());
    for (size_t i = 0; i < outputs_.size(); ++i)
      outputs_[i].dtype = program_.values[program_.outputs[i]].dtype;
    ownPointers_ = pointers_;
  } else {
    s = allocateStatic();
  }
  s = s ? loadModule() : s;
  if (s)
    s = prepareSteps();
  if (s)
    profile_.start(cu_, StepProfile::requested(), stepLabels_);
  return s;
}

/// A static program's arena, input buffer and pinned staging, once.
Status CudaSession::allocateStatic() {
  Status s;
  auto alloc = [&](CUdeviceptr &p, uint64_t bytes, const char *what) {
    if (s && bytes)
      s = cu_.check(cu_.cuMemAlloc(&p, bytes), std::string("allocating ") +
                                                   std::to_string(bytes) + " bytes of " + what);
  };
  alloc(arena_, alignUp(program_.arenaBytes), "arena");
  uint64_t inputBytes = 0;
  for (uint32_t id : program_.inputs) {
    inputOffsets_.push_back(inputBytes);
    inputBytes += alignUp(program_.values[id].bytes);
  }
  alloc(inputs_, inputBytes, "inputs");
  if (!s)
    return s;
  for (size_t id = 0; id < program_.values.size(); ++id)
    if (program_.values[id].storage == DSX_STORAGE_ARENA)
      pointers_[id] = arena_ + program_.values[id].offset;
  for (size_t i = 0; i < program_.inputs.size(); ++i)
    pointers_[program_.inputs[i]] = inputs_ + inputOffsets_[i];
  ownPointers_ = pointers_;

  // Pinned host staging, so that copies are asynchronous on the stream.
  uint64_t outputBytes = 0;
  for (uint32_t id : program_.outputs) {
    outputOffsets_.push_back(outputBytes);
    outputBytes += alignUp(program_.values[id].bytes);
  }
  if (inputBytes)
    s = cu_.check(cu_.cuMemHostAlloc(&hostIn_, inputBytes, 0), "pinned input staging");
  if (s && outputBytes)
    s = cu_.check(cu_.cuMemHostAlloc(&hostOut_, outputBytes, 0), "pinned output staging");
  if (!s)
    return s;
  outputs_.resize(program_.outputs.size());
  bindOutputTensors();
  return s;
}

/// outputs_ as views of hostOut_ with the current dims.
void CudaSession::bindOutputTensors() {
  for (size_t i = 0; i < program_.outputs.size(); ++i) {
    const ValueInfo &v = values_[program_.outputs[i]];
    outputs_[i].dtype = v.dtype;
    outputs_[i].shape = v.dims;
    outputs_[i].data = static_cast<char *>(hostOut_) + outputOffsets_[i];
  }
}

/// The cubin built for exactly this device, else the newest PTX it can JIT.
Status CudaSession::loadModule() {
  if (program_.images.empty())
    return Status();
  int major = 0, minor = 0;
  cu_.cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device_);
  cu_.cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device_);
  int cc = major * 10 + minor;
  std::string exact = "sm_" + std::to_string(cc);
  const KernelImage *cubin = nullptr, *ptx = nullptr;
  std::string available;
  for (const KernelImage &image : program_.images) {
    available += (available.empty() ? "" : ", ") + image.arch;
    // sm_90a code runs only on 9.0 itself, so it is as exact as sm_90 there.
    if (image.arch == exact || (cc == 90 && image.arch == "sm_90a"))
      if (!cubin || image.arch == "sm_90a")
        cubin = &image;
    int p = archNumber(image.arch, "compute_");
    if (p >= 0 && p <= cc && (!ptx || p > archNumber(ptx->arch, "compute_")))
      ptx = &image;
  }
  std::string cubinError;
  if (cubin && !elfWithinBounds(program_.imageData(*cubin), cubin->size)) {
    cubinError = "the " + cubin->arch + " image is not a well-formed ELF cubin; ";
    cubin = nullptr;
  }
  if (cubin) {
    CUresult r = cu_.cuModuleLoadData(&module_, program_.imageData(*cubin));
    if (r == CUDA_SUCCESS) {
      moduleArch_ = cubin->arch;
      return Status();
    }
    cubinError = cu_.check(r, "loading the " + cubin->arch + " cubin").message() + "; ";
    module_ = nullptr;
  }
  if (!ptx)
    return Status::error(cubinError + "no kernel image for " + exact + " (the artifact has " +
                             available + "): recompile for this GPU",
                         DS_UNSUPPORTED);
  // PTX is text that the driver wants NUL-terminated; the artifact stores it
  // without. Binary magic would make the driver parse it as ELF or fatbin.
  std::string text((const char *)program_.imageData(*ptx), ptx->size);
  if (text.find('\0') != std::string::npos || text.compare(0, 4, "\x7f" "ELF") == 0 ||
      text.compare(0, 4, "\x50\xed\x55\xba") == 0)
    return Status::error(cubinError + "the " + ptx->arch + " image is not PTX text",
                         DS_INVALID_ARTIFACT);
  Status s = cu_.check(cu_.cuModuleLoadData(&module_, text.c_str()),
                       cubinError + "JIT-compiling the " + ptx->arch + " PTX for " + exact);
  if (s)
    moduleArch_ = ptx->arch;
  else
    module_ = nullptr;
  return s;
}

Status CudaSession::prepareSteps() {
  int maxSharedOptin = 0;
  cu_.cuDeviceGetAttribute(&maxSharedOptin,
                           CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, device_);
  ops_.resize(program_.steps.size());
  for (size_t i = 0; i < program_.steps.size(); ++i) {
    const Step &step = program_.steps[i];
    Op &op = ops_[i];
    stepLabels_.push_back(step.op);
    if (program_.dynamic) {
      Status s = parseSizeEntries(program_, step, "dynamic_dims", 2, 0, op.resultDims);
      if (!s)
        return s;
    }
    if (step.op == "cuda.alias") {
      op.kind = Op::Copy; // bindOperands decides whether there is anything to copy
      continue;
    }
    if (step.op == "cuda.gemm") {
      op.kind = Op::Gemm;
      CudaGemm gemm;
      Status s = parseCudaGemm(program_, step, gemm);
      if (s && !lt_) {
        s = CublasLtApi::get(lt_);
        if (s)
          s = lt_->check(lt_->cublasLtCreate(&ltHandle_), "cublasLtCreate");
        if (s)
          s = cu_.check(cu_.cuMemAlloc(&workspace_, kGemmWorkspaceBytes), "cuBLASLt workspace");
      }
      if (!s)
        return s;
      stepLabels_.back() += " " + std::to_string(gemm.m) + "x" + std::to_string(gemm.n) + "x" +
                            std::to_string(gemm.k) + " batch " + std::to_string(gemm.batch);
      auto value = [&](size_t k) -> const ValueInfo * {
        return k < step.inputs.size() && step.inputs[k] != DSX_ABSENT
                   ? &program_.values[step.inputs[k]]
                   : nullptr;
      };
      const ValueInfo &d = program_.values[step.outputs[0]];
      op.gemmSpec = gemm;
      op.abType = value(0)->dtype;
      op.biasType = value(2) ? value(2)->dtype : d.dtype;
      op.dType = d.dtype;
      continue;
    }
    // cuda.launch (the loader accepts no other op in a cuda artifact).
    op.kind = Op::Launch;
    Status s = parseCudaLaunch(program_, step, op.launch);
    if (!s)
      return s;
    stepLabels_.back() = op.launch.kernel;
    CUresult r = cu_.cuModuleGetFunction(&op.function, module_, op.launch.kernel.c_str());
    if (r != CUDA_SUCCESS)
      return invalidStep(step, "kernel '" + op.launch.kernel + "' is not in the " + moduleArch_ +
                                   " module (" + cu_.check(r, "cuModuleGetFunction").message() +
                                   ")");
    int maxThreads = 0, staticShared = 0;
    cu_.cuFuncGetAttribute(&maxThreads, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, op.function);
    cu_.cuFuncGetAttribute(&staticShared, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, op.function);
    uint64_t threads = (uint64_t)op.launch.block[0] * op.launch.block[1] * op.launch.block[2];
    if (threads > (uint64_t)maxThreads)
      return invalidStep(step, "kernel '" + op.launch.kernel + "' runs at most " +
                                   std::to_string(maxThreads) + " threads per block, the step asks " +
                                   std::to_string(threads));
    if ((uint64_t)op.launch.sharedBytes + staticShared > (uint64_t)maxSharedOptin)
      return invalidStep(step, "kernel '" + op.launch.kernel + "' needs " +
                                   std::to_string(op.launch.sharedBytes + staticShared) +
                                   " bytes of shared memory, the device has " +
                                   std::to_string(maxSharedOptin));
    if ((uint64_t)op.launch.sharedBytes + staticShared > 48 * 1024) { // past the default: opt in
      s = cu_.check(cu_.cuFuncSetAttribute(op.function,
                                           CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                           (int)op.launch.sharedBytes),
                    "cuFuncSetAttribute(" + op.launch.kernel + ")");
      if (!s)
        return s;
    }
    // Parameters (bindOperands): the inputs' device pointers in order, then the
    // outputs', then (dynamic programs) one long long per dim symbol.
    const size_t operands = step.inputs.size() + step.outputs.size() +
                            (program_.dynamic ? program_.symbols.size() : 0);
    // cuLaunchKernel reads as many parameters as the kernel declares: a step
    // that passes fewer would make it read past the argument array.
    if (cu_.cuFuncGetParamInfo) {
      size_t count = 0, offset = 0, size = 0;
      for (; count <= operands; ++count) {
        if (cu_.cuFuncGetParamInfo(op.function, count, &offset, &size) != CUDA_SUCCESS)
          break;
        if (size != sizeof(CUdeviceptr)) // pointers and sizes alike: 8 bytes
          return invalidStep(step, "kernel '" + op.launch.kernel + "' parameter " +
                                       std::to_string(count) + " is not a device pointer");
      }
      if (count != operands)
        return invalidStep(step, "kernel '" + op.launch.kernel + "' does not take the step's " +
                                     std::to_string(operands) + " operands");
    }
  }
  return program_.dynamic ? Status() : bindOperands(); // a dynamic one binds per plan
}

/// Every step's device operands from pointers_: kernel parameters, cuda.alias
/// copies (none where both values share bytes) and cuBLASLt plans, whose
/// algorithm the heuristic picks for the pointers' alignment.
Status CudaSession::bindOperands() {
  auto ptr = [&](uint32_t id) { return id == DSX_ABSENT ? CUdeviceptr(0) : pointers_[id]; };
  for (size_t i = 0; i < ops_.size(); ++i) {
    const Step &step = program_.steps[i];
    Op &op = ops_[i];
    if (op.kind == Op::Copy) {
      op.src = ptr(step.inputs[0]);
      op.dst = ptr(step.outputs[0]);
      op.bytes = std::min(values_[step.inputs[0]].bytes, values_[step.outputs[0]].bytes);
    } else if (op.kind == Op::Gemm) {
      if (op.empty)
        continue;
      GemmOperands operands;
      operands.a = ptr(step.inputs[0]);
      operands.b = ptr(step.inputs[1]);
      operands.bias = step.inputs.size() > 2 ? ptr(step.inputs[2]) : 0;
      operands.c = step.inputs.size() > 3 ? ptr(step.inputs[3]) : 0;
      operands.d = ptr(step.outputs[0]);
      op.gemm = std::make_unique<GemmPlan>();
      Status s = op.gemm->init(*lt_, ltHandle_, op.gemmSpec, op.abType, op.biasType, op.dType,
                               operands);
      if (!s)
        return Status::error("step " + std::to_string(i) + " (cuda.gemm): " + s.message(),
                             s.code());
    } else {
      op.args.clear();
      op.argPointers.clear();
      for (uint32_t id : step.inputs)
        op.args.push_back(ptr(id));
      for (uint32_t id : step.outputs)
        op.args.push_back(ptr(id));
      if (program_.dynamic)
        for (int64_t size : symbols_)
          op.args.push_back((CUdeviceptr)size);
      for (CUdeviceptr &arg : op.args)
        op.argPointers.push_back(&arg);
    }
  }
  return Status();
}

/// Points the steps at `wanted` (one device address per value id). A change
/// re-binds every step and drops the captured graph: the next run is eager
/// and captures again.
Status CudaSession::bind(const std::vector<CUdeviceptr> &wanted) {
  if (wanted == pointers_)
    return Status();
  Status s = cu_.check(cu_.cuStreamSynchronize(stream_), "waiting for the previous run");
  if (!s)
    return s;
  pointers_ = wanted;
  if (graph_)
    cu_.cuGraphExecDestroy(graph_);
  graph_ = nullptr;
  graphTried_ = false;
  return bindOperands();
}

Status CudaSession::enqueueSteps() {
  bool marks = profile_.mode() == StepProfile::Steps;
  if (marks)
    profile_.mark(0, stream_);
  for (size_t i = 0; i < ops_.size(); ++i) {
    const Op &op = ops_[i];
    Status s;
    if (op.empty) {
      // nothing to compute for these shapes
    } else if (op.kind == Op::Launch) {
      const CudaLaunch &l = op.launch;
      s = cu_.check(cu_.cuLaunchKernel(op.function, l.grid[0], l.grid[1], l.grid[2], l.block[0],
                                       l.block[1], l.block[2], l.sharedBytes, stream_,
                                       const_cast<void **>(op.argPointers.data()), nullptr),
                    "launching " + l.kernel);
    } else if (op.kind == Op::Gemm) {
      s = op.gemm->run(stream_, workspace_);
    } else if (op.src != op.dst && op.bytes) {
      s = cu_.check(cu_.cuMemcpyDtoDAsync(op.dst, op.src, op.bytes, stream_), "cuda.alias copy");
    }
    if (!s)
      return Status::error("step " + std::to_string(i) + " (" + program_.steps[i].op +
                               "): " + s.message(),
                           s.code());
    if (marks)
      profile_.mark(i + 1, stream_);
  }
  return Status();
}

/// The steps on the session's stream: the graph once captured, else eagerly
/// (DS_CUDA_PROFILE=graph puts an event on either side).
Status CudaSession::launchSteps() {
  bool timeRun = profile_.mode() == StepProfile::Graph;
  if (timeRun)
    profile_.mark(0, stream_);
  Status s =
      graph_ ? cu_.check(cu_.cuGraphLaunch(graph_, stream_), "cuGraphLaunch") : enqueueSteps();
  if (s && timeRun)
    profile_.mark(1, stream_);
  return s;
}

/// A static program captures after its first (eager) run; a dynamic one
/// once the same shapes ran twice in a row, since a decode loop changes them
/// every step and a capture costs more than the launches it saves once.
bool CudaSession::graphWanted() {
  if (graphTried_)
    return false;
  return !program_.dynamic || ++sameShapeRuns_ >= 2;
}

/// Records the step list once as a CUDA Graph; later runs replay it with one
/// launch. Falls back to eager launches (and says so) when capture fails.
void CudaSession::captureGraph() {
  graphTried_ = true;
  const char *env = std::getenv("DS_CUDA_GRAPH");
  if ((env && std::strcmp(env, "0") == 0) || ops_.empty() ||
      profile_.mode() == StepProfile::Steps) // per-step events need eager launches
    return;
  CUgraph graph = nullptr;
  Status s = cu_.check(cu_.cuStreamBeginCapture(stream_, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                       "cuStreamBeginCapture");
  if (s) {
    Status enqueued = enqueueSteps();
    // End the capture whatever happened, so that the stream leaves capture mode.
    Status ended = cu_.check(cu_.cuStreamEndCapture(stream_, &graph), "cuStreamEndCapture");
    s = !enqueued ? enqueued : ended;
  }
  if (s)
    s = cu_.check(cu_.cuGraphInstantiate(&graph_, graph, 0), "cuGraphInstantiate");
  if (graph)
    cu_.cuGraphDestroy(graph);
  if (!s) {
    graph_ = nullptr;
    std::fprintf(stderr, "ds: CUDA graph capture failed, running the steps eagerly: %s\n",
                 s.message().c_str());
  }
}

Status CudaSession::run(const ds_tensor *inputs, int32_t numInputs) {
  std::vector<int64_t> symbols;
  Status s = validateInputs(program_, inputs, numInputs, &symbols);
  if (!s)
    return s;
  hasRun_ = false;
  s = cu_.check(cu_.cuCtxSetCurrent(context_), "cuCtxSetCurrent");
  if (s && program_.dynamic)
    s = plan(symbols);
  if (s)
    s = bind(ownPointers_); // after a device-resident run, the session's own buffers again
  for (int32_t i = 0; s && i < numInputs; ++i) {
    char *staged = static_cast<char *>(hostIn_) + inputOffsets_[i];
    std::memcpy(staged, inputs[i].data, inputs[i].byte_size);
    if (inputs[i].byte_size)
      s = cu_.check(cu_.cuMemcpyHtoDAsync(inputs_ + inputOffsets_[i], staged,
                                          inputs[i].byte_size, stream_),
                    "copying input " + std::to_string(i) + " to the device");
  }
  if (s)
    s = launchSteps();
  for (size_t i = 0; s && i < program_.outputs.size(); ++i) {
    uint32_t id = program_.outputs[i];
    if (values_[id].bytes)
      s = cu_.check(cu_.cuMemcpyDtoHAsync(outputs_[i].data, pointers_[id], values_[id].bytes,
                                          stream_),
                    "copying output " + std::to_string(i) + " to the host");
  }
  Status synced = cu_.check(cu_.cuStreamSynchronize(stream_), "running the steps");
  if (!s)
    return s;
  if (!synced)
    return synced;
  profile_.collect();
  hasRun_ = true;
  if (graphWanted())
    captureGraph(); // after one eager run: every kernel and cuBLASLt algorithm is loaded
  return Status();
}

/// Device-resident operands (inputs already validated, a dynamic program
/// planned): the outputs with the model's dtypes, dims and sizes for these
/// inputs; every pointer non-null and 16-byte aligned (the kernels' vector
/// loads and cuBLASLt assume it).
Status CudaSession::checkDeviceOutputs(const ds_tensor *inputs, int32_t numInputs,
                                       const ds_tensor *outputs, int32_t numOutputs) const {
  if (numOutputs != (int32_t)program_.outputs.size() || (numOutputs > 0 && !outputs))
    return Status::error("the model has " + std::to_string(program_.outputs.size()) +
                             " outputs, got " + std::to_string(numOutputs) + " output tensors",
                         DS_INVALID_ARGUMENT);
  for (int32_t i = 0; i < numOutputs; ++i) {
    const ValueInfo &v = values_[program_.outputs[i]];
    const ds_tensor &o = outputs[i];
    std::string where = "output " + std::to_string(i) + " ('" + v.name + "')";
    bool sameDims = o.rank == (int32_t)v.dims.size() && (o.rank == 0 || o.dims);
    for (int32_t d = 0; sameDims && d < o.rank; ++d)
      sameDims = o.dims[d] == v.dims[d];
    if ((int32_t)o.dtype != (int32_t)v.dtype || !sameDims || o.byte_size != v.bytes)
      return Status::error(where + " must be " + ds_dtype_name(v.dtype) + " " +
                               formatDims(v.dims.data(), v.dims.size()) + " (" +
                               std::to_string(v.bytes) + " bytes)",
                           DS_INVALID_ARGUMENT);
  }
  auto aligned = [](const ds_tensor &t) {
    return t.byte_size == 0 || (t.data && reinterpret_cast<uintptr_t>(t.data) % 16 == 0);
  };
  for (int32_t i = 0; i < numInputs; ++i)
    if (!aligned(inputs[i]))
      return Status::error("input " + std::to_string(i) + ": the device pointer must be non-null "
                           "and 16-byte aligned",
                           DS_INVALID_ARGUMENT);
  for (int32_t i = 0; i < numOutputs; ++i)
    if (!aligned(outputs[i]))
      return Status::error("output " + std::to_string(i) + ": the device pointer must be "
                           "non-null and 16-byte aligned",
                           DS_INVALID_ARGUMENT);
  return Status();
}

Status CudaSession::runDevice(const ds_tensor *inputs, int32_t numInputs,
                              const ds_tensor *outputs, int32_t numOutputs, void *stream) {
  std::vector<int64_t> symbols;
  Status s = validateInputs(program_, inputs, numInputs, &symbols);
  if (s && program_.dynamic) {
    s = cu_.check(cu_.cuCtxSetCurrent(context_), "cuCtxSetCurrent");
    if (s)
      s = plan(symbols);
  }
  if (s)
    s = checkDeviceOutputs(inputs, numInputs, outputs, numOutputs);
  if (!s)
    return s;
  if (!cu_.canOrderStreams())
    return Status::error("device-resident runs need cuEventRecord and cuStreamWaitEvent, which "
                         "this driver lacks",
                         DS_UNSUPPORTED);
  hasRun_ = false; // ds_session_output holds host runs' outputs only
  s = cu_.check(cu_.cuCtxSetCurrent(context_), "cuCtxSetCurrent");
  if (s && !callerReady_)
    s = cu_.check(cu_.cuEventCreate(&callerReady_, CU_EVENT_DISABLE_TIMING), "cuEventCreate");
  if (s && !stepsDone_)
    s = cu_.check(cu_.cuEventCreate(&stepsDone_, CU_EVENT_DISABLE_TIMING), "cuEventCreate");
  if (!s)
    return s;

  // The steps read the caller's inputs in place and write each output where
  // the caller wants it, unless the output is an input, a constant or an
  // output already placed: those are copied after the steps.
  std::vector<CUdeviceptr> wanted = ownPointers_;
  std::vector<char> placed(program_.values.size(), 0);
  for (int32_t i = 0; i < numInputs; ++i) {
    wanted[program_.inputs[i]] = reinterpret_cast<CUdeviceptr>(inputs[i].data);
    placed[program_.inputs[i]] = 1;
  }
  std::vector<std::pair<uint32_t, CUdeviceptr>> copies;
  for (int32_t i = 0; i < numOutputs; ++i) {
    uint32_t id = program_.outputs[i];
    CUdeviceptr dst = reinterpret_cast<CUdeviceptr>(outputs[i].data);
    if (program_.values[id].storage == DSX_STORAGE_ARENA && !placed[id]) {
      wanted[id] = dst;
      placed[id] = 1;
    } else {
      copies.emplace_back(id, dst);
    }
  }
  // A cuda.alias whose two values share bytes (a reshape) moves with its
  // output: the producer then writes straight into the caller's buffer.
  for (size_t i = program_.steps.size(); i-- > 0;) {
    const Step &step = program_.steps[i];
    if (step.op != "cuda.alias")
      continue;
    uint32_t from = step.inputs[0], to = step.outputs[0];
    if (wanted[to] != ownPointers_[to] && !placed[from] && ownPointers_[from] == ownPointers_[to] &&
        program_.values[from].storage == DSX_STORAGE_ARENA) {
      wanted[from] = wanted[to];
      placed[from] = 1;
    }
  }
  s = bind(wanted);
  if (!s)
    return s;

  CUstream caller = static_cast<CUstream>(stream);
  s = cu_.check(cu_.cuEventRecord(callerReady_, caller), "cuEventRecord on the caller's stream");
  if (s)
    s = cu_.check(cu_.cuStreamWaitEvent(stream_, callerReady_, 0), "cuStreamWaitEvent");
  if (s)
    s = launchSteps();
  for (size_t k = 0; s && k < copies.size(); ++k)
    if (uint64_t bytes = values_[copies[k].first].bytes)
      s = cu_.check(cu_.cuMemcpyDtoDAsync(copies[k].second, pointers_[copies[k].first], bytes,
                                          stream_),
                    "copying an output");
  if (s)
    s = cu_.check(cu_.cuEventRecord(stepsDone_, stream_), "cuEventRecord");
  if (s)
    s = cu_.check(cu_.cuStreamWaitEvent(caller, stepsDone_, 0),
                  "cuStreamWaitEvent on the caller's stream");
  if (!s)
    return s;
  if (profile_.mode() != StepProfile::Off)
    profile_.collect(); // waits for the run: profiling only
  if (graphWanted())
    captureGraph(); // after one eager run, as run() does
  return Status();
}

CudaSession::~CudaSession() {
  if (context_)
    cu_.cuCtxSetCurrent(context_);
  if (stream_)
    cu_.cuStreamSynchronize(stream_);
  profile_.finish();
  for (CUevent e : {callerReady_, stepsDone_})
    if (e)
      cu_.cuEventDestroy(e);
  if (graph_)
    cu_.cuGraphExecDestroy(graph_);
  ops_.clear(); // the GEMM plans before their handle
  if (ltHandle_)
    lt_->cublasLtDestroy(ltHandle_);
  if (module_)
    cu_.cuModuleUnload(module_);
  for (CUdeviceptr p : {arena_, constants_, inputs_, workspace_})
    if (p)
      cu_.cuMemFree(p);
  for (void *p : {hostIn_, hostOut_})
    if (p)
      cu_.cuMemFreeHost(p);
  if (stream_)
    cu_.cuStreamDestroy(stream_);
  if (contextRetained_)
    cu_.cuDevicePrimaryCtxRelease(device_);
}

} // namespace cuda
} // namespace dsrt
