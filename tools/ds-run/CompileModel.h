//===- CompileModel.h - compiling a model with ds-compile -------*- C++ -*-===//
//
// The runtime's tools (ds-run, ds-calibrate) link no compiler: given an .onnx
// model they run the ds-compile beside them (or on PATH) into a temporary
// artifact.
//
//===----------------------------------------------------------------------===//
#ifndef DS_TOOLS_DS_RUN_COMPILEMODEL_H
#define DS_TOOLS_DS_RUN_COMPILEMODEL_H

#include <string>
#include <vector>

namespace dsrun {

/// Compiles `model` with `extraArgs` added to ds-compile's command line into
/// a temporary `.dsx` whose path goes to `artifact` (the caller removes it).
/// False, after ds-compile's own diagnostics and a `tool: ...` line on
/// stderr, when it cannot run or fails.
bool compileModel(const char *tool, const std::string &model,
                  const std::vector<std::string> &extraArgs, std::string &artifact);

} // namespace dsrun

#endif // DS_TOOLS_DS_RUN_COMPILEMODEL_H
