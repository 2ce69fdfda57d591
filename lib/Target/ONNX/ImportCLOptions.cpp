//===- ImportCLOptions.cpp - command-line options of the ONNX importer ----===//
//
// One definition shared by every tool that reads .onnx files (ds-opt,
// ds-compile), registered on demand like MLIR's own option groups.
//
//===----------------------------------------------------------------------===//
#include "ds/Target/ONNX/ONNXImporter.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/ManagedStatic.h"

using namespace mlir;
namespace cl = llvm::cl;

cl::OptionCategory &ds::importOptionCategory() {
  static cl::OptionCategory category("ONNX import options");
  return category;
}

namespace {
struct ImportCLOptions {
  ds::ImportLimits defaults;
  cl::list<std::string> inputShapes{
      cl::cat(ds::importOptionCategory()), "ds-input-shape",
      cl::desc("Shape of a graph input of an .onnx model, e.g. input_ids:1x128 "
               "('?' keeps a dim dynamic); repeatable"),
      cl::value_desc("name:DIMxDIM")};
  cl::list<std::string> bindInputs{
      cl::cat(ds::importOptionCategory()), "ds-bind-input",
      cl::desc("Replace a graph input of an .onnx model by the constant in a "
               "TensorProto file, e.g. axes=input_1.pb; repeatable"),
      cl::value_desc("name=file.pb")};
  cl::opt<ds::ImportOptions::InputDefaults> inputDefaults{
      cl::cat(ds::importOptionCategory()), "ds-input-defaults",
      cl::desc("Graph inputs of an .onnx model that have a default value (an initializer)"),
      cl::values(
          clEnumValN(ds::ImportOptions::InputDefaults::Auto, "auto",
                     "inputs the caller may override, unless one decides a shape or "
                     "every initializer is listed as an input (default)"),
          clEnumValN(ds::ImportOptions::InputDefaults::Overridable, "overridable",
                     "always inputs the caller may override"),
          clEnumValN(ds::ImportOptions::InputDefaults::Frozen, "frozen", "always constants")),
      cl::init(ds::ImportOptions::InputDefaults::Auto)};
  cl::opt<uint64_t> maxModelBytes{
      cl::cat(ds::importOptionCategory()), "ds-max-model-bytes",
      cl::desc("Largest .onnx model accepted, its external data included (bytes)"),
      cl::init(defaults.maxModelBytes)};
  cl::opt<int64_t> maxRank{cl::cat(ds::importOptionCategory()), "ds-max-rank",
                           cl::desc("Largest tensor rank accepted"), cl::init(defaults.maxRank)};
  cl::opt<int64_t> maxElements{cl::cat(ds::importOptionCategory()), "ds-max-elements",
                               cl::desc("Most elements accepted in any one tensor"),
                               cl::init(defaults.maxElements)};
  cl::opt<int64_t> maxGraphDepth{
      cl::cat(ds::importOptionCategory()), "ds-max-graph-depth",
      cl::desc("Most nodes accepted on the longest chain of dependent nodes"),
      cl::init(defaults.maxGraphDepth)};
  cl::opt<uint64_t> maxArtifactBytes{
      cl::cat(ds::importOptionCategory()), "ds-max-artifact-bytes",
      cl::desc("Largest artifact ds-compile writes (bytes); checked before writing"),
      cl::init(defaults.maxArtifactBytes)};
};
llvm::ManagedStatic<ImportCLOptions> clOptions;
} // namespace

void ds::registerImportCLOptions() { *clOptions; }

bool ds::hasImportCLOptions() {
  if (!clOptions.isConstructed())
    return false;
  const ImportCLOptions &o = *clOptions;
  return !o.inputShapes.empty() || !o.bindInputs.empty() || o.inputDefaults.getNumOccurrences() ||
         o.maxModelBytes.getNumOccurrences() || o.maxRank.getNumOccurrences() ||
         o.maxElements.getNumOccurrences() || o.maxGraphDepth.getNumOccurrences() ||
         o.maxArtifactBytes.getNumOccurrences();
}

bool ds::getImportOptionsFromCL(ImportOptions &options, std::string &error) {
  if (!clOptions.isConstructed())
    return true;
  const ImportCLOptions &o = *clOptions;
  if (!parseInputShapeSpecs(o.inputShapes, options, error) ||
      !parseBindInputSpecs(o.bindInputs, options, error))
    return false;
  if (o.maxRank < 0 || o.maxElements < 0 || o.maxGraphDepth < 0) {
    error = "--ds-max-rank, --ds-max-elements and --ds-max-graph-depth must not be negative";
    return false;
  }
  options.inputDefaults = o.inputDefaults;
  options.limits.maxModelBytes = o.maxModelBytes;
  options.limits.maxRank = o.maxRank;
  options.limits.maxElements = o.maxElements;
  options.limits.maxGraphDepth = o.maxGraphDepth;
  options.limits.maxArtifactBytes = o.maxArtifactBytes;
  return true;
}
