//===- Passes.td - ds dialect passes ---------------------------*- tablegen -*-===//
#ifndef DS_DIALECT_DS_TRANSFORMS_PASSES_TD
#define DS_DIALECT_DS_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

include "ds/Dialect/DS/Transforms/ReportPasses.td"
include "ds/Dialect/DS/Transforms/ModelRewritePasses.td"
include "ds/Dialect/DS/Transforms/PrecisionPasses.td"
include "ds/Dialect/DS/Transforms/TrainingPasses.td"
include "ds/Dialect/DS/Transforms/FusionPasses.td"

#endif // DS_DIALECT_DS_TRANSFORMS_PASSES_TD
