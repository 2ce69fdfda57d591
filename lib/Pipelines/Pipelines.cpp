//===- Pipelines.cpp - the ds compile pipeline ----------------------------===//
#include "ds/Pipelines/Pipelines.h"

#include "ds/Dialect/DS/Transforms/Passes.h"
#include "ds/Target/CUDA/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

/// Attention as exporters write it becomes one ds.attention (the scores are
/// never materialized), then the sparse pattern the options ask for; before
/// quantization, which leaves attention alone.
static void addAttentionPasses(OpPassManager &pm, const ds::CompileOptions &options,
                               llvm::function_ref<void(llvm::StringRef)> reportCost) {
  if (options.raiseAttention)
    pm.addNestedPass<func::FuncOp>(ds::createRaiseAttentionPass());
  if (options.attentionProbes) {
    ds::InsertAttentionProbesPassOptions probes;
    probes.window = options.attentionWindow;
    probes.sinks = options.attentionSinks;
    probes.blockSize = options.attentionBlockSize;
    probes.localBlocks = options.attentionLocalBlocks;
    probes.strideBlocks = options.attentionStrideBlocks;
    probes.globalBlocks = options.attentionGlobalBlocks;
    pm.addNestedPass<func::FuncOp>(ds::createInsertAttentionProbesPass(probes));
  } else if (options.attentionWindow != 0 || options.attentionSinks != 0 ||
      options.attentionSelectBlocks != 0 || options.attentionLocalBlocks != 0 ||
      options.attentionStrideBlocks != 0 || options.attentionGlobalBlocks != 0 ||
      !options.attentionLayoutFile.empty()) {
    ds::SparsifyAttentionPassOptions sparse;
    sparse.window = options.attentionWindow;
    sparse.sinks = options.attentionSinks;
    sparse.selectBlocks = options.attentionSelectBlocks;
    sparse.blockSize = options.attentionBlockSize;
    sparse.localBlocks = options.attentionLocalBlocks;
    sparse.strideBlocks = options.attentionStrideBlocks;
    sparse.globalBlocks = options.attentionGlobalBlocks;
    sparse.layoutFile = options.attentionLayoutFile;
    sparse.denseHeads = options.attentionDenseHeads;
    pm.addNestedPass<func::FuncOp>(ds::createSparsifyAttentionPass(sparse));
  }
  if (options.raiseAttention)
    reportCost("attention");
}

void ds::buildCompilePipeline(OpPassManager &pm, const CompileOptions &options) {
  // A gradient compile: parameters become arguments before anything folds
  // or merges the constants they are.
  if (options.gradients) {
    ds::PromoteParametersPassOptions promote;
    promote.parameters = options.gradientParameters;
    pm.addPass(ds::createPromoteParametersPass(promote));
  }
  // The cost after import and after each efficiency pass, one stage each,
  // so a user sees what each technique buys on their model.
  bool firstReport = true;
  auto reportCost = [&](llvm::StringRef stage) {
    if (options.costReport.empty())
      return;
    ds::CostReportPassOptions report;
    report.outputFile = options.costReport;
    report.format = options.costReportFormat;
    report.stage = stage.str();
    report.append = !firstReport;
    firstReport = false;
    pm.addPass(ds::createCostReportPass(report));
  };
  // Integer matmuls on 8-bit operands (MatMulInteger, dynamic quantization,
  // QDQ models), before folding turns dequantized 8-bit weights into f32. A
  // gradient compile keeps a QDQ model's fake quantization in f32, where
  // quantization-aware training differentiates it.
  if (!options.gradients)
    pm.addNestedPass<func::FuncOp>(ds::createFoldIntegerMatMulPass());
  // Fold what import left (shape arithmetic, casts of constants), then share
  // identical subexpressions; the efficiency passes slot in here.
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  reportCost("imported");
  // The gradient program, from the model's own ops after attention raising
  // (ds.attention's backward is one fused op; the sparse pattern a user
  // asks for is the one trained) and before fusion, whose groups have no
  // gradient rules; the backward ops then go through every pass below like
  // the forward ones.
  if (options.gradients) {
    addAttentionPasses(pm, options, reportCost);
    ds::AutodiffPassOptions autodiff;
    // The fused backward is a CPU kernel; other targets compose it.
    autodiff.fusedAttentionGrad = options.fusedAttentionGrad && options.target == "cpu";
    autodiff.loss = options.loss;
    autodiff.lossFunction = options.lossFunction;
    autodiff.scaleLoss = options.lossScaling;
    autodiff.lsqGradScale = options.lsqGradScale;
    autodiff.parameters = options.gradientParameters;
    pm.addPass(ds::createAutodiffPass(autodiff));
    if (!options.optimizer.empty()) {
      ds::OptimizerStepPassOptions step;
      step.optimizer = options.optimizer;
      step.lr = options.learningRate;
      step.momentum = options.momentum;
      step.beta1 = options.beta1;
      step.beta2 = options.beta2;
      step.epsilon = options.epsilon;
      step.weightDecay = options.weightDecay;
      pm.addPass(ds::createOptimizerStepPass(step));
    }
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
    reportCost("autodiff");
  }
  // After differentiation: a gradient program's backward reads the exported
  // GELU's intermediates, so it keeps them (and its rematerialization plan).
  pm.addNestedPass<func::FuncOp>(ds::createComposeGeluPass());
  if (!options.gradients)
    addAttentionPasses(pm, options, reportCost);
  // The compiler's own quantization, on the folded f32 weights.
  // A table calibrated with SmoothQuant smooths the activations first (its
  // ranges are those of the smoothed activations; a no-op otherwise).
  if (!options.calibrationTable.empty()) {
    ds::SmoothQuantPassOptions smooth;
    smooth.table = options.calibrationTable;
    pm.addNestedPass<func::FuncOp>(ds::createSmoothQuantPass(smooth));
  }
  if (options.calibrationProbes)
    pm.addNestedPass<func::FuncOp>(ds::createInsertCalibrationProbesPass());
  if (options.quantize == "dynamic") {
    ds::QuantizeDynamicPassOptions quantize;
    quantize.excludeNodes = options.quantizeExcludeNodes;
    pm.addNestedPass<func::FuncOp>(ds::createQuantizeDynamicPass(quantize));
  }
  if (options.quantize == "static") {
    ds::QuantizeStaticPassOptions quantize;
    quantize.table = options.calibrationTable;
    quantize.excludeNodes = options.quantizeExcludeNodes;
    pm.addNestedPass<func::FuncOp>(ds::createQuantizeStaticPass(quantize));
  }
  if (options.quantize == "int8-weights" || options.quantize == "int4-weights") {
    ds::QuantizeWeightsPassOptions weights;
    weights.bits = options.quantize == "int8-weights" ? 8 : 4;
    weights.blockSize = options.weightBlockSize >= 0 ? options.weightBlockSize
                        : weights.bits == 4         ? 32
                                                    : 0;
    weights.excludeNodes = options.quantizeExcludeNodes;
    pm.addNestedPass<func::FuncOp>(ds::createQuantizeWeightsPass(weights));
  }
  // The CPU reads weight-only quantized weights in their own width (ours, or
  // an ONNX model's DequantizeLinear on MatMul weights).
  if (options.target == "cpu")
    pm.addNestedPass<func::FuncOp>(ds::createFoldWeightDequantizePass());
  if (options.quantize != "none")
    reportCost("quantization");
  // Precision before fusion: the casts it inserts fuse into their neighbours.
  if (!options.precisionProbes.empty()) {
    ds::InsertPrecisionProbesPassOptions probes;
    probes.type = options.precisionProbes;
    pm.addNestedPass<func::FuncOp>(ds::createInsertPrecisionProbesPass(probes));
  }
  if (options.precision != "fp32") {
    ds::AssignPrecisionPassOptions precision;
    precision.policy = options.precision;
    precision.table = options.precisionTable;
    precision.errorBudget = options.precisionErrorBudget;
    precision.report = options.precisionReport;
    pm.addPass(ds::createAssignPrecisionPass(precision));
    reportCost("precision");
  }
  // Rematerialization on the final ops, before fusion groups them: a
  // recomputed producer then fuses with its new consumer.
  if (!options.rematBudget.empty() || options.rematStrategy != "greedy") {
    ds::RematerializePassOptions remat;
    remat.budget = options.rematBudget;
    remat.strategy = options.rematStrategy;
    pm.addPass(ds::createRematerializePass(remat));
    reportCost("rematerialization");
  }
  // One fusion decision for every backend: CUDA emits a kernel per group, the
  // CPU runtime runs each group in tiles of rows (docs/runtime.md).
  if (options.target == "cuda") {
    // The only reductions the CUDA kernels emit, the batches cuBLASLt runs.
    pm.addNestedPass<func::FuncOp>(ds::createCUDATrailingReductionsPass());
    pm.addNestedPass<func::FuncOp>(ds::createCUDAExpandGemmBatchPass());
  }
  if (options.fuse || options.target == "cuda")
    pm.addNestedPass<func::FuncOp>(ds::createFusePass());
  if (options.fuse || options.target == "cuda")
    reportCost("fusion");
  if (options.target == "cuda") {
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
  Option<bool> fuse{*this, "fuse", llvm::cl::desc("Group ops into fusion groups (cpu; cuda always does)"),
                    llvm::cl::init(true)};
  Option<bool> raiseAttention{*this, "raise-attention",
                              llvm::cl::desc("Raise exported attention subgraphs to ds.attention"),
                              llvm::cl::init(true)};
  Option<int64_t> attentionWindow{
      *this, "attention-window",
      llvm::cl::desc("Sliding-window sparse attention: keys each causal query sees (0: dense)"),
      llvm::cl::init(0)};
  Option<int64_t> attentionSinks{*this, "attention-sinks",
                                 llvm::cl::desc("With attention-window: leading keys every "
                                                "query also sees (attention sinks)"),
                                 llvm::cl::init(0)};
  Option<int64_t> attentionSelectBlocks{
      *this, "attention-select-blocks",
      llvm::cl::desc("NSA-style sparse attention: earlier key blocks each query block selects"),
      llvm::cl::init(0)};
  Option<int64_t> attentionBlockSize{*this, "attention-block-size",
                                     llvm::cl::desc("Block size for attention-select-blocks "
                                                    "and the block layouts"),
                                     llvm::cl::init(64)};
  Option<int64_t> attentionLocalBlocks{
      *this, "attention-local-blocks",
      llvm::cl::desc("Block layout: key blocks ending at each query block's diagonal"),
      llvm::cl::init(0)};
  Option<int64_t> attentionStrideBlocks{
      *this, "attention-stride-blocks",
      llvm::cl::desc("Block layout: every n-th key block back from the diagonal"),
      llvm::cl::init(0)};
  Option<int64_t> attentionGlobalBlocks{
      *this, "attention-global-blocks",
      llvm::cl::desc("Block layout: leading key blocks every query sees"), llvm::cl::init(0)};
  Option<std::string> attentionLayoutFile{
      *this, "attention-layout-file",
      llvm::cl::desc("Block layout from a .npy file of 0 / 1: [query blocks, key blocks] or "
                     "[heads, query blocks, key blocks], blocks of attention-block-size")};
  ListOption<std::string> attentionDenseHeads{
      *this, "attention-dense-heads",
      llvm::cl::desc("Query heads the sparse pattern leaves dense: H or N:H (N-th attention)")};
  Option<bool> attentionProbes{
      *this, "attention-probes",
      llvm::cl::desc("Return each attention's probability mass inside attention-window / "
                     "attention-sinks instead of applying them (an attention-heads "
                     "calibration run)"),
      llvm::cl::init(false)};
  Option<std::string> precision{*this, "precision",
                                llvm::cl::desc("Mixed precision: fp32 (none), fp16, bf16, fp8 "
                                               "(emulated on the CPU) or auto (precision-table)"),
                                llvm::cl::init("fp32")};
  Option<std::string> precisionTable{
      *this, "precision-table",
      llvm::cl::desc("precision=auto: the ops' measured errors (ds-calibrate --precision)")};
  Option<double> precisionErrorBudget{
      *this, "precision-error-budget",
      llvm::cl::desc("precision=auto: the largest error an op may add (0: the type's default)"),
      llvm::cl::init(0.0)};
  Option<std::string> precisionProbes{
      *this, "precision-probes",
      llvm::cl::desc("Also compute each op mixed precision may lower in fp16, bf16 or fp8 and "
                     "return both (a precision calibration run)")};
  Option<std::string> precisionReport{
      *this, "precision-report",
      llvm::cl::desc("Write each op's precision and why to this file ('-': stdout)")};
  Option<std::string> quantize{*this, "quantize",
                               llvm::cl::desc("Quantization: none, dynamic (int8 weights, "
                                              "activations quantized at run time), static "
                                              "(activation ranges from calibration-table), "
                                              "int8-weights or int4-weights (weight-only)"),
                               llvm::cl::init("none")};
  Option<int64_t> weightBlockSize{
      *this, "weight-block-size",
      llvm::cl::desc("Weight-only quantization: rows per scale (0: per column; default: per "
                     "column for int8, 32 for int4)"),
      llvm::cl::init(-1)};
  ListOption<std::string> quantizeExcludeNodes{
      *this, "quantize-exclude-nodes",
      llvm::cl::desc("Node names whose matmuls / convolutions stay f32 when quantizing")};
  Option<std::string> calibrationTable{*this, "calibration-table",
                                       llvm::cl::desc("Calibration table for quantize=static")};
  Option<bool> calibrationProbes{
      *this, "calibration-probes",
      llvm::cl::desc("Return the activations static quantization needs (a calibration run)"),
      llvm::cl::init(false)};
  Option<bool> gradients{*this, "gradients",
                         llvm::cl::desc("Compile the gradient of the loss (ds-autodiff)"),
                         llvm::cl::init(false)};
  Option<std::string> loss{*this, "loss", llvm::cl::desc("With gradients: the loss output")};
  Option<std::string> lossFunction{
      *this, "loss-function",
      llvm::cl::desc("With gradients: a standard loss of the output (mse, cross-entropy)")};
  ListOption<std::string> gradientParameters{
      *this, "gradient-parameters",
      llvm::cl::desc("With gradients: the initializers to differentiate against")};
  Option<std::string> optimizer{
      *this, "optimizer",
      llvm::cl::desc("With gradients: compile one training step (sgd or adamw)")};
  Option<bool> lossScaling{*this, "loss-scaling",
                           llvm::cl::desc("With gradients: dynamic loss scaling (fp16)"),
                           llvm::cl::init(false)};
  Option<bool> lsqGradScale{
      *this, "lsq-grad-scale",
      llvm::cl::desc("With gradients: scale learned quantization steps' gradients by 1/sqrt(N·Qp)"),
      llvm::cl::init(false)};
  Option<bool> fusedAttentionGrad{
      *this, "fused-attention-grad",
      llvm::cl::desc("With gradients: attention's backward as one fused op (false: composed)"),
      llvm::cl::init(true)};
  Option<double> learningRate{*this, "learning-rate", llvm::cl::desc("Default learning rate"),
                              llvm::cl::init(0.01)};
  Option<double> momentum{*this, "momentum", llvm::cl::desc("SGD momentum"), llvm::cl::init(0.0)};
  Option<double> beta1{*this, "adam-beta1", llvm::cl::desc("AdamW beta1"), llvm::cl::init(0.9)};
  Option<double> beta2{*this, "adam-beta2", llvm::cl::desc("AdamW beta2"), llvm::cl::init(0.999)};
  Option<double> epsilon{*this, "adam-epsilon", llvm::cl::desc("AdamW epsilon"),
                         llvm::cl::init(1e-8)};
  Option<double> weightDecay{*this, "weight-decay", llvm::cl::desc("Weight decay"),
                             llvm::cl::init(0.0)};
  Option<std::string> rematBudget{
      *this, "remat-budget",
      llvm::cl::desc("Rematerialize so that the intermediates' peak fits (64MB, 1.5MiB, bytes)")};
  Option<std::string> rematStrategy{*this, "remat-strategy",
                                    llvm::cl::desc("Rematerialization: greedy, sqrt or optimal"),
                                    llvm::cl::init("greedy")};
  Option<std::string> costReport{
      *this, "cost-report",
      llvm::cl::desc("Write the cost after import and after each efficiency pass to this file")};
  Option<std::string> costReportFormat{*this, "cost-report-format",
                                       llvm::cl::desc("Cost report format: text or json"),
                                       llvm::cl::init("text")};
};
} // namespace

void ds::registerPipelines() {
  PassPipelineRegistration<CompilePipelineOptions>(
      "ds-compile-pipeline", "The passes ds-compile runs between import and the artifact",
      [](OpPassManager &pm, const CompilePipelineOptions &cl) {
        CompileOptions options;
        options.target = cl.target;
        options.fuse = cl.fuse;
        options.raiseAttention = cl.raiseAttention;
        options.attentionWindow = cl.attentionWindow;
        options.attentionSinks = cl.attentionSinks;
        options.attentionSelectBlocks = cl.attentionSelectBlocks;
        options.attentionBlockSize = cl.attentionBlockSize;
        options.attentionLocalBlocks = cl.attentionLocalBlocks;
        options.attentionStrideBlocks = cl.attentionStrideBlocks;
        options.attentionGlobalBlocks = cl.attentionGlobalBlocks;
        options.attentionLayoutFile = cl.attentionLayoutFile;
        options.attentionDenseHeads.assign(cl.attentionDenseHeads.begin(),
                                           cl.attentionDenseHeads.end());
        options.attentionProbes = cl.attentionProbes;
        options.precision = cl.precision;
        options.precisionTable = cl.precisionTable;
        options.precisionErrorBudget = cl.precisionErrorBudget;
        options.precisionProbes = cl.precisionProbes;
        options.precisionReport = cl.precisionReport;
        options.quantize = cl.quantize;
        options.weightBlockSize = cl.weightBlockSize;
        options.calibrationTable = cl.calibrationTable;
        options.quantizeExcludeNodes.assign(cl.quantizeExcludeNodes.begin(),
                                            cl.quantizeExcludeNodes.end());
        options.calibrationProbes = cl.calibrationProbes;
        options.gradients = cl.gradients;
        options.loss = cl.loss;
        options.lossFunction = cl.lossFunction;
        options.gradientParameters.assign(cl.gradientParameters.begin(),
                                          cl.gradientParameters.end());
        options.optimizer = cl.optimizer;
        options.lossScaling = cl.lossScaling;
        options.lsqGradScale = cl.lsqGradScale;
        options.fusedAttentionGrad = cl.fusedAttentionGrad;
        options.learningRate = cl.learningRate;
        options.momentum = cl.momentum;
        options.beta1 = cl.beta1;
        options.beta2 = cl.beta2;
        options.epsilon = cl.epsilon;
        options.weightDecay = cl.weightDecay;
        options.rematBudget = cl.rematBudget;
        options.rematStrategy = cl.rematStrategy;
        options.costReport = cl.costReport;
        options.costReportFormat = cl.costReportFormat;
        buildCompilePipeline(pm, options);
      });
}
