//===- ImportFuzzer.cpp - libFuzzer target: bytes -> ONNX import -> verify ===//
#include "ds/InitAll.h"
#include "ds/Target/ONNX/ONNXImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

using namespace mlir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  DialectRegistry registry;
  ds::registerAllDialects(registry);
  MLIRContext context(registry, MLIRContext::Threading::DISABLED);
  // Diagnostics are the expected outcome for bad input; only crashes count.
  ScopedDiagnosticHandler quiet(&context, [](Diagnostic &) { return success(); });
  OwningOpRef<ModuleOp> module = ds::importONNXBuffer(
      StringRef(reinterpret_cast<const char *>(data), size), "/nonexistent/fuzz.onnx", &context);
  if (module)
    (void)verify(*module);
  return 0;
}
