//===- ONNXImporter.h - ONNX protobuf to ds dialect ------------*- C++ -*-===//
#ifndef DS_TARGET_ONNX_ONNXIMPORTER_H
#define DS_TARGET_ONNX_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringMap.h"

#include <string>
#include <vector>

namespace mlir::ds {

struct ImportOptions {
  /// Shapes that replace the declared shapes of graph inputs (e.g. to bind a
  /// dynamic batch or sequence dim): input name -> dims.
  llvm::StringMap<llvm::SmallVector<int64_t>> inputShapes;
  /// Graph inputs replaced by constants read from TensorProto (.pb) files:
  /// input name -> file. Freezes inputs that decide shapes (axes, sizes, k).
  llvm::StringMap<std::string> boundInputs;
};

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
OwningOpRef<ModuleOp> importONNXFile(llvm::StringRef path, MLIRContext *context,
                                     const ImportOptions &options = {});

/// Imports a serialized model held in memory; `modelPath` names it in
/// diagnostics and anchors its external data. (Used by the fuzzer; large
/// models should come from a file so their weights are parsed once.)
OwningOpRef<ModuleOp> importONNXBuffer(llvm::StringRef bytes, llvm::StringRef modelPath,
                                       MLIRContext *context, const ImportOptions &options = {});

/// Registers the dialects the importer produces.
void registerONNXImportDialects(DialectRegistry &registry);

} // namespace mlir::ds

#endif // DS_TARGET_ONNX_ONNXIMPORTER_H
