//===- Compile.h - one entry point from a model to an artifact --*- C++ -*-===//
//
// `compileToArtifact` is what ds-compile, the Python package and tests call:
// import (or parse), the registered compile pipeline for the target, backend
// code generation and the artifact writer, with typed options in and the
// artifact's summary out. Tools only parse flags and print.
//
//===----------------------------------------------------------------------===//
#ifndef DS_PIPELINES_COMPILE_H
#define DS_PIPELINES_COMPILE_H

#include "ds/Pipelines/Pipelines.h"
#include "ds/Target/Artifact/ArtifactWriter.h"
#include "ds/Target/ONNX/ONNXImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"

#include <functional>
#include <string>
#include <vector>

namespace mlir::ds {

struct CompileRequest {
  /// An ONNX model (`.onnx`) or ds IR (`.mlir`, text or bytecode).
  std::string inputPath;
  /// Where the artifact goes (written to a temporary file, then renamed).
  std::string outputPath;
  ImportOptions import;
  CompileOptions pipeline;
  /// With the cuda target: also write the generated CUDA C++ here ("-" for
  /// stdout), before NVRTC runs so that a failing source can be read.
  std::string cudaSourcePath;
  /// Lets a tool apply its command line's pass-manager options (IR printing,
  /// timing, crash reproducers) before the pipeline is added.
  std::function<LogicalResult(PassManager &)> configurePassManager;
};

struct CompileSummary {
  ArtifactStats artifact;
  unsigned cudaKernels = 0;
  /// Architecture and seconds of each NVRTC compile (cuda target).
  std::vector<std::pair<std::string, double>> nvrtcSeconds;
  size_t cudaImages = 0;
};

/// Registers what a context needs to compile (the ds and func dialects).
void registerCompilerDialects(DialectRegistry &registry);

/// Compiles `request.inputPath` into an artifact at `request.outputPath`.
/// Errors go to `context`'s diagnostic handlers; on failure nothing is
/// written at the output path (a previous file there is left as it was).
LogicalResult compileToArtifact(MLIRContext &context, const CompileRequest &request,
                                CompileSummary *summary = nullptr);

/// Prints a diagnostic (and its notes) as `file: error: node 'name': message`
/// — the ONNX node named by the op's location, never the IR around it.
void printDiagnostic(llvm::raw_ostream &os, llvm::StringRef file, Diagnostic &diag);

/// compileToArtifact in a fresh context, for callers without MLIR types (the
/// Python package): false with every diagnostic, formatted by
/// printDiagnostic, in `diagnostics`.
bool compileModelFile(const CompileRequest &request, std::string &diagnostics,
                      CompileSummary *summary = nullptr);

} // namespace mlir::ds

#endif // DS_PIPELINES_COMPILE_H
