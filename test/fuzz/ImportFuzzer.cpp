//===- ImportFuzzer.cpp - libFuzzer target: bytes -> ONNX import -> verify ===//
//
// Creating an MLIRContext costs more than importing a small model, so one
// context serves a batch of inputs and is then replaced: what it accumulates
// (uniqued types and attributes, resource blobs of large weights) stays
// bounded, and an input's outcome does not depend on that state (a crash is
// reproduced by running the input alone, in a fresh context).
//
//===----------------------------------------------------------------------===//
#include "ds/InitAll.h"
#include "ds/Target/ONNX/ONNXImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include <memory>

using namespace mlir;

namespace {
constexpr int kInputsPerContext = 256;

MLIRContext &freshEnoughContext() {
  static DialectRegistry registry = [] {
    DialectRegistry r;
    ds::registerAllDialects(r);
    return r;
  }();
  static std::unique_ptr<MLIRContext> context;
  static int uses = 0;
  if (!context || ++uses == kInputsPerContext) {
    context.reset(); // release the old one before creating the next
    context = std::make_unique<MLIRContext>(registry, MLIRContext::Threading::DISABLED);
    uses = 0;
  }
  return *context;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MLIRContext &context = freshEnoughContext();
  // Diagnostics are the expected outcome for bad input; only crashes count.
  ScopedDiagnosticHandler quiet(&context, [](Diagnostic &) { return success(); });
  OwningOpRef<ModuleOp> module = ds::importONNXBuffer(
      StringRef(reinterpret_cast<const char *>(data), size), "/nonexistent/fuzz.onnx", &context);
  if (module)
    (void)verify(*module);
  return 0;
}
