//===- ArtifactWriter.h - ds module to a runtime artifact (.dsx) -*- C++ -*-===//
#ifndef DS_TARGET_ARTIFACT_ARTIFACTWRITER_H
#define DS_TARGET_ARTIFACT_ARTIFACTWRITER_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"

namespace mlir::ds {

struct ArtifactStats {
  uint64_t arenaBytes = 0;        ///< planned activation arena
  uint64_t intermediateBytes = 0; ///< sum of all intermediate tensors
  uint64_t constantBytes = 0;
  uint64_t fileBytes = 0;
  size_t steps = 0;
};

/// Writes `@main` of `module` as an artifact at `path`: I/O signature,
/// constants, a liveness-based arena plan and the step list (see
/// include/ds-runtime/ds_artifact_format.h). Reports unsupported IR (dynamic
/// dims, unknown element types) as diagnostics.
LogicalResult writeArtifact(ModuleOp module, llvm::StringRef path, ArtifactStats *stats = nullptr);

} // namespace mlir::ds

#endif // DS_TARGET_ARTIFACT_ARTIFACTWRITER_H
