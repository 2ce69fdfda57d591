//===- CompileFile.h - compile a model file, for embedders ------*- C++ -*-===//
//
// The compile entry point for code that does not see MLIR or LLVM types (the
// Python package's extension is built with exceptions and RTTI, which the
// compiler's libraries are not): plain strings in, formatted diagnostics out.
//
//===----------------------------------------------------------------------===//
#ifndef DS_PIPELINES_COMPILEFILE_H
#define DS_PIPELINES_COMPILEFILE_H

#include <string>
#include <vector>

namespace ds_compiler {

struct FileCompileOptions {
  std::string target = "cpu";
  /// Group ops into fusion groups (CompileOptions::fuse).
  bool fuse = true;
  /// Raise exported attention subgraphs (CompileOptions::raiseAttention).
  bool raiseAttention = true;
  /// CompileOptions::attentionWindow / attentionSinks (0: dense).
  long long attentionWindow = 0;
  long long attentionSinks = 0;
  /// CompileOptions::attentionSelectBlocks / attentionBlockSize.
  long long attentionSelectBlocks = 0;
  long long attentionBlockSize = 64;
  /// CompileOptions::attentionLocalBlocks / StrideBlocks / GlobalBlocks.
  long long attentionLocalBlocks = 0;
  long long attentionStrideBlocks = 0;
  long long attentionGlobalBlocks = 0;
  /// CompileOptions::attentionLayoutFile.
  std::string attentionLayoutFile;
  /// CompileOptions::attentionDenseHeads.
  std::vector<std::string> attentionDenseHeads;
  /// CompileOptions::attentionProbes.
  bool attentionProbes = false;
  /// Mixed precision (CompileOptions::precision): fp32, fp16, bf16 or fp8.
  std::string precision = "fp32";
  /// CompileOptions::precisionTable, precisionErrorBudget, precisionProbes,
  /// precisionReport.
  std::string precisionTable;
  double precisionErrorBudget = 0.0;
  std::string precisionProbes;
  std::string precisionReport;
  /// Quantization (CompileOptions::quantize): none, dynamic, static,
  /// int8-weights or int4-weights; CompileOptions::weightBlockSize.
  std::string quantize = "none";
  long long weightBlockSize = -1;
  /// CompileOptions::quantizeExcludeNodes, calibrationTable and
  /// calibrationProbes.
  std::vector<std::string> quantizeExcludeNodes;
  std::string calibrationTable;
  bool calibrationProbes = false;
  /// CompileOptions::gradients, loss and gradientParameters.
  bool gradients = false;
  std::string loss;
  std::string lossFunction;
  std::vector<std::string> gradientParameters;
  /// CompileOptions::optimizer and its hyperparameters.
  std::string optimizer;
  bool lossScaling = false;
  bool lsqGradScale = false;
  /// CompileOptions::fusedAttentionGrad.
  bool fusedAttentionGrad = true;
  double learningRate = 0.01, momentum = 0.0, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8,
         weightDecay = 0.0;
  /// CompileOptions::rematBudget / rematStrategy.
  std::string rematBudget;
  std::string rematStrategy = "greedy";
  /// CompileOptions::costReport / costReportFormat.
  std::string costReport;
  std::string costReportFormat = "text";
  /// `--ds-input-shape` specs: `name:1x128` (`?` keeps a dim dynamic).
  std::vector<std::string> inputShapes;
  /// `--ds-bind-input` specs: `name=path.pb`.
  std::vector<std::string> boundInputs;
};

/// Compiles `modelPath` (.onnx or .mlir) into an artifact at `outputPath`.
/// Returns false with the diagnostics, one `file: error: node 'x': ...` line
/// each, in `diagnostics`; nothing is written at `outputPath` then.
bool compileFile(const std::string &modelPath, const std::string &outputPath,
                 const FileCompileOptions &options, std::string &diagnostics);

} // namespace ds_compiler

#endif // DS_PIPELINES_COMPILEFILE_H
