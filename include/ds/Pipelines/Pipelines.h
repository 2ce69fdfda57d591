//===- Pipelines.h - the ds compile pipeline --------------------*- C++ -*-===//
#ifndef DS_PIPELINES_PIPELINES_H
#define DS_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace mlir::ds {

struct CompileOptions {
  /// Backend the artifact is for: "cpu" or "cuda".
  std::string target = "cpu";
  /// Group ops with ds-fuse (both backends run the groups; CUDA emits a
  /// kernel per group and needs them, so it ignores `false`). Off gives the
  /// CPU runtime one op per step: what fusion buys is measured against it.
  bool fuse = true;
  /// Raise exported attention subgraphs to ds.attention (ds-raise-attention).
  bool raiseAttention = true;
  /// Static sparse attention (ds-sparsify-attention) when attentionWindow > 0.
  int64_t attentionWindow = 0;
  int64_t attentionSinks = 0;
  /// NSA-style block selection instead of a window (0: none).
  int64_t attentionSelectBlocks = 0;
  int64_t attentionBlockSize = 64;
  /// A block layout (ds.block_sparse_attention) instead: local,
  /// strided and global key blocks per query block (0: none of that kind).
  int64_t attentionLocalBlocks = 0;
  int64_t attentionStrideBlocks = 0;
  int64_t attentionGlobalBlocks = 0;
  /// A block layout of the user's own: a .npy file of 0 / 1 (ds-sparsify-
  /// attention's layout-file; empty: none).
  std::string attentionLayoutFile;
  /// Query heads the sparse pattern leaves dense: "H" (every attention) or
  /// "N:H" (the N-th attention); see ds-sparsify-attention's dense-heads.
  std::vector<std::string> attentionDenseHeads;
  /// Measure instead of apply: the window / sinks pattern is not applied,
  /// each attention's probability mass inside it is returned
  /// (ds-insert-attention-probes; an attention-heads calibration run).
  bool attentionProbes = false;
  /// Mixed precision (ds-assign-precision's policy): "fp32" leaves the model
  /// as it is, "fp16" / "bf16" run contractions and attention in that type,
  /// "fp8" rounds their operands to e4m3 (emulated on the CPU).
  std::string precision = "fp32";
  /// precision "auto": lower what the default policy lowers except the ops
  /// the precision table (ds-calibrate --precision) measured past
  /// `precisionErrorBudget` or overflowing (0: the low type's default).
  std::string precisionTable;
  double precisionErrorBudget = 0.0;
  /// The artifact a precision calibration run executes: each op mixed
  /// precision may lower also computed in this type ("fp16" / "bf16"; "":
  /// none), both results returned (ds-insert-precision-probes).
  std::string precisionProbes;
  /// Where ds-assign-precision writes its per-op report ('': none, '-':
  /// stdout).
  std::string precisionReport;
  /// Quantization in the compiler: "none", "dynamic" (ds-quantize-dynamic:
  /// int8 weights, activations quantized at run time), "static"
  /// (ds-quantize-static: activation ranges from `calibrationTable`), or
  /// weight-only "int8-weights" / "int4-weights" (ds-quantize-weights:
  /// activations stay f32).
  std::string quantize = "none";
  /// Weight-only quantization's rows per scale: -1 picks one scale per
  /// column for int8 and blocks of 32 rows for int4; 0 is per column.
  int64_t weightBlockSize = -1;
  /// ONNX node names whose matmuls / convolutions stay f32 under `quantize`.
  std::vector<std::string> quantizeExcludeNodes;
  /// The calibration table static quantization reads (ds-calibrate's output);
  /// one calibrated with SmoothQuant also smooths (ds-smooth-quant).
  std::string calibrationTable;
  /// The artifact a calibration run executes: the model, in fp32, with the
  /// activations static quantization needs as extra outputs
  /// (ds-insert-calibration-probes).
  bool calibrationProbes = false;
  /// Compile the gradient instead of the model (ds-autodiff): outputs the
  /// loss (the output named `loss`, or the only one-element float output)
  /// and the gradient of each parameter (`gradientParameters`, or every
  /// float constant of two or more elements), which become inputs
  /// defaulting to their values.
  bool gradients = false;
  std::string loss;
  /// A standard loss appended to the output: "" (the output is the loss),
  /// "mse" or "cross-entropy".
  std::string lossFunction;
  std::vector<std::string> gradientParameters;
  /// With gradients: one training step instead (ds-optimizer-step): "sgd"
  /// or "adamw" ("": the gradients themselves), with its hyperparameters.
  std::string optimizer;
  /// Dynamic loss scaling (ds-autodiff scale-loss): a `loss_scale` input,
  /// unscaled gradients, steps with non-finite gradients skipped.
  bool lossScaling = false;
  /// LSQ's gradient scale for learned quantization step sizes
  /// (ds-autodiff lsq-grad-scale).
  bool lsqGradScale = false;
  /// ds.attention's backward as one fused ds.attention_grad (CPU only; the
  /// CUDA target always composes it).
  bool fusedAttentionGrad = true;
  double learningRate = 0.01, momentum = 0.0, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8,
         weightDecay = 0.0;
  /// Rematerialization (ds-rematerialize) when rematBudget is set ("64MB",
  /// "1.5MiB", bytes) or rematStrategy is "sqrt": recompute values instead of
  /// keeping them alive, so that the peak of the intermediates fits.
  std::string rematBudget;
  std::string rematStrategy = "greedy";
  /// Where ds-cost-report writes the cost of the model after import and
  /// after each efficiency pass that runs ('': no report), as "text" or
  /// "json" (JSON Lines, one object per stage).
  std::string costReport;
  std::string costReportFormat = "text";
};

/// Passes that run between import and artifact writing, in order. `ds-opt
/// --ds-compile-pipeline` runs the same list.
void buildCompilePipeline(OpPassManager &pm, const CompileOptions &options = {});

/// Registers `ds-compile-pipeline` for ds-opt.
void registerPipelines();

} // namespace mlir::ds

#endif // DS_PIPELINES_PIPELINES_H
