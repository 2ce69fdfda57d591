//===- ONNXImporter.h - ONNX protobuf to ds dialect ------------*- C++ -*-===//
#ifndef DS_TARGET_ONNX_ONNXIMPORTER_H
#define DS_TARGET_ONNX_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/CommandLine.h"

#include <string>
#include <vector>

namespace mlir::ds {

/// Bounds on what an imported model may ask for, so that a hostile or broken
/// file gets a diagnostic instead of exhausting memory. Each is a command-line
/// option (--ds-max-*) for models that legitimately need more.
struct ImportLimits {
  /// Bytes of the .onnx file plus the external data it references.
  uint64_t maxModelBytes = uint64_t(64) << 30;
  /// Rank of any tensor (inputs, weights, results of every op).
  int64_t maxRank = 32;
  /// Elements of any one tensor.
  int64_t maxElements = int64_t(1) << 40;
  /// Nodes on the longest chain of dependent nodes.
  int64_t maxGraphDepth = int64_t(1) << 20;
  /// Bytes of the artifact ds-compile writes (constants folded from a tiny
  /// model can be large); checked by the artifact writer before it writes.
  uint64_t maxArtifactBytes = uint64_t(64) << 30;
};

struct ImportOptions {
  /// Shapes that replace the declared shapes of graph inputs (e.g. to bind a
  /// dynamic batch or sequence dim): input name -> dims.
  llvm::StringMap<llvm::SmallVector<int64_t>> inputShapes;
  /// Bounds of the dynamic dims named in `inputShapes` (`1..4096`): input
  /// name -> per dim {min, max}; -1 where a side is unbounded.
  llvm::StringMap<llvm::SmallVector<std::pair<int64_t, int64_t>>> inputDimBounds;
  /// Graph inputs replaced by constants read from TensorProto (.pb) files:
  /// input name -> file. Freezes inputs that decide shapes (axes, sizes, k).
  llvm::StringMap<std::string> boundInputs;
  /// What graph inputs that are also initializers (inputs with a default,
  /// IR v4+) become.
  enum class InputDefaults {
    /// Overridable arguments (`ds.default`), except where one decides a shape
    /// (then all are frozen, with a warning) or every initializer is listed
    /// as an input (an exporter's keep_initializers_as_inputs: weights).
    Auto,
    Overridable, ///< always arguments the caller may override
    Frozen,      ///< always constants, as weights are
  };
  InputDefaults inputDefaults = InputDefaults::Auto;
  ImportLimits limits;
};

/// Registers the importer's command-line options (--ds-input-shape,
/// --ds-bind-input, --ds-max-*) for tools that read .onnx files.
void registerImportCLOptions();
/// The category of those options (tools list it in --help).
llvm::cl::OptionCategory &importOptionCategory();

/// The importer options given on the command line; false with `error` set
/// when a spec is malformed.
bool getImportOptionsFromCL(ImportOptions &options, std::string &error);

/// True when any importer option was given (they only apply to .onnx input).
bool hasImportCLOptions();

/// Parses `--ds-bind-input` specs of the form `name=path.pb`.
bool parseBindInputSpecs(llvm::ArrayRef<std::string> specs, ImportOptions &options,
                         std::string &error);

/// Parses `--ds-input-shape` specs of the form `name:1x128` (a `?` keeps a dim
/// dynamic) into `options`. Returns false and sets `error` on a bad spec.
bool parseInputShapeSpecs(llvm::ArrayRef<std::string> specs, ImportOptions &options,
                          std::string &error);

/// Imports the model at `path` into a new module holding `func.func @main`.
/// External data is resolved relative to the model's folder. Errors are
/// reported through the context's diagnostic engine; returns null on failure.
/// Every file the import reads (the model, its external data files, the
/// --ds-bind-input files) is appended to `inputFiles` when given, so that a
/// caller can refuse to write over one (checkOutputIsNotAnInput).
OwningOpRef<ModuleOp> importONNXFile(llvm::StringRef path, MLIRContext *context,
                                     const ImportOptions &options = {},
                                     std::vector<std::string> *inputFiles = nullptr);

/// Imports a serialized model held in memory; `modelPath` names it in
/// diagnostics and anchors its external data. (Used by the fuzzer; large
/// models should come from a file so their weights are parsed once.)
OwningOpRef<ModuleOp> importONNXBuffer(llvm::StringRef bytes, llvm::StringRef modelPath,
                                       MLIRContext *context, const ImportOptions &options = {});

/// Registers the dialects the importer produces.
void registerONNXImportDialects(DialectRegistry &registry);

} // namespace mlir::ds

#endif // DS_TARGET_ONNX_ONNXIMPORTER_H
