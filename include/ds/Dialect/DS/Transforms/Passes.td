//===- Passes.td - ds dialect passes ---------------------------*- tablegen -*-===//
#ifndef DS_DIALECT_DS_TRANSFORMS_PASSES_TD
#define DS_DIALECT_DS_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Analysis and reporting
//===----------------------------------------------------------------------===//

def ModelSummaryPass : Pass<"ds-model-summary", "ModuleOp"> {
  let summary = "Print a one-screen summary of each function: ops by kind, parameters, tensor bytes";
  let description = [{
    Counts ops by name and kind (e.g. `ds.binary add`), parameters (elements of
    constants that are not scalars or shape tensors) with their bytes, and the
    bytes of all intermediate tensors with static shapes (dynamic ones are
    counted separately). The IR is left unchanged.
  }];
  let options = [
    Option<"outputFile", "output", "std::string", /*default=*/"\"-\"",
           "Where to write the summary ('-' = stdout)">,
  ];
}

#endif // DS_DIALECT_DS_TRANSFORMS_PASSES_TD
