//===- ds-opt.cpp - MLIR-style pass driver that also reads .onnx ----------===//
//
// `.mlir` input goes straight to MlirOptMain. `.onnx` input is imported first
// (diagnostics name the ONNX node), written as bytecode in memory, and then
// handed to the same driver, so every pass and flag works on both.
//
//===----------------------------------------------------------------------===//
#include "ds/InitAll.h"
#include "ds/Target/ONNX/ONNXImporter.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "mlir/Support/FileUtilities.h"

using namespace mlir;

static llvm::cl::list<std::string> inputShapes(
    "ds-input-shape",
    llvm::cl::desc("Shape of a graph input for .onnx models, e.g. input_ids:1x128 "
                   "('?' keeps a dim dynamic); repeatable"),
    llvm::cl::value_desc("name:DIMxDIM"));

static llvm::cl::list<std::string> bindInputs(
    "ds-bind-input",
    llvm::cl::desc("Replace a graph input of an .onnx model by the constant in a "
                   "TensorProto file, e.g. axes=input_1.pb; repeatable"),
    llvm::cl::value_desc("name=file.pb"));

/// Prints an import diagnostic as `file: error: node 'name': message`.
static void printImportDiagnostic(StringRef file, Diagnostic &diag) {
  auto &os = llvm::errs();
  os << file << ": ";
  switch (diag.getSeverity()) {
  case DiagnosticSeverity::Error: os << "error: "; break;
  case DiagnosticSeverity::Warning: os << "warning: "; break;
  case DiagnosticSeverity::Note: os << "note: "; break;
  case DiagnosticSeverity::Remark: os << "remark: "; break;
  }
  // Nodes carry a bare name; initializers a name over the file location.
  if (auto name = dyn_cast<NameLoc>(diag.getLocation()))
    if (isa<UnknownLoc>(name.getChildLoc()))
      os << "node '" << name.getName().getValue() << "': ";
  os << diag.str() << "\n";
  for (Diagnostic &note : diag.getNotes())
    printImportDiagnostic(file, note);
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

  auto [inputFile, outputFile] =
      registerAndParseCLIOptions(argc, argv, "ds: MLIR optimizer driver (reads .mlir and .onnx)",
                                 registry);
  MlirOptMainConfig config = MlirOptMainConfig::createFromCLOptions();

  std::string error;
  auto output = openOutputFile(outputFile, &error);
  if (!output) {
    llvm::errs() << error << "\n";
    return 1;
  }

  std::unique_ptr<llvm::MemoryBuffer> buffer;
  if (StringRef(inputFile).ends_with(".onnx")) {
    ds::ImportOptions options;
    if (!ds::parseInputShapeSpecs(inputShapes, options, error) ||
        !ds::parseBindInputSpecs(bindInputs, options, error)) {
      llvm::errs() << "ds-opt: " << error << "\n";
      return 1;
    }
    MLIRContext context(registry);
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      printImportDiagnostic(inputFile, diag);
      return success();
    });
    OwningOpRef<ModuleOp> module = ds::importONNXFile(inputFile, &context, options);
    if (!module)
      return 1;
    std::string bytecode;
    llvm::raw_string_ostream os(bytecode);
    if (failed(writeBytecodeToFile(*module, os))) {
      llvm::errs() << "ds-opt: cannot serialize the imported module\n";
      return 1;
    }
    buffer = llvm::MemoryBuffer::getMemBufferCopy(bytecode, inputFile);
  } else {
    if (!inputShapes.empty() || !bindInputs.empty()) {
      llvm::errs() << "ds-opt: --ds-input-shape and --ds-bind-input apply to .onnx input only\n";
      return 1;
    }
    buffer = openInputFile(inputFile, &error);
    if (!buffer) {
      llvm::errs() << error << "\n";
      return 1;
    }
  }
  if (failed(MlirOptMain(output->os(), std::move(buffer), registry, config)))
    return 1;
  output->keep();
  return 0;
}
