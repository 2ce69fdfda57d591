//===- KernelRegistry.cpp - ds op name to CPU kernel ----------------------===//
#include "cpu/Kernels.h"

namespace dsrt {

const cpu::KernelTable &cpu::kernelTable() {
  static const KernelTable table = [] {
    KernelTable t;
    registerElementwiseKernels(t);
    registerReductionKernels(t);
    registerDataMovementKernels(t);
    registerContractionKernels(t);
    registerIntegerMatmulKernels(t);
    registerQuantizedWeightMatmulKernels(t);
    registerIntegerConvKernels(t);
    registerWindowKernels(t);
    registerAttentionKernels(t);
    registerSparseAttentionKernels(t);
    registerBlockLayoutKernel(t);
    registerAttentionGradKernels(t);
    registerSparseAttentionGradKernels(t);
    registerQuantKernels(t);
    registerSelectionKernels(t);
    registerAssertKernel(t);
    registerResizeKernel(t);
    return t;
  }();
  return table;
}

const CpuOp *findCpuOp(const std::string &opName) {
  const cpu::KernelTable &table = cpu::kernelTable();
  auto it = table.find(opName);
  return it == table.end() ? nullptr : &it->second;
}

} // namespace dsrt
