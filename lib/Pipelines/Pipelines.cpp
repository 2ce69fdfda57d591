//===- Pipelines.cpp - the ds compile pipeline ----------------------------===//
#include "ds/Pipelines/Pipelines.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void ds::buildCompilePipeline(OpPassManager &pm, const CompileOptions &) {
  // Fold what import left (shape arithmetic, casts of constants), then share
  // identical subexpressions; the efficiency passes slot in here.
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void ds::registerPipelines() {
  PassPipelineRegistration<>("ds-compile-pipeline",
                             "The passes ds-compile runs between import and the artifact",
                             [](OpPassManager &pm) { buildCompilePipeline(pm); });
}
