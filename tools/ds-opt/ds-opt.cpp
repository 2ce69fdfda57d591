//===- ds-opt.cpp - MLIR-style pass driver that also reads .onnx ----------===//
//
// `.mlir` input goes straight to MlirOptMain. `.onnx` input is imported and
// run through the same command-line pass pipeline and printing flags in one
// context (diagnostics name the ONNX node).
//
//===----------------------------------------------------------------------===//
#include "ds/InitAll.h"
#include "ds/Support/OutputFile.h"
#include "ds/Pipelines/Compile.h"
#include "ds/Target/ONNX/ONNXImporter.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "mlir/Support/FileUtilities.h"

using namespace mlir;

/// Prints `module` as text. MLIR 19's printer renders every resource blob to
/// hex before it decides to elide it, which for a model's weights costs several
/// times their size; when blobs are to be elided anyway, print the ops one by
/// one so that the resource section (and that cost) never arises.
static void printModule(ModuleOp module, raw_ostream &os) {
  OpPrintingFlags flags; // initialized from the command line
  if (!flags.getLargeResourceStringLimit()) {
    module->print(os, flags);
    os << "\n";
    return;
  }
  os << "module";
  if (auto name = module.getSymName())
    os << " @" << *name;
  if (!module->getAttrs().empty())
    os << " attributes " << module->getAttrDictionary();
  os << " {\n";
  for (Operation &op : *module.getBody()) {
    op.print(os, flags);
    os << "\n";
  }
  os << "}\n";
}

/// Writes `outputFile` with `body` (to a temporary file renamed into place),
/// unless it is one of `inputs`. Returns the exit status.
static int writeOutput(StringRef outputFile, ArrayRef<std::string> inputs,
                       llvm::function_ref<LogicalResult(raw_ostream &)> body) {
  if (llvm::Error e = ds::checkOutputIsNotAnInput(outputFile, inputs)) {
    llvm::errs() << "ds-opt: error: " << llvm::toString(std::move(e)) << "\n";
    return 1;
  }
  bool bodyFailed = false; // diagnosed by the body itself
  llvm::Error e = ds::writeFileAtomically(outputFile, [&](llvm::raw_fd_ostream &os) {
    bodyFailed = failed(body(os));
    return bodyFailed ? llvm::createStringError(std::errc::invalid_argument, "failed")
                      : llvm::Error::success();
  });
  if (!e)
    return 0;
  std::string message = llvm::toString(std::move(e));
  if (!bodyFailed)
    llvm::errs() << "ds-opt: error: cannot write '" << outputFile << "': " << message << "\n";
  return 1;
}

/// Imports an .onnx model and runs the command line's pass pipeline on it in
/// one context, so weights are never serialized and re-read (MlirOptMain only
/// takes a text or bytecode buffer). Diagnostics name the ONNX node.
static int runOnONNX(StringRef inputFile, DialectRegistry &registry,
                     const MlirOptMainConfig &config, StringRef outputFile) {
  std::string error;
  ds::ImportOptions options;
  if (!ds::getImportOptionsFromCL(options, error)) {
    llvm::errs() << "ds-opt: " << error << "\n";
    return 1;
  }
  MLIRContext context(registry);
  context.allowUnregisteredDialects(config.shouldAllowUnregisteredDialects());
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    ds::printDiagnostic(llvm::errs(), inputFile, diag);
    return success();
  });
  std::vector<std::string> inputs;
  OwningOpRef<ModuleOp> module = ds::importONNXFile(inputFile, &context, options, &inputs);
  if (!module)
    return 1;
  PassManager pm(&context, module->getOperationName(), OpPassManager::Nesting::Implicit);
  pm.enableVerifier(config.shouldVerifyPasses());
  if (failed(applyPassManagerCLOptions(pm)) || failed(config.setupPassPipeline(pm)) ||
      failed(pm.run(*module)))
    return 1;
  return writeOutput(outputFile, inputs, [&](raw_ostream &os) -> LogicalResult {
    if (config.shouldEmitBytecode()) {
      BytecodeWriterConfig writerConfig;
      if (auto version = config.bytecodeVersionToEmit())
        writerConfig.setDesiredBytecodeVersion(*version);
      return writeBytecodeToFile(*module, os, writerConfig);
    }
    printModule(*module, os);
    return success();
  });
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Weights print as `dense_resource<name>` without their bytes unless the
  // user asks for another limit.
  std::vector<char *> args(argv, argv + argc);
  static char elideFlag[] = "--mlir-elide-resource-strings-if-larger=64";
  if (llvm::none_of(args, [](char *a) {
        return StringRef(a).starts_with("--mlir-elide-resource-strings-if-larger") ||
               StringRef(a).starts_with("-mlir-elide-resource-strings-if-larger");
      }))
    args.insert(args.begin() + 1, elideFlag);
  argc = (int)args.size();
  argv = args.data();
  DialectRegistry registry;
  ds::registerAllDialects(registry);
  ds::registerAllPasses();
  ds::registerImportCLOptions();

  auto [inputFile, outputFile] =
      registerAndParseCLIOptions(argc, argv, "ds: MLIR optimizer driver (reads .mlir and .onnx)",
                                 registry);
  MlirOptMainConfig config = MlirOptMainConfig::createFromCLOptions();

  if (StringRef(inputFile).ends_with(".onnx"))
    return runOnONNX(inputFile, registry, config, outputFile);

  if (ds::hasImportCLOptions()) {
    llvm::errs() << "ds-opt: --ds-input-shape, --ds-bind-input and --ds-max-* apply to .onnx "
                    "input only\n";
    return 1;
  }
  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> buffer = openInputFile(inputFile, &error);
  if (!buffer) {
    llvm::errs() << error << "\n";
    return 1;
  }
  return writeOutput(outputFile, {inputFile}, [&](raw_ostream &os) {
    return MlirOptMain(os, std::move(buffer), registry, config);
  });
}
