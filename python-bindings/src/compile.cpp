//===- compile.cpp - ds._ds_compiler: the compiler, in-process ------------===//
//
// The compiler's libraries in an extension of their own, so a plain
// `pip install ./python-bindings` compiles models without ds-compile on PATH,
// while a process that only runs artifacts (ds._ds) never loads LLVM.
// Diagnostics come back as the text of a ds.CompileError, one
// `model.onnx: error: node 'x': ...` line each, never an IR dump.
//
//===----------------------------------------------------------------------===//
#include "ds/Pipelines/CompileFile.h"
#include "ds/Target/ONNX/WeightExport.h"

#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

namespace nb = nanobind;

NB_MODULE(_ds_compiler, m) {
  m.doc() = "ds compiler, in-process";
  // The package's exception type (a ds.Error), so callers catch one class.
  // Leaked on purpose: a static nb::object would be decref'd by a static
  // destructor after the interpreter has finalized.
  static PyObject *compileError =
      nb::object(nb::module_::import_("ds._errors").attr("CompileError")).release().ptr();
  m.def(
      "compile_onnx",
      [](const std::string &modelPath, const std::string &outputPath, const std::string &target,
         const std::vector<std::string> &inputShapes, const std::vector<std::string> &boundInputs,
         bool fuse, const std::string &precision, const std::string &quantize,
         const std::string &calibrationTable, bool calibrationProbes,
         const std::vector<std::string> &quantizeExcludeNodes, bool raiseAttention,
         long long attentionWindow, long long attentionSinks, long long attentionSelectBlocks,
         long long attentionBlockSize, long long attentionLocalBlocks,
         long long attentionStrideBlocks, long long attentionGlobalBlocks,
         const std::string &attentionLayoutFile,
         const std::vector<std::string> &attentionDenseHeads, bool attentionProbes,
         const std::string &rematBudget,
         const std::string &rematStrategy, const std::string &costReport,
         const std::string &costReportFormat, bool gradients, const std::string &loss,
         const std::string &lossFunction, const std::vector<std::string> &gradientParameters,
         const std::string &optimizer, const std::vector<double> &hyper, bool lossScaling,
         bool lsqGradScale, const std::string &precisionTable, double precisionErrorBudget,
         const std::string &precisionProbes, const std::string &precisionReport,
         long long weightBlockSize, bool fusedAttentionGrad) {
        ds_compiler::FileCompileOptions options;
        options.target = target;
        options.fuse = fuse;
        options.raiseAttention = raiseAttention;
        options.attentionWindow = attentionWindow;
        options.attentionSinks = attentionSinks;
        options.attentionSelectBlocks = attentionSelectBlocks;
        options.attentionBlockSize = attentionBlockSize;
        options.attentionLocalBlocks = attentionLocalBlocks;
        options.attentionStrideBlocks = attentionStrideBlocks;
        options.attentionGlobalBlocks = attentionGlobalBlocks;
        options.attentionLayoutFile = attentionLayoutFile;
        options.attentionDenseHeads = attentionDenseHeads;
        options.attentionProbes = attentionProbes;
        options.precision = precision;
        options.precisionTable = precisionTable;
        options.precisionErrorBudget = precisionErrorBudget;
        options.precisionProbes = precisionProbes;
        options.precisionReport = precisionReport;
        options.quantize = quantize;
        options.weightBlockSize = weightBlockSize;
        options.calibrationTable = calibrationTable;
        options.calibrationProbes = calibrationProbes;
        options.quantizeExcludeNodes = quantizeExcludeNodes;
        options.gradients = gradients;
        options.loss = loss;
        options.lossFunction = lossFunction;
        options.gradientParameters = gradientParameters;
        options.optimizer = optimizer;
        options.lossScaling = lossScaling;
        options.lsqGradScale = lsqGradScale;
        options.fusedAttentionGrad = fusedAttentionGrad;
        // learning rate, momentum, beta1, beta2, epsilon, weight decay
        double *fields[] = {&options.learningRate, &options.momentum, &options.beta1,
                            &options.beta2,        &options.epsilon,  &options.weightDecay};
        for (size_t i = 0; i < hyper.size() && i < 6; ++i)
          *fields[i] = hyper[i];
        options.rematBudget = rematBudget;
        options.rematStrategy = rematStrategy;
        options.costReport = costReport;
        options.costReportFormat = costReportFormat;
        options.inputShapes = inputShapes;
        options.boundInputs = boundInputs;
        std::string diagnostics;
        bool ok;
        {
          nb::gil_scoped_release release;
          ok = ds_compiler::compileFile(modelPath, outputPath, options, diagnostics);
        }
        if (!ok) {
          while (!diagnostics.empty() && diagnostics.back() == '\n')
            diagnostics.pop_back();
          if (diagnostics.empty())
            diagnostics = modelPath + ": error: compilation failed";
          PyErr_SetString(compileError, diagnostics.c_str());
          throw nb::python_error();
        }
        return diagnostics; // warnings of a model that compiled
      },
      nb::arg("model_path"), nb::arg("output_path"), nb::arg("target") = "cpu",
      nb::arg("input_shapes") = std::vector<std::string>(),
      nb::arg("bound_inputs") = std::vector<std::string>(), nb::arg("fuse") = true,
      nb::arg("precision") = "fp32", nb::arg("quantize") = "none",
      nb::arg("calibration_table") = "", nb::arg("calibration_probes") = false,
      nb::arg("quantize_exclude_nodes") = std::vector<std::string>(),
      nb::arg("raise_attention") = true, nb::arg("attention_window") = 0,
      nb::arg("attention_sinks") = 0, nb::arg("attention_select_blocks") = 0,
      nb::arg("attention_block_size") = 64, nb::arg("attention_local_blocks") = 0,
      nb::arg("attention_stride_blocks") = 0, nb::arg("attention_global_blocks") = 0,
      nb::arg("attention_layout_file") = "",
      nb::arg("attention_dense_heads") = std::vector<std::string>(),
      nb::arg("attention_probes") = false, nb::arg("remat_budget") = "",
      nb::arg("remat_strategy") = "greedy", nb::arg("cost_report") = "",
      nb::arg("cost_report_format") = "text", nb::arg("gradients") = false, nb::arg("loss") = "",
      nb::arg("loss_function") = "", nb::arg("gradient_parameters") = std::vector<std::string>(),
      nb::arg("optimizer") = "", nb::arg("hyperparameters") = std::vector<double>(),
      nb::arg("loss_scaling") = false, nb::arg("lsq_grad_scale") = false,
      nb::arg("precision_table") = "", nb::arg("precision_error_budget") = 0.0,
      nb::arg("precision_probes") = "", nb::arg("precision_report") = "",
      nb::arg("weight_block_size") = -1, nb::arg("fused_attention_grad") = true,
      "Compiles an .onnx (or .mlir) model into a .dsx artifact at output_path. input_shapes "
      "holds 'name:1x128' specs, bound_inputs 'name=file.pb' specs; fuse=False runs the CPU "
      "program op by op; raise_attention=False keeps exported attention subgraphs as they are; "
      "attention_window > 0 makes causal attention a sliding window (plus attention_sinks leading "
      "keys); precision fp16 / bf16 runs contractions and attention in that type, auto too "
      "except the ops precision_table (precision_probes' calibration run) saw overflow or "
      "miss fp32 by more than precision_error_budget; quantize "
      "'dynamic' gives matmuls int8 weights and run-time quantized activations, 'static' "
      "quantizes activations with calibration_table's ranges; calibration_probes compiles "
      "the artifact a calibration run executes (attention_probes: an attention-heads one); "
      "remat_budget / remat_strategy recompute values "
      "instead of keeping them alive (ds-rematerialize); cost_report names a file for the cost "
      "after import and after each efficiency pass (ds-cost-report, text or json); gradients "
      "compiles the gradient of the loss output w.r.t. gradient_parameters (ds-autodiff). "
      "Raises CompileError.");
  m.def(
      "save_weights",
      [](const std::string &source, const std::string &destination,
         const std::vector<std::tuple<std::string, int, std::vector<int64_t>, nb::bytes>>
             &weights) {
        std::vector<mlir::ds::NamedWeight> named;
        for (const auto &[name, type, dims, bytes] : weights)
          named.push_back({name, type, dims, std::string(bytes.c_str(), bytes.size())});
        std::string error;
        bool ok;
        {
          nb::gil_scoped_release release;
          ok = mlir::ds::writeModelWithWeights(source, destination, named, error);
        }
        if (!ok) {
          PyErr_SetString(compileError, error.c_str());
          throw nb::python_error();
        }
      },
      nb::arg("source"), nb::arg("destination"), nb::arg("weights"),
      "Writes the ONNX model `source` to `destination` with initializers replaced by "
      "(name, ONNX data type, dims, little-endian bytes). Raises CompileError.");
}
