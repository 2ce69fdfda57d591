//===- Compile.cpp - one entry point from a model to an artifact ----------===//
#include "ds/Pipelines/Compile.h"
#include "ds/Pipelines/CompileFile.h"

#include "ds/Calibration/PrecisionTable.h"
#include "ds/InitAll.h"
#include "ds/Support/OutputFile.h"
#include "ds/Target/CUDA/CUDAEmitter.h"
#include "ds/Target/CUDA/NVRTCCompiler.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

void ds::registerCompilerDialects(DialectRegistry &registry) { registerAllDialects(registry); }

/// Every file read is added to `inputFiles` (the outputs must not be one).
static OwningOpRef<ModuleOp> loadInput(MLIRContext &context, const ds::CompileRequest &request,
                                       std::vector<std::string> &inputFiles) {
  if (StringRef(request.inputPath).ends_with(".onnx"))
    return ds::importONNXFile(request.inputPath, &context, request.import, &inputFiles);
  inputFiles.push_back(request.inputPath);
  return parseSourceFile<ModuleOp>(request.inputPath, &context);
}

/// Refuses outputs that would overwrite an input (also via a link), before
/// anything is written.
static LogicalResult checkOutputs(MLIRContext &context, const ds::CompileRequest &request,
                                  ArrayRef<std::string> inputFiles) {
  auto error = [&] { return emitError(FileLineColLoc::get(&context, request.inputPath, 0, 0)); };
  // The writer patches the header's checksum in place after streaming the
  // constants, which a pipe cannot take.
  if (request.outputPath.empty() || request.outputPath == "-")
    return error() << "the artifact needs a file to be written to, not '"
                   << request.outputPath << "'";
  for (const std::string &output :
       {request.outputPath, request.cudaSourcePath, request.pipeline.costReport})
    if (!output.empty())
      if (llvm::Error e = ds::checkOutputIsNotAnInput(output, inputFiles))
        return error() << llvm::toString(std::move(e));
  if (!request.cudaSourcePath.empty() && request.cudaSourcePath != "-") {
    SmallString<256> artifact(request.outputPath), source(request.cudaSourcePath);
    bool same = !llvm::sys::fs::make_absolute(artifact) && !llvm::sys::fs::make_absolute(source);
    llvm::sys::path::remove_dots(artifact, /*remove_dot_dot=*/true);
    llvm::sys::path::remove_dots(source, /*remove_dot_dot=*/true);
    bool equivalent = false;
    if ((same && artifact == source) ||
        (!llvm::sys::fs::equivalent(artifact, source, equivalent) && equivalent))
      return error() << "the CUDA source and the artifact would both be written to '"
                     << request.outputPath << "'";
  }
  return success();
}

/// Fusion groups -> CUDA C++ -> cubin / PTX (NVRTC, no GPU needed).
static LogicalResult buildCUDAPayload(ModuleOp module, const ds::CompileRequest &request,
                                      ds::TargetPayload &payload, ds::CompileSummary &summary) {
  FailureOr<ds::CUDAProgram> program = ds::emitCUDA(module);
  if (failed(program))
    return failure();
  if (!request.cudaSourcePath.empty()) {
    if (llvm::Error e = ds::writeFileAtomically(request.cudaSourcePath, [&](llvm::raw_fd_ostream &os) {
          os << program->source;
          return llvm::Error::success();
        }))
      return emitError(module.getLoc())
             << "cannot write the CUDA source to '" << request.cudaSourcePath
             << "': " << llvm::toString(std::move(e));
  }
  std::vector<ds::NVRTCTiming> timings;
  FailureOr<std::vector<ds::ArtifactImage>> images =
      ds::compileWithNVRTC(program->source, module.getLoc(), &timings);
  if (failed(images))
    return failure();
  for (const ds::NVRTCTiming &t : timings)
    summary.nvrtcSeconds.emplace_back(t.arch, t.seconds);
  summary.cudaKernels = program->kernels;
  summary.cudaImages = images->size();
  payload.target = 1; // DSX_TARGET_CUDA
  payload.steps = std::move(program->steps);
  payload.images = std::move(*images);
  return success();
}

LogicalResult ds::compileToArtifact(MLIRContext &context, const CompileRequest &request,
                                    CompileSummary *summary) {
  const std::string &target = request.pipeline.target;
  if (target != "cpu" && target != "cuda")
    return emitError(UnknownLoc::get(&context))
           << "target '" << target << "' is not available (targets: cpu, cuda)";
  const std::string &precision = request.pipeline.precision;
  if (precision != "fp32" && precision != "fp16" && precision != "bf16" && precision != "fp8" &&
      precision != "auto")
    return emitError(UnknownLoc::get(&context))
           << "precision '" << precision << "' is not available (fp32, fp16, bf16, fp8, auto)";
  if ((precision == "auto") != !request.pipeline.precisionTable.empty())
    return emitError(UnknownLoc::get(&context))
           << (precision == "auto" ? "precision 'auto' needs a precision table (ds-calibrate "
                                     "--precision=fp16|bf16|fp8 writes one)"
                                   : "a precision table is read by precision 'auto' only");
  // The table names ops of the fp32 model; quantization replaces some of
  // them, which would shift the names of the rest.
  if (precision == "auto" && request.pipeline.quantize != "none")
    return emitError(UnknownLoc::get(&context))
           << "precision 'auto' measures the fp32 model's ops: it does not combine with "
              "quantize '"
           << request.pipeline.quantize << "'";
  if (!(request.pipeline.precisionErrorBudget >= 0.0))
    return emitError(UnknownLoc::get(&context))
           << "the precision error budget must be at least 0 (0: the low type's default)";
  if (request.pipeline.precisionErrorBudget != 0.0 && precision != "auto")
    return emitError(UnknownLoc::get(&context))
           << "a precision error budget is for precision 'auto'";
  if (!request.pipeline.precisionReport.empty() && precision == "fp32")
    return emitError(UnknownLoc::get(&context))
           << "a precision report needs precision fp16, bf16, fp8 or auto (fp32 changes nothing)";
  const std::string &probes = request.pipeline.precisionProbes;
  if (!probes.empty() && !ds_calibration::isPrecisionTableType(probes))
    return emitError(UnknownLoc::get(&context))
           << "precision probes measure fp16, bf16 or fp8, not '" << probes << "'";
  if (!probes.empty() && (precision != "fp32" || request.pipeline.quantize != "none" ||
                          request.pipeline.calibrationProbes))
    return emitError(UnknownLoc::get(&context))
           << "a precision calibration run's artifact (precision probes) is compiled in fp32 "
              "without quantization or other probes";
  const ds::CompileOptions &pipeline = request.pipeline;
  if (!pipeline.attentionDenseHeads.empty() && pipeline.attentionWindow == 0 &&
      pipeline.attentionSelectBlocks == 0 && pipeline.attentionLocalBlocks == 0 &&
      pipeline.attentionStrideBlocks == 0 && pipeline.attentionGlobalBlocks == 0 &&
      pipeline.attentionLayoutFile.empty())
    return emitError(UnknownLoc::get(&context))
           << "heads to leave dense (attention dense heads) need a sparse pattern: an attention "
              "window, selected blocks or a block layout";
  const bool layout = pipeline.attentionLocalBlocks != 0 || pipeline.attentionStrideBlocks != 0 ||
                      pipeline.attentionGlobalBlocks != 0;
  if (pipeline.attentionProbes &&
      ((pipeline.attentionWindow <= 0) == !layout || pipeline.attentionSelectBlocks != 0 ||
       !pipeline.attentionDenseHeads.empty() || !pipeline.attentionLayoutFile.empty() ||
       pipeline.gradients || !pipeline.raiseAttention))
    return emitError(UnknownLoc::get(&context))
           << "attention probes measure an attention window (with sinks) or a block layout on "
              "raised attention: they need an attention window > 0 or a block layout (not "
              "both), and no block selection, layout file, dense heads or gradients";
  const std::string &quantize = request.pipeline.quantize;
  bool weightOnly = quantize == "int8-weights" || quantize == "int4-weights";
  if (quantize != "none" && quantize != "dynamic" && quantize != "static" && !weightOnly)
    return emitError(UnknownLoc::get(&context))
           << "quantize '" << quantize
           << "' is not available (none, dynamic, static, int8-weights, int4-weights)";
  if (request.pipeline.weightBlockSize != -1 && !weightOnly)
    return emitError(UnknownLoc::get(&context))
           << "a weight block size is for quantize int8-weights or int4-weights";
  // The CUDA backend has no kernel reading quantized weights: it would
  // dequantize them into f32 every run, more memory and traffic than fp32.
  if (weightOnly && target == "cuda")
    return emitError(UnknownLoc::get(&context))
           << "weight-only quantization (" << quantize
           << ") runs on the CPU backend: on CUDA the weights would be dequantized into f32 "
              "every run";
  if (request.pipeline.weightBlockSize < -1)
    return emitError(UnknownLoc::get(&context))
           << "the weight block size must be at least 0 (0: one scale per column)";
  bool hasTable = !request.pipeline.calibrationTable.empty();
  if (quantize == "static" && !hasTable)
    return emitError(UnknownLoc::get(&context))
           << "quantize 'static' needs a calibration table (ds-calibrate writes one)";
  // (A calibration run with SmoothQuant compiles its second probes with the
  // first run's table.)
  if (hasTable && quantize != "static" && !request.pipeline.calibrationProbes)
    return emitError(UnknownLoc::get(&context))
           << "a calibration table is read by quantize 'static' only";
  if (!request.pipeline.quantizeExcludeNodes.empty() && quantize == "none")
    return emitError(UnknownLoc::get(&context))
           << "nodes to exclude from quantization need a quantize other than 'none'";
  if (request.pipeline.calibrationProbes && (quantize != "none" || precision != "fp32"))
    return emitError(UnknownLoc::get(&context))
           << "a calibration run's artifact (calibration probes) is compiled in fp32 without "
              "quantization";
  if (!request.pipeline.gradients &&
      (!request.pipeline.loss.empty() || !request.pipeline.lossFunction.empty() ||
       !request.pipeline.gradientParameters.empty() || !request.pipeline.optimizer.empty() ||
       request.pipeline.lossScaling || request.pipeline.lsqGradScale))
    return emitError(UnknownLoc::get(&context))
           << "a loss, gradient parameters, an optimizer, loss scaling and LSQ's gradient scale "
              "are for a gradient compile (gradients on)";
  const std::string &optimizer = request.pipeline.optimizer;
  if (!optimizer.empty() && optimizer != "sgd" && optimizer != "adamw")
    return emitError(UnknownLoc::get(&context))
           << "optimizer '" << optimizer << "' is not available (sgd, adamw)";
  const std::string &remat = request.pipeline.rematStrategy;
  if (remat != "greedy" && remat != "sqrt" && remat != "optimal")
    return emitError(UnknownLoc::get(&context))
           << "remat strategy '" << remat << "' is not available (greedy, sqrt, optimal)";
  const std::string &costFormat = request.pipeline.costReportFormat;
  if (costFormat != "text" && costFormat != "json")
    return emitError(UnknownLoc::get(&context))
           << "cost report format '" << costFormat << "' is not available (text, json)";
  std::vector<std::string> inputFiles;
  OwningOpRef<ModuleOp> module = loadInput(context, request, inputFiles);
  if (!module || failed(checkOutputs(context, request, inputFiles)))
    return failure();

  PassManager pm(&context, module->getOperationName());
  // Tools apply the command line's pass-manager options (IR printing,
  // timing) through this hook of the context-owning caller.
  if (request.configurePassManager && failed(request.configurePassManager(pm)))
    return failure();
  buildCompilePipeline(pm, request.pipeline);
  if (failed(pm.run(*module)))
    return failure();

  CompileSummary local;
  CompileSummary &out = summary ? *summary : local;
  TargetPayload payload;
  if (target == "cuda" && failed(buildCUDAPayload(*module, request, payload, out)))
    return failure();
  return writeArtifact(*module, request.outputPath, &out.artifact,
                       target == "cuda" ? &payload : nullptr,
                       request.import.limits.maxArtifactBytes);
}

/// The file position a location points at, looking through names and fusion.
static FileLineColLoc findFilePosition(Location loc) {
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    return file;
  if (auto name = dyn_cast<NameLoc>(loc))
    return findFilePosition(name.getChildLoc());
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (FileLineColLoc file = findFilePosition(inner))
        return file;
  return {};
}

void ds::printDiagnostic(llvm::raw_ostream &os, StringRef file, Diagnostic &diag) {
  Location loc = diag.getLocation();
  // Text IR names a line; an imported model's ops name their ONNX node.
  // (The importer's file locations have line 0: the model, not a line.)
  FileLineColLoc position = findFilePosition(loc);
  if (position && position.getLine() > 0)
    os << position.getFilename().getValue() << ":" << position.getLine() << ":"
       << position.getColumn() << ": ";
  else
    os << file << ": ";
  switch (diag.getSeverity()) {
  case DiagnosticSeverity::Error: os << "error: "; break;
  case DiagnosticSeverity::Warning: os << "warning: "; break;
  case DiagnosticSeverity::Note: os << "note: "; break;
  case DiagnosticSeverity::Remark: os << "remark: "; break;
  }
  // Ops carry their node's bare name (canonicalization may fuse several).
  if (auto fused = dyn_cast<FusedLoc>(loc); fused && !fused.getLocations().empty())
    loc = fused.getLocations().front();
  if (auto name = dyn_cast<NameLoc>(loc))
    if (isa<UnknownLoc>(name.getChildLoc()))
      os << "node '" << name.getName().getValue() << "': ";
  os << diag.str() << "\n";
  for (Diagnostic &note : diag.getNotes())
    printDiagnostic(os, file, note);
}

bool ds::compileModelFile(const CompileRequest &request, std::string &diagnostics,
                          CompileSummary *summary) {
  DialectRegistry registry;
  registerCompilerDialects(registry);
  MLIRContext context(registry, MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  // A failing op is named by its node; the IR around it is no help to a
  // user of a model file.
  context.printOpOnDiagnostic(false);
  context.printStackTraceOnDiagnostic(false);
  llvm::raw_string_ostream os(diagnostics);
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    printDiagnostic(os, request.inputPath, diag);
    return success();
  });
  return succeeded(compileToArtifact(context, request, summary));
}

bool ds_compiler::compileFile(const std::string &modelPath, const std::string &outputPath,
                              const FileCompileOptions &options, std::string &diagnostics) {
  ds::CompileRequest request;
  request.inputPath = modelPath;
  request.outputPath = outputPath;
  request.pipeline.target = options.target;
  request.pipeline.fuse = options.fuse;
  request.pipeline.raiseAttention = options.raiseAttention;
  request.pipeline.attentionWindow = options.attentionWindow;
  request.pipeline.attentionSinks = options.attentionSinks;
  request.pipeline.attentionSelectBlocks = options.attentionSelectBlocks;
  request.pipeline.attentionBlockSize = options.attentionBlockSize;
  request.pipeline.attentionLocalBlocks = options.attentionLocalBlocks;
  request.pipeline.attentionStrideBlocks = options.attentionStrideBlocks;
  request.pipeline.attentionGlobalBlocks = options.attentionGlobalBlocks;
  request.pipeline.attentionLayoutFile = options.attentionLayoutFile;
  request.pipeline.attentionDenseHeads = options.attentionDenseHeads;
  request.pipeline.attentionProbes = options.attentionProbes;
  request.pipeline.precision = options.precision;
  request.pipeline.precisionTable = options.precisionTable;
  request.pipeline.precisionErrorBudget = options.precisionErrorBudget;
  request.pipeline.precisionProbes = options.precisionProbes;
  request.pipeline.precisionReport = options.precisionReport;
  request.pipeline.quantize = options.quantize;
  request.pipeline.weightBlockSize = options.weightBlockSize;
  request.pipeline.calibrationTable = options.calibrationTable;
  request.pipeline.quantizeExcludeNodes = options.quantizeExcludeNodes;
  request.pipeline.calibrationProbes = options.calibrationProbes;
  request.pipeline.gradients = options.gradients;
  request.pipeline.loss = options.loss;
  request.pipeline.lossFunction = options.lossFunction;
  request.pipeline.gradientParameters = options.gradientParameters;
  request.pipeline.optimizer = options.optimizer;
  request.pipeline.lossScaling = options.lossScaling;
  request.pipeline.lsqGradScale = options.lsqGradScale;
  request.pipeline.fusedAttentionGrad = options.fusedAttentionGrad;
  request.pipeline.learningRate = options.learningRate;
  request.pipeline.momentum = options.momentum;
  request.pipeline.beta1 = options.beta1;
  request.pipeline.beta2 = options.beta2;
  request.pipeline.epsilon = options.epsilon;
  request.pipeline.weightDecay = options.weightDecay;
  request.pipeline.rematBudget = options.rematBudget;
  request.pipeline.rematStrategy = options.rematStrategy;
  request.pipeline.costReport = options.costReport;
  request.pipeline.costReportFormat = options.costReportFormat;
  std::string error;
  if (!ds::parseInputShapeSpecs(options.inputShapes, request.import, error) ||
      !ds::parseBindInputSpecs(options.boundInputs, request.import, error)) {
    diagnostics = modelPath + ": error: " + error + "\n";
    return false;
  }
  return ds::compileModelFile(request, diagnostics);
}
