//===- CudaSession.h - executing a cuda artifact ----------------*- C++ -*-===//
//
// One session = one primary context, one stream, one module loaded from the
// artifact's images, one device arena of the planned size, the constants
// uploaded once, pinned staging buffers for inputs and outputs, and one
// cuBLASLt plan per cuda.gemm step. The first run executes the steps eagerly
// (which also lets lazily loaded kernels load); the step list is then captured
// once into a CUDA Graph and every later run replays it.
//
// A program with dynamic dims is planned per input shape (plan()): its size
// programs give every value's dims, grids and GEMM extents, the arena
// planner places the values, device and pinned buffers grow to the largest
// plan, and kernels receive the dim symbols' sizes as trailing parameters.
// A graph is captured once a shape repeats (decoding changes it every step).
//
//===----------------------------------------------------------------------===//
#ifndef DS_RUNTIME_CUDA_CUDASESSION_H
#define DS_RUNTIME_CUDA_CUDASESSION_H

#include "core/Executor.h"
#include "cuda/CublasLt.h"
#include "cuda/CudaDriver.h"
#include "cuda/StepProfile.h"

namespace dsrt::cuda {

/// cudaMalloc's alignment; cuBLASLt's preferred one. Device buffers and
/// offsets are rounded up to it.
constexpr uint64_t kAlign = 256;
inline uint64_t alignUp(uint64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

class CudaSession : public Executor {
public:
  /// Opens the driver, loads the module and validates every step against it
  /// (kernel symbols, block size and shared memory limits of the device).
  static Status create(const Program &program, int device, std::unique_ptr<Executor> &out);
  ~CudaSession() override;

  Status run(const ds_tensor *inputs, int32_t numInputs) override;
  const Tensor &output(size_t i) const override { return outputs_[i]; }
  size_t numOutputs() const override { return outputs_.size(); }
  bool hasRun() const override { return hasRun_; }
  Status runDevice(const ds_tensor *inputs, int32_t numInputs, const ds_tensor *outputs,
                   int32_t numOutputs, void *stream) override;

private:
  explicit CudaSession(const Program &program, const Driver &driver)
      : program_(program), cu_(driver) {}
  Status init(int device);
  Status loadModule();
  Status prepareSteps();
  Status bindOperands();
  Status bind(const std::vector<CUdeviceptr> &wanted);
  Status enqueueSteps();
  Status launchSteps();
  void captureGraph();
  bool graphWanted();
  Status checkDeviceOutputs(const ds_tensor *inputs, int32_t numInputs,
                            const ds_tensor *outputs, int32_t numOutputs) const;
  Status allocateStatic();
  Status plan(const std::vector<int64_t> &symbols);
  Status grow(CUdeviceptr &p, uint64_t &capacity, uint64_t bytes, const char *what);
  Status growHost(void *&p, uint64_t &capacity, uint64_t bytes, const char *what);
  void bindOutputTensors();

  /// One step, ready to enqueue.
  struct Op {
    enum Kind { Launch, Gemm, Copy } kind = Launch;
    CUfunction function = nullptr;
    CudaLaunch launch;
    std::vector<CUdeviceptr> args;   ///< the kernel's parameters
    std::vector<void *> argPointers; ///< what cuLaunchKernel takes: &args[i]
    std::unique_ptr<GemmPlan> gemm;
    CudaGemm gemmSpec; ///< what a GEMM plan is made from (again, when operands move)
    DType abType = DS_F32, biasType = DS_F32, dType = DS_F32;
    CUdeviceptr src = 0, dst = 0; ///< cuda.alias whose bytes the writer did not share
    uint64_t bytes = 0;
    std::vector<SizeEntry> resultDims; ///< dynamic program: sizes of the results' dims
    bool empty = false;                ///< nothing to compute for these shapes
  };

  const Program &program_;
  const Driver &cu_;
  CUdevice device_ = 0;
  CUcontext context_ = nullptr;
  bool contextRetained_ = false;
  CUstream stream_ = nullptr;
  CUmodule module_ = nullptr;
  std::string moduleArch_;
  CUdeviceptr arena_ = 0, constants_ = 0, inputs_ = 0, workspace_ = 0;
  void *hostIn_ = nullptr, *hostOut_ = nullptr; ///< pinned staging
  std::vector<CUdeviceptr> pointers_;           ///< device address of every value id, as bound
  std::vector<CUdeviceptr> ownPointers_;        ///< the same in the session's own buffers
  std::vector<uint64_t> inputOffsets_;          ///< in inputs_ and hostIn_
  std::vector<uint64_t> outputOffsets_;         ///< in hostOut_
  std::vector<Tensor> outputs_;                 ///< views of hostOut_
  /// Dims and bytes of every value: the program's, or the current plan's.
  std::vector<ValueInfo> values_;
  std::vector<int64_t> symbols_; ///< sizes of the dim symbols values_ were planned for
  bool planned_ = false;
  int sameShapeRuns_ = 0;
  uint64_t arenaCapacity_ = 0, inputCapacity_ = 0, hostInCapacity_ = 0, hostOutCapacity_ = 0;
  const CublasLtApi *lt_ = nullptr;
  cublasLtHandle_t ltHandle_ = nullptr;
  std::vector<Op> ops_;
  std::vector<std::string> stepLabels_; ///< kernel name or GEMM shape, for the profile
  StepProfile profile_;                 ///< DS_CUDA_PROFILE
  CUevent callerReady_ = nullptr, stepsDone_ = nullptr; ///< orders runDevice with the caller
  CUgraphExec graph_ = nullptr;
  bool graphTried_ = false;
  bool hasRun_ = false;
};

} // namespace dsrt::cuda

#endif // DS_RUNTIME_CUDA_CUDASESSION_H
