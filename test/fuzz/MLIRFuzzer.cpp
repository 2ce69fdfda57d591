//===- MLIRFuzzer.cpp - libFuzzer target: .mlir text -> verify -> pipeline ===//
//
// Parses arbitrary text as a module of the dialects ds registers, verifies it
// and runs the ds compile pipeline (canonicalization runs every ds folder and
// pattern), the path `ds-opt file.mlir --ds-compile-pipeline` takes.
//
//===----------------------------------------------------------------------===//
#include "ds/InitAll.h"
#include "ds/Pipelines/Pipelines.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

using namespace mlir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  DialectRegistry registry;
  ds::registerAllDialects(registry);
  MLIRContext context(registry, MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  // Diagnostics are the expected outcome for bad input; only crashes count.
  ScopedDiagnosticHandler quiet(&context, [](Diagnostic &) { return success(); });
  // The lexer relies on the NUL terminator that files read by MLIR carry.
  std::string text(reinterpret_cast<const char *>(data), size);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &context, "fuzz.mlir");
  if (!module || failed(verify(*module)))
    return 0;
  PassManager pm(&context);
  ds::buildCompilePipeline(pm);
  (void)pm.run(*module);
  return 0;
}
