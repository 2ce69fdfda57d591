//===- ds-compile.cpp - ONNX model to a ds runtime artifact ---------------===//
//
//   ds-compile model.onnx -o model.dsx [--ds-input-shape=name:1x128]
//
// Imports the model, runs the registered compile pipeline (the same one
// `ds-opt --ds-compile-pipeline` runs) and writes the artifact.
//
//===----------------------------------------------------------------------===//
#include "ds/InitAll.h"
#include "ds/Pipelines/Pipelines.h"
#include "ds/Support/OutputFile.h"
#include "ds/Target/Artifact/ArtifactWriter.h"
#include "ds/Target/CUDA/CUDAEmitter.h"
#include "ds/Target/CUDA/NVRTCCompiler.h"
#include "ds/Target/ONNX/ONNXImporter.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "mlir/Support/FileUtilities.h"

using namespace mlir;
namespace cl = llvm::cl;

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.onnx | module.mlir>"),
                                      cl::Required);
static cl::opt<std::string> outputFile("o", cl::desc("Output artifact"),
                                       cl::value_desc("model.dsx"), cl::Required);
static cl::opt<std::string> target("target", cl::desc("Backend: cpu or cuda"), cl::init("cpu"));
static cl::opt<std::string> dumpCUDA("dump-cuda",
                                     cl::desc("With --target=cuda, write the generated CUDA source"),
                                     cl::value_desc("file or -"));
static cl::opt<bool> quiet("quiet", cl::desc("Do not print the compile summary"));

static std::string human(uint64_t bytes) {
  std::string s;
  llvm::raw_string_ostream os(s);
  if (bytes >= (1u << 20))
    os << llvm::format("%.2f MiB", bytes / 1048576.0);
  else if (bytes >= 1024)
    os << llvm::format("%.1f KiB", bytes / 1024.0);
  else
    os << bytes << " B";
  return s;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerAsmPrinterCLOptions();
  ds::registerImportCLOptions();
  cl::ParseCommandLineOptions(argc, argv, "ds-compile: ONNX model to a ds runtime artifact\n");

  if (target != "cpu" && target != "cuda") {
    llvm::errs() << "ds-compile: target '" << target << "' is not available (targets: cpu, cuda)\n";
    return 1;
  }
  DialectRegistry registry;
  ds::registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);

  OwningOpRef<ModuleOp> module;
  ds::ImportOptions importOptions;
  std::vector<std::string> inputFiles; // the outputs must not be one
  if (StringRef(inputFile).ends_with(".onnx")) {
    std::string error;
    if (!ds::getImportOptionsFromCL(importOptions, error)) {
      llvm::errs() << "ds-compile: " << error << "\n";
      return 1;
    }
    module = ds::importONNXFile(inputFile, &context, importOptions, &inputFiles);
  } else {
    inputFiles.push_back(inputFile);
    module = parseSourceFile<ModuleOp>(inputFile, sourceMgr, &context);
  }
  if (!module)
    return 1;
  for (const std::string &output : {outputFile.getValue(), dumpCUDA.getValue()})
    if (!output.empty())
      if (llvm::Error e = ds::checkOutputIsNotAnInput(output, inputFiles)) {
        llvm::errs() << inputFile << ": error: " << llvm::toString(std::move(e)) << "\n";
        return 1;
      }

  PassManager pm(&context, module->getOperationName());
  if (failed(applyPassManagerCLOptions(pm)))
    return 1;
  ds::CompileOptions options;
  options.target = target;
  ds::buildCompilePipeline(pm, options);
  if (failed(pm.run(*module)))
    return 1;

  ds::ArtifactStats stats;
  ds::TargetPayload payload;
  std::vector<ds::NVRTCTiming> timings;
  unsigned kernels = 0;
  if (target == "cuda") {
    // Fusion groups -> CUDA C++ -> cubin / PTX (NVRTC, no GPU needed).
    if (failed(ds::prepareGroupsForCUDA(*module)))
      return 1;
    FailureOr<ds::CUDAProgram> program = ds::emitCUDA(*module);
    if (failed(program))
      return 1;
    if (!dumpCUDA.empty()) { // before NVRTC, so that a failing source can be read
      if (llvm::Error e = ds::writeFileAtomically(dumpCUDA, [&](llvm::raw_fd_ostream &os) {
            os << program->source;
            return llvm::Error::success();
          })) {
        llvm::errs() << "ds-compile: " << llvm::toString(std::move(e)) << "\n";
        return 1;
      }
    }
    FailureOr<std::vector<ds::ArtifactImage>> images =
        ds::compileWithNVRTC(program->source, module->getLoc(), &timings);
    if (failed(images))
      return 1;
    payload.target = 1; // DSX_TARGET_CUDA
    payload.steps = std::move(program->steps);
    payload.images = std::move(*images);
    kernels = program->kernels;
  }
  if (failed(ds::writeArtifact(*module, outputFile, &stats, target == "cuda" ? &payload : nullptr,
                               importOptions.limits.maxArtifactBytes)))
    return 1;
  if (!quiet) {
    double saved = stats.intermediateBytes
                       ? 100.0 * (1.0 - (double)stats.arenaBytes / stats.intermediateBytes)
                       : 0.0;
    llvm::outs() << "ds-compile: wrote " << outputFile << " (" << human(stats.fileBytes) << ", "
                 << stats.steps << " steps)\n"
                 << "  constants: " << human(stats.constantBytes) << "\n"
                 << "  arena:     " << human(stats.arenaBytes) << " for "
                 << human(stats.intermediateBytes) << " of intermediate tensors ("
                 << llvm::format("%.1f", saved) << "% saved by reuse)\n";
    if (target == "cuda") {
      llvm::outs() << "  cuda:      " << kernels << " kernels, " << payload.images.size()
                   << " images (NVRTC";
      for (const ds::NVRTCTiming &t : timings)
        llvm::outs() << " " << t.arch << " " << llvm::format("%.2f", t.seconds) << " s";
      llvm::outs() << ")\n";
    }
  }
  return 0;
}
