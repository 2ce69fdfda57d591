//===- Pipelines.cpp - the ds compile pipeline ----------------------------===//
#include "ds/Pipelines/Pipelines.h"

#include "ds/Dialect/DS/Transforms/Passes.h"
#include "ds/Target/CUDA/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void ds::buildCompilePipeline(OpPassManager &pm, const CompileOptions &options) {
  // Fold what import left (shape arithmetic, casts of constants), then share
  // identical subexpressions; the efficiency passes slot in here.
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // GPU kernels are emitted per fusion group. The CPU runtime executes ds ops
  // one by one and cannot run groups, so the CPU pipeline stays unfused.
  // (ds-fuse leaves existing groups alone, so running it again is harmless.)
  if (options.target == "cuda") {
    pm.addNestedPass<func::FuncOp>(ds::createFusePass());
    // The emitter's input: one group per kernel, matmuls split for cuBLASLt.
    pm.addNestedPass<func::FuncOp>(ds::createCUDAWrapOpsPass());
    pm.addNestedPass<func::FuncOp>(ds::createCUDASplitGemmGroupsPass());
  }
}

namespace {
/// The command-line spelling of CompileOptions:
/// `--ds-compile-pipeline="target=cuda"` is what `ds-compile --target=cuda` runs.
struct CompilePipelineOptions : public PassPipelineOptions<CompilePipelineOptions> {
  Option<std::string> target{*this, "target", llvm::cl::desc("Backend: cpu or cuda"),
                             llvm::cl::init("cpu")};
};
} // namespace

void ds::registerPipelines() {
  PassPipelineRegistration<CompilePipelineOptions>(
      "ds-compile-pipeline", "The passes ds-compile runs between import and the artifact",
      [](OpPassManager &pm, const CompilePipelineOptions &cl) {
        CompileOptions options;
        options.target = cl.target;
        buildCompilePipeline(pm, options);
      });
}
