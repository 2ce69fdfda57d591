//===- KernelRegistry.cpp - ds op name to CPU kernel ----------------------===//
#include "cpu/Kernels.h"

namespace dsrt {

const CpuOp *findCpuOp(const std::string &opName) {
  static const cpu::KernelTable table = [] {
    cpu::KernelTable t;
    cpu::registerElementwiseKernels(t);
    cpu::registerReductionKernels(t);
    cpu::registerDataMovementKernels(t);
    cpu::registerContractionKernels(t);
    cpu::registerIntegerMatmulKernels(t);
    cpu::registerWindowKernels(t);
    cpu::registerAttentionKernels(t);
    cpu::registerQuantKernels(t);
    cpu::registerSelectionKernels(t);
    return t;
  }();
  auto it = table.find(opName);
  return it == table.end() ? nullptr : &it->second;
}

} // namespace dsrt
