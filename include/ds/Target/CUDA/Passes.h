//===- Passes.h - the CUDA target's passes ----------------------*- C++ -*-===//
#ifndef DS_TARGET_CUDA_PASSES_H
#define DS_TARGET_CUDA_PASSES_H

#include "ds/Dialect/DS/IR/DSDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::ds {

#define GEN_PASS_DECL
#include "ds/Target/CUDA/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "ds/Target/CUDA/Passes.h.inc"

} // namespace mlir::ds

#endif // DS_TARGET_CUDA_PASSES_H
