//===- ArtifactWriter.h - ds module to a runtime artifact (.dsx) -*- C++ -*-===//
#ifndef DS_TARGET_ARTIFACT_ARTIFACTWRITER_H
#define DS_TARGET_ARTIFACT_ARTIFACTWRITER_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <string>
#include <vector>

namespace mlir::ds {

/// Default bound on an artifact's size (--ds-max-artifact-bytes), the same
/// as on a model's (--ds-max-model-bytes).
constexpr uint64_t kDefaultMaxArtifactBytes = uint64_t(64) << 30;

struct ArtifactStats {
  uint64_t arenaBytes = 0;        ///< planned activation arena
  uint64_t intermediateBytes = 0; ///< sum of all intermediate tensors
  uint64_t constantBytes = 0;
  uint64_t fileBytes = 0;
  size_t steps = 0;
  size_t fusedGroups = 0; ///< cpu fusion groups of two or more steps
  size_t fusedSteps = 0;  ///< steps in those groups
};

/// One step of a non-CPU artifact: an op name of the target's vocabulary
/// (e.g. `cuda.launch`), values of @main (a null Value is an absent optional
/// input) and attributes (integers, floats, i64 arrays, strings).
struct ArtifactStep {
  std::string name;
  llvm::SmallVector<Value> inputs;
  llvm::SmallVector<Value> outputs;
  llvm::SmallVector<NamedAttribute> attrs;
};

/// A compiled code image stored in the constants section (format version 2).
struct ArtifactImage {
  std::string arch; ///< "sm_80", "sm_90a" (cubin) or "compute_80" (PTX)
  std::string bytes;
};

/// What a non-CPU target adds: its steps replace the ops of @main (which may
/// then be ds.fusion_group ops; their results are the arena values) and its
/// images are embedded. A `cuda.alias` step gives its output the bytes of its
/// input.
struct TargetPayload {
  uint32_t target = 0; ///< dsx_target
  std::vector<ArtifactStep> steps;
  std::vector<ArtifactImage> images;
};

/// The artifact's dim symbol of each dim of each input of `func` (-1 for a
/// static dim): one per ONNX dim_param (`ds.dim_symbols`), a fresh one per
/// anonymous dynamic dim, numbered in order of first appearance. The writer's
/// symbol table and the CUDA emitter's size parameters both follow it.
std::vector<std::vector<int64_t>> inputDimSymbols(func::FuncOp func);

/// Writes `@main` of `module` as an artifact at `path`: I/O signature,
/// constants, a liveness-based arena plan and the step list (see
/// include/ds-runtime/ds_artifact_format.h). Reports unsupported IR (dynamic
/// dims, unknown element types) as diagnostics.
/// With `payload`, writes a target artifact from its steps and images.
/// An artifact larger than `maxFileBytes` is refused before anything is
/// written. The file is written under a temporary name and renamed into
/// place (see writeFileAtomically): a failure leaves `path` as it was.
LogicalResult writeArtifact(ModuleOp module, llvm::StringRef path, ArtifactStats *stats = nullptr,
                            const TargetPayload *payload = nullptr,
                            uint64_t maxFileBytes = kDefaultMaxArtifactBytes);

} // namespace mlir::ds

#endif // DS_TARGET_ARTIFACT_ARTIFACTWRITER_H
