//===- compile.cpp - ds._ds.compile_onnx: the compiler, in-process --------===//
//
// Links the compiler's libraries into the extension, so a plain
// `pip install ./python-bindings` can compile models without ds-compile on
// PATH. Diagnostics come back as the text of a ds.CompileError, one
// `model.onnx: error: node 'x': ...` line each, never an IR dump.
//
//===----------------------------------------------------------------------===//
#include "ds/Pipelines/CompileFile.h"

#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

namespace nb = nanobind;

void registerCompiler(nb::module_ &m) {
  static PyObject *compileError = PyErr_NewExceptionWithDoc(
      "ds._ds.CompileError", "A model could not be compiled; the message names the file and node.",
      m.attr("Error").ptr(), nullptr);
  m.attr("CompileError") = nb::handle(compileError);
  m.def(
      "compile_onnx",
      [](const std::string &modelPath, const std::string &outputPath, const std::string &target,
         const std::vector<std::string> &inputShapes,
         const std::vector<std::string> &boundInputs) {
        ds_compiler::FileCompileOptions options;
        options.target = target;
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
      },
      nb::arg("model_path"), nb::arg("output_path"), nb::arg("target") = "cpu",
      nb::arg("input_shapes") = std::vector<std::string>(),
      nb::arg("bound_inputs") = std::vector<std::string>(),
      "Compiles an .onnx (or .mlir) model into a .dsx artifact at output_path. input_shapes "
      "holds 'name:1x128' specs, bound_inputs 'name=file.pb' specs. Raises CompileError.");
}
