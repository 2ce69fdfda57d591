//===- ds-compile.cpp - ONNX model to a ds runtime artifact ---------------===//
//
//   ds-compile model.onnx -o model.dsx [--ds-input-shape=name:1x128]
//
// Parses flags into a CompileRequest for ds::compileToArtifact (the entry
// point the Python package uses too) and prints the summary.
//
//===----------------------------------------------------------------------===//
#include "ds/Pipelines/Compile.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"

using namespace mlir;
namespace cl = llvm::cl;

/// ds-compile's own options: --help lists these and the importer's (MLIR's
/// debugging options, e.g. --mlir-print-ir-after-all, are accepted but not
/// listed).
static cl::OptionCategory compileCategory("ds-compile options");

static cl::opt<std::string> inputFile(cl::cat(compileCategory), cl::Positional,
                                      cl::desc("<model.onnx | module.mlir>"), cl::Required);
static cl::opt<std::string> outputFile(cl::cat(compileCategory), "o", cl::desc("Output artifact"),
                                       cl::value_desc("model.dsx"), cl::Required);
static cl::opt<std::string> target(cl::cat(compileCategory), "target",
                                   cl::desc("Backend: cpu or cuda"), cl::init("cpu"));
static cl::opt<std::string>
    dumpCUDA(cl::cat(compileCategory), "dump-cuda",
             cl::desc("With --target=cuda, write the generated CUDA source"),
             cl::value_desc("file or -"));
static cl::opt<bool> fuse(cl::cat(compileCategory), "fuse",
                          cl::desc("Group ops into fusion groups that run as one unit (default "
                                   "on; --fuse=false runs the CPU program op by op)"),
                          cl::init(true));
static cl::opt<bool> raiseAttention(
    cl::cat(compileCategory), "raise-attention",
    cl::desc("Replace exported softmax(QKᵀ·scale + mask)·V subgraphs with one fused attention "
             "(default on; --raise-attention=false keeps the graph's own ops)"),
    cl::init(true));
static cl::opt<int64_t> attentionWindow(
    cl::cat(compileCategory), "attention-window",
    cl::desc("Sparse attention: each causal query sees only this many keys ending at its "
             "diagonal (0, the default: dense)"),
    cl::init(0));
static cl::opt<int64_t>
    attentionSinks(cl::cat(compileCategory), "attention-sinks",
                   cl::desc("With --attention-window: the first keys every query also sees"),
                   cl::init(0));
static cl::opt<int64_t> attentionSelectBlocks(
    cl::cat(compileCategory), "attention-select-blocks",
    cl::desc("Sparse attention, NSA-style: each causal query block also sees this many earlier "
             "key blocks, chosen at run time by block scores (instead of a window)"),
    cl::init(0));
static cl::opt<int64_t> attentionBlockSize(
    cl::cat(compileCategory), "attention-block-size",
    cl::desc("Block size of --attention-select-blocks (1 to 128) and of the block layouts (1 to "
             "1024)"),
    cl::init(64));
static cl::opt<int64_t> attentionLocalBlocks(
    cl::cat(compileCategory), "attention-local-blocks",
    cl::desc("Sparse attention with a block layout: each query block sees the n key "
             "blocks ending at its diagonal (in encoders, within n - 1 on either side)"),
    cl::init(0));
static cl::opt<int64_t> attentionStrideBlocks(
    cl::cat(compileCategory), "attention-stride-blocks",
    cl::desc("Block layout: also every n-th key block counting back from the diagonal "
             "(Sparse Transformers' strided pattern)"),
    cl::init(0));
static cl::opt<int64_t> attentionGlobalBlocks(
    cl::cat(compileCategory), "attention-global-blocks",
    cl::desc("Block layout: also the first n key blocks (in encoders the first n query blocks "
             "see every key)"),
    cl::init(0));
static cl::opt<std::string> attentionLayoutFile(
    cl::cat(compileCategory), "attention-layout-file",
    cl::desc("Sparse attention with your own block layout: a .npy file of 0 / 1 (or bools), "
             "[query blocks, key blocks] for every head or [heads, query blocks, key blocks], "
             "blocks of --attention-block-size; every attention must have static lengths that "
             "make those blocks"),
    cl::value_desc("layout.npy"));
static cl::list<std::string> attentionDenseHeads(
    cl::cat(compileCategory), "attention-dense-heads", cl::CommaSeparated,
    cl::desc("Query heads --attention-window / --attention-select-blocks leave dense: H (in "
             "every attention) or N:H (in the N-th attention, from 0)"),
    cl::value_desc("H,N:H"));
static cl::opt<bool> attentionProbes(
    cl::cat(compileCategory), "attention-probes",
    cl::desc("Compile the artifact an attention-heads calibration run executes: "
             "--attention-window / --attention-sinks are measured, not applied (each "
             "attention's probability mass inside them becomes an extra output; ds-calibrate "
             "--attention-window does this itself)"));
static cl::opt<std::string> precision(
    cl::cat(compileCategory), "precision",
    cl::desc("Mixed precision: fp32 (default, unchanged), fp16 or bf16 (contractions and "
             "attention in that type, softmax / norms / reductions in fp32), or fp8 "
             "(contraction operands rounded to e4m3 with per-tensor scales; emulated on the CPU), "
             "or auto (the --precision-table's type, fp16 / bf16 / fp8, except the ops it saw "
             "overflow or miss fp32)"),
    cl::init("fp32"));
static cl::opt<std::string> precisionTable(
    cl::cat(compileCategory), "precision-table",
    cl::desc("The ops' measured low-precision errors for --precision=auto (ds-calibrate "
             "--precision=fp16|bf16|fp8)"),
    cl::value_desc("file"));
static cl::opt<double> precisionErrorBudget(
    cl::cat(compileCategory), "precision-error-budget",
    cl::desc("--precision=auto: the largest relative error an op may add in the low type "
             "(default 0: 16 unit roundoffs, 7.8e-3 for fp16, 6.25e-2 for bf16; 0.08 for fp8)"),
    cl::init(0.0));
static cl::opt<std::string> precisionProbes(
    cl::cat(compileCategory), "precision-probes",
    cl::desc("Compile the artifact a precision calibration run executes: each op mixed "
             "precision may lower also runs in this type (fp16 or bf16; fp8: the contractions "
             "and attention the fp8 policy rounds), both results are "
             "extra outputs (ds-calibrate --precision does this itself)"),
    cl::value_desc("fp16|bf16|fp8"));
static cl::opt<std::string> precisionReport(
    cl::cat(compileCategory), "precision-report",
    cl::desc("Write each op's precision under --precision and why (the class, a block list, "
             "or the measured error) to this file ('-': stdout)"),
    cl::value_desc("file"));
static cl::opt<std::string> quantize(
    cl::cat(compileCategory), "quantize",
    cl::desc("Quantization: none (default), dynamic (matmul and convolution weights to int8 at "
             "compile time, "
             "activations quantized at run time), static (activations quantized with the "
             "ranges of --calibration-table), or weight-only int8-weights / int4-weights "
             "(matmul weights as 8- / 4-bit codes, a byte each in the artifact, 4-bit ones packed "
             "two per byte at run time on AVX-512 CPUs; activations f32; CPU only)"),
    cl::init("none"));
static cl::opt<int64_t> weightBlockSize(
    cl::cat(compileCategory), "weight-block-size",
    cl::desc("Weight-only quantization: rows of the weight per scale (0: one per column; "
             "default: per column for int8-weights, 32 for int4-weights)"),
    cl::init(-1));
static cl::list<std::string> quantizeExcludeNodes(
    cl::cat(compileCategory), "quantize-exclude-nodes", cl::CommaSeparated,
    cl::desc("ONNX node names whose matmuls / convolutions stay f32 when quantizing"),
    cl::value_desc("node,node"));
static cl::opt<std::string>
    calibrationTable(cl::cat(compileCategory), "calibration-table",
                     cl::desc("Activation ranges for --quantize=static (ds-calibrate)"),
                     cl::value_desc("file"));
static cl::opt<bool> calibrationProbes(
    cl::cat(compileCategory), "calibration-probes",
    cl::desc("Compile the artifact a calibration run executes: the activations static "
             "quantization needs become extra outputs (ds-calibrate does this itself)"));
static cl::opt<bool> gradients(
    cl::cat(compileCategory), "gradients",
    cl::desc("Compile the gradient of the model's loss: the artifact outputs the loss and one "
             "gradient per parameter; parameters become inputs defaulting to their values"));
static cl::opt<std::string> loss(cl::cat(compileCategory), "loss",
                                 cl::desc("With --gradients: the output to differentiate "
                                          "(default: the only one-element float output)"));
static cl::opt<std::string> lossFunction(
    cl::cat(compileCategory), "loss-function",
    cl::desc("With --gradients: a standard loss of the output: mse (against a new input "
             "'target') or cross-entropy (logits against a new int64 input 'labels')"));
static cl::list<std::string> gradientParameters(
    cl::cat(compileCategory), "gradient-parameters", cl::CommaSeparated,
    cl::desc("With --gradients: the initializers to differentiate against (default: every "
             "float constant of two or more elements)"),
    cl::value_desc("name,name"));
static cl::opt<std::string> optimizer(
    cl::cat(compileCategory), "optimizer",
    cl::desc("With --gradients: compile one training step, sgd or adamw (outputs the next "
             "parameters and optimizer state)"));
static cl::opt<bool> lossScaling(
    cl::cat(compileCategory), "loss-scaling",
    cl::desc("With --gradients: dynamic loss scaling for fp16 (a loss_scale input; with "
             "--optimizer, steps whose gradients are not finite leave everything unchanged)"));
static cl::opt<bool> lsqGradScale(
    cl::cat(compileCategory), "lsq-grad-scale",
    cl::desc("With --gradients: scale the gradients of learned quantization step sizes by "
             "1/sqrt(N*Qp), as LSQ proposes (N: values per step size, Qp: largest integer)"));
static cl::opt<bool> fusedAttentionGrad(
    cl::cat(compileCategory), "fused-attention-grad",
    cl::desc("With --gradients: attention's backward as one fused op whose CPU kernel recomputes "
             "the probabilities tile by tile (default); =false composes it of matmuls and a "
             "softmax, holding each layer's [S, L] probabilities"),
    cl::init(true));
static cl::opt<double> learningRate(cl::cat(compileCategory), "learning-rate",
                                    cl::desc("Default learning rate"), cl::init(0.01));
static cl::opt<double> momentum(cl::cat(compileCategory), "momentum", cl::desc("SGD momentum"),
                                cl::init(0.0));
static cl::opt<double> adamBeta1(cl::cat(compileCategory), "adam-beta1", cl::desc("AdamW beta1"),
                                 cl::init(0.9));
static cl::opt<double> adamBeta2(cl::cat(compileCategory), "adam-beta2", cl::desc("AdamW beta2"),
                                 cl::init(0.999));
static cl::opt<double> adamEpsilon(cl::cat(compileCategory), "adam-epsilon",
                                   cl::desc("AdamW epsilon"), cl::init(1e-8));
static cl::opt<double> weightDecay(cl::cat(compileCategory), "weight-decay",
                                   cl::desc("Weight decay"), cl::init(0.0));
static cl::opt<std::string> rematBudget(
    cl::cat(compileCategory), "remat-budget",
    cl::desc("Rematerialize: recompute values near their uses instead of keeping them alive, "
             "until the intermediates' peak fits this many bytes (64MB, 1.5MiB, 4096)"),
    cl::value_desc("bytes"));
static cl::opt<std::string> rematStrategy(
    cl::cat(compileCategory), "remat-strategy",
    cl::desc("Rematerialization strategy: greedy (default), sqrt (Chen's sqrt(n) checkpoints; "
             "applies without a budget) or optimal (exhaustive, small graphs)"),
    cl::init("greedy"));
static cl::opt<std::string> costReport(
    cl::cat(compileCategory), "cost-report",
    cl::desc("Write FLOPs, bytes moved, roofline time (this CPU and an H200) and memory of the "
             "model after import and after each efficiency pass"),
    cl::value_desc("file or -"));
static cl::opt<std::string> costReportFormat(cl::cat(compileCategory), "cost-report-format",
                                             cl::desc("text (default) or json (JSON Lines)"),
                                             cl::init("text"));
static cl::opt<bool> quiet(cl::cat(compileCategory), "quiet",
                           cl::desc("Do not print the compile summary"));

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
  // libLLVM's own options (hundreds: code generation for every target it
  // holds) and MLIR's are accepted but not listed.
  cl::HideUnrelatedOptions({&compileCategory, &ds::importOptionCategory()});
  cl::ParseCommandLineOptions(argc, argv,
                              "ds-compile: ONNX model to a ds runtime artifact\n\n"
                              "  MLIR's debugging options (--mlir-print-ir-after-all, ...) are\n"
                              "  accepted too; ds-opt lists them.\n");

  ds::CompileRequest request;
  request.inputPath = inputFile;
  request.outputPath = outputFile;
  request.pipeline.target = target;
  request.pipeline.fuse = fuse;
  request.pipeline.raiseAttention = raiseAttention;
  request.pipeline.attentionWindow = attentionWindow;
  request.pipeline.attentionSinks = attentionSinks;
  request.pipeline.attentionSelectBlocks = attentionSelectBlocks;
  request.pipeline.attentionBlockSize = attentionBlockSize;
  request.pipeline.attentionLocalBlocks = attentionLocalBlocks;
  request.pipeline.attentionStrideBlocks = attentionStrideBlocks;
  request.pipeline.attentionGlobalBlocks = attentionGlobalBlocks;
  request.pipeline.attentionLayoutFile = attentionLayoutFile;
  request.pipeline.attentionDenseHeads.assign(attentionDenseHeads.begin(),
                                              attentionDenseHeads.end());
  request.pipeline.precision = precision;
  request.pipeline.precisionTable = precisionTable;
  request.pipeline.precisionErrorBudget = precisionErrorBudget;
  request.pipeline.precisionProbes = precisionProbes;
  request.pipeline.precisionReport = precisionReport;
  request.pipeline.quantize = quantize;
  request.pipeline.weightBlockSize = weightBlockSize;
  request.pipeline.calibrationTable = calibrationTable;
  request.pipeline.quantizeExcludeNodes.assign(quantizeExcludeNodes.begin(),
                                               quantizeExcludeNodes.end());
  request.pipeline.calibrationProbes = calibrationProbes;
  request.pipeline.attentionProbes = attentionProbes;
  request.pipeline.gradients = gradients;
  request.pipeline.loss = loss;
  request.pipeline.lossFunction = lossFunction;
  request.pipeline.gradientParameters.assign(gradientParameters.begin(), gradientParameters.end());
  request.pipeline.optimizer = optimizer;
  request.pipeline.lossScaling = lossScaling;
  request.pipeline.lsqGradScale = lsqGradScale;
  request.pipeline.fusedAttentionGrad = fusedAttentionGrad;
  request.pipeline.learningRate = learningRate;
  request.pipeline.momentum = momentum;
  request.pipeline.beta1 = adamBeta1;
  request.pipeline.beta2 = adamBeta2;
  request.pipeline.epsilon = adamEpsilon;
  request.pipeline.weightDecay = weightDecay;
  request.pipeline.rematBudget = rematBudget;
  request.pipeline.rematStrategy = rematStrategy;
  request.pipeline.costReport = costReport;
  request.pipeline.costReportFormat = costReportFormat;
  request.cudaSourcePath = dumpCUDA;
  // The limits (--ds-max-*) apply to every input; shapes and bindings name
  // graph inputs of an ONNX model.
  std::string error;
  if (!ds::getImportOptionsFromCL(request.import, error)) {
    llvm::errs() << "ds-compile: " << error << "\n";
    return 1;
  }
  if (!StringRef(inputFile).ends_with(".onnx") &&
      (!request.import.inputShapes.empty() || !request.import.boundInputs.empty())) {
    llvm::errs() << "ds-compile: --ds-input-shape and --ds-bind-input apply to .onnx input only\n";
    return 1;
  }
  request.configurePassManager = [](PassManager &pm) { return applyPassManagerCLOptions(pm); };

  DialectRegistry registry;
  ds::registerCompilerDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  context.printOpOnDiagnostic(false);
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    ds::printDiagnostic(llvm::errs(), inputFile, diag);
    return success();
  });
  ds::CompileSummary summary;
  if (failed(ds::compileToArtifact(context, request, &summary)))
    return 1;
  if (quiet)
    return 0;
  const ds::ArtifactStats &stats = summary.artifact;
  double saved = stats.intermediateBytes
                     ? 100.0 * (1.0 - (double)stats.arenaBytes / stats.intermediateBytes)
                     : 0.0;
  llvm::outs() << "ds-compile: wrote " << outputFile << " (" << human(stats.fileBytes) << ", "
               << stats.steps << " steps)\n"
               << "  constants: " << human(stats.constantBytes) << "\n";
  if (stats.fusedGroups)
    llvm::outs() << "  fusion:    " << stats.fusedSteps << " steps in " << stats.fusedGroups
                 << " groups of two or more\n";
  llvm::outs() << "  arena:     " << human(stats.arenaBytes) << " for "
               << human(stats.intermediateBytes) << " of intermediate tensors ("
               << llvm::format("%.1f", saved) << "% saved by reuse)\n";
  if (target == "cuda") {
    llvm::outs() << "  cuda:      " << summary.cudaKernels << " kernels, " << summary.cudaImages
                 << " images (NVRTC";
    for (const auto &[arch, seconds] : summary.nvrtcSeconds)
      llvm::outs() << " " << arch << " " << llvm::format("%.2f", seconds) << " s";
    llvm::outs() << ")\n";
  }
  return 0;
}
