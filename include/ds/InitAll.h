//===- InitAll.h - one registration point for ds tools ---------*- C++ -*-===//
#ifndef DS_INITALL_H
#define DS_INITALL_H

#include "ds/Dialect/DS/IR/DSDialect.h"
#include "ds/Dialect/DS/Transforms/Passes.h"
#include "ds/Pipelines/Pipelines.h"
#include "ds/Target/CUDA/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Transforms/Passes.h"

namespace mlir::ds {

/// Dialects every ds tool understands.
inline void registerAllDialects(DialectRegistry &registry) {
  registry.insert<DSDialect, func::FuncDialect>();
}

/// ds passes plus the upstream ones the pipelines use.
inline void registerAllPasses() {
  registerDSPasses();
  registerPipelines();
  registerDSCUDAPasses();
  registerCanonicalizerPass();
  registerCSEPass();
  registerSymbolDCEPass();
  registerInlinerPass();
}

} // namespace mlir::ds

#endif // DS_INITALL_H
